"""Matching components against OSV advisories (OSV schema 1.6 evaluation rules).

For each component the index gives the ``affected[]`` entries of its (ecosystem,
normalized name); an entry applies when

* its ecosystem release matches the component's distro ("Debian:12" applies to a
  ``debian:12`` component; a bare "Debian" entry applies to every release), and
* the version is listed in ``versions``, or falls in a ``range`` of type ECOSYSTEM or
  SEMVER. Events are sorted by version ("0" is the start); ``introduced`` opens an
  interval, ``fixed`` closes it (exclusive), ``last_affected`` closes it (inclusive);
  a version at or above every ``limit`` of a range is outside that range. Ranges are OR.

Nothing is silently clean: a version that does not parse for its ecosystem, an
ecosystem without a known ordering, a component with no version at all, or one known
only by a range (``version_spec``) that overlaps an affected interval gives a match with
status ``unknown`` and a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion as PkgInvalidVersion
from packaging.version import Version

from xtrust.certify.sbom.model import Component, base_ecosystem, normalize_name, source_package
from xtrust.certify.vuln.cvss import cvss_base_score, severity_from_score
from xtrust.certify.vuln.osv import AffectedEntry, OsvDatabase, parse_release
from xtrust.certify.vuln.versions import (
    InvalidVersion,
    UnsupportedEcosystem,
    VersionKey,
    ecosystem_scheme,
    version_key,
)
from xtrust.errors import InputError

__all__ = ["VulnMatch", "coverage_gaps", "match_components", "severity_of"]

_SEVERITY_RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "none": 1, "unknown": 0}


@dataclass(frozen=True)
class VulnMatch:
    """One advisory that applies (``affected``) or may apply (``unknown``) to a component."""

    component: Component
    advisory_id: str
    aliases: tuple[str, ...]
    summary: str
    status: str  # "affected" | "unknown"
    severity: str  # critical | high | medium | low | none | unknown
    cvss_score: float | None
    cvss_vector: str | None
    fixed_versions: tuple[str, ...]
    reason: str


# --------------------------------------------------------------------------- severity

_WORDS = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
    "none": "none",
}


def _cvss_from(items: Any) -> tuple[float, str] | None:
    if not isinstance(items, list):
        return None
    vectors: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("score"), str):
            vectors.setdefault(str(item.get("type", "")), item["score"])
    for kind in ("CVSS_V4", "CVSS_V3"):
        vector = vectors.get(kind)
        if vector:
            try:
                return cvss_base_score(vector), vector
            except InputError:
                continue
    return None


def _word_from(items: Any) -> str | None:
    """A qualitative severity given as a score word (OSV "Ubuntu" severity type)."""
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("score"), str):
            word = item["score"].strip().lower()
            if word in _WORDS:
                return _WORDS[word]
    return None


def severity_of(
    advisory: dict[str, Any], affected: dict[str, Any] | None = None
) -> tuple[str, float | None, str | None]:
    """(severity, CVSS score, vector): CVSS v4 preferred, then v3.x, then database words."""
    found = _cvss_from((affected or {}).get("severity")) or _cvss_from(advisory.get("severity"))
    if found is not None:
        score, vector = found
        return severity_from_score(score), score, vector
    for holder in (affected or {}, advisory):
        word = _word_from(holder.get("severity"))
        if word:
            return word, None, None
        for key in ("database_specific", "ecosystem_specific"):
            section = holder.get(key)
            if isinstance(section, dict):
                word = section.get("severity")
                if isinstance(word, str) and word.strip().lower() in _WORDS:
                    return _WORDS[word.strip().lower()], None, None
    return "unknown", None, None


# --------------------------------------------------------------------------- ranges


@dataclass
class _Interval:
    start: VersionKey | None  # None: from the beginning ("0")
    start_text: str
    end: VersionKey | None  # None: open-ended
    end_text: str
    end_inclusive: bool

    def contains(self, v: VersionKey) -> bool:
        if self.start is not None and v < self.start:
            return False
        if self.end is None:
            return True
        return v <= self.end if self.end_inclusive else v < self.end

    def describe(self) -> str:
        lo = self.start_text if self.start is not None else "0"
        if self.end is None:
            return f"[{lo}, ∞)"
        return f"[{lo}, {self.end_text}{']' if self.end_inclusive else ')'}"


@dataclass
class _ParsedRange:
    intervals: list[_Interval]
    limits: list[VersionKey] | None  # None: no limit events; "*" limits drop out
    fixed: list[str]


def _range_scheme_ecosystem(entry: AffectedEntry, rng: dict[str, Any]) -> str | None:
    """The ecosystem whose ordering a range uses, or None for unsupported range types."""
    rtype = str(rng.get("type", "")).upper()
    if rtype == "SEMVER":
        return "SEMVER"
    if rtype == "ECOSYSTEM":
        return entry.ecosystem
    return None  # GIT ranges name commits, not versions


def _parse_range(ecosystem: str, rng: dict[str, Any]) -> _ParsedRange:
    """Sort a range's events and turn them into intervals (raises InvalidVersion)."""
    events = rng.get("events")
    if not isinstance(events, list) or not events:
        raise InvalidVersion("range has no events")
    keyed: list[tuple[int, Any, str, str]] = []  # (is_not_zero, key, kind, text)
    limits: list[VersionKey] = []
    has_limit = False
    fixed: list[str] = []
    for ev in events:
        if not isinstance(ev, dict) or len(ev) != 1:
            raise InvalidVersion(f"malformed range event {ev!r}")
        ((kind, text),) = ev.items()
        text = str(text)
        if kind == "limit":
            has_limit = True
            if text != "*":
                limits.append(version_key(ecosystem, text))
            else:
                limits.append(_INFINITY)
            continue
        if kind not in ("introduced", "fixed", "last_affected"):
            raise InvalidVersion(f"unknown range event {kind!r}")
        if kind == "fixed":
            fixed.append(text)
        if kind == "introduced" and text == "0":
            keyed.append((0, None, kind, text))
        else:
            keyed.append((1, version_key(ecosystem, text), kind, text))
    zeros = [k for k in keyed if k[0] == 0]
    others = [k for k in keyed if k[0] == 1]
    # Sort by version; at equal versions "introduced" comes before closing events.
    others.sort(key=_SortKey.of)
    ordered = zeros + others
    intervals: list[_Interval] = []
    open_start: tuple[Any, str] | None = None
    for _z, key, kind, text in ordered:
        if kind == "introduced":
            if open_start is None:
                open_start = (key, text)
        elif open_start is not None:
            intervals.append(
                _Interval(open_start[0], open_start[1], key, text, kind == "last_affected")
            )
            open_start = None
    if open_start is not None:
        intervals.append(_Interval(open_start[0], open_start[1], None, "", False))
    return _ParsedRange(intervals, limits if has_limit else None, fixed)


