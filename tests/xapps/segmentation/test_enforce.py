from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from xtrust.errors import InputError, PolicyViolation
from xtrust.ric.platform.hooks import ControlRequestInfo, SenderInfo
from xtrust.ric.rmr import parse_route_table
from xtrust.xapps.segmentation import (
    Segmentation,
    SegmentationAdmission,
    SegmentationRouting,
    parse_policy,
)


def _request(
    xapp: str | None, ran: str = "gnb", func: int = 3, ep: str = "ts:4560"
) -> ControlRequestInfo:
    return ControlRequestInfo(SenderInfo(ep, xapp), ran, func, None, b"h", b"m")


def _admit(adm: SegmentationAdmission, req: ControlRequestInfo) -> tuple[bool, str]:
    d = asyncio.run(adm.admit(req))
    return d.allowed, d.reason


def _seg(doc: dict[str, Any], tmp_path: Path) -> Segmentation:
    times = iter(range(1_700_000_000, 1_800_000_000))
    return Segmentation(
        parse_policy(doc), audit_log=tmp_path / "audit.jsonl", clock=lambda: float(next(times))
    )


def test_admission_and_routing_follow_the_flows(doc: dict[str, Any], tmp_path: Path) -> None:
    seg = _seg(doc, tmp_path)
    adm, rt = SegmentationAdmission(seg), SegmentationRouting(seg)
    assert _admit(adm, _request("ts")) == (True, "ts -> gnb function 3")
    assert _admit(adm, _request("ts", func=2))[0] is False
    assert _admit(adm, _request("kpimon", ep="kpimon:4560"))[0] is False
    assert _admit(adm, _request(None, ep="ts:4560"))[0] is True  # found by endpoint
    assert _admit(adm, _request(None, ep="nobody:1")) == (
        False,
        "nobody:1 is not in the segmentation",
    )
    assert rt.allow(SenderInfo("ts:4560", "ts"), 12040).allowed
    assert not rt.allow(SenderInfo("ts:4560", "ts"), 12010).allowed
    assert not rt.allow(SenderInfo("kpimon:4560", "kpimon"), 12040).allowed
    assert not rt.allow(SenderInfo("1.2.3.4:9", None), 12040).allowed


def test_quarantine_takes_effect_at_once_and_release_restores(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    seg = _seg(doc, tmp_path)
    adm, rt = SegmentationAdmission(seg), SegmentationRouting(seg)
    before = seg.compiled.route_table()
    assert parse_route_table(before, me=["ts:4560"]).targets(12040) == ["e2term:38000"]

    seg.quarantine("ts", "anomalous control rate", actor="anomaly-xapp")

    after = seg.compiled.route_table()
    assert "ts:4560" not in after  # no route to or from ts
    assert parse_route_table(after, me=["ts:4560"]).targets(12040) == []
    assert parse_route_table(after, me=["e2term:38000"]).targets(12041) == []
    assert parse_route_table(after, me=["e2term:38000"]).targets(12050) == ["kpimon:4560"]
    # the same hook objects, no restart
    assert _admit(adm, _request("ts")) == (False, "ts is quarantined: no RIC control")
    assert rt.allow(SenderInfo("ts:4560", "ts"), 12040).reason == "ts is quarantined"
    # SDL: it may read its own namespace, nothing else, and write nowhere
    assert seg.sdl_allowed("ts", "ts-state", "read")
    assert not seg.sdl_allowed("ts", "ts-state", "write")
    assert not seg.sdl_allowed("ts", "kpm", "read")
    assert seg.sdl_allowed("kpimon", "kpm", "write")
    assert seg.violations() == []

    seg.release("ts", by="operator@noc")
    assert seg.compiled.route_table() == before
    assert _admit(adm, _request("ts"))[0] is True
    assert seg.sdl_allowed("ts", "kpm", "read")

    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert lines == [
        {
            "time": "2023-11-14T22:13:20.000+00:00",
            "asset": "ts",
            "from": "apps",
            "to": "quarantine",
            "reason": "anomalous control rate",
            "actor": "anomaly-xapp",
        },
        {
            "time": "2023-11-14T22:13:21.000+00:00",
            "asset": "ts",
            "from": "quarantine",
            "to": "apps",
            "reason": "released",
            "actor": "operator@noc",
        },
    ]
    assert seg.audit == lines


def test_a1_grants_follow_flows_and_quarantine(doc: dict[str, Any], tmp_path: Path) -> None:
    doc["assets"]["smo"] = {"kind": "smo", "zone": "apps"}
    doc["flows"].append({"from": "smo", "to": "ts", "type": "a1", "policy_types": [20008]})
    seg = _seg(doc, tmp_path)
    assert seg.a1_allowed("smo", "ts", 20008)
    assert not seg.a1_allowed("smo", "ts", 20009)
    assert not seg.a1_allowed("smo", "kpimon", 20008)
    seg.quarantine("ts", "x")
    assert not seg.a1_allowed("smo", "ts", 20008)


def test_bad_moves(doc: dict[str, Any], tmp_path: Path) -> None:
    seg = _seg(doc, tmp_path)
    with pytest.raises(InputError, match="unknown asset 'nope'"):
        seg.quarantine("nope", "x")
    with pytest.raises(InputError, match="ts is not quarantined"):
        seg.release("ts", by="op")
    seg.quarantine("ts", "x")
    with pytest.raises(InputError, match="already in quarantine"):
        seg.quarantine("ts", "again")
    with pytest.raises(InputError, match="read or write"):
        seg.sdl_allowed("ts", "kpm", "delete")
    assert len(seg.audit) == 1


def test_segmentation_refuses_a_violating_policy(doc: dict[str, Any], tmp_path: Path) -> None:
    doc["flows"][6]["op"] = "write"
    with pytest.raises(PolicyViolation, match="1 violating path"):
        _seg(doc, tmp_path)
    assert not (tmp_path / "audit.jsonl").exists()
