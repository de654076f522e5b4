"""Fixtures and helpers of the xApp SDK tests.

``RicPeer`` plays the RIC side of the wire conventions (RIC-lite's side): an
:class:`~xtrust.ric.rmr.Endpoint` on 127.0.0.1 and the E2AP codec. It is a
real RMR peer, not a stand-in for SDK code: it decodes what the app sends and
answers with encoded E2AP PDUs, either routed (a new message to the app's
address) or by return to sender.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from xtrust.ric import mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1.e2ap_fast import encode_indication
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    E2apMessage,
    RicIndication,
    RicRequestId,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    parse,
)
from xtrust.ric.rmr import Endpoint, Message
from xtrust.ric.xapp import XApp

T = TypeVar("T")

RAN = "gnb_001_001_0000019b"
KPM_FUNCTION = 2
RC_FUNCTION = 3


def run(coro: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
    """Run ``coro`` in a fresh event loop; fail instead of hanging."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def until(pred: Callable[[], bool], timeout: float = 3.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descriptor(**extra: Any) -> dict[str, Any]:
    """A complete O-RAN SC descriptor of a test app (ports are overridden by the tests)."""
    doc: dict[str, Any] = {
        "name": "xtrust-test",
        "version": "1.0.0",
        "containers": [
            {
                "name": "xtrust-test",
                "image": {"registry": "registry.example:5000", "name": "xtrust-test", "tag": "1"},
            }
        ],
        "messaging": {
            "ports": [
                {"name": "http", "container": "xtrust-test", "port": 8080},
                {
                    "name": "rmr-data",
                    "container": "xtrust-test",
                    "port": 4560,
                    "rxMessages": [
                        "RIC_SUB_RESP",
                        "RIC_SUB_FAILURE",
                        "RIC_SUB_DEL_RESP",
                        "RIC_INDICATION",
                        "A1_POLICY_REQ",
                    ],
                    "txMessages": ["RIC_SUB_REQ", "RIC_SUB_DEL_REQ", "A1_POLICY_RESP", 30001],
                    "policies": [],
                    "maxSize": 65536,
                },
                {"name": "rmr-route", "container": "xtrust-test", "port": 4561},
            ]
        },
        "controls": {"threshold": 10},
    }
    doc.update(extra)
    return doc


def write_descriptor(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2))
    return path


def make_app(peer: RicPeer | None, cls: type[XApp] = XApp, **kw: Any) -> XApp:
    """An app on free loopback ports, its RMR traffic routed to ``peer``, no environment."""
    kw.setdefault("config", descriptor())
    kw.setdefault("rmr_port", 0)
    kw.setdefault("http_port", 0)
    kw.setdefault("host", "127.0.0.1")
    kw.setdefault("env", {})
    kw.setdefault("backoff", (0.05, 0.2))
    kw.setdefault("subscription_timeout", 0.5)
    if peer is not None:
        kw.setdefault("ric", peer.address)
    return cls(**kw)


def kpm_indication(
    sub_id: int, values: tuple[float, ...] = (12.5, 3.0), *, sn: int = 1
) -> RicIndication:
    header = kpm.KpmIndicationHeader.at(1_700_000_000.25).encode()
    message = kpm.KpmIndicationMessageFormat1(
        records=(values,),
        meas_names=("DRB.UEThpDl", "RRU.PrbUsedDl"),
        granul_period_ms=1000,
    ).encode()
    # the RICrequestID is the RIC's own (requestor 123), not the app's
    return RicIndication(RicRequestId(123, sub_id), KPM_FUNCTION, 1, header, message, sn=sn)


