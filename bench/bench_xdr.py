"""Benchmark: XDR correlation throughput against a naive all-pairs correlation.

    .venv/bin/python bench/bench_xdr.py [--alerts 100000] [--naive 4000] [--seed 5]
        [--window 300]

Generates a seeded stream of XTRUST alerts (JSON lines text: cells and UEs
under 1,000 E2 nodes, 500 xApps, ten attack classes, six hours) and a
threat-model adjacency (each xApp controls 3 E2 nodes). Times, for all
``--alerts``: JSON decode + normalisation + correlation + scoring of every
incident (alerts/s). The reference, in the same run, is the naive
correlation that compares every pair of events (O(n^2)) on the first
``--naive`` alerts; the fast correlator runs on the same subset, and the two
partitions must be equal or the run fails (exit 1).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

from xtrust.rapps.xdr import Correlator, Xdr, naive_correlate, normalize

CLASSES = [
    "jamming",
    "signalling-storm",
    "ue-flood",
    "fake-bs",
    "rogue-control",
    "null-cipher",
    "blind-dos",
    "identity-extraction",
    "unknown-kpm",
    "unknown-sequence",
]
T0 = 1_795_000_000.0


def generate(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    times = sorted(rng.uniform(0, 21600) for _ in range(n))
    for i, t in enumerate(times):
        kind = rng.choices(["cell", "ue", "xapp", "e2node"], [4, 4, 1, 1])[0]
        node = f"gnb-{rng.randrange(1000)}"
        ident = {
            "cell": f"{node}-c{rng.randrange(3)}",
            "ue": f"imsi-00101{rng.randrange(20000):010d}",
            "xapp": f"xapp-{rng.randrange(500)}",
            "e2node": node,
        }[kind]
        doc = {
            "type": "xtrust-alert",
            "spec_version": "1",
            "id": f"alert--{i:08d}",
            "time": T0 + t,
            "source": rng.choice(["xtrust-anomaly", "xtrust-kpm", "xtrust-seq"]),
            "entity": {"kind": kind, "id": ident, "node": node if kind != "xapp" else None},
            "attack_class": rng.choice(CLASSES),
            "score": round(rng.uniform(0.5, 5.0), 2),
            "severity": rng.choice(["low", "medium", "high", "critical"]),
            "features": [],
            "evidence": [],
            "onset": None,
        }
        lines.append(json.dumps(doc))
    return lines


def adjacency(seed: int) -> dict[str, set[str]]:
    rng = random.Random(seed + 1)
    return {
        f"xapp:xapp-{i}": {f"e2node:gnb-{rng.randrange(1000)}" for _ in range(3)}
        for i in range(500)
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--naive", type=int, default=4_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--window", type=float, default=300.0)
    args = ap.parse_args()
    lines = generate(args.alerts, args.seed)
    adj = adjacency(args.seed)

    t0 = time.perf_counter()
    xdr = Xdr("bench", window=args.window, adjacency=adj)
    for line in lines:
        xdr.ingest(json.loads(line))
    incidents = xdr.incidents()
    t_full = time.perf_counter() - t0
    rate = args.alerts / t_full
    print(
        f"xtrust: {args.alerts} alerts -> {len(incidents)} incidents in {t_full:.3f} s "
        f"({rate:,.0f} alerts/s, decode + normalise + correlate + score)"
    )

    sub = [ev for line in lines[: args.naive] for ev in normalize(json.loads(line))]
    t0 = time.perf_counter()
    c = Correlator(args.window, adj)
    c.add_many(sub)
    fast_groups = c.groups()
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive_groups = naive_correlate(sub, args.window, adj)
    t_naive = time.perf_counter() - t0
    ordered = sorted(sub, key=lambda e: (e.time, e.id))
    fast = sorted(sorted(c.events[i].id for i in g) for g in fast_groups)
    naive = sorted(sorted(ordered[i].id for i in g) for g in naive_groups)
    ok = fast == naive
    print(
        f"subset of {len(sub)} alerts: xtrust correlate {t_fast:.4f} s "
        f"({len(sub) / t_fast:,.0f} alerts/s), naive all-pairs {t_naive:.3f} s "
        f"({len(sub) / t_naive:,.0f} alerts/s); ratio naive/xtrust {t_naive / t_fast:.0f}x; "
        f"partitions {'equal' if ok else 'DIFFER'} ({len(fast)} incidents)"
    )
    print(f"target >= 10,000 alerts/s: {'met' if rate >= 10_000 else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
