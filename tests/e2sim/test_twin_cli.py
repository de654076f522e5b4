"""`xtrust e2sim run` and `xtrust twin run`: real runs on loopback, bad input, determinism."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xtrust.e2sim.node import KPM_FUNCTION_ID, MEAS_NAMES, E2Node, _Report
from xtrust.e2sim.twin import TwinConfig, run_twin
from xtrust.errors import ConfigError, InputError
from xtrust.ric.asn1.e2ap_messages import RicRequestId


def xtrust(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xtrust", *args], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_same_seed_gives_the_same_indications() -> None:
    def stream(seed: int) -> list[bytes]:
        node = E2Node(7, "127.0.0.1", 1, n_cells=2, ues_per_cell=5, seed=seed, start_time=1.7e9)
        report = _Report(RicRequestId(123, 1), 1, 1.0, MEAS_NAMES, 1000, None)
        return [node.indication_pdu(report, 1.7e9 + i) or b"" for i in range(1, 30)]

    assert stream(3) == stream(3)
    assert stream(3) != stream(4)
    assert KPM_FUNCTION_ID == 2


def test_twin_run_writes_a_report_with_ground_truth(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.json"
    truth = tmp_path / "truth.jsonl"
    cfg = TwinConfig(scenario="jamming", nodes=1, cells_per_node=1, ues_per_cell=4, speed=60.0,
                     report=str(report), ground_truth=str(truth), start_time=1.7e9)  # fmt: skip
    result = asyncio.run(run_twin(cfg))
    assert json.loads(report.read_text())["scenario"] == result["scenario"] == "jamming"
    labels = {(g["label"], g["event"]) for g in result["ground_truth"]}
    assert labels == {("jamming", "start"), ("jamming", "end")}
    assert result["xapps"]["KpmMonitor"]["indications"] > 0
    assert result["detection"]["evaluated"] is False
    assert truth.read_text().count("\n") == 2


def test_twin_refuses_unknown_xapps_and_bad_scenarios(tmp_path: Path) -> None:
    TwinConfig(xapps=("anomaly", "segmentation")).validate()
    with pytest.raises(InputError, match="unknown xApp"):
        TwinConfig(xapps=("bogus",)).validate()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: 10\nattacks:\n  - type: jamming\n    onset: -1\n"
                   "    duration: 5\n    targets: [{node: 0, cell: 0}]\n")  # fmt: skip
    with pytest.raises(ConfigError, match="onset"):
        asyncio.run(run_twin(TwinConfig(scenario=str(bad))))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["e2sim", "run", "--ric", "nope"], "HOST:PORT"),
        (["e2sim", "run", "--ric", "127.0.0.1:1", "--plmn", "1-2"], "MCC-MNC"),
        (
            ["e2sim", "run", "--ric", "127.0.0.1:1", "--scenario", "no-such-attack"],
            "no-such-attack",
        ),
        (["twin", "run", "--xapps", "anomaly,bogus"], "unknown xApp"),
        (["twin", "run", "--mobiflow-model"], "--mobiflow-model needs the anomaly xApp"),
    ],
)
def test_cli_bad_input_one_line_exit_2(args: list[str], message: str) -> None:
    proc = xtrust(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_e2sim_run_against_ric_lite_process(tmp_path: Path) -> None:
    ric = subprocess.Popen(
        [sys.executable, "-m", "xtrust", "ric", "run", "--transport", "tcp", "--e2-port", "0",
         "--rmr-port", "0", "--a1-port", "0", "--rtmgr-port", "0"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert ric.stderr is not None
        line = ric.stderr.readline()
        e2 = line.split("E2 ")[1].split(" ")[0]  # "127.0.0.1:PORT"
        proc = xtrust("e2sim", "run", "--ric", e2, "--nodes", "3", "--cells-per-node", "2",
                      "--duration", "1.5", "--transport", "tcp", "--format", "json")  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        assert summary["nodes"] == 3 and summary["cells"] == 6 and summary["setups"] == 3
        assert summary["connected"] == 3
    finally:
        ric.terminate()
        ric.wait(timeout=10)


def test_twin_refuses_an_unwritable_report_before_running(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="--report"):
        asyncio.run(run_twin(TwinConfig(report=str(blocker / "sub" / "r.json"))))
