"""Plug points of RIC-lite: where micro-segmentation and the zero-trust engine go.

Two decisions are taken on every message, each by a replaceable object:

* :class:`RoutingPolicy` - may this sender send this RMR message type to the
  RIC? The default enforces the route table that RIC-lite built from the
  registered xApps' descriptors (``txMessages``).
* :class:`ControlAdmission` - may this xApp send this RIC Control request to
  this E2 node? The default admits everything; the segmentation xApp and the
  risk engine replace it.

Both return a :class:`Decision` with a reason that ends up in logs, counters
and the failure sent back, so that a denial can always be explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AllOf",
    "AllowAllControl",
    "AllowAllSubscriptions",
    "ControlAdmission",
    "ControlRequestInfo",
    "Decision",
    "RoutingPolicy",
    "SenderInfo",
    "SubscriptionAdmission",
    "SubscriptionRequestInfo",
]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""

    @classmethod
    def allow(cls, reason: str = "") -> Decision:
        return cls(True, reason)

    @classmethod
    def deny(cls, reason: str) -> Decision:
        return cls(False, reason)


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """Who sent an RMR message: its RMR source and, if registered, the xApp."""

    endpoint: str  # "ip:port" of the sender's RMR listener (or "host:port")
    xapp: str | None  # registered instance name, None when unknown


@dataclass(frozen=True, slots=True)
class ControlRequestInfo:
    """A RIC Control request as the admission hook sees it."""

    sender: SenderInfo
    ran_name: str
    ran_function_id: int
    ran_function_oid: str | None
    header: bytes
    message: bytes


@dataclass(frozen=True, slots=True)
class SubscriptionRequestInfo:
    """An E2 subscription request as the admission hook sees it (RMR or REST)."""

    sender: SenderInfo
    ran_name: str
    ran_function_id: int
    ran_function_oid: str | None


class RoutingPolicy(Protocol):
    def allow(self, sender: SenderInfo, mtype: int) -> Decision:
        """May ``sender`` send RMR messages of type ``mtype`` to the RIC?"""
        ...


class ControlAdmission(Protocol):
    async def admit(self, request: ControlRequestInfo) -> Decision:
        """May this control request go to the E2 node?"""
        ...


class SubscriptionAdmission(Protocol):
    async def admit_subscription(self, request: SubscriptionRequestInfo) -> Decision:
        """May this app subscribe to this RAN function of this E2 node?"""
        ...


class AllowAllSubscriptions:
    """The default: every subscription to a known node and function goes through."""

    async def admit_subscription(self, request: SubscriptionRequestInfo) -> Decision:
        return Decision.allow("no subscription admission policy configured")


class AllOf:
    """A control admission that asks several in turn: the first denial wins.

    For example segmentation (may this app control this node at all?) then a
    risk-based policy engine (is this app trustworthy right now?).
    """

    def __init__(self, *admissions: Any) -> None:
        self.admissions = list(admissions)

    async def admit(self, request: ControlRequestInfo) -> Decision:
        reasons = []
        for admission in self.admissions:
            decision = await admission.admit(request)
            if not decision.allowed:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision.allow("; ".join(reasons))

    async def admit_subscription(self, request: SubscriptionRequestInfo) -> Decision:
        """The same for subscriptions, over the admissions that judge them."""
        reasons = []
        for admission in self.admissions:
            judge = getattr(admission, "admit_subscription", None)
            if judge is None:
                continue
            decision = await judge(request)
            if not decision.allowed:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision.allow("; ".join(reasons))


class AllowAllControl:
    """The default admission: every well-formed control request goes through."""

    async def admit(self, request: ControlRequestInfo) -> Decision:
        return Decision.allow("no admission policy configured")
