"""Benchmark: threat model of a generated 10,000-asset, 100,000-interface O-RAN deployment.

    .venv/bin/python bench/bench_threatmodel.py [--assets 10000] [--edges 100000] [--seed 11]
        [--k 3] [--fight ../shared/data/fight/fight.yaml] [--ref-targets 5]

Generates a seeded topology (internet entry points, SMO/rApps, xApps, SDL
namespaces, RIC platform, E2 nodes (critical), DUs, RUs, O-Cloud hosts),
with random vulnerabilities and weak credentials, then times
:func:`xtrust.rapps.threatmodel.analyze` (attack graph + Dijkstra + k best
paths for every critical asset + exposure + min cut) after validation.

Reference measured in the same run, on the same attack graph: networkx
(``multi_source_dijkstra_path_length``, ``minimum_cut`` on the same flow
network, ``shortest_simple_paths`` for ``--ref-targets`` critical assets).
The run fails (exit 1) when the distances, the cut value or the k-best
likelihoods differ. networkx is not a dependency of XTRUST: install it into
.venv for this benchmark only (``.venv/bin/pip install networkx``).
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from typing import Any

_T_IMPORT = time.perf_counter()
from xtrust.rapps.threatmodel import analyze, load_fight, parse_topology  # noqa: E402
from xtrust.rapps.threatmodel.graph import (  # noqa: E402
    NP,
    _PyArcs,
    build_graph,
    dijkstra,
    k_best_paths,
    min_cut,
)

#: import of the package (NumPy, SciPy csgraph): paid once per process, outside ``analyze``
T_IMPORT = time.perf_counter() - _T_IMPORT

KINDS = [  # (kind, zone, share of assets)
    ("external", "internet", 0.005),
    ("host", "dmz", 0.05),
    ("smo", "mgmt", 0.005),
    ("rapp", "mgmt", 0.03),
    ("xapp", "apps", 0.15),
    ("sdl-namespace", "apps", 0.1),
    ("ric-platform", "platform", 0.01),
    ("ocloud-node", "cloud", 0.05),
    ("e2node", "ran", 0.05),
    ("du", "ran-du", 0.15),
    ("ru", "fh", 0.3),
    ("ue", "air", 0.1),
]
#: (src kind, dst kind) -> interface types possible between them
PAIRS: dict[tuple[str, str], list[str]] = {
    ("external", "host"): ["network"],
    ("external", "smo"): ["network"],
    ("external", "ue"): ["radio"],
    ("host", "host"): ["network"],
    ("host", "smo"): ["network"],
    ("host", "ocloud-node"): ["network"],
    ("smo", "rapp"): ["network"],
    ("smo", "xapp"): ["a1"],
    ("rapp", "xapp"): ["a1"],
    ("smo", "e2node"): ["o1"],
    ("smo", "du"): ["o1"],
    ("xapp", "sdl-namespace"): ["sdl"],
    ("rapp", "sdl-namespace"): ["sdl"],
    ("xapp", "ric-platform"): ["rmr"],
    ("ric-platform", "xapp"): ["rmr"],
    ("xapp", "e2node"): ["e2-control"],
    ("e2node", "ric-platform"): ["e2"],
    ("ocloud-node", "xapp"): ["network"],
    ("ocloud-node", "ric-platform"): ["network"],
    ("e2node", "du"): ["network"],
    ("du", "ru"): ["fronthaul"],
    ("ue", "ru"): ["radio"],
}


def generate(n_assets: int, n_edges: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    zones = {
        "internet": {"trust": "untrusted"},
        "ran": {"trust": "critical"},
        **{
            z: {"trust": "trusted"} for z in ("dmz", "mgmt", "apps", "cloud", "ran-du", "fh", "air")
        },
        "platform": {"trust": "platform"},
    }
    assets: dict[str, dict[str, Any]] = {}
    by_kind: dict[str, list[str]] = {}
    counts = [max(1, int(n_assets * share)) for _, _, share in KINDS]
    counts[KINDS.index(("ru", "fh", 0.3))] += n_assets - sum(counts)
    for (kind, zone, _), count in zip(KINDS, counts, strict=True):
        for i in range(count):
            name = f"{kind}-{i}"
            doc: dict[str, Any] = {"kind": kind, "zone": zone}
            r = rng.random()
            if r < 0.12 and kind not in ("external", "sdl-namespace"):
                doc["software"] = [
                    {
                        "name": f"pkg{rng.randrange(500)}",
                        "vulns": [
                            {
                                "id": f"CVE-2099-{rng.randrange(100000):05d}",
                                "cvss": round(rng.uniform(3.0, 10.0), 1),
                                "access": rng.choice(["network", "network", "adjacent", "local"]),
                            }
                        ],
                    }
                ]
            if rng.random() < 0.02:
                doc["auth"] = "weak"
            assets[name] = doc
            by_kind.setdefault(kind, []).append(name)
    pairs = list(PAIRS)
    weights = [len(by_kind[a]) + len(by_kind[b]) for a, b in pairs]
    interfaces: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    while len(interfaces) < n_edges:
        sk, dk = rng.choices(pairs, weights)[0]
        src, dst = rng.choice(by_kind[sk]), rng.choice(by_kind[dk])
        itype = rng.choice(PAIRS[(sk, dk)])
        if src == dst or (src, dst, itype) in seen:
            continue
        seen.add((src, dst, itype))
        doc = {"from": src, "to": dst, "type": itype}
        if itype == "sdl":
            doc["op"] = rng.choice(["read", "write"])
        interfaces.append(doc)
    return {"version": 1, "zones": zones, "assets": assets, "interfaces": interfaces}


def reference(result: Any, k: int, n_targets: int) -> tuple[dict[str, float], dict[str, Any]]:
    import networkx as nx  # type: ignore[import-untyped]

    g = result.graph
    arc_src, arc_dst, arc_w = g.arc_src.tolist(), g.arc_dst.tolist(), g.arc_w.tolist()
    arc_iface = g.arc_iface.tolist()
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    dg = nx.DiGraph()
    dg.add_nodes_from(range(g.n_nodes))
    for a in range(len(arc_src)):
        u, v, w = arc_src[a], arc_dst[a], arc_w[a]
        old = dg.get_edge_data(u, v)
        if old is None or w < old["weight"]:  # parallel arcs (other interfaces): keep the best
            dg.add_edge(u, v, weight=w, arc=a)
    times["build"] = time.perf_counter() - t0
    sources = [g.index[e] * NP for e in g.topology.entries]
    t0 = time.perf_counter()
    dist = nx.multi_source_dijkstra_path_length(dg, sources, weight="weight")
    times["dijkstra"] = time.perf_counter() - t0
    # min cut on the same flow construction as xtrust (interfaces split, capacity 1)
    t0 = time.perf_counter()
    fg = nx.DiGraph()
    goal_nodes = [
        g.index[c] * NP + p
        for c in g.topology.critical
        for p in range(3)  # execCode, control, dataAccess (the default goals)
    ]
    for a in range(len(arc_src)):
        u, v, i = arc_src[a], arc_dst[a], arc_iface[a]
        if i < 0:
            fg.add_edge(("p", u), ("p", v))
        else:
            it = g.topology.interfaces[i]
            cap = math.inf if it.essential or it.type == "radio" else 1
            fg.add_edge(("i", i, 0), ("i", i, 1), capacity=cap)
            fg.add_edge(("p", u), ("i", i, 0))
            fg.add_edge(("i", i, 1), ("p", v))
    for s in sources:
        fg.add_edge("S", ("p", s))
    for n in goal_nodes:
        fg.add_edge(("p", n), "T")
    cut_value, _ = nx.minimum_cut(fg, "S", "T")
    times["min_cut"] = time.perf_counter() - t0
    # k best simple paths for a few critical assets (a virtual sink per target)
    t0 = time.perf_counter()
    kbest: dict[str, list[float]] = {}
    targets = [c for c in g.topology.critical if result.paths.get(c)][:n_targets]
    h = dg  # a virtual source and a virtual sink per target, removed afterwards
    for s in sources:
        h.add_edge("SRC", s, weight=0.0)
    for c in targets:
        for p in range(3):
            h.add_edge(g.index[c] * NP + p, "DST", weight=0.0)
        got = []
        for path in itertools.islice(nx.shortest_simple_paths(h, "SRC", "DST", "weight"), k):
            w = sum(h[a][b]["weight"] for a, b in itertools.pairwise(path))
            got.append(math.exp(-w))
        kbest[c] = got
        h.remove_node("DST")
    times["k_paths"] = time.perf_counter() - t0
    return times, {"dist": dist, "cut": cut_value, "kbest": kbest}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--edges", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--fight", default=None, help="fight.yaml (optional: add FiGHT rules)")
    ap.add_argument("--ref-targets", type=int, default=5)
    args = ap.parse_args()

    doc = generate(args.assets, args.edges, args.seed)
    fight = load_fight(args.fight) if args.fight else None
    t0 = time.perf_counter()
    topo = parse_topology(doc, "generated")
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = analyze(topo, fight, k=args.k)
    t_analyze = time.perf_counter() - t0
    g = result.graph
    reached = sum(1 for c in topo.critical if result.paths.get(c))
    print(
        f"topology: {len(topo.assets)} assets, {len(topo.interfaces)} interfaces, "
        f"{len(topo.entries)} entries, {len(topo.critical)} critical; attack graph "
        f"{g.n_nodes} privilege nodes, {len(g.arc_src)} rule arcs"
        + (f", {len(fight.rules)} FiGHT rules" if fight else "")
    )
    print(
        f"xtrust: import {T_IMPORT:.3f} s; validate {t_parse:.3f} s; analyze {t_analyze:.3f} s "
        f"(k={args.k} paths for {reached} reachable critical assets, "
        f"cut {len(result.cut.interfaces)} flows)"
    )
    # our own components, for the comparison below
    t0 = time.perf_counter()
    g2 = build_graph(topo, fight)
    t_build = time.perf_counter() - t0
    sources = [g2.index[e] * NP for e in topo.entries]
    t0 = time.perf_counter()
    dist = dijkstra(g2, sources).tolist()
    t_dij = time.perf_counter() - t0
    goal_nodes = [g2.index[c] * NP + p for c in topo.critical for p in range(3)]
    t0 = time.perf_counter()
    min_cut(g2, sources, goal_nodes)
    t_cut = time.perf_counter() - t0
    is_source = [False] * g2.n_nodes
    for s in sources:
        is_source[s] = True
    t0 = time.perf_counter()
    arcs = _PyArcs(g2)
    for c in topo.critical:
        i = g2.index[c] * NP
        k_best_paths(g2, dist, is_source, [i, i + 1, i + 2], args.k, arcs=arcs)
    t_k = (time.perf_counter() - t0) / max(1, len(topo.critical))
    try:
        times, ref = reference(result, args.k, args.ref_targets)
    except ImportError:
        print("networkx not installed: no reference (pip install networkx into .venv)")
        return 0
    ok = True
    for node, d in ref["dist"].items():
        if abs(dist[node] - d) > 1e-9:
            ok = False
            print(f"MISMATCH distance at {g.node_name(node)}: {dist[node]} vs {d}")
            break
    if sum(1 for x in dist if x < math.inf) != len(ref["dist"]):
        ok = False
        print("MISMATCH: reachable node counts differ")
    ours_cut = len(result.cut.interfaces) if result.cut.separable else math.inf
    if ours_cut != ref["cut"]:
        ok = False
        print(f"MISMATCH cut: {ours_cut} vs networkx {ref['cut']}")
    for c, probs in ref["kbest"].items():
        mine = [p.probability for p in result.paths[c]]
        if len(mine) != len(probs) or any(
            abs(a - b) > 1e-9 for a, b in zip(mine, probs, strict=True)
        ):
            ok = False
            print(f"MISMATCH k-best for {c}: {mine} vs {probs}")
    n_t = max(1, len(ref["kbest"]))
    per_target_ref = times["k_paths"] / n_t
    print(
        f"networkx: graph {times['build']:.3f} s, dijkstra {times['dijkstra']:.3f} s, "
        f"min cut {times['min_cut']:.3f} s, k-best {per_target_ref:.3f} s/target "
        f"({len(ref['kbest'])} targets)"
    )
    print(
        f"xtrust:   graph {t_build:.3f} s, dijkstra {t_dij:.3f} s, min cut {t_cut:.3f} s, "
        f"k-best {t_k * 1000:.3f} ms/target ({len(topo.critical)} targets)"
    )
    print(
        f"ratios networkx/xtrust: dijkstra {times['dijkstra'] / t_dij:.1f}x, "
        f"min cut {times['min_cut'] / t_cut:.1f}x, k-best per target {per_target_ref / t_k:.0f}x"
    )
    print(
        f"budget: analyze {t_analyze:.3f} s {'<' if t_analyze < 2.0 else '>='} 2 s; "
        f"results {'match' if ok else 'DIFFER'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
