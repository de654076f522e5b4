"""Leave-one-out evaluation of the MobiFlow intrusion detector on labelled traces.

The data directory holds ``benign/`` and ``attack/`` traces (one trace per
file, the label per folder). For each benign trace, the detector learns from
all the other benign traces and judges the held-out one; every attack trace is
judged by detectors trained on each of those leave-one-out benign sets (it is
flagged only if every one of them flags it). No attack trace is ever used for
training. Prints a table per trace and the totals; ``--json`` prints them as
JSON as well.

    .venv/bin/python bench/eval_mobiflow.py --data ../shared/data/mobiflow
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from xtrust.errors import XTrustError
from xtrust.xapps.anomaly.detector import MobiflowDetector, expand_paths, load_trace


def evaluate(data: Path, *, margin: float = 1.0) -> dict[str, Any]:
    """The leave-one-out figures for ``data`` (``benign/`` and ``attack/`` folders)."""
    if not (data / "benign").is_dir() or not (data / "attack").is_dir():
        raise SystemExit(f"error: {data} needs benign/ and attack/ folders of MobiFlow traces")
    benign = {p.name: load_trace(p).records for p in expand_paths([data / "benign"])}
    attack = {p.name: load_trace(p).records for p in expand_paths([data / "attack"])}
    if len(benign) < 2:
        raise SystemExit(f"error: leave-one-out needs at least 2 benign traces in {data}/benign")
    rows: list[dict[str, Any]] = []
    attack_results: dict[str, list[Any]] = {name: [] for name in attack}
    for held, records in benign.items():
        det = MobiflowDetector(margin=margin).fit([r for n, r in benign.items() if n != held])
        v = det.detect(records, trace=held)
        rows.append({"trace": held, "label": "benign", "verdict": v.verdict, "score": v.score,
                     "attack_class": v.attack_class})  # fmt: skip
        for name, recs in attack.items():
            attack_results[name].append(det.detect(recs, trace=name))
    for name, results in attack_results.items():
        flagged = sum(v.verdict == "attack" for v in results)
        seq_flagged = sum(v.score >= 1.0 for v in results)
        rows.append({"trace": name, "label": "attack",
                     "verdict": "attack" if flagged == len(results) else "benign",
                     "score": min(v.score for v in results),
                     "attack_class": results[0].attack_class,
                     "folds_flagged": f"{flagged}/{len(results)}",
                     "sequence_folds_flagged": f"{seq_flagged}/{len(results)}"})  # fmt: skip
    totals = {
        "benign_traces": len(benign),
        "benign_flagged": sum(r["verdict"] == "attack" for r in rows if r["label"] == "benign"),
        "attack_traces": len(attack),
        "attack_flagged": sum(r["verdict"] == "attack" for r in rows if r["label"] == "attack"),
    }
    return {"rows": rows, "totals": totals}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path,
                    help="folder with benign/ and attack/ MobiFlow traces")  # fmt: skip
    ap.add_argument("--margin", type=float, default=1.0)
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data}: no such directory (the MobiFlow data set)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        result = evaluate(args.data, margin=args.margin)
    except XTrustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        "score: the sequence model's score against its leave-one-out benign thresholds "
        "(>= 1: anomalous by the model alone; for attacks, the lowest over the folds)"
    )
    print(f"{'trace':38} {'label':7} {'verdict':8} {'score':>7}  class")
    for r in result["rows"]:
        extra = f"  folds {r['folds_flagged']} (sequence alone {r['sequence_folds_flagged']})" \
            if r["label"] == "attack" else ""  # fmt: skip
        print(f"{r['trace']:38} {r['label']:7} {r['verdict']:8} {r['score']:7.3f}  "
              f"{r['attack_class'] or '-'}{extra}")  # fmt: skip
    t = result["totals"]
    seq = sum(r["label"] == "benign" and r["score"] >= 1.0 for r in result["rows"])
    print(f"\nheld-out benign traces over the sequence threshold: {seq}/{t['benign_traces']}")
    print(f"attack traces flagged: {t['attack_flagged']}/{t['attack_traces']}; "
          f"held-out benign traces flagged: {t['benign_flagged']}/{t['benign_traces']} "
          f"({time.perf_counter() - t0:.2f} s)")  # fmt: skip
    if args.json:
        print(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
