"""Attack graph construction and analysis: best paths, k best paths, min cut, exposure.

The attack graph is MulVAL-shaped: facts (reachability over an interface,
vulnerabilities, weak authentication, attacker location) are leaves; each
applicable rule instance is an AND node; each (privilege, asset) pair is an
OR node. Every rule has exactly one privilege precondition (the rest are
facts), so the AND/OR graph is stored as arcs between privilege nodes, each
arc remembering its rule, its interface and its probability.

* Path likelihood is the product of the rule probabilities on the path, so
  the most likely path is a shortest path under ``-log p`` (Dijkstra from all
  entry points at once). The k best simple paths to each critical asset come
  from a backward best-first search whose heuristic is the exact forward
  distance (so the first complete path popped is the best, the next the
  second best, ...).
* Exposure of an asset is the likelihood of its most likely path to any of
  execCode / control / dataAccess on it (1.0 for entry points, 0.0 when
  unreachable).
* The min cut separates the entry points from every critical goal by
  removing interfaces only: each interface becomes an ``in -> out`` edge of
  capacity 1 (infinite when ``essential``), rule arcs and local arcs are
  infinite, and Dinic's max flow gives the cut (max-flow = min-cut).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from .rules import BUILTIN_RULES, FightData, Rule, name_builtins
from .topology import BIDIRECTIONAL, PRIVILEGES, Interface, Topology, Vulnerability

__all__ = ["AttackGraph", "AttackPath", "Cut", "Step", "analyze", "build_graph"]

NP = len(PRIVILEGES)
_PRIV_INDEX = {p: i for i, p in enumerate(PRIVILEGES)}
_EXPOSURE_PRIVS = (_PRIV_INDEX["execCode"], _PRIV_INDEX["control"], _PRIV_INDEX["dataAccess"])
INF = float("inf")
#: residual edges above which the max flow runs in SciPy (when importable)
SCIPY_MIN_EDGES = 400_000


@dataclass(frozen=True, slots=True)
class Step:
    rule: str
    name: str
    techniques: tuple[str, ...]
    src: str  # asset the attacker acts from
    dst: str  # asset where the privilege is gained
    privilege: str
    probability: float
    interface: int | None  # index in Topology.interfaces (None: local step)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "name": self.name,
            "techniques": list(self.techniques),
            "from": self.src,
            "to": self.dst,
            "privilege": self.privilege,
            "probability": round(self.probability, 6),
            "interface": self.interface,
        }


@dataclass(frozen=True, slots=True)
class AttackPath:
    target: str
    entry: str
    probability: float
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "entry": self.entry,
            "probability": round(self.probability, 6),
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class Cut:
    separable: bool
    interfaces: tuple[int, ...]  # indices in Topology.interfaces
    reason: str = ""


@dataclass(slots=True)
class AttackGraph:
    topology: Topology
    names: list[str]
    index: dict[str, int]
    rules: list[Rule]
    # arcs between privilege nodes (node = asset * NP + privilege)
    arc_src: list[int]
    arc_dst: list[int]
    arc_w: list[float]  # -log p
    arc_rule: list[int]  # index into rules
    arc_iface: list[int]  # -1 for local arcs
    out_arcs: list[list[int]]
    in_arcs: list[list[int]]

    @property
    def n_nodes(self) -> int:
        return len(self.names) * NP

    def node_name(self, node: int) -> str:
        return f"{PRIVILEGES[node % NP]}({self.names[node // NP]})"


def _vuln_rule(v: Vulnerability) -> Rule:
    techniques = ("FGT1190",) if v.access == "network" else ("FGT1210",)
    if v.access == "local":
        return Rule(
            v.id,
            f"exploit {v.software} (local)",
            "control",
            v.gives,
            v.probability,
            types=frozenset(),
            techniques=("FGT1068",),
            source="vuln",
        )
    return Rule(
        v.id,
        f"exploit {v.software}",
        "execCode",
        v.gives,
        v.probability,
        techniques=techniques,
        source="vuln",
    )


def build_graph(topology: Topology, fight: FightData | None = None) -> AttackGraph:
    """Instantiate every rule over the topology's interfaces and vulnerabilities."""
    names = list(topology.assets)
    index = {n: i for i, n in enumerate(names)}
    assets = [topology.assets[n] for n in names]
    kinds = [a.kind for a in assets]
    zones = [a.zone for a in assets]
    weak = [a.weak_auth for a in assets]
    rules: list[Rule] = name_builtins(BUILTIN_RULES, fight)
    if fight is not None:
        rules.extend(fight.rules)
    rule_ix = {id(r): i for i, r in enumerate(rules)}
    local_rules = [r for r in rules if r.local]
    edge_rules = [r for r in rules if not r.local]

    best: dict[tuple[int, int, int], tuple[float, int]] = {}  # (src, dst, iface) -> (w, rule)

    def add(src_node: int, dst_node: int, iface: int, p: float, rule: int) -> None:
        if p <= 0.0 or src_node == dst_node:
            return
        w = -math.log(p) if p < 1.0 else 0.0
        key = (src_node, dst_node, iface)
        old = best.get(key)
        if old is None or w < old[0]:
            best[key] = (w, rule)

    # per (type, op, src kind, dst kind, reverse, weak dst): the best rule per
    # (pre, post) as (pre, post, p, rule index), cached
    cache: dict[tuple[str, str, str, str, bool, bool], list[tuple[int, int, float, int]]] = {}

    def applicable(
        itype: str, op: str, sk: str, dk: str, rev: bool, weak_dst: bool
    ) -> list[tuple[int, int, float, int]]:
        pick: dict[tuple[int, int], tuple[int, int, float, int]] = {}
        for r in edge_rules:
            if (
                r.reverse == rev
                and (r.types is None or itype in r.types)
                and (r.op is None or r.op == op)
                and (r.src_kinds is None or sk in r.src_kinds)
                and (r.dst_kinds is None or dk in r.dst_kinds)
                and (weak_dst or not r.needs_weak_auth)
                and r.probability > 0.0
            ):
                pre, post = _PRIV_INDEX[r.pre], _PRIV_INDEX[r.post]
                old = pick.get((pre, post))
                if old is None or r.probability > old[2]:
                    pick[(pre, post)] = (pre, post, r.probability, rule_ix[id(r)])
        return list(pick.values())

    vuln_rules: dict[int, list[tuple[Vulnerability, int]]] = {}
    for i, asset in enumerate(assets):
        for vul in asset.vulns:
            r = _vuln_rule(vul)
            rules.append(r)
            ri = len(rules) - 1
            if vul.access == "local":
                add(
                    i * NP + _PRIV_INDEX["control"],
                    i * NP + _PRIV_INDEX[vul.gives],
                    -1,
                    vul.probability,
                    ri,
                )
            else:
                vuln_rules.setdefault(i, []).append((vul, ri))
    for i in range(len(names)):
        for r in local_rules:
            if r.dst_kinds is None or kinds[i] in r.dst_kinds:
                add(
                    i * NP + _PRIV_INDEX[r.pre],
                    i * NP + _PRIV_INDEX[r.post],
                    -1,
                    r.probability,
                    rule_ix[id(r)],
                )

    exec_i = _PRIV_INDEX["execCode"]
    log = math.log
    cache_get = cache.get
    for iface in topology.interfaces:
        s, d = index[iface.src], index[iface.dst]
        itype, op, ii = iface.type, iface.op, iface.index
        if itype in BIDIRECTIONAL:
            directions: tuple[tuple[int, int, bool], ...] = (
                (s, d, False),
                (d, s, False),
                (d, s, True),
            )
        else:
            directions = ((s, d, False), (d, s, True))
        for u, v, rev in directions:
            ckey = (itype, op, kinds[u], kinds[v], rev, weak[v])
            cands = cache_get(ckey)
            if cands is None:
                cands = cache[ckey] = applicable(*ckey)
            vulns = None if rev else vuln_rules.get(v)
            if vulns is None:
                # fast path: the cached candidates are already one per (pre, post)
                ub, vb = u * NP, v * NP
                for pre, post, p, ri in cands:
                    key = (ub + pre, vb + post, ii)
                    w = -log(p) if p < 1.0 else 0.0
                    old = best.get(key)
                    if old is None or w < old[0]:
                        best[key] = (w, ri)
                continue
            for pre, post, p, ri in cands:
                add(u * NP + pre, v * NP + post, ii, p, ri)
            for vuln, ri in vulns:
                if (
                    vuln.access == "adjacent"
                    and zones[u] != zones[v]
                    and itype not in ("radio", "fronthaul")
                ):
                    continue
                add(u * NP + exec_i, v * NP + _PRIV_INDEX[vuln.gives], ii, vuln.probability, ri)

    n_nodes = len(names) * NP
    out_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    in_arcs: list[list[int]] = [[] for _ in range(n_nodes)]
    arc_src: list[int] = []
    arc_dst: list[int] = []
    arc_w: list[float] = []
    arc_rule: list[int] = []
    arc_iface: list[int] = []
    for k, ((na, nb, iface_i), (w, ri)) in enumerate(best.items()):
        arc_src.append(na)
        arc_dst.append(nb)
        arc_w.append(w)
        arc_rule.append(ri)
        arc_iface.append(iface_i)
        out_arcs[na].append(k)
        in_arcs[nb].append(k)
    return AttackGraph(
        topology,
        names,
        index,
        rules,
        arc_src,
        arc_dst,
        arc_w,
        arc_rule,
        arc_iface,
        out_arcs,
        in_arcs,
    )


