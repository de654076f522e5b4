"""The contracts between the certification stages.

An :class:`Analyzer` looks at a prepared target (:class:`ScanContext`) and
returns an :class:`AnalyzerResult`: ``ok`` with its findings and how many
things it scanned, ``failed`` with a reason (the run becomes *incomplete*), or
``skipped`` with a reason (not applicable, or not configured). An analyzer
never reports a silent clean result: ``ok`` with ``scanned_count == 0`` is
turned into ``failed`` by the orchestrator.
"""

from __future__ import annotations

import enum
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Analyzer",
    "AnalyzerResult",
    "Finding",
    "Location",
    "ScanContext",
    "Severity",
    "Status",
]

Status = Literal["ok", "failed", "skipped"]


class Severity(enum.IntEnum):
    """Finding severity, ordered (``Severity.HIGH > Severity.LOW``)."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (one of {names})") from None


@dataclass(frozen=True)
class Location:
    """Where a finding is: a path relative to the target root, 1-based lines."""

    path: str
    start_line: int | None = None
    end_line: int | None = None
    start_column: int | None = None
    snippet: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "start_column": self.start_column,
            "snippet": self.snippet,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Location:
        return cls(
            path=str(doc["path"]),
            start_line=doc.get("start_line"),
            end_line=doc.get("end_line"),
            start_column=doc.get("start_column"),
            snippet=doc.get("snippet"),
        )


@dataclass(frozen=True)
class Finding:
    """One problem an analyzer found.

    ``fingerprint`` identifies the finding independently of its line number
    (see :func:`fingerprint_of`); the orchestrator fills it in. ``key`` is
    optional content that identifies the finding better than the snippet
    (a package and advisory id, a hash of a secret); it is hashed, never shown.
    """

    analyzer: str
    rule_id: str
    severity: Severity
    message: str
    category: str
    location: Location | None = None
    rule_name: str = ""
    help_uri: str | None = None
    key: str = ""
    fingerprint: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    def with_fingerprint(self, occurrence: int = 0) -> Finding:
        return replace(self, fingerprint=fingerprint_of(self, occurrence))

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "analyzer": self.analyzer,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "category": self.category,
            "severity": self.severity.label,
            "message": self.message,
            "location": self.location.to_json() if self.location else None,
            "help_uri": self.help_uri,
            "key": self.key,
            "properties": dict(self.properties),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Finding:
        loc = doc.get("location")
        return cls(
            analyzer=str(doc["analyzer"]),
            rule_id=str(doc["rule_id"]),
            severity=Severity.parse(doc["severity"]),
            message=str(doc["message"]),
            category=str(doc["category"]),
            location=Location.from_json(loc) if loc else None,
            rule_name=str(doc.get("rule_name") or ""),
            help_uri=doc.get("help_uri"),
            key=str(doc.get("key") or ""),
            fingerprint=str(doc.get("fingerprint") or ""),
            properties=dict(doc.get("properties") or {}),
        )


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def fingerprint_of(finding: Finding, occurrence: int = 0) -> str:
    """A line-independent identity: analyzer, rule, file, normalised code, key.

    The line number is not part of it, so moving code keeps the fingerprint;
    ``occurrence`` tells apart identical findings in the same file.
    """
    loc = finding.location
    parts = [
        finding.analyzer,
        finding.rule_id,
        loc.path if loc else "",
        _norm(loc.snippet if loc else "") if not finding.key else "",
        finding.key,
        str(occurrence),
    ]
    if not finding.key and not (loc and loc.snippet):
        parts.append(_norm(finding.message))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


@dataclass(frozen=True)
class AnalyzerResult:
    """What one analyzer reports."""

    analyzer: str
    status: Status
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    scanned_count: int = 0
    tool_version: str = ""
    duration_s: float = 0.0
    cached: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzer": self.analyzer,
            "status": self.status,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
            "scanned_count": self.scanned_count,
            "tool_version": self.tool_version,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AnalyzerResult:
        status = doc["status"]
        if status not in ("ok", "failed", "skipped"):
            raise ValueError(f"bad status {status!r}")
        return cls(
            analyzer=str(doc["analyzer"]),
            status=status,
            reason=str(doc.get("reason") or ""),
            findings=tuple(Finding.from_json(f) for f in doc.get("findings") or []),
            scanned_count=int(doc.get("scanned_count") or 0),
            tool_version=str(doc.get("tool_version") or ""),
            extra=dict(doc.get("extra") or {}),
        )


class ScanContext:
    """What analyzers see: the prepared target and shared, lazily built data.

    ``shared(name, build)`` computes a value once for all analyzers (the SBOM is
    built by whichever analyzer asks first; the others wait for it).
    """

    def __init__(
        self,
        root: Path,
        *,
        kind: str,
        target: str,
        vuln_db: Path | None = None,
        descriptor: Path | None = None,
        image_config: Mapping[str, Any] | None = None,
        license_allow: tuple[str, ...] = (),
        license_deny: tuple[str, ...] = (),
        timeout: float = 600.0,
        helm_values: Mapping[str, Any] | None = None,
    ):
        self.root = root
        #: user values merged over a chart's values.yaml (``helm template -f``)
        self.helm_values = dict(helm_values or {})
        self.kind = kind
        self.target = target
        self.vuln_db = vuln_db
        self.descriptor = descriptor
        self.image_config = image_config
        self.license_allow = license_allow
        self.license_deny = license_deny
        self.timeout = timeout
        self._shared: dict[str, Any] = {}
        self._errors: dict[str, BaseException] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def shared(self, name: str, build: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name in self._errors:
                raise self._errors[name]
            if name not in self._shared:
                try:
                    self._shared[name] = build()
                except BaseException as exc:
                    self._errors[name] = exc
                    raise
            return self._shared[name]

    def peek(self, name: str) -> Any:
        """A shared value if it was built, else None."""
        return self._shared.get(name)

    def put(self, name: str, value: Any) -> None:
        with self._guard:
            self._shared[name] = value


class Analyzer(ABC):
    """One kind of analysis. Subclasses set ``name`` and ``category``."""

    #: short stable id: bandit, semgrep, descriptor, ...
    name: str = ""
    #: finding category used by the policy's per-category limits
    category: str = ""
    #: bump when the analyzer's own logic changes (part of the cache key)
    revision: str = "1"
    #: results depend only on the content (and tool version): may be cached
    cacheable: bool = True
    #: added CPU niceness for the thread (and so the tools) running this analyzer; the
    #: orchestrator lowers helpers so the usual critical path (semgrep) gets the CPU
    nice: int = 0

    def tool_version(self) -> str:
        """Version of the external tool (or rule pack) behind the analyzer."""
        return self.revision

    def cache_salt(self, ctx: ScanContext) -> str:
        """Extra cache-key material beyond the content digest (a database digest)."""
        return ""

    def restore(self, ctx: ScanContext, result: AnalyzerResult) -> None:
        """Put shared data back into ``ctx`` from a cached result (the SBOM, say)."""
        return None

    def public_extra(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """The part of ``extra`` that belongs in the report (not bulky cache data)."""
        return {k: v for k, v in extra.items() if not k.startswith("_")}

    @abstractmethod
    def applies(self, ctx: ScanContext) -> str | None:
        """None when the analyzer should run; else the reason it is skipped."""

    @abstractmethod
    def run(self, ctx: ScanContext) -> AnalyzerResult:
        """Analyze; raise :class:`~xtrust.errors.XTrustError` for a failure."""

    def skipped(self, reason: str) -> AnalyzerResult:
        return AnalyzerResult(self.name, "skipped", reason, tool_version=self.tool_version())

    def result(
        self,
        findings: list[Finding],
        scanned: int,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> AnalyzerResult:
        return AnalyzerResult(
            self.name,
            "ok",
            findings=tuple(findings),
            scanned_count=scanned,
            tool_version=self.tool_version(),
            extra=dict(extra or {}),
        )

    def finding(
        self,
        rule_id: str,
        severity: Severity,
        message: str,
        location: Location | None = None,
        **kwargs: Any,
    ) -> Finding:
        return Finding(
            analyzer=self.name,
            rule_id=rule_id,
            severity=severity,
            message=message,
            category=kwargs.pop("category", self.category),
            location=location,
            **kwargs,
        )
