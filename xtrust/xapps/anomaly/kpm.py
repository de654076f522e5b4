"""Cell-level KPM anomaly detection: per-cell robust online baselines and attack rules.

Each cell report (the TS 28.552 measurements of :meth:`xtrust.e2sim.model.Cell.measurements`,
or any dict with some of those names) is reduced to a few features:

============ =================================================================
``thp_dl``    log(1 + ``DRB.UEThpDl``): mean DL throughput of the UEs with data
``prb_dl``    log(1 + ``RRU.PrbTotDl``): DL PRB usage, % (bursty: the log tames it)
``cqi``       mean wideband CQI of ``CARR.WBCQIDist.BinX.Bin1.Bin1``
``sinr``      mean SS-SINR bin of ``MR.NRScSSSINR.BinX``
``att``       log(1 + ``RRC.ConnEstabAtt``)
``succ``      log(1 + ``RRC.ConnEstabSucc``)
``fail``      log(1 + ``RRC.ConnEstabFailCause.NetworkReject`` + ``...NoReply``)
``conn``      log(1 + ``RRC.ConnMean``)
``active``    log(1 + ``DRB.MeanActiveUeDl``): UEs with DL data (where reported)
============ =================================================================

A feature whose measurements are missing (or a distribution with fewer than
:data:`MIN_DIST_REPORTS` reports, a DL throughput of 0: no UE had data) is skipped
for that report, and a report of an empty cell (``RRC.ConnMean`` 0) is neither
judged nor learnt. Per feature, a :class:`CellDetector` keeps an exponentially
weighted mean and an exponentially weighted mean absolute deviation (the robust
scale is 1.25 x that, floored per feature so that a quiet counter does not make a
single event look huge; the CQI and SINR scales also widen by sqrt(usual / now) UE
samples, up to x2, when fewer UEs than usual report: a mean over two UEs swings). The first ``warmup`` reports only learn (plain running
averages); afterwards each report gets a robust z-score per feature, clipped to
``clip``, and a score: the largest z in the direction an attack moves that
feature (:data:`ATTACK_SIGN`: fewer UEs or more throughput per UE is a change, not
a threat). A report whose score reaches
``threshold``, or in which ``corroborate_n`` features move the attack's way by
``corroborate_z`` each (independent evidence, each under the threshold), is
*anomalous* and is not learnt from (an attack does not become the
baseline); the others are learnt from winsorised at ``winsor`` scales. An
:class:`Alert` is raised for an anomalous report when ``k`` of the last ``n``
reports were anomalous (persistence keeps single outliers quiet), or at once
when its score reaches ``instant`` (twice the threshold: a collapse no benign
report in our model runs or the ColO-RAN traces comes near); one whose
deviations match no attack class alerts only from ``unknown_threshold``.

The attack class comes from which features moved and which way
(:func:`classify`): ``jamming`` (SINR or CQI down), ``fake-bs`` (setup attempts
and failures up, few successes); where the node reports active UEs, connections
that carry data tell the two floods apart: ``ue-flood`` (active and connected UEs
up) and ``signalling-storm`` (attempts and successes up, active UEs not); without
it, ``ue-flood`` (connected UEs well up, with PRB use up or saturated, or per-UE
throughput moved; or connected UEs and attaches up together in a busy cell) and
``signalling-storm`` (attempts and successes up, PRB use not up); anything else
is :data:`UNKNOWN_KPM`.

The hot path (:meth:`CellDetector.update`) allocates nothing for a report that
raises no alert: state lives in preallocated lists, persistence in a bit mask.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from xtrust.e2sim.model import CQI_DIST_NAMES, SINR_DIST_NAMES
from xtrust.errors import ConfigError

__all__ = [
    "FEATURES",
    "UNKNOWN_KPM",
    "Alert",
    "CellDetector",
    "Deviation",
    "KpmConfig",
    "KpmDetector",
    "classify",
]

#: feature names, in the order of the state lists
FEATURES = ("thp_dl", "prb_dl", "cqi", "sinr", "att", "succ", "fail", "conn", "active")
THP, PRB, CQI, SINR, ATT, SUCC, FAIL, CONN, ACTIVE = range(len(FEATURES))
_NF = len(FEATURES)
#: smallest robust scale per feature (log features: ~15-40 %; CQI
#: and SINR: a fraction of a bin)
SCALE_FLOOR = (0.15, 0.15, 0.3, 0.3, 0.35, 0.35, 0.35, 0.08, 0.08)
#: the direction in which each feature moves under attack (+1 up, -1 down): only
#: deviations that way count towards the score (fewer UEs, better radio or more
#: throughput per UE are changes, not threats)
ATTACK_SIGN = (-1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
UNKNOWN_KPM = "unknown-kpm"
#: a CQI or SINR distribution with fewer reports than this is not judged (too noisy)
MIN_DIST_REPORTS = 3
#: the most a CQI / SINR scale widens (squared) when fewer UEs than usual report
WIDEN_MAX = 4.0
SATURATED_PCT = 90.0  # DL PRB usage from which a cell counts as saturated

_CQI_BINS = tuple(zip(CQI_DIST_NAMES, range(len(CQI_DIST_NAMES)), strict=True))
_SINR_BINS = tuple(zip(SINR_DIST_NAMES, range(len(SINR_DIST_NAMES)), strict=True))
_LOG1P = math.log1p
_SQRT = math.sqrt
_RANGE = range(_NF)


@dataclass(frozen=True, slots=True)
class KpmConfig:
    """Tuning of the detector (defaults: 1 s reports)."""

    alpha: float = 0.02  # EW learning rate after warm-up (memory ~ 1/alpha reports)
    warmup: int = 30  # reports learnt before any scoring
    threshold: float = 5.0  # score (max signed z) from which a report is anomalous
    deviate: float = 3.0  # |z| from which a feature counts as deviated (classification)
    k: int = 2  # alert when k of the last n reports are anomalous
    n: int = 3
    clip: float = 20.0  # |z| is clipped here
    #: an anomaly that matches no attack class alerts only from this score
    unknown_threshold: float = 12.0
    winsor: float = 3.0  # learning clips values to baseline +- winsor x scale
    #: a report is also anomalous when this many features move the attack's way by at
    #: least ``corroborate_z`` each: independent evidence under the single-feature threshold
    corroborate_n: int = 3
    corroborate_z: float = 3.5
    #: a report this far out (max signed z) alerts at once, without waiting for k of n
    instant: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("must be in (0, 1)", field="alpha", source="KpmConfig")
        if self.warmup < 2:
            raise ConfigError("must be at least 2", field="warmup", source="KpmConfig")
        if not 1 <= self.k <= self.n <= 62:
            raise ConfigError("need 1 <= k <= n <= 62", field="k", source="KpmConfig")
        if (
            self.threshold <= 0
            or self.deviate <= 0
            or self.clip < self.threshold
            or self.unknown_threshold < self.threshold
        ):
            raise ConfigError("need 0 < deviate, 0 < threshold <= clip", field="threshold",
                              source="KpmConfig")  # fmt: skip
        if self.instant < self.threshold:
            raise ConfigError("must be at least the threshold", field="instant",
                              source="KpmConfig")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Deviation:
    """One deviated feature of an alert: its value, baseline (EW mean) and robust z."""

    name: str
    value: float
    baseline: float
    z: float


@dataclass(frozen=True, slots=True)
class Alert:
    cell: Hashable
    time: float
    score: float
    attack_class: str
    features: tuple[Deviation, ...]


def classify(z: list[float], raw_att: float, raw_succ: float, prb_pct: float,
             deviate: float, *, active: bool = False) -> str:  # fmt: skip
    """The attack class from the signed z-scores (in :data:`FEATURES` order).

    ``raw_att`` / ``raw_succ``: this report's RRC setup attempts and successes;
    ``prb_pct``: its DL PRB usage, % (saturation counts as PRB use up);
    ``active``: whether ``z[ACTIVE]`` (UEs with data) was scored.
    """
    if z[SINR] <= -deviate or z[CQI] <= -deviate:
        return "jamming"
    if z[FAIL] >= deviate and z[ATT] >= deviate and raw_succ < 0.5 * raw_att:
        return "fake-bs"
    if active:  # new connections with data (a flood) or without (a storm)
        if z[ACTIVE] >= deviate and z[CONN] >= deviate:
            return "ue-flood"
        if z[ATT] >= deviate and z[SUCC] >= deviate and z[ACTIVE] < deviate:
            return "signalling-storm"
    prb_up = z[PRB] >= deviate or prb_pct >= SATURATED_PCT
    if z[CONN] >= 2.0 * deviate and (prb_up or z[THP] <= -deviate or z[THP] >= deviate):
        return "ue-flood"
    if z[CONN] >= deviate and z[ATT] >= deviate and prb_up:  # more UEs attach and load the cell
        return "ue-flood"
    if z[ATT] >= deviate and z[SUCC] >= deviate and not prb_up:
        return "signalling-storm"
    return UNKNOWN_KPM


class CellDetector:
    """The baselines and persistence state of one cell."""

    __slots__ = ("_mask", "_recent", "cell", "cnt", "cnt_mean", "config", "mad", "mean", "n_seen",
                 "sc", "valid", "x", "z")  # fmt: skip

    def __init__(self, cell: Hashable, config: KpmConfig | None = None) -> None:
        self.cell = cell
        self.config = config or KpmConfig()
        self.mean = [0.0] * _NF
        self.mad = [0.0] * _NF
        self.sc = list(SCALE_FLOOR)  # the robust scale of each feature (see :meth:`scale`)
        self.n_seen = [0] * _NF  # reports learnt per feature
        self.x = [0.0] * _NF  # this report's features
        self.valid = [False] * _NF
        self.z = [0.0] * _NF
        # UE samples behind the CQI and SINR distribution means, now and on average: a
        # mean over fewer UEs than usual is noisier, so its scale widens by sqrt(usual/now)
        self.cnt = [0.0] * _NF
        self.cnt_mean = [0.0] * _NF
        self._recent = 0  # bit i: the report i reports ago was anomalous
        self._mask = (1 << self.config.n) - 1

    def scale(self, i: int) -> float:
        """The robust scale of feature ``i``: 1.25 x its EW MAD, at least its floor."""
        return self.sc[i]

    def _features(self, m: Mapping[str, float | int]) -> None:
        x = self.x
        valid = self.valid
        get = m.get
        v = get("DRB.UEThpDl")
        valid[THP] = v is not None and v > 0  # 0: no UE had data (no sample)
        if v is not None and v > 0:
            x[THP] = _LOG1P(v)
        v = get("RRU.PrbTotDl")
        valid[PRB] = v is not None
        if v is not None:
            x[PRB] = _LOG1P(v if v > 0 else 0.0)
        tot = 0.0
        acc = 0.0
        for name, b in _CQI_BINS:
            c = get(name)
            if c:
                tot += c
                acc += b * c
        valid[CQI] = tot >= MIN_DIST_REPORTS
        self.cnt[CQI] = tot
        if tot > 0:
            x[CQI] = acc / tot
        tot = acc = 0.0
        for name, b in _SINR_BINS:
            c = get(name)
            if c:
                tot += c
                acc += b * c
        valid[SINR] = tot >= MIN_DIST_REPORTS
        self.cnt[SINR] = tot
        if tot > 0:
            x[SINR] = acc / tot
        att = get("RRC.ConnEstabAtt")
        valid[ATT] = att is not None
        if att is not None:
            x[ATT] = _LOG1P(att)
        v = get("RRC.ConnEstabSucc")
        valid[SUCC] = v is not None
        if v is not None:
            x[SUCC] = _LOG1P(v)
        r = get("RRC.ConnEstabFailCause.NetworkReject")
        v = get("RRC.ConnEstabFailCause.NoReply")
        valid[FAIL] = r is not None or v is not None
        if valid[FAIL]:
            x[FAIL] = _LOG1P((r or 0) + (v or 0))
        v = get("RRC.ConnMean")
        valid[CONN] = v is not None
        if v is not None:
            x[CONN] = _LOG1P(v)
        v = get("DRB.MeanActiveUeDl")
        valid[ACTIVE] = v is not None
        if v is not None:
            x[ACTIVE] = _LOG1P(v if v > 0 else 0.0)

    def update(self, t: float, m: Mapping[str, float | int]) -> Alert | None:
        """Score one report (and learn from it if it is not anomalous)."""
        cfg = self.config
        if m.get("RRC.ConnMean", 1) == 0:  # an empty cell: nothing to judge or learn
            self._recent = (self._recent << 1) & self._mask
            return None
        self._features(m)
        x = self.x
        valid = self.valid
        mean = self.mean
        seen = self.n_seen
        sc = self.sc
        cnt = self.cnt
        cnt_mean = self.cnt_mean
        z = self.z
        warm = cfg.warmup
        clip = cfg.clip
        cz = cfg.corroborate_z
        score = 0.0
        scored = False
        joint = 0  # features deviating together in the attack direction
        for i in _RANGE:
            if not valid[i] or seen[i] < warm:
                z[i] = 0.0
                continue
            scored = True
            s = sc[i]
            c = cnt[i]
            if c and c < cnt_mean[i]:  # CQI / SINR over fewer UEs than usual
                w = cnt_mean[i] / c
                s *= _SQRT(w if w < WIDEN_MAX else WIDEN_MAX)
            zi = (x[i] - mean[i]) / s
            if zi > clip:
                zi = clip
            elif zi < -clip:
                zi = -clip
            z[i] = zi
            a = zi * ATTACK_SIGN[i]
            if a > score:
                score = a
            if a >= cz:
                joint += 1
        anomalous = scored and (score >= cfg.threshold or joint >= cfg.corroborate_n)
        self._recent = ((self._recent << 1) | anomalous) & self._mask
        if not anomalous:
            self._learn()
            return None
        if self._recent.bit_count() < cfg.k and score < cfg.instant:
            return None
        alert = self._alert(t, score)
        if alert.attack_class == UNKNOWN_KPM and score < cfg.unknown_threshold:
            return None
        return alert

    def _learn(self) -> None:
        """Fold this report's valid features into the baselines (winsorised after warm-up)."""
        cfg = self.config
        x = self.x
        valid = self.valid
        mean = self.mean
        mad = self.mad
        seen = self.n_seen
        sc = self.sc
        cnt = self.cnt
        cnt_mean = self.cnt_mean
        warm = cfg.warmup
        alpha = cfg.alpha
        wins = cfg.winsor
        for i in _RANGE:
            if not valid[i]:
                continue
            n = seen[i]
            xi = x[i]
            if n == 0:
                mean[i] = xi
                seen[i] = 1
                cnt_mean[i] = cnt[i]
                continue
            mu = mean[i]
            if n < warm:
                a = 1.0 / (n + 1)
            else:
                a = alpha
                lim = wins * sc[i]
                if xi > mu + lim:
                    xi = mu + lim
                elif xi < mu - lim:
                    xi = mu - lim
            d = xi - mu
            mean[i] = mu + a * d
            md = mad[i] + a * ((d if d >= 0 else -d) - mad[i])
            mad[i] = md
            md *= 1.25
            floor = SCALE_FLOOR[i]
            sc[i] = md if md > floor else floor
            seen[i] = n + 1
            c = cnt[i]
            if c:
                cnt_mean[i] += a * (c - cnt_mean[i])

    def _alert(self, t: float, score: float) -> Alert:
        cfg = self.config
        z = self.z
        x = self.x
        devs = tuple(
            Deviation(FEATURES[i], x[i], self.mean[i], z[i])
            for i in sorted(range(_NF), key=lambda j: -abs(z[j]))
            if self.valid[i] and abs(z[i]) >= cfg.deviate
        )
        raw_att = math.expm1(x[ATT]) if self.valid[ATT] else 0.0
        raw_succ = math.expm1(x[SUCC]) if self.valid[SUCC] else 0.0
        prb_pct = math.expm1(x[PRB]) if self.valid[PRB] else 0.0
        scored = self.valid[ACTIVE] and self.n_seen[ACTIVE] >= cfg.warmup
        label = classify(z, raw_att, raw_succ, prb_pct, cfg.deviate, active=scored)
        return Alert(self.cell, t, score, label, devs)


class KpmDetector:
    """Per-cell detectors by cell key (created at a cell's first report)."""

    def __init__(self, config: KpmConfig | None = None) -> None:
        self.config = config or KpmConfig()
        self.cells: dict[Hashable, CellDetector] = {}

    def update(self, cell_key: Hashable, t: float, measurements: Mapping[str, float | int]
               ) -> Alert | None:  # fmt: skip
        """Score one report of ``cell_key``: an :class:`Alert`, or None."""
        det = self.cells.get(cell_key)
        if det is None:
            det = self.cells[cell_key] = CellDetector(cell_key, self.config)
        return det.update(t, measurements)
