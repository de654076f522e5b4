"""SBOM, vulnerability and license analyzers around the SBOM and OSV engines.

* ``sbom`` builds the inventory once per run (syft plus our manifest readers,
  :func:`xtrust.certify.sbom.collect_sbom`); it has no findings of its own but
  an empty inventory of a target that has code is a failure, and reader
  warnings are recorded.
* ``vulnerabilities`` matches the inventory against an offline OSV database
  (``--vuln-db``); without one it is *skipped* with the reason. It records the
  database digest, its newest modification time and counts; matches with
  status ``unknown`` (the version could not be compared) are capped at medium.
* ``licenses`` checks each component's license expression against the
  policy's allow/deny lists (``A OR B`` passes if either side does, ``A AND B``
  only if both do).

Bulky data for the cache (the serialised SBOM and matches) lives in ``extra``
keys starting with ``_`` and is left out of the report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xtrust.certify.interface import (
    Analyzer,
    AnalyzerResult,
    Finding,
    Location,
    ScanContext,
)
from xtrust.certify.interface import Severity as S
from xtrust.certify.sbom import Component, Sbom, collect_sbom
from xtrust.certify.vuln import OsvDatabase, VulnMatch, match_components
from xtrust.errors import InputError

__all__ = [
    "LicenseAnalyzer",
    "SbomAnalyzer",
    "VulnAnalyzer",
    "component_from_json",
    "license_verdict",
    "sbom_from_json",
    "sbom_to_json",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def component_from_json(doc: Mapping[str, Any]) -> Component:
    fields = {f.name for f in dataclasses.fields(Component)}
    kwargs: dict[str, Any] = {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in doc.items() if k in fields
    }
    return Component(**kwargs)


def sbom_to_json(sbom: Sbom) -> dict[str, Any]:
    return {
        "components": [_jsonable(dataclasses.asdict(c)) for c in sbom.components],
        "tool_versions": dict(sbom.tool_versions),
        "warnings": list(sbom.warnings),
        "target_name": sbom.target_name,
    }


def sbom_from_json(doc: Mapping[str, Any]) -> Sbom:
    return Sbom(
        components=[component_from_json(c) for c in doc.get("components") or []],
        tool_versions=dict(doc.get("tool_versions") or {}),
        warnings=list(doc.get("warnings") or []),
        target_name=str(doc.get("target_name") or ""),
    )


def _match_to_json(m: VulnMatch) -> dict[str, Any]:
    doc = _jsonable(dataclasses.asdict(m))
    return dict(doc)


def _match_from_json(doc: Mapping[str, Any]) -> VulnMatch:
    kwargs: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in doc.items()}
    kwargs["component"] = component_from_json(doc["component"])
    return VulnMatch(**kwargs)


def _build_sbom(ctx: ScanContext) -> Sbom:
    sbom = collect_sbom(ctx.root, use_syft=True, timeout=ctx.timeout)
    sbom.target_name = Path(ctx.target).name
    return sbom


def _component_location(c: Component) -> Location:
    return Location(
        c.locations[0] if c.locations else "(sbom)", snippet=f"{c.name} {c.version or ''}"
    )


class SbomAnalyzer(Analyzer):
    name = "sbom"
    category = "sbom"
    revision = "1"
    nice = 5

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind == "descriptor":
            return "not applicable to a descriptor"
        return None

    def tool_version(self) -> str:
        from xtrust.certify.analyzers._tools import find_tool, tool_version

        exe = find_tool("syft")

        def parse(out: str) -> str:
            m = re.search(r"Version:\s*(\S+)", out)
            return m.group(1) if m else ""

        return (
            f"syft {tool_version(exe, [exe or 'syft', 'version'], parse)}; readers {self.revision}"
        )

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        sbom: Sbom = ctx.shared("sbom", lambda: _build_sbom(ctx))
        findings = [
            self.finding("sbom-reader-warning", S.INFO, w, Location("(sbom)"), key=w)
            for w in sbom.warnings[:200]
        ]
        if not sbom.components and ctx.kind == "image":
            return AnalyzerResult(
                self.name,
                "failed",
                "no packages found in the image (unsupported or empty root file system)",
                tool_version=self.tool_version(),
            )
        # a source tree without dependency manifests has an empty, but complete, inventory
        return self.result(
            findings,
            max(len(sbom.components), 1),
            extra={
                "components": len(sbom.components),
                "tool_versions": dict(sbom.tool_versions),
                "_sbom": sbom_to_json(sbom),
            },
        )

    def restore(self, ctx: ScanContext, result: AnalyzerResult) -> None:
        if "_sbom" in result.extra:
            ctx.put("sbom", sbom_from_json(result.extra["_sbom"]))


def _db_stat_key(path: Path) -> str:
    h = hashlib.sha256()
    items = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in items:
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


_VSEV = {"critical": S.CRITICAL, "high": S.HIGH, "medium": S.MEDIUM, "low": S.LOW, "none": S.INFO}


class VulnAnalyzer(Analyzer):
    name = "vulnerabilities"
    category = "vulnerability"
    revision = "1"

    def cache_salt(self, ctx: ScanContext) -> str:
        return _db_stat_key(ctx.vuln_db) if ctx.vuln_db else ""

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.vuln_db is None:
            return "no vulnerability database given (--vuln-db)"
        if ctx.kind == "descriptor":
            return "not applicable to a descriptor"
        if not ctx.vuln_db.exists():
            raise InputError(f"--vuln-db {ctx.vuln_db} does not exist")
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        assert ctx.vuln_db is not None
        db = OsvDatabase.load(ctx.vuln_db)
        sbom: Sbom = ctx.shared("sbom", lambda: _build_sbom(ctx))
        matches = match_components(db, sbom.components)
        ctx.put("vuln_matches", matches)
        findings: list[Finding] = []
        for m in matches:
            sev = _VSEV.get(m.severity, S.MEDIUM)
            if m.status != "affected":
                sev = min(sev, S.MEDIUM)
            c = m.component
            what = "is affected by" if m.status == "affected" else "may be affected by"
            fixed = f"; fixed in {', '.join(m.fixed_versions)}" if m.fixed_versions else ""
            findings.append(
                self.finding(
                    m.advisory_id,
                    sev,
                    f"{c.name} {c.version or c.version_spec or ''} ({c.ecosystem}) {what}"
                    f" {m.advisory_id}: {m.summary}{fixed}".strip(),
                    _component_location(c),
                    rule_name=m.advisory_id,
                    help_uri=f"https://osv.dev/vulnerability/{m.advisory_id}",
                    key=f"{c.purl or c.ecosystem + ':' + c.name}|{c.version}|{m.advisory_id}",
                    properties={
                        "status": m.status,
                        "aliases": list(m.aliases),
                        "cvss_score": m.cvss_score,
                        "cvss_vector": m.cvss_vector,
                        "purl": c.purl,
                        "fixed_versions": list(m.fixed_versions),
                        "reason": m.reason,
                    },
                )
            )
        newest = db.newest_modified.isoformat() if db.newest_modified else None
        return self.result(
            findings,
            len(sbom.components) if sbom.components else 1,
            extra={
                "database": {
                    "path": os.fspath(ctx.vuln_db),
                    "digest": db.digest,
                    "newest_modified": newest,
                    "advisories": db.count,
                    "malformed": len(db.malformed),
                },
                "_matches": [_match_to_json(m) for m in matches],
            },
        )

    def restore(self, ctx: ScanContext, result: AnalyzerResult) -> None:
        if "_matches" in result.extra:
            ctx.put("vuln_matches", [_match_from_json(m) for m in result.extra["_matches"]])


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def license_verdict(expression: str, allowed: Any) -> bool:
    """Evaluate an SPDX expression: OR passes if any side passes, AND/WITH need all."""
    tokens = _TOKEN.findall(expression)
    pos = 0

    def parse_or() -> bool:
        nonlocal pos
        value = parse_and()
        while pos < len(tokens) and tokens[pos].upper() == "OR":
            pos += 1
            right = parse_and()
            value = value or right
        return value

    def parse_and() -> bool:
        nonlocal pos
        value = parse_atom()
        while pos < len(tokens) and tokens[pos].upper() == "AND":
            pos += 1
            right = parse_atom()
            value = value and right
        return value

    def parse_atom() -> bool:
        nonlocal pos
        if pos >= len(tokens):
            return False
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = parse_or()
            if pos < len(tokens) and tokens[pos] == ")":
                pos += 1
            return value
        ok = bool(allowed(tok))
        if pos < len(tokens) and tokens[pos].upper() == "WITH":
            pos += 2  # the exception does not change the license
        return ok

    return parse_or()


class LicenseAnalyzer(Analyzer):
    name = "licenses"
    category = "license"
    revision = "1"
    cacheable = False  # depends on the policy's lists

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind == "descriptor":
            return "not applicable to a descriptor"
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        sbom: Sbom = ctx.shared("sbom", lambda: _build_sbom(ctx))
        if not sbom.components:
            return self.skipped("the SBOM has no components")
        deny = {d.lower() for d in ctx.license_deny}
        allow = {a.lower() for a in ctx.license_allow}
        findings = []
        for c in sbom.components:
            expr = " AND ".join(f"({x})" for x in c.licenses) if c.licenses else ""
            if not expr:
                if allow:
                    findings.append(
                        self.finding(
                            "license-unknown",
                            S.LOW,
                            f"{c.name} {c.version or ''}: no license information",
                            _component_location(c),
                            key=f"{c.purl or c.name}|{c.version}",
                        )
                    )
                continue
            if deny and not license_verdict(expr, lambda t: t.lower() not in deny):
                findings.append(
                    self.finding(
                        "license-denied",
                        S.HIGH,
                        f"{c.name} {c.version or ''}: license {', '.join(c.licenses)} is on the"
                        " policy's deny list",
                        _component_location(c),
                        key=f"{c.purl or c.name}|{c.version}",
                        properties={"licenses": list(c.licenses)},
                    )
                )
            elif allow and not license_verdict(
                expr, lambda t: t.lower() in allow and t.lower() not in deny
            ):
                findings.append(
                    self.finding(
                        "license-not-allowed",
                        S.MEDIUM,
                        f"{c.name} {c.version or ''}: license {', '.join(c.licenses)} is not on"
                        " the policy's allow list",
                        _component_location(c),
                        key=f"{c.purl or c.name}|{c.version}",
                        properties={"licenses": list(c.licenses)},
                    )
                )
        return self.result(findings, len(sbom.components))
