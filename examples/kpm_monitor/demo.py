"""One-command demo: RIC-lite, two simulated gNBs and the KPM monitor xApp, on loopback.

    python examples/kpm_monitor/demo.py [--duration 6] [--nodes 2]

What happens, all over the real protocols (E2AP over the E2 TCP transport,
RMR, A1-P REST):
1. RIC-lite starts; simulated gNBs connect and run E2 Setup (E2SM-KPM, E2SM-RC);
2. the xApp finds them in the RNIB and subscribes to KPM; indications flow;
3. an rApp's A1 policy (PRB load limit) is PUT over REST and reaches the xApp;
4. the xApp releases a UE with an E2SM-RC control and gets the acknowledge;
5. a live table of cells is shown, and a summary at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

import aiohttp

from xtrust.e2sim.node import RC_FUNCTION_ID, E2Node
from xtrust.ric.asn1.kpm import GnbUeId, Guami
from xtrust.ric.platform import RicLite, RicLiteConfig
from xtrust.ric.sdl import MemorySdl
from xtrust.xapps.kpmmon import POLICY_SCHEMA, KpmMonitor, run_live


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


async def wait_until(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"[demo] timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def demo(duration: float, n_nodes: int, live: bool | None) -> None:
    sdl = MemorySdl()  # one process: the RIC's RNIB is the xApp's RNIB
    cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None, e2_transport="tcp")
    async with RicLite(cfg, sdl=sdl) as ric:
        say(f"RIC-lite: E2 127.0.0.1:{ric.e2_port}, RMR {ric.rmr_address}, "
            f"A1 http://127.0.0.1:{ric.http_port}")  # fmt: skip
        nodes = [E2Node(0x100 + i, "127.0.0.1", ric.e2_port, n_cells=1, ues_per_cell=8, seed=i)
                 for i in range(n_nodes)]  # fmt: skip
        tasks = [asyncio.create_task(n.run()) for n in nodes]
        await wait_until(lambda: all(n.connected.is_set() for n in nodes), 5, "E2 Setup")
        say(f"{n_nodes} simulated gNB(s) set up: {', '.join(n.ran_name for n in nodes)}")
        # registered with RIC-lite, which so learns its message and A1 policy types
        app = KpmMonitor.attached_to(ric, sdl, live=live)
        async with app:
            await wait_until(lambda: len(app.rows) == n_nodes, 10, "KPM indications")
            say("KPM indications arriving from every node")
            base = f"http://127.0.0.1:{ric.http_port}/A1-P/v2/policytypes/20008"
            async with aiohttp.ClientSession() as http:
                body = {"name": "prb-limit", "description": "PRB load limit",
                        "policy_type_id": 20008, "create_schema": POLICY_SCHEMA}  # fmt: skip
                async with http.put(base, json=body) as r:
                    assert r.status == 201, await r.text()
                async with http.put(base + "/policies/limit-1", json={"max_prb_pct": 5}) as r:
                    assert r.status == 201, await r.text()
            await wait_until(lambda: app.max_prb_pct == 5, 5, "the A1 policy")
            say("A1 policy limit-1 (max_prb_pct=5) PUT over REST and received by the xApp")
            node = nodes[0]
            cell = node.cells[0]
            ue = next(iter(cell.ues))
            guami = Guami(node.plmn_id, amf_region_id=1, amf_set_id=1, amf_pointer=0)
            ack = await app.release_ue(node.ran_name, RC_FUNCTION_ID, GnbUeId(ue, guami))
            say(f"E2SM-RC UE release of UE {ue} on {node.ran_name}: acknowledged "
                f"({type(ack).__name__}); UE still in cell: {ue in cell.ues}")  # fmt: skip
            await run_live(app, duration)
            say("summary: " + ", ".join(
                f"{n.ran_name} sent {n.counters.get('indications', 0)} indications"
                for n in nodes))  # fmt: skip
            say(f"RIC-lite: {ric.submgr.counters}")
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--plain", action="store_true", help="print lines instead of a live table")
    args = ap.parse_args()
    asyncio.run(demo(args.duration, args.nodes, False if args.plain else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
