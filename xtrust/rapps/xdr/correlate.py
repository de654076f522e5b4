"""Correlate events into incidents: by entity, time window and attack-graph adjacency.

Two events are *linked* when they are at most ``window`` seconds apart and
share an entity, or have entities adjacent in the threat model (an interface
between the two assets). Incidents are the connected components of that
relation. :class:`Correlator` computes them in one pass over time-ordered
events: each entity remembers the last event that named it, and a new event
is joined with the last event of each of its entities and their neighbours
(union-find). That is the same partition as comparing all pairs
(:func:`naive_correlate`): the events naming one entity form a chain whose
consecutive gaps are within the window whenever the two ends are.

Context events (a ledger event other than suspend / revoke, a passed
certification, an allowed policy decision) form no incident: they only record
the entity's version and image digest, which playbooks (ledger steps) and
sharing (image digests) use.

Scoring (0-1): each event weighs ``severity base x score factor`` (base low
0.1, medium 0.25, high 0.5, critical 0.8; factor ``min(1, 0.5 + score/4)``
when the event has a score), at most 3 events per (source, attack class,
entity) count; the incident's score is the noisy-OR of the weights; a
second independent source multiplies the remaining doubt by 0.7; the threat
model's exposure of its entities scales it by ``0.5 + 0.5 x max exposure``
(when an exposure map is given); each other RIC site that sighted one of its
entities multiplies the remaining doubt by 0.6, a site that only saw the same
attack class by 0.85.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import Event, iso, sorted_events

__all__ = [
    "Correlator",
    "Incident",
    "adjacency_from_topology",
    "asset_entity",
    "is_context",
    "naive_correlate",
    "severity_of",
]

#: entity attributes remembered from any event (used by playbooks and sharing)
CONTEXT_KEYS = ("version", "digest")


def is_context(ev: Event) -> bool:
    """Events that describe an entity but signal nothing: a ledger event other than
    suspend/revoke, a passed certification, an allowed policy decision."""
    return ev.severity == "low" and ev.kind in ("ledger", "certify", "policy")


SEVERITY_BASE = {"low": 0.1, "medium": 0.25, "high": 0.5, "critical": 0.8}
PER_KEY_CAP = 3


def severity_of(score: float) -> str:
    if score >= 0.9:
        return "critical"
    if score >= 0.7:
        return "high"
    if score >= 0.4:
        return "medium"
    return "low"


@dataclass(slots=True)
class Incident:
    id: str
    events: list[Event]
    entities: list[str]
    first: float
    last: float
    score: float = 0.0
    severity: str = "low"
    attack_classes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    external_sites: list[str] = field(default_factory=list)

    #: context known about entities outside the incident's events (version, digest, ...)
    context: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def attr_of(self, entity: str, key: str) -> Any:
        """The latest ``attrs[key]`` among this incident's events about ``entity``, else the
        entity's context (from certify / ledger events outside the incident)."""
        for ev in reversed(self.events):
            if ev.entity == entity and key in ev.attrs:
                return ev.attrs[key]
        return self.context.get(entity, {}).get(key)

    def to_json(self, with_events: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "score": round(self.score, 4),
            "severity": self.severity,
            "first": iso(self.first),
            "last": iso(self.last),
            "events": len(self.events),
            "entities": self.entities,
            "attack_classes": self.attack_classes,
            "sources": self.sources,
            "external_sites": self.external_sites,
        }
        if with_events:
            doc["event_list"] = [e.to_json() for e in self.events]
        return doc


def asset_entity(kind: str, name: str) -> str:
    """The entity key an asset of the threat model has in events."""
    if kind in ("e2node", "du", "cu"):
        return f"e2node:{name}"
    return f"{kind}:{name}"


def adjacency_from_topology(topology: Any) -> dict[str, set[str]]:
    """Entity adjacency from a :class:`xtrust.rapps.threatmodel.Topology` (its interfaces)."""
    assets = topology.assets
    adj: dict[str, set[str]] = {}
    for iface in topology.interfaces:
        a = asset_entity(assets[iface.src].kind, iface.src)
        b = asset_entity(assets[iface.dst].kind, iface.dst)
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    return adj


class _DSU:
    __slots__ = ("parent",)

    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


