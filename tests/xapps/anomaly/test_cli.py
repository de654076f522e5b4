from __future__ import annotations

import json
from pathlib import Path

import pytest

from xtrust import cli

from .helpers import NONE, Builder, benign_attach, to_text


@pytest.fixture()
def xtrust_detect(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``xtrust`` with the ``detect`` group registered as it will be in SUBCOMMANDS."""
    monkeypatch.setitem(cli.cli.lazy, "detect", "xtrust.xapps.anomaly.cli:detect")
    return cli.main


@pytest.fixture()
def traces(tmp_path: Path) -> dict[str, Path]:
    benign = tmp_path / "benign"
    benign.mkdir()
    for k in range(3):
        (benign / f"b{k}.csv").write_text(to_text(benign_attach(100 + k), with_mobile_id=False))
    spoof = Builder()
    spoof.attach(100, s_tmsi=4242)
    spoof.add(9, ("RRCSetupRequest", "", 0, 0, 0), t=2, algs=NONE, s_tmsi=4242, cu=0)
    attack = tmp_path / "attack.csv"
    attack.write_text(to_text(spoof.records, with_mobile_id=True))
    ok = tmp_path / "ok.csv"
    ok.write_text("BS;1;5;v2.0;SECSM;1\n" + to_text(benign_attach(300), with_mobile_id=True)
                  + "UE;broken;line\n")  # fmt: skip
    return {"benign": benign, "attack": attack, "ok": ok}


def test_one_json_line_per_trace(xtrust_detect, traces, capsys) -> None:  # type: ignore[no-untyped-def]
    code = xtrust_detect(["detect", "mobiflow", "--benign", str(traces["benign"]),
                          str(traces["attack"]), str(traces["ok"])])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    rows = [json.loads(line) for line in out]
    assert [r["trace"] for r in rows] == [str(traces["attack"]), str(traces["ok"])]
    attack, ok = rows
    assert (attack["verdict"], attack["attack_class"]) == ("attack", "blind_dos_tmsi")
    assert attack["evidence"][0]["records"][1]["s_tmsi"] == 4242
    assert (ok["verdict"], ok["attack_class"], ok["evidence"]) == ("benign", None, [])
    assert ok["skipped_records"] == 1  # the malformed record is counted, not fatal
    assert all(isinstance(r["score"], float) for r in rows)


def test_benign_files_given_one_by_one(xtrust_detect, traces, capsys) -> None:  # type: ignore[no-untyped-def]
    files = sorted(traces["benign"].glob("*.csv"))
    args = ["detect", "mobiflow"]
    for f in files:
        args += ["--benign", str(f)]
    assert xtrust_detect([*args, str(traces["ok"])]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "benign"


@pytest.mark.parametrize("case", ["missing_trace", "missing_benign", "empty_benign", "garbage"])
def test_bad_input_is_one_line_exit_2(xtrust_detect, traces, tmp_path, capsys, case) -> None:  # type: ignore[no-untyped-def]
    benign, trace = str(traces["benign"]), str(traces["ok"])
    if case == "missing_trace":
        trace = str(tmp_path / "nope.csv")
    elif case == "missing_benign":
        benign = str(tmp_path / "nope")
    elif case == "empty_benign":
        (tmp_path / "empty").mkdir()
        benign = str(tmp_path / "empty")
    else:
        trace = str(tmp_path / "garbage.csv")
        Path(trace).write_text("hello;world\nnot a trace\n")
    code = xtrust_detect(["detect", "mobiflow", "--benign", benign, trace])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xtrust: error: ")


def test_benign_is_required(xtrust_detect, traces, capsys) -> None:  # type: ignore[no-untyped-def]
    assert xtrust_detect(["detect", "mobiflow", str(traces["ok"])]) == 2
    assert "--benign" in capsys.readouterr().err
