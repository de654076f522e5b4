"""Semgrep with the XTRUST rule pack for O-RAN apps, fully offline.

Runs ``semgrep scan`` with ``--metrics=off --disable-version-check`` and only
the local rule files shipped in :mod:`xtrust.certify.rules` (no registry
configs, no login); files that semgrep could not parse make it fail.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from functools import cached_property
from pathlib import Path

import yaml

from xtrust.certify.analyzers._tools import find_tool, run_tool, tool_version
from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import app_files
from xtrust.errors import ExternalToolError

__all__ = ["RULES_DIR", "SemgrepAnalyzer", "rule_pack"]

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
_PACK_GLOB = "semgrep-*.yaml"
_SEV = {"ERROR": S.HIGH, "WARNING": S.MEDIUM, "INFO": S.LOW}
_OFFLINE_ENV = {
    "SEMGREP_SEND_METRICS": "off",
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_APP_TOKEN": "",
}


def rule_pack() -> dict[str, dict[str, object]]:
    """The shipped rules by id (for SARIF rule metadata)."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted(RULES_DIR.glob(_PACK_GLOB)):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            out[str(rule["id"])] = rule
    return out


def _pack_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(RULES_DIR.glob(_PACK_GLOB)):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


class SemgrepAnalyzer(Analyzer):
    name = "semgrep"
    category = "sast"
    revision = "1"

    @cached_property
    def exe(self) -> str | None:
        return find_tool("semgrep")

    def tool_version(self) -> str:
        def parse(out: str) -> str:
            m = re.search(r"(\d+\.\d+\.\d+)", out)
            return m.group(1) if m else ""

        # `semgrep --version` alone checks for updates online (and can hang): avoid it
        version = _dist_version(self.exe) or tool_version(
            self.exe, [self.exe or "semgrep", "--version"], parse, _OFFLINE_ENV
        )
        return f"{version}+rules.{_pack_digest()}"

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind not in ("source", "image", "helm"):
            return f"not applicable to a {ctx.kind} target"
        if not any(True for _ in app_files(ctx.root, ctx.kind, suffixes=(".py",))):
            return "no Python files in the target (the XTRUST rule pack is for Python)"
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        if self.exe is None:
            raise ExternalToolError("not installed", tool="semgrep")
        files = [rel for rel, _ in app_files(ctx.root, ctx.kind, suffixes=(".py",))]
        unparsed = _unparsable(ctx.root, files)
        if unparsed:
            # semgrep skips files it cannot parse without reporting an error
            shown = "; ".join(unparsed[:3]) + (
                f" (+{len(unparsed) - 3} more)" if len(unparsed) > 3 else ""
            )
            return AnalyzerResult(
                self.name,
                "failed",
                f"semgrep could not analyze {len(unparsed)} file(s) that do not parse: {shown}",
                scanned_count=len(files) - len(unparsed),
                tool_version=self.tool_version(),
            )
        proc = run_tool(
            [
                self.exe,
                "scan",
                *[arg for p in sorted(RULES_DIR.glob(_PACK_GLOB)) for arg in ("--config", str(p))],
                "--json",
                "--metrics=off",
                "--disable-version-check",
                "--no-git-ignore",
                "--quiet",
                "--timeout",
                "30",
                "--",
                *files,
            ],
            tool="semgrep",
            timeout=ctx.timeout,
            cwd=ctx.root,
            env=_OFFLINE_ENV,
        )
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise ExternalToolError(
                f"exited {proc.returncode} without a JSON report",
                tool="semgrep",
                detail=proc.stderr[-2000:],
            ) from None
        # errors, and timeouts / out-of-memory at any level (the file was not fully scanned)
        errors = [
            e
            for e in doc.get("errors") or []
            if str(e.get("level", "error")) == "error"
            or re.search(r"(?i)timeout|out ?of ?memory", str(e.get("type", "")))
        ]
        if errors or proc.returncode not in (0, 1):
            shown = "; ".join(
                " ".join(str(e.get("path") or e.get("type") or "") for _ in [0]).strip()
                + ": "
                + " ".join(str(e.get("message", "")).split())[:160]
                for e in errors[:3]
            )
            return AnalyzerResult(
                self.name,
                "failed",
                f"semgrep exited {proc.returncode} with {len(errors)} error(s): {shown}",
                tool_version=self.tool_version(),
            )
        pack = rule_pack()
        findings: list[Finding] = []
        for r in doc.get("results") or []:
            rule_id = str(r.get("check_id", "")).rsplit(".", 1)[-1]
            rule = pack.get(rule_id, {})
            meta = rule.get("metadata") if isinstance(rule.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            extra = r.get("extra") or {}
            try:
                sev = S.parse(str(meta.get("xtrust-severity")))
            except ValueError:
                sev = _SEV.get(str(extra.get("severity", "")).upper(), S.MEDIUM)
            path = str(r.get("path", "")).removeprefix("./")
            line = int((r.get("start") or {}).get("line") or 0) or None
            snippet = _read_line(ctx.root / path, line) if line else None
            findings.append(
                self.finding(
                    rule_id,
                    sev,
                    " ".join(str(extra.get("message", "")).split()),
                    Location(
                        path,
                        line,
                        (r.get("end") or {}).get("line"),
                        (r.get("start") or {}).get("col"),
                        snippet,
                    ),
                    rule_name=str(meta.get("name") or rule_id),
                    help_uri=str(meta.get("references", [""])[0])
                    if meta.get("references")
                    else None,
                    properties={"cwe": meta["cwe"]} if meta.get("cwe") else {},
                )
            )
        scanned = len((doc.get("paths") or {}).get("scanned") or files)
        return self.result(findings, scanned)


def _unparsable(root: Path, files: list[str]) -> list[str]:
    """Python files that do not parse (semgrep would skip them silently)."""
    bad = []
    for rel in files:
        try:
            source = (root / rel).read_bytes()
            ast.parse(source, filename=rel)
        except (SyntaxError, ValueError) as exc:
            bad.append(f"{rel}: {getattr(exc, 'msg', None) or exc}")
        except (OSError, RecursionError, MemoryError):
            bad.append(f"{rel}: unreadable")
    return bad


def _dist_version(exe: str | None) -> str:
    """semgrep's version from its package metadata (its script's interpreter's site-packages)."""
    if exe is None:
        return ""
    try:
        with open(exe, "rb") as f:
            first = f.readline(4096).decode("utf-8", "replace")
    except OSError:
        return ""
    if not first.startswith("#!"):
        return ""
    env = Path(first[2:].strip().split()[0]).parent.parent
    for dist in sorted(env.glob("lib/python*/site-packages/semgrep-*.dist-info")):
        return dist.name.removeprefix("semgrep-").removesuffix(".dist-info")
    return ""


def _read_line(path: Path, line: int) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, text in enumerate(f, 1):
                if i == line:
                    return text.strip()[:400]
    except OSError:
        return None
    return None
