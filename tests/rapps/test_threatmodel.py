"""Threat model: reference topology with hand-computed paths, exposure and cuts.

Hand computation for tests/rapps/data_threat/reference.yaml (built-in rules):

* P1: attacker -[CVE-2099-0001 0.5, iface 0]-> execCode(smo) -[local 1.0]-> control(smo)
  -[XT-A1-01 0.7, iface 2]-> control(xapp-ts) -[XT-XAPP-01 0.9, iface 5]-> control(gnb)
  = 0.5 * 0.7 * 0.9 = 0.315
* P2: attacker -[CVE-2099-0002 cvss 4.0 -> 0.4, iface 1]-> execCode(xapp-kpm)
  -[XT-SDL-02 0.9, iface 3]-> control(kpm-ns) -[XT-SDL-03 0.5, iface 4 reversed]->
  control(xapp-ts) -[XT-XAPP-01 0.9, iface 5]-> control(gnb) = 0.4*0.9*0.5*0.9 = 0.162
* No third path. Exposure: smo 0.5, xapp-kpm 0.4, kpm-ns 0.36, xapp-ts max(0.35, 0.18) = 0.35,
  gnb 0.315, e2term / rapp / ru 0 (nothing gives execCode on xapp-ts, so no RMR step).
* Min cut: iface 5 alone (every path ends with it). With iface 5 essential the
  minimum is 2 and the source-side cut is {0, 1}.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from xtrust.errors import ConfigError
from xtrust.rapps.threatmodel import (
    analyze,
    load_fight,
    load_topology,
    merge_segmentation,
    parse_topology,
    to_dot,
    to_html,
    to_json,
)
from xtrust.rapps.threatmodel.cli import threat

DATA = Path(__file__).resolve().parent / "data_threat"
REFERENCE = DATA / "reference.yaml"
SEGMENTATION = DATA / "segmentation.yaml"
FIGHT = Path(__file__).resolve().parents[3] / "shared" / "data" / "fight" / "fight.yaml"


@pytest.fixture
def ref_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    return doc


def rules_of(path: Any) -> list[str]:
    return [s.rule for s in path.steps]


def test_reference_paths_are_the_hand_computed_ones() -> None:
    result = analyze(load_topology(REFERENCE), k=5)
    paths = result.paths["gnb"]
    assert len(paths) == 2
    assert paths[0].probability == pytest.approx(0.315)
    assert rules_of(paths[0]) == ["CVE-2099-0001", "XT-LOCAL-01", "XT-A1-01", "XT-XAPP-01"]
    assert [s.interface for s in paths[0].steps] == [0, None, 2, 5]
    assert paths[0].steps[2].techniques == ("FGT5032.003",)
    assert paths[1].probability == pytest.approx(0.162)
    assert rules_of(paths[1]) == ["CVE-2099-0002", "XT-SDL-02", "XT-SDL-03", "XT-XAPP-01"]
    assert paths[1].steps[2].src == "kpm-ns" and paths[1].steps[2].dst == "xapp-ts"
    assert all(p.entry == "attacker" for p in paths)
    # path likelihood is the product of its steps
    for p in paths:
        assert p.probability == pytest.approx(math.prod(s.probability for s in p.steps))


def test_k_limits_paths() -> None:
    result = analyze(load_topology(REFERENCE), k=1)
    assert [p.probability for p in result.paths["gnb"]] == [pytest.approx(0.315)]


def test_reference_exposure() -> None:
    exp = analyze(load_topology(REFERENCE)).exposure
    assert exp["attacker"] == 1.0
    assert exp["smo"] == pytest.approx(0.5)
    assert exp["xapp-kpm"] == pytest.approx(0.4)
    assert exp["kpm-ns"] == pytest.approx(0.36)
    assert exp["xapp-ts"] == pytest.approx(0.35)
    assert exp["gnb"] == pytest.approx(0.315)
    assert exp["e2term"] == exp["rapp"] == exp["ru"] == 0.0


def test_reference_min_cut_single_flow() -> None:
    result = analyze(load_topology(REFERENCE))
    assert result.cut.separable
    assert result.cut.interfaces == (5,)
    flows = to_json(result)["min_cut"]["remove_flows"]
    assert flows == [
        {
            "from": "xapp-ts",
            "to": "gnb",
            "type": "e2-control",
            "ran_functions": [3],
            "policy_flow": None,
            "interface": 5,
            "interface_type": "e2-control",
        }
    ]


def test_min_cut_with_essential_flow_and_cut_really_separates(ref_doc: dict[str, Any]) -> None:
    ref_doc["interfaces"][5]["essential"] = True
    result = analyze(parse_topology(ref_doc))
    assert result.cut.interfaces == (0, 1)
    # removing the recommended flows leaves no path to the critical asset
    cut_doc = copy.deepcopy(ref_doc)
    cut_doc["interfaces"] = [f for i, f in enumerate(ref_doc["interfaces"]) if i not in (0, 1)]
    after = analyze(parse_topology(cut_doc))
    assert after.paths["gnb"] == []
    assert after.exposure["gnb"] == 0.0


def test_inseparable_when_only_essential_flows(ref_doc: dict[str, Any]) -> None:
    for f in ref_doc["interfaces"]:
        f["essential"] = True
    result = analyze(parse_topology(ref_doc))
    assert not result.cut.separable
    assert "without any cuttable flow" in result.cut.reason


def test_weak_auth_opens_rmr_path(ref_doc: dict[str, Any]) -> None:
    # xapp-kpm gains an RMR flow to a weakly authenticated RIC platform: E2 manager access
    ref_doc["assets"]["e2term"]["auth"] = "weak"
    ref_doc["interfaces"].append({"from": "xapp-kpm", "to": "e2term", "type": "rmr"})
    result = analyze(parse_topology(ref_doc), k=5)
    best = result.paths["gnb"][0]
    # 0.4 (CVE) * 0.6 (XT-E2-03) * 0.9 (XT-E2-01 over e2) = 0.216 < 0.315: still P1 first
    assert best.probability == pytest.approx(0.315)
    probs = [p.probability for p in result.paths["gnb"]]
    assert pytest.approx(0.216) in probs
    assert result.exposure["e2term"] == pytest.approx(0.24)


def test_segmentation_reachability_replaces_interfaces() -> None:
    from xtrust.xapps.segmentation import load_policy

    topo = merge_segmentation(load_topology(REFERENCE), load_policy(SEGMENTATION))
    result = analyze(topo, k=5)
    # the policy does not allow xapp-ts to read kpm-ns: the SDL path is gone
    assert [round(p.probability, 6) for p in result.paths["gnb"]] == [0.315]
    doc = to_json(result)
    # the unique 1-flow cuts are attacker->smo, smo->xapp-ts, xapp-ts->gnb; source side first
    assert doc["min_cut"]["remove_flows"][0]["from"] == "attacker"


def test_segmentation_cut_uses_policy_vocabulary(ref_doc: dict[str, Any], tmp_path: Path) -> None:
    from xtrust.xapps.segmentation import load_policy

    ref_doc["interfaces"][0]["essential"] = True
    topo = merge_segmentation(parse_topology(ref_doc, "ref"), load_policy(SEGMENTATION))
    flows = to_json(analyze(topo))["min_cut"]["remove_flows"]
    assert len(flows) == 1
    f = flows[0]
    assert (f["from"], f["to"], f["type"], f["policy_types"]) == ("smo", "xapp-ts", "a1", [20008])
    assert f["policy_flow"] == "flows[0]"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (lambda d: d["assets"]["smo"].update(kind="mainframe"), "assets.smo.kind"),
        (lambda d: d["interfaces"][2].update(to="nowhere"), "interfaces[2].to"),
        (lambda d: d["interfaces"][3].update(op="append"), "interfaces[3].op"),
        (lambda d: d["assets"]["gnb"].update(critical=["root"]), "assets.gnb.critical[0]"),
        (
            lambda d: d["assets"]["smo"]["software"][0]["vulns"][0].update(cvss=11),
            "assets.smo.software[0].vulns[0].cvss",
        ),
        (lambda d: d.update(bogus=1), "bogus"),
    ],
)
def test_bad_topology_names_the_field(ref_doc: dict[str, Any], patch: Any, field: str) -> None:
    patch(ref_doc)
    with pytest.raises(ConfigError) as err:
        parse_topology(ref_doc, "t.yaml")
    assert f"t.yaml: {field}:" in str(err.value)


def test_outputs_dot_and_html() -> None:
    result = analyze(load_topology(REFERENCE))
    dot = to_dot(result)
    assert dot.startswith("digraph threatmodel {") and dot.rstrip().endswith("}")
    assert '"xapp-ts" -> "gnb"' in dot and "CUT" in dot
    assert '[label="gnb\\ne2node / ran\\nexposure 0.31"' in dot  # DOT line breaks, not "\\\\n"
    page = to_html(result)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script src" not in page
    assert "0.3150" in page


def test_cli_formats_and_atomic_out(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(threat, ["analyze", str(REFERENCE)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["paths"]["gnb"][0]["probability"] == pytest.approx(0.315)
    out = tmp_path / "tm.html"
    res = runner.invoke(threat, ["analyze", str(REFERENCE), "--format", "html", "--out", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    res = runner.invoke(
        threat,
        ["analyze", str(REFERENCE), "--segmentation", str(SEGMENTATION), "--format", "dot"],
    )
    assert res.exit_code == 0 and res.output.startswith("digraph")


def test_cli_bad_input_is_one_error_and_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nassets: {a: {kind: xapp, zone: nope}}\nzones: {z: {}}\n")
    out = tmp_path / "out.json"
    res = CliRunner().invoke(threat, ["analyze", str(bad), "--out", str(out)])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError)
    assert "assets.a.zone" in str(res.exception)
    assert not out.exists()


@pytest.mark.skipif(not FIGHT.is_file(), reason=f"MITRE FiGHT data not present at {FIGHT}")
def test_fight_rules_load_and_join_the_graph() -> None:
    fight = load_fight(FIGHT)
    assert len(fight.techniques) == 183
    assert fight.rules, "no rule derived from FiGHT"
    assert all(r.techniques[0] in fight.techniques for r in fight.rules)
    # every derived rule's techniques are real FiGHT ids and tactic-consistent
    assert all(r.source == "fight" and 0 < r.probability < 1 for r in fight.rules)
    result = analyze(load_topology(REFERENCE), fight, k=3)
    # FiGHT adds more ways in: the best path is at least as likely as the built-in one
    assert result.paths["gnb"][0].probability >= 0.315 - 1e-12
    doc = to_json(result)
    assert doc["rules"]["fight"] == len(fight.rules)
    assert "FiGHT" in doc["attribution"]
    # built-in rules get FiGHT tactics when the file is loaded
    a1 = next(r for r in result.graph.rules if r.id == "XT-A1-01")
    assert a1.tactics == fight.techniques["FGT5032.003"][1]


def test_fight_document_shape_checked(tmp_path: Path) -> None:
    bad = tmp_path / "fight.yaml"
    bad.write_text("tactics: []\n")
    with pytest.raises(ConfigError, match="not a FiGHT document"):
        load_fight(bad)


def test_fight_inline_technique_classification() -> None:
    from xtrust.rapps.threatmodel import rules_from_fight

    doc = {
        "techniques": [
            {
                "id": "FGT9999",
                "name": "Test rogue xApp",
                "tactics": ["TA0040"],
                "status": "Observed",
                "architecture-segment": "O-RAN",
                "criticalassets": [],
                "preconditions": [{"name": "Adversary has access to xApp", "description": ""}],
                "postconditions": [{"name": "RAN outage", "description": "service outage"}],
            },
            {
                "id": "FGT9998",
                "name": "Unclassified",
                "tactics": ["TA0040"],
                "preconditions": [{"name": "Sunny weather", "description": ""}],
                "postconditions": [{"name": "outage", "description": ""}],
            },
        ]
    }
    data = rules_from_fight(doc)
    assert [(r.id, r.pre, r.post, r.probability) for r in data.rules] == [
        ("FGT9999", "execCode", "dos", 0.6)
    ]
    assert "xapp" in (data.rules[0].dst_kinds or ())
    assert data.skipped == {"FGT9998": "preconditions not classified"}


KINDS = ["external", "smo", "rapp", "xapp", "sdl-namespace", "ric-platform", "e2node", "ru"]
#: more kinds, so that FiGHT rules (UE, DU, host targets) find instances
WIDE_KINDS = [*KINDS, "du", "ue", "host"]


def random_topology(
    seed: int, n: int = 40, m: int = 120, kinds: list[str] = KINDS
) -> dict[str, Any]:
    rng = random.Random(seed)
    assets: dict[str, Any] = {}
    for i in range(n):
        kind = "external" if i < 2 else "e2node" if i < 6 else rng.choice(kinds[1:])
        doc: dict[str, Any] = {"kind": kind, "zone": "net" if i < 2 else "ran" if i < 6 else "in"}
        if rng.random() < 0.4:
            vuln: dict[str, Any] = {"id": f"CVE-{i}", "cvss": rng.uniform(2, 10)}
            if kinds is not KINDS:  # wider topologies also get adjacent / local vulns
                vuln["access"] = rng.choice(["network", "network", "adjacent", "local"])
            doc["software"] = [{"name": "s", "vulns": [vuln]}]
        if rng.random() < 0.2:
            doc["auth"] = "weak"
        assets[f"a{i}"] = doc
    types = ["network", "rmr", "a1", "sdl", "e2-control", "e2", "o1", "fronthaul"]
    if "ue" in kinds:
        types.append("radio")
    ifaces = []
    for _ in range(m):
        a, b = rng.sample(sorted(assets), 2)
        t = rng.choice(types)
        doc = {"from": a, "to": b, "type": t}
        if t == "sdl":
            doc["op"] = rng.choice(["read", "write"])
        ifaces.append(doc)
    zones = {
        "net": {"trust": "untrusted"},
        "ran": {"trust": "critical"},
        "in": {"trust": "trusted"},
    }
    return {"version": 1, "zones": zones, "assets": assets, "interfaces": ifaces}


def brute_force_paths(g: Any, sources: set[int], goals: set[int]) -> list[float]:
    """Likelihood of every simple path from a source to a goal (exhaustive DFS)."""
    out: list[float] = []

    arc_src, arc_w = g.arc_src.tolist(), g.arc_w.tolist()

    def dfs(node: int, seen: set[int], w: float) -> None:
        for a in g.arcs_into(node):
            u = arc_src[a]
            if u in seen:
                continue
            if u in sources:
                out.append(math.exp(-(w + arc_w[a])))
                continue
            dfs(u, seen | {u}, w + arc_w[a])

    for t in goals:
        dfs(t, {t}, 0.0)
    return sorted(out, reverse=True)


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_k_best_paths_equal_brute_force(seed: int) -> None:
    from xtrust.rapps.threatmodel.graph import NP

    topo = parse_topology(random_topology(seed, n=16, m=40))
    result = analyze(topo, k=4)
    g = result.graph
    sources = {g.index[e] * NP for e in topo.entries}
    checked = 0
    for c in topo.critical:
        goals = {g.index[c] * NP + p for p in range(3)}
        if any(gl in sources for gl in goals):
            continue
        expected = brute_force_paths(g, sources, goals)[:4]
        assert [p.probability for p in result.paths[c]] == pytest.approx(expected)
        checked += len(expected)
    assert checked > 0


@pytest.mark.parametrize("seed", [1, 2, 6])
def test_min_cut_python_and_scipy_agree_and_separate(seed: int) -> None:
    from xtrust.rapps.threatmodel import graph as tm_graph

    doc = random_topology(seed, m=200)
    topo = parse_topology(doc)
    g = tm_graph.build_graph(topo)
    sources = [g.index[e] * tm_graph.NP for e in topo.entries]
    goals = [g.index[c] * tm_graph.NP + p for c in topo.critical for p in range(3)]
    py = tm_graph.min_cut(g, sources, goals, use_scipy=False)
    sp = tm_graph.min_cut(g, sources, goals, use_scipy=True)
    assert py.separable and sp.separable
    assert len(py.interfaces) == len(sp.interfaces) > 0
    # removing the cut really disconnects every critical asset
    for cut in (py, sp):
        doc2 = copy.deepcopy(doc)
        doc2["interfaces"] = [f for i, f in enumerate(doc["interfaces"]) if i not in cut.interfaces]
        after = analyze(parse_topology(doc2), k=1)
        assert all(not after.paths[c] for c in topo.critical)
    # and no smaller set does: dropping any one cut flow reopens a path
    drop = py.interfaces[0]
    doc3 = copy.deepcopy(doc)
    doc3["interfaces"] = [
        f for i, f in enumerate(doc["interfaces"]) if i in (drop,) or i not in py.interfaces
    ]
    assert any(analyze(parse_topology(doc3), k=1).paths[c] for c in topo.critical)


# --------------------------------------------------------------------------- FiGHT rules at scale

#: FiGHT-shaped techniques that classify as generic rules (any interface, most kinds) plus a
#: radio and a fronthaul one: the shape that made the FiGHT graph dense. Used when the shared
#: FiGHT copy is absent, and in addition to it when present.
GENERIC_FIGHT = {
    "techniques": [
        {
            "id": "FGT9001",
            "name": "Generic remote exploitation",
            "tactics": ["TA0008"],
            "status": "Theoretical",
            "architecture-segment": "RAN, O-RAN",
            "preconditions": [{"name": "Compromised host", "description": "malware"}],
            "postconditions": [{"name": "breach", "description": "foothold"}],
        },
        {
            "id": "FGT9002",
            "name": "Generic configuration abuse",
            "tactics": ["TA0040"],
            "status": "Observed",
            "architecture-segment": "O-RAN, OA&M",
            "preconditions": [{"name": "Insider access", "description": ""}],
            "postconditions": [{"name": "manipulated configuration", "description": ""}],
        },
        {
            "id": "FGT9003",
            "name": "Generic collection",
            "tactics": ["TA0009"],
            "status": "Proof of Concept",
            "architecture-segment": "RAN, Virtualization",
            "preconditions": [{"name": "Privileged access", "description": ""}],
            "postconditions": [{"name": "data exposed", "description": ""}],
        },
        {
            "id": "FGT9004",
            "name": "Jamming",
            "tactics": ["TA0040"],
            "status": "Observed",
            "architecture-segment": "RAN, UE",
            "preconditions": [{"name": "In the vicinity", "description": "radio"}],
            "postconditions": [{"name": "denial of service", "description": ""}],
        },
        {
            "id": "FGT9005",
            "name": "Fronthaul sniffing",
            "tactics": ["TA0009"],
            "status": "Observed",
            "architecture-segment": "Fronthaul",
            "preconditions": [{"name": "Physical access", "description": "fronthaul"}],
            "postconditions": [{"name": "eavesdrop", "description": "identifiers"}],
        },
    ]
}


def fight_sets() -> list[Any]:
    from xtrust.rapps.threatmodel import rules_from_fight

    sets: list[Any] = [rules_from_fight(GENERIC_FIGHT, "generic")]
    if FIGHT.is_file():
        sets.append(load_fight(FIGHT))
    return sets


def naive_arcs(topo: Any, fight: Any) -> dict[tuple[int, int, int], tuple[float, str]]:
    """Reference construction: every (rule, interface direction) instance, one by one.

    (src node, dst node, interface or -1) -> (-log p, rule id) of the most likely rule,
    the first in rule order on ties (built-ins, FiGHT, then vulnerabilities)."""
    from xtrust.rapps.threatmodel.graph import NP
    from xtrust.rapps.threatmodel.rules import BUILTIN_RULES, name_builtins
    from xtrust.rapps.threatmodel.topology import BIDIRECTIONAL, PRIVILEGES

    px = {p: i for i, p in enumerate(PRIVILEGES)}
    rules = name_builtins(BUILTIN_RULES, fight) + (list(fight.rules) if fight else [])
    names = list(topo.assets)
    ix = {n: i for i, n in enumerate(names)}
    best: dict[tuple[int, int, int], tuple[float, str]] = {}

    def add(a: int, b: int, iface: int, p: float, rid: str) -> None:
        if p <= 0.0 or a == b:
            return
        w = -math.log(p) if p < 1.0 else 0.0
        old = best.get((a, b, iface))
        if old is None or w < old[0]:
            best[(a, b, iface)] = (w, rid)

    for n in names:
        for v in topo.assets[n].vulns:
            if v.access == "local":
                add(ix[n] * NP + px["control"], ix[n] * NP + px[v.gives], -1, v.probability, v.id)
    for r in rules:
        if r.local:
            for n in names:
                if r.dst_kinds is None or topo.assets[n].kind in r.dst_kinds:
                    add(ix[n] * NP + px[r.pre], ix[n] * NP + px[r.post], -1, r.probability, r.id)
    for f in topo.interfaces:
        dirs = [(f.src, f.dst, False)]
        if f.type in BIDIRECTIONAL:
            dirs.append((f.dst, f.src, False))
        dirs.append((f.dst, f.src, True))
        for u, v, rev in dirs:
            au, av = topo.assets[u], topo.assets[v]
            for r in rules:
                if (
                    not r.local
                    and r.reverse == rev
                    and (r.types is None or f.type in r.types)
                    and (r.op is None or r.op == f.op)
                    and (r.src_kinds is None or au.kind in r.src_kinds)
                    and (r.dst_kinds is None or av.kind in r.dst_kinds)
                    and (av.weak_auth or not r.needs_weak_auth)
                ):
                    add(
                        ix[u] * NP + px[r.pre],
                        ix[v] * NP + px[r.post],
                        f.index,
                        r.probability,
                        r.id,
                    )
            if rev:
                continue
            for vul in av.vulns:
                if vul.access == "local":
                    continue
                if (
                    vul.access == "adjacent"
                    and au.zone != av.zone
                    and f.type not in ("radio", "fronthaul")
                ):
                    continue
                add(
                    ix[u] * NP + px["execCode"],
                    ix[v] * NP + px[vul.gives],
                    f.index,
                    vul.probability,
                    vul.id,
                )
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("with_fight", [False, True])
def test_vectorised_graph_equals_rule_by_rule_instantiation(seed: int, with_fight: bool) -> None:
    from xtrust.rapps.threatmodel.graph import build_graph

    doc = random_topology(seed, n=60, m=300, kinds=WIDE_KINDS)
    doc["zones"]["in2"] = {"trust": "trusted"}
    for i, a in enumerate(doc["assets"].values()):  # two inner zones: adjacent vulns matter
        if a["zone"] == "in" and i % 2:
            a["zone"] = "in2"
        if "software" in a and i % 3 == 0:  # ties: a CVE as likely as XT-AUTH-01 (0.6)
            a["auth"] = "weak"
            a["software"][0]["vulns"][0]["likelihood"] = 0.6
    topo = parse_topology(doc)
    for fight in fight_sets() if with_fight else [None]:
        g = build_graph(topo, fight)
        got = {
            (s, d, i): (w, g.rules[r].id)
            for s, d, i, w, r in zip(
                g.arc_src.tolist(),
                g.arc_dst.tolist(),
                g.arc_iface.tolist(),
                g.arc_w.tolist(),
                g.arc_rule.tolist(),
                strict=True,
            )
        }
        want = naive_arcs(topo, fight)
        assert len(got) == g.n_arcs  # one arc per (src, dst, interface)
        assert got.keys() == want.keys()
        for key, (w, rid) in want.items():
            assert got[key][0] == pytest.approx(w, abs=1e-12)
            assert got[key][1] == rid, key
        # CSR indexes list every arc once, into / out of the right node
        for node in range(0, g.n_nodes, 7):
            assert all(g.arc_dst[a] == node for a in g.arcs_into(node))
            assert all(g.arc_src[a] == node for a in g.arcs_from(node))
        every = [a for n in range(g.n_nodes) for a in g.arcs_into(n)]
        assert sorted(every) == list(range(g.n_arcs))


def python_dijkstra(g: Any, sources: list[int]) -> list[float]:
    dist = [math.inf] * g.n_nodes
    heap = [(0.0, s) for s in sources]
    for s in sources:
        dist[s] = 0.0
    src, dst, w = g.arc_src.tolist(), g.arc_dst.tolist(), g.arc_w.tolist()
    out: dict[int, list[int]] = {}
    for a, u in enumerate(src):
        out.setdefault(u, []).append(a)
    import heapq

    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for a in out.get(u, ()):
            if d + w[a] < dist[dst[a]]:
                dist[dst[a]] = d + w[a]
                heapq.heappush(heap, (d + w[a], dst[a]))
    return dist


@pytest.mark.parametrize("seed", [7, 8, 9, 11, 19])
def test_fight_case_small_generated_topology_against_references(seed: int) -> None:
    """The FiGHT case (generic rules on most interfaces) on a small generated topology:
    distances vs a plain Dijkstra, k best paths vs exhaustive search, min cut SciPy vs the
    Python Dinic, the cut really separates and is minimal."""
    from xtrust.rapps.threatmodel import graph as tm_graph

    NP = tm_graph.NP
    doc = random_topology(seed, n=14, m=30, kinds=WIDE_KINDS)
    topo = parse_topology(doc)
    for fight in fight_sets():
        result = analyze(topo, fight, k=4)
        g = result.graph
        assert any(g.rules[r].source == "fight" for r in set(g.arc_rule.tolist()))
        sources = [g.index[e] * NP for e in topo.entries]
        dist = tm_graph.dijkstra(g, sources).tolist()
        assert dist == pytest.approx(python_dijkstra(g, sources), abs=1e-12)
        for name in topo.assets:
            i = g.index[name] * NP
            best = min(dist[i : i + 3])
            assert result.exposure[name] == pytest.approx(math.exp(-best) if best < math.inf else 0)
        checked = 0
        for c in topo.critical:
            goals = {g.index[c] * NP + p for p in range(3)}
            if goals & set(sources):
                continue
            expected = brute_force_paths(g, set(sources), goals)[:4]
            assert [p.probability for p in result.paths[c]] == pytest.approx(expected)
            checked += len(expected)
        assert checked > 0
        goals_all = [g.index[c] * NP + p for c in topo.critical for p in range(3)]
        py = tm_graph.min_cut(g, sources, goals_all, use_scipy=False)
        assert py == tm_graph.min_cut(g, sources, goals_all) == result.cut
        if not py.separable:  # seed 9: a radio link (never cut) reaches a critical asset
            assert "without any cuttable flow" in py.reason
            continue
        assert len(py.interfaces) == len(result.cut.interfaces) > 0
        kept = [f for i, f in enumerate(doc["interfaces"]) if i not in result.cut.interfaces]
        after = analyze(parse_topology({**doc, "interfaces": kept}), fight, k=1)
        assert all(not after.paths[c] for c in topo.critical)
        drop = result.cut.interfaces[0]
        reopened = [
            f
            for i, f in enumerate(doc["interfaces"])
            if i == drop or i not in result.cut.interfaces
        ]
        again = analyze(parse_topology({**doc, "interfaces": reopened}), fight, k=1)
        assert any(again.paths[c] for c in topo.critical)


# --------------------------------------------------------------------------- FiGHT derivation


def _technique(tid: str, tactics: list[str], pre: str, post: str, seg: str) -> dict[str, Any]:
    return {
        "id": tid,
        "name": tid,
        "tactics": tactics,
        "status": "Theoretical",
        "architecture-segment": seg,
        "preconditions": [{"name": pre, "description": ""}],
        "postconditions": [{"name": post, "description": ""}],
    }


def test_fgt1210_starts_from_the_malicious_rapp_its_precondition_names() -> None:
    """FGT1210 (Exploitation of Remote Services) requires an "Onboarded malicious rApp": the
    attacker acts *from an rApp*. The keyword tables used to read it as "any compromised
    asset over any interface", which put an arc on almost every interface of the graph."""
    from xtrust.rapps.threatmodel import rules_from_fight

    doc = {
        "techniques": [
            _technique(
                "FGT1210",
                ["TA0008", "TA0007", "TA0040"],
                "Onboarded malicious rApp: an rApp that is malicious or later compromised",
                "rApp breach: rApp exploits and exfiltrates information",
                "RAN, O-RAN",
            )
        ]
    }
    (rule,) = rules_from_fight(doc).rules
    assert rule.src_kinds == frozenset({"rapp"})
    assert rule.types is None and "e2node" in (rule.dst_kinds or ())
    topo = parse_topology(
        {
            "version": 1,
            "zones": {"net": {"trust": "untrusted"}, "ran": {"trust": "critical"}},
            "assets": {
                "attacker": {"kind": "external", "zone": "net"},
                "rapp": {"kind": "rapp"},
                "xapp": {"kind": "xapp"},
                "gnb": {"kind": "e2node", "zone": "ran"},
                "gnb2": {"kind": "e2node", "zone": "ran"},
            },
            "interfaces": [
                {"from": "rapp", "to": "gnb", "type": "network"},
                {"from": "xapp", "to": "gnb2", "type": "network"},
            ],
        }
    )
    from xtrust.rapps.threatmodel import build_graph

    g = build_graph(topo, rules_from_fight(doc))
    fgt = [
        (g.names[s // 4], g.names[d // 4])
        for s, d, r in zip(g.arc_src.tolist(), g.arc_dst.tolist(), g.arc_rule.tolist(), strict=True)
        if g.rules[r].id == "FGT1210"
    ]
    assert ("rapp", "gnb") in fgt
    assert all(src == "rapp" for src, _ in fgt)  # not from the xApp, not from the gNB


@pytest.mark.skipif(not FIGHT.is_file(), reason=f"MITRE FiGHT data not present at {FIGHT}")
def test_fight_file_generic_rules_are_narrowed() -> None:
    fight = load_fight(FIGHT)
    by_id = {r.id: r for r in fight.rules}
    assert by_id["FGT1210"].src_kinds == frozenset({"rapp"})
    assert by_id["FGT5032.003"].src_kinds == frozenset({"rapp"})  # "Adversary access to rApp"
    assert by_id["FGT5009"].src_kinds == frozenset({"e2node", "du", "cu"})  # "such as gNB"
    assert "FGT5046" not in by_id and "persistence" in fight.skipped["FGT5046"]


def test_persistence_only_technique_gives_no_lateral_rule() -> None:
    """FGT5046 (Program Wrapper) is persistence / defense evasion: "administrative control"
    over a system yields a "foothold" on *that* system. Read as execCode -> execCode over any
    interface it was a 0.6 lateral move onto every neighbour; it gains nothing new."""
    from xtrust.rapps.threatmodel import rules_from_fight

    doc = {
        "techniques": [
            _technique(
                "FGT5046",
                ["TA0003", "TA0005"],
                "Privileged Access: administrative control to overwrite system binaries",
                "Persistence in the network: long-term foothold",
                "RAN, MEC, OA&M",
            ),
            _technique(  # same words, but a lateral-movement tactic: still a rule
                "FGT9046",
                ["TA0008"],
                "Privileged Access: administrative control",
                "foothold on the next system",
                "RAN",
            ),
        ]
    }
    data = rules_from_fight(doc)
    assert [r.id for r in data.rules] == ["FGT9046"]
    assert "persistence / defense evasion only" in data.skipped["FGT5046"]


def test_control_plane_is_not_the_control_privilege() -> None:
    """FGT1600.501 (Radio Interface) postcondition: "Control Plane: all UE signaling data may
    be revealed". The word "control" of the 3GPP control plane made it a control rule from the
    gNB onto every O-RAN asset; what it yields is data exposure, which its defense-evasion
    tactic does not produce. FGT1040 ("user and control plane data exposed", collection)
    is data access. FGT5009.001 ("data may be tampered with") stays control, for tampering."""
    from xtrust.rapps.threatmodel import rules_from_fight

    doc = {
        "techniques": [
            _technique(
                "FGT1600.501",
                ["TA0005"],
                "Rogue or misconfigured AMF or SMF or gNB",
                "UE data unprotected: Control Plane: all UE signaling data may be revealed",
                "RAN, O-RAN",
            ),
            _technique(
                "FGT1040",
                ["TA0007", "TA0009"],
                "Adversary has access to a network element",
                "User and control plane data exposed",
                "RAN",
            ),
            _technique(
                "FGT5009.001",
                ["TA0005"],
                "Rogue gNB",
                "Control plane (CP): all UE signaling data may be tampered with",
                "RAN",
            ),
        ]
    }
    data = rules_from_fight(doc)
    assert [(r.id, r.post) for r in data.rules] == [
        ("FGT1040", "dataAccess"),
        ("FGT5009.001", "control"),
    ]
    assert "not allowed by its tactics" in data.skipped["FGT1600.501"]
