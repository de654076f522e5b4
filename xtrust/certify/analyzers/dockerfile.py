"""Dockerfile rules (and the same rules on an image's configuration).

Dockerfiles (``Dockerfile``, ``Dockerfile.*``, ``*.Dockerfile``,
``Containerfile``) are parsed with our own small parser: comments, parser
directives, line continuations (``\\`` or the ``escape`` directive), JSON and
shell forms. Rules: running as root in the final stage, mutable base image tags
(none, ``latest``), ``ADD`` from a URL, secrets in ``ENV``/``ARG``, no
``HEALTHCHECK``. A file that does not parse (no ``FROM``, unknown
instruction) is a finding. For container images the configuration's ``User``,
``Env`` and ``Healthcheck`` get the same checks. hadolint is run in addition
when it is installed (never required).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtrust.certify.analyzers._tools import find_tool, run_tool
from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import iter_files

__all__ = ["DockerfileAnalyzer", "Instruction", "is_dockerfile", "parse_dockerfile"]

_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip
_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|passwd|secret|token|api_?key|access_?key|private_?key|credential)"
)
_MAX = 1 << 20


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int
    text: str


class DockerfileError(ValueError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def is_dockerfile(name: str) -> bool:
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or name.endswith((".Dockerfile", ".dockerfile", ".containerfile"))
    )


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their first line number; raises DockerfileError."""
    escape = "\\"
    lines = text.splitlines()
    i = 0
    # parser directives: only at the very top
    while i < len(lines):
        m = re.match(r"^#\s*(\w+)\s*=\s*(\S+)\s*$", lines[i])
        if not m:
            break
        if m.group(1).lower() == "escape":
            escape = m.group(2)
        i += 1
    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [raw]
        while parts[-1].rstrip().endswith(escape) and i < len(lines):
            parts[-1] = parts[-1].rstrip()[: -len(escape)]
            while i < len(lines) and lines[i].lstrip().startswith("#"):
                i += 1  # comment lines inside a continuation are dropped
            if i < len(lines):
                parts.append(lines[i])
                i += 1
        joined = " ".join(p.strip() for p in parts).strip()
        keyword, _, args = joined.partition(" ")
        key = keyword.upper()
        if key not in _INSTRUCTIONS:
            raise DockerfileError(f"unknown instruction {keyword[:40]!r}", start)
        out.append(Instruction(key, args.strip(), start, joined))
    if not any(ins.keyword == "FROM" for ins in out):
        raise DockerfileError("no FROM instruction", None)
    first = next(ins for ins in out if ins.keyword not in ("ARG",))
    if first.keyword != "FROM":
        raise DockerfileError(f"{first.keyword} before the first FROM", first.line)
    return out


def _image_tag(ref: str) -> tuple[str, str | None, bool]:
    """(name, tag, has_digest) of an image reference."""
    if "@" in ref:
        return ref.split("@", 1)[0], None, True
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag, False
    return ref, None, False


def _env_pairs(args: str) -> list[tuple[str, str]]:
    try:
        tokens = shlex.split(args, posix=True)
    except ValueError:
        tokens = args.split()
    if tokens and "=" not in tokens[0]:
        return [(tokens[0], " ".join(tokens[1:]))]  # legacy "ENV KEY value"
    return [tuple(t.split("=", 1)) if "=" in t else (t, "") for t in tokens]  # type: ignore[misc]


def _is_root(user: str) -> bool:
    who = user.strip().split(":", 1)[0].strip().strip("'\"")
    return who in ("", "root", "0")


