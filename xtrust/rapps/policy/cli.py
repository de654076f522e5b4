"""``xtrust policy``: validate policies, run the PDP service, decide one request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path

import click

from xtrust.errors import ConfigError, InputError
from xtrust.rapps.ti.taxii import TaxiiSource

from .cedar import load_bundle, read_policies_text, read_schema
from .config import load_config
from .model import AccessRequest, Decision

__all__ = ["policy"]


@click.group()
def policy() -> None:
    """Risk-based zero-trust access control (Cedar policies + live risk)."""


@policy.command()
@click.option(
    "--schema",
    "schema_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Cedar schema (.json: Cedar JSON schema format; else human-readable).",
)
@click.option(
    "--policies",
    "policies_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Cedar policies (.cedar text, or YAML/JSON with a 'policies' key).",
)
def check(schema_path: str, policies_path: str) -> None:  # fmt: skip
    """Validate POLICIES against SCHEMA (exit 2 when invalid)."""
    schema, _ = read_schema(schema_path)
    bundle = load_bundle(read_policies_text(policies_path), schema, source=policies_path)
    click.echo(f"ok: {len(bundle.policies)} policies valid against {schema_path}")
    for info in bundle.info.values():
        click.echo(f"  {info.effect:7} {info.id}")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"--listen must be HOST:PORT, not {value!r}")
    return host or "127.0.0.1", int(port)


@policy.command()
@click.option(
    "--listen", default="127.0.0.1:8089", show_default=True, help="HOST:PORT to serve on."
)
@click.option(
    "--taxii",
    "taxii_urls",
    multiple=True,
    help="TAXII 2.1 API root URL (repeat; pair each with --collection).",
)
@click.option("--collection", "collections", multiple=True, help="TAXII collection id.")
@click.option("--taxii-user", envvar="XTRUST_TAXII_USER", help="TAXII basic-auth user.")
@click.option("--taxii-password", envvar="XTRUST_TAXII_PASSWORD", help="TAXII password (env).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Service configuration (YAML/JSON; see docs/policy.md).",
)
def serve(listen: str, taxii_urls: tuple[str, ...], collections: tuple[str, ...],
          taxii_user: str | None, taxii_password: str | None,
          config_path: str | None) -> None:  # fmt: skip
    """Run the PDP: HTTP API, TAXII polling, A1 pushes."""
    from aiohttp import web

    from .http import make_app
    from .service import build_service

    host, port = _listen(listen)
    if len(taxii_urls) != len(collections):
        raise InputError("give one --collection per --taxii URL")
    cfg = load_config(config_path)
    for url, coll in zip(taxii_urls, collections, strict=True):
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--taxii must be an http(s) URL, not {url!r}")
        cfg.taxii.append(TaxiiSource(url, coll, taxii_user, taxii_password))
    service = build_service(cfg)

    async def main() -> None:
        runner = web.AppRunner(make_app(service))
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        await service.start()
        click.echo(
            f"xtrust policy: serving on http://{host}:{port} "
            f"({len(service.pdp.subjects)} subjects, {len(service.pdp.bundle.policies)} policies)",
            err=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await service.stop()
            await runner.cleanup()

    asyncio.run(main())


def _text(decision: Decision) -> str:
    lines = [
        f"{'ALLOW' if decision.allowed else 'DENY'} {decision.subject} {decision.action} "
        f"{decision.resource} (risk {decision.risk})"
    ]
    lines += [f"  reason: {r}" for r in decision.reasons]
    lines += [f"  factor {f.name}: {f.score:g} - {f.detail}" for f in decision.factors]
    lines += [f"  error: {e}" for e in decision.errors]
    return "\n".join(lines)


@policy.command()
@click.argument("request_file", type=click.Path(dir_okay=False))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Service configuration (subjects, ledger, reports, STIX files, policies).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def decide(request_file: str, config_path: str | None, fmt: str) -> None:  # fmt: skip
    """Decide REQUEST_FILE (JSON access request); exit 0 allow, 1 deny."""
    from .service import build_service

    try:
        doc = json.loads(Path(request_file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {request_file}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{request_file} is not JSON: {exc}") from None
    access = AccessRequest.from_json(doc)
    cfg = load_config(config_path)
    cfg.taxii = []  # one-shot: no polling
    cfg.a1_url = None
    service = build_service(cfg)
    try:
        decision = service.pdp.authorize(access)
    finally:
        if service.audit is not None:
            service.audit.close()
    if fmt == "json":
        click.echo(json.dumps(decision.to_json(), indent=2))
    else:
        click.echo(_text(decision))
    if not decision.allowed:
        raise click.exceptions.Exit(1)


@policy.command("a1-type")
def a1_type() -> None:
    """Print the A1 policy type 20100 (xtrust-risk-v1): the body of PUT /policytypes/20100."""
    from .a1 import POLICY_TYPE

    click.echo(json.dumps(POLICY_TYPE, indent=2))
