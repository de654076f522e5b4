"""Calibrate the RAN model against the real ColO-RAN traces (srsRAN LTE on Colosseum).

The traces (M. Polese, L. Bonati, S. D'Oro, S. Basagni, T. Melodia, "ColoRAN:
Design and Testing of Open RAN Intelligence on Large-scale Experimental
Platforms", arXiv:2112.09559, 2021; wineslab/colosseum-oran-coloran-dataset,
rome_static_medium/sched0/tr0/exp1) are read in place from ``--data``; nothing
is copied. Their set-up: 10 MHz LTE (50 PRBs, 15 kHz), 3 slices, round-robin,
a report every 250 ms. The simulated cell is configured like theirs (50 PRBs
at 15 kHz, six UEs, the SINR the UEs see there, their offered traffic levels,
no daily profile, nobody arriving or leaving) and stepped every 250 ms.

Metrics (real vs. simulated), each a distance between distributions:

* SINR: ``dl_snr`` of every attached UE vs. ``L1M.DL-SS-SINR`` (both in whole dB)
* MCS: ``dl_mcs`` of reports with traffic vs. the MCS of the UE's CQI
  (TS 38.214 MCS table 1, which has the layout of LTE's 0..28)
* SNR -> MCS: mean absolute gap between the mean MCS per whole-dB SNR
  (bins with >= 30 reports on both sides)
* per-UE DL throughput: ``dl_brate`` of UEs with traffic vs. ``DRB.UEThpDl`` per UE
  (W1 in kbit/s), its shape (each UE's series over its median: KS), and its
  autocorrelation at 250 ms and 2 s
* MCS -> throughput: mean over UEs of the rank correlation of MCS and throughput
* cell DL throughput: bs1's ``dl_brate`` (six UEs) vs. the cell's total (W1 in kbit/s,
  and the shape, KS over the median)

KS is the two-sample Kolmogorov-Smirnov statistic, W1 the Wasserstein-1
distance, both in the standard library. ``before`` uses the model as it was
first written (CQI straight from the SINR, i.i.d. log-normal demand with sigma
0.3); ``after`` the current defaults of :class:`xtrust.e2sim.model.Profile`.
``--tune`` runs the grid search that found those defaults.

    .venv/bin/python bench/calibrate_coloran.py [--data ../shared/data/coloran]
        [--steps 2000] [--seed 1] [--tune] [--json out/calibration_coloran.json]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import dataclasses
import itertools
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from xtrust.e2sim.model import Cell, Profile, mcs_of_cqi

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "coloran"

#: the model before calibration (its first version), expressed as a profile
BEFORE = {"la_backoff_db": 0.0, "fast_fading_db": 0.0, "burst_sigma": 0.3,
          "burst_slow_share": 0.0, "burst_tau_s": 1.0}  # fmt: skip
#: the Colosseum deployment: static channel around 15.5 dB, no daily cycle, no churn
DEPLOYMENT = {"sinr_mean_db": 15.5, "sinr_spread_db": 1.3, "shadow_std_db": 0.55,
              "shadow_tau_s": 0.05, "daily": False, "session_s": math.inf,
              "handover_rate": 0.0}  # fmt: skip
WARMUP = 20  # a UE's series starts once it has had traffic for 20 reports in a row


# --------------------------------------------------------------------------- data
@dataclasses.dataclass
class Real:
    snr: list[float]
    mcs: list[float]
    snr_mcs: list[tuple[float, float]]
    ue_thp: list[list[float]]  # kbit/s, per UE with traffic
    ue_mcs: list[list[float]]
    cell_thp: list[float]  # kbit/s, bs1
    demand: list[float]  # offered kbit/s of the six UEs of bs1 (see load())


def _rows(path: Path, width: int) -> list[list[str]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    # the source cut the last line short: keep full rows only
    return [r for r in rows[1:] if len(r) == width]


def _fail(message: str) -> NoReturn:
    print(f"calibrate_coloran: {message}", file=sys.stderr)
    raise SystemExit(2)


def load(data: Path) -> Real:
    if not data.is_dir():
        _fail(f"no ColO-RAN data at {data} (get it from "
              "wineslab/colosseum-oran-coloran-dataset and pass --data)")  # fmt: skip
    ue_files = sorted(data.rglob("ue*.csv"))
    bs_files = sorted(data.rglob("bs*.csv"))
    if not ue_files or not bs_files:
        _fail(f"{data} has no ueN.csv / bsN.csv files")
    snr: list[float] = []
    mcs: list[float] = []
    snr_mcs: list[tuple[float, float]] = []
    ue_thp: list[list[float]] = []
    ue_mcs: list[list[float]] = []
    for path in ue_files:
        with path.open(newline="") as f:
            header = next(csv.reader(f))
        col = {name: i for i, name in enumerate(header)}
        rows = [r for r in _rows(path, len(header)) if float(r[col["is_attached"]]) == 1.0]
        snr += [float(r[col["dl_snr"]]) for r in rows]
        brate = [float(r[col["dl_brate"]]) / 1e3 for r in rows]
        start = next((i for i in range(len(brate) - WARMUP)
                      if all(b > 0 for b in brate[i:i + WARMUP])), None)  # fmt: skip
        if start is None:  # no traffic (UEs 7 and 8): SINR only
            continue
        series = rows[start:]
        thp = [float(r[col["dl_brate"]]) / 1e3 for r in series]
        m = [float(r[col["dl_mcs"]]) for r in series]
        ue_thp.append(thp)
        ue_mcs.append(m)
        for r, b in zip(series, thp, strict=True):
            if b > 0:
                mcs.append(float(r[col["dl_mcs"]]))
                snr_mcs.append((float(r[col["dl_snr"]]), float(r[col["dl_mcs"]])))
    bs = next(p for p in bs_files if p.stem == "bs1") if any(p.stem == "bs1" for p in bs_files) \
        else bs_files[0]  # fmt: skip
    rows = [r for r in _rows(bs, 4) if int(r[1]) > 0]
    cell = [float(r[2]) / 1e3 for r in rows]
    start = next(i for i in range(len(cell)) if all(b > 0 for b in cell[i : i + WARMUP]))
    # bs1 serves six UEs, three of which are in the data: they offer what they got (median);
    # the other three share what the cell carried beyond that
    seen = [statistics.median(t) for t in ue_thp]
    rest = max(0.0, statistics.median(cell[start:]) - sum(seen))
    demand = (seen + [rest / max(1, 6 - len(seen))] * 6)[:6]
    return Real(snr, mcs, snr_mcs, ue_thp, ue_mcs, cell[start:], demand)


# --------------------------------------------------------------------------- model
@dataclasses.dataclass
class Sim:
    snr: list[float]
    mcs: list[float]
    snr_mcs: list[tuple[float, float]]
    ue_thp: list[list[float]]
    ue_mcs: list[list[float]]
    cell_thp: list[float]


def simulate(params: dict[str, Any], demand: Sequence[float], steps: int, seed: int) -> Sim:
    """Six UEs offering ``demand`` in a 50-PRB, 15 kHz cell, a step every 250 ms.

    The per-UE metrics use the UEs that stand for the ones in the data (the first
    ``len(real.ue_thp)``); the cell metrics use all six.
    """
    profile = dataclasses.replace(Profile(), **DEPLOYMENT, **params)
    cell = Cell(1, 1, random.Random(seed), n_prb=50, scs_khz=15, profile=profile)
    for d in demand:
        ue = cell.add_ue()
        ue.demand_dl_kbps = d
        ue.demand_ul_kbps = d * 0.1
    ids = list(cell.ues)
    sim = Sim([], [], [], [[] for _ in ids], [[] for _ in ids], [])
    t = 1.7e9
    for _ in range(steps):
        t += 0.25
        cell.step(t, 0.25)
        per = cell.ue_measurements()
        total = 0.0
        for k, ue_id in enumerate(ids):
            v = per[ue_id]
            s = round(float(v["L1M.DL-SS-SINR"]))
            m = float(mcs_of_cqi(int(v["CQI"])))
            thp = float(v["DRB.UEThpDl"])
            sim.snr.append(s)
            sim.ue_thp[k].append(thp)
            sim.ue_mcs[k].append(m)
            total += thp
            if thp > 0:
                sim.mcs.append(m)
                sim.snr_mcs.append((s, m))
        sim.cell_thp.append(total)
        cell.measurements()
    return sim


# --------------------------------------------------------------------------- distances
def ks(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic."""
    xa, xb = sorted(a), sorted(b)
    best = 0.0
    for x in set(xa) | set(xb):
        fa = bisect.bisect_right(xa, x) / len(xa)
        fb = bisect.bisect_right(xb, x) / len(xb)
        best = max(best, abs(fa - fb))
    return best


