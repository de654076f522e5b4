"""Leave-one-out evaluation of the MobiFlow intrusion detector on labelled traces.

The data directory holds ``benign/`` and ``attack/`` traces (one trace per
file, the label per folder). For each benign trace, the detector learns from
all the other benign traces and judges the held-out one; every attack trace is
judged by detectors trained on each of those leave-one-out benign sets (it is
flagged only if every one of them flags it). No attack trace is ever used for
training. Prints a table per trace and the totals; ``--json`` prints them as
JSON as well.

Beside the detector (rules + model) it prints the sequence model alone: attack
traces it flags in every fold, held-out benign traces it flags, and the benign
margin (the highest held-out benign score over its threshold; the score is
already relative to the threshold, so lower is safer).

The simulated generalisation check (skipped with ``--no-sim``) drives the
digital twin's cells and MobiFlow writer directly (the mechanisms the twin's
scenarios use, :mod:`xtrust.e2sim.scenarios`): (a) a model trained on the real
benign traces judges simulated benign traces, and so does one trained on the
real traces plus simulated benign traces of other seeds; (b) a model trained
on simulated benign traces only judges held-out simulated benign traces and
one trace per attack scenario (blind-dos, null-cipher, signalling-storm,
fake-bs at intensity 0.5; the attack runs from 60 s to 120 s of a 180 s trace on
one cell; benign traces last 300 s).
``--twin DIR`` also judges files the twin itself wrote with
``xtrust twin run --scenario S --mobiflow DIR/S.csv`` (``benign.csv`` trains,
cut into 8 traces; every other ``*.csv`` is judged).

    .venv/bin/python bench/eval_mobiflow.py --data ../shared/data/mobiflow
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xtrust.e2sim import model as sim
from xtrust.e2sim import scenarios
from xtrust.e2sim.mobiflow import MobiflowWriter, UeRecord, read_trace, records_of
from xtrust.errors import XTrustError
from xtrust.xapps.anomaly.detector import MobiflowDetector, expand_paths, load_trace
from xtrust.xapps.anomaly.sequence import SequenceModel

SIM_T0 = 1_700_000_000.0
SIM_ATTACKS = ("blind-dos", "null-cipher", "signalling-storm", "fake-bs")


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
        rows[-1]["model_over"] = det.model.score(records).over()
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
    benign_scores = [r["score"] for r in rows if r["label"] == "benign"]
    totals = {
        "benign_traces": len(benign),
        "benign_flagged": sum(r["verdict"] == "attack" for r in rows if r["label"] == "benign"),
        "attack_traces": len(attack),
        "attack_flagged": sum(r["verdict"] == "attack" for r in rows if r["label"] == "attack"),
        # the sequence model alone (rules off)
        "model_attack_flagged": sum(
            all(v.score >= 1.0 for v in res) for res in attack_results.values()
        ),
        "model_benign_flagged": sum(sc >= 1.0 for sc in benign_scores),
        "model_benign_margin": max(benign_scores),
        "model_attack_lowest": min(r["score"] for r in rows if r["label"] == "attack"),
    }
    return {"rows": rows, "totals": totals}


# --------------------------------------------------------------------------- simulation
def simulate(seed: int, *, attack: str | None = None, seconds: int = 180, onset: int = 60,
             duration: int = 60, intensity: float = 0.5) -> list[UeRecord]:  # fmt: skip
    """A simulated MobiFlow trace: 2 neighbouring cells of 10 UEs, ``attack`` on the first."""
    out = io.StringIO()
    writer = MobiflowWriter(out, seed=seed)
    cells = [sim.Cell(0x1A0 + i, i, random.Random(f"{seed}:{i}")) for i in range(2)]
    for c in cells:
        for _ in range(10):
            c.add_ue()
    sim.connect_cells(cells)
    writer.watch(cells)
    rng = random.Random(f"attack:{seed}")
    target = cells[0]
    spoofs = 0.0
    for k in range(seconds):
        t = SIM_T0 + k
        if attack and k == onset:
            if attack == "signalling-storm":
                target.storm_rate += scenarios.STORM_RATE * intensity
            elif attack == "null-cipher":
                target.downgrade = min(1.0, target.downgrade + intensity)
            elif attack == "fake-bs":
                target.fake_rate += scenarios.FAKE_RATE * intensity
                target.lure_rate += scenarios.LURE_RATE * intensity
        if attack and k == onset + duration:
            target.storm_rate = target.fake_rate = target.lure_rate = target.downgrade = 0.0
        if attack == "blind-dos" and onset <= k < onset + duration:
            spoofs += scenarios.SPOOF_RATE * intensity
            while spoofs >= 1.0:
                spoofs -= 1.0
                victims = sorted(u for u, ue in target.ues.items() if ue.flags & sim.TMSI_ON_AIR)
                if victims:
                    target.spoof_tmsi(t, victims[rng.randrange(len(victims))],
                                      rng.uniform(5.0, 20.0))  # fmt: skip
        for c in cells:
            c.step(t + 1, 1.0)
    writer.close()
    return records_of(out.getvalue())


def _judge(model: SequenceModel, records: Sequence[UeRecord]) -> dict[str, Any]:
    sc = model.score(records)
    return {"records": len(records), "score": sc.ratio, "flagged": sc.ratio >= 1.0,
            "channels": sc.over()}  # fmt: skip


def _cut(records: list[UeRecord], n: int) -> list[list[UeRecord]]:
    k = max(1, len(records) // n)
    return [records[i * k : (i + 1) * k] for i in range(n)]


def evaluate_sim(data: Path | None, *, margin: float = 1.0, n_train: int = 12, n_held: int = 6,
                 twin: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """The simulated generalisation checks (a) and (b) (see the module documentation)."""
    train = [simulate(seed, seconds=300) for seed in range(n_train)]
    held = [simulate(100 + seed, seconds=300) for seed in range(n_held)]
    out: dict[str, Any] = {}
    if data is not None:
        real = [load_trace(p).records for p in expand_paths([data / "benign"])]
        real_only = SequenceModel(margin=margin).fit(real)
        mixed = SequenceModel(margin=margin).fit([*real, *train])
        out["a_real_trained"] = [_judge(real_only, h) for h in held]
        out["a_real_plus_sim_trained"] = [_judge(mixed, h) for h in held]
        out["a_real_plus_sim_real_benign_flagged"] = sum(
            mixed.is_anomalous(r) for r in real
        )  # in training: a sanity check, not a test
    sim_model = SequenceModel(margin=margin).fit(train)
    out["b_benign"] = [_judge(sim_model, h) for h in held]
    out["b_attacks"] = {a: _judge(sim_model, simulate(200 + k, attack=a))
                        for k, a in enumerate(SIM_ATTACKS)}  # fmt: skip
    if twin is not None:
        base = twin / "benign.csv"
        if not base.is_file():
            raise SystemExit(f"error: {base}: no twin benign trace (xtrust twin run --scenario "
                             f"benign --mobiflow {base})")  # fmt: skip
        twin_model = SequenceModel(margin=margin).fit(_cut(read_trace(base), 8))
        out["twin"] = {p.stem: _judge(twin_model, read_trace(p))
                       for p in sorted(twin.glob("*.csv")) if p != base}  # fmt: skip
    return out


def _print_sim(res: dict[str, Any]) -> None:
    def line(items: list[dict[str, Any]]) -> str:
        flagged = sum(i["flagged"] for i in items)
        worst = max(i["score"] for i in items)
        chans = sorted({c for i in items for c in i["channels"]})
        return (f"{flagged}/{len(items)} flagged, highest score {worst:.3f}"
                + (f" (channels: {', '.join(chans)})" if chans else ""))  # fmt: skip

    print("\nsimulated generalisation (the sequence model alone)")
    if "a_real_trained" in res:
        print(f"(a) simulated benign, model trained on real benign: {line(res['a_real_trained'])}")
        print(f"(a) simulated benign, trained on real + simulated benign (other seeds): "
              f"{line(res['a_real_plus_sim_trained'])}")  # fmt: skip
    print(f"(b) held-out simulated benign, trained on simulated benign: {line(res['b_benign'])}")
    for name, r in res["b_attacks"].items():
        print(
            f"(b) {name:18} {'flagged' if r['flagged'] else 'missed '}  score {r['score']:8.3f}"
            f"  ({r['records']} records; channels: {', '.join(r['channels']) or '-'})"
        )
    for name, r in res.get("twin", {}).items():
        print(f"twin file {name:18} {'flagged' if r['flagged'] else 'missed '}  score "
              f"{r['score']:8.3f}  ({r['records']} records; channels: "
              f"{', '.join(r['channels']) or '-'})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path,
                    help="folder with benign/ and attack/ MobiFlow traces")  # fmt: skip
    ap.add_argument("--margin", type=float, default=1.0)
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--no-sim", action="store_true", help="skip the simulated checks")
    ap.add_argument("--twin", type=Path, help="also judge twin-written MobiFlow files here")
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
        if r.get("model_over"):
            extra += f"  model: {', '.join(r['model_over'])}"
        print(f"{r['trace']:38} {r['label']:7} {r['verdict']:8} {r['score']:7.3f}  "
              f"{r['attack_class'] or '-'}{extra}")  # fmt: skip
    t = result["totals"]
    seq = sum(r["label"] == "benign" and r["score"] >= 1.0 for r in result["rows"])
    print(f"\nheld-out benign traces over the sequence threshold: {seq}/{t['benign_traces']}")
    print(f"attack traces flagged: {t['attack_flagged']}/{t['attack_traces']}; "
          f"held-out benign traces flagged: {t['benign_flagged']}/{t['benign_traces']} "
          f"({time.perf_counter() - t0:.2f} s)")  # fmt: skip
    margin_ratio = t["model_benign_margin"]
    print(f"sequence model alone (rules off): attack traces flagged in every fold "
          f"{t['model_attack_flagged']}/{t['attack_traces']}; held-out benign flagged "
          f"{t['model_benign_flagged']}/{t['benign_traces']}; benign margin (highest held-out "
          f"benign score / threshold) {margin_ratio:.3f}; lowest attack score "
          f"{t['model_attack_lowest']:.3f}")  # fmt: skip
    if not args.no_sim:
        t1 = time.perf_counter()
        result["sim"] = evaluate_sim(args.data, margin=args.margin, twin=args.twin)
        _print_sim(result["sim"])
        print(f"({time.perf_counter() - t1:.2f} s)")
    if args.json:
        print(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
