"""The risk score: 0-100 per subject, explained factor by factor.

Factors (each a :class:`~xtrust.rapps.policy.model.Factor` with a score and why):

``threat_intel``
    STIX indicators matching the subject (image digest, addresses, CVE ids,
    software): ``max_i w_i + 10 * (n - 1)``, capped at 100, where
    ``w_i = 50 + 0.4 * confidence_i`` (confidence 75 when the indicator has none).
``vulnerability``
    findings of category ``vulnerability`` in the subject's certify report
    (``report.json``): critical 25, high 15, medium 5, low 1, info 0 points
    each, capped at 60.
``ledger``
    the ledger state from a pluggable :class:`LedgerState`: ``suspended`` or
    ``revoked`` is 100 (and the Cedar policy ``deny-ledger-suspended-or-revoked``
    denies outright); an xApp or rApp not on the ledger (``None``) is
    ``unregistered`` points (default 20; E2 nodes and operators may be absent
    from it at no cost); any other state (approved, deployed...) is 0.
``behaviour``
    alerts from the security xApps, decaying with a half-life (see
    :mod:`.alerts`), capped at 100.
``context``
    where and when the request comes from: ``zone_risk[zone]`` (unknown zone:
    ``unknown_zone``), ``off_hours`` points outside ``business_hours`` (UTC) for
    operators, ``unknown_location`` points when ``locations`` is set and the
    request's location is not in it.

The score is the sum of the factors, capped at 100 and rounded to an integer.
Subject-static factors (threat intel, vulnerability) are cached per subject and
recomputed only when the indicator store or the subject changes, or an
indicator's validity window opens or closes; the ledger answer is cached for
``ledger_ttl`` seconds; behaviour is an O(1) decayed accumulator.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from xtrust.errors import InputError
from xtrust.rapps.ti.store import IndicatorStore

from .alerts import BehaviourTracker
from .model import Factor, Subject

__all__ = [
    "CallableLedgerState",
    "DictLedgerState",
    "LedgerState",
    "RiskConfig",
    "RiskEngine",
    "VulnPosture",
    "read_certify_report",
]

DENY_STATES = frozenset({"suspended", "revoked"})
APP_KINDS = frozenset({"xapp", "rapp"})
VULN_POINTS = {"critical": 25.0, "high": 15.0, "medium": 5.0, "moderate": 5.0, "low": 1.0}


_NO_ALERTS = Factor("behaviour", 0.0, "no alerts")


@runtime_checkable
class LedgerState(Protocol):
    """Where the ledger plugs in: the app's state on the ledger, or None if unknown."""

    def state(self, subject: str) -> str | None: ...


class CallableLedgerState:
    """Adapts a plain function ``subject -> state | None`` to :class:`LedgerState`."""

    def __init__(self, fn: Callable[[str], str | None]):
        self.fn = fn

    def state(self, subject: str) -> str | None:
        return self.fn(subject)


class DictLedgerState:
    """A ledger view held in memory (configuration, tests, or a ledger adapter's cache)."""

    def __init__(self, states: Mapping[str, str] | None = None):
        self.states: dict[str, str] = dict(states or {})

    def state(self, subject: str) -> str | None:
        return self.states.get(subject)


@dataclass(frozen=True)
class VulnPosture:
    """Vulnerability findings of one subject, by severity."""

    counts: Mapping[str, int]
    ids: tuple[str, ...] = ()
    source: str = ""

    def points(self, cap: float = 60.0) -> float:
        return min(cap, sum(VULN_POINTS.get(sev, 0.0) * n for sev, n in self.counts.items()))


