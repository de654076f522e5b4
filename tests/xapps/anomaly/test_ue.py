"""Per-UE KPM baselines: floods, hogs, seasonal de-trending, eviction, bad input."""

from __future__ import annotations

import math
import random

import pytest

from xtrust.errors import ConfigError
from xtrust.xapps.anomaly.ue import (
    UE_FLOOD,
    UeAlert,
    UeConfig,
    UeDetector,
    arrival_tail,
    poisson_sf,
)


def ue_report(rng: random.Random, level: float, *, prb: float = 2.0) -> dict[str, float | int]:
    """One UE's measurements around log-throughput ``level``."""
    dl = math.exp(level + rng.gauss(0, 0.2))
    return {"DRB.UEThpDl": round(dl, 1), "DRB.UEThpUl": round(0.2 * dl, 1),
            "RRU.PrbUsedDl": round(prb * math.exp(rng.gauss(0, 0.2)), 2),
            "RRU.PrbUsedUl": 0.5, "CQI": rng.randrange(6, 11)}  # fmt: skip


class Population:
    """A cell's UEs: each with its own level, leaving after ~``session`` periods."""

    def __init__(self, rng: random.Random, n: int, session: float = 20.0) -> None:
        self.rng = rng
        self.session = session
        self.next = 0
        self.ues: dict[int, float] = {}
        for _ in range(n):
            self.arrive()

    def arrive(self, level: float | None = None) -> int:
        self.next += 1
        self.ues[self.next] = self.rng.uniform(5.5, 7.5) if level is None else level
        return self.next

    def step(self, shift: float = 0.0) -> dict[int, dict[str, float | int]]:
        for ue in list(self.ues):
            if self.session and self.rng.random() < 1.0 / self.session:
                del self.ues[ue]
                self.arrive()
        return {u: ue_report(self.rng, lv + shift) for u, lv in self.ues.items()}


def test_benign_churn_raises_no_alarm_and_memory_is_bounded() -> None:
    rng = random.Random(1)
    det = UeDetector(UeConfig(evict_after=10, seasonal=False))
    cells = {c: Population(rng, 10) for c in range(4)}
    alerts: list[UeAlert] = []
    for p in range(1500):
        for c, pop in cells.items():
            alerts += det.update(float(p), c, pop.step())
    assert alerts == []
    seen = sum(pop.next for pop in cells.values())
    assert seen > 1000  # UEs came and went
    # UEs not reported for 10 periods are gone (swept every 8): at most ~18 periods' worth
    assert len(det) <= 4 * (10 + 18 * 10 / 20 + 2)
    assert det.evicted >= seen - len(det) - 40
    assert det.memory_bytes() == len(det) * det.bytes_per_ue()
    assert det.bytes_per_ue() < 300


def test_max_ues_caps_memory_evicting_the_longest_unseen() -> None:
    det = UeDetector(UeConfig(max_ues=50, evict_after=10_000, seasonal=False))
    rng = random.Random(2)
    for p in range(40):
        det.update(float(p), "cell", {1000 * p + i: ue_report(rng, 6.0) for i in range(5)})
    assert len(det) == 50
    assert det.baseline("cell", 1000 * 39) is not None  # the newest kept
    assert det.baseline("cell", 0) is None  # the oldest evicted


def test_flood_newcomers_are_flagged_and_older_ues_are_not() -> None:
    rng = random.Random(3)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 10)
    for p in range(300):
        assert det.update(float(p), "c", pop.step()) == []
    residents = set(pop.ues)
    flood = [pop.arrive(rng.uniform(7.0, 8.0)) for _ in range(40)]
    pop.session = 0.0  # nobody leaves during the flood
    alerts: list[UeAlert] = []
    for p in range(300, 330):
        alerts += det.update(float(p), "c", pop.step())
    flagged = {a.ue for a in alerts}
    assert all(a.attack_class == UE_FLOOD and a.cell == "c" for a in alerts)
    assert len(flagged & set(flood)) >= 30
    assert not flagged & residents


def test_ordinary_churn_in_a_small_cell_is_no_surge() -> None:
    """10 -> 17 UEs within three periods is within the Poisson spread of a 10-UE cell
    (sd ~3 UEs), even after a steady spell that made the learnt spread tiny."""
    rng = random.Random(8)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 10, session=0.0)  # nobody comes or goes: count spread ~0
    for p in range(100):
        assert det.update(float(p), "c", pop.step()) == []
    alerts: list[UeAlert] = []
    for p in range(100, 130):
        if p < 103:  # busy newcomers (well above the median) arrive
            for _ in range(3 if p < 102 else 1):
                pop.arrive(rng.uniform(7.0, 7.5))
        alerts += det.update(float(p), "c", pop.step())
    assert len(pop.ues) == 17 and alerts == []


