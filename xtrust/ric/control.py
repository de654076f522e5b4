"""RIC Control for xApps: send E2SM-RC control requests, wait for the outcome.

Wire (direct to the RIC over RMR): RIC_CONTROL_REQ (12040), meid = the E2
node's RAN name, payload an E2AP RICcontrolRequest with an app-chosen unique
RICrequestID, the RAN function id, the control header and message and
``ackRequest = ack``. The RIC answers RIC_CONTROL_ACK (12041, a
RICcontrolAcknowledge) or RIC_CONTROL_FAILURE (12042, a RICcontrolFailure)
echoing the RICrequestID; answers are matched by it, routed or returned.

:meth:`ControlClient.control` raises :class:`ControlFailure` (with the E2AP
cause) or :class:`ControlTimeout`; :meth:`~ControlClient.handover` and
:meth:`~ControlClient.release_ue` build the E2SM-RC header and message with
:func:`xtrust.ric.asn1.rc.handover_control` and
:func:`xtrust.ric.asn1.rc.ue_release`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from xtrust.errors import DecodeError, InputError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.asn1 import rc
from xtrust.ric.asn1.e2ap_messages import (
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicRequestId,
    parse,
)
from xtrust.ric.asn1.kpm import EutraCgi, NrCgi, UeId
from xtrust.ric.rmr import Message, SendError
from xtrust.ric.subscriptions import _octets

if TYPE_CHECKING:
    from xtrust.ric.observability import XAppMetrics
    from xtrust.ric.subscriptions import RequestIds

__all__ = ["ControlAck", "ControlClient", "ControlError", "ControlFailure", "ControlTimeout"]

log = get_logger("ric.xapp")


class ControlError(XTrustError):
    """A RIC control request did not succeed."""


class ControlFailure(ControlError):
    """The RIC or the E2 node refused the control request (``cause``, ``outcome``)."""

    def __init__(self, message: str, *, cause: str = "", outcome: bytes | None = None):
        super().__init__(message)
        self.cause = cause
        self.outcome = outcome


class ControlTimeout(ControlError, TimeoutError):
    """No answer to the control request in time."""


@dataclass(frozen=True)
class ControlAck:
    """A RIC control acknowledged by the node."""

    meid: str
    request_id: RicRequestId
    ran_function_id: int
    outcome: bytes | None = None
    call_process_id: bytes | None = None

    def rc_outcome(self) -> rc.RcControlOutcome | None:
        """The outcome decoded as an E2SM-RC control outcome (None when absent)."""
        return None if self.outcome is None else rc.RcControlOutcome.decode(self.outcome)


class ControlClient:
    """Sends RIC control requests of one app and matches their answers."""

    def __init__(
        self,
        send: Callable[[Message], Awaitable[int]],
        ids: RequestIds,
        metrics: XAppMetrics,
        *,
        timeout: float = 1.0,
    ):
        self._send = send
        self.ids = ids
        self.metrics = metrics
        self.timeout = timeout
        self._waiting: dict[RicRequestId, asyncio.Future[Message]] = {}

    def _count(self, outcome: str) -> None:
        self.metrics.controls.labels(self.metrics.app, outcome).inc()

    async def control(
        self,
        meid: str,
        ran_function_id: int,
        header: bytes | Any,
        message: bytes | Any,
        *,
        timeout: float | None = None,
        call_process_id: bytes | None = None,
        ack: Literal["ack", "noAck"] | None = "ack",
    ) -> ControlAck | None:
        """Send a RIC control request to node ``meid`` and wait for its outcome.

        ``header`` and ``message`` are the E2SM control header and message
        (bytes, or objects with ``encode()``). With ``ack="noAck"`` (or None)
        nothing is awaited and the result is None. Raises
        :class:`ControlFailure`, :class:`ControlTimeout`, or
        :class:`ControlError` when the request cannot be sent.
        """
        if not meid or len(meid.encode()) > 31:
            raise InputError(f"meid must be 1..31 bytes (the E2 node's RAN name), got {meid!r}")
        if not 0 <= ran_function_id <= 4095:
            raise InputError(f"RAN function id {ran_function_id} is out of range (0..4095)")
        wait = self.timeout if timeout is None else timeout
        if wait <= 0:
            raise InputError(f"control timeout must be positive, got {wait!r}")
        rid = self.ids.allocate()
        payload = RicControlRequest(
            rid,
            ran_function_id,
            _octets(header, "control header"),
            _octets(message, "control message"),
            call_process_id,
            ack,
        ).encode()
        expect = ack == "ack"
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        if expect:
            self._waiting[rid] = fut
        try:
            try:
                await self._send(Message(mtypes.RIC_CONTROL_REQ, payload, meid=meid))
            except SendError as exc:
                self._count("send_error")
                raise ControlError(f"cannot send the control request to {meid}: {exc}") from None
            if not expect:
                self._count("sent")
                return None
            try:
                async with asyncio.timeout(wait):
                    answer = await fut
            except TimeoutError:
                self._count("timeout")
                raise ControlTimeout(
                    f"no answer to the control request to {meid} within {wait * 1000:.0f} ms"
                ) from None
        finally:
            if self._waiting.get(rid) is fut:
                del self._waiting[rid]
            self.ids.release(rid)
        pdu = parse(answer.payload)
        if isinstance(pdu, RicControlFailure):
            self._count("failure")
            raise ControlFailure(
                f"control request to {meid} failed: {pdu.cause}",
                cause=str(pdu.cause),
                outcome=pdu.outcome,
            )
        assert isinstance(pdu, RicControlAcknowledge)
        self._count("ack")
        return ControlAck(meid, rid, pdu.ran_function_id, pdu.outcome, pdu.call_process_id)

    async def handover(
        self,
        meid: str,
        ran_function_id: int,
        ue_id: UeId,
        target: NrCgi | EutraCgi,
        *,
        timeout: float | None = None,
    ) -> ControlAck:
        """Hand ``ue_id`` over to cell ``target`` (E2SM-RC style 3, action 1)."""
        header, message = rc.handover_control(ue_id, target)
        result = await self.control(meid, ran_function_id, header, message, timeout=timeout)
        assert result is not None
        return result

    async def release_ue(
        self,
        meid: str,
        ran_function_id: int,
        ue_id: UeId,
        *,
        timeout: float | None = None,
    ) -> ControlAck:
        """Release ``ue_id`` (E2SM-RC style 4, action 4 "RRC Connection Release")."""
        header, message = rc.ue_release(ue_id)
        result = await self.control(meid, ran_function_id, header, message, timeout=timeout)
        assert result is not None
        return result

    def on_message(self, msg: Message) -> bool:
        """Take a RIC_CONTROL_ACK / RIC_CONTROL_FAILURE; False for other messages."""
        if msg.mtype not in (mtypes.RIC_CONTROL_ACK, mtypes.RIC_CONTROL_FAILURE):
            return False
        try:
            pdu = parse(msg.payload)
        except DecodeError as exc:
            log.warning("xapp: dropped a malformed %s: %s", mtypes.name(msg.mtype), exc)
            return True
        expected = (
            RicControlAcknowledge if msg.mtype == mtypes.RIC_CONTROL_ACK else (RicControlFailure)
        )
        if not isinstance(pdu, expected):
            log.warning("xapp: %s does not carry a %s", mtypes.name(msg.mtype), expected.__name__)
            return True
        fut = self._waiting.get(pdu.request_id)
        if fut is None or fut.done():
            log.info("xapp: ignored a control answer for request %s (late or unknown)",
                     pdu.request_id)  # fmt: skip
            return True
        fut.set_result(msg)
        return True

    def cancel_all(self) -> None:
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(ControlError("the app stopped while waiting for the answer"))
                fut.exception()
        self._waiting.clear()
