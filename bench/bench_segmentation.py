"""Benchmark: compile and verify a 500-asset, 5,000-flow segmentation policy.

    .venv/bin/python bench/bench_segmentation.py [--assets 500] [--flows 5000] [--seed 7]
        [--violations 3] [--repeat 3]

Generates a seeded policy (E2 nodes critical, platform, trusted xApps and
rApps, untrusted xApps, SDL namespaces), once clean and once with
``--violations`` planted untrusted writes into namespaces that trusted apps
read. Times parse + compile (route table, NetworkPolicies, SDL rules) and
:func:`verify`, and compares verify with a naive reference measured in the
same run: a fresh BFS for every (untrusted, critical) pair over the same
graph (and networkx ``has_path`` per pair when networkx is importable). The
reference's set of connected pairs must equal verify's, or the run fails.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from xtrust.xapps.segmentation import compile_policy, parse_policy, verify
from xtrust.xapps.segmentation.cli import render_outputs
from xtrust.xapps.segmentation.schema import _rule_error
from xtrust.xapps.segmentation.verify import build_graph

MTYPES = [12010, 12011, 12020, 12040, 12041, 12050, 20010, 20011, 30000, 30001]


def generate(n_assets: int, n_flows: int, seed: int, violations: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n_e2 = n_assets * 8 // 100
    n_plat = n_assets * 2 // 100
    n_guest = n_assets * 12 // 100
    n_ns = n_assets * 16 // 100
    n_rapp = n_assets * 2 // 100
    n_app = n_assets - n_e2 - n_plat - n_guest - n_ns - n_rapp
    zones = {
        "ran": {"trust": "critical"},
        "platform": {"trust": "platform"},
        "apps": {"trust": "trusted"},
        "guest": {"trust": "untrusted"},
        "smo": {"trust": "trusted"},
        "quarantine": {"trust": "quarantine"},
    }
    assets: dict[str, dict[str, Any]] = {}
    port = 4560

    def add(prefix: str, count: int, **kw: Any) -> list[str]:
        nonlocal port
        names = []
        for i in range(count):
            name = f"{prefix}-{i}"
            doc = dict(kw)
            if kw["kind"] in ("xapp", "ric-platform"):
                port += 1
                doc["rmr"] = f"{name}:{port}"
                doc["k8s_namespace"] = "ricplt" if kw["kind"] == "ric-platform" else "ricxapp"
            if kw["kind"] == "e2node":
                doc["cidr"] = f"10.{i // 250}.{i % 250}.0/24"
            assets[name] = doc
            names.append(name)
        return names

    e2 = add("gnb", n_e2, kind="e2node", zone="ran")
    plat = add("plt", n_plat, kind="ric-platform", zone="platform")
    apps = add("app", n_app, kind="xapp", zone="apps")
    guests = add("guest", n_guest, kind="xapp", zone="guest")
    rapps = add("rapp", n_rapp, kind="rapp", zone="smo")
    ns_trusted = add("ns", n_ns - n_ns // 4, kind="sdl-namespace", zone="apps")
    ns_guest = add("gns", n_ns // 4, kind="sdl-namespace", zone="guest")

    flows: list[dict[str, Any]] = []
    trusted_rmr = apps + plat
    n_guest_flows = n_flows // 8
    for _ in range(n_guest_flows):  # untrusted region: stays among untrusted assets
        r = rng.random()
        g = rng.choice(guests)
        if r < 0.4:
            flows.append(
                {"from": g, "to": rng.choice(ns_trusted + ns_guest), "type": "sdl", "op": "read"}
            )
        elif r < 0.7:
            flows.append({"from": g, "to": rng.choice(ns_guest), "type": "sdl", "op": "write"})
        else:
            other = rng.choice([x for x in guests if x != g][:50])
            flows.append({"from": g, "to": other, "type": "rmr", "mtypes": rng.sample(MTYPES, 2)})
    while len(flows) < n_flows - violations:  # trusted region
        r = rng.random()
        if r < 0.45:
            a, b = rng.sample(trusted_rmr, 2)
            flows.append({"from": a, "to": b, "type": "rmr", "mtypes": rng.sample(MTYPES, 3)})
        elif r < 0.6:
            flows.append(
                {
                    "from": rng.choice(apps),
                    "to": rng.choice(e2),
                    "type": "e2-control",
                    "ran_functions": [rng.randint(1, 4)],
                }
            )
        elif r < 0.85:
            flows.append(
                {
                    "from": rng.choice(apps),
                    "to": rng.choice(ns_trusted),
                    "type": "sdl",
                    "op": rng.choice(["read", "write"]),
                }
            )
        elif r < 0.95:
            flows.append(
                {
                    "from": rng.choice(plat),
                    "to": rng.choice(e2),
                    "type": "network",
                    "ports": [{"port": 36421, "protocol": "SCTP"}],
                }
            )
        else:
            flows.append(
                {
                    "from": rng.choice(rapps),
                    "to": rng.choice(apps),
                    "type": "a1",
                    "policy_types": [20008],
                    "ports": [10000],
                }
            )
    for _ in range(violations):  # planted: untrusted writes where trusted apps read
        flows.append(
            {"from": rng.choice(guests), "to": rng.choice(ns_trusted), "type": "sdl", "op": "write"}
        )
    return {"version": 1, "zones": zones, "assets": assets, "flows": flows}


def naive_pairs(
    adj: list[list[int]], sources: list[int], targets: list[int]
) -> set[tuple[int, int]]:
    """Reference: one fresh BFS per (source, target) pair, stopping at the target."""
    out = set()
    for s in sources:
        for t in targets:
            seen = {s}
            queue = deque([s])
            while queue:
                u = queue.popleft()
                if u == t:
                    out.add((s, t))
                    break
                for v in adj[u]:
                    if v not in seen:
                        seen.add(v)
                        queue.append(v)
    return out


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def run_case(label: str, doc: dict[str, Any], repeat: int) -> bool:
    t_parse, policy = best(lambda: parse_policy(doc, "bench"), repeat)

    def do_build() -> int:
        c = compile_policy(policy)
        return len(c.route_table()) + len(c.network_policies()) + len(c.sdl_rules())

    def do_compile() -> int:
        # everything `xtrust segment compile` renders: route table, NetworkPolicies
        # (schema-checked, YAML), SDL rules and control grants (JSON); cold rule cache
        _rule_error.cache_clear()
        return sum(len(text) for text in render_outputs(compile_policy(policy)).values())

    t_build, _ = best(do_build, repeat)
    t_compile, _ = best(do_compile, repeat)
    t_verify, violations = best(lambda: verify(policy), repeat)
    g = build_graph(policy)
    names = g.names
    sources = [
        i for i in range(g.n_assets) if policy.trust_of(names[i]) in ("untrusted", "quarantine")
    ]
    targets = [i for i in range(g.n_assets) if policy.trust_of(names[i]) == "critical"]
    t_naive, pairs = best(lambda: naive_pairs(g.adj, sources, targets), 1)
    ours = {(v.source, v.target) for v in violations}
    ref = {(names[s], names[t]) for s, t in pairs}
    ok = ours == ref
    total = t_parse + t_compile + t_verify
    n_edges = sum(len(a) for a in g.adj)
    print(
        f"[{label}] {len(policy.assets)} assets, {len(policy.flows)} flows, "
        f"{n_edges} graph edges, {len(sources)} untrusted x {len(targets)} critical"
    )
    print(
        f"  parse {t_parse * 1e3:8.1f} ms   compile {t_compile * 1e3:8.1f} ms   "
        f"verify {t_verify * 1e3:8.1f} ms   total {total * 1e3:8.1f} ms"
        f"   ({'under' if total < 1 else 'OVER'} 1 s)"
    )
    print(
        f"  (compile = {t_build * 1e3:.1f} ms building the artefacts + "
        f"{(t_compile - t_build) * 1e3:.1f} ms schema check and serialisation)"
    )
    print(f"  violations: {len(violations)} (source, critical) pairs; reference agrees: {ok}")
    print(
        f"  naive per-pair BFS {t_naive * 1e3:9.1f} ms  -> verify is {t_naive / t_verify:7.1f}x faster"
    )
    try:
        nx: Any = importlib.import_module("networkx")
    except ImportError:
        print("  (networkx not importable: networkx reference skipped)")
    else:
        ng = nx.DiGraph()
        ng.add_nodes_from(range(len(names)))
        ng.add_edges_from((u, v) for u, vs in enumerate(g.adj) for v in vs)
        t_nx, nx_pairs = best(
            lambda: {(s, t) for s in sources for t in targets if nx.has_path(ng, s, t)}, 1
        )
        ok = ok and nx_pairs == pairs
        print(f"  networkx has_path per pair {t_nx * 1e3:9.1f} ms -> {t_nx / t_verify:7.1f}x")
    return ok and total < 1.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--flows", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--violations", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    ok = run_case("clean", generate(args.assets, args.flows, args.seed, 0), args.repeat)
    ok &= run_case(
        f"{args.violations} planted",
        generate(args.assets, args.flows, args.seed, args.violations),
        args.repeat,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
