"""Offline evaluation of the multivariate and per-UE KPM detectors (experimental).

Same model runs as ``bench/eval_kpm.py`` (its functions are imported): 2 nodes x 3
cells x 10 UEs, stepped at 1 s under each attack scenario (seeds 0..N-1) and in
benign runs. Every period, the cell reports go to

* the univariate per-cell detector (:class:`xtrust.xapps.anomaly.kpm.KpmDetector`),
  one report at a time;
* the multivariate :class:`~xtrust.xapps.anomaly.multivariate.BatchDetector`, all
  cells of the period in one batch;
* and their OR-combination (the union of both alert streams).

Each is scored as eval_kpm scores the univariate one: episodes detected /
classified (the first alert in the episode names the label), max delay in reports
after the onset, false alarms per 10,000 benign cell reports (benign runs), and
alarms per 10,000 ColO-RAN reports (real benign srsRAN traces, if present).

The per-UE :class:`~xtrust.xapps.anomaly.ue.UeDetector` sees every cell's UE-level
reports (:meth:`~xtrust.e2sim.model.Cell.ue_measurements`) in the ue-flood and
benign runs: attacker UEs (the model's ``FLOOD`` flag) flagged vs benign UEs
flagged (distinct UEs), and benign UE alerts per 10,000 UE reports.

Speed: reports per second of the univariate per-report path and of the batch path
on the same recorded reports (1,000 cells per batch), one core; and the time each
detector took inside the scenario runs (batches of 6 cells).

    .venv/bin/python bench/eval_multivariate.py [--coloran ../shared/data/coloran]
        [--seeds 3] [--benign-duration 1800] [--weak 0.3 0.15] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_kpm import ATTACKS, T0, build_cells, coloran_reports, record_reports

from xtrust.e2sim.model import FLOOD
from xtrust.e2sim.scenarios import ScenarioEngine, load_scenario
from xtrust.xapps.anomaly.kpm import KpmConfig, KpmDetector
from xtrust.xapps.anomaly.multivariate import BatchDetector, MvConfig
from xtrust.xapps.anomaly.ue import UeConfig, UeDetector

DETECTORS = ("univariate", "multivariate", "or")
Alarm = tuple[float, Hashable, str]  # (time, cell, class)


def _episodes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    starts: dict[tuple[int, str], float] = {}
    out: list[dict[str, Any]] = []
    for ev in events:
        if ev["ue"] is not None:
            continue
        key = (ev["cell"], ev["label"])
        if ev["event"] == "start":
            starts[key] = ev["time"]
        else:
            out.append({"cell": ev["cell"], "label": ev["label"], "start": starts.pop(key),
                        "end": ev["time"]})  # fmt: skip
    return out


def score(alerts: list[Alarm], episodes: list[dict[str, Any]], reports: int,
          grace: float) -> dict[str, Any]:  # fmt: skip
    """eval_kpm's rules: detection, class of the first alert, delay, false alarms."""
    alerts = sorted(alerts, key=lambda a: a[0])
    eps = []
    for ep in episodes:
        hits = [a for a in alerts if a[1] == ep["cell"] and ep["start"] <= a[0] <= ep["end"]]
        eps.append({**ep, "detected": bool(hits), "class": hits[0][2] if hits else None,
                    "delay": round(hits[0][0] - ep["start"]) if hits else None})  # fmt: skip
    false = [a for a in alerts
             if not any(a[1] == ep["cell"] and ep["start"] <= a[0] <= ep["end"] + grace
                        for ep in episodes)]  # fmt: skip
    in_windows = sum(int(ep["end"] + grace - ep["start"]) + 1 for ep in episodes)
    return {"episodes": eps, "false_alarms": len(false), "benign_reports": reports - in_windows,
            "reports": reports}  # fmt: skip