# --------------------------------------------------------------------------- analysis


def dijkstra(g: AttackGraph, sources: Sequence[int]) -> tuple[list[float], list[int]]:
    """Distance (-log likelihood) from the nearest source and the arc that reached each node."""
    dist = [INF] * g.n_nodes
    via = [-1] * g.n_nodes
    heap: list[tuple[float, int]] = []
    for s in sources:
        dist[s] = 0.0
        heap.append((0.0, s))
    heapq.heapify(heap)
    out_arcs, arc_dst, arc_w = g.out_arcs, g.arc_dst, g.arc_w
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        du, u = pop(heap)
        if du > dist[u]:
            continue
        for k in out_arcs[u]:
            v = arc_dst[k]
            nd = du + arc_w[k]
            if nd < dist[v]:
                dist[v] = nd
                via[v] = k
                push(heap, (nd, v))
    return dist, via


def _step(g: AttackGraph, k: int) -> Step:
    r = g.rules[g.arc_rule[k]]
    a, b = g.arc_src[k], g.arc_dst[k]
    iface = g.arc_iface[k]
    return Step(
        r.id,
        r.name,
        r.techniques,
        g.names[a // NP],
        g.names[b // NP],
        PRIVILEGES[b % NP],
        math.exp(-g.arc_w[k]),
        iface if iface >= 0 else None,
    )


def _path(g: AttackGraph, target: str, arcs: Sequence[int]) -> AttackPath:
    steps = tuple(_step(g, k) for k in arcs)
    w = sum(g.arc_w[k] for k in arcs)
    entry = g.names[g.arc_src[arcs[0]] // NP] if arcs else target
    return AttackPath(target, entry, math.exp(-w), steps)


def k_best_paths(
    g: AttackGraph,
    dist: Sequence[float],
    is_source: Sequence[bool],
    goals: Sequence[int],
    k: int,
    max_pops: int = 50_000,
) -> list[list[int]]:
    """The k most likely simple paths (lists of arcs, entry first) into any of ``goals``.

    Backward best-first search from the goals over partial suffixes; the
    priority is suffix cost + exact forward distance of its first node, so
    complete paths come out in order of likelihood.
    """
    heap: list[tuple[float, int, int, tuple[int, ...], frozenset[int]]] = []
    tie = 0
    for gnode in goals:
        if dist[gnode] < INF:
            heap.append((dist[gnode], tie, gnode, (), frozenset((gnode,))))
            tie += 1
    heapq.heapify(heap)
    found: list[list[int]] = []
    pops = 0
    in_arcs, arc_src, arc_w = g.in_arcs, g.arc_src, g.arc_w
    while heap and len(found) < k and pops < max_pops:
        f, _, node, suffix, seen = heapq.heappop(heap)
        pops += 1
        if is_source[node]:
            if suffix:
                found.append(list(suffix))
            continue
        cost = f - dist[node]
        for a in in_arcs[node]:
            u = arc_src[a]
            du = dist[u]
            if du == INF or u in seen:
                continue
            tie += 1
            heapq.heappush(heap, (cost + arc_w[a] + du, tie, u, (a, *suffix), seen | {u}))
    return found


def min_cut(
    g: AttackGraph,
    sources: Sequence[int],
    goal_nodes: Sequence[int],
    use_scipy: bool = True,
    reached: Sequence[bool] | None = None,
) -> Cut:
    """Fewest interfaces whose removal disconnects every source from every goal node.

    On large networks the max flow runs in SciPy's compiled Dinic when SciPy is
    importable (a dependency of the package), else in the pure-Python Dinic of
    :class:`_FlowNet`; both return the source-side minimum cut. ``reached``: the
    nodes reachable from the sources, when already known (finite Dijkstra distance)."""
    # prune to arcs on some source -> goal path
    if reached is not None:
        fwd = list(reached)
    else:
        fwd = [False] * g.n_nodes
        dq = deque(sources)
        for s in sources:
            fwd[s] = True
        while dq:
            u = dq.popleft()
            for a in g.out_arcs[u]:
                v = g.arc_dst[a]
                if not fwd[v]:
                    fwd[v] = True
                    dq.append(v)
    bwd = [False] * g.n_nodes
    dq = deque(n for n in goal_nodes if fwd[n])
    for n in dq:
        bwd[n] = True
    while dq:
        u = dq.popleft()
        for a in g.in_arcs[u]:
            v = g.arc_src[a]
            if fwd[v] and not bwd[v]:
                bwd[v] = True
                dq.append(v)
    if not any(bwd[n] for n in goal_nodes):
        return Cut(True, (), "no critical asset is reachable")
    big = 1 << 40
    # radio links cannot be removed by segmentation: never part of a cut
    iface_cap = {
        i.index: (big if i.essential or i.type == "radio" else 1) for i in g.topology.interfaces
    }
    # flow network: 0 = S, 1 = T, then the relevant privilege nodes and interface nodes
    net = _FlowNet()
    S, T = net.node(), net.node()
    pmap: dict[int, int] = {}

    def pnode(n: int) -> int:
        x = pmap.get(n)
        if x is None:
            x = pmap[n] = net.node()
        return x

    by_iface: dict[int, list[int]] = {}
    for a in range(len(g.arc_src)):
        u, v = g.arc_src[a], g.arc_dst[a]
        if not (fwd[u] and bwd[u] and bwd[v]):
            continue
        i = g.arc_iface[a]
        if i < 0:
            net.edge(pnode(u), pnode(v), big)
        else:
            by_iface.setdefault(i, []).append(a)
    # an interface is one capacity edge; its arcs hang off it. Interfaces used by a single
    # arc between the same two privilege nodes share one edge (capacities add up).
    bundles: dict[tuple[int, int], list[int]] = {}
    cut_edge: dict[int, tuple[int, int]] = {}  # iface -> flow-net (tail, head) of its edge
    for i, arcs in by_iface.items():
        srcs = {g.arc_src[a] for a in arcs}
        dsts = {g.arc_dst[a] for a in arcs}
        if len(srcs) == 1 and len(dsts) == 1:
            key = (pnode(next(iter(srcs))), pnode(next(iter(dsts))))
            bundles.setdefault(key, []).append(i)
            cut_edge[i] = key
        elif len(srcs) == 1:
            xout = net.node()
            tail = pnode(next(iter(srcs)))
            net.edge(tail, xout, iface_cap[i])
            for v in dsts:
                net.edge(xout, pnode(v), big)
            cut_edge[i] = (tail, xout)
        elif len(dsts) == 1:
            xin = net.node()
            head = pnode(next(iter(dsts)))
            for u in srcs:
                net.edge(pnode(u), xin, big)
            net.edge(xin, head, iface_cap[i])
            cut_edge[i] = (xin, head)
        else:
            xin, xout = net.node(), net.node()
            for u in srcs:
                net.edge(pnode(u), xin, big)
            net.edge(xin, xout, iface_cap[i])
            for v in dsts:
                net.edge(xout, pnode(v), big)
            cut_edge[i] = (xin, xout)
    for (tail, head), ifaces in bundles.items():
        net.edge(tail, head, min(big, sum(iface_cap[i] for i in ifaces)))
    for s in sources:
        if bwd[s]:
            net.edge(S, pnode(s), big)
    for n in goal_nodes:
        if bwd[n]:
            net.edge(pnode(n), T, big)
    if net.reachable(S, min_cap=big)[T]:
        return Cut(False, (), "an entry point reaches a critical asset without any cuttable flow")
    # SciPy pays off on large networks only (its import alone costs ~0.5 s)
    side = (
        _scipy_min_cut_side(net, S, T, big) if use_scipy and len(net.to) > SCIPY_MIN_EDGES else None
    )
    if side is None:
        net.max_flow(S, T)
        side = net.reachable(S)
    cut = sorted(i for i, (tail, head) in cut_edge.items() if side[tail] and not side[head])
    return Cut(True, tuple(cut))


class _FlowNet:
    """Dinic's max flow on an adjacency-list residual graph (paired edges e, e ^ 1)."""

    __slots__ = ("adj", "cap", "to")

    def __init__(self) -> None:
        self.adj: list[list[int]] = []
        self.to: list[int] = []
        self.cap: list[int] = []

    def node(self) -> int:
        self.adj.append([])
        return len(self.adj) - 1

    def edge(self, u: int, v: int, c: int) -> int:
        e = len(self.to)
        self.to.extend((v, u))
        self.cap.extend((c, 0))
        self.adj[u].append(e)
        self.adj[v].append(e + 1)
        return e

    def _levels(self, s: int, t: int) -> list[int] | None:
        level = [-1] * len(self.adj)
        level[s] = 0
        dq = deque([s])
        adj, to, cap = self.adj, self.to, self.cap
        while dq:
            u = dq.popleft()
            lu = level[u] + 1
            if level[t] >= 0 and lu > level[t]:
                break
            for e in adj[u]:
                if cap[e] > 0:
                    w = to[e]
                    if level[w] < 0:
                        level[w] = lu
                        dq.append(w)
        return level if level[t] >= 0 else None

    def max_flow(self, s: int, t: int) -> int:
        total = 0
        adj, to, cap = self.adj, self.to, self.cap
        big = 1 << 40
        while True:
            level = self._levels(s, t)
            if level is None:
                return total
            it = [0] * len(adj)
            while True:
                # iterative DFS for one augmenting path in the level graph
                path: list[int] = []
                u = s
                while u != t:
                    edges = adj[u]
                    i = it[u]
                    while i < len(edges):
                        e = edges[i]
                        if cap[e] > 0 and level[to[e]] == level[u] + 1:
                            break
                        i += 1
                    it[u] = i
                    if i == len(edges):
                        if not path:
                            break
                        level[u] = -1  # dead end
                        e = path.pop()
                        u = to[e ^ 1]
                        it[u] += 1
                        continue
                    path.append(edges[i])
                    u = to[edges[i]]
                if u != t:
                    break
                f = min(cap[e] for e in path)
                for e in path:
                    cap[e] -= f
                    cap[e ^ 1] += f
                total += f
                if total >= big:
                    return total

    def reachable(self, s: int, min_cap: int = 1) -> list[bool]:
        """Nodes reachable from ``s`` over residual capacity >= ``min_cap``."""
        seen = [False] * len(self.adj)
        seen[s] = True
        dq = deque([s])
        while dq:
            u = dq.popleft()
            for e in self.adj[u]:
                if self.cap[e] >= min_cap and not seen[self.to[e]]:
                    seen[self.to[e]] = True
                    dq.append(self.to[e])
        return seen


def _scipy_min_cut_side(net: _FlowNet, s: int, t: int, big: int) -> list[bool] | None:
    """Source side of a minimum s-t cut computed by SciPy (None when SciPy is missing).

    The caller has checked that no path of infinite edges joins s and t, so the
    flow is below the number of finite edges and fits int32 with ``big`` = 2**30."""
    try:
        import numpy as np
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
        from scipy.sparse.csgraph import (  # type: ignore[import-untyped]
            breadth_first_order,
            maximum_flow,
        )
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return None
    n = len(net.adj)
    to = np.asarray(net.to, dtype=np.int64)
    heads, tails = to[0::2], to[1::2]
    cap = np.minimum(np.asarray(net.cap[0::2], dtype=np.int64), 1 << 30).astype(np.int32)
    graph = csr_matrix((cap, (tails, heads)), shape=(n, n))
    graph.sum_duplicates()
    graph.data = np.minimum(graph.data, 1 << 30).astype(np.int32)
    flow = maximum_flow(graph, s, t, method="dinic").flow
    residual = csr_matrix(graph - flow)
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    order = breadth_first_order(residual, s, directed=True, return_predecessors=False)
    side = [False] * n
    for x in order.tolist():
        side[x] = True
    return side


# --------------------------------------------------------------------------- orchestration


@dataclass(slots=True)
class Analysis:
    graph: AttackGraph
    paths: dict[str, list[AttackPath]]  # critical asset -> k best paths
    exposure: dict[str, float]
    cut: Cut
    fight: FightData | None

    @property
    def topology(self) -> Topology:
        return self.graph.topology

    def cut_flows(self) -> list[Interface]:
        return [self.topology.interfaces[i] for i in self.cut.interfaces]


def analyze(topology: Topology, fight: FightData | None = None, k: int = 3) -> Analysis:
    """Build the attack graph and compute paths, exposure and the min cut."""
    g = build_graph(topology, fight)
    exec_i = _PRIV_INDEX["execCode"]
    sources = [g.index[e] * NP + exec_i for e in topology.entries]
    dist, _ = dijkstra(g, sources)
    is_source = [False] * g.n_nodes
    for s in sources:
        is_source[s] = True
    exposure: dict[str, float] = {}
    for i, name in enumerate(g.names):
        best = min(dist[i * NP + p] for p in _EXPOSURE_PRIVS)
        exposure[name] = math.exp(-best) if best < INF else 0.0
    paths: dict[str, list[AttackPath]] = {}
    goal_nodes: list[int] = []
    for name in topology.critical:
        i = g.index[name]
        goals = [i * NP + _PRIV_INDEX[p] for p in topology.assets[name].goals]
        goal_nodes.extend(goals)
        if is_source[i * NP + exec_i]:
            paths[name] = [AttackPath(name, name, 1.0, ())]
            continue
        found = k_best_paths(g, dist, is_source, goals, k) if k > 0 else []
        paths[name] = [_path(g, name, arcs) for arcs in found]
    cut = min_cut(g, sources, goal_nodes, reached=[d < INF for d in dist])
    return Analysis(g, paths, exposure, cut, fight)