class Correlator:
    """Incremental correlation; feed events in time order (:meth:`add_many` sorts a batch)."""

    def __init__(
        self,
        window: float = 300.0,
        adjacency: Mapping[str, Iterable[str]] | None = None,
        exposure: Mapping[str, float] | None = None,
    ):
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        adj: dict[str, set[str]] = {}
        for a, bs in (adjacency or {}).items():
            for b in bs:
                if a != b:
                    adj.setdefault(a, set()).add(b)
                    adj.setdefault(b, set()).add(a)
        self.adjacency: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in adj.items()}
        self.exposure = dict(exposure or {})
        self.events: list[Event] = []
        self.context: dict[str, dict[str, Any]] = {}  # entity -> version, digest, ...
        self._dsu = _DSU()
        self._last: dict[str, tuple[float, int]] = {}  # entity -> (time, event index)
        #: external intelligence: indicator key -> sites; see xtrust.rapps.xdr.share
        self.external: dict[str, set[str]] = {}
        self.external_classes: dict[str, set[str]] = {}
        self.indicator_keys: Any = None  # callable(entity, incident) -> keys (set by Xdr)

    def add(self, ev: Event) -> None:
        """Correlate one event; a context event only updates what is known about its entity."""
        if ev.attrs:
            ctx = self.context.setdefault(ev.entity, {})
            for key in CONTEXT_KEYS:
                if key in ev.attrs:
                    ctx[key] = ev.attrs[key]
        if is_context(ev):
            return
        i = self._dsu.add()
        self.events.append(ev)
        t = ev.time
        window = self.window
        last = self._last
        adjacency = self.adjacency
        for ent in ev.entities:
            hit = last.get(ent)
            if hit is not None and abs(t - hit[0]) <= window:
                self._dsu.union(i, hit[1])
            for nb in adjacency.get(ent, ()):
                hit = last.get(nb)
                if hit is not None and abs(t - hit[0]) <= window:
                    self._dsu.union(i, hit[1])
        for ent in ev.entities:
            prev = last.get(ent)
            if prev is None or t >= prev[0]:
                last[ent] = (t, i)

    def add_many(self, events: Iterable[Event]) -> None:
        for ev in sorted_events(events):
            self.add(ev)

    def groups(self) -> list[list[int]]:
        """Event indices of each incident (ordered by first event)."""
        comp: dict[int, list[int]] = {}
        find = self._dsu.find
        for i in range(len(self.events)):
            comp.setdefault(find(i), []).append(i)
        return sorted(comp.values(), key=lambda g: g[0])

    def incidents(self) -> list[Incident]:
        out = [self._incident(g) for g in self.groups()]
        out.sort(key=lambda inc: (-inc.score, inc.first, inc.id))
        return out

    def _incident(self, group: list[int]) -> Incident:
        evs = sorted((self.events[i] for i in group), key=lambda e: (e.time, e.id))
        first = evs[0]
        iid = "incident-" + hashlib.sha256(first.id.encode()).hexdigest()[:16]
        entities = list(dict.fromkeys(ent for e in evs for ent in e.entities))
        inc = Incident(
            iid,
            evs,
            entities,
            first.time,
            evs[-1].time,
            attack_classes=sorted({e.attack_class for e in evs if e.attack_class}),
            sources=sorted({e.source for e in evs}),
            context={ent: self.context[ent] for ent in entities if ent in self.context},
        )
        self.score(inc)
        return inc

    def score(self, inc: Incident) -> None:
        counts: dict[tuple[str, str | None, str], int] = {}
        doubt = 1.0
        for e in inc.events:
            key = (e.source, e.attack_class, e.entity)
            n = counts.get(key, 0)
            if n >= PER_KEY_CAP:
                continue
            counts[key] = n + 1
            w = SEVERITY_BASE.get(e.severity, 0.1)
            if e.score is not None:
                w *= min(1.0, 0.5 + max(0.0, e.score) / 4.0)
            doubt *= 1.0 - w
        if len(inc.sources) >= 2:
            doubt *= 0.7
        score = 1.0 - doubt
        if self.exposure:
            exp = max((self.exposure.get(ent, 0.0) for ent in inc.entities), default=0.0)
            score *= 0.5 + 0.5 * exp
        sites: set[str] = set()
        class_sites: set[str] = set()
        if self.indicator_keys is not None and self.external:
            for ent in inc.entities:
                for key in self.indicator_keys(ent, inc):
                    sites |= self.external.get(key, set())
        for cls in inc.attack_classes:
            class_sites |= self.external_classes.get(cls, set())
        class_sites -= sites
        doubt = 1.0 - score
        doubt *= 0.6 ** len(sites)
        doubt *= 0.85 ** len(class_sites)
        inc.score = 1.0 - doubt
        inc.external_sites = sorted(sites | class_sites)
        inc.severity = severity_of(inc.score)


def naive_correlate(
    events: list[Event],
    window: float,
    adjacency: Mapping[str, Iterable[str]] | None = None,
) -> list[list[int]]:
    """Reference: compare every pair of events (O(n^2)); same partition as Correlator."""
    adj: dict[str, set[str]] = {}
    for a, bs in (adjacency or {}).items():
        for b in bs:
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
    ordered = sorted_events(e for e in events if not is_context(e))
    n = len(ordered)
    dsu = _DSU()
    for _ in range(n):
        dsu.add()
    ents = [set(e.entities) for e in ordered]
    near = [set().union(*(adj.get(x, set()) for x in s)) | s for s in ents]
    for i in range(n):
        ti = ordered[i].time
        for j in range(i + 1, n):
            if abs(ordered[j].time - ti) > window:
                continue
            if ents[j] & near[i]:
                dsu.union(i, j)
    comp: dict[int, list[int]] = {}
    for i in range(n):
        comp.setdefault(dsu.find(i), []).append(i)
    return sorted(comp.values(), key=lambda g: g[0])
