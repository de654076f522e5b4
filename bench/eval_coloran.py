"""The KPM detectors on real benign traffic: the ColO-RAN srsRAN traces.

Issue 6's goal: the KPM detectors raise at most 1 alarm per 10,000 reports on the
ColO-RAN traces (``../shared/data/coloran``, see its README: srsRAN LTE base
stations, 10 MHz, round-robin, eMBB / MTC / URLLC slices, no attacks), mapped to
the KPM measurement names.

(a) Cell level, :class:`xtrust.xapps.anomaly.kpm.KpmDetector` (default config), per
    ``bsN.csv`` (one cell each), with ``eval_kpm``'s mapping (``dl_brate`` /
    ``nof_ue`` -> ``DRB.UEThpDl``, ``ul_brate`` / ``nof_ue`` -> ``DRB.UEThpUl``, kbit/s
    per UE; ``nof_ue`` -> ``RRC.ConnMean``): every native 250 ms report, and the
    reports averaged to 1 s (``eval_kpm.coloran_reports``).
(b) UE level, :class:`xtrust.xapps.anomaly.ue.UeDetector` (default config): the
    ``ueN.csv`` files next to a ``bsN.csv`` are that base station's UEs; one period is
    the attached UEs (``is_attached`` 1) of one base station at one time stamp (the
    UE files count ms from their start, every ~250 ms: slot = round(ms / 250)).
    Mapping: ``dl_brate`` / ``ul_brate`` (bit/s) / 1000 -> ``DRB.UEThpDl`` /
    ``DRB.UEThpUl`` (kbit/s), ``dl_snr`` -> ``CQI`` through the simulator's CQI table
    (:func:`xtrust.e2sim.model.cqi_of_sinr`); the traces have no per-UE PRB count, so
    the PRB and PRB-share features are absent (the detector skips them). Run on the
    native 250 ms periods and on 1 s periods (four slots averaged per UE).

Reports scored, alarms (every report the detector returns an alert for) and
alarms per 10,000 reports, each against the goal (1 per 10,000: the ratio column);
for context also the alerts the running xApp would send (one per entity and
class per 30 s episode, its ``realert_s`` default) and the UEs flagged.

    .venv/bin/python bench/eval_coloran.py [--data ../shared/data/coloran] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_kpm import _aggregate, coloran_reports, full_rows

from xtrust.e2sim.model import cqi_of_sinr
from xtrust.xapps.anomaly.alerts import EpisodeGate
from xtrust.xapps.anomaly.kpm import KpmConfig, KpmDetector
from xtrust.xapps.anomaly.ue import UeConfig, UeDetector

GOAL_PER_10K = 1.0
SLOT_MS = 250
REALERT_S = 30.0

UePeriod = tuple[float, dict[str, dict[str, float]]]  # (time s, {ue: measurements})


def _fail(message: str) -> int:
    print(f"eval_coloran: {message}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------ cell level
def native_cell_reports(path: Path) -> list[tuple[float, dict[str, float]]]:
    """Every 250 ms row of a bsN.csv as one report (eval_kpm's mapping), timed in s."""
    out = []
    for row in full_rows(path):
        try:
            t = int(row["time"]) / 1000.0
            rep = _aggregate([row])
        except (KeyError, ValueError):
            continue
        out.append((t, rep))
    return out


def run_cell(reports: list[tuple[float, dict[str, float]]], key: Hashable,
             config: KpmConfig) -> dict[str, Any]:  # fmt: skip
    det = KpmDetector(config)
    gate = EpisodeGate(REALERT_S)
    alarms = sent = 0
    for t, rep in reports:
        alert = det.update(key, t, rep)
        if alert is not None:
            alarms += 1
            sent += gate.admit((key, alert.attack_class), t)
    return {"reports": len(reports), "alarms": alarms, "alerts_sent": sent}


# ------------------------------------------------------------------ UE level
def ue_measurements(row: dict[str, str]) -> dict[str, float]:
    """One ueN.csv row as UE-level KPM."""
    m = {"DRB.UEThpDl": float(row["dl_brate"]) / 1000.0,
         "DRB.UEThpUl": float(row["ul_brate"]) / 1000.0}  # fmt: skip
    snr = float(row["dl_snr"])
    if math.isfinite(snr):
        m["CQI"] = float(cqi_of_sinr(snr))
    return m


def ue_periods(ue_files: Iterable[Path], every: int = 1) -> list[UePeriod]:
    """The periods of one base station's UEs: ``every`` 250 ms slots per period
    (a UE's measurements averaged over its slots in the period)."""
    slots: dict[int, dict[str, list[dict[str, float]]]] = {}
    for path in ue_files:
        for row in full_rows(path):
            try:
                if float(row["is_attached"]) != 1.0:
                    continue
                slot = round(int(float(row["time"])) / SLOT_MS) // every
                m = ue_measurements(row)
            except (KeyError, ValueError):
                continue
            slots.setdefault(slot, {}).setdefault(path.stem, []).append(m)
    out: list[UePeriod] = []
    for slot in sorted(slots):
        period: dict[str, dict[str, float]] = {}
        for ue, ms in slots[slot].items():
            names = set.intersection(*(set(m) for m in ms))
            period[ue] = {n: sum(m[n] for m in ms) / len(ms) for n in sorted(names)}
        out.append((slot * every * SLOT_MS / 1000.0, period))
    return out


def run_ue(periods: list[UePeriod], key: Hashable, config: UeConfig) -> dict[str, Any]:
    det = UeDetector(config)
    gate = EpisodeGate(REALERT_S)
    reports = alarms = sent = 0
    flagged: dict[str, list[float]] = {}
    for t, period in periods:
        reports += len(period)
        for alert in det.update(t, key, period):
            alarms += 1
            sent += gate.admit((key, alert.ue), t)
            flagged.setdefault(str(alert.ue), []).append(t)
    return {"reports": reports, "periods": len(periods), "alarms": alarms, "alerts_sent": sent,
            "ues_flagged": {u: {"alarms": len(ts), "first_s": ts[0], "last_s": ts[-1]}
                            for u, ts in sorted(flagged.items())}}  # fmt: skip


# ------------------------------------------------------------------ main
def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rep = sum(r["reports"] for r in rows)
    alarms = sum(r["alarms"] for r in rows)
    rate = 1e4 * alarms / rep if rep else 0.0
    return {"reports": rep, "alarms": alarms, "alerts_sent": sum(r["alerts_sent"] for r in rows),
            "per_10k": rate, "x_goal": rate / GOAL_PER_10K}  # fmt: skip


def evaluate(root: Path) -> dict[str, Any]:
    bs_files = sorted(root.rglob("bs*.csv"))
    kcfg, ucfg = KpmConfig(), UeConfig()
    cell_native, cell_1s, ue_native, ue_1s = [], [], [], []
    files: dict[str, Any] = {}
    for bs in bs_files:
        name = str(bs.relative_to(root))
        a = run_cell(native_cell_reports(bs), name, kcfg)
        b = run_cell([(float(i), r) for i, r in enumerate(coloran_reports(bs))], name, kcfg)
        ues = sorted(bs.parent.glob("ue*.csv"))
        c = run_ue(ue_periods(ues), name, ucfg)
        d = run_ue(ue_periods(ues, every=1000 // SLOT_MS), name, ucfg)
        cell_native.append(a)
        cell_1s.append(b)
        ue_native.append(c)
        ue_1s.append(d)
        files[name] = {"ue_files": [u.name for u in ues], "cell_250ms": a, "cell_1s": b,
                       "ue_250ms": c, "ue_1s": d}  # fmt: skip
    return {
        "data": str(root),
        "kpm_config": str(kcfg),
        "ue_config": str(ucfg),
        "goal_per_10k": GOAL_PER_10K,
        "cell_250ms": _total(cell_native),
        "cell_1s": _total(cell_1s),
        "ue_250ms": _total(ue_native),
        "ue_1s": _total(ue_1s),
        "files": files,
    }


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=repo.parent / "shared" / "data" / "coloran",
                    help="the ColO-RAN traces (bsN.csv and ueN.csv files below it)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        return _fail(f"no ColO-RAN data at {args.data} (get it from "
                     "wineslab/colosseum-oran-coloran-dataset and pass --data)")  # fmt: skip
    if not any(args.data.rglob("bs*.csv")):
        return _fail(f"{args.data} has no bsN.csv files")
    result = evaluate(args.data)
    print(f"ColO-RAN at {args.data}: {len(result['files'])} base station(s)")
    print(f"{'detector':34} {'reports':>8} {'alarms':>7} {'per 10k':>8} {'x goal':>7} "
          f"{'sent':>5}")  # fmt: skip
    labels = {"cell_250ms": "cell KpmDetector, native 250 ms", "cell_1s": "cell KpmDetector, 1 s",
              "ue_250ms": "per-UE UeDetector, native 250 ms", "ue_1s": "per-UE UeDetector, 1 s"}  # fmt: skip
    for key, label in labels.items():
        r = result[key]
        print(f"{label:34} {r['reports']:8} {r['alarms']:7} {r['per_10k']:8.2f} "
              f"{r['x_goal']:7.2f} {r['alerts_sent']:5}")  # fmt: skip
    print(f"(goal: at most {GOAL_PER_10K:g} alarm per 10,000 reports; 'x goal' = rate / goal; "
          f"'sent': alerts after the xApp's {REALERT_S:g} s episode gate)")  # fmt: skip
    for name, f in result["files"].items():
        for key in ("ue_250ms", "ue_1s"):
            for ue, v in f[key]["ues_flagged"].items():
                print(f"  {name} {key}: {ue} flagged {v['alarms']} time(s), "
                      f"{v['first_s']:.2f}-{v['last_s']:.2f} s")  # fmt: skip
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
