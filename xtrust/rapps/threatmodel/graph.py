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

Speed: rules are matched once per class of interface direction, not once
per (rule, interface); the arcs, their deduplication, the Dijkstra and the
flow network are NumPy / SciPy array work (SciPy's compiled Dijkstra,
breadth-first search and Dinic). Only the k-best search walks arcs in
Python, and only the few it pops.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import (  # type: ignore[import-untyped]
    breadth_first_order,
    maximum_flow,
)
from scipy.sparse.csgraph import dijkstra as _sp_dijkstra

from .rules import BUILTIN_RULES, FightData, Rule, name_builtins
from .topology import (
    ASSET_KINDS,
    BIDIRECTIONAL,
    INTERFACE_TYPES,
    PRIVILEGES,
    Interface,
    Topology,
    Vulnerability,
)

__all__ = ["AttackGraph", "AttackPath", "Cut", "Step", "analyze", "build_graph"]

NP = len(PRIVILEGES)
_PRIV_INDEX = {p: i for i, p in enumerate(PRIVILEGES)}
_EXPOSURE_PRIVS = (_PRIV_INDEX["execCode"], _PRIV_INDEX["control"], _PRIV_INDEX["dataAccess"])
INF = float("inf")


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
    """Arcs between privilege nodes (node = asset * NP + privilege), as NumPy arrays.

    Parallel rule arcs over the same interface between the same two privilege
    nodes are already collapsed into the most likely one (its rule is kept for
    the explanation). ``in_ptr`` / ``in_idx`` and ``out_ptr`` / ``out_idx``
    are CSR indexes: the arcs into node ``n`` are
    ``in_idx[in_ptr[n]:in_ptr[n + 1]]``."""

    topology: Topology
    names: list[str]
    index: dict[str, int]
    rules: list[Rule]
    arc_src: np.ndarray
    arc_dst: np.ndarray
    arc_w: np.ndarray  # -log p
    arc_rule: np.ndarray  # index into rules
    arc_iface: np.ndarray  # -1 for local arcs
    in_ptr: np.ndarray
    in_idx: np.ndarray
    out_ptr: np.ndarray
    out_idx: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.names) * NP

    @property
    def n_arcs(self) -> int:
        return int(self.arc_src.shape[0])

    def node_name(self, node: int) -> str:
        return f"{PRIVILEGES[node % NP]}({self.names[node // NP]})"

    def arcs_into(self, node: int) -> list[int]:
        return self.in_idx[self.in_ptr[node] : self.in_ptr[node + 1]].tolist()

    def arcs_from(self, node: int) -> list[int]:
        return self.out_idx[self.out_ptr[node] : self.out_ptr[node + 1]].tolist()

    def matrix(self) -> csr_matrix:
        """n_nodes x n_nodes CSR matrix of the best (lowest -log p) arc per node pair.

        Explicit zeros (probability 1 arcs) are edges for ``scipy.sparse.csgraph``."""
        n = self.n_nodes
        key = self.arc_src * n + self.arc_dst
        order = np.lexsort((self.arc_w, key))
        k = key[order]
        first = np.ones(k.shape[0], dtype=bool)
        first[1:] = k[1:] != k[:-1]
        pick = order[first]
        src, dst, w = self.arc_src[pick], self.arc_dst[pick], self.arc_w[pick]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        return csr_matrix((w, dst, indptr), shape=(n, n))  # pick is sorted by (src, dst)


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


