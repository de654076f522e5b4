"""The RAN model: measurements, per-UE values, sessions, mobility, scheduling, determinism."""

from __future__ import annotations

import dataclasses
import io
import math
import random

import pytest

from xtrust.e2sim.mobiflow import MobiflowWriter
from xtrust.e2sim.model import (
    CELL_MEAS_NAMES,
    CQI_DIST_NAMES,
    CQI_EFFICIENCY,
    MCS_EFFICIENCY,
    SINR_BIN_EDGES_DB,
    SINR_DIST_NAMES,
    UE_MEAS_NAMES,
    Cell,
    Profile,
    connect_cells,
    cqi_of_sinr,
    daily_load,
    mcs_of_cqi,
)

BUSY = 1_700_000_000 - 1_700_000_000 % 86400 + 17 * 3600  # 17:00 UTC
NIGHT = BUSY + 11 * 3600  # 04:00 UTC the next day


def make_cell(seed: int = 1, ues: int = 10, **kw: object) -> Cell:
    cell = Cell(17, 1, random.Random(seed), **kw)  # type: ignore[arg-type]
    for _ in range(ues):
        cell.add_ue()
    return cell


def run(cell: Cell, steps: int, t0: float = BUSY, dt: float = 1.0) -> list[dict[str, float | int]]:
    out = []
    for i in range(steps):
        cell.step(t0 + (i + 1) * dt, dt)
        out.append(cell.measurements())
    return out


def test_cell_reports_every_documented_name_and_only_those() -> None:
    cell = make_cell()
    (m,) = run(cell, 1)
    assert tuple(m) == CELL_MEAS_NAMES
    assert len(CQI_DIST_NAMES) == 16 and CQI_DIST_NAMES[7] == "CARR.WBCQIDist.Bin7.Bin1.Bin1"
    assert len(SINR_DIST_NAMES) == len(SINR_BIN_EDGES_DB) - 1 == 13
    assert SINR_BIN_EDGES_DB[0] == -23 and SINR_BIN_EDGES_DB[-1] == 40


def test_distributions_count_one_report_per_ue_and_step() -> None:
    cell = make_cell()
    steps = 5
    for _ in range(steps):
        cell.step(BUSY, 0.0)  # no time passes: the population stays put
    m = cell.measurements()
    n = len(cell.ues) * steps
    assert sum(int(m[k]) for k in CQI_DIST_NAMES) == n
    assert sum(int(m[k]) for k in SINR_DIST_NAMES) == n
    # counters restart after a report
    m2 = cell.measurements()
    assert sum(int(m2[k]) for k in CQI_DIST_NAMES) == 0


def test_cqi_distribution_follows_the_ues_cqi() -> None:
    cell = make_cell()
    cell.step(BUSY + 1, 1.0)
    m = cell.measurements()
    per_ue = cell.ue_measurements()
    for cqi in range(16):
        assert m[CQI_DIST_NAMES[cqi]] == sum(1 for v in per_ue.values() if v["CQI"] == cqi)


def test_ue_measurements_for_kpm_format_4() -> None:
    cell = make_cell(ues=8)
    run(cell, 3)
    per = cell.ue_measurements()
    assert set(per) == set(cell.ues)
    for values in per.values():
        assert tuple(values) == UE_MEAS_NAMES
        assert 0 <= values["CQI"] <= 15
        assert values["DRB.UEThpDl"] >= 0 and values["RRU.PrbUsedDl"] >= 0
        assert -60 < values["L1M.DL-SS-SINR"] < 60
        assert -140 < values["L1M.DL-SS-RSRP"] < -40
    # the cell's mean UE throughput is the mean over the UEs with data
    active = [v["DRB.UEThpDl"] for v in per.values() if v["DRB.UEThpDl"] > 0]
    cell_thp = cell.thp_dl_kbps
    assert cell_thp == pytest.approx(sum(active) / len(active), rel=0.01)
    assert sum(v["RRU.PrbUsedDl"] for v in per.values()) == pytest.approx(cell.prb_dl, abs=0.1)


def test_higher_sinr_means_higher_cqi_and_throughput_per_prb() -> None:
    def cqis(offset: float) -> float:
        cell = make_cell(seed=4, ues=20)
        for ue in cell.ues.values():
            ue.mean_sinr_db += offset
            ue.sinr_db += offset
        run(cell, 5)
        return sum(v["CQI"] for v in cell.ue_measurements().values()) / len(cell.ues)

    assert cqis(-10.0) < cqis(0.0) < cqis(10.0)


def test_cqi_and_mcs_tables() -> None:
    assert [mcs_of_cqi(c) for c in (0, 1, 15)] == [0, 0, 28]
    mcs = [mcs_of_cqi(c) for c in range(16)]
    assert mcs == sorted(mcs)
    for c in range(2, 16):  # never more efficient than the CQI promises, and the best that is
        m = mcs_of_cqi(c)
        assert MCS_EFFICIENCY[m] <= CQI_EFFICIENCY[c] + 1e-9
        assert all(e > CQI_EFFICIENCY[c] + 1e-9 for e in MCS_EFFICIENCY[m + 1 :])
    assert cqi_of_sinr(-100) == 0 and cqi_of_sinr(100) == 15


def test_model_is_deterministic_and_mobiflow_does_not_change_it() -> None:
    def measurements(seed: int, watch: bool) -> list[dict[str, float | int]]:
        cell = make_cell(seed)
        if watch:
            MobiflowWriter(io.StringIO()).watch([cell])
        return run(cell, 60)

    assert measurements(5, False) == measurements(5, False) == measurements(5, True)
    assert measurements(5, False) != measurements(6, False)