def read_certify_report(path: str | Path) -> VulnPosture:
    """Read a certify ``report.json``: ``{"findings": [{"severity", "category", "id"?}...]}``.

    Only findings whose ``category`` is ``vulnerability`` count. Severity names
    are case-insensitive; unknown severities count 0 points.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read certify report {p}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"certify report {p} is not JSON: {exc}") from None
    return vuln_posture(doc, source=str(p))


def vuln_posture(doc: Any, *, source: str = "report") -> VulnPosture:
    findings = doc.get("findings") if isinstance(doc, Mapping) else None
    if not isinstance(findings, list):
        raise InputError(f"{source}: a certify report needs a 'findings' list")
    counts: dict[str, int] = {}
    ids: list[str] = []
    for f in findings:
        if not isinstance(f, Mapping) or str(f.get("category", "")).lower() != "vulnerability":
            continue
        sev = str(f.get("severity", "")).lower()
        counts[sev] = counts.get(sev, 0) + 1
        for key in ("id", "vulnerability_id", "cve"):
            v = f.get(key)
            if isinstance(v, str) and v.upper().startswith("CVE-"):
                ids.append(v.upper())
        for alias in f.get("aliases") or ():
            if isinstance(alias, str) and alias.upper().startswith("CVE-"):
                ids.append(alias.upper())
    return VulnPosture(counts, tuple(sorted(set(ids))), source)


@dataclass
class RiskConfig:
    threshold: int = 70
    unregistered: float = 20.0
    ledger_ttl: float = 1.0
    zone_risk: dict[str, float] = field(
        default_factory=lambda: {
            "core": 0.0,
            "ric": 0.0,
            "mgmt": 0.0,
            "edge": 5.0,
            "external": 30.0,
        }
    )
    unknown_zone: float = 10.0
    business_hours: tuple[int, int] = (6, 20)
    off_hours: float = 10.0
    locations: tuple[str, ...] = ()
    unknown_location: float = 15.0
    vuln_cap: float = 60.0
    half_life: float = 900.0


@dataclass
class _Static:
    version: int
    expires: float
    ti: Factor
    vuln: Factor


class RiskEngine:
    def __init__(
        self,
        config: RiskConfig | None = None,
        *,
        store: IndicatorStore | None = None,
        ledger: LedgerState | Callable[[str], str | None] | None = None,
        behaviour: BehaviourTracker | None = None,
    ):
        self.config = config or RiskConfig()
        self.store = store if store is not None else IndicatorStore()
        if ledger is not None and not isinstance(ledger, LedgerState):
            ledger = CallableLedgerState(ledger)
        self.ledger: LedgerState | None = ledger
        self.behaviour = (
            behaviour
            if behaviour is not None
            else BehaviourTracker(half_life=self.config.half_life)
        )
        self.vulns: dict[str, VulnPosture] = {}
        self._static: dict[str, _Static] = {}
        self._ledger_cache: dict[str, tuple[float, str | None]] = {}
        self._factor_cache: dict[tuple[Any, ...], Factor] = {}
        self._lock = threading.Lock()

    def set_vulns(self, subject: str, posture: VulnPosture) -> None:
        self.vulns[subject] = posture
        self._static.pop(subject, None)

    def invalidate(self, subject: str | None = None) -> None:
        self._factor_cache.clear()
        if subject is None:
            self._static.clear()
            self._ledger_cache.clear()
        else:
            self._static.pop(subject, None)
            self._ledger_cache.pop(subject, None)

    # ------------------------------------------------------------ factors

    def _static_factors(self, subject: Subject, now: float) -> _Static:
        cached = self._static.get(subject.id)
        version = self.store.version
        if cached is not None and cached.version == version and now < cached.expires:
            return cached
        posture = self.vulns.get(subject.id)
        extra_cves = posture.ids if posture else ()
        matches = self.store.match(subject.observables(extra_cves), now)
        if matches:
            weights = sorted(
                (50.0 + 0.4 * (m.confidence if m.confidence is not None else 75) for m in matches),
                reverse=True,
            )
            score = min(100.0, weights[0] + 10.0 * (len(weights) - 1))
            ti = Factor(
                "threat_intel",
                score,
                f"{len(matches)} threat-intelligence indicator(s) match",
                tuple(m.to_json() for m in matches),
            )
        else:
            ti = Factor("threat_intel", 0.0, f"no match among {len(self.store)} indicators")
        if posture is None:
            vuln = Factor("vulnerability", 0.0, "no certify report")
        else:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(posture.counts.items())) or "none"
            vuln = Factor(
                "vulnerability",
                posture.points(self.config.vuln_cap),
                f"vulnerability findings: {counts}",
                (posture.source,) if posture.source else (),
            )
        expires = now + 60.0
        for m in matches:
            if m.valid_until is not None:
                expires = min(expires, m.valid_until)
        nxt = self.store.next_transition(now)
        if nxt is not None:
            expires = min(expires, nxt)
        entry = _Static(version, expires, ti, vuln)
        self._static[subject.id] = entry
        return entry

    def ledger_state(self, subject: str, now: float) -> str | None:
        if self.ledger is None:
            return None
        cached = self._ledger_cache.get(subject)
        if cached is not None and now - cached[0] < self.config.ledger_ttl:
            return cached[1]
        state = self.ledger.state(subject)
        if state is not None and not isinstance(state, str):
            raise TypeError(f"LedgerState.state returned {type(state).__name__}, not str")
        self._ledger_cache[subject] = (now, state)
        return state

    def _ledger_factor(self, subject: Subject, state: str | None) -> Factor:
        if self.ledger is None:
            return Factor("ledger", 0.0, "no ledger configured")
        if state is None:
            if subject.kind not in APP_KINDS:  # the ledger approves apps; others may be absent
                return Factor("ledger", 0.0, "not on the ledger (not an app)")
            return Factor("ledger", self.config.unregistered, "not on the ledger")
        if state.lower() in DENY_STATES:
            return Factor("ledger", 100.0, f"ledger state {state}")
        return Factor("ledger", 0.0, f"ledger state {state}")

    def _behaviour_factor(self, subject: str, now: float) -> Factor:
        score, count, recent = self.behaviour.score(subject, now)
        if count == 0:
            return _NO_ALERTS
        return Factor(
            "behaviour",
            min(100.0, score),
            f"{count} alert(s), decayed score {score:.1f} (half-life {self.behaviour.half_life:g}s)",
            tuple(
                {"id": a.id, "attack_class": a.attack_class, "severity": a.severity} for a in recent
            ),
        )

    def _context_factor(
        self, subject: Subject, zone: str, location: str | None, hour: int
    ) -> Factor:
        cfg = self.config
        points = 0.0
        why: list[str] = []
        z = cfg.zone_risk.get(zone)
        if z is None:
            points += cfg.unknown_zone
            why.append(f"unknown zone {zone!r} +{cfg.unknown_zone:g}")
        elif z:
            points += z
            why.append(f"zone {zone} +{z:g}")
        if subject.kind == "operator":
            start, end = cfg.business_hours
            inside = start <= hour < end if start <= end else (hour >= start or hour < end)
            if not inside:
                points += cfg.off_hours
                why.append(f"off hours ({hour:02d}h UTC) +{cfg.off_hours:g}")
        if cfg.locations and (location or "") not in cfg.locations:
            points += cfg.unknown_location
            why.append(f"location {location!r} not allowed +{cfg.unknown_location:g}")
        return Factor("context", points, "; ".join(why) or "trusted context")

    def assess(
        self,
        subject: Subject,
        *,
        zone: str | None = None,
        location: str | None = None,
        now: float | None = None,
    ) -> tuple[int, tuple[Factor, ...], str | None]:
        """(risk 0-100, factors, ledger state) of ``subject`` for a request now."""
        if now is None:
            now = time.time()
        static = self._static_factors(subject, now)
        state = self.ledger_state(subject.id, now)
        hour = int(now // 3600 % 24)
        zone = zone if zone is not None else subject.zone
        # ledger and context factors depend on few inputs: build each once
        lkey = (self.ledger is None, subject.kind in APP_KINDS, state)
        ledger = self._factor_cache.get(lkey)
        if ledger is None:
            ledger = self._factor_cache[lkey] = self._ledger_factor(subject, state)
        ckey = (subject.kind == "operator", zone, location, hour)
        context = self._factor_cache.get(ckey)
        if context is None:
            if len(self._factor_cache) > 4096:
                self._factor_cache.clear()
            context = self._factor_cache[ckey] = self._context_factor(subject, zone, location, hour)
        factors = (static.ti, static.vuln, ledger, self._behaviour_factor(subject.id, now), context)
        total = min(100.0, sum(f.score for f in factors))
        return round(total), factors, state