def w1(a: Sequence[float], b: Sequence[float]) -> float:
    """Wasserstein-1 distance: the area between the two empirical CDFs."""
    xa, xb = sorted(a), sorted(b)
    points = sorted(set(xa) | set(xb))
    total = 0.0
    for x0, x1 in itertools.pairwise(points):
        fa = bisect.bisect_right(xa, x0) / len(xa)
        fb = bisect.bisect_right(xb, x0) / len(xb)
        total += abs(fa - fb) * (x1 - x0)
    return total


def autocorr(x: Sequence[float], lag: int) -> float:
    m = statistics.fmean(x)
    var = sum((v - m) ** 2 for v in x)
    if var == 0:
        return 0.0
    return sum((x[i] - m) * (x[i + lag] - m) for i in range(len(x) - lag)) / var


def _ranks(x: Sequence[float]) -> list[float]:
    order = sorted(range(len(x)), key=lambda i: x[i])
    out = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    den = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return num / den if den else 0.0


def relation_gap(real: Sequence[tuple[float, float]], sim: Sequence[tuple[float, float]]) -> float:
    """Mean |mean MCS real - mean MCS sim| over SNR bins both sides fill (>= 30 reports)."""

    def means(pairs: Sequence[tuple[float, float]]) -> dict[int, tuple[float, int]]:
        acc: dict[int, list[float]] = defaultdict(list)
        for s, m in pairs:
            acc[round(s)].append(m)
        return {k: (statistics.fmean(v), len(v)) for k, v in acc.items()}

    a, b = means(real), means(sim)
    gaps = [abs(a[k][0] - b[k][0]) for k in a if k in b and a[k][1] >= 30 and b[k][1] >= 30]
    return statistics.fmean(gaps) if gaps else math.nan