def test_population_churns_around_its_level_and_follows_the_day() -> None:
    day = run(make_cell(seed=2, ues=20), 900, t0=BUSY)
    conn = [m["RRC.ConnMean"] for m in day]
    assert 12 <= sum(conn) / len(conn) <= 28
    assert len(set(conn)) > 3  # UEs come and go
    att = sum(int(m["RRC.ConnEstabAtt"]) for m in day)
    succ = sum(int(m["RRC.ConnEstabSucc"]) for m in day)
    assert 0 < succ <= att and att > 900 * 20 / Profile().session_s / 2
    # a cell set up at the busy hour has fewer UEs at night
    cell = make_cell(seed=2, ues=20)
    run(cell, 1, t0=BUSY)
    night = run(cell, 600, t0=NIGHT)
    assert sum(m["RRC.ConnMean"] for m in night[-300:]) / 300 < 10


def test_handovers_between_the_cells_of_a_node() -> None:
    profile = dataclasses.replace(Profile(), session_s=math.inf, handover_rate=0.05, daily=False)
    cells = [Cell(16 + i, i, random.Random(i), profile=profile) for i in range(3)]
    for c in cells:
        for _ in range(10):
            c.add_ue()
    connect_cells(cells)
    assert all(len(c.neighbours) == 2 for c in cells)
    req = succ = 0
    for i in range(200):
        for c in cells:
            c.step(BUSY + i + 1, 1.0)
            m = c.measurements()
            req += int(m["MM.HoExeIntraReq"])
            succ += int(m["MM.HoExeIntraSucc"])
    assert req > 100 and 0.9 * req <= succ <= req
    # nobody arrives or leaves for good: failed handovers come back by re-establishment
    total = sum(len(c.ues) for c in cells) + sum(len(c._returning) for c in cells)
    assert total == 30


def test_handover_and_release_as_ran_controls() -> None:
    a, b = make_cell(seed=1, ues=3), make_cell(seed=2, ues=0)
    b.cell_id = 18
    ue = next(iter(a.ues))
    assert a.handover(ue, b)
    assert ue in b.ues and ue not in a.ues
    assert not a.handover(ue, b)  # not there any more
    m = a.measurements()
    assert m["MM.HoExeIntraReq"] == m["MM.HoExeIntraSucc"] == 1
    assert b.release(ue) and not b.release(ue)
    assert b.released == 1


def test_full_cell_shares_prbs_equally() -> None:
    profile = dataclasses.replace(Profile(), burst_sigma=0.0, daily=False, session_s=math.inf,
                                  sinr_spread_db=0.0, fast_fading_db=0.0, shadow_std_db=0.0)  # fmt: skip
    cell = Cell(17, 1, random.Random(3), n_prb=50, scs_khz=15, profile=profile)
    demands = [100.0, 100.0, 50_000.0, 80_000.0]
    for d in demands:
        ue = cell.add_ue()
        ue.demand_dl_kbps = d
    cell.step(BUSY + 1, 1.0)
    per = {u: v for u, v in cell.ue_measurements().items()}
    thp = [per[u]["DRB.UEThpDl"] for u in cell.ues]
    prb = [per[u]["RRU.PrbUsedDl"] for u in cell.ues]
    assert cell.prb_dl == pytest.approx(50)
    assert thp[0] == pytest.approx(100, rel=0.01) and thp[1] == pytest.approx(100, rel=0.01)
    assert prb[2] == pytest.approx(prb[3], rel=1e-6)  # the two heavy UEs split what is left
    assert thp[2] < 50_000 and thp[3] < 80_000
    assert cell.measurements()["RRU.PrbTotDl"] == 100


def test_full_cell_rejects_setups() -> None:
    profile = dataclasses.replace(Profile(), max_ues=5, session_s=5.0, daily=False)
    cell = Cell(17, 1, random.Random(3), profile=profile, mean_ues=20)
    for _ in range(5):
        cell.add_ue()
    ms = run(cell, 100)
    rejects = sum(int(m["RRC.ConnEstabFailCause.NetworkReject"]) for m in ms)
    assert rejects > 10
    assert max(int(m["RRC.ConnMax"]) for m in ms) <= 5
    for m in ms:
        fails = m["RRC.ConnEstabFailCause.NetworkReject"] + m["RRC.ConnEstabFailCause.NoReply"]
        assert m["RRC.ConnEstabSucc"] + fails == m["RRC.ConnEstabAtt"]


def test_interference_lowers_cqi_and_raises_prb_use() -> None:
    def after(jam: float) -> tuple[float, float, float]:
        cell = make_cell(seed=9, ues=10)
        cell.jam_db = jam
        ms = run(cell, 20)
        cqi = sum(i * sum(int(m[n]) for m in ms) for i, n in enumerate(CQI_DIST_NAMES))
        reports = sum(int(m[n]) for m in ms for n in CQI_DIST_NAMES)
        return (cqi / reports, sum(float(m["RRU.PrbUsedDl"]) for m in ms),
                sum(float(m["DRB.UEThpDl"]) for m in ms))  # fmt: skip

    clean, jammed = after(0.0), after(12.0)
    assert jammed[0] < clean[0] - 3
    assert jammed[1] > clean[1] * 1.5
    assert jammed[2] < clean[2]


def test_daily_load_range() -> None:
    loads = [daily_load(BUSY + h * 3600) for h in range(24)]
    assert 0.15 <= min(loads) < 0.2 and max(loads) <= 1.0
