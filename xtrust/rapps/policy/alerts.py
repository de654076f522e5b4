"""Security alerts as behaviour evidence: parsing and time-decayed scoring.

Alerts arrive in the XTRUST alert format (``type: "xtrust-alert"``,
``spec_version: "1"``, one JSON object per alert or JSON lines) or as STIX 2.1
bundles built from the same content (a ``sighting`` carrying
``x_xtrust_severity`` / ``x_xtrust_score`` / ``x_xtrust_attack_class``, its
``observed-data`` naming the entity: ``software`` for an xApp,
``x-oran-e2node`` / ``x-oran-cell`` / ``x-oran-ue`` with ``x_oran_id`` and
``x_oran_node``).

Who an alert counts against: an ``xapp`` or ``e2node`` entity counts against
the subject with that id at full weight; a ``cell`` or ``ue`` entity counts
against its E2 node (``entity.node``) at ``cell_ue_factor`` (0.5) of the weight.

Weight of one alert: ``severity_weight[severity] * min(max(score, 0.5), 2.0)``
(defaults: low 5, medium 15, high 35, critical 60). Scores decay with a
half-life: ``S(t) = S(t0) * 0.5 ** ((t - t0) / half_life)``, kept per subject as
one accumulator, so adding an alert and reading a score are O(1).
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import InputError
from xtrust.rapps.ti.store import parse_time

__all__ = ["DEFAULT_SEVERITY_WEIGHTS", "Alert", "BehaviourTracker", "parse_alerts"]

DEFAULT_SEVERITY_WEIGHTS = {"low": 5.0, "medium": 15.0, "high": 35.0, "critical": 60.0}
_ENTITY_KINDS = {"cell", "ue", "xapp", "e2node"}
_SCO_KINDS = {"x-oran-cell": "cell", "x-oran-ue": "ue", "x-oran-e2node": "e2node"}


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    time: float
    source: str
    entity_kind: str
    entity_id: str
    node: str | None
    attack_class: str | None
    score: float
    severity: str

    def subject(self) -> tuple[str, bool] | None:
        """(subject id, direct) this alert counts against, or None."""
        if self.entity_kind in ("xapp", "e2node"):
            return self.entity_id, True
        if self.node:
            return self.node, False
        return None


def _alert_from_json(doc: Mapping[str, Any]) -> Alert:
    if doc.get("type") != "xtrust-alert":
        raise InputError("not an xtrust-alert")
    entity = doc.get("entity")
    if not isinstance(entity, Mapping) or entity.get("kind") not in _ENTITY_KINDS:
        raise InputError("alert.entity.kind must be cell, ue, xapp or e2node")
    if not isinstance(entity.get("id"), str):
        raise InputError("alert.entity.id must be a string")
    when = parse_time(doc.get("time"))
    if when is None:
        raise InputError(f"alert.time is not an ISO 8601 time: {doc.get('time')!r}")
    severity = doc.get("severity")
    if severity not in DEFAULT_SEVERITY_WEIGHTS:
        raise InputError(f"alert.severity must be low/medium/high/critical, not {severity!r}")
    score = doc.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
        raise InputError("alert.score must be a number")
    node = entity.get("node")
    return Alert(
        id=str(doc.get("id") or ""),
        time=when,
        source=str(doc.get("source") or ""),
        entity_kind=str(entity["kind"]),
        entity_id=str(entity["id"]),
        node=str(node) if node else None,
        attack_class=doc.get("attack_class") if isinstance(doc.get("attack_class"), str) else None,
        score=float(score),
        severity=str(severity),
    )


def _alerts_from_bundle(doc: Mapping[str, Any]) -> tuple[list[Alert], int]:
    objs = [o for o in doc.get("objects") or () if isinstance(o, Mapping)]
    by_id = {o.get("id"): o for o in objs}
    out: list[Alert] = []
    bad = 0
    for s in objs:
        if s.get("type") != "sighting":
            continue
        try:
            severity = s.get("x_xtrust_severity")
            if severity not in DEFAULT_SEVERITY_WEIGHTS:
                raise InputError("sighting without x_xtrust_severity")
            entity: tuple[str, str, str | None] | None = None
            for ref in s.get("observed_data_refs") or ():
                od = by_id.get(ref) or {}
                for sref in od.get("object_refs") or ():
                    sco = by_id.get(sref) or {}
                    if sco.get("type") == "software" and isinstance(sco.get("name"), str):
                        entity = ("xapp", sco["name"], None)
                    elif sco.get("type") in _SCO_KINDS and isinstance(sco.get("x_oran_id"), str):
                        entity = (_SCO_KINDS[sco["type"]], sco["x_oran_id"], sco.get("x_oran_node"))
            if entity is None:
                raise InputError("sighting without an observed entity")
            when = parse_time(s.get("last_seen") or s.get("modified") or s.get("created"))
            score = s.get("x_xtrust_score", 1.0)
            if when is None or not isinstance(score, int | float):
                raise InputError("sighting without a time or score")
            out.append(
                Alert(
                    id=str(s.get("x_xtrust_alert_id") or s.get("id")),
                    time=when,
                    source="stix",
                    entity_kind=entity[0],
                    entity_id=entity[1],
                    node=entity[2],
                    attack_class=s.get("x_xtrust_attack_class"),
                    score=float(score),
                    severity=str(severity),
                )
            )
        except InputError:
            bad += 1
    return out, bad


def parse_alerts(payload: Any) -> tuple[list[Alert], int]:
    """Alerts from a parsed JSON value or JSON-lines text; returns (alerts, malformed)."""
    if isinstance(payload, bytes | str):
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        try:
            docs: list[Any] = [json.loads(text)]
        except json.JSONDecodeError:
            docs = []
            bad = 0
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError:
                    bad += 1
            got, more_bad = parse_alerts(docs)
            return got, bad + more_bad
        payload = docs[0]
    items: Iterable[Any] = payload if isinstance(payload, list) else [payload]
    alerts: list[Alert] = []
    bad = 0
    for item in items:
        if not isinstance(item, Mapping):
            bad += 1
        elif item.get("type") == "bundle":
            got, b = _alerts_from_bundle(item)
            alerts.extend(got)
            bad += b
        else:
            try:
                alerts.append(_alert_from_json(item))
            except InputError:
                bad += 1
    return alerts, bad


@dataclass
class _Acc:
    score: float = 0.0
    at: float = 0.0
    count: int = 0
    recent: list[Alert] = field(default_factory=list)


class BehaviourTracker:
    """Per-subject, exponentially decaying alert score (O(1) update and read)."""

    def __init__(
        self,
        *,
        half_life: float = 900.0,
        severity_weights: Mapping[str, float] | None = None,
        cell_ue_factor: float = 0.5,
        keep_recent: int = 5,
    ):
        if half_life <= 0:
            raise InputError("behaviour half-life must be > 0 seconds")
        self.half_life = half_life
        self.weights = dict(DEFAULT_SEVERITY_WEIGHTS)
        if severity_weights:
            self.weights.update(severity_weights)
        self.cell_ue_factor = cell_ue_factor
        self.keep_recent = keep_recent
        self._acc: dict[str, _Acc] = {}
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.max_seen = 100_000

    def weight(self, alert: Alert, direct: bool = True) -> float:
        w = self.weights.get(alert.severity, 0.0) * min(max(alert.score, 0.5), 2.0)
        return w if direct else w * self.cell_ue_factor

    def add(self, alert: Alert) -> str | None:
        """Count ``alert``; returns the subject it counted against (None: no subject)."""
        target = alert.subject()
        if target is None:
            return None
        subject, direct = target
        with self._lock:
            if alert.id:
                if alert.id in self._seen:
                    return subject
                self._seen.add(alert.id)
                self._seen_order.append(alert.id)
                if len(self._seen_order) > self.max_seen:
                    self._seen.discard(self._seen_order.popleft())
            acc = self._acc.setdefault(subject, _Acc(at=alert.time))
            w = self.weight(alert, direct)
            if alert.time >= acc.at:
                acc.score = acc.score * 0.5 ** ((alert.time - acc.at) / self.half_life) + w
                acc.at = alert.time
            else:  # a late alert: decay its weight to the accumulator's time
                acc.score += w * 0.5 ** ((acc.at - alert.time) / self.half_life)
            acc.count += 1
            acc.recent.append(alert)
            del acc.recent[: -self.keep_recent]
        return subject

    def score(self, subject: str, now: float) -> tuple[float, int, tuple[Alert, ...]]:
        acc = self._acc.get(subject)
        if acc is None:
            return 0.0, 0, ()
        dt = max(0.0, now - acc.at)
        return acc.score * 0.5 ** (dt / self.half_life), acc.count, tuple(acc.recent)

    def subjects(self) -> list[str]:
        return sorted(self._acc)
