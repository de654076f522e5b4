"""The example xApp of the SDK documentation, run against a RIC peer."""

from __future__ import annotations

import asyncio

from xtrust.ric import mtypes
from xtrust.ric.rmr import Message
from xtrust.ric.rnib import ConnectionStatus, GlobalNbId, Gnb, Node, NodebInfo, RnibWriter
from xtrust.ric.sdl import MemorySdl
from xtrust.ric.xapp import Indication, Policy, XApp, handles

from .conftest import RAN, RicPeer, descriptor, kpm_indication, make_app, run, until


class Guard(XApp):
    async def on_start(self) -> None:
        for node in await self.rnib.list_nodebs():
            await self.subscribe_kpm(node.inventory_name, 2, ["DRB.UEThpDl", "RRU.PrbUsedDl"])

    async def on_indication(self, ind: Indication) -> None:
        for row in ind.message.rows():
            if row["DRB.UEThpDl"] > self.controls["max_dl"]:
                await self.sdl.set("guard", {ind.meid: b"suspect"})

    async def on_policy(self, policy: Policy) -> None:
        self.log.info("policy %s %s", policy.operation, policy.payload)

    @handles(30000)
    async def on_ping(self, msg: Message) -> None:
        await self.rts(msg, payload=b"pong")


def test_the_documented_example_works() -> None:
    async def main() -> None:
        sdl = MemorySdl()
        await RnibWriter(sdl).save_nodeb(
            NodebInfo(
                ran_name=RAN,
                connection_status=ConnectionStatus.CONNECTED,
                global_nb_id=GlobalNbId(plmn_id="13f184", nb_id="0000019b"),
                node_type=Node.GNB,
                gnb=Gnb(),
            )
        )
        async with RicPeer() as ric:
            app = make_app(ric, Guard, config=descriptor(controls={"max_dl": 10}), sdl=sdl)
            await app.start()
            await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=9)
            await until(lambda: 9 in app.subscriptions.by_sub_id)
            await ric.indicate(kpm_indication(9, (12.5, 3.0)), 9)
            for _ in range(300):
                if await sdl.get("guard", RAN) == {RAN: b"suspect"}:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the app did not flag the node")
            await ric.send_to_app(Message(30000, b"ping"), f"127.0.0.1:{app.rmr_port}")
            assert (await ric.expect(30000)).payload == b"pong"
            ric.auto_delete()
            await app.stop()

    run(main())