def _shape(series: Sequence[Sequence[float]]) -> list[float]:
    out: list[float] = []
    for s in series:
        med = statistics.median(s) or 1.0
        out += [v / med for v in s]
    return out


def compare(real: Real, sim: Sim) -> dict[str, dict[str, float]]:
    def mean_ac(series: Sequence[Sequence[float]], lag: int) -> float:
        return statistics.fmean(autocorr(s, lag) for s in series)

    n = len(real.ue_thp)
    sim = dataclasses.replace(sim, ue_thp=sim.ue_thp[:n], ue_mcs=sim.ue_mcs[:n])
    r_thp = [v for s in real.ue_thp for v in s]
    s_thp = [v for s in sim.ue_thp for v in s]
    return {
        "SINR (dB)": {"KS": ks(real.snr, sim.snr), "W1": w1(real.snr, sim.snr)},
        "MCS": {"KS": ks(real.mcs, sim.mcs), "W1": w1(real.mcs, sim.mcs)},
        "SNR->MCS": {"gap": relation_gap(real.snr_mcs, sim.snr_mcs)},
        "UE DL thp (kbit/s)": {"KS": ks(r_thp, s_thp), "W1": w1(r_thp, s_thp)},
        "UE DL thp shape": {"KS": ks(_shape(real.ue_thp), _shape(sim.ue_thp))},
        "UE thp autocorr 250 ms": {
            "real": mean_ac(real.ue_thp, 1),
            "sim": mean_ac(sim.ue_thp, 1),
            "gap": abs(mean_ac(real.ue_thp, 1) - mean_ac(sim.ue_thp, 1)),
        },
        "UE thp autocorr 2 s": {
            "real": mean_ac(real.ue_thp, 8),
            "sim": mean_ac(sim.ue_thp, 8),
            "gap": abs(mean_ac(real.ue_thp, 8) - mean_ac(sim.ue_thp, 8)),
        },
        "MCS->thp rank corr": {
            "real": statistics.fmean(
                spearman(m, t) for m, t in zip(real.ue_mcs, real.ue_thp, strict=True)
            ),
            "sim": statistics.fmean(
                spearman(m, t) for m, t in zip(sim.ue_mcs, sim.ue_thp, strict=True)
            ),
        },
        "cell DL thp (kbit/s)": {
            "KS": ks(real.cell_thp, sim.cell_thp),
            "W1": w1(real.cell_thp, sim.cell_thp),
        },
        "cell DL thp shape": {"KS": ks(_shape([real.cell_thp]), _shape([sim.cell_thp]))},
    }


