"""E2 subscriptions for xApps: subscribe, get decoded indications, resubscribe, unsubscribe.

One API, two back ends:

**direct** (:class:`DirectBackend`, what RIC-lite speaks; E2AP over RMR)
    Subscribe: RIC_SUB_REQ (12010) carrying an E2AP RICsubscriptionRequest,
    RMR meid = the E2 node's RAN name, RMR sub_id = -1. The RICrequestID is
    the app's (requestor = the app's number, instance = a counter unique
    among its outstanding requests). The RIC answers RIC_SUB_RESP (12011)
    with a RICsubscriptionResponse echoing the RICrequestID and the
    subscription id it assigned in the RMR sub_id, or RIC_SUB_FAILURE (12012)
    with a RICsubscriptionFailure. Answers are matched by RICrequestID,
    whether they come back on the request's connection or routed.
    Delete: RIC_SUB_DEL_REQ (12020), RMR sub_id = subscription id, payload a
    RICsubscriptionDeleteRequest (the subscribe's RICrequestID, the RAN
    function id); answer 12021 / 12022 echoing it. A response that arrives
    after its request timed out gets a delete, so the RIC keeps no orphan.

**rest** (:class:`RestBackend`, the O-RAN SC subscription manager)
    ``POST {submgr}/subscriptions`` with SubscriptionParams
    (``SubscriptionId``, ``ClientEndpoint {Host, HTTPPort, RMRPort}``,
    ``Meid``, ``RANFunctionID``, ``E2SubscriptionDirectives``,
    ``SubscriptionDetails [{XappEventInstanceId, EventTriggers,
    ActionToBeSetupList [{ActionID, ActionType, ActionDefinition,
    SubsequentAction}]}]``; E2SM octet strings as arrays of byte values),
    answered 201 ``{"SubscriptionId", "SubscriptionInstances"}``. The outcome
    arrives later: submgr POSTs a SubscriptionResponse to
    ``http://Host:HTTPPort/ric/v1/subscriptions/response`` with
    ``SubscriptionInstances [{XappEventInstanceId, E2EventInstanceId,
    ErrorCause, ErrorSource, TimeoutType}]``; E2EventInstanceId is the RMR
    sub_id of the indications (0 on failure). ``DELETE
    {submgr}/subscriptions/{SubscriptionId}`` answers 204. A retry resends
    the same request with its SubscriptionId, as submgr asks.

Both deliver RIC_INDICATION (12050) messages, matched by RMR sub_id only
(the RICrequestID inside is the RIC's), decoded by
:func:`~xtrust.ric.asn1.e2ap_fast.require_indication` and the subscription's
service model (:data:`MODELS`: ``kpm`` decodes header and message with the
E2SM-KPM classes, ``rc`` with the E2SM-RC ASN.1 module, ``raw`` leaves bytes).

Each subscription has a task that keeps it alive: a failed or unanswered
attempt is retried with exponential backoff (``retry=False`` makes the first
failure final); :meth:`SubscriptionManager.resubscribe` (node reconnected,
RIC restarted) deletes what the RIC may still hold, best effort, and
subscribes anew.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import random
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from aiohttp import web

from xtrust.errors import DecodeError, InputError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.asn1 import decode as asn1_decode
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1 import rc as rc_model
from xtrust.ric.asn1.e2ap_fast import require_indication
from xtrust.ric.asn1.e2ap_messages import (
    RicAction,
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
from xtrust.ric.rmr import Message, SendError

if TYPE_CHECKING:
    from xtrust.ric.observability import HttpServer, XAppMetrics

__all__ = [
    "MODELS",
    "DirectBackend",
    "Indication",
    "IndicationHandler",
    "RequestIds",
    "RestBackend",
    "ServiceModel",
    "Subscription",
    "SubscriptionBackend",
    "SubscriptionError",
    "SubscriptionFailure",
    "SubscriptionManager",
    "SubscriptionTimeout",
    "as_actions",
]

log = get_logger("ric.xapp")

PENDING = "pending"
ACTIVE = "active"
FAILED = "failed"
DELETING = "deleting"
DELETED = "deleted"
STATES = (PENDING, ACTIVE, FAILED, DELETING, DELETED)


# ----------------------------------------------------------------------------------- errors


class SubscriptionError(XTrustError):
    """An E2 subscription could not be made or removed."""


class SubscriptionFailure(SubscriptionError):
    """The RIC (or the E2 node) refused the subscription; ``cause`` says why."""

    def __init__(self, message: str, *, cause: str = "", source: str = ""):
        super().__init__(message)
        self.cause = cause
        self.source = source


class SubscriptionTimeout(SubscriptionError, TimeoutError):
    """No answer to a subscription request in time."""


# ------------------------------------------------------------------------------ request ids


class RequestIds:
    """RICrequestIDs of one app: its requestor id and instance ids unique while in use."""

    def __init__(self, requestor_id: int):
        if not 0 <= requestor_id <= 0xFFFF:
            raise InputError(f"RIC requestor id {requestor_id} is out of range (0..65535)")
        self.requestor_id = requestor_id
        self._next = itertools.cycle(range(1, 0x10000))
        self._used: set[int] = set()

    def allocate(self) -> RicRequestId:
        for _ in range(0xFFFF):
            instance = next(self._next)
            if instance not in self._used:
                self._used.add(instance)
                return RicRequestId(self.requestor_id, instance)
        raise SubscriptionError("all 65535 RIC request instance ids are in use")

    def release(self, rid: RicRequestId | None) -> None:
        if rid is not None and rid.requestor_id == self.requestor_id:
            self._used.discard(rid.instance_id)

    def in_use(self, rid: RicRequestId) -> bool:
        return rid.requestor_id == self.requestor_id and rid.instance_id in self._used


# ----------------------------------------------------------------------------- service models


class ServiceModel(Protocol):
    """Decodes the E2SM header and message of an indication."""

    name: str

    def decode(self, ind: RicIndication) -> tuple[Any, Any]: ...


class _Kpm:
    name = "kpm"

    def decode(self, ind: RicIndication) -> tuple[Any, Any]:
        return (
            kpm.KpmIndicationHeader.decode(ind.header),
            kpm.decode_indication_message(ind.message),
        )


class _Rc:
    name = "rc"

    def decode(self, ind: RicIndication) -> tuple[Any, Any]:
        sm = rc_model.SERVICE_MODEL
        return (
            asn1_decode(sm.indication_header_type, ind.header, spec=sm.spec),
            asn1_decode(sm.indication_message_type, ind.message, spec=sm.spec),
        )


class _Raw:
    name = "raw"

    def decode(self, ind: RicIndication) -> tuple[Any, Any]:
        return ind.header, ind.message


#: service models by name
MODELS: dict[str, ServiceModel] = {"kpm": _Kpm(), "rc": _Rc(), "raw": _Raw()}


def _model(model: str | ServiceModel) -> ServiceModel:
    if isinstance(model, str):
        found = MODELS.get(model.lower())
        if found is None:
            raise InputError(f"unknown service model {model!r} (known: {', '.join(MODELS)})")
        return found
    if not callable(getattr(model, "decode", None)):
        raise InputError(f"a service model needs a decode(indication) method, got {model!r}")
    return model


def _octets(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    encode = getattr(value, "encode", None)
    if callable(encode):
        out = encode()
        if isinstance(out, bytes | bytearray):
            return bytes(out)
    raise InputError(f"{what} must be bytes or have encode() -> bytes, got {type(value).__name__}")


def as_actions(actions: Any) -> tuple[RicAction, ...]:
    """RicActions from a RicAction, a sequence of them, or one action definition
    (bytes or an E2SM object with ``encode()``), which becomes report action 1."""
    if isinstance(actions, RicAction):
        return (actions,)
    if isinstance(actions, bytes | bytearray) or callable(getattr(actions, "encode", None)):
        return (RicAction(1, "report", _octets(actions, "action definition")),)
    if isinstance(actions, Iterable):
        out = []
        for a in actions:
            if not isinstance(a, RicAction):
                raise InputError(f"actions must be RicAction objects, got {type(a).__name__}")
            out.append(a)
        if not out:
            raise InputError("a subscription needs at least one action")
        ids = [a.id for a in out]
        if len(set(ids)) != len(ids):
            raise InputError(f"action ids must be unique, got {ids}")
        return tuple(out)
    raise InputError(f"cannot make subscription actions from {type(actions).__name__}")


# ----------------------------------------------------------------------------- subscription


@dataclass(frozen=True)
class Indication:
    """A RIC indication of a subscription, decoded."""

    subscription: Subscription
    meid: str
    sub_id: int
    e2: RicIndication
    #: the E2SM indication header and message, decoded by the subscription's service model
    header: Any
    message: Any
    rmr: Message

    @property
    def action_id(self) -> int:
        return self.e2.action_id

    @property
    def sn(self) -> int | None:
        return self.e2.sn


IndicationHandler = Callable[[Indication], Awaitable[None] | None]


class Subscription:
    """One E2 subscription of the app (a handle: the SDK keeps it alive)."""

    _keys = itertools.count(1)

    def __init__(
        self,
        meid: str,
        ran_function_id: int,
        event_trigger: bytes,
        actions: tuple[RicAction, ...],
        *,
        model: ServiceModel,
        handler: IndicationHandler | None,
        retry: bool,
        timeout: float,
    ):
        if not meid or len(meid.encode()) > 31:
            raise InputError(f"meid must be 1..31 bytes (the E2 node's RAN name), got {meid!r}")
        if not 0 <= ran_function_id <= 4095:
            raise InputError(f"RAN function id {ran_function_id} is out of range (0..4095)")
        if timeout <= 0:
            raise InputError(f"subscription timeout must be positive, got {timeout!r}")
        self.key = next(self._keys)
        self.meid = meid
        self.ran_function_id = ran_function_id
        self.event_trigger = event_trigger
        self.actions = actions
        self.model = model
        self.handler = handler
        self.retry = retry
        self.timeout = timeout
        self.state = PENDING
        #: the subscription id the RIC assigned (RMR sub_id of its indications)
        self.sub_id: int | None = None
        #: the RICrequestID of the last subscribe (direct back end)
        self.request_id: RicRequestId | None = None
        #: submgr's SubscriptionId and our XappEventInstanceId (REST back end)
        self.rest_id: str | None = None
        self.event_instance_id: int | None = None
        self.admitted: list[int] = []
        self.not_admitted: list[tuple[int, str]] = []
        self.attempts = 0
        self.last_error: SubscriptionError | None = None
        self.indications = 0
        self._manager: SubscriptionManager | None = None
        self._changed = asyncio.Event()
        self._kick = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"<Subscription #{self.key} {self.meid} ranfunc {self.ran_function_id} "
            f"{self.state} sub_id={self.sub_id}>"
        )

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    def _set(self, state: str) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()
        if self._manager is not None:
            self._manager._update_gauge()

    async def wait_active(self, timeout: float | None = None) -> Subscription:
        """Wait until the subscription is active.

        Raises the last :class:`SubscriptionFailure` when it failed for good
        (``retry=False``), :class:`SubscriptionTimeout` (carrying the last
        error in its message) after ``timeout`` seconds, and
        :class:`SubscriptionError` when it was deleted.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self.state == ACTIVE:
                return self
            if self.state == FAILED:
                assert self.last_error is not None
                raise self.last_error
            if self.state in (DELETING, DELETED):
                raise SubscriptionError(f"subscription #{self.key} to {self.meid} was deleted")
            changed = self._changed
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                why = f": {self.last_error}" if self.last_error else ""
                raise SubscriptionTimeout(
                    f"subscription to {self.meid} (RAN function {self.ran_function_id}) "
                    f"not active after {timeout:g} s and {self.attempts} attempts{why}"
                )
            try:
                async with asyncio.timeout(left):
                    await changed.wait()
            except TimeoutError:
                continue

    async def unsubscribe(self) -> None:
        """Delete the subscription (at the RIC too) and stop delivering its indications."""
        if self._manager is not None:
            await self._manager.remove(self)