class _Infinity:
    """A version above every other (the ``limit: "*"`` event)."""

    def __gt__(self, other: Any) -> bool:
        return True

    def __lt__(self, other: Any) -> bool:
        return False

    def __le__(self, other: Any) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Infinity)

    def __hash__(self) -> int:
        return 1


_INFINITY: Any = _Infinity()


class _SortKey:
    __slots__ = ("key", "rank")

    def __init__(self, key: Any, rank: int) -> None:
        self.key = key
        self.rank = rank

    @classmethod
    def of(cls, item: tuple[int, Any, str, str]) -> _SortKey:
        return cls(item[1], 0 if item[2] == "introduced" else 1)

    def __lt__(self, other: _SortKey) -> bool:
        if self.key < other.key:
            return True
        if self.key == other.key:
            return self.rank < other.rank
        return False


def _parsed_ranges(entry: AffectedEntry) -> list[tuple[_ParsedRange | None, str, str]]:
    """(parsed range or None, ecosystem of its ordering, error text), cached on the entry."""
    cached = entry.cache.get("ranges")
    if cached is not None:
        return cached
    out: list[tuple[_ParsedRange | None, str, str]] = []
    for rng in entry.ranges:
        eco = _range_scheme_ecosystem(entry, rng)
        if eco is None:
            continue
        try:
            out.append((_parse_range(eco, rng), eco, ""))
        except InputError as exc:
            out.append((None, eco, str(exc)))
    entry.cache["ranges"] = out
    return out


# --------------------------------------------------------------------------- matching


