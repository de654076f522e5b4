"""The anomaly xApp's UE-level KPM path: the ``controls.kpm_ue`` switch, format-4
subscriptions to a simulated node through RIC-lite, per-UE alerts, bad reports."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from xtrust.e2sim.node import E2Node
from xtrust.e2sim.scenarios import ScenarioEngine, load_scenario
from xtrust.errors import ConfigError
from xtrust.ric.asn1 import kpm
from xtrust.ric.platform import RicLite, RicLiteConfig
from xtrust.ric.sdl import MemorySdl
from xtrust.xapps.anomaly.app import (
    ALL_UES,
    DESCRIPTOR,
    AnomalyXApp,
    _ue_measurements,
    ue_config,
)
from xtrust.xapps.anomaly.ue import UE_MEASUREMENTS, UeConfig

T0 = 1_795_000_000.0


def _config(tmp_path: Path, kpm_ue: Any) -> str:
    doc = json.loads(DESCRIPTOR.read_text())
    doc["controls"]["kpm_ue"] = kpm_ue
    path = tmp_path / "config-file.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _app(config: str | None = None, **kw: Any) -> AnomalyXApp:
    args: dict[str, Any] = {"rmr_port": 0, "http_port": 0, "host": "127.0.0.1", "env": {}}
    if config is not None:
        args["config"] = config
    return AnomalyXApp(**args, **kw)


# ------------------------------------------------------------------ the switch
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"enabled": True, "bogus": 1}, "controls.kpm_ue.bogus"),
        ({"enabled": "yes"}, "controls.kpm_ue.enabled"),
        ({"threshold": "high"}, "controls.kpm_ue.threshold"),
        ({"warmup": 2.5}, "controls.kpm_ue.warmup"),
        ({"seasonal": 1}, "controls.kpm_ue.seasonal"),
        ({"alpha": 0.0}, "controls.kpm_ue.alpha"),  # UeConfig's own range check
        ([1, 2], "controls.kpm_ue"),
    ],
)
def test_bad_kpm_ue_controls_name_the_field(raw: Any, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        ue_config(raw)
    assert err.value.field == field
    assert str(err.value).startswith(f"anomaly xApp: {field}: ")


def test_kpm_ue_controls_build_the_detector_config(tmp_path: Path) -> None:
    assert ue_config(None) == (False, UeConfig())
    on, cfg = ue_config({"enabled": True, "threshold": 4, "k": 3, "seasonal": False})
    assert on and cfg == UeConfig(threshold=4.0, k=3, seasonal=False)
    app = _app(_config(tmp_path, {"enabled": True, "surge": 5.0}))
    assert app.ue_detector is not None and app.ue_detector.config.surge == 5.0
    with pytest.raises(ConfigError, match=r"controls\.kpm_ue\.nope"):
        _app(_config(tmp_path, {"enabled": True, "nope": 1}))
    # the packaged descriptor (identical to deploy/anomaly/config-file.json) says it
    shipped = json.loads(DESCRIPTOR.read_text())["controls"]["kpm_ue"]
    assert (_app().ue_detector is not None) == shipped["enabled"]


def test_ue_measurements_follow_the_nodes_ran_function_definition() -> None:
    def info(definition: kpm.KpmRanFunctionDefinition) -> Any:
        fn = SimpleNamespace(ran_function_id=2, ran_function_definition=definition.encode().hex())
        return SimpleNamespace(gnb=SimpleNamespace(ran_functions=[fn]))

    style4 = kpm.KpmRanFunctionDefinition.standard(
        ("CQI", "DRB.UEThpDl", "RRU.PrbUsedUl"), styles=(1, 4)
    )
    assert _ue_measurements(info(style4), 2) == ("DRB.UEThpDl", "CQI")  # offered, in order
    none = kpm.KpmRanFunctionDefinition.standard(("RRU.PrbUsedUl",), styles=(4,))
    assert _ue_measurements(info(none), 2) == ()  # style 4, but nothing the detector reads
    # style 4 not listed (the simulator lists style 1 only), another function, no RNIB
    # entry: ask for all of them (a node that cannot serve them refuses)
    cell_only = kpm.KpmRanFunctionDefinition.standard(("DRB.UEThpDl",), styles=(1,))
    assert _ue_measurements(info(cell_only), 2) == UE_MEASUREMENTS
    assert _ue_measurements(info(style4), 3) == UE_MEASUREMENTS
    assert _ue_measurements(None, 2) == UE_MEASUREMENTS


# ------------------------------------------------------------------ bad input
@dataclass
class _Header:
    unix_time: float


@dataclass
class _Ind:
    header: Any
    message: Any


def _format3(ues: dict[int, dict[str, float]]) -> kpm.KpmIndicationMessageFormat3:
    guami = kpm.Guami(bytes.fromhex("00f110"), 1, 1, 0)
    return kpm.KpmIndicationMessageFormat3(tuple(
        kpm.UeMeasReport(kpm.GnbUeId(ue, guami), kpm.KpmIndicationMessageFormat1(
            ((tuple(m.values())),), meas_names=tuple(m)))
        for ue, m in ues.items()
    ))  # fmt: skip


def test_malformed_ue_reports_are_counted_and_skipped(tmp_path: Path) -> None:
    app = _app(_config(tmp_path, {"enabled": True}))
    good = {"DRB.UEThpDl": 800.0, "DRB.UEThpUl": 90.0, "RRU.PrbUsedDl": 4.0, "CQI": 9}
    msg = _format3({1: good, 2: good})
    broken = SimpleNamespace(ue_id=SimpleNamespace(alternative="x", value={}),
                             report=msg.reports[0].report)  # fmt: skip
    no_names = SimpleNamespace(ue_id=msg.reports[0].ue_id,
                               report=kpm.KpmIndicationMessageFormat1(((1.0,),)))  # fmt: skip
    unusable = _format3({4: {"DRB.UEThpDl": -5.0}}).reports[0]
    mixed = SimpleNamespace(reports=(*msg.reports, broken, no_names, "junk", unusable))
    app.on_kpm_ue(("gnb", 17), _Ind(_Header(T0), mixed))  # type: ignore[arg-type]
    assert app.counters["kpm_ue_reports"] == 2  # the two good UEs of the period scored
    assert app.counters["malformed_ue_reports"] == 4
    # whole indications that are not UE-level reports: skipped, never fatal
    cell_level = kpm.KpmIndicationMessageFormat1(((1.0,),), meas_names=("DRB.UEThpDl",))
    for bad in (_Ind(None, msg), _Ind(_Header(T0), cell_level), _Ind(_Header(float("nan")), msg)):
        app.on_kpm_ue(("gnb", 17), bad)  # type: ignore[arg-type]
    assert app.counters["malformed_ue_indications"] == 3
    assert app.counters["kpm_ue_reports"] == 2 and app.counters.get("alerts", 0) == 0
    metrics = app.metrics.render().decode()
    assert 'xtrust_anomaly_skipped_total{input="kpm_ue"} 7.0' in metrics
    assert 'xtrust_anomaly_reports_total{input="kpm_ue"} 2.0' in metrics


# ------------------------------------------------------------------ live, through RIC-lite
FLOOD = """name: short-flood
duration: 60
attacks:
  - type: ue-flood
    onset: 30
    duration: 30
    targets: [{node: 0, cell: 0}]
    intensity: 0.6