# ------------------------------------------------------------------------------- back ends


class SubscriptionBackend(ABC):
    """How subscriptions reach the RIC."""

    name = "abstract"
    manager: SubscriptionManager

    def bind(self, manager: SubscriptionManager) -> None:
        self.manager = manager

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Called when the app starts (ports are known)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Called when the app stops."""

    @abstractmethod
    async def subscribe(self, sub: Subscription) -> int:
        """Make the subscription; its sub_id, or raise SubscriptionError."""

    @abstractmethod
    async def unsubscribe(self, sub: Subscription, timeout: float) -> None:
        """Delete the subscription at the RIC; raise SubscriptionError if refused."""

    def on_message(self, msg: Message) -> bool:
        """Take an RMR message meant for the back end; False if it is not one."""
        return False

    @abstractmethod
    def held(self, sub: Subscription) -> bool:
        """True when the RIC may hold ``sub`` (so it must be deleted there)."""

    def forget(self, sub: Subscription) -> None:  # noqa: B027 - optional hook
        """Drop what the back end keeps for ``sub``."""


Send = Callable[[Message], Awaitable[int]]


class DirectBackend(SubscriptionBackend):
    """E2AP subscriptions over RMR, straight to the RIC (RIC-lite)."""

    name = "direct"

    def __init__(self, send: Send, ids: RequestIds, *, orphans: int = 256):
        self._send = send
        self.ids = ids
        self._waiting: dict[RicRequestId, asyncio.Future[Message]] = {}
        self._deleting: dict[RicRequestId, asyncio.Future[Message]] = {}
        self._active: dict[RicRequestId, Subscription] = {}
        #: requests given up (timed out): rid -> (meid, ran function), oldest first
        self._abandoned: OrderedDict[RicRequestId, tuple[str, int]] = OrderedDict()
        self._orphans = orphans
        self.orphans_deleted = 0

    async def subscribe(self, sub: Subscription) -> int:
        rid = self.ids.allocate()
        payload = RicSubscriptionRequest(
            rid, sub.ran_function_id, (sub.event_trigger, list(sub.actions))
        ).encode()
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        try:
            await self._send(Message(mtypes.RIC_SUB_REQ, payload, sub_id=-1, meid=sub.meid))
        except BaseException as exc:
            self._waiting.pop(rid, None)
            self.ids.release(rid)
            if isinstance(exc, SendError):
                raise SubscriptionError(f"cannot send the subscription request: {exc}") from None
            raise
        try:
            async with asyncio.timeout(sub.timeout):
                answer = await fut
        except TimeoutError:
            self._abandon(rid, sub)
            raise SubscriptionTimeout(
                f"no answer to the subscription request within {sub.timeout:g} s"
            ) from None
        except BaseException:
            self._abandon(rid, sub)  # cancelled: an answer may still come; delete it then
            raise
        self._waiting.pop(rid, None)
        if answer.mtype == mtypes.RIC_SUB_FAILURE:
            self.ids.release(rid)
            failure = parse(answer.payload)
            assert isinstance(failure, RicSubscriptionFailure)
            raise SubscriptionFailure(
                f"the RIC refused the subscription: {failure.cause}", cause=str(failure.cause)
            )
        response = parse(answer.payload)
        assert isinstance(response, RicSubscriptionResponse)
        if answer.sub_id < 0:
            self.ids.release(rid)
            raise SubscriptionFailure("the subscription response carries no subscription id")
        old = sub.request_id
        if old is not None and old != rid:
            self._active.pop(old, None)
            self.ids.release(old)
        sub.request_id = rid
        sub.admitted = list(response.admitted)
        sub.not_admitted = [(i, str(c)) for i, c in response.not_admitted or []]
        self._active[rid] = sub
        return answer.sub_id

    def _abandon(self, rid: RicRequestId, sub: Subscription) -> None:
        self._waiting.pop(rid, None)
        self._abandoned[rid] = (sub.meid, sub.ran_function_id)
        while len(self._abandoned) > self._orphans:
            old, _ = self._abandoned.popitem(last=False)
            self.ids.release(old)

    async def unsubscribe(self, sub: Subscription, timeout: float) -> None:
        rid, sub_id = sub.request_id, sub.sub_id
        if rid is None or sub_id is None:
            return
        payload = RicSubscriptionDeleteRequest(rid, sub.ran_function_id).encode()
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._deleting[rid] = fut
        try:
            try:
                await self._send(
                    Message(mtypes.RIC_SUB_DEL_REQ, payload, sub_id=sub_id, meid=sub.meid)
                )
            except SendError as exc:
                raise SubscriptionError(f"cannot send the delete request: {exc}") from None
            try:
                async with asyncio.timeout(timeout):
                    answer = await fut
            except TimeoutError:
                raise SubscriptionTimeout(
                    f"no answer to the delete request within {timeout:g} s"
                ) from None
        finally:
            if self._deleting.get(rid) is fut:
                del self._deleting[rid]
            self._active.pop(rid, None)
            self.ids.release(rid)
            sub.request_id = None
        if answer.mtype == mtypes.RIC_SUB_DEL_FAILURE:
            failure = parse(answer.payload)
            assert isinstance(failure, RicSubscriptionDeleteFailure)
            raise SubscriptionFailure(
                f"the RIC refused the delete: {failure.cause}", cause=str(failure.cause)
            )

    def held(self, sub: Subscription) -> bool:
        return sub.request_id is not None and sub.sub_id is not None

    def forget(self, sub: Subscription) -> None:
        if sub.request_id is not None:
            self._active.pop(sub.request_id, None)
            self.ids.release(sub.request_id)
            sub.request_id = None

    def on_message(self, msg: Message) -> bool:
        mt = msg.mtype
        if mt not in (
            mtypes.RIC_SUB_RESP,
            mtypes.RIC_SUB_FAILURE,
            mtypes.RIC_SUB_DEL_RESP,
            mtypes.RIC_SUB_DEL_FAILURE,
        ):
            return False
        try:
            pdu = parse(msg.payload)
        except DecodeError as exc:
            log.warning("xapp: dropped a malformed %s: %s", mtypes.name(mt), exc)
            return True
        rid = getattr(pdu, "request_id", None)
        expected = {
            mtypes.RIC_SUB_RESP: RicSubscriptionResponse,
            mtypes.RIC_SUB_FAILURE: RicSubscriptionFailure,
            mtypes.RIC_SUB_DEL_RESP: RicSubscriptionDeleteResponse,
            mtypes.RIC_SUB_DEL_FAILURE: RicSubscriptionDeleteFailure,
        }[mt]
        if not isinstance(pdu, expected) or not isinstance(rid, RicRequestId):
            log.warning("xapp: %s does not carry a %s", mtypes.name(mt), expected.__name__)
            return True
        table = (
            self._deleting
            if mt in (mtypes.RIC_SUB_DEL_RESP, mtypes.RIC_SUB_DEL_FAILURE)
            else (self._waiting)
        )
        fut = table.get(rid)
        if fut is not None and not fut.done():
            fut.set_result(msg)
            return True
        if mt == mtypes.RIC_SUB_RESP:
            self._unsolicited_response(rid, msg)
        elif mt == mtypes.RIC_SUB_FAILURE:
            self._abandoned.pop(rid, None)
            self.ids.release(rid)
        return True

    def _unsolicited_response(self, rid: RicRequestId, msg: Message) -> None:
        sub = self._active.get(rid)
        if sub is not None:  # the RIC re-established it (e.g. the node came back)
            if msg.sub_id >= 0 and msg.sub_id != sub.sub_id:
                log.info("xapp: subscription #%d now has sub_id %d (was %s)",
                         sub.key, msg.sub_id, sub.sub_id)  # fmt: skip
                self.manager._map(sub, msg.sub_id)
            return
        orphan = self._abandoned.pop(rid, None)
        if orphan is None or msg.sub_id < 0:
            log.info("xapp: ignored a subscription response for unknown request %s", rid)
            return
        meid, ran_function_id = orphan
        self.orphans_deleted += 1
        log.info("xapp: deleting subscription %d on %s: its response came too late",
                 msg.sub_id, meid)  # fmt: skip
        payload = RicSubscriptionDeleteRequest(rid, ran_function_id).encode()
        delete = Message(mtypes.RIC_SUB_DEL_REQ, payload, sub_id=msg.sub_id, meid=meid)
        task = asyncio.get_running_loop().create_task(self._send_quietly(delete, rid))
        self.manager._background.add(task)
        task.add_done_callback(self.manager._background.discard)

    async def _send_quietly(self, msg: Message, rid: RicRequestId) -> None:
        try:
            await self._send(msg)
        except SendError as exc:
            log.info("xapp: could not delete an orphan subscription: %s", exc)
        finally:
            self.ids.release(rid)


class RestBackend(SubscriptionBackend):
    """Subscriptions through the O-RAN SC subscription manager's REST API.

    ``url`` is submgr's base (``http://service-ricplt-submgr-http.ricplt:8088/ric/v1``);
    ``host`` is the name submgr calls back (the app's HTTP service). The app
    serves the notification at ``/ric/v1/subscriptions/response``.
    """

    name = "rest"
    NOTIFY_PATH = "/ric/v1/subscriptions/response"

    def __init__(
        self,
        url: str,
        *,
        host: str,
        http_port: Callable[[], int | None],
        rmr_port: Callable[[], int | None],
        request_timeout: float = 2.0,
        e2_timeout: int | None = None,
        e2_retries: int | None = None,
    ):
        self.url = url.rstrip("/")
        self.host = host
        self._http_port = http_port
        self._rmr_port = rmr_port
        self.request_timeout = request_timeout
        self.e2_timeout = e2_timeout
        self.e2_retries = e2_retries
        self._session: aiohttp.ClientSession | None = None
        self._event_ids = itertools.cycle(range(1, 0x10000))
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._by_event: dict[int, Subscription] = {}
        self.notifications = 0

    def attach(self, http: HttpServer) -> None:
        http.add_route("POST", self.NOTIFY_PATH, self._notified)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.request_timeout)
        )

    async def stop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _event_id(self, sub: Subscription) -> int:
        if sub.event_instance_id is None:
            for _ in range(0xFFFF):
                candidate = next(self._event_ids)
                if candidate not in self._by_event:
                    sub.event_instance_id = candidate
                    self._by_event[candidate] = sub
                    break
            else:
                raise SubscriptionError("all 65535 xApp event instance ids are in use")
        return sub.event_instance_id

    def params(self, sub: Subscription) -> dict[str, Any]:
        """The SubscriptionParams document for ``sub``."""
        actions = []
        for a in sub.actions:
            item: dict[str, Any] = {"ActionID": a.id, "ActionType": a.type}
            if a.definition is not None:
                item["ActionDefinition"] = list(a.definition)
            if a.subsequent_action is not None:
                item["SubsequentAction"] = {
                    "SubsequentActionType": a.subsequent_action,
                    "TimeToWait": a.time_to_wait or "zero",
                }
            actions.append(item)
        doc: dict[str, Any] = {
            "ClientEndpoint": {
                "Host": self.host,
                "HTTPPort": self._http_port() or 0,
                "RMRPort": self._rmr_port() or 0,
            },
            "Meid": sub.meid,
            "RANFunctionID": sub.ran_function_id,
            "SubscriptionDetails": [
                {
                    "XappEventInstanceId": self._event_id(sub),
                    "EventTriggers": list(sub.event_trigger),
                    "ActionToBeSetupList": actions,
                }
            ],
        }
        if sub.rest_id:
            doc["SubscriptionId"] = sub.rest_id
        if self.e2_timeout is not None or self.e2_retries is not None:
            doc["E2SubscriptionDirectives"] = {
                "E2TimeoutTimerValue": self.e2_timeout if self.e2_timeout is not None else 2,
                "E2RetryCount": self.e2_retries if self.e2_retries is not None else 2,
                "RMRRoutingNeeded": True,
            }
        return doc

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise SubscriptionError("the subscription back end is not started")
        return self._session

    async def subscribe(self, sub: Subscription) -> int:
        event_id = self._event_id(sub)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[event_id] = fut
        try:
            status, doc = await self._post(sub)
            if status == 404 and sub.rest_id:
                log.info("xapp: submgr forgot subscription %s; subscribing anew", sub.rest_id)
                sub.rest_id = None
                status, doc = await self._post(sub)
            if status not in (200, 201):
                text = doc.get("_text", "") if isinstance(doc, dict) else ""
                raise SubscriptionFailure(
                    f"submgr answered {status} to the subscription: {str(text)[:200]}",
                    cause=f"HTTP {status}",
                    source="SUBMGR",
                )
            rest_id = doc.get("SubscriptionId") if isinstance(doc, dict) else None
            if not isinstance(rest_id, str) or not rest_id:
                raise SubscriptionFailure("submgr's answer has no SubscriptionId", source="SUBMGR")
            sub.rest_id = rest_id
            try:
                async with asyncio.timeout(sub.timeout):
                    instance = await fut
            except TimeoutError:
                raise SubscriptionTimeout(
                    f"no notification from submgr within {sub.timeout:g} s"
                ) from None
        finally:
            if self._waiting.get(event_id) is fut:
                del self._waiting[event_id]
        return self._outcome(instance)

    @staticmethod
    def _outcome(instance: dict[str, Any]) -> int:
        cause = str(instance.get("ErrorCause") or "").strip()
        e2_id = instance.get("E2EventInstanceId")
        if cause or not isinstance(e2_id, int) or e2_id <= 0:
            source = str(instance.get("ErrorSource") or "")
            timeout = str(instance.get("TimeoutType") or "")
            detail = ", ".join(x for x in (cause or "no E2EventInstanceId", source, timeout) if x)
            if timeout:
                raise SubscriptionTimeout(f"submgr reports a timeout: {detail}")
            raise SubscriptionFailure(
                f"submgr reports a failed subscription: {detail}", cause=cause, source=source
            )
        return e2_id

    async def _post(self, sub: Subscription) -> tuple[int, dict[str, Any]]:
        url = f"{self.url}/subscriptions"
        try:
            async with self._http().post(url, json=self.params(sub)) as resp:
                text = await resp.text()
                try:
                    doc = await resp.json(content_type=None) if text.strip() else {}
                except ValueError:
                    doc = {}
                if not isinstance(doc, dict):
                    doc = {}
                doc.setdefault("_text", text)
                return resp.status, doc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SubscriptionError(
                f"cannot reach submgr at {url}: {str(exc) or type(exc).__name__}"
            ) from None

    async def unsubscribe(self, sub: Subscription, timeout: float) -> None:
        rest_id = sub.rest_id
        if not rest_id:
            return
        url = f"{self.url}/subscriptions/{rest_id}"
        try:
            async with self._http().delete(
                url, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SubscriptionError(
                f"cannot reach submgr at {url}: {str(exc) or type(exc).__name__}"
            ) from None
        sub.rest_id = None
        if status not in (200, 204, 404):
            raise SubscriptionFailure(
                f"submgr answered {status} to the delete: {text.strip()[:200]}",
                cause=f"HTTP {status}",
                source="SUBMGR",
            )

    def held(self, sub: Subscription) -> bool:
        return bool(sub.rest_id)

    def forget(self, sub: Subscription) -> None:
        if sub.event_instance_id is not None:
            self._by_event.pop(sub.event_instance_id, None)
            sub.event_instance_id = None

    async def _notified(self, request: web.Request) -> web.Response:
        try:
            doc = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        instances = doc.get("SubscriptionInstances") if isinstance(doc, dict) else None
        if not isinstance(instances, list):
            return web.json_response({"error": "SubscriptionInstances missing"}, status=400)
        self.notifications += 1
        rest_id = doc.get("SubscriptionId")
        for inst in instances:
            if not isinstance(inst, dict):
                continue
            event_id = inst.get("XappEventInstanceId")
            if not isinstance(event_id, int):
                continue
            fut = self._waiting.get(event_id)
            if fut is not None and not fut.done():
                fut.set_result(inst)
                continue
            sub = self._by_event.get(event_id)
            if sub is None or sub.state != ACTIVE or (sub.rest_id and rest_id != sub.rest_id):
                log.info("xapp: ignored a submgr notification for event %s", event_id)
                continue
            try:
                sub_id = self._outcome(inst)
            except SubscriptionError as exc:
                log.warning("xapp: submgr reports subscription #%d lost: %s", sub.key, exc)
                self.manager.resubscribe(sub.meid, subs=[sub])
                continue
            if sub_id != sub.sub_id:
                self.manager._map(sub, sub_id)
        return web.Response(status=200)


# ---------------------------------------------------------------------------------- manager


class SubscriptionManager:
    """Keeps the app's subscriptions alive and routes indications to them."""

    def __init__(
        self,
        backend: SubscriptionBackend,
        metrics: XAppMetrics,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        delete_timeout: float = 0.5,
    ):
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise InputError("backoff_initial must be > 0 and backoff_max >= backoff_initial")
        self.backend = backend
        self.metrics = metrics
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.delete_timeout = delete_timeout
        self.subs: dict[int, Subscription] = {}
        self.by_sub_id: dict[int, Subscription] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._running = False
        backend.bind(self)
        self._update_gauge()

    # -- app side ----------------------------------------------------------------------------
    async def start(self) -> None:
        await self.backend.start()
        self._running = True

    def add(self, sub: Subscription) -> Subscription:
        if not self._running:
            raise SubscriptionError("subscribe() needs a started app; call it from on_start")
        sub._manager = self
        self.subs[sub.key] = sub
        self._update_gauge()
        self._tasks[sub.key] = asyncio.get_running_loop().create_task(
            self._maintain(sub), name=f"subscription-{sub.key}-{sub.meid}"
        )
        return sub

    def resubscribe(self, meid: str | None = None, *, subs: Sequence[Subscription] | None = None
                    ) -> int:  # fmt: skip
        """Renew the subscriptions of ``meid`` (all when None): delete, then subscribe again.

        Pending ones retry at once instead of waiting out their backoff.
        Returns how many were renewed.
        """
        n = 0
        for sub in subs if subs is not None else list(self.subs.values()):
            if meid is not None and sub.meid != meid:
                continue
            if sub.state in (DELETING, DELETED, FAILED):
                continue
            sub._kick.set()
            n += 1
        if n:
            log.info("xapp: renewing %d subscription(s)%s", n, f" of {meid}" if meid else "")
        return n

    async def remove(self, sub: Subscription, timeout: float | None = None) -> None:
        if sub.key not in self.subs:
            return
        task = self._tasks.pop(sub.key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sub._set(DELETING)
        if self.backend.held(sub):
            try:
                await self.backend.unsubscribe(
                    sub, self.delete_timeout if timeout is None else timeout
                )
            except SubscriptionError as exc:
                log.warning("xapp: deleting subscription #%d on %s: %s", sub.key, sub.meid, exc)
        self._unmap(sub)
        self.backend.forget(sub)
        self.subs.pop(sub.key, None)
        sub._set(DELETED)

    async def stop(self, timeout: float) -> None:
        """Delete every subscription (all at once, at most ``timeout`` seconds)."""
        self._running = False
        subs = list(self.subs.values())
        if subs:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.gather(
                        *(self.remove(s, timeout) for s in subs), return_exceptions=True
                    )
            except TimeoutError:
                log.warning("xapp: gave up deleting subscriptions after %.2f s", timeout)
        for task in list(self._tasks.values()) + list(self._background):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), *self._background, return_exceptions=True)
        self._tasks.clear()
        for sub in list(self.subs.values()):
            self._unmap(sub)
            self.backend.forget(sub)
            sub._set(DELETED)
        self.subs.clear()
        await self.backend.stop()

    # -- indications -------------------------------------------------------------------------
    def lookup(self, msg: Message) -> Subscription | None:
        return self.by_sub_id.get(msg.sub_id) if msg.sub_id >= 0 else None

    def decode(self, sub: Subscription, msg: Message) -> Indication | None:
        try:
            e2 = require_indication(msg.payload)
        except DecodeError as exc:
            self.metrics.indication_errors.labels(self.metrics.app, "e2ap").inc()
            log.warning("xapp: dropped an undecodable indication on sub_id %d: %s",
                        msg.sub_id, exc)  # fmt: skip
            return None
        try:
            header, message = sub.model.decode(e2)
        except (DecodeError, InputError) as exc:
            self.metrics.indication_errors.labels(self.metrics.app, sub.model.name).inc()
            log.warning("xapp: indication on sub_id %d: %s payload does not decode: %s",
                        msg.sub_id, sub.model.name, exc)  # fmt: skip
            return None
        sub.indications += 1
        self.metrics.indications.labels(self.metrics.app, msg.meid or sub.meid).inc()
        return Indication(sub, msg.meid or sub.meid, msg.sub_id, e2, header, message, msg)

    # -- internals ---------------------------------------------------------------------------
    def _map(self, sub: Subscription, sub_id: int) -> None:
        if sub.sub_id is not None and self.by_sub_id.get(sub.sub_id) is sub:
            del self.by_sub_id[sub.sub_id]
        other = self.by_sub_id.get(sub_id)
        if other is not None and other is not sub:
            log.warning("xapp: sub_id %d moves from subscription #%d to #%d",
                        sub_id, other.key, sub.key)  # fmt: skip
        sub.sub_id = sub_id
        self.by_sub_id[sub_id] = sub

    def _unmap(self, sub: Subscription) -> None:
        if sub.sub_id is not None and self.by_sub_id.get(sub.sub_id) is sub:
            del self.by_sub_id[sub.sub_id]

    def _update_gauge(self) -> None:
        counts = dict.fromkeys(STATES, 0)
        for s in self.subs.values():
            counts[s.state] = counts.get(s.state, 0) + 1
        for state, n in counts.items():
            self.metrics.subscriptions.labels(self.metrics.app, state).set(n)

    async def _wait_kick(self, sub: Subscription, delay: float | None) -> None:
        try:
            async with asyncio.timeout(delay):
                await sub._kick.wait()
        except TimeoutError:
            pass

    async def _maintain(self, sub: Subscription) -> None:
        delay = self.backoff_initial
        while True:
            sub._kick.clear()
            # woken while active (node back, RIC restarted): renew, deleting the old first
            if sub.state == ACTIVE:
                try:
                    await self.backend.unsubscribe(sub, min(sub.timeout, self.delete_timeout))
                except SubscriptionError as exc:
                    log.info("xapp: old subscription #%d not deleted (%s); subscribing anew",
                             sub.key, exc)  # fmt: skip
                sub._set(PENDING)
            sub.attempts += 1
            try:
                sub_id = await self.backend.subscribe(sub)
            except SubscriptionError as exc:
                outcome = "timeout" if isinstance(exc, SubscriptionTimeout) else "failure"
                self.metrics.subscription_attempts.labels(self.metrics.app, outcome).inc()
                sub.last_error = exc
                if not sub.retry:
                    log.warning("xapp: subscription #%d to %s failed: %s",
                                sub.key, sub.meid, exc)  # fmt: skip
                    sub._set(FAILED)
                    return
                wait = delay * random.uniform(0.8, 1.2)
                log.info("xapp: subscription #%d to %s: %s; retry in %.2f s",
                         sub.key, sub.meid, exc, wait)  # fmt: skip
                sub._set(PENDING)
                await self._wait_kick(sub, wait)
                delay = min(self.backoff_max, delay * 2)
                continue
            self.metrics.subscription_attempts.labels(self.metrics.app, "success").inc()
            delay = self.backoff_initial
            sub.last_error = None
            self._map(sub, sub_id)
            sub._set(ACTIVE)
            log.info("xapp: subscription #%d to %s RAN function %d active, sub_id %d",
                     sub.key, sub.meid, sub.ran_function_id, sub_id)  # fmt: skip
            await sub._kick.wait()


async def call_handler(handler: Callable[..., Any], *args: Any) -> None:
    """Call a sync or async handler."""
    result = handler(*args)
    if inspect.isawaitable(result):
        await result
