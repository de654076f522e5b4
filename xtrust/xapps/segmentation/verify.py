"""Prove that no untrusted or quarantined asset can reach a critical asset.

Reachability is computed over every flow in force (after quarantine),
transitively: an asset that receives from ``a`` and sends to ``c`` relays
``a``'s influence to ``c``. Edges follow influence:

* rmr, e2-control, a1: sender -> receiver;
* network: both ways (a connection carries data in both directions);
* sdl write: app -> namespace; sdl read: namespace -> app, so a writer reaches
  every reader of a shared namespace;
* ``intra: allow`` zones: every member reaches every other (through one hub
  node per zone, so the graph stays linear in size).

:func:`verify` returns one :class:`Violation` per (untrusted source, critical
target) pair, with a shortest path and the flow that allows each hop. A first
BFS from all sources at once makes the clean case a single traversal.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .compile import effective_flows
from .policy import Policy

__all__ = ["SOURCE_TRUST", "Violation", "build_graph", "verify"]

#: trust levels whose assets must not reach a critical asset
SOURCE_TRUST = ("untrusted", "quarantine")


@dataclass(frozen=True, slots=True)
class Violation:
    source: str
    target: str
    path: tuple[str, ...]  # assets, source first, target last
    hops: tuple[str, ...]  # how each hop is allowed ("flows[3] rmr:RIC_CONTROL_REQ")

    def __str__(self) -> str:
        parts = [self.path[0]]
        for hop, node in zip(self.hops, self.path[1:], strict=True):
            parts.append(f"-[{hop}]-> {node}")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "path": list(self.path),
            "hops": list(self.hops),
        }


class Graph:
    """Adjacency lists over integer node ids; hub nodes stand for intra-allow zones."""

    __slots__ = ("adj", "labels", "n_assets", "names")

    def __init__(self, names: list[str], n_assets: int):
        self.names = names
        self.n_assets = n_assets
        self.adj: list[list[int]] = [[] for _ in names]
        self.labels: list[list[str]] = [[] for _ in names]

    def add(self, a: int, b: int, label: str) -> None:
        self.adj[a].append(b)
        self.labels[a].append(label)


def build_graph(policy: Policy) -> Graph:
    """The influence graph of the flows in force."""
    asset_names = list(policy.assets)
    hubs = [z.name for z in policy.zones.values() if z.intra == "allow" and z.trust != "quarantine"]
    g = Graph(asset_names + [f"zone:{h}" for h in hubs], len(asset_names))
    idx = {name: i for i, name in enumerate(asset_names)}
    for f in effective_flows(policy):
        a, b = idx[f.src], idx[f.dst]
        label = f"flows[{f.index}] {f.label()}"
        if f.type == "sdl" and f.op == "read":
            g.add(b, a, label)
        else:
            g.add(a, b, label)
            if f.type == "network":
                g.add(b, a, label + " (reply)")
    for h_i, zone in enumerate(hubs):
        hub = len(asset_names) + h_i
        for name, asset in policy.assets.items():
            if asset.zone == zone:
                g.add(idx[name], hub, f"intra-zone {zone}")
                g.add(hub, idx[name], f"intra-zone {zone}")
    return g


def _bfs(g: Graph, starts: list[int]) -> tuple[list[int], list[int]]:
    """Parent node and parent edge index of every node reached (-1: start, -2: unreached)."""
    parent = [-2] * len(g.names)
    via = [-1] * len(g.names)
    queue = deque(starts)
    for s in starts:
        parent[s] = -1
    adj = g.adj
    while queue:
        u = queue.popleft()
        for k, v in enumerate(adj[u]):
            if parent[v] == -2:
                parent[v] = u
                via[v] = k
                queue.append(v)
    return parent, via


def verify(policy: Policy) -> list[Violation]:
    """Every (untrusted or quarantined source, critical target) pair that is connected."""
    g = build_graph(policy)
    names = g.names
    sources = [i for i in range(g.n_assets) if policy.trust_of(names[i]) in SOURCE_TRUST]
    targets = {i for i in range(g.n_assets) if policy.trust_of(names[i]) == "critical"}
    if not sources or not targets:
        return []
    parent, _ = _bfs(g, sources)
    if not any(parent[t] != -2 for t in targets):
        return []
    out: list[Violation] = []
    for s in sources:
        parent, via = _bfs(g, [s])
        for t in sorted(targets, key=lambda i: names[i]):
            if parent[t] == -2 or t == s:
                continue
            nodes = [t]
            hops: list[str] = []
            while parent[nodes[-1]] != -1:
                v = nodes[-1]
                u = parent[v]
                hops.append(g.labels[u][via[v]])
                nodes.append(u)
            nodes.reverse()
            hops.reverse()
            # drop the zone hubs from the reported path, merging their two hops
            path = [names[nodes[0]]]
            labels: list[str] = []
            for k in range(1, len(nodes)):
                if nodes[k] >= g.n_assets:
                    continue
                labels.append(hops[k - 1])
                path.append(names[nodes[k]])
            out.append(Violation(names[s], names[t], tuple(path), tuple(labels)))
    out.sort(key=lambda v: (v.source, v.target))
    return out
