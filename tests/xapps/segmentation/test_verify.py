from __future__ import annotations

from typing import Any

from xtrust.xapps.segmentation import load_policy, parse_policy, verify
from xtrust.xapps.segmentation.verify import build_graph

from .conftest import EXAMPLE


def test_clean_policies_pass(doc: dict[str, Any]) -> None:
    assert verify(parse_policy(doc)) == []
    assert verify(load_policy(EXAMPLE)) == []


def test_path_through_shared_sdl_namespace(doc: dict[str, Any]) -> None:
    doc["flows"][6]["op"] = "write"  # guest now writes what ts reads before controlling the RAN
    violations = verify(parse_policy(doc))
    assert len(violations) == 1
    v = violations[0]
    assert (v.source, v.target) == ("guest", "gnb")
    assert v.path == ("guest", "kpm", "ts", "gnb")
    assert v.hops == ("flows[6] sdl:write", "flows[1] sdl:read", "flows[4] e2-control:3")
    assert str(v) == (
        "guest -[flows[6] sdl:write]-> kpm -[flows[1] sdl:read]-> ts -[flows[4] e2-control:3]-> gnb"
    )


def test_reader_of_untrusted_data_without_route_is_clean(doc: dict[str, Any]) -> None:
    doc["flows"][6]["op"] = "write"
    doc["flows"][1]["op"] = "write"  # ts writes kpm instead of reading it: no influence on ts
    assert verify(parse_policy(doc)) == []


def test_relay_through_platform_component(doc: dict[str, Any]) -> None:
    doc["flows"].append({"from": "guest", "to": "e2term", "type": "rmr", "mtypes": [12010]})
    doc["flows"].append(
        {"from": "e2term", "to": "gnb", "type": "network", "ports": [{"port": 36421}]}
    )
    (v,) = verify(parse_policy(doc))
    assert v.path == ("guest", "e2term", "gnb")
    assert v.hops == ("flows[10] rmr:RIC_SUB_REQ", "flows[11] network:36421/TCP")


def test_network_flow_counts_both_ways(doc: dict[str, Any]) -> None:
    # ts opens a connection to guest: the reply lets guest influence ts, which controls gnb
    doc["flows"].append({"from": "ts", "to": "guest", "type": "network", "ports": [8080]})
    (v,) = verify(parse_policy(doc))
    assert v.path == ("guest", "ts", "gnb")
    assert v.hops[0] == "flows[10] network:8080/TCP (reply)"


def test_intra_zone_allow_is_reachability(doc: dict[str, Any]) -> None:
    doc["zones"]["apps"]["intra"] = "allow"
    doc["flows"][0]["op"] = "read"  # kpimon no longer writes kpm: only the zone links it to ts
    doc["flows"].append({"from": "guest", "to": "kpimon", "type": "rmr", "mtypes": [30000]})
    doc["flows"].append({"from": "ts", "to": "gnb", "type": "network", "ports": [36421]})
    del doc["flows"][4]
    (v,) = verify(parse_policy(doc))
    # kpimon reaches ts through the zone (hub node not shown), ts reaches gnb
    assert v.path == ("guest", "kpimon", "ts", "gnb")
    assert v.hops[1] == "intra-zone apps"


def test_quarantined_asset_is_a_source_but_its_flows_are_suspended(doc: dict[str, Any]) -> None:
    doc["assets"]["ts"]["zone"] = "quarantine"
    assert verify(parse_policy(doc)) == []  # ts's flows are suspended
    doc["flows"].append({"from": "kpimon", "to": "gnb", "type": "e2-control", "ran_functions": [2]})
    doc["assets"]["kpimon"]["zone"] = "guest"
    (v,) = verify(parse_policy(doc))
    assert v.path == ("kpimon", "gnb")


def _has_path(adj: list[list[int]], a: int, b: int) -> bool:
    """Reference: plain depth-first search, one pair at a time."""
    seen, stack = {a}, [a]
    while stack:
        u = stack.pop()
        if u == b:
            return True
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return False


def test_every_pair_is_reported_and_agrees_with_reference(doc: dict[str, Any]) -> None:
    doc["assets"]["gnb2"] = {"kind": "e2node", "zone": "ran"}
    doc["assets"]["guest2"] = {"kind": "xapp", "zone": "guest"}
    doc["flows"][6]["op"] = "write"
    doc["flows"].append({"from": "ts", "to": "gnb2", "type": "e2-control", "ran_functions": [1]})
    doc["flows"].append({"from": "guest2", "to": "kpm", "type": "sdl", "op": "write"})
    policy = parse_policy(doc)
    found = {(v.source, v.target): v for v in verify(policy)}
    g = build_graph(policy)
    idx = {n: i for i, n in enumerate(g.names)}
    expected = {
        (s, t)
        for s in ("guest", "guest2")
        for t in ("gnb", "gnb2")
        if _has_path(g.adj, idx[s], idx[t])
    }
    assert set(found) == expected == {(s, t) for s in ("guest", "guest2") for t in ("gnb", "gnb2")}
    for v in found.values():  # each reported hop is a real edge
        for a, b in zip(v.path, v.path[1:], strict=False):
            assert idx[b] in g.adj[idx[a]]