def run(name: str, seed: int, kcfg: KpmConfig, mcfg: MvConfig, ucfg: UeConfig | None, *,
        duration: float | None = None, grace: float = 60.0, scale: float = 1.0
        ) -> dict[str, Any]:  # fmt: skip
    """One scenario run through all detectors (attack intensities times ``scale``)."""
    scenario = load_scenario(name)
    if scale != 1.0:
        scenario = replace(scenario, attacks=tuple(replace(a, intensity=a.intensity * scale)
                                                   for a in scenario.attacks))  # fmt: skip
    nodes = build_cells(seed)
    engine = ScenarioEngine(scenario, nodes, seed=seed)
    uni = KpmDetector(kcfg)
    mv = BatchDetector(mcfg)
    ued = UeDetector(ucfg) if ucfg is not None else None
    total = scenario.duration if duration is None else duration
    alerts: dict[str, list[Alarm]] = {"univariate": [], "multivariate": []}
    t_uni = t_mv = 0.0
    reports = 0
    attackers: set[Hashable] = set()
    benign_ues: set[Hashable] = set()
    flagged: set[Hashable] = set()
    ue_reports = benign_ue_alerts = 0
    t_ue = 0.0
    t = T0
    cells = [c for cs in nodes.values() for c in cs]
    for _ in range(int(total)):
        t += 1.0
        engine.tick(t)
        for cell in cells:
            cell.step(t, 1.0)
        if ued is not None:
            for cell in cells:
                um = cell.ue_measurements()
                for u in um:
                    ue_reports += 1
                    key = (cell.cell_id, u)
                    (attackers if cell.ues[u].flags & FLOOD else benign_ues).add(key)
                start = time.perf_counter()
                ualerts = ued.update(t, cell.cell_id, um)
                t_ue += time.perf_counter() - start
                for ua in ualerts:
                    ukey = (cell.cell_id, ua.ue)
                    flagged.add(ukey)
                    if ukey not in attackers:
                        benign_ue_alerts += 1
        keys = [c.cell_id for c in cells]
        reps = [c.measurements() for c in cells]
        reports += len(reps)
        start = time.perf_counter()
        for cid, m in zip(keys, reps, strict=True):
            a = uni.update(cid, t, m)
            if a is not None:
                alerts["univariate"].append((t, cid, a.attack_class))
        mid = time.perf_counter()
        for b in mv.update(t, keys, reps):
            alerts["multivariate"].append((t, b.cell, b.attack_class))
        t_mv += time.perf_counter() - mid
        t_uni += mid - start
    engine.close(t)
    episodes = _episodes(engine.events)
    both = alerts["univariate"] + alerts["multivariate"]  # univariate first on ties
    out: dict[str, Any] = {
        "scenario": name, "seed": seed, "t_uni": t_uni, "t_mv": t_mv,
        "univariate": score(alerts["univariate"], episodes, reports, grace),
        "multivariate": score(alerts["multivariate"], episodes, reports, grace),
        "or": score(both, episodes, reports, grace),
    }  # fmt: skip
    if ued is not None:
        benign_ues -= attackers  # a flood UE handed over elsewhere loses its flag
        out["ue"] = {
            "attackers": len(attackers), "attackers_flagged": len(flagged & attackers),
            "benign": len(benign_ues), "benign_flagged": len(flagged & benign_ues),
            "ue_reports": ue_reports, "benign_ue_alerts": benign_ue_alerts,
            "bytes_per_ue": ued.bytes_per_ue(), "tracked_at_end": len(ued), "t_ue": t_ue,
        }  # fmt: skip
    return out


def run_coloran(root: Path, kcfg: KpmConfig, mcfg: MvConfig) -> dict[str, Any] | None:
    """Every bs*.csv a cell; period i of all files is one batch."""
    files = sorted(root.rglob("bs*.csv"))
    if not files:
        return None
    series = {str(f.relative_to(root)): coloran_reports(f) for f in files}
    uni = KpmDetector(kcfg)
    mv = BatchDetector(mcfg)
    counts = {d: 0 for d in DETECTORS}
    total = 0
    for i in range(max(len(s) for s in series.values())):
        keys = [k for k, s in series.items() if i < len(s)]
        reps = [series[k][i] for k in keys]
        total += len(reps)
        u = {k for k, m in zip(keys, reps, strict=True) if uni.update(k, float(i), m) is not None}
        m = {a.cell for a in mv.update(float(i), keys, reps)}
        counts["univariate"] += len(u)
        counts["multivariate"] += len(m)
        counts["or"] += len(u | m)
    return {"files": len(files), "reports": total, "alarms": counts}