def _distro_applies(entry: AffectedEntry, component: Component) -> bool | None:
    """True/False when decidable; None when the advisory names a release and the
    component's distro is unknown."""
    if entry.release is None:
        return True
    # the distro ("debian:12"), else a release in the ecosystem itself ("Debian:12")
    comp_release = parse_release(component.distro or component.ecosystem)
    if comp_release is None:
        return None
    if entry.release == comp_release:
        return True
    # "Alpine:v3.18" vs alpine:3.18.4, "Ubuntu:22.04:LTS" vs ubuntu:22.04
    return comp_release.startswith(entry.release + ".") or entry.release.startswith(
        comp_release + "."
    )


def _specifier_overlaps(spec: SpecifierSet, intervals: Iterable[_Interval]) -> str | None:
    """The first interval a PEP 440 range may share a version with (conservative), or None."""
    relaxed_parts = []
    for s in spec:
        if s.operator == "!=":
            continue
        op = ">=" if s.operator == ">" else s.operator
        relaxed_parts.append(f"{op}{s.version}")
    relaxed = SpecifierSet(",".join(relaxed_parts))
    points: list[Version] = [Version("0.dev0")]
    for s in spec:
        try:
            points.append(Version(s.version.replace(".*", "")))
        except PkgInvalidVersion:
            continue
    for iv in intervals:
        cands = list(points)
        if isinstance(iv.start, Version):
            cands.append(iv.start)
        if iv.end_inclusive and isinstance(iv.end, Version):
            cands.append(iv.end)
        for c in cands:
            if iv.contains(c) and relaxed.contains(c, prereleases=True):
                return iv.describe()
    return None


def _evaluate(
    entry: AffectedEntry, component: Component, version: str | None
) -> tuple[str, str, tuple[str, ...]] | None:
    """(status, reason, fixed versions) if the entry applies to the component at
    ``version`` (its own, or its source package's), else None."""
    applies = _distro_applies(entry, component)
    if applies is False:
        return None
    ranges = _parsed_ranges(entry)
    fixed = tuple(dict.fromkeys(f for r, _e, _err in ranges if r for f in r.fixed))
    if applies is None:
        return (
            "unknown",
            f"advisory is for {entry.ecosystem}; the component's distro is unknown",
            fixed,
        )
    if version is None:
        if component.version_spec and ecosystem_scheme(entry.ecosystem) == "pep440":
            try:
                spec = SpecifierSet(component.version_spec)
            except InvalidSpecifier:
                return "unknown", f"range {component.version_spec!r} cannot be parsed", fixed
            listed = [v for v in entry.versions if _spec_contains(spec, v)]
            if listed:
                return (
                    "unknown",
                    f"range {component.version_spec} includes affected version {listed[0]}",
                    fixed,
                )
            for r, eco, err in ranges:
                if r is None:
                    return (
                        "unknown",
                        f"range {component.version_spec}; advisory range unparseable ({err})",
                        fixed,
                    )
                if eco == "SEMVER":
                    return (
                        "unknown",
                        f"range {component.version_spec}; advisory uses a SEMVER range",
                        fixed,
                    )
                hit = _specifier_overlaps(spec, r.intervals)
                if hit:
                    return (
                        "unknown",
                        f"range {component.version_spec} overlaps affected {hit}",
                        fixed,
                    )
            return None
        what = f"range {component.version_spec!r}" if component.version_spec else "no version"
        return "unknown", f"{what} known for {component.name}; cannot rule the advisory out", fixed

    if version in entry.versions:
        return "affected", f"{version} is listed in the affected versions", fixed
    if not entry.versions and not ranges:
        # Nothing to compare with (no versions, no ECOSYSTEM/SEMVER range): not ruled out.
        return "unknown", "advisory lists no affected versions or version ranges", fixed
    problems: list[str] = []
    comp_keys: dict[str, VersionKey | None] = {}
    for r, eco, err in ranges:
        if r is None:
            problems.append(f"advisory range unparseable ({err})")
            continue
        if eco not in comp_keys:
            try:
                comp_keys[eco] = version_key(eco, version)
            except (InvalidVersion, UnsupportedEcosystem) as exc:
                comp_keys[eco] = None
                problems.append(str(exc))
        key = comp_keys[eco]
        if key is None:
            continue
        if r.limits is not None and not any(key < lim for lim in r.limits):
            continue
        for iv in r.intervals:
            if iv.contains(key):
                return "affected", f"{version} in {iv.describe()}", fixed
    if entry.versions and not ranges:
        # Only an enumeration: compare parsed versions ("1.0" == "1.0.0" in PEP 440).
        try:
            key = version_key(entry.ecosystem, version)
            for v in entry.versions:
                try:
                    if version_key(entry.ecosystem, v) == key:
                        return "affected", f"{version} equals listed affected version {v}", fixed
                except InputError:
                    continue
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        return "unknown", "; ".join(dict.fromkeys(problems)), fixed
    return None


