"""The supply-chain walkthrough of `make demo` keeps working: certify -> ledger -> admit
allows, revoke -> admit denies (the script itself checks the deny's exit code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_supply_chain_demo(tmp_path: Path) -> None:
    env = {**os.environ, "XTRUST": str(Path(sys.executable).with_name("xtrust")),
           "TMPDIR": str(tmp_path)}  # fmt: skip
    r = subprocess.run(["bash", str(ROOT / "examples" / "supply_chain" / "demo.sh")], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "allow: sha256:" in r.stdout
    assert "deny: sha256:" in r.stdout and "is Revoked" in r.stdout
    assert not list(tmp_path.glob("xtrust-supply-chain.*"))  # the demo cleans up after itself
