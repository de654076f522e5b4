"""Multivariate cell-level KPM detection, scored in batches per reporting period.

:class:`BatchDetector` scores the reports of all cells of one reporting period at
once with numpy. It reads the same 8 features as the univariate detector of
:mod:`xtrust.xapps.anomaly.kpm` (extracted by :meth:`~.kpm.CellDetector._features`,
so both detectors always agree on what a feature is) and keeps, per cell:

* an exponentially weighted (EW) mean and EW covariance of the features;
* an EW mean absolute deviation per feature: the robust scale ``1.25 x MAD``,
  floored at :data:`~.kpm.SCALE_FLOOR` exactly as the univariate detector does.

A report is scored by its squared Mahalanobis distance to the cell's baseline,
under a covariance shrunk towards the diagonal of the robust scales
(``(1 - shrink) x EW covariance + shrink x diag(scale^2)``, where a cell that
has learnt fewer than ``cov_warmup`` reports shrinks by ``1 - seen/cov_warmup``
if that is more: correlations estimated from a few dozen reports are noise;
then every standard
deviation raised to at least its floor, correlations kept; the CQI and SINR
variances widen when fewer UEs than usual report, as in the univariate
detector). Only the features valid in this report *and* learnt for ``warmup``
reports count: the distance is computed on that sub-vector (its degrees of
freedom are their number) and compared with the chi-square quantile
``chi2.isf(p_value, dof)``. A report is *anomalous* when the distance reaches
that threshold and at least one feature deviates by ``gate`` robust scales in
the direction an attack moves it (:data:`~.kpm.ATTACK_SIGN`: a cell losing UEs
is a change, not a threat). Anomalous reports are not learnt from; the others
are learnt winsorised at ``winsor`` scales. An :class:`~.kpm.Alert` is raised
when ``k`` of the cell's last ``n`` reports were anomalous; its class comes from
:func:`~.kpm.classify` on the standardised per-feature deviations, its
``score`` is ``sqrt(distance^2 / threshold)`` (1.0 = at the threshold), and an
anomaly whose deviations match no attack class alerts only from
``unknown_score``.

The point of the joint model: a shift that moves several features against their
usual correlation (PRB use up while per-UE throughput falls in a cell whose
throughput normally rises with PRB use) can stay under every univariate
threshold and still be far in Mahalanobis distance.

Reports that are not mappings, whose values are not numbers (``TypeError`` /
``ValueError`` in extraction), or whose features are not finite are skipped
(counted in :attr:`BatchDetector.skipped`); a report of an empty cell
(``RRC.ConnMean`` 0) is neither judged nor learnt.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xtrust.errors import ConfigError, InputError

from .kpm import (
    ACTIVE,
    ATT,
    ATTACK_SIGN,
    CQI,
    FEATURES,
    PRB,
    SCALE_FLOOR,
    SINR,
    SUCC,
    UNKNOWN_KPM,
    WIDEN_MAX,
    Alert,
    CellDetector,
    Deviation,
    classify,
)

__all__ = ["BatchDetector", "MvConfig"]

_NF = len(FEATURES)
_SIGN = np.array(ATTACK_SIGN)
_FLOOR = np.array(SCALE_FLOOR)
_EYE = np.eye(_NF)


@dataclass(frozen=True, slots=True)
class MvConfig:
    """Tuning of :class:`BatchDetector` (defaults: 1 s reports)."""

    alpha: float = 0.02  # EW learning rate after warm-up
    warmup: int = 30  # reports learnt per feature before it is scored
    p_value: float = 1e-5  # chi-square tail probability of the threshold (per report)
    shrink: float = 0.3  # weight of diag(robust scale^2) in the covariance
    #: reports before the learnt correlations get their full weight: until then the
    #: covariance leans towards the diagonal (shrink rises to 1 - seen / cov_warmup)
    cov_warmup: int = 120
    gate: float = 3.0  # an attack-direction |z| needed for a report to be anomalous
    deviate: float = 3.0  # |z| from which a feature counts as deviated (classification)
    k: int = 2  # alert when k of the last n reports are anomalous
    n: int = 3
    clip: float = 20.0  # per-feature |z| is clipped here before the distance
    winsor: float = 3.0  # learning clips values to baseline +- winsor x scale
    unknown_score: float = 2.0  # an unclassified anomaly alerts only from this score

    def __post_init__(self) -> None:
        src = "MvConfig"
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("must be in (0, 1)", field="alpha", source=src)
        if self.warmup < 2:
            raise ConfigError("must be at least 2", field="warmup", source=src)
        if not 0.0 < self.p_value < 0.5:
            raise ConfigError("must be in (0, 0.5)", field="p_value", source=src)
        if not 0.0 <= self.shrink <= 1.0:
            raise ConfigError("must be in [0, 1]", field="shrink", source=src)
        if self.cov_warmup < 1:
            raise ConfigError("must be at least 1", field="cov_warmup", source=src)
        if not 1 <= self.k <= self.n <= 62:
            raise ConfigError("need 1 <= k <= n <= 62", field="k", source=src)
        if self.gate < 0 or self.deviate <= 0 or self.clip <= 0 or self.winsor <= 0:
            raise ConfigError("need gate >= 0 and deviate, clip, winsor > 0", field="gate",
                              source=src)  # fmt: skip
        if self.unknown_score < 1.0:
            raise ConfigError("must be at least 1", field="unknown_score", source=src)

    def thresholds(self) -> np.ndarray:
        """Squared-distance thresholds by degrees of freedom (index 0: never reached)."""
        # scipy only here: importing it costs ~30 MB, an xApp without this detector
        # should not pay for it
        from scipy.special import chdtri  # type: ignore[import-untyped]

        out = np.full(_NF + 1, np.inf)
        for dof in range(1, _NF + 1):
            out[dof] = float(chdtri(dof, self.p_value))
        return out


class BatchDetector:
    """Per-cell EW mean / covariance baselines, scored a reporting period at a time."""

    def __init__(self, config: MvConfig | None = None) -> None:
        self.config = config or MvConfig()
        self.index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        self.skipped = 0  # malformed reports skipped
        self._thr = self.config.thresholds()
        self._mask = (1 << self.config.n) - 1
        self._ext = CellDetector("extract")  # its _features is the one feature extractor
        cap = 16
        self.mean = np.zeros((cap, _NF))
        self.cov = np.zeros((cap, _NF, _NF))
        self.mad = np.zeros((cap, _NF))
        self.seen = np.zeros((cap, _NF), dtype=np.int64)
        self.cnt_mean = np.zeros((cap, 2))  # UE samples behind CQI and SINR, EW
        self.recent = np.zeros(cap, dtype=np.int64)

    # ------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self.keys)

    def _grow(self, need: int) -> None:
        cap = len(self.recent)
        if need <= cap:
            return
        new = max(need, 2 * cap)

        def ext(a: np.ndarray) -> np.ndarray:
            out = np.zeros((new, *a.shape[1:]), dtype=a.dtype)
            out[:cap] = a
            return out

        self.mean, self.cov, self.mad = ext(self.mean), ext(self.cov), ext(self.mad)
        self.seen, self.cnt_mean, self.recent = ext(self.seen), ext(self.cnt_mean), ext(self.recent)

    def _rows(self, keys: Sequence[Hashable]) -> np.ndarray:
        index = self.index
        out = np.empty(len(keys), dtype=np.int64)
        for j, key in enumerate(keys):
            i = index.get(key)
            if i is None:
                i = index[key] = len(self.keys)
                self.keys.append(key)
            out[j] = i
        self._grow(len(self.keys))
        return out

    def scale(self, rows: np.ndarray) -> np.ndarray:
        """Robust scales (``1.25 x MAD``, floored) of the cells at ``rows``."""
        return np.maximum(1.25 * self.mad[rows], _FLOOR)

    # ------------------------------------------------------------ features
    def extract(self, reports: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray, np.ndarray]:  # fmt: skip
        """Features of ``reports``: (x, valid, UE counts of CQI/SINR, ok, empty) arrays.

        ``ok`` is False for a malformed report (skipped), ``empty`` True for an empty cell.
        """
        b = len(reports)
        ext = self._ext
        feats = ext._features
        xs = ext.x
        vs = ext.valid
        cs = ext.cnt
        rx: list[float] = []  # flat: b x _NF
        rv: list[bool] = []
        rc: list[float] = []  # flat: b x 2
        ok = np.ones(b, dtype=bool)
        empty = np.zeros(b, dtype=bool)
        blank_x = [0.0] * _NF
        blank_v = [False] * _NF
        add_x = rx.extend
        add_v = rv.extend
        add_c = rc.append
        for j, m in enumerate(reports):
            try:
                if m.get("RRC.ConnMean", 1) == 0:
                    empty[j] = True
                    add_x(blank_x)
                    add_v(blank_v)
                    add_c(0.0)
                    add_c(0.0)
                    continue
                feats(m)
            except (AttributeError, TypeError, ValueError, OverflowError):
                ok[j] = False
                add_x(blank_x)
                add_v(blank_v)
                add_c(0.0)
                add_c(0.0)
                continue
            add_x(xs)
            add_v(vs)
            add_c(cs[CQI])
            add_c(cs[SINR])
        x = np.array(rx, dtype=float).reshape(b, _NF)
        v = np.array(rv, dtype=bool).reshape(b, _NF)
        cnt = np.array(rc, dtype=float).reshape(b, 2)
        finite = np.isfinite(x)
        v &= finite
        x[~finite] = 0.0
        bad = ok & ~empty & ~v.any(axis=1)  # nothing usable: skipped like a malformed one
        ok &= ~bad
        return x, v, cnt, ok, empty

    # ------------------------------------------------------------ scoring
    def update(self, t: float, keys: Sequence[Hashable],
               reports: Sequence[Mapping[str, float | int]]) -> list[Alert]:  # fmt: skip
        """Score one reporting period: ``reports[i]`` is cell ``keys[i]``'s report."""
        if len(keys) != len(reports):
            raise InputError(f"{len(keys)} cell keys for {len(reports)} reports")
        if len(set(keys)) != len(keys):  # a cell twice: score its reports in turn
            alerts: list[Alert] = []
            seen: dict[Hashable, int] = {}
            groups: list[tuple[list[Hashable], list[Mapping[str, float | int]]]] = []
            for key, rep in zip(keys, reports, strict=True):
                g = seen.get(key, 0)
                seen[key] = g + 1
                if g == len(groups):
                    groups.append(([], []))
                groups[g][0].append(key)
                groups[g][1].append(rep)
            for gk, gr in groups:
                alerts += self.update(t, gk, gr)
            return alerts
        if not keys:
            return []
        x, v, cnt, ok, empty = self.extract(reports)
        self.skipped += int((~ok).sum())
        rows_all = self._rows(keys)
        if empty.any():
            er = rows_all[empty]
            self.recent[er] = (self.recent[er] << 1) & self._mask
        act = np.flatnonzero(ok & ~empty)
        if not len(act):
            return []
        rows = rows_all[act]
        x, v, cnt = x[act], v[act], cnt[act]
        sel: np.ndarray | slice = rows
        if rows[-1] - rows[0] == len(rows) - 1 and (len(rows) == 1 or (np.diff(rows) == 1).all()):
            sel = slice(int(rows[0]), int(rows[-1]) + 1)  # the usual batch: views, no copies
        return self._score(t, keys, act, rows, sel, x, v, cnt)

    def _score(self, t: float, keys: Sequence[Hashable], act: np.ndarray, rows: np.ndarray,
               sel: np.ndarray | slice, x: np.ndarray, v: np.ndarray, cnt: np.ndarray
               ) -> list[Alert]:  # fmt: skip
        cfg = self.config
        mean = self.mean[sel]
        seen = self.seen[sel]
        s = np.maximum(1.25 * self.mad[sel], _FLOOR)
        # CQI / SINR means over fewer UEs than usual are noisier: widen (as kpm does)
        cm = self.cnt_mean[sel]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where((cnt > 0) & (cnt < cm), cm / np.where(cnt > 0, cnt, 1.0), 1.0)
        w = np.sqrt(np.minimum(w, WIDEN_MAX))
        widen = np.ones_like(x)
        widen[:, CQI] = w[:, 0]
        widen[:, SINR] = w[:, 1]
        sw = s * widen
        sv = v & (seen >= cfg.warmup)  # scored features
        d = x - mean
        z = np.clip(d / sw, -cfg.clip, cfg.clip) * sv
        # covariance: shrink towards diag(scale^2), floor every std, keep correlations; a
        # young cell's correlations are estimates from few reports and weigh less
        n_min = np.where(sv, seen, np.iinfo(np.int64).max).min(axis=1)
        lam = np.maximum(cfg.shrink, 1.0 - np.minimum(n_min, cfg.cov_warmup) / cfg.cov_warmup)
        cov = (1.0 - lam)[:, None, None] * self.cov[sel]
        diag = np.einsum("bii->bi", cov)
        diag += lam[:, None] * s * s
        std = np.sqrt(np.maximum(diag, 1e-300))
        f = np.maximum(std, _FLOOR) / std * widen
        cov *= f[:, :, None] * f[:, None, :]
        svf = sv.astype(float)
        cov *= svf[:, :, None] * svf[:, None, :]
        cov += _EYE * (1.0 - svf)[:, None, :]
        dd = z * sw  # the deviations, clipped at clip robust scales (0: not scored)
        sol = np.linalg.solve(cov, dd[:, :, None])[:, :, 0]
        d2 = np.einsum("bi,bi->b", dd, sol)
        dof = sv.sum(axis=1)
        thr = self._thr[dof]
        signed = (z * _SIGN).max(axis=1)
        anom = (dof > 0) & (d2 >= thr) & (signed >= cfg.gate)
        rec = ((self.recent[sel] << 1) | anom) & self._mask
        self.recent[sel] = rec
        if not anom.all():
            self._learn(sel, x, v & ~anom[:, None], cnt, d, s)
        fire = np.flatnonzero(anom & (np.bitwise_count(rec) >= cfg.k))
        out: list[Alert] = []
        for j in fire:
            score = math.sqrt(d2[j] / thr[j])
            zj = z[j].tolist()
            xj = x[j]
            vj = v[j]
            raw_att = math.expm1(xj[ATT]) if vj[ATT] else 0.0
            raw_succ = math.expm1(xj[SUCC]) if vj[SUCC] else 0.0
            prb_pct = math.expm1(xj[PRB]) if vj[PRB] else 0.0
            label = classify(zj, raw_att, raw_succ, prb_pct, cfg.deviate,
                             active=bool(sv[j, ACTIVE]))  # fmt: skip
            if label == UNKNOWN_KPM and score < cfg.unknown_score:
                continue
            r = rows[j]
            devs = tuple(
                Deviation(FEATURES[i], float(xj[i]), float(self.mean[r, i]), zj[i])
                for i in sorted(range(_NF), key=lambda i: -abs(zj[i]))
                if sv[j, i] and abs(zj[i]) >= cfg.deviate
            )
            out.append(Alert(keys[act[j]], t, score, label, devs))
        return out

    def _learn(self, rows: np.ndarray | slice, x: np.ndarray, v: np.ndarray, cnt: np.ndarray,
               d: np.ndarray, s: np.ndarray) -> None:  # fmt: skip
        """Learn the features ``v`` (valid and not anomalous) of the cells at ``rows``."""
        cfg = self.config
        seen = self.seen[rows]
        first = v & (seen == 0)
        warm = seen >= cfg.warmup
        a = np.where(warm, cfg.alpha, 1.0 / (seen + 1.0)) * v
        lim = cfg.winsor * s
        d = np.where(warm, np.clip(d, -lim, lim), d) * v
        d[first] = 0.0
        mean = self.mean[rows]
        mean[first] = x[first]
        mean += a * d
        self.mean[rows] = mean
        mad = self.mad[rows]
        mad += a * (np.abs(d) - mad) * ~first
        self.mad[rows] = mad
        aa = np.sqrt(a[:, :, None] * a[:, None, :])
        cov = self.cov[rows]
        cov += aa * d[:, :, None] * d[:, None, :]
        cov *= 1.0 - aa
        self.cov[rows] = cov
        self.seen[rows] = seen + v
        cm = self.cnt_mean[rows]
        for c, i in ((0, CQI), (1, SINR)):
            ai = np.where(first[:, i], 1.0, a[:, i]) * (v[:, i] & (cnt[:, c] > 0))
            cm[:, c] += ai * (cnt[:, c] - cm[:, c])
        self.cnt_mean[rows] = cm

    def baseline(self, key: Hashable) -> dict[str, Any] | None:
        """The learnt state of cell ``key`` (mean, robust scales, correlation), or None."""
        r = self.index.get(key)
        if r is None:
            return None
        cov = self.cov[r]
        sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        return {
            "mean": dict(zip(FEATURES, self.mean[r].tolist(), strict=True)),
            "scale": dict(zip(FEATURES, self.scale(np.array([r]))[0].tolist(), strict=True)),
            "reports": dict(zip(FEATURES, self.seen[r].tolist(), strict=True)),
            "correlation": (cov / np.outer(sd, sd)).round(3).tolist(),
        }
