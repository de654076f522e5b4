"""Secrets: known token formats and high-entropy strings, always masked.

Every reported value is masked (first 4 characters, then ``********``); the
fingerprint uses a SHA-256 of the value, never the value. :func:`mask_secrets`
is applied by the orchestrator to the messages and snippets of *every*
analyzer (a bandit or semgrep finding on a hard-coded password would otherwise
print it).

Skipped: binary files (a NUL in the first 8 KiB), files over 2 MiB, lock files
(hashes look random), and in container images the OS and language library
trees (``usr/lib``, ``usr/share``, ``lib``, ``usr/local/lib``, ...).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass

from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import app_files

__all__ = ["SecretsAnalyzer", "mask", "mask_secrets", "shannon_entropy"]

_MAX = 2 << 20
_LOCKFILES = {
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock",
    "go.sum", "Cargo.lock", "composer.lock", "Gemfile.lock", "uv.lock",
}  # fmt: skip


@dataclass(frozen=True)
class _Rule:
    id: str
    name: str
    severity: S
    pattern: re.Pattern[str]
    group: int = 0


_PLACEHOLDER = re.compile(
    r"(?i)^(changeme|change-me|example\w*|placeholder|dummy|none|null|true|false|xxx+|\*+|<[^>]*>|"
    r"\$\{?[\w.]+\}?|\{\{.*\}\}|%\(.*\)s|your[-_].*|test|testing|password|secret)$"
)

RULES: tuple[_Rule, ...] = (
    _Rule("secret-private-key", "Private key", S.CRITICAL,
          re.compile(r"-----BEGIN ((?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----")),
    _Rule("secret-aws-access-key-id", "AWS access key id", S.HIGH,
          re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[0-9A-Z]{16})(?![A-Z0-9])"), 1),
    _Rule("secret-aws-secret-key", "AWS secret access key", S.CRITICAL,
          re.compile(r"(?i)aws.{0,20}?secret.{0,20}?[=:]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"), 1),
    _Rule("secret-github-token", "GitHub token", S.HIGH,
          re.compile(r"\b((?:gh[pousr]_[A-Za-z0-9]{36,255})|(?:github_pat_[A-Za-z0-9_]{22,255}))\b"), 1),
    _Rule("secret-gitlab-token", "GitLab token", S.HIGH, re.compile(r"\b(glpat-[A-Za-z0-9_-]{20,})"), 1),
    _Rule("secret-slack-token", "Slack token", S.HIGH, re.compile(r"\b(xox[baprs]-[A-Za-z0-9-]{10,})"), 1),
    _Rule("secret-google-api-key", "Google API key", S.HIGH, re.compile(r"\b(AIza[0-9A-Za-z_-]{35})"), 1),
    _Rule("secret-stripe-key", "Stripe live key", S.HIGH, re.compile(r"\b((?:sk|rk)_live_[0-9a-zA-Z]{24,})"), 1),
    _Rule("secret-jwt", "JSON Web Token", S.MEDIUM,
          re.compile(r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"), 1),
    _Rule("secret-url-credentials", "Credentials in a URL", S.HIGH,
          re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^/\s:@\"']{1,64}:([^/\s:@\"']{3,128})@[\w.-]+"), 1),
    _Rule("secret-password-assignment", "Password or token assigned in code/config", S.HIGH,
          re.compile(
              r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|"
              r"client[_-]?secret|private[_-]?key)[\w.-]*[\"']?\s*[:=]\s*[\"']([^\"'\s]{8,200})[\"']"), 1),
)  # fmt: skip

_CANDIDATE = re.compile(r"[\"'`]([A-Za-z0-9+/=_-]{24,200})[\"'`]")
_HASH_CONTEXT = re.compile(r"(?i)(sha\d*|digest|checksum|integrity|hash|md5|uuid|nonce|example)")


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def mask(value: str) -> str:
    """The first 4 characters and a fixed run of ``*`` (the length is not revealed)."""
    return (value[:4] if len(value) > 8 else "") + "********"


def _high_entropy(value: str) -> bool:
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if classes < 3 or re.fullmatch(r"[0-9a-fA-F]+", value):
        return False
    if re.fullmatch(r"[A-Za-z]+(?:[_-][A-Za-z0-9]+)*", value):
        return False  # identifiers: some_name_like_this
    return shannon_entropy(value) >= 4.3


def mask_secrets(text: str) -> str:
    """``text`` with every detected secret value masked."""
    if not text:
        return text
    for rule in RULES:
        if rule.group == 0:
            continue

        def repl(m: re.Match[str], g: int = rule.group) -> str:
            value = m.group(g)
            if _PLACEHOLDER.match(value):
                return m.group(0)
            start, end = m.start(g) - m.start(0), m.end(g) - m.start(0)
            whole = m.group(0)
            return whole[:start] + mask(value) + whole[end:]

        text = rule.pattern.sub(repl, text)

    def ent(m: re.Match[str]) -> str:
        value = m.group(1)
        return m.group(0).replace(value, mask(value)) if _high_entropy(value) else m.group(0)

    return _CANDIDATE.sub(ent, text)


class SecretsAnalyzer(Analyzer):
    name = "secrets"
    category = "secrets"
    revision = "1"

    def applies(self, ctx: ScanContext) -> str | None:
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        findings: list[Finding] = []
        scanned = 0
        for rel, path in app_files(ctx.root, ctx.kind):
            if path.name in _LOCKFILES or path.name.endswith((".min.js", ".map")):
                continue
            try:
                if path.stat().st_size > _MAX:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            scanned += 1
            findings.extend(self._scan(rel, data.decode("utf-8", "replace")))
        if ctx.kind == "image" and ctx.image_config:
            cfg = ctx.image_config.get("config") or {}
            env = "\n".join(str(e) for e in (cfg.get("Env") or []) if isinstance(cfg, dict))
            findings.extend(self._scan("(image config Env)", env))
            scanned += 1
        return self.result(findings, scanned)

    def _scan(self, rel: str, text: str) -> list[Finding]:
        out: list[Finding] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if len(line) > 4000:
                line = line[:4000]
            taken: list[tuple[int, int]] = []
            for rule in RULES:
                for m in rule.pattern.finditer(line):
                    value = m.group(rule.group)
                    if rule.group and _PLACEHOLDER.match(value):
                        continue
                    span = (m.start(rule.group), m.end(rule.group))
                    if any(a <= span[0] < b for a, b in taken):
                        continue
                    taken.append(span)
                    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()
                    shown = mask(value) if rule.group else value
                    out.append(
                        self.finding(
                            rule.id,
                            rule.severity,
                            f"{rule.name} found ({shown})",
                            Location(
                                rel, lineno, lineno, span[0] + 1, mask_secrets(line.strip())[:300]
                            ),
                            rule_name=rule.name,
                            key=digest,
                        )
                    )
            if _HASH_CONTEXT.search(line):
                continue
            for m in _CANDIDATE.finditer(line):
                value = m.group(1)
                if any(a <= m.start(1) < b for a, b in taken) or not _high_entropy(value):
                    continue
                digest = hashlib.sha256(value.encode()).hexdigest()
                out.append(
                    self.finding(
                        "secret-high-entropy",
                        S.MEDIUM,
                        f"high-entropy string ({mask(value)}, {shannon_entropy(value):.1f} bits/char) may be a secret",
                        Location(
                            rel, lineno, lineno, m.start(1) + 1, mask_secrets(line.strip())[:300]
                        ),
                        rule_name="High-entropy string",
                        key=digest,
                    )
                )
        return out
