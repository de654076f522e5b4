"""The leave-one-out figures on the public MobiFlow traces (skipped when they are absent)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).parents[3]
DATA = REPO / ".." / "shared" / "data" / "mobiflow"

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"MobiFlow data set not found at {DATA} (a shared/ beside the repo)"
)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "eval_mobiflow", REPO / "bench" / "eval_mobiflow.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_leave_one_out_flags_every_attack_and_no_benign() -> None:
    result = _bench().evaluate(DATA)
    t = result["totals"]
    assert t["attack_traces"] >= 5 and t["benign_traces"] >= 17
    assert t["attack_flagged"] == t["attack_traces"]
    assert t["benign_flagged"] == 0
    rows = {r["trace"]: r for r in result["rows"]}
    for name, row in rows.items():
        if row["label"] == "attack":
            expected = "blind_dos_tmsi" if name.startswith("blind_dos") else "null_cipher_integrity"
            assert row["attack_class"] == expected, name
            assert row["folds_flagged"] == f"{t['benign_traces']}/{t['benign_traces']}"
        else:
            assert row["score"] < 1.0, name  # the sequence model alone stays below threshold


def test_sequence_model_alone_catches_the_null_cipher_trace() -> None:
    result = _bench().evaluate(DATA)
    row = next(r for r in result["rows"] if r["trace"] == "null_cipher_integ_2.csv")
    assert row["score"] >= 1.0
    assert (
        row["sequence_folds_flagged"].split("/")[0] == row["sequence_folds_flagged"].split("/")[1]
    )


def test_bench_reports_a_missing_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench().main(["--data", str(tmp_path / "absent")]) == 2
    assert "no such directory" in capsys.readouterr().err


@functools.cache
def _figures() -> dict[str, Any]:
    totals: dict[str, Any] = _bench().evaluate(DATA)["totals"]
    return totals


def test_sequence_model_alone_flags_every_attack_and_no_benign() -> None:
    """Rules off: the benign model alone, leave-one-out, with room to spare on benign traces."""
    t = _figures()
    assert t["model_attack_flagged"] == t["attack_traces"]
    assert t["model_benign_flagged"] == 0
    assert t["model_benign_margin"] < 0.9  # highest held-out benign score / its threshold
    assert t["model_attack_lowest"] > 1.2