def speed(
    kcfg: KpmConfig, mcfg: MvConfig, cells: int = 1000, periods: int = 60
) -> dict[str, float]:
    """Reports/s on the same recorded reports: univariate one by one, batch per period."""
    rec = record_reports(6, 400)
    by_t: dict[float, list[dict[str, float | int]]] = {}
    for _, tt, m in rec:
        by_t.setdefault(tt, []).append(m)
    ts = sorted(by_t)
    batches = [(ts[i], list(range(cells)), [by_t[ts[(i + j) % len(ts)]][j % 6]
                                            for j in range(cells)]) for i in range(periods)]  # fmt: skip
    n = cells * periods
    best_u = best_m = 0.0
    for _ in range(3):
        uni = KpmDetector(kcfg)
        update = uni.update
        start = time.perf_counter()
        for tt, keys, reps in batches:
            for k, m in zip(keys, reps, strict=True):
                update(k, tt, m)
        best_u = max(best_u, n / (time.perf_counter() - start))
        mv = BatchDetector(mcfg)
        start = time.perf_counter()
        for tt, keys, reps in batches:
            mv.update(tt, keys, reps)
        best_m = max(best_m, n / (time.perf_counter() - start))
    return {"univariate_per_s": best_u, "batch_per_s": best_m, "cells_per_batch": cells}


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coloran", type=Path, default=here.parent / "shared" / "data" / "coloran")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--benign-duration", type=float, default=1800.0)
    ap.add_argument("--grace", type=float, default=60.0)
    ap.add_argument(
        "--weak",
        type=float,
        nargs="*",
        default=[0.3, 0.15],
        help="also run the attacks at these fractions of their intensity",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    kcfg, mcfg, ucfg = KpmConfig(), MvConfig(), UeConfig()
    result: dict[str, Any] = {"mv_config": str(mcfg), "ue_config": str(ucfg), "detectors": {}}
    tot: dict[str, dict[str, Any]] = {d: {"ep": 0, "det": 0, "cls": 0, "delays": [], "fa": 0}
                                      for d in DETECTORS}  # fmt: skip
    t_uni = t_mv = t_ue = 0.0
    ue_tot = {"flood": [0, 0, 0, 0, 0, 0], "benign": [0, 0, 0, 0, 0, 0]}
    print(f"{'scenario':18} {'detector':12} {'episodes':>8} {'detected':>8} {'classified':>10} "
          f"{'max delay':>9} {'false alarms':>12}")  # fmt: skip
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for name in ATTACKS:
        rs = [run(name, s, kcfg, mcfg, ucfg if name == "ue-flood" else None, grace=args.grace)
              for s in range(args.seeds)]  # fmt: skip
        runs.append((name, rs))
    benign = [run("benign", s, kcfg, mcfg, ucfg, duration=args.benign_duration, grace=args.grace)
              for s in range(args.seeds)]  # fmt: skip
    for name, rs in runs:
        for d in DETECTORS:
            eps = [e for r in rs for e in r[d]["episodes"]]
            det = sum(e["detected"] for e in eps)
            cls = sum(e["class"] == e["label"] for e in eps)
            delays = [e["delay"] for e in eps if e["delay"] is not None]
            fa = sum(r[d]["false_alarms"] for r in rs)
            print(f"{name:18} {d:12} {len(eps):8} {det:8} {cls:10} {max(delays, default=-1):9} "
                  f"{fa:12}")  # fmt: skip
            agg = tot[d]
            agg["ep"] += len(eps)
            agg["det"] += det
            agg["cls"] += cls
            agg["delays"] += delays
        for r in rs:
            t_uni += r["t_uni"]
            t_mv += r["t_mv"]
            if "ue" in r:
                u = r["ue"]
                t_ue += u["t_ue"]
                ue_tot["flood"] = [a + b for a, b in zip(ue_tot["flood"], (
                    u["attackers"], u["attackers_flagged"], u["benign"], u["benign_flagged"],
                    u["ue_reports"], u["benign_ue_alerts"]), strict=True)]  # fmt: skip
    rep_b = sum(r["univariate"]["reports"] for r in benign)
    for r in benign:
        t_uni += r["t_uni"]
        t_mv += r["t_mv"]
        u = r["ue"]
        t_ue += u["t_ue"]
        ue_tot["benign"] = [a + b for a, b in zip(ue_tot["benign"], (
            u["attackers"], u["attackers_flagged"], u["benign"], u["benign_flagged"],
            u["ue_reports"], u["benign_ue_alerts"]), strict=True)]  # fmt: skip
    for d in DETECTORS:
        tot[d]["fa"] = sum(r[d]["false_alarms"] for r in benign)
        print(f"{'benign':18} {d:12} {0:8} {'-':>8} {'-':>10} {'-':>9} {tot[d]['fa']:12}")
    print(f"\n{'detector':12} {'detected':>12} {'classified':>12} {'max delay':>9} "
          f"{'mean delay':>10} {'FA/10k benign':>13}")  # fmt: skip
    for d in DETECTORS:
        a = tot[d]
        rate = 1e4 * a["fa"] / rep_b
        dl = a["delays"]
        print(f"{d:12} {a['det']:>5}/{a['ep']:<6} {a['cls']:>5}/{a['ep']:<6} "
              f"{max(dl, default=-1):9} {sum(dl) / max(1, len(dl)):10.2f} {rate:13.2f}")  # fmt: skip
        result["detectors"][d] = {"episodes": a["ep"], "detected": a["det"],
                                  "classified": a["cls"], "max_delay": max(dl, default=None),
                                  "benign_false_alarms": a["fa"], "fa_per_10k": rate}  # fmt: skip
    print(f"(benign runs: {rep_b} cell reports)")
    if args.coloran.is_dir():
        col = run_coloran(args.coloran, kcfg, mcfg)
        if col is None:
            print(f"ColO-RAN: no bs*.csv under {args.coloran}: skipped")
        else:
            rates = {d: 1e4 * col["alarms"][d] / max(1, col["reports"]) for d in DETECTORS}
            print(f"ColO-RAN ({col['files']} files, {col['reports']} reports) alarms per 10,000: "
                  + ", ".join(f"{d} {rates[d]:.2f}" for d in DETECTORS))  # fmt: skip
            result["coloran"] = {**col, "per_10k": rates}
    else:
        print(f"ColO-RAN: {args.coloran} not found: skipped")
    for label, v in ue_tot.items():
        att, att_f, ben, ben_f, rep, ben_alerts = v
        print(f"per-UE ({label} runs): attacker UEs flagged {att_f}/{att}, benign UEs flagged "
              f"{ben_f}/{ben}, benign UE alerts per 10,000 UE reports "
              f"{1e4 * ben_alerts / max(1, rep):.2f} ({rep} UE reports)")  # fmt: skip
        result[f"ue_{label}"] = dict(zip(("attackers", "attackers_flagged", "benign",
                                          "benign_flagged", "ue_reports", "benign_ue_alerts"),
                                         v, strict=True))  # fmt: skip
    for frac in args.weak:
        det_w = {d: [0, 0, 0] for d in DETECTORS}  # episodes, detected, classified
        for name in ATTACKS:
            for seed in range(args.seeds):
                r = run(name, seed, kcfg, mcfg, None, grace=args.grace, scale=frac)
                for d in DETECTORS:
                    eps = r[d]["episodes"]
                    det_w[d][0] += len(eps)
                    det_w[d][1] += sum(e["detected"] for e in eps)
                    det_w[d][2] += sum(e["class"] == e["label"] for e in eps)
        print(f"attacks at {frac:g} x intensity: " + ", ".join(
            f"{d} {v[1]}/{v[0]} detected ({v[2]} classified)" for d, v in det_w.items()))  # fmt: skip
        result[f"weak_{frac:g}"] = det_w
    n_ue = ue_tot["flood"][4] + ue_tot["benign"][4]
    print(f"per-UE state: {UeDetector.bytes_per_ue()} bytes per tracked UE; "
          f"{n_ue / max(t_ue, 1e-9):,.0f} UE reports/s scored (one core)")  # fmt: skip
    result["ue_reports_per_s"] = n_ue / max(t_ue, 1e-9)
    sp = speed(kcfg, mcfg)
    print(f"speed, 1,000 cells per batch (one core): batch {sp['batch_per_s']:,.0f} reports/s, "
          f"univariate per report {sp['univariate_per_s']:,.0f} reports/s "
          f"(batch x{sp['batch_per_s'] / sp['univariate_per_s']:.2f})")  # fmt: skip
    print(f"in the scenario runs (6 cells per batch): univariate {t_uni:.2f} s, "
          f"batch {t_mv:.2f} s (batch x{t_uni / max(t_mv, 1e-9):.2f} the speed)")  # fmt: skip
    result["speed"] = {**sp, "scenario_t_uni_s": t_uni, "scenario_t_mv_s": t_mv}
    if args.json:
        json.dump(result, sys.stdout, indent=1, default=str)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
