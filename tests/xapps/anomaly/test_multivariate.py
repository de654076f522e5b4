"""Multivariate batch KPM detector: correlated shifts, quiet noise, learning, bad input."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from xtrust.e2sim.model import CQI_DIST_NAMES, SINR_DIST_NAMES
from xtrust.errors import ConfigError, InputError
from xtrust.xapps.anomaly.kpm import FEATURES, CellDetector, KpmDetector
from xtrust.xapps.anomaly.multivariate import BatchDetector, MvConfig

ROOT = Path(__file__).resolve().parents[3]


def _bench() -> ModuleType:
    name = "eval_multivariate_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "eval_multivariate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def report(rng: random.Random, *, thp_shift: float = 0.0, prb_shift: float = 0.0,
           cqi: float = 9.0) -> dict[str, float | int]:  # fmt: skip
    """A cell whose per-UE throughput and PRB use follow one demand factor (corr ~0.97)."""
    demand = rng.gauss(0.0, 0.4)
    m: dict[str, float | int] = {
        "DRB.UEThpDl": math.exp(7.0 + demand + rng.gauss(0, 0.07) + thp_shift),
        "RRU.PrbTotDl": math.exp(3.0 + demand + rng.gauss(0, 0.07) + prb_shift),
        "RRC.ConnEstabAtt": (n := rng.randrange(3)),
        "RRC.ConnEstabSucc": n,
        "RRC.ConnEstabFailCause.NetworkReject": 0,
        "RRC.ConnEstabFailCause.NoReply": 0,
        "RRC.ConnMean": 10,
    }
    cq = [0] * 16
    sn = [0] * len(SINR_DIST_NAMES)
    for _ in range(10):
        cq[max(0, min(15, round(rng.gauss(cqi, 1.0))))] += 1
        sn[max(0, min(len(sn) - 1, round(rng.gauss(7.0, 0.7))))] += 1
    m.update(zip(CQI_DIST_NAMES, cq, strict=True))
    m.update(zip(SINR_DIST_NAMES, sn, strict=True))
    return m


def run_both(cells: int, periods: int, shift_at: int | None, seed: int = 1,
             **shift: float) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:  # fmt: skip
    rng = random.Random(seed)
    mv = BatchDetector(MvConfig(unknown_score=1.0))
    uni = KpmDetector()
    mv_alerts: list[tuple[float, str]] = []
    uni_alerts: list[tuple[float, str]] = []
    keys = [f"c{i}" for i in range(cells)]
    for p in range(periods):
        kw = shift if shift_at is not None and p >= shift_at else {}
        reps = [report(rng, **(kw if k == "c0" else {})) for k in keys]
        for k, m in zip(keys, reps, strict=True):
            a = uni.update(k, float(p), m)
            if a is not None:
                uni_alerts.append((float(p), str(a.cell)))
        mv_alerts += [(a.time, str(a.cell)) for a in mv.update(float(p), keys, reps)]
    return mv_alerts, uni_alerts


def test_correlated_shift_the_univariate_misses_is_detected() -> None:
    # throughput down and PRB use up by 3.5 sigma each: against their correlation
    mv, uni = run_both(4, 200, 150, thp_shift=-1.4, prb_shift=1.4)
    assert uni == []  # every robust z stays under the univariate threshold (5)
    assert mv, "the multivariate detector missed the correlated shift"
    assert {c for _, c in mv} == {"c0"}
    assert min(t for t, _ in mv) <= 152  # k=2 of n=3: the second shifted report


def test_shift_along_the_correlation_is_not_an_anomaly() -> None:
    # both up together by the same amount: an ordinary busier cell, however far
    mv, _ = run_both(4, 200, 150, thp_shift=0.5, prb_shift=0.5)
    assert mv == []


def test_stationary_noise_raises_no_alarm() -> None:
    mv, uni = run_both(20, 600, None, seed=5)
    assert mv == []
    assert uni == []


def test_anomalous_reports_are_not_learnt() -> None:
    rng = random.Random(3)
    det = BatchDetector()
    for p in range(100):
        det.update(float(p), ["a"], [report(rng)])
    base = det.baseline("a")
    assert base is not None
    cqi0 = base["mean"]["cqi"]
    assert base["reports"]["cqi"] == 100
    fired = []
    for p in range(100, 400):  # jammed for 300 reports
        fired += det.update(float(p), ["a"], [report(rng, cqi=4.0)])
    base = det.baseline("a")
    assert base is not None
    assert abs(base["mean"]["cqi"] - cqi0) < 0.2  # the jammed CQI never became normal
    assert base["reports"]["cqi"] == 100
    assert len(fired) >= 297
    assert all(a.attack_class == "jamming" for a in fired)
    assert fired[-1].time == 399.0
    assert any(d.name == "cqi" and d.z < -3 for d in fired[-1].features)


def test_features_are_the_univariate_detectors() -> None:
    rng = random.Random(9)
    reps = [report(rng) for _ in range(20)]
    reps[3] = {"DRB.UEThpDl": 0, "RRC.ConnMean": 4}  # no UE had data; others missing
    x, v, _, ok, empty = BatchDetector().extract(reps)
    ref = CellDetector("ref")
    for j, m in enumerate(reps):
        ref._features(m)
        assert ok[j] and not empty[j]
        assert v[j].tolist() == ref.valid
        assert np.allclose(x[j][v[j]], np.array(ref.x)[v[j]])
    assert v[3].tolist() == [f == "conn" for f in FEATURES]


def test_malformed_and_missing_measurements_are_skipped() -> None:
    rng = random.Random(4)
    det = BatchDetector()
    keys = ["a", "b", "c", "d", "e", "f"]
    for p in range(60):
        det.update(float(p), keys, [report(rng) for _ in keys])
    bad = [
        {"DRB.UEThpDl": "fast", "RRC.ConnMean": 10},  # not a number
        None,  # not a mapping
        {"RRC.ConnEstabAtt": -5, "RRC.ConnMean": 10},  # a negative counter
        {"DRB.UEThpDl": math.nan, "RRU.PrbTotDl": math.inf},  # nothing finite
        {"RRC.ConnMean": 0},  # an empty cell: neither judged nor learnt
        {"DRB.UEThpDl": 1000.0, "RRC.ConnMean": 10},  # partial: scored on what it has
    ]
    before = det.baseline("f")
    assert before is not None
    assert det.update(60.0, keys, bad) == []  # type: ignore[arg-type]
    assert det.skipped == 4
    after = det.baseline("f")
    assert after is not None
    assert after["reports"]["thp_dl"] == before["reports"]["thp_dl"] + 1
    assert after["reports"]["cqi"] == before["reports"]["cqi"]
    e = det.baseline("e")
    assert e is not None and e["reports"]["thp_dl"] == 60
    with pytest.raises(InputError):
        det.update(61.0, ["a"], [])


def test_a_cell_twice_in_a_batch_is_scored_in_turn() -> None:
    rng = random.Random(2)
    det = BatchDetector()
    det.update(0.0, ["a", "a", "b"], [report(rng), report(rng), report(rng)])
    a, b = det.baseline("a"), det.baseline("b")
    assert a is not None and b is not None
    assert a["reports"]["thp_dl"] == 2 and b["reports"]["thp_dl"] == 1
    assert len(det) == 2


def test_bad_config_is_a_config_error() -> None:
    for kw in ({"alpha": 0.0}, {"p_value": 0.9}, {"k": 4, "n": 3}, {"shrink": 2.0},
               {"unknown_score": 0.5}, {"warmup": 1}):  # fmt: skip
        with pytest.raises(ConfigError):
            MvConfig(**kw)
    thr = MvConfig(p_value=1e-6).thresholds()
    assert math.isinf(thr[0]) and 23.0 < thr[1] < 24.0  # chi2 1 dof at 1e-6: 23.93


def test_model_scenarios_are_detected_and_benign_is_quiet() -> None:
    bench = _bench()
    from xtrust.xapps.anomaly.kpm import KpmConfig

    r = bench.run("signalling-storm", 0, KpmConfig(), MvConfig(), None)
    eps = r["multivariate"]["episodes"]
    assert eps and all(e["detected"] and e["class"] == e["label"] for e in eps)
    assert r["multivariate"]["false_alarms"] == 0
    b = bench.run("benign", 1, KpmConfig(), MvConfig(), None, duration=300)
    assert b["multivariate"]["false_alarms"] == 0


def test_batch_order_does_not_matter() -> None:
    # in order the batch takes the contiguous (view) path; reversed, the gather/scatter one
    rng = random.Random(8)
    keys = [f"c{i}" for i in range(5)]
    fwd, rev = BatchDetector(), BatchDetector()
    fwd.update(-1.0, keys, [{"RRC.ConnMean": 1} for _ in keys])
    rev.update(-1.0, keys, [{"RRC.ConnMean": 1} for _ in keys])
    fired: tuple[list[str], list[str]] = ([], [])
    for p in range(120):
        reps = [report(rng, cqi=4.0 if p >= 100 and k == "c2" else 9.0) for k in keys]
        fired[0].extend(str(a.cell) for a in fwd.update(float(p), keys, reps))
        fired[1].extend(str(a.cell) for a in rev.update(float(p), keys[::-1], reps[::-1]))
    assert fired[0] == fired[1] and set(fired[0]) == {"c2"}
    for k in keys:
        a, b = fwd.baseline(k), rev.baseline(k)
        assert a is not None and b is not None
        assert a["mean"] == pytest.approx(b["mean"]) and a["scale"] == pytest.approx(b["scale"])
        assert np.allclose(a["correlation"], b["correlation"])


def test_young_cells_lean_on_the_diagonal() -> None:
    """Correlations learnt from few reports weigh less: the same shift against them
    alerts in a cell with history, not in one 50 reports old (unless told to trust
    the young estimate)."""

    def alerts(cov_warmup: int, shift_at: int) -> int:
        rng = random.Random(2)
        det = BatchDetector(MvConfig(unknown_score=1.0, cov_warmup=cov_warmup))
        n = 0
        for p in range(shift_at + 5):
            kw = {"thp_shift": -1.1, "prb_shift": 1.1} if p >= shift_at else {}
            n += len(det.update(float(p), ["c0"], [report(rng, **kw)]))
        return n

    assert alerts(120, 150) > 0  # a cell with history: the correlation counts in full
    assert alerts(120, 50) == 0  # young: mostly the diagonal, under the threshold
    assert alerts(1, 50) > 0  # the same young cell trusting its estimate alerts
    with pytest.raises(ConfigError):
        MvConfig(cov_warmup=0)