def _spec_contains(spec: SpecifierSet, version: str) -> bool:
    try:
        return spec.contains(Version(version), prereleases=True)
    except PkgInvalidVersion:
        return False


_OS_ECOSYSTEMS = {"debian", "ubuntu", "alpine"}


def _candidates(
    db: OsvDatabase, comp: Component
) -> Iterator[tuple[AffectedEntry, str | None, str]]:
    """(entry, version to compare, reason prefix) for a component.

    OS distributions publish advisories by source package ("glibc", "openssl"), while the
    installed packages are binaries ("libc6", "libssl3"): an OS package is looked up by its
    own name and by its source package (purl ``upstream`` qualifier), at the source
    version when stated and its own version otherwise.
    """
    for entry in db.entries_for(comp.ecosystem, comp.name):
        yield entry, comp.version, ""
    if base_ecosystem(comp.ecosystem).lower() not in _OS_ECOSYSTEMS:
        return
    src = source_package(comp)
    if src is None:
        return
    src_name, src_version = src
    if normalize_name(comp.ecosystem, src_name) == normalize_name(comp.ecosystem, comp.name):
        return
    version = src_version or comp.version
    prefix = (
        f"source package {src_name} {version}: " if src_version else f"source package {src_name}: "
    )
    for entry in db.entries_for(comp.ecosystem, src_name):
        yield entry, version, prefix


def match_components(db: OsvDatabase, components: Iterable[Component]) -> list[VulnMatch]:
    """Every advisory of ``db`` that affects (or may affect) each component.

    One match per (component, advisory); "affected" wins over "unknown" when several
    ``affected[]`` entries of an advisory apply. Results are ordered by component, then
    severity (highest first), then advisory id.
    """
    out: list[VulnMatch] = []
    for comp in components:
        best: dict[str, tuple[AffectedEntry, str, str, tuple[str, ...]]] = {}
        for entry, version, prefix in _candidates(db, comp):
            result = _evaluate(entry, comp, version)
            if result is None:
                continue
            status, reason, fixed = result
            reason = prefix + reason
            aid = entry.advisory.id
            prev = best.get(aid)
            if prev is None or (prev[1] == "unknown" and status == "affected"):
                merged_fixed = fixed if prev is None else tuple(dict.fromkeys(prev[3] + fixed))
                best[aid] = (entry, status, reason, merged_fixed)
            else:
                best[aid] = (prev[0], prev[1], prev[2], tuple(dict.fromkeys(prev[3] + fixed)))
        found: list[VulnMatch] = []
        for aid, (entry, status, reason, fixed) in best.items():
            severity, score, vector = severity_of(entry.advisory.raw, entry.raw)
            found.append(
                VulnMatch(
                    component=comp,
                    advisory_id=aid,
                    aliases=entry.advisory.aliases,
                    summary=entry.advisory.summary,
                    status=status,
                    severity=severity,
                    cvss_score=score,
                    cvss_vector=vector,
                    fixed_versions=fixed,
                    reason=reason,
                )
            )
        found.sort(key=lambda m: (-_SEVERITY_RANK.get(m.severity, 0), m.advisory_id))
        out.extend(found)
    return out


def coverage_gaps(db: OsvDatabase, components: Iterable[Component]) -> dict[str, int]:
    """Ecosystems of ``components`` for which ``db`` holds no advisory at all, with the
    number of components in each: an "all clear" for those is no evidence (for example
    a database of PyPI advisories used on an image full of Debian packages). The caller
    reports them, or treats the scan as incomplete."""
    have = db.ecosystems
    gaps: dict[str, int] = {}
    for c in components:
        base = base_ecosystem(c.ecosystem)
        if base.lower() not in have:
            gaps[base] = gaps.get(base, 0) + 1
    return dict(sorted(gaps.items()))