def _weight(p: np.ndarray) -> np.ndarray:
    """-log p (0 for p >= 1), elementwise."""
    with np.errstate(divide="ignore"):
        return np.where(p < 1.0, -np.log(np.minimum(p, 1.0)), 0.0)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with ``counts[i]`` items each: the row of every item and its slot in the row."""
    total = int(counts.sum())
    row = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    slot = np.arange(total, dtype=np.int64) - starts[row]
    return row, slot


def build_graph(topology: Topology, fight: FightData | None = None) -> AttackGraph:
    """Instantiate every rule over the topology's interfaces and vulnerabilities.

    Rules are matched once per *class* of interface direction (interface type,
    SDL op, the two asset kinds, direction, weak authentication of the
    victim): a rule that applies to every interface of a class is one entry of
    that class's candidate table (MulVAL's shared derived facts), and the arcs
    of all interfaces are then produced with array operations, never one
    Python step per (rule, interface). For each (source node, target node,
    interface) only the most likely rule is kept (ties: the first rule in rule
    order, built-ins first, then vulnerabilities)."""
    names = list(topology.assets)
    index = {n: i for i, n in enumerate(names)}
    assets = [topology.assets[n] for n in names]
    n_assets = len(names)
    kind_ix = {k: i for i, k in enumerate(ASSET_KINDS)}
    type_ix = {t: i for i, t in enumerate(INTERFACE_TYPES)}
    op_ix = {"": 0, "read": 1, "write": 2}
    kinds = np.fromiter((kind_ix[a.kind] for a in assets), dtype=np.int64, count=n_assets)
    zone_ix: dict[str, int] = {}
    zones = np.fromiter(
        (zone_ix.setdefault(a.zone, len(zone_ix)) for a in assets), dtype=np.int64, count=n_assets
    )
    weak = np.fromiter((a.weak_auth for a in assets), dtype=bool, count=n_assets)
    rules: list[Rule] = name_builtins(BUILTIN_RULES, fight)
    if fight is not None:
        rules.extend(fight.rules)
    local_rules = [(i, r) for i, r in enumerate(rules) if r.local]
    edge_rules = [(i, r) for i, r in enumerate(rules) if not r.local]

    # arcs as parallel chunks; ``seq`` orders them as the rules were tried (for ties)
    c_src: list[np.ndarray] = []
    c_dst: list[np.ndarray] = []
    c_p: list[np.ndarray] = []
    c_rule: list[np.ndarray] = []
    c_iface: list[np.ndarray] = []
    c_seq: list[np.ndarray] = []

    # ---- local arcs: local vulnerabilities, then local rules (seq < 0: before interface arcs)
    l_src: list[int] = []
    l_dst: list[int] = []
    l_p: list[float] = []
    l_rule: list[int] = []
    net_vulns: list[tuple[int, Vulnerability, int]] = []  # (asset, vuln, rule index)
    ctl = _PRIV_INDEX["control"]
    for i, asset in enumerate(assets):
        for vul in asset.vulns:
            rules.append(_vuln_rule(vul))
            ri = len(rules) - 1
            if vul.access == "local":
                l_src.append(i * NP + ctl)
                l_dst.append(i * NP + _PRIV_INDEX[vul.gives])
                l_p.append(vul.probability)
                l_rule.append(ri)
            else:
                net_vulns.append((i, vul, ri))
    n_lv = len(l_src)
    l_seq = list(range(n_lv))
    n_lr = len(local_rules)
    for j, (ri, r) in enumerate(local_rules):  # ordered per asset, then per rule
        ok = np.ones(n_assets, dtype=bool)
        if r.dst_kinds is not None:
            ok = np.isin(kinds, [kind_ix[k] for k in r.dst_kinds if k in kind_ix])
        at = np.flatnonzero(ok)
        l_src.extend((at * NP + _PRIV_INDEX[r.pre]).tolist())
        l_dst.extend((at * NP + _PRIV_INDEX[r.post]).tolist())
        l_p.extend([r.probability] * at.shape[0])
        l_rule.extend([ri] * at.shape[0])
        l_seq.extend((n_lv + at * n_lr + j).tolist())
    n_local = len(l_src)
    c_src.append(np.asarray(l_src, dtype=np.int64))
    c_dst.append(np.asarray(l_dst, dtype=np.int64))
    c_p.append(np.asarray(l_p, dtype=np.float64))
    c_rule.append(np.asarray(l_rule, dtype=np.int64))
    c_iface.append(np.full(n_local, -1, dtype=np.int64))
    # local arcs come before every interface arc (whose seq is >= 0)
    c_seq.append(np.asarray(l_seq, dtype=np.int64) - (n_lv + n_assets * n_lr))

    # ---- interface directions: (u attacker side, v victim side, reversed?)
    ifaces = topology.interfaces
    m = len(ifaces)
    i_src = np.fromiter((index[f.src] for f in ifaces), dtype=np.int64, count=m)
    i_dst = np.fromiter((index[f.dst] for f in ifaces), dtype=np.int64, count=m)
    i_type = np.fromiter((type_ix[f.type] for f in ifaces), dtype=np.int64, count=m)
    i_op = np.fromiter((op_ix.get(f.op, 0) for f in ifaces), dtype=np.int64, count=m)
    i_ix = np.fromiter((f.index for f in ifaces), dtype=np.int64, count=m)
    bidir = np.isin(i_type, [type_ix[t] for t in BIDIRECTIONAL])
    pos = np.arange(m, dtype=np.int64)
    # per interface, in order: (s, d, fwd), then (d, s, fwd) when bidirectional, then (d, s, rev)
    d_pos = np.concatenate([pos, pos[bidir], pos])
    d_u = np.concatenate([i_src, i_dst[bidir], i_dst])
    d_v = np.concatenate([i_dst, i_src[bidir], i_src])
    d_rev = np.concatenate([np.zeros(m + int(bidir.sum()), dtype=bool), np.ones(m, dtype=bool)])
    d_rank = np.concatenate(
        [np.zeros(m, np.int64), np.ones(int(bidir.sum()), np.int64), np.full(m, 2, np.int64)]
    )
    d_type, d_op = i_type[d_pos], i_op[d_pos]
    d_rank += d_pos * 3  # emission order of the direction (times a stride, below)

    # ---- candidate table per direction class (rule matching runs once per class)
    nk = len(ASSET_KINDS)
    cls = ((((d_type * 3 + d_op) * nk + kinds[d_u]) * nk + kinds[d_v]) * 2 + d_rev) * 2 + weak[d_v]
    uniq, inv = np.unique(cls, return_inverse=True)
    tables: list[list[tuple[int, int, float, int]]] = []
    for code in uniq.tolist():
        code, wk = divmod(code, 2)
        code, rv = divmod(code, 2)
        code, dk = divmod(code, nk)
        code, sk = divmod(code, nk)
        ti, oi = divmod(code, 3)
        tables.append(
            _applicable(
                edge_rules,
                INTERFACE_TYPES[ti],
                ("", "read", "write")[oi],
                ASSET_KINDS[sk],
                ASSET_KINDS[dk],
                bool(rv),
                bool(wk),
            )
        )
    width = max((len(t) for t in tables), default=0)
    # seq of an arc = direction order * stride + slot (candidates first, then vulnerabilities)
    max_vulns = max((len(a.vulns) for a in assets), default=0)
    d_order = d_rank * (width + max_vulns + 1)
    if width:
        t_pre = np.zeros((len(tables), width), dtype=np.int64)
        t_post = np.zeros((len(tables), width), dtype=np.int64)
        t_p = np.zeros((len(tables), width), dtype=np.float64)
        t_rule = np.zeros((len(tables), width), dtype=np.int64)
        t_n = np.zeros(len(tables), dtype=np.int64)
        for g, cands in enumerate(tables):
            t_n[g] = len(cands)
            for j, (pre, post, p, ri) in enumerate(cands):
                t_pre[g, j], t_post[g, j], t_p[g, j], t_rule[g, j] = pre, post, p, ri
        row, slot = _expand(t_n[inv])
        grp = inv[row]
        c_src.append(d_u[row] * NP + t_pre[grp, slot])
        c_dst.append(d_v[row] * NP + t_post[grp, slot])
        c_p.append(t_p[grp, slot])
        c_rule.append(t_rule[grp, slot])
        c_iface.append(i_ix[d_pos[row]])
        c_seq.append(d_order[row] + slot)

    # ---- network / adjacent vulnerabilities of the victim (forward directions only)
    if net_vulns:
        net_vulns.sort(key=lambda t: t[0])  # stable: per asset in declaration order
        v_asset = np.asarray([a for a, _, _ in net_vulns], dtype=np.int64)
        v_post = np.asarray([_PRIV_INDEX[v.gives] for _, v, _ in net_vulns], dtype=np.int64)
        v_p = np.asarray([v.probability for _, v, _ in net_vulns], dtype=np.float64)
        v_rule = np.asarray([ri for _, _, ri in net_vulns], dtype=np.int64)
        v_adj = np.asarray([v.access == "adjacent" for _, v, _ in net_vulns], dtype=bool)
        v_cnt = np.bincount(v_asset, minlength=n_assets)
        v_start = np.cumsum(v_cnt) - v_cnt
        counts = np.where(d_rev, 0, v_cnt[d_v])
        row, slot = _expand(counts)
        vi = v_start[d_v[row]] + slot
        u, v = d_u[row], d_v[row]
        near = np.isin(d_type[row], [type_ix["radio"], type_ix["fronthaul"]])
        keep = ~v_adj[vi] | (zones[u] == zones[v]) | near
        row, vi, u, v = row[keep], vi[keep], u[keep], v[keep]
        c_src.append(u * NP + _PRIV_INDEX["execCode"])
        c_dst.append(v * NP + v_post[vi])
        c_p.append(v_p[vi])
        c_rule.append(v_rule[vi])
        c_iface.append(i_ix[d_pos[row]])
        c_seq.append(d_order[row] + width + slot[keep])

    src = np.concatenate(c_src)
    dst = np.concatenate(c_dst)
    prob = np.concatenate(c_p)
    rule = np.concatenate(c_rule)
    iface = np.concatenate(c_iface)
    seq = np.concatenate(c_seq)
    keep = (prob > 0.0) & (src != dst)
    src, dst, prob, rule, iface, seq = (x[keep] for x in (src, dst, prob, rule, iface, seq))
    w = _weight(prob)

    # ---- one arc per (src, dst, interface): lowest weight, first tried on ties; arcs are
    # ordered by their first appearance
    n_nodes = n_assets * NP
    key = (src * n_nodes + dst) * (m + 1) + (iface + 1)
    order = np.lexsort((seq, w, key))
    k_sorted = key[order]
    first = np.ones(k_sorted.shape[0], dtype=bool)
    first[1:] = k_sorted[1:] != k_sorted[:-1]
    starts = np.flatnonzero(first)
    best = order[starts]
    first_seq = np.minimum.reduceat(seq[order], starts) if starts.shape[0] else seq[:0]
    best = best[np.argsort(first_seq, kind="stable")]
    arc_src, arc_dst = src[best], dst[best]
    in_idx = np.argsort(arc_dst, kind="stable")
    out_idx = np.argsort(arc_src, kind="stable")
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    out_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(arc_dst, minlength=n_nodes), out=in_ptr[1:])
    np.cumsum(np.bincount(arc_src, minlength=n_nodes), out=out_ptr[1:])
    return AttackGraph(
        topology,
        names,
        index,
        rules,
        arc_src,
        arc_dst,
        w[best],
        rule[best],
        iface[best],
        in_ptr,
        in_idx,
        out_ptr,
        out_idx,
    )


def _applicable(
    edge_rules: Sequence[tuple[int, Rule]],
    itype: str,
    op: str,
    sk: str,
    dk: str,
    rev: bool,
    weak_dst: bool,
) -> list[tuple[int, int, float, int]]:
    """The best rule per (pre, post) for one class of interface direction."""
    pick: dict[tuple[int, int], tuple[int, int, float, int]] = {}
    for ri, r in edge_rules:
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
                pick[(pre, post)] = (pre, post, r.probability, ri)
    return list(pick.values())


# --------------------------------------------------------------------------- analysis


def dijkstra(g: AttackGraph, sources: Sequence[int]) -> np.ndarray:
    """Distance (-log likelihood) of every node from the nearest source (inf: unreachable).

    SciPy's compiled Dijkstra on the best arc per node pair."""
    if not len(sources):
        return np.full(g.n_nodes, INF)
    dist = _sp_dijkstra(g.matrix(), directed=True, indices=list(sources), min_only=True)
    return np.asarray(dist, dtype=np.float64)


