from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from xtrust.errors import InputError
from xtrust.ric.rmr import parse_route_table
from xtrust.xapps.segmentation import (
    compile_policy,
    load_policy,
    parse_policy,
    validate_network_policy,
)

from .conftest import EXAMPLE


def test_route_table_parses_back_with_sender_qualified_targets() -> None:
    compiled = compile_policy(load_policy(EXAMPLE), table_id="t-1")
    text = compiled.route_table()
    assert text.startswith("newrt|start|t-1\n") and text.endswith("newrt|end|15\n")
    ts = "service-ricxapp-ts-rmr:4560"
    kpimon = "service-ricxapp-kpimon-rmr:4560"
    e2term = "service-ricplt-e2term-rmr:38000"
    a1med = "service-ricplt-a1mediator-rmr:4562"
    submgr = "service-ricplt-submgr-rmr:4560"
    as_ts = parse_route_table(text, me=[ts])
    assert as_ts.targets(12040) == [e2term]
    assert as_ts.targets(20011) == [a1med]
    assert as_ts.targets(12010) == []  # ts does not subscribe
    as_kpimon = parse_route_table(text, me=[kpimon])
    assert as_kpimon.targets(12010) == [submgr]
    assert as_kpimon.targets(12040) == []  # kpimon may not send controls
    as_e2term = parse_route_table(text, me=[e2term])
    assert as_e2term.targets(12050) == [kpimon]
    assert as_e2term.targets(12041) == [ts]
    assert as_e2term.targets(12011) == [submgr]
    # an app that is in no flow gets no route at all
    dash = parse_route_table(text, me=["service-ricxapp-dash-rmr:4560"])
    assert all(dash.targets(m) == [] for m in (12010, 12040, 12050, 20010, 20011))


def test_fan_out_to_several_receivers(doc: dict[str, Any]) -> None:
    doc["flows"].append({"from": "e2term", "to": "ts", "type": "rmr", "mtypes": [12050]})
    text = compile_policy(parse_policy(doc)).route_table()
    assert "mse|12050,e2term:38000|-1|kpimon:4560;ts:4560" in text
    assert sorted(parse_route_table(text, me=["e2term:38000"]).targets(12050)) == [
        "kpimon:4560",
        "ts:4560",
    ]


def test_network_policies_validate_and_carry_the_flows() -> None:
    compiled = compile_policy(load_policy(EXAMPLE))
    by_zone = compiled.network_policies()
    assert set(by_zone) == {"apps", "platform", "sandbox", "smo"}
    docs = [d for zone in by_zone.values() for d in zone]
    for d in docs:
        validate_network_policy(d)
    names = {d["metadata"]["name"]: d for d in docs}
    deny = names["xtrust-zone-sandbox"]["spec"]
    assert deny["ingress"] == [] and deny["egress"] == []
    assert "xtrust-dashboard" not in names  # only SDL flows: nothing opened on the network
    e2term = names["xtrust-e2term"]["spec"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.0.5.0/24"}}],
        "ports": [{"protocol": "SCTP", "port": 36421}],
    } in e2term["egress"]
    a1med = names["xtrust-a1med"]["spec"]
    (rule,) = [r for r in a1med["ingress"] if r["ports"] == [{"protocol": "TCP", "port": 10000}]]
    assert rule["from"][0]["podSelector"] == {"matchLabels": {"xtrust.io/asset": "nonrtric"}}


def test_intra_allow_zone_opens_zone_members(doc: dict[str, Any]) -> None:
    doc["zones"]["apps"]["intra"] = "allow"
    compiled = compile_policy(parse_policy(doc))
    (zone_doc,) = compiled.network_policies()["apps"][:1]
    validate_network_policy(zone_doc)
    sel = zone_doc["spec"]["podSelector"]["matchExpressions"][0]
    assert sel["values"] == ["kpimon", "ts"]
    assert zone_doc["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"] == [sel]
    assert compiled.sdl_rules()["kpm"]["write"] == ["kpimon", "ts"]


GOOD = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "ns"},
    "spec": {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 80}]}],
    },
}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("metadata", "name"), "Bad_Name", "does not match"),
        (("spec", "policyTypes"), ["Inbound"], "is not one of"),
        (
            ("spec", "ingress"),
            [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}],
            "ingress/0/from/0",
        ),
        (
            ("spec", "podSelector"),
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "podSelector/matchExpressions/0",
        ),
        (("spec", "ingress"), [{"ports": [{"port": 70000}]}], "ingress/0/ports/0/port"),
        (("spec", "egres"), [], "Additional properties"),
    ],
)
def test_schema_rejects(path: tuple[str, str], value: Any, message: str) -> None:
    validate_network_policy(GOOD)
    bad = copy.deepcopy(GOOD)
    bad[path[0]][path[1]] = value
    with pytest.raises(InputError, match=message):
        validate_network_policy(bad)


def test_sdl_rules_and_control_grants(doc: dict[str, Any]) -> None:
    compiled = compile_policy(parse_policy(doc))
    assert compiled.sdl_rules() == {
        "kpm": {"read": ["guest", "kpimon", "ts"], "write": ["kpimon"]},
        "ts-state": {"read": ["ts"], "write": ["ts"]},
    }
    assert compiled.control == {("ts", "gnb"): frozenset({3})}


def test_yaml_emitter_round_trips() -> None:
    from xtrust.xapps.segmentation.yamlout import dump_all

    docs = [d for z in compile_policy(load_policy(EXAMPLE)).network_policies().values() for d in z]
    odd = {
        "plain": ["yes", "No", "123", "1.5", "0x1f", "", "a b", "x: y", "-", "#c", "é", "null"],
        "on": None,
        "flag": True,
        "nested": [[1, []], {}, {"k": [{"q": 1}]}],
    }
    text = dump_all([*docs, odd])
    assert list(yaml.safe_load_all(text)) == [*docs, odd]
    assert "podSelector:\n    matchLabels:\n      xtrust.io/asset: kpimon" in text