class DockerfileAnalyzer(Analyzer):
    name = "dockerfile"
    category = "misconfiguration"
    revision = "1"

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind == "image":
            return None if ctx.image_config is not None else "image has no configuration"
        if ctx.kind == "descriptor":
            return "not applicable to a descriptor"
        if not self._files(ctx):
            return "no Dockerfile in the target"
        return None

    def _files(self, ctx: ScanContext) -> list[tuple[str, Path]]:
        return [(rel, p) for rel, p in iter_files(ctx.root) if is_dockerfile(p.name)]

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        findings: list[Finding] = []
        scanned = 0
        if ctx.kind == "image" and ctx.image_config is not None:
            findings.extend(self._image(ctx.image_config))
            scanned += 1
        else:
            for rel, path in self._files(ctx):
                scanned += 1
                findings.extend(self._file(rel, path))
            hadolint = find_tool("hadolint")
            if hadolint:
                findings.extend(self._hadolint(hadolint, ctx))
        return self.result(findings, scanned)

    def _image(self, config: Mapping[str, Any]) -> list[Finding]:
        cfg = config.get("config") or config.get("Config") or {}
        out = []
        where = Location("(image config)")
        if not isinstance(cfg, dict):
            cfg = {}
        if _is_root(str(cfg.get("User") or "")):
            out.append(
                self.finding(
                    "image-runs-as-root", S.HIGH, "the image runs as root (no non-root User)", where
                )
            )
        for env in cfg.get("Env") or []:
            key, _, value = str(env).partition("=")
            if _SECRET_NAME.search(key) and value:
                out.append(
                    self.finding(
                        "image-secret-in-env",
                        S.HIGH,
                        f"environment variable {key} carries a secret value",
                        Location("(image config)", snippet=f"{key}=****"),
                        key=key,
                    )
                )
        if not cfg.get("Healthcheck"):
            out.append(
                self.finding(
                    "image-no-healthcheck", S.LOW, "the image defines no HEALTHCHECK", where
                )
            )
        return out

    def _file(self, rel: str, path: Path) -> list[Finding]:
        try:
            if path.stat().st_size > _MAX:
                return [
                    self.finding(
                        "dockerfile-too-large",
                        S.LOW,
                        "Dockerfile over 1 MiB; not checked",
                        Location(rel),
                    )
                ]
            text = path.read_bytes().decode("utf-8")
            instructions = parse_dockerfile(text)
        except UnicodeDecodeError:
            return [
                self.finding(
                    "dockerfile-malformed", S.MEDIUM, "Dockerfile is not UTF-8 text", Location(rel)
                )
            ]
        except DockerfileError as exc:
            return [
                self.finding(
                    "dockerfile-malformed",
                    S.MEDIUM,
                    f"Dockerfile does not parse: {exc}",
                    Location(rel, exc.line),
                )
            ]
        except OSError as exc:
            return [
                self.finding(
                    "dockerfile-unreadable", S.MEDIUM, f"cannot read: {exc.strerror}", Location(rel)
                )
            ]
        out: list[Finding] = []
        stages: list[str] = []
        user: Instruction | None = None
        health = False

        def at(ins: Instruction, snippet: str | None = None) -> Location:
            return Location(
                rel, ins.line, snippet=snippet if snippet is not None else ins.text[:300]
            )

        for ins in instructions:
            if ins.keyword == "FROM":
                tokens = [t for t in ins.args.split() if not t.startswith("--")]
                ref = tokens[0] if tokens else ""
                if len(tokens) >= 3 and tokens[1].upper() == "AS":
                    stages.append(tokens[2].lower())
                user = None  # USER is per stage
                health = False
                if ref.lower() in stages or ref == "scratch" or "$" in ref:
                    continue
                _, tag, digest = _image_tag(ref)
                if not digest and (tag is None or tag == "latest"):
                    out.append(
                        self.finding(
                            "dockerfile-mutable-base-tag",
                            S.MEDIUM,
                            f"base image {ref!r} uses {'no tag' if tag is None else 'the latest tag'}: builds are not reproducible; pin a version tag and digest",
                            at(ins),
                        )
                    )
            elif ins.keyword == "USER":
                user = ins
            elif ins.keyword == "HEALTHCHECK":
                health = not ins.args.upper().startswith("NONE")
            elif ins.keyword == "ADD":
                if re.search(r"(^|\s)(https?|ftp)://", ins.args):
                    out.append(
                        self.finding(
                            "dockerfile-add-url",
                            S.MEDIUM,
                            "ADD downloads from a URL without checksum verification; use curl with a pinned checksum, or ADD --checksum",
                            at(ins),
                        )
                    )
            elif ins.keyword in ("ENV", "ARG"):
                for key, value in _env_pairs(ins.args):
                    if _SECRET_NAME.search(key) and (value or ins.keyword == "ENV"):
                        out.append(
                            self.finding(
                                "dockerfile-secret-in-env",
                                S.HIGH,
                                f"{ins.keyword} {key} puts a secret into the image metadata/history; use build secrets (RUN --mount=type=secret)",
                                at(ins, f"{ins.keyword} {key}=****"),
                                key=key,
                            )
                        )
        last = instructions[-1] if instructions else None
        if user is None or _is_root(user.args):
            loc = (
                at(user)
                if user is not None
                else Location(rel, last.line if last else None, snippet="(no USER)")
            )
            out.append(
                self.finding(
                    "dockerfile-root-user",
                    S.HIGH,
                    "the final stage runs as root: add a USER with a non-zero UID",
                    loc,
                )
            )
        if not health:
            out.append(
                self.finding(
                    "dockerfile-no-healthcheck",
                    S.LOW,
                    "the final stage has no HEALTHCHECK",
                    Location(rel, snippet="(no HEALTHCHECK)"),
                )
            )
        return out

    def _hadolint(
        self, exe: str, ctx: ScanContext
    ) -> list[Finding]:  # pragma: no cover - optional tool
        out: list[Finding] = []
        for rel, _ in self._files(ctx):
            proc = run_tool(
                [exe, "--format", "json", rel], tool="hadolint", timeout=60, cwd=ctx.root
            )
            try:
                items = json.loads(proc.stdout or "[]")
            except json.JSONDecodeError:
                continue
            sev = {"error": S.HIGH, "warning": S.MEDIUM, "info": S.LOW, "style": S.INFO}
            for it in items:
                out.append(
                    self.finding(
                        f"hadolint-{it.get('code')}",
                        sev.get(str(it.get("level")), S.LOW),
                        str(it.get("message", "")),
                        Location(rel, it.get("line")),
                    )
                )
        return out
