"""CI certifies the project's own xApps: their code, descriptor and Dockerfile together,
under the built-in policy, with every analyzer that applies; the run must pass."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("app", ["anomaly", "segmentation"])
def test_our_deploy_apps_certify(app: str, tmp_path: Path) -> None:
    target = tmp_path / app
    shutil.copytree(ROOT / "xtrust" / "xapps" / app, target,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("Dockerfile", "config-file.json"):
        shutil.copy(ROOT / "deploy" / app / name, target / name)
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "xtrust", "certify", str(target), "--output-dir", str(out),
         "--no-cache", "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert r.returncode == 0, (r.stderr, [f.get("message") for f in report["findings"]])
    assert report["verdict"] == "pass"
    ran = {a["name"]: a["status"] for a in report["analyzers"]}
    for analyzer in ("bandit", "semgrep", "descriptor", "dockerfile", "secrets", "sbom"):
        assert ran[analyzer] == "ok", (analyzer, ran)
