"""The SDK's submgr-REST subscription back end against RIC-lite's submgr REST API,
with a simulated gNB: the same path as on an O-RAN SC RIC, all real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from xtrust.e2sim.node import E2Node
from xtrust.ric.platform import RicLite, RicLiteConfig
from xtrust.ric.sdl import MemorySdl
from xtrust.ric.xapp import Indication, XApp


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class Collector(XApp):
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.got: list[Indication] = []

    async def on_indication(self, ind: Indication) -> None:
        self.got.append(ind)


def test_rest_subscription_through_ric_lite() -> None:
    async def main() -> None:
        sdl = MemorySdl()
        cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                            e2_transport="tcp")  # fmt: skip
        async with RicLite(cfg, sdl=sdl) as ric:
            node = E2Node(0x300, "127.0.0.1", ric.e2_port, seed=1)
            task = asyncio.create_task(node.run())
            app = Collector(
                ric=ric.rmr_address, sdl=sdl, rmr_port=0, http_port=0, host="127.0.0.1", env={},
                subscriptions="rest", submgr_url=f"http://127.0.0.1:{ric.http_port}/ric/v1",
                callback_host="127.0.0.1",
            )  # fmt: skip
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                async with app:
                    sub = await app.subscribe_kpm(node.ran_name, 2, ["DRB.UEThpDl"], period_ms=100)
                    await sub.wait_active()
                    await until(lambda: len(app.got) >= 2)
                    assert app.got[0].meid == node.ran_name
                    (row,) = app.got[0].message.rows()
                    assert set(row) == {"DRB.UEThpDl"}
                    assert len(ric.submgr_rest.subs) == 1
                    await app.unsubscribe(sub)
                    await until(lambda: not ric.submgr.subs)
                    assert ric.submgr_rest.subs == {}
                    await until(lambda: not node.reports)  # deleted on the node too
                # bad input is a 400 with a reason, nothing subscribed
                url = f"http://127.0.0.1:{ric.http_port}/ric/v1/subscriptions"
                async with aiohttp.ClientSession() as http:
                    async with http.post(url, json={"Meid": "x"}) as r:
                        assert r.status == 400 and "ClientEndpoint" in (await r.json())["error"]
                    async with http.delete(url + "/nope") as r:
                        assert r.status == 404
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 30))
