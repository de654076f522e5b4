"""The threat-intelligence store: STIX 2.1 indicators, loaded leniently, matched fast.

Objects come from bundles (files, TAXII envelopes). Each object is checked with
the ``stix2`` library; one that does not parse is counted as *malformed* and
skipped, never fatal. Only ``indicator`` objects with ``pattern_type`` "stix"
are kept; a pattern this matcher cannot evaluate is counted as *unsupported*.

Versioning follows STIX 2.1: an object is identified by ``id`` and its newest
``modified`` wins; an object with ``revoked: true`` removes the id for good
(an older version arriving later does not bring it back). ``valid_from`` and
``valid_until`` are checked at match time.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stix2  # type: ignore[import-untyped]
import stix2.exceptions  # type: ignore[import-untyped]

from xtrust.errors import InputError

from .patterns import (
    Observables,
    Pattern,
    PatternError,
    UnsupportedPattern,
    compile_pattern,
    index_value,
)

__all__ = ["Indicator", "IndicatorMatch", "IndicatorStore", "LoadStats", "parse_time"]


def parse_time(value: Any) -> float | None:
    """A STIX timestamp (``2026-11-26T10:00:00.000Z``) as epoch seconds, or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    pattern: Pattern
    modified: float
    valid_from: float | None
    valid_until: float | None
    confidence: int | None
    indicator_types: tuple[str, ...]

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return not (self.valid_until is not None and now >= self.valid_until)


@dataclass(frozen=True)
class IndicatorMatch:
    id: str
    name: str
    pattern: str
    confidence: int | None
    indicator_types: tuple[str, ...]
    valid_until: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "pattern": self.pattern,
            "confidence": self.confidence,
            "indicator_types": list(self.indicator_types),
        }


