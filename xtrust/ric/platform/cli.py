"""``xtrust ric run``: start RIC-lite in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from xtrust.ric.platform.config import RicLiteConfig

__all__ = ["ric"]


@click.group()
def ric() -> None:
    """RIC-lite: a small near-RT RIC for development, CI and demos."""


@ric.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML/JSON file with RIC-lite settings (see docs/ric-lite.md).",
)
@click.option("--host", help="Address to listen on [127.0.0.1].")
@click.option("--e2-port", type=click.IntRange(0, 65535), help="E2 port for E2 nodes [36421].")
@click.option("--rmr-port", type=click.IntRange(0, 65535), help="RMR port for xApps [4560].")
@click.option(
    "--a1-port",
    "http_port",
    type=click.IntRange(0, 65535),
    help="HTTP port: A1-P v2, registration, health, metrics [10000].",
)
@click.option("--rtmgr-port", type=click.IntRange(0, 65535), help="Route manager port [4570].")
@click.option(
    "--transport", type=click.Choice(["auto", "sctp", "tcp"]), help="E2 transport [auto]."
)
@click.option("--sdl", "sdl_url", help="SDL for the RNIB: memory:// or redis://host:port/db.")
@click.option(
    "--require-registration",
    is_flag=True,
    default=None,
    help="Drop RMR messages from xApps that have not registered.",
)
def run(
    config_path: str | None,
    host: str | None,
    e2_port: int | None,
    rmr_port: int | None,
    http_port: int | None,
    rtmgr_port: int | None,
    transport: str | None,
    sdl_url: str | None,
    require_registration: bool | None,
) -> None:
    """Run RIC-lite until interrupted (Ctrl-C or SIGTERM)."""
    from xtrust.ric.platform.ric import RicLite, load_config

    cfg = load_config(config_path) if config_path else RicLiteConfig()
    overrides = {
        "host": host,
        "e2_port": e2_port,
        "rmr_port": rmr_port,
        "http_port": http_port,
        "rtmgr_port": rtmgr_port,
        "e2_transport": transport,
        "sdl_url": sdl_url,
        "require_registration": require_registration,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    cfg.validate()

    async def main() -> None:
        ric_lite = RicLite(cfg)
        try:
            await ric_lite.start()
        except OSError as exc:
            from xtrust.errors import InputError

            await ric_lite.close()
            raise InputError(f"cannot listen: {exc.strerror or exc}") from None
        click.echo(
            f"RIC-lite: E2 {cfg.host}:{ric_lite.e2_port} ({cfg.e2_transport}), "
            f"RMR {cfg.host}:{ric_lite.rmr_port}, A1/HTTP http://{cfg.host}:{ric_lite.http_port}",
            err=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await ric_lite.close()

    asyncio.run(main())
