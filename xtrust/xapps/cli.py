"""``xtrust xapp``: run the security xApps outside the twin.

``xtrust xapp run anomaly|segmentation|kpmmon --config FILE`` starts one xApp
with its O-RAN SC descriptor (``CONFIG_FILE`` is honoured as well), until
SIGTERM/SIGINT or ``--duration`` seconds. On a RIC the RMR routes come from
the route manager (``RMR_SEED_RT`` / ``RMR_RTG_SVC``) as with any xApp;
``--ric host:port`` routes everything to one RIC address instead (RIC-lite).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import click

from xtrust.errors import InputError

__all__ = ["APPS", "xapp"]

#: name -> (module, class, what it is)
APPS = {
    "anomaly": ("xtrust.xapps.anomaly.app", "AnomalyXApp", "anomaly and intrusion detection"),
    "segmentation": ("xtrust.xapps.segmentation.app", "SegmentationXApp", "micro-segmentation"),
    "kpmmon": ("xtrust.xapps.kpmmon.app", "KpmMonitor", "KPM monitor (example)"),
}


@click.group()
def xapp() -> None:
    """Run XTRUST's xApps (anomaly detection, micro-segmentation, KPM monitor)."""


@xapp.command("list")
def list_cmd() -> None:
    """The xApps this command can run."""
    for name, (_, _, what) in APPS.items():
        click.echo(f"{name:14s} {what}")


@xapp.command("run")
@click.argument("name", type=click.Choice(sorted(APPS)))
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="O-RAN SC descriptor (config-file.json); default: $CONFIG_FILE, else the packaged one.",
)
@click.option("--ric", help="host:port of the RIC's RMR port (RIC-lite); default: route tables.")
@click.option(
    "--sdl", help="SDL URL (redis://host:port/db or memory://); default: DBAAS_* or memory."
)
@click.option("--appmgr", help="appmgr base URL to register with (e.g. http://ric:8080/ric/v1).")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Stop after this many seconds.")
def run_cmd(
    name: str,
    config: str | None,
    ric: str | None,
    sdl: str | None,
    appmgr: str | None,
    duration: float | None,
) -> None:
    """Run xApp NAME until SIGTERM (or --duration)."""
    import importlib

    module, cls_name, _ = APPS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    path = config or os.environ.get("CONFIG_FILE") or None
    if path is not None and not Path(path).is_file():
        raise InputError(f"--config {path}: no such file")
    kwargs: dict[str, Any] = {"ric": ric}
    if path is not None:
        kwargs["config"] = path
    if appmgr:
        kwargs["appmgr"] = appmgr
    if sdl:
        from xtrust.ric.sdl import open_sdl

        kwargs["sdl"] = open_sdl(sdl)

    async def go() -> None:
        app = cls(**kwargs)
        if duration is None:
            await app.run()
            return
        async with app:
            await asyncio.sleep(duration)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())
