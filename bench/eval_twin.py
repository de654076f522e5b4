"""Detection quality of the running security xApps in the digital twin.

Every attack scenario the simulator has, ``--seeds`` seeds each, runs in the
twin (RIC-lite, simulated gNBs, the anomaly and segmentation xApps over RMR,
E2AP and the RIC's control reports), and the twin's report scores the
anomaly xApp's alerts against the ground truth (:mod:`xtrust.e2sim.evaluate`):
episodes detected, classified, the delay in reporting periods, and false
alarms; benign runs of ``--benign-s`` simulated seconds give the false-alarm
rate per 10,000 cell reports.

    .venv/bin/python bench/eval_twin.py [--seeds 3] [--speed 20] [--json out.json]
        [--mobiflow-model] [--scenarios a,b] [--benign-s 3600] [--benign-speed 100]
        [--ue-kpm | --no-ue-kpm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from xtrust.e2sim.twin import TwinConfig, run_twin

ATTACKS = ("jamming", "signalling-storm", "ue-flood", "fake-bs", "blind-dos", "null-cipher",
           "rogue-xapp", "mixed")  # fmt: skip


def run(scenario: str, seed: int, speed: float, duration: float | None, nodes: int,
        cells: int, mobiflow_model: bool = False, ue_kpm: bool | None = None
        ) -> dict[str, Any]:  # fmt: skip
    cfg = TwinConfig(scenario=scenario, xapps=("anomaly", "segmentation"), nodes=nodes,
                     cells_per_node=cells, speed=speed, seed=seed, duration=duration,
                     mobiflow_model=mobiflow_model, ue_kpm=ue_kpm)  # fmt: skip
    report = asyncio.run(run_twin(cfg))
    return dict(report["detection"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--cells", type=int, default=2, help="cells per node")
    ap.add_argument(
        "--benign-s",
        type=float,
        default=3600.0,
        help="simulated s per benign run (0: no benign runs)",
    )
    ap.add_argument("--benign-speed", type=float, default=100.0)
    ap.add_argument("--scenarios", default=",".join(ATTACKS))
    ap.add_argument("--json", help="write every run's detection report here")
    ap.add_argument(
        "--mobiflow-model",
        action="store_true",
        help="the anomaly xApp also runs the MobiFlow sequence model, learnt from "
        "benign captures of the simulator before each run",
    )
    ap.add_argument(
        "--ue-kpm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the anomaly xApp's UE-level KPM path on or off (default: as its descriptor says)",
    )
    args = ap.parse_args()

    rows: list[dict[str, Any]] = []
    eps: list[dict[str, Any]] = []
    fa = reports = 0
    t0 = time.monotonic()
    print(f"{'scenario':18s} {'seed':>4s} {'episodes':>8s} {'detected':>8s} {'classified':>10s} "
          f"{'max delay':>9s} {'false alarms':>12s}")  # fmt: skip
    for scenario in [s for s in args.scenarios.split(",") if s]:
        for seed in range(args.seeds):
            d = run(scenario, seed, args.speed, None, args.nodes, args.cells, args.mobiflow_model,
                    args.ue_kpm)  # fmt: skip
            rows.append({"scenario": scenario, "seed": seed, **d})
            eps.extend(d["episodes"])
            print(f"{scenario:18s} {seed:4d} {d['episodes_total']:8d} {d['detected']:8d} "
                  f"{d['classified']:10d} {d['max_delay_periods']!s:>9s} "
                  f"{d['false_alarms']:12d}", flush=True)  # fmt: skip
    for seed in range(args.seeds if args.benign_s > 0 else 0):
        d = run("benign", seed, args.benign_speed, args.benign_s / args.benign_speed,
                args.nodes, args.cells, args.mobiflow_model, args.ue_kpm)  # fmt: skip
        rows.append({"scenario": "benign", "seed": seed, **d})
        fa += d["false_alarms"]
        reports += d["cell_reports"]
        print(f"{'benign':18s} {seed:4d} {0:8d} {0:8d} {0:10d} {'-':>9s} {d['false_alarms']:12d}"
              f"   ({d['cell_reports']} cell reports)", flush=True)  # fmt: skip
    n = len(eps)
    det = sum(e["detected"] for e in eps)
    cls = sum(bool(e.get("classified")) for e in eps)
    within2 = sum(1 for e in eps if e["detected"] and e["delay_periods"] <= 2)
    by_label: dict[str, list[int]] = {}
    for e in eps:
        s = by_label.setdefault(e["label"], [0, 0, 0])
        s[0] += 1
        s[1] += e["detected"]
        s[2] += bool(e.get("classified"))
    attack_fa = sum(r["false_alarms"] for r in rows if r["scenario"] != "benign")
    attack_reports = sum(r["cell_reports"] for r in rows if r["scenario"] != "benign")
    summary = {
        "episodes": n, "detected": det, "classified": cls, "within_2_periods": within2,
        "detection_rate": round(det / n, 4) if n else None,
        "classification_rate": round(cls / n, 4) if n else None,
        "by_label": {k: {"episodes": v[0], "detected": v[1], "classified": v[2]}
                     for k, v in sorted(by_label.items())},
        "benign_false_alarms": fa, "benign_cell_reports": reports,
        "benign_false_alarms_per_10k": round(fa * 1e4 / reports, 3) if reports else None,
        "attack_runs_false_alarms": attack_fa, "attack_runs_cell_reports": attack_reports,
        "wall_s": round(time.monotonic() - t0, 1),
    }  # fmt: skip
    print()
    print(f"attack episodes: {det}/{n} detected, {cls}/{n} classified, "
          f"{within2}/{n} within 2 reporting periods")  # fmt: skip
    for label, v in summary["by_label"].items():
        print(f"  {label:18s} {v['detected']}/{v['episodes']} detected, "
              f"{v['classified']}/{v['episodes']} classified")  # fmt: skip
    print(f"benign: {fa} false alarm(s) in {reports} cell reports "
          f"({summary['benign_false_alarms_per_10k']} per 10,000)")  # fmt: skip
    print(f"attack runs: {attack_fa} alert(s) outside every episode in {attack_reports} reports")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "runs": rows}, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
