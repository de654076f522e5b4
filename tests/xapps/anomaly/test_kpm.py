"""Cell-level KPM detector: baselines, persistence, classification, false alarms."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from xtrust.e2sim.model import CQI_DIST_NAMES, SINR_DIST_NAMES
from xtrust.errors import ConfigError
from xtrust.xapps.anomaly.kpm import (
    FEATURES,
    UNKNOWN_KPM,
    CellDetector,
    KpmConfig,
    KpmDetector,
    classify,
)

ROOT = Path(__file__).resolve().parents[3]
COLORAN = ROOT.parent / "shared" / "data" / "coloran"
PRB = FEATURES.index("prb_dl")
CONN = FEATURES.index("conn")
CQI = FEATURES.index("cqi")


def _bench() -> ModuleType:
    name = "eval_kpm_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "eval_kpm.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def report(rng: random.Random, *, prb: float = 30.0, cqi: float = 9.0, sinr: float = 7.0,
           ues: int = 10, att: float = 0.5, thp: float = 2000.0) -> dict[str, float | int]:  # fmt: skip
    """A synthetic cell report: ``ues`` UEs around the given levels, Poisson-ish counters."""
    m: dict[str, float | int] = {
        "DRB.UEThpDl": round(thp * math.exp(rng.gauss(0, 0.1)), 1),
        "RRU.PrbTotDl": max(0, min(100, round(rng.gauss(prb, 3.0)))),
        "RRC.ConnEstabAtt": (n := sum(rng.random() < att / 4 for _ in range(4))),
        "RRC.ConnEstabSucc": n,
        "RRC.ConnEstabFailCause.NetworkReject": 0,
        "RRC.ConnEstabFailCause.NoReply": 0,
        "RRC.ConnMean": ues,
        "DRB.MeanActiveUeDl": ues,
    }
    cq = [0] * 16
    sn = [0] * len(SINR_DIST_NAMES)
    for _ in range(ues):
        cq[max(0, min(15, round(rng.gauss(cqi, 1.0))))] += 1
        sn[max(0, min(len(sn) - 1, round(rng.gauss(sinr, 0.7))))] += 1
    m.update(zip(CQI_DIST_NAMES, cq, strict=True))
    m.update(zip(SINR_DIST_NAMES, sn, strict=True))
    return m


def test_baseline_converges_on_a_stationary_series() -> None:
    rng = random.Random(1)
    det = CellDetector("c")
    for i in range(600):
        assert det.update(float(i), report(rng, prb=50.0)) is None
    # log1p(50) = 3.93; PRB sd 3 %-points ~ 0.06 in log: the floor (0.15) holds
    assert det.mean[PRB] == pytest.approx(math.log1p(50.0), abs=0.03)
    assert det.scale(PRB) == pytest.approx(0.15)
    assert det.mean[CONN] == pytest.approx(math.log1p(10), abs=1e-9)
    cqi = FEATURES.index("cqi")
    assert det.mean[cqi] == pytest.approx(9.0, abs=0.15)
    assert 0.3 <= det.scale(cqi) < 0.6  # mean of 10 draws of sd 1: ~0.32, floor 0.3


def test_step_in_prb_and_cqi_is_jamming_within_two_reports() -> None:
    rng = random.Random(2)
    det = KpmDetector()
    for i in range(100):
        assert det.update("c", float(i), report(rng)) is None
    before = det.cells["c"].mean[PRB]
    alerts = [det.update("c", 100.0 + j, report(rng, prb=80.0, cqi=4.0, sinr=4.0, thp=900.0))
              for j in range(5)]  # fmt: skip
    first = next(j for j, a in enumerate(alerts) if a is not None)
    assert first <= 1  # the 1st or 2nd report of the step
    alert = alerts[first]
    assert alert is not None
    assert alert.attack_class == "jamming"
    assert alert.cell == "c" and alert.time == 100.0 + first
    names = {d.name for d in alert.features}
    assert {"cqi", "sinr", "prb_dl"} <= names
    cqi = next(d for d in alert.features if d.name == "cqi")
    assert cqi.z < -3 and cqi.value < cqi.baseline
    # the attack does not become the baseline
    assert det.cells["c"].mean[PRB] == before


def test_single_outlier_does_not_alert_and_benign_direction_is_quiet() -> None:
    rng = random.Random(3)
    det = CellDetector("c")
    for i in range(100):
        det.update(float(i), report(rng))
    # anomalous (score ~8.6, over the threshold of 5) but under ``instant``: 1 of 3 waits
    assert det.update(100.0, report(rng, cqi=6.5)) is None
    assert det.z[CQI] < -KpmConfig().threshold
    for i in range(101, 110):
        assert det.update(float(i), report(rng)) is None
    # fewer UEs with more throughput each: a change, not an attack
    for i in range(110, 140):
        assert det.update(float(i), report(rng, ues=3, thp=8000.0, prb=20.0)) is None


def test_an_extreme_report_alerts_at_once() -> None:
    rng = random.Random(3)
    det = CellDetector("c")
    for i in range(100):
        det.update(float(i), report(rng))
    alert = det.update(100.0, report(rng, prb=95.0, cqi=3.0, sinr=3.0))  # score ~18
    assert alert is not None and alert.attack_class == "jamming"
    assert alert.score >= KpmConfig().instant
    # with ``instant`` above the clip, persistence holds even for it
    det = CellDetector("c", KpmConfig(instant=21.0))
    rng = random.Random(3)
    for i in range(100):
        det.update(float(i), report(rng))
    assert det.update(100.0, report(rng, prb=95.0, cqi=3.0, sinr=3.0)) is None


def test_warmup_produces_no_alarms() -> None:
    rng = random.Random(4)
    cfg = KpmConfig(warmup=40)
    det = CellDetector("c", cfg)
    for i in range(cfg.warmup):
        wild = report(rng, prb=rng.choice((5.0, 95.0)), cqi=rng.choice((2.0, 14.0)),
                      ues=rng.choice((3, 200)), att=rng.choice((0.1, 300.0)))  # fmt: skip
        assert det.update(float(i), wild) is None
    assert det.n_seen == [cfg.warmup] * len(FEATURES)  # every report was learnt
    assert not any(det.z)  # ... and none was scored
    det.update(float(cfg.warmup), report(rng))
    assert any(det.z)  # scoring starts after the warm-up


def test_empty_cell_is_neither_judged_nor_learnt() -> None:
    det = CellDetector("c")
    for i in range(50):
        assert det.update(float(i), {"RRC.ConnMean": 0, "DRB.UEThpDl": 0.0}) is None
    assert det.n_seen == [0] * len(FEATURES)


def test_classify_rules() -> None:
    z = [0.0] * len(FEATURES)

    def with_(**kw: float) -> list[float]:
        out = list(z)
        for k, v in kw.items():
            out[FEATURES.index(k)] = v
        return out

    assert classify(with_(sinr=-8), 1, 1, 20, 3) == "jamming"
    assert classify(with_(att=9, fail=9), 50, 1, 20, 3) == "fake-bs"
    assert classify(with_(att=9, succ=9, conn=10), 100, 99, 20, 3) == "signalling-storm"
    assert classify(with_(att=9, succ=9, conn=10), 20, 20, 100, 3) == "ue-flood"
    assert classify(with_(conn=10, prb_dl=4), 0, 0, 60, 3) == "ue-flood"
    assert classify(with_(prb_dl=9), 0, 0, 60, 3) == UNKNOWN_KPM
    # where active UEs (with data) are reported, they tell a flood from a storm, also
    # in a saturated cell, where the two otherwise look alike
    storm = with_(att=8, succ=8, conn=7, active=0.5)
    assert classify(storm, 110, 110, 95, 3) == "ue-flood"  # without the feature
    assert classify(storm, 110, 110, 95, 3, active=True) == "signalling-storm"
    flood = with_(att=4, succ=4, conn=5, active=6)
    assert classify(flood, 17, 17, 100, 3, active=True) == "ue-flood"
    assert classify(with_(sinr=-8, active=6), 1, 1, 20, 3, active=True) == "jamming"


def test_cell_measurements_follow_what_the_node_offers() -> None:
    from types import SimpleNamespace

    from xtrust.e2sim.node import ran_functions
    from xtrust.xapps.anomaly.app import KPM_MEASUREMENTS, _cell_measurements

    def node(functions: list[SimpleNamespace]) -> SimpleNamespace:
        return SimpleNamespace(gnb=SimpleNamespace(ran_functions=functions))

    fns = [SimpleNamespace(ran_function_id=f.id, ran_function_definition=f.definition.hex())
           for f in ran_functions()]  # fmt: skip
    wanted = [*KPM_MEASUREMENTS, "Not.A.Measurement"]
    assert _cell_measurements(node(fns), 2, wanted) == list(KPM_MEASUREMENTS)
    assert _cell_measurements(node([]), 2, wanted) == wanted  # the node does not say


def test_bad_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        KpmConfig(alpha=0.0)
    with pytest.raises(ConfigError):
        KpmConfig(k=4, n=3)
    with pytest.raises(ConfigError):
        KpmConfig(threshold=25.0)
    with pytest.raises(ConfigError, match="instant"):
        KpmConfig(instant=4.0)


def test_no_alarm_on_a_long_benign_model_run() -> None:
    bench = _bench()
    nodes = bench.build_cells(11, nodes=2, cells=2)
    det = KpmDetector()
    t = bench.T0
    alerts = []
    reports = 0
    for _ in range(900):
        t += 1.0
        for cells in nodes.values():
            for cell in cells:
                cell.step(t, 1.0)
                reports += 1
                a = det.update(cell.cell_id, t, cell.measurements())
                if a is not None:
                    alerts.append(a)
    assert reports == 3600
    assert alerts == []


@pytest.mark.parametrize("scenario", ["signalling-storm", "ue-flood", "fake-bs", "jamming"])
def test_scenario_episodes_are_detected_and_classified(scenario: str) -> None:
    bench = _bench()
    r = bench.run_scenario(scenario, 0, KpmConfig())
    assert r["episodes"], "the scenario has cell episodes"
    for ep in r["episodes"]:
        assert ep["label"] == scenario
        assert ep["detected"]
        assert ep["class"] == scenario
        assert ep["delay"] <= 2
    assert r["false_alarms"] == 0


def test_coloran_false_alarms() -> None:
    if not COLORAN.is_dir():
        pytest.skip(f"ColO-RAN data not found at {COLORAN} (see shared/data/README.md)")
    bench = _bench()
    res = bench.run_coloran(COLORAN, KpmConfig())
    assert res is not None and res["reports"] > 1000
    assert res["alarms"] * 10_000 <= res["reports"]  # <= 1 per 10,000 reports


def test_features_that_move_together_corroborate_each_other() -> None:
    """Three features each 4 scales up (under the threshold of 5 alone) make a report
    anomalous; two do not. A flood that adds UEs and attaches in a busy cell is named."""
    import random as rnd

    from xtrust.xapps.anomaly.kpm import CellDetector, KpmConfig

    def base(r: rnd.Random) -> dict[str, float]:
        return {"RRC.ConnMean": 12 * math.exp(r.gauss(0, 0.05)),
                "RRC.ConnEstabAtt": 2 * math.exp(r.gauss(0, 0.05)),
                "RRC.ConnEstabSucc": 2 * math.exp(r.gauss(0, 0.05)),
                "RRU.PrbTotDl": 95.0, "DRB.UEThpDl": 900.0}  # fmt: skip

    def run(boost: dict[str, float]) -> list[str]:
        r = rnd.Random(1)
        det = CellDetector(1, KpmConfig())
        for i in range(200):
            det.update(float(i), base(r))
        out = []
        for i in range(200, 204):
            m = base(r)
            for name, z in boost.items():  # z scales above the learnt mean, in log space
                scale = max(
                    1.25 * det.mad[det_index[name]], 0.35 if name != "RRC.ConnMean" else 0.08
                )
                m[name] = math.expm1(det.mean[det_index[name]] + z * scale)
            alert = det.update(float(i), m)
            if alert is not None:
                out.append(alert.attack_class)
        return out

    det_index = {"RRC.ConnMean": 7, "RRC.ConnEstabAtt": 4, "RRC.ConnEstabSucc": 5}
    three = {"RRC.ConnMean": 4.2, "RRC.ConnEstabAtt": 4.2, "RRC.ConnEstabSucc": 4.2}
    assert run(three) and set(run(three)) == {"ue-flood"}
    assert run({"RRC.ConnMean": 4.2, "RRC.ConnEstabAtt": 4.2}) == []
