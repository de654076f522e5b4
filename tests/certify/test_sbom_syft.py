"""syft on a small fixture tree, merged with our readers; syft failures are errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xtrust.certify.sbom import collect_sbom
from xtrust.certify.sbom import syft as syft_mod
from xtrust.certify.sbom.syft import find_syft, parse_syft_json
from xtrust.errors import ExternalToolError

DATA = Path(__file__).parent / "data_sbom"
SYFT = find_syft()
needs_syft = pytest.mark.skipif(SYFT is None, reason="syft is not installed (.venv/bin/syft)")


@pytest.mark.slow  # about 1 s alone; more on a loaded machine
@needs_syft
def test_syft_and_readers_merge(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    shutil.copy(DATA / "pytree" / "requirements-dev.txt", root / "requirements.txt")
    (root / "requirements.txt").write_text("pytest==8.0.0\nflask>=2.0\n")
    shutil.copy(DATA / "pytree" / "package-lock.json", root / "package-lock.json")
    sbom = collect_sbom(root)
    assert sbom.tool_versions["syft"][0].isdigit()
    comps = {(c.ecosystem, c.name): c for c in sbom.components}
    # found by both: merged into one component whose source names both
    pytest_c = comps[("PyPI", "pytest")]
    assert pytest_c.version == "8.0.0"
    assert pytest_c.source == "syft+requirements"
    assert pytest_c.locations == ("requirements.txt",)
    lodash = comps[("npm", "lodash")]
    assert lodash.source == "syft+package-lock" and lodash.licenses == ("MIT",)
    # syft ignores unpinned requirements; our reader keeps the range
    flask = comps[("PyPI", "flask")]
    assert flask.version is None and flask.version_spec == ">=2.0"
    assert flask.source == "requirements"


@pytest.mark.slow
@needs_syft
def test_syft_on_debian_rootfs() -> None:
    sbom = collect_sbom(DATA / "rootfs_debian")
    ssl = [c for c in sbom.components if c.name == "openssl"]
    assert len(ssl) == 1
    assert ssl[0].ecosystem == "Debian" and ssl[0].distro == "debian:12"
    assert "dpkg" in ssl[0].source
    # syft lists a package dpkg marks "deinstall ok config-files": dropped, with a warning
    assert "removed-pkg" not in {c.name for c in sbom.components}
    assert any("removed-pkg" in w and "not installed" in w for w in sbom.warnings)


def test_missing_syft_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(syft_mod, "find_syft", lambda: None)
    with pytest.raises(ExternalToolError, match="syft: not installed"):
        collect_sbom(tmp_path)
    # without syft, our readers still work
    assert collect_sbom(tmp_path, use_syft=False).components == []


def test_failing_syft_raises(tmp_path: Path) -> None:
    fake = tmp_path / "syft"
    fake.write_text("#!/bin/sh\necho 'boom: cannot scan' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ExternalToolError, match="status 3: boom"):
        syft_mod.run_syft(tmp_path, syft=str(fake))
    fake.write_text("#!/bin/sh\necho 'not json'\n")
    with pytest.raises(ExternalToolError, match="not JSON"):
        syft_mod.run_syft(tmp_path, syft=str(fake))
    fake.write_text("#!/bin/sh\nsleep 5\n")
    with pytest.raises(ExternalToolError, match="timed out"):
        syft_mod.run_syft(tmp_path, syft=str(fake), timeout=0.2)


def test_parse_syft_json_mapping() -> None:
    doc = {
        "descriptor": {"name": "syft", "version": "1.2.3"},
        "artifacts": [
            {
                "name": "libssl3",
                "version": "3.0.11-1~deb12u2",
                "type": "deb",
                "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
                "locations": [{"path": "/var/lib/dpkg/status"}],
                "licenses": [{"value": "Apache-2.0", "spdxExpression": "Apache-2.0"}],
            },
            {
                "name": "golang.org/x/net",
                "version": "v0.17.0",
                "type": "go-module",
                "purl": "pkg:golang/golang.org/x/net@v0.17.0",
            },
            {
                "name": "musl",
                "version": "1.2.4-r2",
                "purl": "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.19.1",
            },
            {
                "name": "commons-text",
                "version": "1.9",
                "purl": "pkg:maven/org.apache.commons/commons-text@1.9",
            },
            {"name": "weird", "version": "UNKNOWN", "type": "binary"},
            {"name": "zlib1g", "version": "1:1.2.13.dfsg-1", "type": "deb"},
        ],
    }
    comps, version = parse_syft_json(doc)
    assert version == "1.2.3"
    ssl, net, musl, maven, weird, zlib = comps
    # no purl: the syft package type names the ecosystem, and a purl is made
    assert (zlib.ecosystem, zlib.purl) == ("Debian", "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1")
    assert (ssl.ecosystem, ssl.distro, ssl.licenses, ssl.locations) == (
        "Debian", "debian:12", ("Apache-2.0",), ("var/lib/dpkg/status",)
    )  # fmt: skip
    assert (net.ecosystem, net.version) == ("Go", "v0.17.0")
    assert (musl.ecosystem, musl.distro) == ("Alpine", "alpine:3.19")
    assert (maven.ecosystem, maven.name) == ("Maven", "org.apache.commons:commons-text")
    assert (weird.ecosystem, weird.version) == ("binary", None)
    with pytest.raises(ExternalToolError):
        parse_syft_json({"no": "artifacts"})
