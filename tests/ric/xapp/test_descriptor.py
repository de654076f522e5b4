"""The O-RAN SC xApp descriptor: what is read, and one-line errors naming the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xtrust.errors import ConfigError
from xtrust.ric import mtypes
from xtrust.ric.descriptor import load_descriptor, parse_descriptor, schema
from xtrust.ric.xapp import XApp

from .conftest import descriptor, write_descriptor


def test_reads_ports_messages_policies_and_controls() -> None:
    doc = descriptor(rmr={"protPort": "tcp:4560", "maxSize": 2072, "numWorkers": 1,
                          "rxMessages": ["RIC_CONTROL_ACK"], "policies": [7]})  # fmt: skip
    doc["messaging"]["ports"][1]["policies"] = [20008]
    d = parse_descriptor(doc, source="config-file.json")
    assert (d.name, d.version) == ("xtrust-test", "1.0.0")
    assert (d.rmr_port, d.route_port, d.http_port) == (4560, 4561, 8080)
    assert mtypes.RIC_INDICATION in d.rx_messages and mtypes.RIC_CONTROL_ACK in d.rx_messages
    assert d.tx_messages == {12010, 12020, 20011, 30001}
    assert d.policies == {20008, 7}
    assert (d.max_size, d.num_workers) == (2072, 1)
    assert d.controls == {"threshold": 10}
    assert len(d.digest) == 64


def test_old_style_xapp_name_and_protport_only() -> None:
    d = parse_descriptor(
        {"xapp_name": "mc", "version": "1.0.2", "rmr": {"protPort": "tcp:4570"},
         "messaging": {"ports": [{"name": "http", "container": "mc", "port": 8081}]}}
    )  # fmt: skip
    assert (d.name, d.rmr_port, d.http_port, d.route_port) == ("mc", 4570, 8081, None)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return apply


_DELETE = object()

BAD = [
    (_set("messaging/ports/1/port", 70000), "messaging.ports[1].port",
     "70000 is greater than the maximum of 65535"),
    (_set("messaging/ports/1/port", _DELETE), "messaging.ports[1].port", "is required"),
    (_set("messaging/ports/1/port", "4560"), "messaging.ports[1].port", "is not of type 'integer'"),
    (_set("messaging/ports/1/rxMessages/2", "RIC_NOPE"), "messaging.ports[1].rxMessages[2]",
     "unknown RMR message type name 'RIC_NOPE'"),
    (_set("messaging/ports/1/txMessages/0", 1.5), "messaging.ports[1].txMessages[0]",
     "must be an O-RAN SC message name or number"),
    (_set("messaging/ports/1/policies", [0]), "messaging.ports[1].policies[0]",
     "0 is less than the minimum of 1"),
    (_set("messaging/ports/2/name", "http"), "messaging.ports[2].name", "is used twice"),
    (_set("messaging", {}), "messaging.ports", "is required"),
    (_set("version", "1.0"), "version", "must be a semantic version"),
    (_set("name", _DELETE), "name", "is required"),
    (_set("name", ""), "name", "should be non-empty"),
    (_set("containers/0/image", {"name": "x", "tag": "1"}), "containers[0].image.registry",
     "is required"),
    (_set("controls", []), "controls", "is not of type 'object'"),
    (_set("rmr", {"protPort": "udp:9"}), "rmr.protPort", "must be 'tcp:PORT'"),
    (_set("metrics", [{"name": "x"}]), "metrics[0].objectName", "is required"),
    (_set("policyTypes", [{"policy_type_id": 3, "create_schema": {"type": "nope"}}]),
     "policyTypes[0].create_schema", "not a valid JSON schema"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "field", "text"), BAD, ids=[b[1] for b in BAD])
def test_bad_descriptor_names_the_field(
    mutate: Callable[[dict[str, Any]], None], field: str, text: str
) -> None:
    doc = copy.deepcopy(descriptor())
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        parse_descriptor(doc, source="config-file.json")
    err = info.value
    assert err.field == field
    assert text in str(err)
    assert str(err).startswith(f"config-file.json: {field}: ")
    assert "\n" not in str(err)


def test_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "config-file.json"
    broken.write_text('{"name": "x",')
    with pytest.raises(ConfigError, match=r"config-file.json: not valid JSON: .* line 1"):
        load_descriptor(broken)
    with pytest.raises(ConfigError, match="cannot read the xApp descriptor"):
        load_descriptor(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match=r"\(document\): the descriptor must be a JSON object"):
        parse_descriptor([1, 2])


def test_the_app_reads_config_file_from_the_environment(tmp_path: Path) -> None:
    path = write_descriptor(tmp_path / "config-file.json", descriptor(controls={"k": "v"}))
    app = XApp(env={"CONFIG_FILE": str(path)})
    assert app.config.source == str(path) and app.controls == {"k": "v"}
    with pytest.raises(ConfigError, match="CONFIG_FILE: names") as info:
        XApp(env={"CONFIG_FILE": str(tmp_path / "nope.json")})
    assert info.value.field == "CONFIG_FILE"
    bad = copy.deepcopy(descriptor())
    bad["messaging"]["ports"][0]["port"] = -1
    write_descriptor(path, bad)
    with pytest.raises(ConfigError, match=r"messaging.ports\[0\].port: -1 is less than"):
        XApp(env={"CONFIG_FILE": str(path)})


def test_without_config_file_a_builtin_descriptor_is_used() -> None:
    class KpiMon(XApp):
        pass

    app = KpiMon(env={})
    assert (app.config.name, app.config.version, app.controls) == ("kpimon", "0.0.0", {})


def test_schema_is_valid_json_schema_and_documents_the_extension() -> None:
    import jsonschema

    doc = schema()
    jsonschema.Draft7Validator.check_schema(doc)
    assert "policyTypes" in doc["properties"]
    json.dumps(doc)