# --------------------------------------------------------------------------- tuning
def radio_loss(d: dict[str, dict[str, float]]) -> float:
    return d["MCS"]["KS"] + 0.1 * d["SNR->MCS"]["gap"]


def traffic_loss(d: dict[str, dict[str, float]]) -> float:
    return (d["UE DL thp shape"]["KS"] + d["UE thp autocorr 250 ms"]["gap"]
            + d["UE thp autocorr 2 s"]["gap"])  # fmt: skip


def tune(real: Real, steps: int, seed: int) -> dict[str, float]:
    """Grid search: link adaptation first (MCS), then burstiness (throughput)."""
    base = {k: getattr(Profile(), k) for k in BEFORE}
    best: tuple[float, dict[str, float]] = (math.inf, base)
    for backoff in [x / 2 for x in range(0, 25)]:
        for ff in [x / 4 for x in range(0, 17)]:
            p = {**base, "la_backoff_db": backoff, "fast_fading_db": ff}
            loss = radio_loss(compare(real, simulate(p, real.demand, steps, seed)))
            if loss < best[0]:
                best = (loss, p)
    print(f"  radio: {best[1]['la_backoff_db']} dB back-off, {best[1]['fast_fading_db']} dB "
          f"jitter (loss {best[0]:.3f})")  # fmt: skip
    radio = best[1]
    best = (math.inf, radio)
    for sigma in [x / 20 for x in range(2, 13)]:
        for share in [x / 10 for x in range(0, 10)]:
            for tau in (5.0, 10.0, 30.0, 60.0, 120.0):
                p = {**radio, "burst_sigma": sigma, "burst_slow_share": share, "burst_tau_s": tau}
                loss = traffic_loss(compare(real, simulate(p, real.demand, steps, seed)))
                if loss < best[0]:
                    best = (loss, p)
    print(f"  traffic: sigma {best[1]['burst_sigma']}, slow share {best[1]['burst_slow_share']}, "
          f"tau {best[1]['burst_tau_s']} s (loss {best[0]:.3f})")  # fmt: skip
    return best[1]


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the ColO-RAN exp1 folder (default: ../shared/data/coloran)")  # fmt: skip
    ap.add_argument("--steps", type=int, default=2000, help="simulated 250 ms steps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tune", action="store_true", help="run the grid search")
    ap.add_argument("--json", type=Path, default=Path("out/calibration_coloran.json"),
                    help="where to write the results (default: out/calibration_coloran.json)")  # fmt: skip
    args = ap.parse_args(argv)
    real = load(args.data)
    print(f"ColO-RAN: {len(real.snr)} UE reports, {len(real.ue_thp)} UEs with traffic "
          f"(offered ~{', '.join(f'{d:.0f}' for d in real.demand)} kbit/s), "
          f"{len(real.cell_thp)} cell reports")  # fmt: skip
    after = {k: getattr(Profile(), k) for k in BEFORE}
    if args.tune:
        t0 = time.perf_counter()
        after = tune(real, args.steps, args.seed)
        print(f"  tuned in {time.perf_counter() - t0:.0f} s")
    results = {
        "before": compare(real, simulate(BEFORE, real.demand, args.steps, args.seed)),
        "after": compare(real, simulate(after, real.demand, args.steps, args.seed)),
    }
    print(f"\n{'metric':26} {'':6} {'before':>9} {'after':>9}")
    for metric, values in results["after"].items():
        for key, value in values.items():
            old = results["before"][metric][key]
            print(f"{metric:26} {key:6} {old:9.3f} {value:9.3f}")
    print("\nparameters before:", json.dumps(BEFORE))
    print("parameters after: ", json.dumps(after))
    doc = {"data": str(args.data), "steps": args.steps, "seed": args.seed,
           "deployment": {k: (None if v == math.inf else v) for k, v in DEPLOYMENT.items()},
           "parameters": {"before": BEFORE, "after": after}, "metrics": results}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
