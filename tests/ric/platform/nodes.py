"""A scripted E2 node for RIC-lite tests, built from the wire layer (E2 transport +
E2AP codec): a real peer speaking E2AP over TCP, whose answers the test controls."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from xtrust.ric import e2
from xtrust.ric.asn1 import kpm, rc
from xtrust.ric.asn1.e2ap_messages import (
    E2apMessage,
    E2SetupRequest,
    E2SetupResponse,
    RanFunction,
    RicControlAcknowledge,
    RicControlRequest,
    RicIndication,
    RicRequestId,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    global_gnb_id,
    parse,
    plmn_identity,
)

PLMN = plmn_identity("001", "01")
KPM_FUNCTION = RanFunction(2, b"kpm-definition", 1, kpm.OID)
RC_FUNCTION = RanFunction(3, b"rc-definition", 1, rc.OID)
UNKNOWN_FUNCTION = RanFunction(9, b"x", 1, "1.2.3.4")


def ran_name(gnb_id: int) -> str:
    return f"gnb_001_01_{gnb_id:08x}"


class TestNode:
    """Connects, runs E2 Setup, answers subscriptions / deletes / controls
    (unless told otherwise), and records every PDU the RIC sent it."""

    __test__ = False

    def __init__(self, port: int, gnb_id: int = 0x19B, *, auto_answer: bool = True):
        self.port = port
        self.gnb_id = gnb_id
        self.auto_answer = auto_answer
        self.conn: e2.E2Connection | None = None
        self.received: list[E2apMessage] = []
        self.raw: list[bytes] = []
        self.setup: E2SetupResponse | None = None
        self.subscriptions: dict[int, RicSubscriptionRequest] = {}
        self.changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.sn = 0

    @property
    def ran_name(self) -> str:
        return ran_name(self.gnb_id)

    async def connect(self, functions: list[RanFunction] | None = None) -> E2SetupResponse:
        self.conn = await e2.connect("127.0.0.1", self.port, transport="tcp")
        req = E2SetupRequest(
            transaction_id=1,
            global_e2node_id=global_gnb_id(PLMN, self.gnb_id, 32),
            ran_functions=functions or [KPM_FUNCTION, RC_FUNCTION, UNKNOWN_FUNCTION],
            component_configs=[
                {
                    "e2nodeComponentInterfaceType": "ng",
                    "e2nodeComponentID": ("e2nodeComponentInterfaceTypeNG", {"amf-name": "amf"}),
                    "e2nodeComponentConfiguration": {
                        "e2nodeComponentRequestPart": b"req",
                        "e2nodeComponentResponsePart": b"resp",
                    },
                }
            ],
        )
        await self.conn.send(req.encode())
        reply = parse(await self.conn.recv())
        assert isinstance(reply, E2SetupResponse), reply
        self.setup = reply
        self._task = asyncio.get_running_loop().create_task(self._run())
        return reply

    async def _run(self) -> None:
        assert self.conn is not None
        with contextlib.suppress(e2.E2ConnectionClosed):
            async for pdu in self.conn:
                msg = parse(pdu)
                async with self.changed:
                    self.received.append(msg)
                    self.raw.append(pdu)
                    self.changed.notify_all()
                if not self.auto_answer:
                    continue
                if isinstance(msg, RicSubscriptionRequest):
                    self.subscriptions[msg.request_id.instance_id] = msg
                    await self.send(
                        RicSubscriptionResponse(
                            msg.request_id, msg.ran_function_id, [a.id for a in msg.actions]
                        )
                    )
                elif isinstance(msg, RicSubscriptionDeleteRequest):
                    self.subscriptions.pop(msg.request_id.instance_id, None)
                    await self.send(
                        RicSubscriptionDeleteResponse(msg.request_id, msg.ran_function_id)
                    )
                elif isinstance(msg, RicControlRequest):
                    await self.send(
                        RicControlAcknowledge(msg.request_id, msg.ran_function_id, outcome=b"done")
                    )

    async def send(self, msg: E2apMessage | bytes) -> None:
        assert self.conn is not None
        await self.conn.send(msg if isinstance(msg, bytes) else msg.encode())

    async def indication(self, sub_instance: int, message: bytes = b"kpm-report") -> bytes:
        sub = self.subscriptions[sub_instance]
        self.sn = (self.sn + 1) % 65536
        ind = RicIndication(
            sub.request_id, sub.ran_function_id, sub.actions[0].id, b"hdr", message, sn=self.sn
        )
        pdu = ind.encode()
        await self.send(pdu)
        return pdu

    async def wait_for(self, cls: type[Any], count: int = 1, timeout: float = 3.0) -> list[Any]:
        async def cond() -> list[Any]:
            async with self.changed:
                await self.changed.wait_for(
                    lambda: sum(isinstance(m, cls) for m in self.received) >= count
                )
                return [m for m in self.received if isinstance(m, cls)]

        return await asyncio.wait_for(cond(), timeout)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.abort()
            await self.conn.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def request_id(n: int) -> RicRequestId:
    return RicRequestId(77, n)
