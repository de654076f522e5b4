"""`xtrust ric run` configuration errors: one line naming the file and field, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("e2_port: -5\n", "e2_port: must be a port number"),
        ("bogus: 1\n", "bogus: unknown setting"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("e2_port: [\n", "not valid YAML"),
        ("plmn: '1-2'\n", "plmn: must be MCC-MNC"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "ric.yaml"
    cfg.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "xtrust", "ric", "run", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(cfg) in lines[0], proc.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xtrust", "ric", "run", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "cannot read" in proc.stderr