@dataclass
class LoadStats:
    objects: int = 0
    indicators: int = 0
    updated: int = 0
    revoked: int = 0
    malformed: int = 0
    unsupported: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: LoadStats) -> None:
        for name in ("objects", "indicators", "updated", "revoked", "malformed", "unsupported"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ignored += other.ignored
        self.errors.extend(other.errors[: max(0, 20 - len(self.errors))])

    def to_json(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "indicators": self.indicators,
            "updated": self.updated,
            "revoked": self.revoked,
            "malformed": self.malformed,
            "unsupported": self.unsupported,
            "ignored": self.ignored,
            "errors": self.errors[:20],
        }


class IndicatorStore:
    """Indicators by id; thread-safe; ``version`` changes on every effective update."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indicators: dict[str, Indicator] = {}
        # indicators found by an equality they need (type, path, value) / by scanning
        self._exact: dict[tuple[str, str, Any], list[Indicator]] = {}
        self._scan: dict[str, list[Indicator]] = {}
        self._transitions: list[float] = []
        # id -> modified time of the revoking version
        self._revoked: dict[str, float] = {}
        self.version = 0
        self.totals = LoadStats()

    def __len__(self) -> int:
        return len(self._indicators)

    def ids(self) -> list[str]:
        return sorted(self._indicators)

    def get(self, indicator_id: str) -> Indicator | None:
        return self._indicators.get(indicator_id)

    # ------------------------------------------------------------ loading

    def load_file(self, path: str | Path) -> LoadStats:
        """Load a STIX bundle (or a TAXII envelope, or a list of objects) from a file."""
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read STIX file {p}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{p} is not JSON: {exc}") from None
        return self.load_document(doc, source=str(p))

    def load_document(self, doc: Any, *, source: str = "bundle") -> LoadStats:
        if isinstance(doc, list):
            objects = doc
        elif isinstance(doc, Mapping) and isinstance(doc.get("objects"), list):
            objects = doc["objects"]
        elif isinstance(doc, Mapping) and "type" in doc and doc.get("type") != "bundle":
            objects = [doc]
        elif isinstance(doc, Mapping) and doc.get("type") == "bundle":
            objects = []
        else:
            raise InputError(f"{source}: not a STIX bundle, TAXII envelope or object list")
        return self.add_objects(objects)

    def add_objects(self, objects: Iterable[Any]) -> LoadStats:
        stats = LoadStats()
        parsed: list[tuple[str, float, bool, Indicator | None]] = []
        for obj in objects:
            stats.objects += 1
            item = self._parse(obj, stats)
            if item is not None:
                parsed.append(item)
        with self._lock:
            changed = False
            for oid, modified, revoked, indicator in parsed:
                if oid in self._revoked:
                    continue
                if revoked:
                    self._revoked[oid] = modified
                    if self._indicators.pop(oid, None) is not None:
                        changed = True
                    stats.revoked += 1
                    continue
                if indicator is None:
                    continue
                old = self._indicators.get(oid)
                if old is not None and old.modified >= modified:
                    continue
                self._indicators[oid] = indicator
                stats.updated += 1
                changed = True
            if changed:
                self._reindex()
                self.version += 1
            self.totals.add(stats)
        return stats

    def _reindex(self) -> None:
        scan: dict[str, list[Indicator]] = {}
        exact: dict[tuple[str, str, Any], list[Indicator]] = {}
        transitions: set[float] = set()
        for ind in self._indicators.values():
            keys = ind.pattern.index_keys()
            if keys is None:
                for t in ind.pattern.object_types:
                    scan.setdefault(t, []).append(ind)
            else:
                for key in keys:
                    exact.setdefault(key, []).append(ind)
            for when in (ind.valid_from, ind.valid_until):
                if when is not None:
                    transitions.add(when)
        self._scan, self._exact = scan, exact
        self._transitions = sorted(transitions)

    def _parse(
        self, obj: Any, stats: LoadStats
    ) -> tuple[str, float, bool, Indicator | None] | None:
        if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
            stats.malformed += 1
            stats.errors.append("object without a type")
            return None
        try:
            sdo = stix2.parse(dict(obj), allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError, TypeError, KeyError) as exc:
            stats.malformed += 1
            stats.errors.append(f"{obj.get('id', '?')}: {' '.join(str(exc).split())[:200]}")
            return None
        if obj["type"] != "indicator":
            stats.ignored += 1
            if obj.get("revoked") is True and isinstance(obj.get("id"), str):
                return (obj["id"], parse_time(obj.get("modified")) or 0.0, True, None)
            return None
        stats.indicators += 1
        oid = str(sdo["id"])
        modified = parse_time(sdo.get("modified")) or 0.0
        if sdo.get("revoked") is True:
            return (oid, modified, True, None)
        if sdo.get("pattern_type") != "stix":
            stats.unsupported += 1
            stats.errors.append(f"{oid}: pattern_type {sdo.get('pattern_type')!r}")
            return None
        try:
            pattern = compile_pattern(str(sdo["pattern"]))
        except UnsupportedPattern as exc:
            stats.unsupported += 1
            stats.errors.append(f"{oid}: unsupported pattern: {exc}")
            return None
        except PatternError as exc:
            stats.malformed += 1
            stats.errors.append(f"{oid}: bad pattern: {exc}")
            return None
        confidence = sdo.get("confidence")
        return (
            oid,
            modified,
            False,
            Indicator(
                id=oid,
                name=str(sdo.get("name") or ""),
                pattern=pattern,
                modified=modified,
                valid_from=parse_time(sdo.get("valid_from")),
                valid_until=parse_time(sdo.get("valid_until")),
                confidence=int(confidence) if isinstance(confidence, int) else None,
                indicator_types=tuple(str(t) for t in sdo.get("indicator_types") or ()),
            ),
        )

    # ------------------------------------------------------------ matching

    def match(self, observables: Observables, now: float) -> list[IndicatorMatch]:
        """Indicators valid at ``now`` whose pattern matches ``observables``."""
        exact, scan = self._exact, self._scan
        candidates: dict[str, Indicator] = {}
        for obj_type, objs in observables.items():
            for ind in scan.get(obj_type, ()):
                candidates[ind.id] = ind
            for obj in objs:
                for path, value in obj.items():
                    values = value if isinstance(value, list | tuple) else (value,)
                    for v in values:
                        for ind in exact.get((obj_type, path, index_value(path, v)), ()):
                            candidates[ind.id] = ind
        out: list[IndicatorMatch] = []
        for ind in candidates.values():
            if ind.valid_at(now) and ind.pattern.match(observables):
                out.append(
                    IndicatorMatch(
                        ind.id,
                        ind.name,
                        ind.pattern.text,
                        ind.confidence,
                        ind.indicator_types,
                        ind.valid_until,
                    )
                )
        out.sort(key=lambda m: m.id)
        return out

    def next_transition(self, now: float) -> float | None:
        """The next time an indicator becomes valid or expires (for cache expiry)."""
        times = self._transitions
        i = bisect.bisect_right(times, now)
        return times[i] if i < len(times) else None
