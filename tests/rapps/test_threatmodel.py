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


def random_topology(seed: int, n: int = 40, m: int = 120) -> dict[str, Any]:
    rng = random.Random(seed)
    kinds = ["external", "smo", "rapp", "xapp", "sdl-namespace", "ric-platform", "e2node", "ru"]
    assets: dict[str, Any] = {}
    for i in range(n):
        kind = "external" if i < 2 else "e2node" if i < 6 else rng.choice(kinds[1:])
        doc: dict[str, Any] = {"kind": kind, "zone": "net" if i < 2 else "ran" if i < 6 else "in"}
        if rng.random() < 0.4:
            doc["software"] = [
                {"name": "s", "vulns": [{"id": f"CVE-{i}", "cvss": rng.uniform(2, 10)}]}
            ]
        if rng.random() < 0.2:
            doc["auth"] = "weak"
        assets[f"a{i}"] = doc
    types = ["network", "rmr", "a1", "sdl", "e2-control", "e2", "o1", "fronthaul"]
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

    def dfs(node: int, seen: set[int], w: float) -> None:
        for a in g.in_arcs[node]:
            u = g.arc_src[a]
            if u in seen:
                continue
            if u in sources:
                out.append(math.exp(-(w + g.arc_w[a])))
                continue
            dfs(u, seen | {u}, w + g.arc_w[a])

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
def test_min_cut_python_and_scipy_agree_and_separate(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xtrust.rapps.threatmodel import graph as tm_graph

    doc = random_topology(seed, m=200)
    topo = parse_topology(doc)
    g = tm_graph.build_graph(topo)
    sources = [g.index[e] * tm_graph.NP for e in topo.entries]
    goals = [g.index[c] * tm_graph.NP + p for c in topo.critical for p in range(3)]
    py = tm_graph.min_cut(g, sources, goals, use_scipy=False)
    monkeypatch.setattr(tm_graph, "SCIPY_MIN_EDGES", 0)
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
