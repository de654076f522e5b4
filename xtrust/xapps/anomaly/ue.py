"""Per-UE online KPM baselines: a UE whose traffic is extreme for itself and its cell.

Input: the UE-level KPM of one cell per reporting period (E2SM-KPM indication
format 3; the simulator's :meth:`xtrust.e2sim.model.Cell.ue_measurements`, names
in :data:`~xtrust.e2sim.model.UE_MEAS_NAMES`): ``{ue: {name: value}}``. Per UE
the detector reads:

============ ===============================================================
``thp_dl``    log(1 + ``DRB.UEThpDl``), kbit/s
``thp_ul``    log(1 + ``DRB.UEThpUl``), kbit/s
``prb``       log(1 + ``RRU.PrbUsedDl``): DL PRBs it used
``share``     its share of the DL PRBs all reported UEs of the cell used, %
``cqi``       its last wideband ``CQI``
============ ===============================================================

A UE missing a measurement (or whose value is not a finite number) has that
feature skipped for the period; a UE with none usable is skipped (counted in
:attr:`UeDetector.skipped`).

**Baselines.** Per UE, per feature: an EW median estimate (the stochastic
approximation ``m += a x scale x sign(x - m)``: robust, one float) and an EW mean
absolute deviation (its robust scale is ``1.25 x MAD``, floored at
:data:`SCALE_FLOOR`). Per cell: the same two numbers for the cross-UE median of
each feature, one update per period (the cell's UE *population*). Both learn
only from UEs not flagged in that period (an attacker does not become the
baseline), and the population not at all in a period where more than
``max_flagged`` of the cell's UEs are flagged.

**Seasonal.** The model's traffic follows a daily profile
(:func:`~xtrust.e2sim.model.daily_load`). Per cell and feature, the day
(``season_s``) is cut into ``season_bins`` bins; while a bin runs, the mean of
the population median over its periods is accumulated, and when it ends it is
folded into that bin's profile (EW over days, ``season_alpha``). Once a bin has
a profile, every value in it is de-trended by ``profile[bin] - mean(profile)``
before it is scored or learnt. This costs ``bins x features x 3`` floats per
cell, and a short attack cannot teach the profile much (it moves one day's
bin mean).

**Score.** For each traffic feature (:data:`TRAFFIC`, up is the attack
direction) the robust z against the population and, once the UE has
``warmup`` reports, against its own baseline; the UE's score is the largest
over traffic features of the *smaller* of the two (extreme for both: a UE with
no history yet is not flagged by this rule, only by the surge rule below). A UE whose
score reaches ``threshold`` in ``k`` of its last ``n`` reports raises a
:class:`UeAlert` of class ``ue-flood``.

**Surges.** A flood UE need not be extreme by itself: in a saturated cell the
scheduler gives every heavy UE the same capped share. What marks a flood is many
UEs arriving at once that pull more than usual. Per cell, an EW mean and MAD of
log(1 + UEs reported with traffic) (learnt outside surges; UEs without data, such
as a signalling storm's connections, do not count); a period ``surge`` robust
scales above it starts a surge. The scale is at least the Poisson spread of the usual
count (independent arrivals and departures: sd sqrt(N) UEs), so that ordinary
churn in a cell of a few UEs (10 -> 17 UEs in a few seconds happens) is no
surge. A level surge needs the count to have climbed, which takes periods in a
cell whose UE count already swings (a flood into a saturated cell: 14 -> 19 ->
33 -> 49 UEs, 1.2, 3.3, 4.8 scales). The other sign comes at once: *arrivals*,
UEs first reported in this period or the one before that carry traffic for the
first time. Per cell, an EW mean and variance of arrivals per period (from the
cell's second period on; a report that comes after lost ones is judged, and
learnt, over the periods since the last: the time between reports over the
usual one); a period whose arrivals have a tail probability of
at most ``arrival_p`` under a quasi-Poisson law with that mean (at least
``arrival_floor``) and dispersion (variance / mean, at least 1) is an *arrival
surge* (a flood of 20 UEs/s into a cell whose UEs arrive at 1-2 per second: 11
or 17 arrivals in one period, tail below 1e-8). During a surge a UE first
reported since (or just before) its start whose traffic z against the
(pre-surge) population reaches ``surge_z`` is flagged too (scored at the
threshold), and in an arrival surge it alerts at once, without waiting for
``k`` of ``n`` (the evidence is the surge, already rarer than ``arrival_p``);
neither the population nor the UE-count baseline learns during a surge. The
arrival law learns every period, winsorised at :data:`ARRIVAL_WINSOR` standard
deviations: a flood moves it a little; a benign burst that recurs (a train
pulling in) widens it until it is no surge. Benign UEs that happen to arrive
during a flood with above-median traffic are flagged as well: that is the
price (see ``bench/eval_multivariate.py``).

**Idle UEs and held levels.** A throughput of 0 is a UE that had no data in the
period (TS 28.552 measures UE throughput over data bursts): no sample, so a UE
attached idle that starts a session has no history to be extreme against (the
ColO-RAN traces: every UE idle for its first ~47 s, then traffic). A UE flagged
in ``hold`` reports in a row has been alerted on; from then on its level is
learnt into its own baseline (never the population's), so a lasting benign
change (a bulk transfer) is flagged once, not for ever, and the population is
not kept from learning by a UE flagged for good.

**Memory.** A UE's state is one ``array('d')`` of :data:`UE_SLOTS` doubles
(:meth:`UeDetector.bytes_per_ue` measures it with its dictionary slot); a UE not
reported for ``evict_after`` periods of its cell is forgotten, and at most
``max_ues`` are kept (the longest unseen go first).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from xtrust.errors import ConfigError

from .kpm import Deviation

__all__ = ["FEATURES", "TRAFFIC", "UE_FLOOD", "UE_MEASUREMENTS", "UeAlert", "UeConfig",
           "UeDetector", "arrival_tail", "poisson_sf"]  # fmt: skip

#: the UE-level KPM measurements the detector reads (what the xApp subscribes to)
UE_MEASUREMENTS = ("DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "CQI")
FEATURES = ("thp_dl", "thp_ul", "prb", "share", "cqi")
THP_DL, THP_UL, PRB, SHARE, CQI = range(len(FEATURES))
_NF = len(FEATURES)
#: features whose rise is the attack (a UE pulling traffic); PRBs are tracked, not scored:
#: a UE with a poor channel needs many PRBs for ordinary traffic
TRAFFIC = (THP_DL, THP_UL)
#: smallest robust scale per feature (log features ~25 %, share 2 points, CQI 1)
SCALE_FLOOR = (0.25, 0.25, 0.25, 2.0, 1.0)
UE_FLOOD = "ue-flood"
#: arrivals are learnt clipped at this many standard deviations above their mean
ARRIVAL_WINSOR = 5.0
#: the most reporting periods one report's arrivals are judged over (after lost reports)
MAX_SPAN = 10
# slots of a UE's state array: medians, MADs, values learnt per feature, then these
_MED = 0
_MAD = _NF
_CNT = 2 * _NF
_LAST = 3 * _NF  # period counter of its cell when last reported
_BITS = _LAST + 1  # persistence bits
_FIRST = _LAST + 2  # period counter of its cell when first reported
_RUN = _LAST + 3  # reports flagged in a row
_TRAF = _LAST + 4  # 1.0 once it has reported traffic
UE_SLOTS = _TRAF + 1


@dataclass(frozen=True, slots=True)
class UeConfig:
    """Tuning of :class:`UeDetector` (defaults: 1 s periods)."""

    alpha: float = 0.1  # a UE's own EW rate (UEs come and go: short memory)
    warmup: int = 5  # reports before a UE's own baseline counts
    pop_alpha: float = 0.02  # the cell population's EW rate, per period
    pop_warmup: int = 20  # periods before the population baseline scores anything
    min_ues: int = 3  # fewest usable UEs in a period for a population update
    threshold: float = 3.0  # robust z (the smaller of own and population) to flag
    k: int = 2
    n: int = 3
    max_flagged: float = 0.2  # share of flagged UEs above which the population does not learn
    #: a surge: log(1 + UEs reported) this many robust scales above the cell's baseline
    surge: float = 4.0
    #: during a surge, a UE that arrived with it is flagged from this population z
    surge_z: float = 0.5
    #: an arrival surge: arrivals with traffic this unlikely under the cell's usual rate
    arrival_p: float = 1e-6
    #: the smallest arrival rate (UEs per period) the arrival test assumes
    arrival_floor: float = 0.2
    #: a UE flagged in this many reports in a row has its level learnt anyway (it has
    #: been alerted on; a level held that long is its new normal, not a new event)
    hold: int = 30
    evict_after: int = 30  # periods of its cell without a report before a UE is forgotten
    max_ues: int = 200_000
    seasonal: bool = True
    season_s: float = 86_400.0
    season_bins: int = 24
    season_alpha: float = 0.3  # weight of the latest day in a bin's profile

    def __post_init__(self) -> None:
        src = "UeConfig"
        for name in ("alpha", "pop_alpha", "season_alpha"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError("must be in (0, 1]", field=name, source=src)
        if self.warmup < 1 or self.pop_warmup < 1 or self.min_ues < 1:
            raise ConfigError("must be at least 1", field="warmup", source=src)
        if not 1 <= self.k <= self.n <= 62:
            raise ConfigError("need 1 <= k <= n <= 62", field="k", source=src)
        if self.threshold <= 0 or not 0.0 <= self.max_flagged <= 1.0:
            raise ConfigError("need threshold > 0, 0 <= max_flagged <= 1", field="threshold",
                              source=src)  # fmt: skip
        if not 0.0 < self.arrival_p < 1.0:
            raise ConfigError("must be in (0, 1)", field="arrival_p", source=src)
        if self.arrival_floor <= 0:
            raise ConfigError("must be above 0", field="arrival_floor", source=src)
        if self.hold < self.n:
            raise ConfigError(f"must be at least n ({self.n})", field="hold", source=src)
        if self.evict_after < 1 or self.max_ues < 1:
            raise ConfigError("must be at least 1", field="evict_after", source=src)
        if self.season_s <= 0 or self.season_bins < 1:
            raise ConfigError("need season_s > 0 and season_bins >= 1", field="season_s",
                              source=src)  # fmt: skip


@dataclass(frozen=True, slots=True)
class UeAlert:
    """A flagged UE: its cell, id, time, score (relative to the threshold), features."""

    cell: Hashable
    ue: Hashable
    time: float
    score: float
    attack_class: str
    features: tuple[Deviation, ...]


class _Season:
    """Per-bin daily profile of the population median of each feature."""

    __slots__ = ("acc", "bin", "cnt", "day", "learnt", "offset", "profile")

    def __init__(self, bins: int) -> None:
        self.profile = [[0.0] * _NF for _ in range(bins)]
        self.learnt = [False] * bins
        self.acc = [0.0] * _NF
        self.cnt = 0
        self.bin = -1
        self.day = -1
        self.offset = [0.0] * _NF  # profile[bin] - mean(profile) of the current bin

    def roll(self, day: int, b: int, alpha: float) -> None:
        """Move to bin ``b`` of ``day``: fold the finished bin into its profile."""
        if (day, b) == (self.day, self.bin):
            return
        if self.bin >= 0 and self.cnt:
            prof = self.profile[self.bin]
            mean = [s / self.cnt for s in self.acc]
            if self.learnt[self.bin]:
                for f in range(_NF):
                    prof[f] += alpha * (mean[f] - prof[f])
            else:
                prof[:] = mean
                self.learnt[self.bin] = True
        self.acc = [0.0] * _NF
        self.cnt = 0
        self.day, self.bin = day, b
        if self.learnt[b]:
            n = sum(self.learnt)
            for f in range(_NF):
                avg = sum(p[f] for p, ok in zip(self.profile, self.learnt, strict=True) if ok) / n
                self.offset[f] = self.profile[b][f] - avg
        else:
            self.offset = [0.0] * _NF


class _CellState:
    __slots__ = ("amean", "an", "avar", "cmad", "cmean", "cn", "last_t", "mad", "med", "n",
                 "period", "season", "step", "surge_from", "ues")  # fmt: skip

    def __init__(self, bins: int) -> None:
        self.cmean = 0.0  # EW mean of log(1 + UEs reported)
        self.cmad = 0.0
        self.cn = 0
        self.amean = 0.0  # EW mean and variance of arrivals with traffic per period
        self.avar = 0.0
        self.an = 0
        self.last_t: float | None = None  # time of the last report
        self.step = 0.0  # the usual time between reports (EW, from gaps near it)
        self.surge_from = 0  # period the current surge started (0: none)
        self.med = [0.0] * _NF
        self.mad = [0.0] * _NF
        self.n = [0] * _NF
        self.period = 0
        self.season = _Season(bins)
        self.ues: dict[Hashable, array[float]] = {}


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else 0.5 * (xs[k // 2 - 1] + xs[k // 2])


def _scale(mad: float, f: int) -> float:
    s = 1.25 * mad
    return s if s > SCALE_FLOOR[f] else SCALE_FLOOR[f]


def _count_scale(cmean: float, cmad: float) -> float:
    """Robust scale of log(1 + UEs with traffic): 1.25 x its EW MAD, at least the Poisson
    spread of the usual count (UEs arriving and leaving independently: a count of
    mean N has sd sqrt(N), log(1 + N) about sqrt(N) / (1 + N)), and at least 0.1."""
    n = math.expm1(cmean)
    poisson = math.sqrt(n) / (1.0 + n) if n > 0 else 1.0
    return max(1.25 * cmad, poisson, 0.1)


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X Poisson with mean ``lam`` > 0 (the sum of the upper tail)."""
    if k <= 0:
        return 1.0
    term = math.exp(k * math.log(lam) - lam - math.lgamma(k + 1.0))
    total = 0.0
    j = k
    while term > 1e-300:
        total += term
        j += 1
        term *= lam / j
        if j > lam and term < total * 1e-12:
            break
    return min(1.0, total)


