"""``xtrust rmr``: listen for and send RMR messages from the command line.

``listen`` prints one JSON object per received message on stdout (payload as
hex) and answers health checks; ``send`` sends (or calls and prints the
reply). Both speak the librmr 4.x wire format, so they work against real
O-RAN SC components. Run standalone with ``python -m xtrust.ric.rmr.cli``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from xtrust.errors import InputError, XTrustError
from xtrust.ric.rmr.endpoint import CallTimeout, Endpoint, parse_target
from xtrust.ric.rmr.wire import MAX_MEID, MAX_XID, Message

__all__ = ["main", "message_json", "rmr"]

_INT32 = click.IntRange(-(2**31), 2**31 - 1)


def message_json(msg: Message) -> str:
    """One message as a JSON line (what ``xtrust rmr listen`` prints)."""
    doc: dict[str, Any] = {
        "mtype": msg.mtype,
        "sub_id": msg.sub_id,
        "meid": msg.meid,
        "xid": msg.xid.decode("utf-8", "backslashreplace"),
        "src": msg.src,
        "srcip": msg.srcip,
        "payload": msg.payload.hex(),
    }
    if msg.state:
        doc["state"] = msg.state
    return json.dumps(doc, separators=(",", ":"))


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InputError(f"--payload is not hexadecimal: {text[:40]!r}") from None


@click.group()
def rmr() -> None:
    """Send and receive RMR messages (librmr 4.x wire format, SI95 transport)."""


@rmr.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    required=True,
    help="TCP port to listen on (0 picks one; it is printed on stderr).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many messages.")
@click.option("--rts", is_flag=True, help="Return each message to its sender unchanged.")
@click.option(
    "--max-size",
    type=click.IntRange(min=0),
    default=65536,
    show_default=True,
    help="Largest payload accepted; bigger frames close their connection.",
)
def listen(port: int, host: str, count: int | None, rts: bool, max_size: int) -> None:
    """Print one JSON line per received message; answer health checks (100 -> 101)."""

    async def run() -> None:
        async with Endpoint(port, host=host, max_size=max_size) as ep:
            click.echo(f"xtrust rmr: listening on {host}:{ep.port} as {ep.name}", err=True)
            seen = 0
            async for msg in ep.receive():
                _emit(message_json(msg))
                if rts:
                    try:
                        await ep.rts(msg)
                    except XTrustError as exc:
                        click.echo(f"xtrust rmr: cannot return message: {exc}", err=True)
                seen += 1
                if count is not None and seen >= count:
                    break

    asyncio.run(run())


@rmr.command()
@click.option("--to", "target", required=True, help="Destination HOST:PORT.")
@click.option("--mtype", type=_INT32, required=True, help="Message type.")
@click.option("--sub-id", type=_INT32, default=-1, show_default=True, help="Subscription id.")
@click.option("--meid", default="", help="Managed element id (at most 31 bytes).")
@click.option("--xid", default="", help="Transaction id (at most 32 bytes; calls make one).")
@click.option("--payload", "payload_hex", required=True, help="Payload as hex ('' for none).")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Send the message this many times.",
)
@click.option("--call", "as_call", is_flag=True, help="Wait for each reply and print it.")
@click.option(
    "--timeout",
    "timeout_ms",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Reply timeout for --call, in milliseconds.",
)
@click.pass_context
def send(
    ctx: click.Context,
    target: str,
    mtype: int,
    sub_id: int,
    meid: str,
    xid: str,
    payload_hex: str,
    count: int,
    as_call: bool,
    timeout_ms: int,
) -> None:
    """Send a message to HOST:PORT; with --call print the reply (exit 1 on timeout)."""
    parse_target(target)
    payload = _hex(payload_hex)
    if len(meid.encode()) >= MAX_MEID:
        raise InputError(f"--meid is longer than {MAX_MEID - 1} bytes")
    xid_b = xid.encode()
    if len(xid_b) > MAX_XID:
        raise InputError(f"--xid is longer than {MAX_XID} bytes")

    async def run() -> int:
        async with Endpoint(None, use_env=False, health=False) as ep:
            await ep.connect(target)
            for _ in range(count):
                msg = Message(mtype, payload, sub_id, meid, xid_b)
                if as_call:
                    try:
                        reply = await ep.call(msg, to=target, timeout=timeout_ms / 1000)
                    except CallTimeout as exc:
                        click.echo(f"xtrust rmr: {exc}", err=True)
                        return 1
                    _emit(message_json(reply))
                else:
                    await ep.send(msg, to=target)
        return 0

    code = asyncio.run(run())
    if code:
        ctx.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the group standalone with the toolkit's error convention (one line, exit 2)."""
    try:
        rv = rmr.main(
            args=list(sys.argv[1:] if argv is None else argv),
            prog_name="xtrust rmr",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"xtrust rmr: error: {exc.format_message()}", err=True)
        return 2
    except XTrustError as exc:
        click.echo(f"xtrust rmr: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
