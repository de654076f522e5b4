"""The segmentation hooks plugged into a running RIC-lite, with a real E2 node and xApp."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from tests.ric.platform import nodes
from tests.ric.platform.test_ric_lite import config, control
from xtrust.ric import mtypes
from xtrust.ric.asn1.e2ap_messages import RicControlRequest
from xtrust.ric.platform import RicLite
from xtrust.ric.rmr import Endpoint, Message
from xtrust.xapps.segmentation import Segmentation, SegmentationAdmission, parse_policy

from .conftest import BASE


def test_quarantine_denies_controls_on_a_running_ric() -> None:
    async def main() -> None:
        xapp = Endpoint(0, host="127.0.0.1", name="ts", use_env=False)
        await xapp.start()
        doc: dict[str, Any] = copy.deepcopy(BASE)
        gnb = nodes.ran_name(0x19B)
        doc["assets"]["ts"]["rmr"] = xapp.srcip  # the xApp is known by its RMR source
        doc["assets"][gnb] = doc["assets"].pop("gnb")
        for f in doc["flows"]:
            if f["to"] == "gnb":
                f["to"] = gnb
        seg = Segmentation(parse_policy(doc))
        node: nodes.TestNode | None = None
        try:
            async with RicLite(config(), admission=SegmentationAdmission(seg)) as ric:
                node = nodes.TestNode(ric.e2_port, 0x19B)
                await node.connect()

                async def send(n: int) -> Message:
                    msg = Message(mtypes.RIC_CONTROL_REQ, control(n).encode(), meid=gnb)
                    await xapp.send(msg, to=ric.rmr_address, wait=1.0)
                    return await xapp.recv(timeout=3)

                assert (await send(1)).mtype == mtypes.RIC_CONTROL_ACK
                seg.quarantine("ts", "control storm")
                assert (await send(2)).mtype == mtypes.RIC_CONTROL_FAILURE
                await asyncio.sleep(0.05)
                got = [m for m in node.received if isinstance(m, RicControlRequest)]
                assert got == [control(1)]
                seg.release("ts", by="operator")
                assert (await send(3)).mtype == mtypes.RIC_CONTROL_ACK
        finally:
            if node is not None:
                await node.close()
            await xapp.close()

    asyncio.run(main())