def arrival_tail(arrivals: int, mean: float, var: float, floor: float) -> float:
    """Tail probability of ``arrivals`` in a period under the quasi-Poisson law of the
    usual arrivals (``mean``, ``var``): P(X >= arrivals / d) for X Poisson with
    mean ``max(mean, floor) / d``, d = max(1, var / mean) the dispersion (bursty
    arrivals widen the law rather than raise false surges)."""
    lam = mean if mean > floor else floor
    d = var / lam if var > lam else 1.0
    return poisson_sf(math.ceil(arrivals / d), lam / d)


def _features(m: Mapping[str, float | int], prb_total: float) -> list[float | None] | None:
    out: list[float | None] = [None] * _NF
    for f, name in ((THP_DL, "DRB.UEThpDl"), (THP_UL, "DRB.UEThpUl")):
        v = m.get(name)
        # TS 28.552 measures UE throughput over the bursts that had data: 0 is a UE
        # without data in the period (no sample), not a throughput of 0
        if isinstance(v, int | float) and math.isfinite(v) and v > 0:
            out[f] = math.log1p(v)
    v = m.get("RRU.PrbUsedDl")
    if isinstance(v, int | float) and math.isfinite(v) and v >= 0:
        out[PRB] = math.log1p(v)
        if prb_total > 0:
            out[SHARE] = 100.0 * v / prb_total
    v = m.get("CQI")
    if isinstance(v, int | float) and math.isfinite(v) and 0 <= v <= 15:
        out[CQI] = float(v)
    return out if any(x is not None for x in out) else None