def _flood_first_alert(config: UeConfig) -> tuple[int | None, set[int]]:
    """A cell whose UE count swings (10 UEs coming and going fast, then a long busy
    spell) takes a flood of 12 UEs per period: the period of the first alert."""
    rng = random.Random(11)
    det = UeDetector(config)
    pop = Population(rng, 14, session=8.0)
    for p in range(400):
        assert det.update(float(p), "c", pop.step()) == []
    first = None
    flood: set[int] = set()
    for p in range(400, 406):
        flood |= {pop.arrive(rng.uniform(6.5, 7.5)) for _ in range(12)}
        alerts = det.update(float(p), "c", pop.step())
        if alerts and first is None:
            first = p
        assert {a.ue for a in alerts} <= flood | set(pop.ues)
    return first, flood


def test_an_arrival_surge_alerts_the_flood_in_its_first_period() -> None:
    first, _ = _flood_first_alert(UeConfig(seasonal=False))
    assert first == 400
    # without the arrival test the count's level needs periods to climb far enough
    late, _ = _flood_first_alert(UeConfig(seasonal=False, arrival_p=1e-300))
    assert late is None or late >= 402


def test_bursty_benign_arrivals_widen_the_arrival_law() -> None:
    """Arrivals in batches of 8 (a train pulls in) are surges at first, and none once
    the cell has seen enough of them: their dispersion (variance / mean), learnt
    winsorised, widens the law; a plain Poisson law would keep them surges."""
    rng = random.Random(12)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 10, session=0.0)
    alerts: list[UeAlert] = []
    for p in range(3000):
        if p > 50 and rng.random() < 0.1:
            for _ in range(8):
                pop.arrive()
                del pop.ues[min(pop.ues)]
        alerts += det.update(float(p), "c", pop.step())
    assert alerts  # the first trains were surges
    assert max(a.time for a in alerts) < 500
    st = det.cells["c"]
    assert st.avar > 2 * st.amean  # overdispersed, as learnt
    assert arrival_tail(8, st.amean, st.amean, 0.2) < 1e-6  # Poisson alone: a surge
    assert arrival_tail(8, st.amean, st.avar, 0.2) > 1e-3


def _with_lost_reports(*, stamp_gaps: bool) -> list[UeAlert]:
    """60 spells of 30 reports, each followed by nine lost ones (their periods' UEs
    still come and go); ``stamp_gaps``: the reports' times show the lost periods."""
    rng = random.Random(13)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 60, session=20.0)  # about 3 arrivals per period
    alerts: list[UeAlert] = []
    t = 0
    for _spell in range(60):
        for _ in range(30):
            t += 1
            alerts += det.update(float(t), "c", pop.step())
        for _ in range(9):
            if stamp_gaps:
                t += 1
            pop.step()
    return alerts


def test_lost_reports_carry_their_arrivals_without_a_surge() -> None:
    """After a few lost reports the next one carries every arrival since: judged over
    the periods elapsed (from the report times), not as one period's."""
    assert _with_lost_reports(stamp_gaps=True) == []
    # the same reports stamped one period apart (the gaps hidden) do look like surges
    assert _with_lost_reports(stamp_gaps=False)


def test_poisson_tail() -> None:
    for lam in (0.05, 0.7, 3.0, 40.0):
        assert poisson_sf(0, lam) == 1.0
        assert poisson_sf(1, lam) == pytest.approx(-math.expm1(-lam), rel=1e-9)
        assert poisson_sf(2, lam) == pytest.approx(1 - math.exp(-lam) * (1 + lam), rel=1e-9)
    assert poisson_sf(11, 1.0) == pytest.approx(1.0047766e-08, rel=1e-6)
    # the floor: a cell that never saw an arrival still needs several at once
    assert arrival_tail(3, 0.0, 0.0, 0.2) > 1e-3
    assert arrival_tail(8, 0.0, 0.0, 0.2) < 1e-6


