"""The ``xtrust sbom`` and ``xtrust osv`` commands through the real top-level CLI."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from xtrust import cli as top

DATA = Path(__file__).parent
OSV = DATA / "data_vuln" / "osv"
ROOTFS = DATA / "data_sbom" / "rootfs_debian"


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = dict(top.cli.lazy)
    lazy.setdefault("sbom", "xtrust.certify.sbom.cli:sbom")
    lazy.setdefault("osv", "xtrust.certify.vuln.cli:osv")
    monkeypatch.setattr(top.cli, "lazy", lazy)


def test_sbom_collect_writes_both_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdx, spdx = tmp_path / "bom.cdx.json", tmp_path / "bom.spdx.json"
    code = top.main(
        ["sbom", "collect", str(ROOTFS), "--no-syft", "--osv-db", str(OSV),
         "--cyclonedx", str(cdx), "--spdx", str(spdx), "--format", "json"]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["components"] == 4
    # openssl directly, libssl3 through its source package openssl
    assert summary["vulnerabilities"] == {"affected": 2, "unknown": 0}
    assert summary["osv"]["coverage_gaps"] == {}
    vulns = json.loads(cdx.read_text())["vulnerabilities"]
    assert [v["id"] for v in vulns] == ["DSA-5000-1", "DSA-5000-1"]
    assert json.loads(spdx.read_text())["spdxVersion"] == "SPDX-2.3"
    # an SBOM is a public document: a normal file (0666 less the umask), like the reports
    umask = os.umask(0)
    os.umask(umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in (cdx, spdx)} == {0o666 & ~umask}


def test_osv_info_match_cvss_compare(capsys: pytest.CaptureFixture[str]) -> None:
    assert top.main(["osv", "info", str(OSV), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["advisories"] == 10 and info["withdrawn_skipped"] == 1
    assert top.main(["osv", "match", str(OSV), str(ROOTFS), "--no-syft"]) == 0
    out = capsys.readouterr().out
    assert "DSA-5000-1" in out and "affected" in out
    assert top.main(["osv", "cvss", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"]) == 0
    assert capsys.readouterr().out.strip() == "9.8 critical"
    assert top.main(["osv", "compare", "Debian", "1.0~rc1", "1.0"]) == 0
    assert capsys.readouterr().out.strip() == "1.0~rc1 < 1.0"


def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert top.main(["osv", "cvss", "CVSS:3.1/AV:Q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err
    assert top.main(["osv", "compare", "npm", "1.2", "1.2.3"]) == 2
    err = capsys.readouterr().err
    assert "invalid semantic version" in err and err.count("\n") == 1