class UeDetector:
    """Per-UE and per-cell-population robust baselines (see the module documentation)."""

    def __init__(self, config: UeConfig | None = None) -> None:
        self.config = config or UeConfig()
        self.cells: dict[Hashable, _CellState] = {}
        self.skipped = 0  # UE reports with nothing usable
        self.evicted = 0
        self._mask = (1 << self.config.n) - 1

    def __len__(self) -> int:
        return sum(len(c.ues) for c in self.cells.values())

    @staticmethod
    def bytes_per_ue() -> int:
        """Bytes one tracked UE costs: its state array plus its dictionary slot (approx.)."""
        return sys.getsizeof(array("d", [0.0] * UE_SLOTS)) + 3 * 8

    def memory_bytes(self) -> int:
        """Approximate memory of the UE states (not counting the per-cell state)."""
        return len(self) * self.bytes_per_ue()

    def seasonal_offset(self, cell: Hashable) -> dict[str, float]:
        """What is subtracted from ``cell``'s features now (0 where no profile yet)."""
        st = self.cells.get(cell)
        off = st.season.offset if st is not None else [0.0] * _NF
        return dict(zip(FEATURES, off, strict=True))

    def baseline(self, cell: Hashable, ue: Hashable | None = None) -> dict[str, float] | None:
        """The median baseline of ``cell``'s population (``ue`` None) or of one UE."""
        st = self.cells.get(cell)
        if st is None:
            return None
        if ue is None:
            return dict(zip(FEATURES, st.med, strict=True))
        state = st.ues.get(ue)
        if state is None:
            return None
        return dict(zip(FEATURES, state[_MED:_MAD], strict=True))

    def update(self, t: float, cell: Hashable, ues: Mapping[Any, Mapping[str, float | int]]
               ) -> list[UeAlert]:  # fmt: skip
        """Score one period of ``cell``'s UE reports ``{ue: measurements}``."""
        cfg = self.config
        st = self.cells.get(cell)
        if st is None:
            st = self.cells[cell] = _CellState(cfg.season_bins)
        st.period += 1
        period = st.period
        prb_total = 0.0
        for m in ues.values():
            v = m.get("RRU.PrbUsedDl") if isinstance(m, Mapping) else None
            if isinstance(v, int | float) and math.isfinite(v) and v > 0:
                prb_total += v
        rows: list[tuple[Hashable, list[float | None]]] = []
        for ue, m in ues.items():
            feat = _features(m, prb_total) if isinstance(m, Mapping) else None
            if feat is None:
                self.skipped += 1
                continue
            rows.append((ue, feat))
        # the population median of this period, and the seasonal offset to remove
        pmed: list[float | None] = [None] * _NF
        for f in range(_NF):
            vals = [v for _, x in rows if (v := x[f]) is not None]
            if len(vals) >= cfg.min_ues:
                pmed[f] = _median(vals)
        season = st.season
        if cfg.seasonal:
            pos = t / cfg.season_s
            season.roll(int(pos // 1), int((pos % 1.0) * cfg.season_bins), cfg.season_alpha)
        off = season.offset
        pop_ready = [st.n[f] >= cfg.pop_warmup for f in range(_NF)]
        # a surge of UEs with traffic (a flood attaches many at once; UEs without data,
        # such as a signalling storm's connections, pull nothing and do not count)
        with_traffic = 0
        arrivals = 0  # UEs of this period or the last that carry traffic for the first time
        ues_state = st.ues
        states: list[array[float]] = []  # each row's UE state (new UEs get one here)
        for ue, x in rows:
            state = ues_state.get(ue)
            if state is None:
                state = ues_state[ue] = array("d", [0.0] * UE_SLOTS)
                state[_FIRST] = period
            states.append(state)
            if x[THP_DL] is None and x[THP_UL] is None:
                continue
            with_traffic += 1
            if state[_TRAF] == 0.0 and state[_FIRST] >= period - 1:
                arrivals += 1
        lc = math.log1p(with_traffic)
        surging = arriving = False
        if st.cn >= cfg.pop_warmup:
            surging = (lc - st.cmean) / _count_scale(st.cmean, st.cmad) >= cfg.surge
        span = self._span(st, t)  # periods since the last report (a report may be lost)
        if st.an >= cfg.pop_warmup and arrivals > span * st.amean:
            tail = arrival_tail(arrivals, span * st.amean, span * st.avar,
                                span * cfg.arrival_floor)  # fmt: skip
            arriving = tail <= cfg.arrival_p
            surging = surging or arriving
        if surging and not st.surge_from:
            st.surge_from = period
        elif not surging:
            st.surge_from = 0
        alerts: list[UeAlert] = []
        flagged: set[Hashable] = set()
        learn_rows: list[list[float | None]] = []
        for (ue, x), state in zip(rows, states, strict=True):
            for f in range(_NF):
                xf = x[f]
                if xf is not None:
                    x[f] = xf - off[f]
            state[_LAST] = period
            if x[THP_DL] is not None or x[THP_UL] is not None:
                state[_TRAF] = 1.0
            newcomer = surging and state[_FIRST] >= st.surge_from - 1
            zmax = -math.inf
            score = -math.inf  # over the features with an own baseline
            zs: list[tuple[int, float, float]] = []  # (feature, z used, baseline)
            for f in TRAFFIC:
                xf = x[f]
                if xf is None or not pop_ready[f]:
                    continue
                zp = (xf - st.med[f]) / _scale(st.mad[f], f)
                z = zp
                base = st.med[f]
                if state[_CNT + f] >= cfg.warmup:  # extreme for itself too?
                    zo = (xf - state[_MED + f]) / _scale(state[_MAD + f], f)
                    if zo < z:
                        z, base = zo, state[_MED + f]
                    if z > score:
                        score = z
                zs.append((f, z, base))
                if zp > zmax:
                    zmax = zp
            hit = score >= cfg.threshold  # no history: not extreme for itself
            if not hit and newcomer and zmax >= cfg.surge_z:  # arrived with a surge, heavy
                hit = True
                score = cfg.threshold  # scored at the threshold: 1.0 relative
            bits = ((int(state[_BITS]) << 1) | hit) & self._mask
            state[_BITS] = bits
            if hit:
                flagged.add(ue)
                if bits.bit_count() >= cfg.k or (arriving and newcomer):
                    devs = tuple(Deviation(FEATURES[f], x[f] + off[f], b + off[f], z)  # type: ignore[operator]
                                 for f, z, b in sorted(zs, key=lambda e: -e[1])
                                 if z >= (cfg.surge_z if newcomer else cfg.threshold))  # fmt: skip
                    alerts.append(UeAlert(cell, ue, t, score / cfg.threshold, UE_FLOOD, devs))
                state[_RUN] += 1
                if state[_RUN] >= cfg.hold:  # held so long: its level, learnt (not the cell's)
                    self._learn_ue(state, x)
                continue
            state[_RUN] = 0
            learn_rows.append(x)
            self._learn_ue(state, x)
        # the population learns from this period's unflagged UEs (if few are flagged)
        if not surging:
            a = 1.0 / (st.cn + 1.0) if st.cn < cfg.pop_warmup else cfg.pop_alpha
            if st.cn == 0:
                st.cmean = lc
            else:
                d = lc - st.cmean
                st.cmean += a * d
                st.cmad += a * (abs(d) - st.cmad)
            st.cn += 1
        if period > 1:  # the first period's UEs were there before: not arrivals
            self._learn_arrivals(st, arrivals / span)
        if rows and not surging and len(flagged) <= cfg.max_flagged * len(rows):
            for f in range(_NF):
                vals = [v for x in learn_rows if (v := x[f]) is not None]
                if len(vals) < cfg.min_ues:
                    continue
                med = _median(vals)
                spread = sum(abs(v - med) for v in vals) / len(vals)
                self._learn_pop(st, f, med, spread)
            if cfg.seasonal:
                for f in range(_NF):
                    pm = pmed[f]
                    if pm is None:
                        break
                else:
                    season.acc = [a + p for a, p in zip(season.acc, pmed, strict=True)]  # type: ignore[operator]
                    season.cnt += 1
        self._evict(st, period)
        return alerts

    @staticmethod
    def _span(st: _CellState, t: float) -> int:
        """Reporting periods since the cell's last report (1 as a rule; more after lost or
        late reports, whose arrivals this report then carries), at most
        :data:`MAX_SPAN`."""
        last, st.last_t = st.last_t, t
        if last is None or not t > last:
            return 1
        gap = t - last
        if st.step <= 0.0:
            st.step = gap
            return 1
        r = gap / st.step
        if 0.5 <= r <= 1.5:  # an ordinary gap: follow the period slowly (clock drift)
            st.step += 0.05 * (gap - st.step)
        return min(MAX_SPAN, max(1, round(r)))

    def _learn_arrivals(self, st: _CellState, arrivals: float) -> None:
        """Fold a period's arrivals into the cell's law, surges too but winsorised at
        ``ARRIVAL_WINSOR`` standard deviations: a recurring benign burst (a train
        pulling in) widens the law until it is no surge, while a flood's few periods of
        arrivals move it only that far."""
        cfg = self.config
        n = st.an
        x = float(arrivals)
        if n >= cfg.pop_warmup:
            lam = st.amean if st.amean > cfg.arrival_floor else cfg.arrival_floor
            top = st.amean + ARRIVAL_WINSOR * math.sqrt(st.avar if st.avar > lam else lam)
            if x > top:
                x = top
        a = 1.0 / (n + 1.0) if n < cfg.pop_warmup else cfg.pop_alpha
        d = x - st.amean
        st.amean += a * d
        st.avar = (1.0 - a) * (st.avar + a * d * d)
        st.an = n + 1

    def _learn_ue(self, state: array[float], x: list[float | None]) -> None:
        cfg = self.config
        for f in range(_NF):
            xf = x[f]
            if xf is None:
                continue
            n = state[_CNT + f]
            state[_CNT + f] = n + 1
            if n == 0:
                state[_MED + f] = xf
                continue
            a = 1.0 / (n + 1.0) if n < cfg.warmup else cfg.alpha
            med = state[_MED + f]
            d = xf - med
            mad = state[_MAD + f]
            if n < cfg.warmup:  # running mean and mean |deviation| to start
                state[_MED + f] = med + a * d
            else:  # EW median: a step of a scale towards the value
                step = a * _scale(mad, f)
                state[_MED + f] = med + (step if d > step else -step if d < -step else d)
            state[_MAD + f] = mad + a * (abs(d) - mad)

    def _learn_pop(self, st: _CellState, f: int, med: float, spread: float) -> None:
        cfg = self.config
        n = st.n[f]
        if n == 0:
            st.med[f] = med
            st.mad[f] = spread
        else:
            a = 1.0 / (n + 1.0) if n < cfg.pop_warmup else cfg.pop_alpha
            st.med[f] += a * (med - st.med[f])
            st.mad[f] += a * (spread - st.mad[f])
        st.n[f] = n + 1

    def _evict(self, st: _CellState, period: int) -> None:
        cfg = self.config
        horizon = period - cfg.evict_after
        if st.ues and period % 8 == 0:  # sweep now and then: amortised
            stale = [u for u, s in st.ues.items() if s[_LAST] < horizon]
            for u in stale:
                del st.ues[u]
            self.evicted += len(stale)
        over = len(self) - cfg.max_ues
        if over > 0:
            cands = sorted(
                ((s[_LAST] - c.period, cid, u) for cid, c in self.cells.items()
                 for u, s in c.ues.items()),
                key=lambda e: e[0],
            )  # fmt: skip
            for _, cid, u in cands[:over]:
                del self.cells[cid].ues[u]
            self.evicted += over
