from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from xtrust import cli as xcli
from xtrust.ric.rmr import parse_route_table
from xtrust.xapps.segmentation import validate_network_policy

from .conftest import EXAMPLE


@pytest.fixture(autouse=True)
def _register(monkeypatch: pytest.MonkeyPatch) -> None:
    # what xtrust/cli.py will do: SUBCOMMANDS["segment"] = "...segmentation.cli:segment"
    lazy = dict(xcli.cli.lazy)
    lazy["segment"] = "xtrust.xapps.segmentation.cli:segment"
    monkeypatch.setattr(xcli.cli, "lazy", lazy)


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "policy.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


def _bad(doc: dict[str, Any]) -> dict[str, Any]:
    doc["flows"][6]["op"] = "write"
    return doc


def test_verify_clean_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert xcli.main(["segment", "verify", str(EXAMPLE)]) == 0
    assert "no untrusted asset reaches a critical asset" in capsys.readouterr().out


def test_verify_violation_exit_1_text_and_json(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, _bad(doc))
    assert xcli.main(["segment", "verify", str(p)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "guest -[flows[6] sdl:write]-> kpm -[flows[1] sdl:read]-> ts -[flows[4] e2-control:3]-> gnb"
    ]
    assert xcli.main(["segment", "verify", str(p), "--format", "json"]) == 1
    doc_out = json.loads(capsys.readouterr().out)
    assert doc_out["ok"] is False
    assert doc_out["violations"][0]["path"] == ["guest", "kpm", "ts", "gnb"]


def test_bad_input_exit_2_one_line(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    doc["flows"][3]["to"] = "kpimonx"
    p = _write(tmp_path, doc)
    assert xcli.main(["segment", "verify", str(p)]) == 2
    err = capsys.readouterr().err
    assert err == "xtrust: error: policy.yaml: flows[3].to: unknown asset 'kpimonx'\n"
    assert xcli.main(["segment", "compile", str(p), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
    assert xcli.main(["segment", "verify", str(tmp_path / "none.yaml")]) == 2


def test_compile_writes_everything(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert xcli.main(["segment", "compile", str(EXAMPLE), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == [
        "control.json",
        "networkpolicies.yaml",
        "redis-acl.txt",
        "routes.rt",
        "sdl-rules.json",
    ]
    acl = (out / "redis-acl.txt").read_text().splitlines()
    assert "ACL SETUSER kpimon on resetkeys resetchannels -@all %W~{kpm-data},*" in acl[1]
    table = parse_route_table((out / "routes.rt").read_text(), me=["service-ricxapp-ts-rmr:4560"])
    assert table.targets(12040) == ["service-ricplt-e2term-rmr:38000"]
    docs = list(yaml.safe_load_all((out / "networkpolicies.yaml").read_text()))
    assert len(docs) >= 5
    for d in docs:
        validate_network_policy(d)
    assert json.loads((out / "sdl-rules.json").read_text())["kpm-data"]["write"] == ["kpimon"]
    assert json.loads((out / "control.json").read_text()) == [
        {"xapp": "ts", "e2node": "gnb-1", "ran_functions": [3]}
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging left behind


def test_compile_refuses_violating_policy_and_writes_nothing(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, _bad(doc))
    out = tmp_path / "out"
    assert xcli.main(["segment", "compile", str(p), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "guest -[flows[6] sdl:write]-> kpm" in captured.out
    assert "refused, nothing written" in captured.err
    assert not out.exists()
    out.mkdir()
    (out / "routes.rt").write_text("old")
    assert xcli.main(["segment", "compile", str(p), "--out", str(out)]) == 1
    assert [x.name for x in out.iterdir()] == ["routes.rt"]
    assert (out / "routes.rt").read_text() == "old"


def test_compile_failure_mid_write_leaves_old_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "routes.rt").write_text("old")
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    assert xcli.main(["segment", "compile", str(EXAMPLE), "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert [x.name for x in out.iterdir()] == ["routes.rt"]
    assert (out / "routes.rt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # staging removed
