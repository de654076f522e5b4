"""RIC control (E2SM-RC handover, UE release): acknowledge, failure, timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from xtrust.ric import mtypes
from xtrust.ric.asn1 import rc
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    parse,
)
from xtrust.ric.asn1.kpm import GnbUeId, Guami, NrCgi
from xtrust.ric.rmr import Message
from xtrust.ric.xapp import ControlError, ControlFailure, ControlTimeout, XApp, handles

from .conftest import RAN, RC_FUNCTION, RicPeer, descriptor, make_app, metric, run

PLMN = bytes.fromhex("13f184")
UE = GnbUeId(amf_ue_ngap_id=1234, guami=Guami(PLMN, 1, 2, 3))
TARGET = NrCgi(PLMN, 0x19B0002)


async def _request(ric: RicPeer) -> tuple[Message, RicControlRequest]:
    msg = await ric.expect(mtypes.RIC_CONTROL_REQ)
    req = parse(msg.payload)
    assert isinstance(req, RicControlRequest)
    return msg, req


def test_handover_is_acknowledged() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, requestor_id=500)
            await app.start()
            task = asyncio.get_running_loop().create_task(
                app.handover(RAN, RC_FUNCTION, UE, TARGET)
            )
            msg, req = await _request(ric)
            assert (msg.meid, msg.sub_id) == (RAN, -1)
            assert req.request_id.requestor_id == 500
            assert (req.ran_function_id, req.ack_request) == (RC_FUNCTION, "ack")
            header = rc.RcControlHeader.decode(req.header)
            assert (header.ue_id, header.style, header.action_id) == (UE, 3, 1)
            assert rc.handover_target(rc.RcControlMessage.decode(req.message)) == TARGET
            outcome = rc.RcControlOutcome(((1, 7),)).encode()
            await ric.reply(
                msg, mtypes.RIC_CONTROL_ACK,
                RicControlAcknowledge(req.request_id, RC_FUNCTION, outcome=outcome),
            )  # fmt: skip
            ack = await task
            assert (ack.meid, ack.request_id, ack.ran_function_id) == (RAN, req.request_id, 3)
            decoded = ack.rc_outcome()
            assert decoded is not None and decoded.params == ((1, 7),)
            assert metric(app, "xapp_ric_control_total", outcome="ack") == 1
            await app.stop()

    run(main())


def test_ue_release_failure_raises_with_the_cause() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            task = asyncio.get_running_loop().create_task(app.release_ue(RAN, RC_FUNCTION, UE))
            msg, req = await _request(ric)
            header = rc.RcControlHeader.decode(req.header)
            assert (header.style, header.action_id) == (4, 4)  # RRC connection release
            await ric.reply(
                msg, mtypes.RIC_CONTROL_FAILURE,
                RicControlFailure(req.request_id, RC_FUNCTION, Cause("ricRequest", "control-message-invalid")),
                routed=False,
            )  # fmt: skip
            with pytest.raises(ControlFailure, match="control-message-invalid") as info:
                await task
            assert info.value.cause == "ricRequest/control-message-invalid"
            assert metric(app, "xapp_ric_control_total", outcome="failure") == 1
            await app.stop()

    run(main())


def test_timeout_and_a_late_answer_is_ignored() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, control_timeout=0.15)
            await app.start()
            started = time.monotonic()
            task = asyncio.get_running_loop().create_task(
                app.control(RAN, RC_FUNCTION, b"\x01\x02", b"\x03")
            )
            msg, req = await _request(ric)
            assert (req.header, req.message) == (b"\x01\x02", b"\x03")
            with pytest.raises(ControlTimeout, match="within 150 ms"):
                await task
            assert 0.1 < time.monotonic() - started < 0.5
            await ric.reply(
                msg, mtypes.RIC_CONTROL_ACK, RicControlAcknowledge(req.request_id, RC_FUNCTION)
            )
            await asyncio.sleep(0.05)  # the late ack is dropped quietly
            assert metric(app, "xapp_ric_control_total", outcome="timeout") == 1
            # concurrent requests get distinct RICrequestIDs and their own answers
            loop = asyncio.get_running_loop()
            t1 = loop.create_task(app.control(RAN, RC_FUNCTION, b"a", b"a", timeout=2))
            t2 = loop.create_task(app.control(RAN, RC_FUNCTION, b"b", b"b", timeout=2))
            (m1, r1), (m2, r2) = await _request(ric), await _request(ric)
            assert r1.request_id != r2.request_id
            await ric.reply(m2, mtypes.RIC_CONTROL_ACK, RicControlAcknowledge(r2.request_id, 3))
            await ric.reply(
                m1, mtypes.RIC_CONTROL_FAILURE,
                RicControlFailure(r1.request_id, 3, Cause("misc", "unspecified")),
            )  # fmt: skip
            assert (await t2).request_id == r2.request_id
            with pytest.raises(ControlFailure):
                await t1
            await app.stop()

    run(main())


def test_control_without_a_route_is_a_clear_error() -> None:
    async def main() -> None:
        app = make_app(None)  # no ric, no route table
        await app.start()
        with pytest.raises(ControlError, match="cannot send the control request"):
            await app.control(RAN, RC_FUNCTION, b"h", b"m")
        assert metric(app, "xapp_ric_control_total", outcome="send_error") == 1
        await app.stop()

    run(main())


class _Guard(XApp):
    """Releases a UE when told to, from inside a message handler."""

    results: list[str]

    @handles(30000)
    async def on_alert(self, msg: Message) -> None:
        try:
            ack = await self.release_ue(msg.meid, RC_FUNCTION, UE, timeout=2)
            self.results.append(f"released {ack.request_id.instance_id}")
        except ControlError as exc:
            self.results.append(f"error {exc}")


def test_a_handler_can_await_a_control_answer() -> None:
    """Handlers run apart from the receive loop, so the answer gets through."""

    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, _Guard, config=descriptor())
            assert isinstance(app, _Guard)
            app.results = []
            await app.start()
            await ric.send_to_app(Message(30000, b"alert", meid=RAN), f"127.0.0.1:{app.rmr_port}")
            msg, req = await _request(ric)
            await ric.reply(msg, mtypes.RIC_CONTROL_ACK, RicControlAcknowledge(req.request_id, 3))
            deadline = time.monotonic() + 2
            while not app.results and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert app.results == [f"released {req.request_id.instance_id}"]
            await app.stop()

    run(main())
