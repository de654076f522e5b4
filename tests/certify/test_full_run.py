"""The whole pipeline with the real tools (semgrep, bandit, syft) on tiny fixtures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.certify.conftest import GOOD_DESCRIPTOR, docker_archive, layer_tar, write_tree
from tests.certify.test_analyzers import write_osv
from xtrust.certify.analyzers import (
    BanditAnalyzer,
    DockerfileAnalyzer,
    SbomAnalyzer,
    SecretsAnalyzer,
    VulnAnalyzer,
)
from xtrust.certify.orchestrator import CertifyRun
from xtrust.certify.sbom import validate_cyclonedx, validate_spdx

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertifyRun, CertifyRun, Path]:
    from xtrust.certify.orchestrator import CertifyOptions, certify

    base = tmp_path_factory.mktemp("full")
    app = write_tree(
        base / "app",
        {
            "config-file.json": json.dumps(GOOD_DESCRIPTOR),
            "requirements.txt": "requests==2.19.0\n",
            "app.py": (Path(__file__).parent / "data_certify/oran_app.py.txt").read_text(),
        },
    )
    db = write_osv(base / "osv")
    cache = base / "cache"

    def run(out: str) -> CertifyRun:
        return certify(CertifyOptions(str(app), base / out, vuln_db=db, cache_dir=cache))

    return run("cold"), run("warm"), base


def test_full_run_cold_then_warm(full_run: tuple[CertifyRun, CertifyRun, Path]) -> None:
    """One test, so that parallel workers do not each build the module fixture."""
    cold, warm, base = full_run
    status = {r.analyzer: r.status for r in cold.results}
    assert status == {
        "target": "ok", "semgrep": "ok", "sbom": "ok", "bandit": "ok", "vulnerabilities": "ok",
        "licenses": "ok" if status["licenses"] == "ok" else "skipped", "secrets": "ok",
        "descriptor": "ok", "dockerfile": "skipped", "k8s": "skipped",
    }  # fmt: skip
    assert cold.verdict == "fail"
    rules = {(f["analyzer"], f["rule_id"]) for f in cold.report["findings"]}
    assert ("vulnerabilities", "PYSEC-2018-28") in rules
    assert ("semgrep", "xtrust-unsafe-deserialization") in rules
    assert any(a == "bandit" for a, _ in rules)
    assert cold.report["vulnerability_database"]["digest"].startswith("sha256:")
    out = base / "cold"
    cdx = (out / "sbom.cdx.json").read_text()
    validate_cyclonedx(cdx)
    validate_spdx(json.loads((out / "sbom.spdx.json").read_text()))
    doc = json.loads(cdx)
    assert doc["specVersion"] == "1.6"
    assert any(v["id"] == "PYSEC-2018-28" for v in doc.get("vulnerabilities", []))
    # secrets masked everywhere, even in bandit/semgrep snippets
    for p in out.iterdir():
        assert "s3cr3t-v4lue-1234" not in p.read_text(), p.name
    # the warm run reuses every cacheable result and gives the same findings
    cached = {r.analyzer for r in warm.results if r.cached}
    assert {"semgrep", "bandit", "sbom", "vulnerabilities", "secrets", "descriptor"} <= cached
    strip = lambda r: sorted((f["fingerprint"], f["state"]) for f in r.report["findings"])  # noqa: E731
    assert strip(cold) == strip(warm)
    assert warm.verdict == cold.verdict
    assert (base / "warm" / "sbom.cdx.json").exists()


def test_docker_archive_end_to_end(tmp_path: Path, run_certify: Callable[..., CertifyRun]) -> None:
    layer = layer_tar(
        {
            "usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\nLicense: Apache-2.0\n",
            "app/main.py": b"import subprocess\nsubprocess.call('ls', shell=True)\n",
            "app/Dockerfile": b"FROM python:3.11\nUSER 1000\nHEALTHCHECK CMD true\n",
        }
    )
    arc = docker_archive(
        tmp_path / "img.tar", [layer], {"config": {"User": "", "Env": ["PATH=/bin"]}}
    )
    analyzers = [
        SbomAnalyzer(),
        BanditAnalyzer(),
        VulnAnalyzer(),
        DockerfileAnalyzer(),
        SecretsAnalyzer(),
    ]
    run = run_certify(arc, vuln_db=write_osv(tmp_path / "osv"), analyzers=analyzers)
    status = {r.analyzer: r.status for r in run.results}
    assert run.report["target"]["kind"] == "image", run.report
    assert status["sbom"] == "ok" and status["bandit"] == "ok" and status["dockerfile"] == "ok"
    rules = {f["rule_id"] for f in run.report["findings"]}
    assert {"image-runs-as-root", "B602", "PYSEC-2018-28"} <= rules
    assert run.report["target"]["digest"].startswith("sha256:")
