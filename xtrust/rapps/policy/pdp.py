"""The policy decision point: identity + context + live risk -> Cedar -> decision.

Fail closed everywhere: an unknown subject, a Cedar evaluation error, an
exception anywhere in the PDP (a ledger that throws, a bad entity) are all a
deny with the cause in ``errors``. Cedar itself is default-deny: only a
matching ``permit`` with no matching ``forbid`` allows.
"""

from __future__ import annotations

import json
import operator
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cedarpy

from xtrust.errors import InputError
from xtrust.log import get_logger

from .cedar import PolicyBundle, default_bundle
from .model import RESOURCE_KINDS, SUBJECT_KINDS, AccessRequest, Decision, Resource, Subject
from .risk import RiskEngine

__all__ = ["Pdp"]

log = get_logger("rapps.policy.pdp")

_ACTION_TYPE = "XTrust::Action"
_ENTITY_CACHE_MAX = 65_536
_RESULT_CACHE_MAX = 65_536


def _policy_order(cedar_id: str) -> tuple[int, str]:
    digits = cedar_id.removeprefix("policy")
    return (int(digits), cedar_id) if digits.isdigit() else (1 << 30, cedar_id)


_Result = tuple[bool, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_HIGH_RISK = "deny-high-risk"
_HIGH_RISK_REASON = f"forbid {_HIGH_RISK}"
_CONTEXT_KEYS = ("risk", "risk_threshold", "ledger_state", "zone", "location", "hour")


@dataclass(frozen=True)
class _Snapshot:
    """The policy set and the caches that are valid for it, replaced as one."""

    bundle: PolicyBundle
    entities: dict[tuple[str, str, str], cedarpy.Entities]
    # Cedar results by (subject, action, resource, context attributes the policies
    # read): evaluation is a pure function of those, the entities and the policy set
    results: dict[tuple[Any, ...], _Result]
    key_of: Callable[[dict[str, Any]], Any]

    @classmethod
    def of(cls, bundle: PolicyBundle) -> _Snapshot:
        used = bundle.context_attrs
        names = _CONTEXT_KEYS if used is None else tuple(a for a in used if a in _CONTEXT_KEYS)
        if used is not None and bundle.risk_vs_threshold_only and "risk" in names:
            # the result depends on risk only through its order against the threshold
            rest = tuple(a for a in names if a != "risk")
            part = operator.itemgetter(*rest) if rest else (lambda _ctx: ())

            def key_of(ctx: dict[str, Any]) -> Any:
                r, thr = ctx["risk"], ctx["risk_threshold"]
                return (part(ctx), r >= thr, r > thr)

            return cls(bundle, {}, {}, key_of)
        getter = operator.itemgetter(*names) if names else (lambda _ctx: ())
        return cls(bundle, {}, {}, getter)


class Pdp:
    """``Pdp.authorize(request) -> Decision``; thread-safe for concurrent readers."""

    def __init__(
        self,
        bundle: PolicyBundle | None = None,
        *,
        risk: RiskEngine | None = None,
        subjects: Iterable[Subject] = (),
        threshold: int | None = None,
        cache_decisions: bool = True,
    ):
        self._snap = _Snapshot.of(bundle if bundle is not None else default_bundle())
        self.risk = risk if risk is not None else RiskEngine()
        self.threshold = int(threshold if threshold is not None else self.risk.config.threshold)
        self.subjects: dict[str, Subject] = {}
        self.quarantined: set[str] = set()
        # Cedar results by (subject, action, resource, context): evaluation is a pure
        # function of those, the entities and the policy set (cleared when they change)
        self.cache_decisions = cache_decisions
        self.cache_stats = {"hits": 0, "misses": 0}
        self._lock = threading.Lock()
        self.counters = {"allow": 0, "deny": 0, "error": 0}
        #: called with every decision (see :class:`xtrust.rapps.policy.service.JsonlAudit`)
        self.audit: Callable[[Decision], None] | None = None
        for s in subjects:
            self.add_subject(s)

    # ------------------------------------------------------------ state

    def add_subject(self, subject: Subject) -> None:
        with self._lock:
            self.subjects[subject.id] = subject
            self._snap = _Snapshot.of(self._snap.bundle)
        self.risk.invalidate(subject.id)

    def remove_subject(self, subject_id: str) -> None:
        with self._lock:
            self.subjects.pop(subject_id, None)
            self._snap = _Snapshot.of(self._snap.bundle)
        self.risk.invalidate(subject_id)

    def reload(self, bundle: PolicyBundle) -> None:
        """Swap the policy set (already validated by :func:`load_bundle`)."""
        with self._lock:
            # a new snapshot, not cleared caches: a decision in flight keeps its own
            self._snap = _Snapshot.of(bundle)

    @property
    def bundle(self) -> PolicyBundle:
        return self._snap.bundle

    def set_threshold(self, threshold: int) -> None:
        if not 0 <= threshold <= 100:
            raise InputError(f"risk threshold must be 0..100, not {threshold}")
        self.threshold = threshold

    def _entities_for(
        self,
        bundle: PolicyBundle,
        cache: dict[tuple[str, str, str], cedarpy.Entities],
        subject: Subject,
        resource: Resource,
    ) -> cedarpy.Entities:
        key = (subject.id, resource.kind, resource.id)
        ents = cache.get(key)
        if ents is not None:
            return ents
        docs = [subject.cedar_entity()]
        if not (resource.kind == subject.kind == "e2node" and resource.id == subject.id):
            other = self.subjects.get(resource.id) if resource.kind == "e2node" else None
            docs.append(
                other.cedar_entity()
                if other is not None and other.kind == "e2node"
                else resource.cedar_entity()
            )
        ents = cedarpy.Entities.from_json_str(json.dumps(docs), bundle.schema)
        if len(cache) >= _ENTITY_CACHE_MAX:
            cache.clear()
        cache[key] = ents
        return ents

    # ------------------------------------------------------------ decisions

    def authorize(self, request: AccessRequest | Mapping[str, Any]) -> Decision:
        """Decide; never raises (a failure is a deny that says why)."""
        try:
            req = (
                request if isinstance(request, AccessRequest) else AccessRequest.from_json(request)
            )
            decision = self._authorize(req)
        except Exception as exc:  # fail closed, whatever went wrong
            self.counters["error"] += 1
            msg = " ".join(str(exc).split()) or type(exc).__name__
            if not isinstance(exc, InputError):
                log.exception("PDP failure, denying: %s", msg)
            subject = getattr(request, "subject", "")
            return Decision(
                allowed=False,
                reasons=("the decision failed, so the request is denied (fail closed)",),
                risk=100,
                errors=(f"{type(exc).__name__}: {msg}",),
                subject=subject if isinstance(subject, str) else "",
            )
        self.counters["allow" if decision.allowed else "deny"] += 1
        if self.audit is not None:
            try:
                self.audit(decision)
            except Exception:  # auditing must not change the decision
                log.exception("audit sink failed")
        return decision

    def _authorize(self, req: AccessRequest) -> Decision:
        resource_name = f"{req.resource.kind}:{req.resource.id}"
        subject = self.subjects.get(req.subject)
        if subject is None:
            return Decision(
                allowed=False,
                reasons=(f"unknown subject {req.subject!r}: only registered subjects are trusted",),
                risk=100,
                subject=req.subject,
                action=req.action,
                resource=resource_name,
            )
        now = req.time if req.time is not None else time.time()
        zone = req.zone if req.zone is not None else subject.zone
        risk, factors, state = self.risk.assess(subject, zone=zone, location=req.location, now=now)
        quarantined = subject.id in self.quarantined
        ctx_risk = 100 if quarantined else risk
        ledger = (state or "").lower()
        location = req.location or ""
        hour = int(now // 3600 % 24)
        context = {
            "risk": ctx_risk,
            "risk_threshold": self.threshold,
            "ledger_state": ledger,
            "zone": zone,
            "location": location,
            "hour": hour,
        }
        # the Cedar result depends only on the context attributes the policies read
        snap = self._snap
        key = (subject.id, req.action, req.resource.kind, req.resource.id, snap.key_of(context))
        results = snap.results
        cached = results.get(key)
        if cached is None:
            self.cache_stats["misses"] += 1
            cached = self._evaluate(snap.bundle, snap.entities, subject, req, context)
            if self.cache_decisions:
                if len(results) >= _RESULT_CACHE_MAX:
                    results.clear()
                results[key] = cached
        else:
            self.cache_stats["hits"] += 1
        allowed, reasons, policy_ids, errors = cached
        if _HIGH_RISK in policy_ids:  # the numbers of this decision, not of the cached one
            reasons = tuple(
                f"{r} (risk {ctx_risk} >= threshold {self.threshold})"
                if r.startswith(_HIGH_RISK_REASON)
                else r
                for r in reasons
            )
        if quarantined:
            reasons = (*reasons, "the subject is on the quarantine list")
        return Decision(
            allowed=allowed,
            reasons=reasons,
            risk=risk,
            factors=factors,
            policy_ids=policy_ids,
            errors=errors,
            subject=subject.id,
            action=req.action,
            resource=resource_name,
        )

    def _evaluate(
        self,
        bundle: PolicyBundle,
        entities: dict[tuple[str, str, str], cedarpy.Entities],
        subject: Subject,
        req: AccessRequest,
        context: dict[str, Any],
    ) -> _Result:
        """One Cedar evaluation: (allowed, reasons, policy ids, errors)."""
        cedar_request = {
            "principal": {"type": SUBJECT_KINDS[subject.kind], "id": subject.id},
            "action": {"type": _ACTION_TYPE, "id": req.action},
            "resource": {"type": RESOURCE_KINDS[req.resource.kind], "id": req.resource.id},
            "context": json.dumps(context),
        }
        result = cedarpy.is_authorized(
            cedar_request,
            bundle.policies,
            self._entities_for(bundle, entities, subject, req.resource),
        )
        diag = result.diagnostics
        errors = tuple(diag.errors)
        allowed = result.allowed and not errors
        policy_ids: list[str] = []
        reasons: list[str] = []
        for pid in sorted(diag.reasons, key=_policy_order):
            info = bundle.explain(pid)
            policy_ids.append(info.id)
            text = f"{info.effect} {info.id}"
            if info.reason:
                text += f": {info.reason}"
            reasons.append(text)
        if errors:
            reasons.append("a policy failed to evaluate, so the request is denied (fail closed)")
        elif not allowed and not policy_ids:
            reasons.append("no policy permits this request (default deny)")
        return allowed, tuple(reasons), tuple(policy_ids), errors

    # ------------------------------------------------------------ views

    def risk_of(self, subject_id: str, now: float | None = None) -> dict[str, Any]:
        subject = self.subjects.get(subject_id)
        if subject is None:
            raise InputError(f"unknown subject {subject_id!r}")
        risk, factors, state = self.risk.assess(subject, now=now)
        return {
            "subject": subject_id,
            "kind": subject.kind,
            "risk": risk,
            "threshold": self.threshold,
            "ledger_state": state,
            "quarantined": subject_id in self.quarantined,
            "factors": [f.to_json() for f in factors],
        }

    def quarantine_list(self, now: float | None = None) -> list[str]:
        """Subjects at or above the threshold, plus those quarantined by hand."""
        out = set(self.quarantined)
        for sid, subject in list(self.subjects.items()):
            try:
                risk, _f, state = self.risk.assess(subject, now=now)
            except Exception:  # a subject whose risk cannot be computed is quarantined
                out.add(sid)
                continue
            if risk >= self.threshold or (state or "").lower() in ("suspended", "revoked"):
                out.add(sid)
        return sorted(out)
