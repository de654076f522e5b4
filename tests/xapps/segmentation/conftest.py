from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "segmentation" / "policy.yaml"

BASE: dict[str, Any] = {
    "version": 1,
    "zones": {
        "ran": {"trust": "critical"},
        "platform": {"trust": "platform"},
        "apps": {"trust": "trusted"},
        "guest": {"trust": "untrusted"},
        "quarantine": {"trust": "quarantine"},
    },
    "assets": {
        "e2term": {"kind": "ric-platform", "zone": "platform", "rmr": "e2term:38000"},
        "kpimon": {"kind": "xapp", "zone": "apps", "rmr": "kpimon:4560"},
        "ts": {"kind": "xapp", "zone": "apps", "rmr": "ts:4560", "k8s_namespace": "ricxapp"},
        "guest": {"kind": "xapp", "zone": "guest", "rmr": "guest:4560"},
        "gnb": {"kind": "e2node", "zone": "ran", "cidr": "10.0.5.0/24"},
        "kpm": {"kind": "sdl-namespace", "zone": "apps", "owner": "kpimon"},
        "ts-state": {"kind": "sdl-namespace", "zone": "apps", "owner": "ts"},
    },
    "flows": [
        {"from": "kpimon", "to": "kpm", "type": "sdl", "op": "write"},
        {"from": "ts", "to": "kpm", "type": "sdl", "op": "read"},
        {"from": "ts", "to": "e2term", "type": "rmr", "mtypes": ["RIC_CONTROL_REQ"]},
        {"from": "e2term", "to": "ts", "type": "rmr", "mtypes": [12041, "12042"]},
        {"from": "ts", "to": "gnb", "type": "e2-control", "ran_functions": [3]},
        {"from": "e2term", "to": "kpimon", "type": "rmr", "mtypes": ["RIC_INDICATION"]},
        {"from": "guest", "to": "kpm", "type": "sdl", "op": "read"},
        {"from": "ts", "to": "ts-state", "type": "sdl", "op": "write"},
        {"from": "ts", "to": "ts-state", "type": "sdl", "op": "read"},
        {"from": "kpimon", "to": "kpm", "type": "sdl", "op": "read"},
    ],
}


@pytest.fixture
def doc() -> dict[str, Any]:
    """A clean policy: the guest xApp only reads KPIs."""
    return copy.deepcopy(BASE)