class RicPeer:
    """The RIC end of the app's RMR traffic."""

    def __init__(self, port: int = 0):
        self.ep = Endpoint(port, host="127.0.0.1", use_env=False)
        self.messages: list[Message] = []
        self._seen = 0
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._taken: set[int] = set()
        self.app_address = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ep.port}"

    async def start(self) -> RicPeer:
        await self.ep.start()
        self._task = asyncio.get_running_loop().create_task(self._collect())
        return self

    async def close(self) -> None:
        await self.ep.close(timeout=0.05)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def __aenter__(self) -> RicPeer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _collect(self) -> None:
        async for msg in self.ep.receive():
            if msg.srcip:
                self.app_address = msg.srcip
            self.messages.append(msg)
            self._arrived.set()

    def of(self, mtype: int) -> list[Message]:
        return [m for m in self.messages if m.mtype == mtype]

    async def expect(self, mtype: int, timeout: float = 3.0) -> Message:
        """The next message of ``mtype`` not yet taken by ``expect``."""
        deadline = time.monotonic() + timeout
        while True:
            self._arrived.clear()
            for m in self.messages:
                if m.mtype == mtype and id(m) not in self._taken:
                    self._taken.add(id(m))
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                got = [mtypes.name(m.mtype) for m in self.messages]
                raise AssertionError(f"no {mtypes.name(mtype)} within {timeout} s; got {got}")
            try:
                async with asyncio.timeout(left):
                    await self._arrived.wait()
            except TimeoutError:
                pass

    async def nothing(self, mtype: int, within: float = 0.2) -> None:
        """Assert that no new message of ``mtype`` arrives within ``within`` seconds."""
        try:
            msg = await self.expect(mtype, within)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {mtypes.name(mtype)}: {msg}")

    # -- answers -------------------------------------------------------------------------
    async def reply(
        self, to: Message, mtype: int, pdu: E2apMessage | bytes, *, sub_id: int = -1,
        routed: bool = True,
    ) -> None:  # fmt: skip
        payload = pdu if isinstance(pdu, bytes) else pdu.encode()
        if routed:
            await self.ep.send(
                Message(mtype, payload, sub_id=sub_id, meid=to.meid), to=to.srcip, wait=1.0
            )
        else:
            await self.ep.rts(to, payload=payload, mtype=mtype, sub_id=sub_id)

    async def accept_subscription(
        self, msg: Message, sub_id: int, *, routed: bool = True
    ) -> RicSubscriptionRequest:
        req = parse(msg.payload)
        assert isinstance(req, RicSubscriptionRequest)
        resp = RicSubscriptionResponse(
            req.request_id, req.ran_function_id, [a.id for a in req.actions]
        )
        await self.reply(msg, mtypes.RIC_SUB_RESP, resp, sub_id=sub_id, routed=routed)
        return req

    async def refuse_subscription(
        self, msg: Message, cause: Cause | None = None
    ) -> RicSubscriptionRequest:
        cause = cause or Cause("ricRequest", "action-not-supported")
        req = parse(msg.payload)
        assert isinstance(req, RicSubscriptionRequest)
        fail = RicSubscriptionFailure(req.request_id, req.ran_function_id, cause)
        await self.reply(msg, mtypes.RIC_SUB_FAILURE, fail)
        return req

    async def answer_delete(self, msg: Message, *, ok: bool = True) -> RicSubscriptionDeleteRequest:
        req = parse(msg.payload)
        assert isinstance(req, RicSubscriptionDeleteRequest)
        if ok:
            await self.reply(
                msg,
                mtypes.RIC_SUB_DEL_RESP,
                RicSubscriptionDeleteResponse(req.request_id, req.ran_function_id),
                sub_id=msg.sub_id,
            )
        else:
            await self.reply(
                msg,
                mtypes.RIC_SUB_DEL_FAILURE,
                RicSubscriptionDeleteFailure(
                    req.request_id, req.ran_function_id, Cause("ricRequest", "request-id-unknown")
                ),
                sub_id=msg.sub_id,
            )
        return req

    def auto_delete(self) -> asyncio.Task[None]:
        """Answer every subscription delete request from now on (until the peer closes)."""

        async def loop() -> None:
            while True:
                msg = await self.expect(mtypes.RIC_SUB_DEL_REQ, timeout=3600)
                await self.answer_delete(msg)

        return asyncio.get_running_loop().create_task(loop())

    async def indicate(self, ind: RicIndication, sub_id: int, meid: str = RAN) -> None:
        assert self.app_address, "the app has not sent anything yet"
        await self.ep.send(
            Message(mtypes.RIC_INDICATION, encode_indication(ind), sub_id=sub_id, meid=meid),
            to=self.app_address,
            wait=1.0,
        )

    async def send_to_app(self, msg: Message, address: str | None = None) -> None:
        await self.ep.send(msg, to=address or self.app_address, wait=1.0)


@pytest.fixture
def peer_port() -> int:
    return free_port()


def metric(app: XApp, name: str, **labels: str) -> float:
    """The value of a sample of the app's registry (0.0 when absent)."""
    value = app.metrics.registry.get_sample_value(name, {"xapp": app.metrics.app, **labels})
    return 0.0 if value is None else value
