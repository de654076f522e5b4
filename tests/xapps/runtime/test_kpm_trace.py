"""Recorded KPM streams: recorder, reader, `xtrust detect kpm`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from xtrust.e2sim.model import Cell, connect_cells
from xtrust.e2sim.scenarios import ScenarioEngine, load_scenario
from xtrust.errors import InputError
from xtrust.xapps.anomaly.kpm_trace import KpmRecorder, detect_kpm_trace, read_kpm_trace

T0 = 1_700_000_000.0


def record(path: Path, scenario: str, seconds: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    cells = [Cell(0x110 + i, pci=i, rng=random.Random(rng.random())) for i in range(2)]
    for c in cells:
        for _ in range(10):
            c.add_ue()
    connect_cells(cells)
    engine = ScenarioEngine(load_scenario(scenario), {"gnb_a": cells}, seed=seed)
    rec = KpmRecorder(path, batch=7)
    t = T0
    for _ in range(seconds):
        t += 1.0
        engine.tick(t)
        for c in cells:
            c.step(t, 1.0)
        for c in cells:
            rec.write(t, "gnb_a", c.cell_id, c.measurements())
    engine.close(t)
    rec.close()


def test_recorded_attack_is_flagged_and_benign_is_not(tmp_path: Path) -> None:
    record(tmp_path / "flood.jsonl", "ue-flood", 180)
    record(tmp_path / "benign.jsonl", "benign", 300, seed=1)
    flood = detect_kpm_trace(tmp_path / "flood.jsonl")
    assert flood["verdict"] == "attack" and flood["attack_class"] == "ue-flood"
    assert flood["reports"] == 360 and flood["evidence"][0]["entity"].startswith("gnb_a/")
    benign = detect_kpm_trace(tmp_path / "benign.jsonl")
    assert benign["verdict"] == "benign" and benign["score"] == 0.0


def test_malformed_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "t.jsonl"
    record(p, "benign", 60)
    with p.open("a") as f:
        f.write('not json\n{"time": 1, "node": "x"}\n\n{"time": "x", "node": 1}\n')
    skipped: list[str] = []
    assert len(list(read_kpm_trace(p, skipped))) == 120
    assert len(skipped) == 3
    assert detect_kpm_trace(p)["skipped"] == 3
    empty = tmp_path / "e.jsonl"
    empty.write_text("garbage\n")
    with pytest.raises(InputError, match="no KPM reports"):
        detect_kpm_trace(empty)


def test_detect_kpm_cli(tmp_path: Path) -> None:
    record(tmp_path / "a.jsonl", "jamming", 180)
    r = subprocess.run([sys.executable, "-m", "xtrust", "detect", "kpm", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["verdict"] for o in out] == ["attack"] and out[0]["attack_class"] == "jamming"
    r = subprocess.run([sys.executable, "-m", "xtrust", "detect", "kpm", str(tmp_path / "no")],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2 and "no such file" in r.stderr
    with pytest.raises(InputError, match="cannot record"):
        KpmRecorder(tmp_path / "a.jsonl" / "x")