"""


def _live(tmp_path: Path, scenario: str, seed: int, seconds: float) -> AnomalyXApp:
    """A simulated gNB (1 cell, 10 UEs) under ``scenario`` at 25 x real time, RIC-lite
    and the anomaly xApp with UE-level KPM on; the app after ``seconds`` simulated."""
    speed = 25.0
    config = _config(tmp_path, {"enabled": True})

    async def main() -> AnomalyXApp:
        sdl = MemorySdl()
        ric_cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                                e2_transport="tcp")  # fmt: skip
        async with RicLite(ric_cfg, sdl=sdl) as ric:
            node = E2Node(0x100, "127.0.0.1", ric.e2_port, n_cells=1, ues_per_cell=10,
                          seed=seed, start_time=T0, speed=speed, backoff_max=0.5)  # fmt: skip
            engine = ScenarioEngine(load_scenario(scenario), {node.ran_name: node.cells},
                                    seed=seed)  # fmt: skip
            node.on_step = engine.tick
            task = asyncio.create_task(node.run())
            app = AnomalyXApp(config=config, ric=ric.rmr_address, sdl=sdl, rmr_port=0,
                              http_port=0, host="127.0.0.1", env={},
                              appmgr=f"http://127.0.0.1:{ric.http_port}/ric/v1",
                              cells={node.ran_name: [c.cell_id for c in node.cells]})  # fmt: skip
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                await app.start()
                loop = asyncio.get_running_loop()
                end = loop.time() + 10.0
                while node.sim_now < T0 + seconds and loop.time() < end:
                    await asyncio.sleep(0.05)
                levels = {(r.ue_level, r.conditions, r.meas) for r in node.reports.values()}
                assert (True, (ALL_UES,), UE_MEASUREMENTS) in levels  # format 4, every UE
                assert any(not ue_level for ue_level, _, _ in levels)  # and the cell level
            finally:
                await app.stop()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                engine.close()
            return app

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_live_ue_flood_raises_ue_alerts(tmp_path: Path) -> None:
    scenario = tmp_path / "flood.yaml"
    scenario.write_text(FLOOD)
    app = _live(tmp_path, str(scenario), seed=1, seconds=45)
    assert app.counters["subscriptions_ue"] == 1 and app.counters["kpm_ue_reports"] > 300
    ue_alerts = [a for a in app.alerts if a.entity_kind == "ue"]
    assert ue_alerts, app.counters
    a = ue_alerts[0]
    assert a.attack_class == "ue-flood" and a.node is not None
    cell_id, _, ue = a.entity_id.partition("/")  # the form the twin's evaluation matches
    assert cell_id == str(0x100 << 4 | 1) and ue.isdigit()
    assert T0 + 30 <= a.time <= T0 + 45 and a.features


def test_live_benign_cell_raises_no_ue_alert(tmp_path: Path) -> None:
    app = _live(tmp_path, "benign", seed=1, seconds=60)
    assert app.counters["kpm_ue_reports"] > 400
    assert [a for a in app.alerts if a.entity_kind == "ue"] == []


def test_twin_cli_has_the_switch() -> None:
    from click.testing import CliRunner

    from xtrust.e2sim.cli import twin

    out = CliRunner().invoke(twin, ["run", "--help"])
    assert out.exit_code == 0 and "--ue-kpm / --no-ue-kpm" in out.output


@pytest.mark.slow
def test_twin_turns_the_ue_level_path_on_and_off(tmp_path: Path) -> None:
    from xtrust.e2sim.twin import TwinConfig, run_twin

    scenario = tmp_path / "flood.yaml"
    # the per-UE population needs 20 periods before the onset: at 12.5x the xApp has
    # over 3 s of wall time to subscribe, even on a loaded machine
    scenario.write_text(
        FLOOD.replace("duration: 60", "duration: 75").replace("onset: 30", "onset: 45")
    )
    seen = {}
    for on in (True, False):
        (tmp_path / f"run-{on}").mkdir()
        cfg = TwinConfig(scenario=str(scenario), xapps=("anomaly",), nodes=1, cells_per_node=1,
                         ues_per_cell=10, speed=12.5, seed=1, ue_kpm=on,
                         ground_truth=str(tmp_path / f"run-{on}" / "gt.jsonl"))  # fmt: skip
        r = asyncio.run(run_twin(cfg))
        det = r["detection"]
        seen[on] = det["anomaly_counters"]
        assert det["detected"] == det["episodes_total"] == 1 and det["false_alarms"] == 0
        alerts = [json.loads(x) for x in Path(det["alerts_file"]).read_text().splitlines()]
        kinds = {(a["entity"]["kind"], a["attack_class"]) for a in alerts}
        assert (("ue", "ue-flood") in kinds) == on
    assert seen[True]["subscriptions_ue"] == 1 and seen[True]["kpm_ue_reports"] > 300
    assert "subscriptions_ue" not in seen[False] and "kpm_ue_reports" not in seen[False]
