"""RIC-lite enforcement points: the PDP as the control and subscription admission hooks.

A RIC Control request from xApp ``sender.xapp`` to RAN function
``ran_function_id`` of E2 node ``ran_name`` becomes the access request
``(subject=sender.xapp, action="control", resource=ran_function:<ran_name>/<id>)``;
an E2 subscription (over RMR or the submgr REST API) the same with
``action="subscribe"``.
A sender that is not a registered xApp is denied outright (zero trust: no
trust by network position).
"""

from __future__ import annotations

from xtrust.ric.platform.hooks import ControlRequestInfo, SubscriptionRequestInfo
from xtrust.ric.platform.hooks import Decision as HookDecision

from .model import AccessRequest, Decision, Resource
from .pdp import Pdp

__all__ = ["RiskAdmission"]


class RiskAdmission:
    """Implements ``xtrust.ric.platform.hooks.ControlAdmission``."""

    def __init__(self, pdp: Pdp, *, zone: str | None = None):
        self.pdp = pdp
        self.zone = zone
        self.last: Decision | None = None

    def request_of(self, request: ControlRequestInfo) -> AccessRequest | None:
        if not request.sender.xapp:
            return None
        return AccessRequest(
            subject=request.sender.xapp,
            action="control",
            resource=Resource.ran_function(request.ran_name, request.ran_function_id),
            zone=self.zone,
        )

    async def admit_subscription(self, request: SubscriptionRequestInfo) -> HookDecision:
        """RIC-lite's subscription admission: action ``subscribe`` on the RAN function."""
        if not request.sender.xapp:
            return HookDecision.deny(
                f"xtrust-policy: subscription from unregistered sender {request.sender.endpoint}"
            )
        try:
            access = AccessRequest(
                subject=request.sender.xapp,
                action="subscribe",
                resource=Resource.ran_function(request.ran_name, request.ran_function_id),
                zone=self.zone,
            )
        except Exception as exc:  # a malformed request is denied, never admitted
            return HookDecision.deny(f"xtrust-policy: bad subscription request: {exc}")
        decision = self.pdp.authorize(access)
        self.last = decision
        why = "; ".join(decision.reasons) or ("allowed" if decision.allowed else "denied")
        return HookDecision(decision.allowed, f"xtrust-policy: {why} (risk {decision.risk})")

    async def admit(self, request: ControlRequestInfo) -> HookDecision:
        try:
            access = self.request_of(request)
        except Exception as exc:  # a malformed request is denied, never admitted
            return HookDecision.deny(f"xtrust-policy: bad control request: {exc}")
        if access is None:
            return HookDecision.deny(
                f"xtrust-policy: control from unregistered sender {request.sender.endpoint}"
            )
        decision = self.pdp.authorize(access)
        self.last = decision
        why = "; ".join(decision.reasons) or ("allowed" if decision.allowed else "denied")
        reason = f"xtrust-policy: {why} (risk {decision.risk})"
        return HookDecision(decision.allowed, reason)
