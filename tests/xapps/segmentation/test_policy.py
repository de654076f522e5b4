from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xtrust.errors import ConfigError
from xtrust.xapps.segmentation import load_policy, parse_policy

from .conftest import EXAMPLE


def _err(doc: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_policy(doc, source="policy.yaml")
    text = str(info.value)
    assert "\n" not in text
    return text


def test_example_policy_loads() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.assets["ts"].kind == "xapp"
    assert policy.zones["ran"].trust == "critical"
    assert len(policy.flows) == 17


def test_valid_policy_resolves_names_and_numbers(doc: dict[str, Any]) -> None:
    policy = parse_policy(doc)
    assert policy.flows[2].mtypes == (12040,)
    assert policy.flows[3].mtypes == (12041, 12042)
    assert policy.flows[4].ran_functions == (3,)


def test_unknown_asset_in_flow(doc: dict[str, Any]) -> None:
    doc["flows"][3]["to"] = "kpimonx"
    assert _err(doc) == "policy.yaml: flows[3].to: unknown asset 'kpimonx'"


def test_unknown_zone(doc: dict[str, Any]) -> None:
    doc["assets"]["ts"]["zone"] = "nowhere"
    assert _err(doc) == "policy.yaml: assets.ts.zone: unknown zone 'nowhere'"


def test_bad_trust_level(doc: dict[str, Any]) -> None:
    doc["zones"]["apps"]["trust"] = "friendly"
    assert _err(doc).startswith("policy.yaml: zones.apps.trust: 'friendly' is not one of")


def test_bad_message_type_names_the_item(doc: dict[str, Any]) -> None:
    doc["flows"][3]["mtypes"] = [12041, "RIC_CONTROL_NOPE"]
    assert _err(doc).startswith("policy.yaml: flows[3].mtypes[1]: unknown RMR message type")


def test_rmr_flow_needs_endpoints(doc: dict[str, Any]) -> None:
    del doc["assets"]["ts"]["rmr"]
    assert _err(doc) == "policy.yaml: flows[2].from: asset 'ts' has no rmr endpoint"


def test_flow_kind_checks(doc: dict[str, Any]) -> None:
    doc["flows"][4]["to"] = "kpm"
    assert "flows[4].to: 'kpm' is a sdl-namespace; a e2-control flow needs e2node" in _err(doc)


def test_field_not_of_that_flow_type(doc: dict[str, Any]) -> None:
    doc["flows"][0]["mtypes"] = [1]
    assert _err(doc) == "policy.yaml: flows[0].mtypes: not a field of a sdl flow"


def test_unknown_field_and_missing_op(doc: dict[str, Any]) -> None:
    doc["assets"]["ts"]["zonee"] = "apps"
    assert "assets.ts.zonee: unknown field" in _err(doc)
    del doc["assets"]["ts"]["zonee"]
    del doc["flows"][1]["op"]
    assert _err(doc) == "policy.yaml: flows[1].op: is required (read or write)"


def test_network_ports_and_cidr(doc: dict[str, Any]) -> None:
    doc["flows"].append({"from": "ts", "to": "gnb", "type": "network", "ports": [{"port": 0}]})
    assert "flows[10].ports[0].port: 0 is out of range" in _err(doc)
    doc["flows"][-1]["ports"] = [{"port": 80, "protocol": "ICMP"}]
    assert "flows[10].ports[0].protocol" in _err(doc)
    doc["flows"].pop()
    doc["assets"]["gnb"]["cidr"] = "10.0.5.300/24"
    assert "assets.gnb.cidr: '10.0.5.300/24' is not an IP network" in _err(doc)


def test_duplicate_rmr_endpoint(doc: dict[str, Any]) -> None:
    doc["assets"]["guest"]["rmr"] = "ts:4560"
    assert _err(doc) == "policy.yaml: assets.guest.rmr: ts:4560 is also the endpoint of ts"


def test_quarantine_zone_added_when_missing(doc: dict[str, Any]) -> None:
    del doc["zones"]["quarantine"]
    assert parse_policy(doc).quarantine_zone() == "quarantine"


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nzones: {a: [\n")
    with pytest.raises(ConfigError, match=r"^policy.yaml: line \d+: not valid YAML"):
        load_policy(p)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text(
        EXAMPLE.read_text().replace("  ts:        {kind: xapp", "  kpimon:    {kind: xapp")
    )
    with pytest.raises(ConfigError, match=r"^policy\.yaml: line \d+: duplicate key 'kpimon'$"):
        load_policy(p)


def test_zone_named_quarantine_must_be_one(doc: dict[str, Any]) -> None:
    doc["zones"]["quarantine"] = {"trust": "trusted"}
    assert _err(doc) == "policy.yaml: zones.quarantine: must have trust 'quarantine'"
