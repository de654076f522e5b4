"""Subscription manager and control path of RIC-lite.

Subscriptions (RMR <-> E2AP, the conventions are in docs/ric-lite.md):

* an xApp sends RIC_SUB_REQ (12010) with an E2AP RICsubscriptionRequest, RMR
  meid = the node's RAN name. Identical requests (same node, RAN function,
  event trigger and actions) from several xApps are merged into one E2
  subscription; each xApp gets RIC_SUB_RESP (12011) echoing *its*
  RICrequestID, with the subscription id in the RMR sub_id;
* toward the node the RIC uses RICrequestID (requestor_id, subscription id);
  every RIC Indication of that subscription is forwarded unchanged to every
  subscriber as RIC_INDICATION (12050), RMR sub_id = subscription id;
* RIC_SUB_DEL_REQ (12020) removes one subscriber; the E2 subscription is
  deleted on the node when its last subscriber goes (deregistration, or an
  xApp that stays unreachable, counts as going);
* when a node reconnects, its subscriptions are requested again, with the
  same ids, so xApps keep receiving without doing anything.

Control: RIC_CONTROL_REQ (12040) goes through the admission hook, then
unchanged to the node; the node's acknowledge / failure goes back to the
requesting xApp as 12041 / 12042; no answer within ``node_timeout`` gives
a failure with cause control-timer-expired.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import DecodeError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.asn1.e2ap_fast import PduSummary
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    RicAction,
    RicControlFailure,
    RicControlRequest,
    RicRequestId,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    parse,
)
from xtrust.ric.rmr import Message

from .e2term import E2Termination, NodeSession
from .hooks import (
    AllowAllSubscriptions,
    ControlAdmission,
    ControlRequestInfo,
    Decision,
    SenderInfo,
    SubscriptionAdmission,
    SubscriptionRequestInfo,
)
from .outbox import Outboxes

__all__ = ["Subscription", "SubscriptionManager"]

log = get_logger("ric.platform.submgr")


@dataclass
class Subscriber:
    endpoint: str  # where indications go (the xApp's RMR listener)
    request_id: RicRequestId  # the xApp's own RICrequestID, echoed in answers
    #: REST subscribers (submgr API) are told the outcome by this callback
    #: (subscription id, None on success or the failure cause) instead of by RMR
    notify: Callable[[int, Cause | None], None] | None = None


@dataclass
class Subscription:
    sub_id: int
    ran_name: str
    ran_function_id: int
    event_trigger: bytes
    actions: tuple[RicAction, ...]
    state: str = "pending"  # pending -> active -> deleting; "resubscribing" after a node restart
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    waiters: list[Subscriber] = field(default_factory=list)
    delete_waiters: list[Subscriber] = field(default_factory=list)
    admitted: list[int] = field(default_factory=list)
    not_admitted: list[tuple[int, Cause]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    indications: int = 0

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.ran_name, self.ran_function_id, self.event_trigger, self.actions)


@dataclass
class PendingControl:
    endpoint: str
    timer: asyncio.TimerHandle


class SubscriptionManager:
    def __init__(
        self,
        e2t: E2Termination,
        out: Outboxes,
        *,
        requestor_id: int,
        node_timeout: float,
        admission: ControlAdmission,
        subscription_admission: SubscriptionAdmission | None = None,
    ):
        self.e2t = e2t
        self.out = out
        self.requestor_id = requestor_id
        self.node_timeout = node_timeout
        self.admission = admission
        self.subscription_admission: SubscriptionAdmission = (
            subscription_admission or AllowAllSubscriptions()
        )
        #: who is behind an RMR endpoint (REST subscribers name only their endpoint)
        self.sender_at: Callable[[str], SenderInfo] = lambda endpoint: SenderInfo(endpoint, None)
        self.subs: dict[int, Subscription] = {}
        self.by_key: dict[tuple[Any, ...], Subscription] = {}
        self.controls: dict[tuple[str, int, int, int], PendingControl] = {}
        #: called with every RIC Control request that reached admission and its decision
        self.on_control_event: Callable[[ControlRequestInfo, Decision], None] | None = None
        self.counters: dict[str, int] = {}
        self._next_id = 1

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    # ------------------------------------------------------------ helpers

    def _allocate(self) -> int:
        for _ in range(0xFFFF):
            sub_id = self._next_id
            self._next_id = self._next_id % 0xFFFF + 1
            if sub_id not in self.subs:
                return sub_id
        raise DecodeError("no free subscription id (65535 in use)")

    def _reply(self, endpoint: str, mtype: int, payload: bytes, sub_id: int, meid: str) -> None:
        self.out.put(endpoint, Message(mtype, payload, sub_id=sub_id, meid=meid))

    def _fail(
        self, s: Subscriber, ran_function_id: int, cause: Cause, sub_id: int, meid: str
    ) -> None:
        self.count("subscription_failures")
        if s.notify is not None:
            s.notify(sub_id, cause)
            return
        payload = RicSubscriptionFailure(s.request_id, ran_function_id, cause).encode()
        self._reply(s.endpoint, mtypes.RIC_SUB_FAILURE, payload, sub_id, meid)

    def _node_request(self, sub: Subscription) -> bytes:
        return RicSubscriptionRequest(
            RicRequestId(self.requestor_id, sub.sub_id),
            sub.ran_function_id,
            (sub.event_trigger, list(sub.actions)),
        ).encode()

    def _arm(self, sub: Subscription) -> None:
        if sub.timer is not None:
            sub.timer.cancel()
        sub.timer = asyncio.get_running_loop().call_later(
            self.node_timeout, self._timed_out, sub.sub_id
        )

    def _drop(self, sub: Subscription) -> None:
        if sub.timer is not None:
            sub.timer.cancel()
        self.subs.pop(sub.sub_id, None)
        if self.by_key.get(sub.key) is sub:
            del self.by_key[sub.key]

    # ------------------------------------------------------------ from xApps

    async def on_subscribe(self, msg: Message, sender: SenderInfo) -> None:
        try:
            req = parse(msg.payload)
        except DecodeError as exc:
            self.count("malformed_from_xapp")
            log.warning("malformed subscription request from %s: %s", sender.endpoint, exc)
            return
        if not isinstance(req, RicSubscriptionRequest):
            self.count("malformed_from_xapp")
            return
        await self.subscribe(msg.meid, req, Subscriber(sender.endpoint, req.request_id), sender)

    async def subscribe(
        self,
        meid: str,
        req: RicSubscriptionRequest,
        subscriber: Subscriber,
        sender: SenderInfo | None = None,
    ) -> None:
        """Add ``subscriber`` to the E2 subscription ``req`` describes on node ``meid``
        (merging with an identical one); the subscriber is answered when it is known."""
        fid = req.ran_function_id
        node = self.e2t.nodes.get(meid)
        if node is None or not node.connected:
            self._fail(subscriber, fid, Cause("ricRequest", "system-not-ready"), -1, meid)
            return
        if fid not in node.functions:
            self._fail(subscriber, fid, Cause("ricRequest", "ran-function-id-invalid"), -1, meid)
            return
        who = sender if sender is not None else self.sender_at(subscriber.endpoint)
        decision = await self.subscription_admission.admit_subscription(
            SubscriptionRequestInfo(who, node.ran_name, fid, node.function_oid(fid))
        )
        if not decision.allowed:
            self.count("subscriptions_denied")
            log.warning("subscription of %s to %s function %d denied: %s",
                        who.xapp or who.endpoint, node.ran_name, fid, decision.reason)  # fmt: skip
            self._fail(subscriber, fid, Cause("misc", "om-intervention"), -1, meid)
            return
        key = (node.ran_name, fid, req.event_trigger, tuple(req.actions))
        sub = self.by_key.get(key)
        if sub is not None and sub.state == "active":
            sub.subscribers[subscriber.endpoint] = subscriber
            self.count("subscriptions_merged")
            self._answer(sub, subscriber)
            return
        if sub is not None and sub.state in ("pending", "resubscribing"):
            sub.waiters.append(subscriber)
            self.count("subscriptions_merged")
            return
        sub = Subscription(
            self._allocate(), node.ran_name, fid, req.event_trigger, tuple(req.actions)
        )
        sub.waiters.append(subscriber)
        self.subs[sub.sub_id] = sub
        self.by_key[key] = sub
        self._arm(sub)
        self.count("subscriptions_requested")
        try:
            await node.send(self._node_request(sub))
        except Exception as exc:
            log.warning("cannot send subscription to %s: %s", node.ran_name, exc)
            self._drop(sub)
            self._fail(subscriber, fid, Cause("ricRequest", "system-not-ready"), -1, meid)

    def _answer(self, sub: Subscription, s: Subscriber) -> None:
        if s.notify is not None:
            s.notify(sub.sub_id, None)
            return
        payload = RicSubscriptionResponse(
            s.request_id,
            sub.ran_function_id,
            list(sub.admitted) or [0],
            list(sub.not_admitted) or None,
        ).encode()
        self._reply(s.endpoint, mtypes.RIC_SUB_RESP, payload, sub.sub_id, sub.ran_name)

    async def on_unsubscribe(self, msg: Message, sender: SenderInfo) -> None:
        try:
            req = parse(msg.payload)
        except DecodeError:
            self.count("malformed_from_xapp")
            return
        if not isinstance(req, RicSubscriptionDeleteRequest):
            self.count("malformed_from_xapp")
            return
        sub = self.subs.get(msg.sub_id)
        if sub is None or sender.endpoint not in sub.subscribers:
            payload = RicSubscriptionDeleteFailure(
                req.request_id, req.ran_function_id, Cause("ricRequest", "request-id-unknown")
            ).encode()
            self._reply(sender.endpoint, mtypes.RIC_SUB_DEL_FAILURE, payload, msg.sub_id, msg.meid)
            return
        del sub.subscribers[sender.endpoint]
        subscriber = Subscriber(sender.endpoint, req.request_id)
        if sub.subscribers:
            self._delete_answer(sub, subscriber)
            return
        sub.delete_waiters.append(subscriber)
        await self._delete_on_node(sub)

    async def remove(self, sub_id: int, endpoint: str) -> bool:
        """Take ``endpoint`` off subscription ``sub_id`` (deleting it on the node when it
        was the last subscriber); False when it was not subscribed."""
        sub = self.subs.get(sub_id)
        if sub is None or endpoint not in sub.subscribers:
            return False
        del sub.subscribers[endpoint]
        if not sub.subscribers and sub.state == "active":
            await self._delete_on_node(sub)
        return True

    def _delete_answer(self, sub: Subscription, s: Subscriber) -> None:
        payload = RicSubscriptionDeleteResponse(s.request_id, sub.ran_function_id).encode()
        self._reply(s.endpoint, mtypes.RIC_SUB_DEL_RESP, payload, sub.sub_id, sub.ran_name)

    async def _delete_on_node(self, sub: Subscription) -> None:
        sub.state = "deleting"
        node = self.e2t.nodes.get(sub.ran_name)
        if node is None or not node.connected:
            self._finish_delete(sub)
            return
        self._arm(sub)
        try:
            await node.send(
                RicSubscriptionDeleteRequest(
                    RicRequestId(self.requestor_id, sub.sub_id), sub.ran_function_id
                ).encode()
            )
        except Exception:
            self._finish_delete(sub)

    def _finish_delete(self, sub: Subscription) -> None:
        for s in sub.delete_waiters:
            self._delete_answer(sub, s)
        sub.delete_waiters.clear()
        self._drop(sub)
        self.count("subscriptions_deleted")

    def forget_endpoint(self, endpoint: str) -> None:
        """An xApp went away (deregistered, or unreachable): drop it everywhere."""
        for sub in list(self.subs.values()):
            sub.waiters = [w for w in sub.waiters if w.endpoint != endpoint]
            gone = sub.subscribers.pop(endpoint, None) is not None
            if gone and not sub.subscribers and sub.state == "active":
                asyncio.get_running_loop().create_task(self._delete_on_node(sub))
        for key, pending in list(self.controls.items()):
            if pending.endpoint == endpoint:
                pending.timer.cancel()
                del self.controls[key]

    # ------------------------------------------------------------ from E2 nodes

    def on_indication(self, node: NodeSession, pdu: bytes, summary: PduSummary) -> None:
        req = summary.request_id
        sub = self.subs.get(req.instance_id) if req is not None else None
        if sub is None or sub.ran_name != node.ran_name or sub.state != "active":
            self.count("indications_unmatched")
            return
        sub.indications += 1
        put = self.out.put
        for endpoint in sub.subscribers:
            put(
                endpoint, Message(mtypes.RIC_INDICATION, pdu, sub_id=sub.sub_id, meid=node.ran_name)
            )

    async def on_outcome(self, node: NodeSession, pdu: bytes, summary: PduSummary) -> None:
        code, kind = summary.procedure_code, summary.kind
        if code == 4:
            self._control_outcome(node, pdu, summary)
            return
        req = summary.request_id
        sub = self.subs.get(req.instance_id) if req is not None else None
        if sub is None or sub.ran_name != node.ran_name:
            self.count("outcomes_unmatched")
            return
        if code == 8:
            msg = parse(pdu)
            if sub.timer is not None:
                sub.timer.cancel()
            if kind == "successfulOutcome" and isinstance(msg, RicSubscriptionResponse):
                sub.admitted = msg.admitted
                sub.not_admitted = msg.not_admitted or []
                resub = sub.state == "resubscribing"
                sub.state = "active"
                for s in sub.waiters:
                    sub.subscribers[s.endpoint] = s
                    self._answer(sub, s)
                sub.waiters.clear()
                self.count("subscriptions_restored" if resub else "subscriptions_active")
            elif isinstance(msg, RicSubscriptionFailure):
                log.warning(
                    "E2 node %s refused subscription %d: %s", node.ran_name, sub.sub_id, msg.cause
                )
                for s in [*sub.waiters, *sub.subscribers.values()]:
                    self._fail(s, sub.ran_function_id, msg.cause, sub.sub_id, sub.ran_name)
                self._drop(sub)
        elif code == 9 and sub.state == "deleting":
            self._finish_delete(sub)

    def _timed_out(self, sub_id: int) -> None:
        sub = self.subs.get(sub_id)
        if sub is None:
            return
        self.count("node_timeouts")
        if sub.state == "deleting":
            self._finish_delete(sub)
            return
        if sub.state in ("pending", "resubscribing"):
            log.warning("E2 node %s did not answer subscription %d", sub.ran_name, sub_id)
            for s in [*sub.waiters, *sub.subscribers.values()]:
                cause = Cause("ricRequest", "unspecified")
                self._fail(s, sub.ran_function_id, cause, sub_id, sub.ran_name)
            self._drop(sub)

    async def on_node_up(self, node: NodeSession) -> None:
        for sub in list(self.subs.values()):
            if sub.ran_name != node.ran_name or sub.state not in ("active", "resubscribing"):
                continue
            if sub.ran_function_id not in node.functions:
                continue
            sub.state = "resubscribing"  # subscribers stay; they are not answered again
            self._arm(sub)
            try:
                await node.send(self._node_request(sub))
            except Exception as exc:
                log.warning("cannot resubscribe %d on %s: %s", sub.sub_id, node.ran_name, exc)

    async def on_node_down(self, node: NodeSession) -> None:
        for key in [k for k in self.controls if k[0] == node.ran_name]:
            self._control_failed(node.ran_name, key, Cause("ricRequest", "system-not-ready"))

    # ------------------------------------------------------------ control

    async def on_control(self, msg: Message, sender: SenderInfo) -> None:
        try:
            req = parse(msg.payload)
        except DecodeError:
            self.count("malformed_from_xapp")
            return
        if not isinstance(req, RicControlRequest):
            self.count("malformed_from_xapp")
            return
        key = (
            msg.meid,
            req.request_id.requestor_id,
            req.request_id.instance_id,
            req.ran_function_id,
        )
        node = self.e2t.nodes.get(msg.meid)

        def fail(cause: Cause) -> None:
            payload = RicControlFailure(req.request_id, req.ran_function_id, cause).encode()
            self._reply(sender.endpoint, mtypes.RIC_CONTROL_FAILURE, payload, msg.sub_id, msg.meid)

        if node is None or not node.connected:
            fail(Cause("ricRequest", "system-not-ready"))
            return
        if key in self.controls:
            fail(Cause("ricRequest", "duplicate-ric-request-id"))
            return
        info = ControlRequestInfo(
            sender,
            node.ran_name,
            req.ran_function_id,
            node.function_oid(req.ran_function_id),
            req.header,
            req.message,
        )
        decision = await self.admission.admit(info)
        if self.on_control_event is not None:
            try:
                self.on_control_event(info, decision)
            except Exception:  # a listener's bug must not stop the control path
                log.exception("control event listener failed")
        if not decision.allowed:
            self.count("controls_denied")
            log.warning(
                "control from %s to %s denied: %s",
                sender.xapp or sender.endpoint,
                node.ran_name,
                decision.reason,
            )
            fail(Cause("misc", "om-intervention"))
            return
        if req.ack_request != "noAck":
            timer = asyncio.get_running_loop().call_later(
                self.node_timeout, self._control_timeout, key
            )
            self.controls[key] = PendingControl(sender.endpoint, timer)
        self.count("controls_forwarded")
        try:
            await node.send(msg.payload)
        except Exception:
            pending = self.controls.pop(key, None)
            if pending is not None:
                pending.timer.cancel()
            fail(Cause("ricRequest", "system-not-ready"))

    def _control_outcome(self, node: NodeSession, pdu: bytes, summary: PduSummary) -> None:
        req = summary.request_id
        if req is None or summary.ran_function_id is None:
            self.count("outcomes_unmatched")
            return
        key = (node.ran_name, req.requestor_id, req.instance_id, summary.ran_function_id)
        pending = self.controls.pop(key, None)
        if pending is None:
            self.count("outcomes_unmatched")
            return
        pending.timer.cancel()
        ok = summary.kind == "successfulOutcome"
        self.count("controls_acknowledged" if ok else "controls_failed")
        mtype = mtypes.RIC_CONTROL_ACK if ok else mtypes.RIC_CONTROL_FAILURE
        self._reply(pending.endpoint, mtype, pdu, -1, node.ran_name)

    def _control_timeout(self, key: tuple[str, int, int, int]) -> None:
        if key in self.controls:
            self.count("control_timeouts")
            self._control_failed(key[0], key, Cause("ricRequest", "control-timer-expired"))

    def _control_failed(self, ran: str, key: tuple[str, int, int, int], cause: Cause) -> None:
        pending = self.controls.pop(key, None)
        if pending is None:
            return
        with contextlib.suppress(Exception):
            pending.timer.cancel()
        payload = RicControlFailure(RicRequestId(key[1], key[2]), key[3], cause).encode()
        self._reply(pending.endpoint, mtypes.RIC_CONTROL_FAILURE, payload, -1, ran)