class _PyArcs:
    """Python-list views of the arcs (fast scalar access in the path searches)."""

    __slots__ = ("in_idx", "in_ptr", "src", "w")

    def __init__(self, g: AttackGraph) -> None:
        self.src: list[int] = g.arc_src.tolist()
        self.w: list[float] = g.arc_w.tolist()
        self.in_ptr: list[int] = g.in_ptr.tolist()
        self.in_idx: list[int] = g.in_idx.tolist()


def _step(g: AttackGraph, k: int) -> Step:
    r = g.rules[int(g.arc_rule[k])]
    a, b = int(g.arc_src[k]), int(g.arc_dst[k])
    iface = int(g.arc_iface[k])
    return Step(
        r.id,
        r.name,
        r.techniques,
        g.names[a // NP],
        g.names[b // NP],
        PRIVILEGES[b % NP],
        math.exp(-float(g.arc_w[k])),
        iface if iface >= 0 else None,
    )


def _path(g: AttackGraph, target: str, arcs: Sequence[int]) -> AttackPath:
    steps = tuple(_step(g, k) for k in arcs)
    w = sum(float(g.arc_w[k]) for k in arcs)
    entry = g.names[int(g.arc_src[arcs[0]]) // NP] if arcs else target
    return AttackPath(target, entry, math.exp(-w), steps)


def k_best_paths(
    g: AttackGraph,
    dist: Sequence[float],
    is_source: Sequence[bool],
    goals: Sequence[int],
    k: int,
    max_pops: int = 50_000,
    arcs: _PyArcs | None = None,
) -> list[list[int]]:
    """The k most likely simple paths (lists of arcs, entry first) into any of ``goals``.

    Backward best-first search from the goals over partial suffixes; the
    priority is suffix cost + exact forward distance of its first node, so
    complete paths come out in order of likelihood. ``dist`` and ``is_source``
    are best passed as Python lists; ``arcs`` (reused across calls) likewise."""
    if arcs is None:
        arcs = _PyArcs(g)
    heap: list[tuple[float, int, int, tuple[int, ...], frozenset[int]]] = []
    tie = 0
    for gnode in goals:
        if dist[gnode] < INF:
            heap.append((dist[gnode], tie, gnode, (), frozenset((gnode,))))
            tie += 1
    heapq.heapify(heap)
    found: list[list[int]] = []
    pops = 0
    in_ptr, in_idx, arc_src, arc_w = arcs.in_ptr, arcs.in_idx, arcs.src, arcs.w
    while heap and len(found) < k and pops < max_pops:
        f, _, node, suffix, seen = heapq.heappop(heap)
        pops += 1
        if is_source[node]:
            if suffix:
                found.append(list(suffix))
            continue
        cost = f - dist[node]
        for j in range(in_ptr[node], in_ptr[node + 1]):
            a = in_idx[j]
            u = arc_src[a]
            du = dist[u]
            if du == INF or u in seen:
                continue
            tie += 1
            heapq.heappush(heap, (cost + arc_w[a] + du, tie, u, (a, *suffix), seen | {u}))
    return found


def _pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (a[i], b[i]) of node ids below ``n``."""
    key = np.unique(a * n + b)
    return key // n, key % n


def _bfs(n: int, tails: np.ndarray, heads: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Nodes reachable from any of ``starts`` over the arcs ``tails -> heads`` (bool mask)."""
    seen = np.zeros(n, dtype=bool)
    if starts.shape[0] == 0:
        return seen
    # a virtual start node n joined to every start
    t = np.concatenate([tails, np.full(starts.shape[0], n, dtype=np.int64)])
    h = np.concatenate([heads, starts.astype(np.int64)])
    mat = csr_matrix((np.ones(t.shape[0], dtype=np.float64), (t, h)), shape=(n + 1, n + 1))
    order = breadth_first_order(mat, n, directed=True, return_predecessors=False)
    full = np.zeros(n + 1, dtype=bool)
    full[order] = True
    return full[:n]


def min_cut(
    g: AttackGraph,
    sources: Sequence[int],
    goal_nodes: Sequence[int],
    use_scipy: bool = True,
    reached: Sequence[bool] | np.ndarray | None = None,
) -> Cut:
    """Fewest interfaces whose removal disconnects every source from every goal node.

    The flow network is built with array operations: every interface with a
    relevant arc is an ``in -> out`` edge (capacity 1; infinite when
    ``essential`` or ``radio``), its arcs hang off it with infinite capacity,
    local arcs are infinite. The max flow runs in SciPy's compiled Dinic, or
    with ``use_scipy=False`` in the pure-Python Dinic of :class:`_FlowNet` (an
    independent cross-check); both return the source-side minimum cut.
    ``reached``: the nodes reachable from the sources, when already known."""
    n = g.n_nodes
    src_a = np.asarray(sources, dtype=np.int64)
    goal_a = np.asarray(goal_nodes, dtype=np.int64)
    if reached is not None:
        fwd = np.asarray(reached, dtype=bool)
    else:
        fwd = _bfs(n, g.arc_src, g.arc_dst, src_a)
    usable = fwd[g.arc_src]
    bwd = _bfs(n, g.arc_dst[usable], g.arc_src[usable], goal_a[fwd[goal_a]])
    if not bwd[goal_a].any():
        return Cut(True, (), "no critical asset is reachable")
    rel = fwd[g.arc_src] & bwd[g.arc_src] & bwd[g.arc_dst]
    a_src, a_dst, a_if = g.arc_src[rel], g.arc_dst[rel], g.arc_iface[rel]
    big = 1 << 30
    # flow-network nodes: 0 = S, 1 = T, privilege nodes, then (in, out) per used interface
    pnodes = np.flatnonzero(bwd)
    pmap = np.full(n, -1, dtype=np.int64)
    pmap[pnodes] = 2 + np.arange(pnodes.shape[0])
    local = a_if < 0
    used_if, if_pos = np.unique(a_if[~local], return_inverse=True)
    base = 2 + pnodes.shape[0]
    xin = base + 2 * np.arange(used_if.shape[0], dtype=np.int64)
    xout = xin + 1
    n_flow = base + 2 * used_if.shape[0]
    essential = np.fromiter(
        (i.essential or i.type == "radio" for i in g.topology.interfaces),
        dtype=bool,
        count=len(g.topology.interfaces),
    )
    iface_row = {i.index: r for r, i in enumerate(g.topology.interfaces)}
    rows = np.fromiter((iface_row[int(i)] for i in used_if), dtype=np.int64, count=used_if.shape[0])
    cap_if = np.where(essential[rows] if rows.shape[0] else np.zeros(0, bool), big, 1)
    # arc tails -> interface in-node, interface out-node -> arc heads (deduplicated)
    e_src = pmap[a_src[~local]]
    e_dst = pmap[a_dst[~local]]
    tail_in = _pairs(e_src, xin[if_pos], n_flow)
    out_head = _pairs(xout[if_pos], e_dst, n_flow)
    s_nodes = src_a[bwd[src_a]]
    t_nodes = goal_a[bwd[goal_a]]
    tails = np.concatenate(
        [
            pmap[a_src[local]],
            tail_in[0],
            out_head[0],
            np.zeros(s_nodes.shape[0], dtype=np.int64),
            pmap[t_nodes],
            xin,
        ]
    )
    heads = np.concatenate(
        [
            pmap[a_dst[local]],
            tail_in[1],
            out_head[1],
            pmap[s_nodes],
            np.ones(t_nodes.shape[0], dtype=np.int64),
            xout,
        ]
    )
    n_inf = tails.shape[0] - xin.shape[0]
    caps = np.concatenate([np.full(n_inf, big, dtype=np.int64), cap_if])
    infinite = caps >= big
    if _bfs(n_flow, tails[infinite], heads[infinite], np.zeros(1, dtype=np.int64))[1]:
        return Cut(False, (), "an entry point reaches a critical asset without any cuttable flow")
    if use_scipy:
        side = _scipy_min_cut_side(n_flow, tails, heads, caps)
    else:
        net = _FlowNet(n_flow)
        for t, h, c in zip(tails.tolist(), heads.tolist(), caps.tolist(), strict=True):
            net.edge(t, h, c)
        net.max_flow(0, 1)
        side = np.asarray(net.reachable(0), dtype=bool)
    crossing = side[xin] & ~side[xout]
    return Cut(True, tuple(sorted(used_if[crossing].tolist())))


class _FlowNet:
    """Dinic's max flow on an adjacency-list residual graph (paired edges e, e ^ 1)."""

    __slots__ = ("adj", "cap", "to")

    def __init__(self, n: int = 0) -> None:
        self.adj: list[list[int]] = [[] for _ in range(n)]
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


def _scipy_min_cut_side(
    n: int, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray
) -> np.ndarray:
    """Source side (node 0) of a minimum 0-1 cut computed by SciPy's Dinic.

    The caller has checked that no path of infinite edges joins 0 and 1, so the
    flow is below the number of finite edges and fits int32 with infinity 2**30."""
    graph = csr_matrix((np.minimum(caps, 1 << 30).astype(np.int32), (tails, heads)), shape=(n, n))
    graph.sum_duplicates()
    graph.data = np.minimum(graph.data, 1 << 30).astype(np.int32)
    flow = maximum_flow(graph, 0, 1, method="dinic").flow
    residual = csr_matrix(graph - flow)
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    order = breadth_first_order(residual, 0, directed=True, return_predecessors=False)
    side = np.zeros(n, dtype=bool)
    side[order] = True
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
    dist_a = dijkstra(g, sources)
    best = dist_a.reshape(-1, NP)[:, list(_EXPOSURE_PRIVS)].min(axis=1)
    likely = np.where(best < INF, np.exp(-best), 0.0).tolist()
    exposure = dict(zip(g.names, likely, strict=True))
    dist: list[float] = dist_a.tolist()
    is_source = [False] * g.n_nodes
    for s in sources:
        is_source[s] = True
    arcs = _PyArcs(g) if k > 0 and topology.critical else None
    paths: dict[str, list[AttackPath]] = {}
    goal_nodes: list[int] = []
    for name in topology.critical:
        i = g.index[name]
        goals = [i * NP + _PRIV_INDEX[p] for p in topology.assets[name].goals]
        goal_nodes.extend(goals)
        if is_source[i * NP + exec_i]:
            paths[name] = [AttackPath(name, name, 1.0, ())]
            continue
        found = k_best_paths(g, dist, is_source, goals, k, arcs=arcs) if k > 0 else []
        paths[name] = [_path(g, name, a) for a in found]
    cut = min_cut(g, sources, goal_nodes, reached=dist_a < INF)
    return Analysis(g, paths, exposure, cut, fight)
