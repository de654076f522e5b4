"""The committed artefact is exactly what the pinned solc produces from contracts/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLCJS = ROOT / "node_modules" / ".bin" / "solcjs"
ARTEFACT = ROOT / "xtrust" / "ledger" / "AppRegistry.json"


@pytest.mark.slow
@pytest.mark.skipif(not SOLCJS.exists(), reason="node_modules/.bin/solcjs missing (make node)")
def test_recompiling_gives_the_committed_bytes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--output", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "AppRegistry.json").read_bytes() == ARTEFACT.read_bytes()


def test_artefact_pins_compiler_and_target() -> None:
    import json

    doc = json.loads(ARTEFACT.read_text())
    assert doc["compiler"]["version"].startswith("0.8.37+")
    assert doc["compiler"]["evmVersion"] == "shanghai"
    assert doc["bytecode"].startswith("0x60")
    names = {item.get("name") for item in doc["abi"]}
    assert {"submit", "certify", "approve", "anchorBatch", "IllegalTransition"} <= names