def test_a_hog_extreme_for_itself_and_its_cell_is_flagged() -> None:
    rng = random.Random(4)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 12, session=0.0)
    for p in range(200):
        det.update(float(p), "c", pop.step())
    hog = next(iter(pop.ues))
    base = det.baseline("c", hog)
    pop_base = det.baseline("c")
    assert base is not None and pop_base is not None
    pop.ues[hog] = pop.ues[hog] + 6.0  # 400 x its usual throughput
    hold = det.config.hold
    alerts: list[UeAlert] = []
    for p in range(200, 200 + hold - 1):
        alerts += det.update(float(p), "c", pop.step())
    assert {a.ue for a in alerts} == {hog}
    assert len(alerts) >= hold - 2  # flagged throughout the hold: not learnt
    assert alerts[0].time == 201.0 and alerts[0].score >= 1.0
    assert alerts[0].features[0].name in ("thp_dl", "thp_ul")
    after = det.baseline("c", hog)
    assert after is not None and abs(after["thp_dl"] - base["thp_dl"]) < 0.01
    # held that long, the level is the hog's new normal: learnt, and it stops
    later: list[UeAlert] = []
    for p in range(200 + hold, 300 + hold):
        later += det.update(float(p), "c", pop.step())
    assert later and max(a.time for a in later) < 200 + hold + 10
    learnt = det.baseline("c", hog)
    assert learnt is not None and learnt["thp_dl"] > base["thp_dl"] + 0.5
    # the cell's population never learnt from the hog's flagged reports
    pop_after = det.baseline("c")
    assert pop_after is not None and abs(pop_after["thp_dl"] - pop_base["thp_dl"]) < 0.3


def test_idle_ues_starting_their_traffic_are_not_flagged() -> None:
    """A throughput of 0 is a UE without data (TS 28.552 measures over data bursts), not
    a sample: UEs attached idle that then start sessions (as in the ColO-RAN traces)
    have no throughput history to be extreme against."""
    rng = random.Random(7)
    det = UeDetector(UeConfig(seasonal=False))
    levels = {u: rng.uniform(4.0, 7.0) for u in range(6)}
    alerts: list[UeAlert] = []
    for p in range(400):
        ues = {}
        for u, lv in levels.items():
            r = ue_report(rng, lv)
            if p < 100 + 10 * u:  # attached, no data yet
                r.update({"DRB.UEThpDl": 0.0, "DRB.UEThpUl": 0.0, "RRU.PrbUsedDl": 0.0})
            ues[u] = r
        alerts += det.update(float(p), "c", ues)
    assert alerts == []
    base = det.baseline("c", 0)
    assert base is not None and abs(base["thp_dl"] - levels[0]) < 0.5


def test_seasonal_detrending_removes_a_daily_ramp() -> None:
    day = 240.0  # a short "day" of 24 bins of 10 periods
    cfg = UeConfig(season_s=day, season_bins=24)
    det = UeDetector(cfg)
    rng = random.Random(5)
    pop = Population(rng, 15, session=0.0)
    raw: list[float] = []
    detrended: list[float] = []
    for p in range(int(4 * day)):
        phase = (p % day) / day
        shift = 3.0 * phase  # throughput ramps up 20x over the day, then drops back
        det.update(float(p), "c", pop.step(shift))
        if p >= 3 * day:  # the fourth day: every bin has a profile
            med = sorted(math.log1p(r) for r in
                         (math.exp(lv + shift) for lv in pop.ues.values()))[7]  # fmt: skip
            raw.append(med)
            detrended.append(med - det.seasonal_offset("c")["thp_dl"])
    assert max(raw) - min(raw) > 2.5
    assert max(detrended) - min(detrended) < 0.8


def test_malformed_and_missing_measurements_are_skipped() -> None:
    rng = random.Random(6)
    det = UeDetector(UeConfig(seasonal=False))
    pop = Population(rng, 8, session=0.0)
    for p in range(50):
        det.update(float(p), "c", pop.step())
    ues = pop.step()
    bad = {
        **ues,
        901: "garbage",
        902: {"DRB.UEThpDl": "fast", "CQI": 99, "RRU.PrbUsedDl": math.nan},
        903: {},
        904: {"DRB.UEThpDl": -1.0, "DRB.UEThpUl": math.inf},
        905: {"CQI": 7},  # partial: kept, nothing traffic to score
    }
    assert det.update(50.0, "c", bad) == []  # type: ignore[arg-type]
    assert det.skipped == 4
    assert det.baseline("c", 905) == pytest.approx(
        {"thp_dl": 0.0, "thp_ul": 0.0, "prb": 0.0, "share": 0.0, "cqi": 7.0}
    )


def test_bad_config_is_a_config_error() -> None:
    for kw in ({"alpha": 0.0}, {"k": 3, "n": 2}, {"threshold": -1.0}, {"evict_after": 0},
               {"season_bins": 0}, {"max_flagged": 2.0}, {"hold": 2}, {"arrival_p": 0.0},
               {"arrival_p": 1.0}, {"arrival_floor": 0.0}):  # fmt: skip
        with pytest.raises(ConfigError):
            UeConfig(**kw)
