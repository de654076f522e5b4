"""Issue 4, end to end: RIC-lite + simulated E2 nodes + the example xApp (examples/kpm_monitor).

The xApp receives decoded KPM indications, sends an E2SM-RC control and gets
the acknowledge, and receives an A1 policy PUT through the REST API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from xtrust.e2sim.node import RC_FUNCTION_ID, E2Node
from xtrust.ric.asn1.kpm import GnbUeId, Guami
from xtrust.ric.platform import RicLite, RicLiteConfig
from xtrust.ric.sdl import MemorySdl
from xtrust.xapps.kpmmon import POLICY_SCHEMA, KpmMonitor


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_example_xapp_end_to_end_on_ric_lite() -> None:
    async def main() -> None:
        sdl = MemorySdl()
        cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                            e2_transport="tcp")  # fmt: skip
        async with RicLite(cfg, sdl=sdl) as ric:
            nodes = [E2Node(0x200 + i, "127.0.0.1", ric.e2_port, ues_per_cell=6, seed=i)
                     for i in range(2)]  # fmt: skip
            for n in nodes:  # 200 ms reports keep the test short
                n.backoff_max = 0.5
            tasks = [asyncio.create_task(n.run()) for n in nodes]
            app = KpmMonitor.attached_to(ric, sdl, live=False)
            app.controls["period_ms"] = 200
            try:
                async with app:
                    # decoded KPM indications from both nodes
                    await until(
                        lambda: (
                            len(app.rows) == 2 and all(r.reports >= 2 for r in app.rows.values())
                        )
                    )
                    row = app.rows[nodes[0].ran_name]
                    assert set(row.values) == {
                        "DRB.UEThpDl",
                        "DRB.UEThpUl",
                        "RRU.PrbTotDl",
                        "RRC.ConnMean",
                        "DRB.RlcSduDelayDl",
                    }
                    assert 0 <= row.values["RRU.PrbTotDl"] <= 100
                    # A1 policy through the REST API
                    base = f"http://127.0.0.1:{ric.http_port}/A1-P/v2/policytypes/20008"
                    async with aiohttp.ClientSession() as http:
                        body = {
                            "name": "prb",
                            "description": "limit",
                            "policy_type_id": 20008,
                            "create_schema": POLICY_SCHEMA,
                        }
                        async with http.put(base, json=body) as r:
                            assert r.status == 201
                        async with http.put(base + "/policies/p1", json={"max_prb_pct": 7}) as r:
                            assert r.status == 201
                        await until(lambda: app.max_prb_pct == 7)
                        async with http.get(base + "/policies/p1/status") as r:
                            for _ in range(100):
                                status = await r.json()
                                if status["enforceStatus"] == "ENFORCED":
                                    break
                                await asyncio.sleep(0.02)
                                r = await http.get(base + "/policies/p1/status")
                        assert status["handlers"] == {"kpm-monitor": "OK"}
                    # RC control and its acknowledge, applied by the node
                    node = nodes[0]
                    ue = next(iter(node.cells[0].ues))
                    guami = Guami(node.plmn_id, amf_region_id=1, amf_set_id=1, amf_pointer=0)
                    await app.release_ue(node.ran_name, RC_FUNCTION_ID, GnbUeId(ue, guami))
                    assert ue not in node.cells[0].ues
                    assert ric.submgr.counters["controls_acknowledged"] == 1
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 60))
