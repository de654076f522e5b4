"""Bandit (Python SAST). Parse errors make the analyzer fail: bandit itself exits
0 when it could not parse a file, and an unparsed file is an unscanned file."""

from __future__ import annotations

import importlib.metadata
import json
import re
from functools import cached_property

from xtrust.certify.analyzers._tools import find_tool, run_tool, tool_version
from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import app_files
from xtrust.errors import ExternalToolError

__all__ = ["BanditAnalyzer"]

_SEV = {"HIGH": S.HIGH, "MEDIUM": S.MEDIUM, "LOW": S.LOW, "UNDEFINED": S.LOW}
_NUMBERED = re.compile(r"^\s*(\d+)\s?(.*)$")


def _line(code: str, line: int) -> str | None:
    for raw in code.splitlines():
        m = _NUMBERED.match(raw)
        if m and int(m.group(1)) == line:
            return m.group(2).strip()
    return None


class BanditAnalyzer(Analyzer):
    name = "bandit"
    category = "sast"
    revision = "1"
    nice = 5

    @cached_property
    def exe(self) -> str | None:
        return find_tool("bandit")

    def tool_version(self) -> str:
        def parse(out: str) -> str:
            m = re.search(r"bandit\s+(\S+)", out)
            return m.group(1) if m else ""

        try:
            return importlib.metadata.version("bandit")
        except importlib.metadata.PackageNotFoundError:
            return tool_version(self.exe, [self.exe or "bandit", "--version"], parse)

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind not in ("source", "image", "helm"):
            return f"not applicable to a {ctx.kind} target"
        if not any(True for _ in app_files(ctx.root, ctx.kind, suffixes=(".py",))):
            return "no Python files in the target"
        if self.exe is None:
            return None  # run() reports the missing tool as a failure
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        if self.exe is None:
            raise ExternalToolError("not installed", tool="bandit")
        files = [rel for rel, _ in app_files(ctx.root, ctx.kind, suffixes=(".py",))]
        proc = run_tool(
            [self.exe, "-f", "json", "-q", "--", *files],
            tool="bandit",
            timeout=ctx.timeout,
            cwd=ctx.root,
        )
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise ExternalToolError(
                f"exited {proc.returncode} without a JSON report",
                tool="bandit",
                detail=proc.stderr[-2000:],
            ) from None
        errors = doc.get("errors") or []
        if errors:
            shown = "; ".join(
                f"{e.get('filename')}: {' '.join(str(e.get('reason', '')).split())[:120]}"
                for e in errors[:3]
            )
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            return AnalyzerResult(
                self.name,
                "failed",
                f"bandit could not scan {len(errors)} file(s): {shown}{more}",
                scanned_count=len(files) - len(errors),
                tool_version=self.tool_version(),
            )
        findings: list[Finding] = []
        for r in doc.get("results") or []:
            sev = _SEV.get(str(r.get("issue_severity", "")).upper(), S.MEDIUM)
            if str(r.get("issue_confidence", "")).upper() == "LOW" and sev > S.LOW:
                sev = S(sev - 1)
            line = int(r.get("line_number") or 0) or None
            rng = r.get("line_range") or []
            path = str(r.get("filename", "")).removeprefix("./")
            snippet = _line(str(r.get("code") or ""), line) if line else None
            cwe = (r.get("issue_cwe") or {}).get("id")
            findings.append(
                self.finding(
                    str(r.get("test_id")),
                    sev,
                    str(r.get("issue_text", "")).strip(),
                    Location(
                        path,
                        line,
                        max(rng) if rng else line,
                        (r.get("col_offset") or 0) + 1,
                        snippet,
                    ),
                    rule_name=str(r.get("test_name") or r.get("test_id")),
                    help_uri=r.get("more_info"),
                    properties={
                        "confidence": str(r.get("issue_confidence", "")).lower(),
                        **({"cwe": f"CWE-{cwe}"} if cwe else {}),
                    },
                )
            )
        return self.result(findings, len(files))
