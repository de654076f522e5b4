"""KPM monitor: an xApp that subscribes to E2SM-KPM on every E2 node and shows a
live table of cells, flagging cells above the PRB-load limit an A1 policy sets.

Run it against any near-RT RIC (RIC-lite or O-RAN SC)::

    python -m xtrust.xapps.kpmmon --ric 127.0.0.1:4560 --sdl redis://127.0.0.1:6379/0

(the descriptor is ``config-file.json`` beside this module unless CONFIG_FILE
names another), or see examples/kpm_monitor, which starts RIC-lite and
simulated gNBs for it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from xtrust.errors import XTrustError
from xtrust.ric.xapp import Indication, Policy, XApp

#: the xApp descriptor shipped with the monitor
DESCRIPTOR = Path(__file__).with_name("config-file.json")

#: A1 policy type 20008: {"max_prb_pct": 0..100}
POLICY_SCHEMA = {
    "type": "object",
    "properties": {"max_prb_pct": {"type": "integer", "minimum": 0, "maximum": 100}},
    "required": ["max_prb_pct"],
    "additionalProperties": False,
}


@dataclass
class CellRow:
    ran: str
    values: dict[str, Any]
    at: float
    reports: int


class KpmMonitor(XApp):
    policy_types: ClassVar[dict[int, dict[str, Any] | None]] = {20008: POLICY_SCHEMA}

    def __init__(self, *args: Any, live: bool | None = None, quiet: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.quiet = quiet
        self.rows: dict[str, CellRow] = {}
        self.max_prb_pct: int | None = None
        self.live = sys.stdout.isatty() if live is None else live
        self._watch: asyncio.Task[None] | None = None
        self.subscribed: set[str] = set()

    @classmethod
    def attached_to(cls, ric: Any, sdl: Any, **kwargs: Any) -> KpmMonitor:
        """A monitor in the same process as a :class:`~xtrust.ric.platform.RicLite`:
        loopback ports, the RIC's SDL (so its RNIB), and registered with the RIC so
        that it learns the monitor's message and A1 policy types."""
        for key, value in {
            "config": str(DESCRIPTOR), "ric": ric.rmr_address, "sdl": sdl, "rmr_port": 0,
            "http_port": 0, "host": "127.0.0.1", "env": {},
            "appmgr": f"http://127.0.0.1:{ric.http_port}/ric/v1",
        }.items():  # fmt: skip
            kwargs.setdefault(key, value)
        return cls(**kwargs)

    async def on_start(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(self._discover())

    async def on_stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()

    async def _discover(self) -> None:
        """Subscribe to every E2 node in the RNIB, now and as nodes appear."""
        ctl = self.controls
        while True:
            try:
                for node in await self.rnib.list_nodebs():
                    name = node.inventory_name
                    if name not in self.subscribed:
                        self.subscribed.add(name)
                        await self.subscribe_kpm(
                            name, int(ctl.get("ran_function", 2)), list(ctl["measurements"]),
                            period_ms=int(ctl.get("period_ms", 1000)),
                        )  # fmt: skip
            except XTrustError as exc:
                self.log.warning("node discovery: %s", exc)
            await asyncio.sleep(1.0)

    async def on_indication(self, ind: Indication) -> None:
        for row in ind.message.rows():
            old = self.rows.get(ind.meid)
            self.rows[ind.meid] = CellRow(ind.meid, dict(row), time.time(),
                                          (old.reports if old else 0) + 1)  # fmt: skip
        if not self.live and not self.quiet:
            r = self.rows[ind.meid]
            flag = " OVER LIMIT" if self.over_limit(r) else ""
            print(f"{ind.meid} " + " ".join(f"{k}={v}" for k, v in r.values.items()) + flag,
                  flush=True)  # fmt: skip

    def over_limit(self, row: CellRow) -> bool:
        prb = row.values.get("RRU.PrbTotDl")
        return (
            self.max_prb_pct is not None and isinstance(prb, int | float) and prb > self.max_prb_pct
        )

    async def on_policy(self, policy: Policy) -> None:
        self.max_prb_pct = None if policy.deleted else int(policy.payload["max_prb_pct"])
        self.log.info("PRB limit now %s (policy %s)", self.max_prb_pct, policy.policy_instance_id)

    def table(self) -> Any:
        from rich.table import Table

        meas = list(self.controls["measurements"])
        limit = "none" if self.max_prb_pct is None else f"{self.max_prb_pct} %"
        t = Table(title=f"KPM monitor - cells (PRB limit from A1: {limit})")
        t.add_column("E2 node")
        for m in meas:
            t.add_column(m, justify="right")
        t.add_column("reports", justify="right")
        for row in sorted(self.rows.values(), key=lambda r: r.ran):
            style = "bold red" if self.over_limit(row) else None
            t.add_row(row.ran, *(str(row.values.get(m, "")) for m in meas), str(row.reports),
                      style=style)  # fmt: skip
        return t


async def run_live(app: KpmMonitor, duration: float | None) -> None:
    """Show the table until ``duration`` seconds pass (or forever) and stop the app."""
    from rich.live import Live

    deadline = None if duration is None else time.monotonic() + duration
    if app.live:
        with Live(app.table(), refresh_per_second=4) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                live.update(app.table())
    else:
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(0.25)


def main() -> int:
    ap = argparse.ArgumentParser(description="KPM monitor xApp")
    ap.add_argument("--ric", help="host:port of the RIC's RMR port (default: route tables)")
    ap.add_argument("--sdl", help="SDL URL for the RNIB (default: DBAAS_SERVICE_HOST or memory)")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    args = ap.parse_args()

    async def go() -> None:
        from xtrust.ric.sdl import open_sdl

        config = os.environ.get("CONFIG_FILE") or str(DESCRIPTOR)
        app = KpmMonitor(config=config, ric=args.ric, sdl=open_sdl(args.sdl) if args.sdl else None)
        async with app:
            await run_live(app, args.duration)

    try:
        asyncio.run(go())
    except XTrustError as exc:
        print(f"kpm-monitor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
