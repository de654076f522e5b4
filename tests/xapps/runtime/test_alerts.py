"""The alert format: JSON round trip, STIX 2.1 validity, bad input, sinks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import stix2
from aiohttp import web

from xtrust.errors import InputError
from xtrust.xapps.anomaly.alerts import (
    AlertRecord,
    Feature,
    JsonlSink,
    WebhookSink,
    parse_alert,
    severity_of,
    to_stix,
)

T = 1_795_000_000.25


def alert(**kw: object) -> AlertRecord:
    base: dict[str, object] = dict(
        entity_kind="cell", entity_id="gnb_1/4097", attack_class="jamming", score=2.5, time=T,
        node="gnb_1", features=(Feature("sinr", 2.0, 9.0, -7.5),), evidence=("SINR down",),
        onset=T - 1,
    )  # fmt: skip
    base.update(kw)
    return AlertRecord(**base)  # type: ignore[arg-type]


def test_json_round_trip_keeps_every_field() -> None:
    a = alert()
    doc = json.loads(a.line())
    assert doc["type"] == "xtrust-alert" and doc["spec_version"] == "1"
    assert doc["time"] == "2026-11-18T11:06:40.250Z"
    assert doc["entity"] == {"kind": "cell", "id": "gnb_1/4097", "node": "gnb_1"}
    assert doc["severity"] == "high"
    back = parse_alert(doc)
    assert back.to_json() == doc


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ("{", "not JSON"),
        ("[]", "object"),
        ({"type": "x"}, "type"),
        ({"type": "xtrust-alert", "entity": {"kind": "router", "id": "a"}}, "entity.kind"),
        ({"type": "xtrust-alert", "entity": {"kind": "ue", "id": ""}}, "entity.id"),
        ({"type": "xtrust-alert", "entity": {"kind": "ue", "id": "1"}, "score": "9"}, "score"),
        (
            {
                "type": "xtrust-alert",
                "entity": {"kind": "ue", "id": "1"},
                "score": 1,
                "time": "yesterday",
            },
            "time",
        ),
    ],
)
def test_malformed_alerts_name_the_field(doc: object, field: str) -> None:
    with pytest.raises(InputError, match=field):
        parse_alert(doc if isinstance(doc, str) else json.dumps(doc))


def test_severity_grows_with_score_and_unknown_classes_stay_low() -> None:
    assert severity_of(1.0, "jamming") == "medium"
    assert severity_of(2.0, "jamming") == "high"
    assert severity_of(5.0, "rogue-control") == "critical"
    assert severity_of(5.0, "unknown-kpm") == "medium"
    assert severity_of(1.0, None) == "low"


@pytest.mark.parametrize("kind", ["cell", "ue", "xapp", "e2node"])
def test_stix_bundle_is_valid_stix_2_1(kind: str) -> None:
    bundle = to_stix(alert(entity_kind=kind, entity_id="rogue" if kind == "xapp" else "1/2"))
    parsed = stix2.parse(json.dumps(bundle), allow_custom=True)
    types = [o["type"] for o in parsed.objects]
    assert {"identity", "indicator", "observed-data", "sighting"} <= set(types)
    sighting = next(o for o in parsed.objects if o["type"] == "sighting")
    indicator = next(o for o in parsed.objects if o["type"] == "indicator")
    observed = next(o for o in parsed.objects if o["type"] == "observed-data")
    assert sighting.sighting_of_ref == indicator.id
    assert sighting.observed_data_refs == [observed.id]
    assert sighting["x_xtrust_attack_class"] == "jamming"
    # the pattern is valid STIX patterning
    from stix2patterns.validator import run_validator

    assert run_validator(indicator.pattern, stix_version="2.1") == []


def test_jsonl_sink_appends_whole_lines(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "a.jsonl", stix=tmp_path / "s.jsonl")
    asyncio.run(sink.deliver(alert()))
    asyncio.run(sink.deliver(alert(attack_class="ue-flood")))
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(x)["attack_class"] for x in lines] == ["jamming", "ue-flood"]
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 2


def test_jsonl_sink_refuses_an_unwritable_path(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="cannot write alerts"):
        JsonlSink(tmp_path / "f" / "a.jsonl")


def test_webhook_sink_posts_and_retries() -> None:
    async def main() -> None:
        got: list[dict[str, object]] = []
        calls = {"n": 0}

        async def hook(request: web.Request) -> web.Response:
            calls["n"] += 1
            if calls["n"] == 1:
                return web.Response(status=503)
            got.append(await request.json())
            return web.Response(status=204)

        app = web.Application()
        app.add_routes([web.post("/alerts", hook)])
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        sink = WebhookSink(f"http://127.0.0.1:{port}/alerts")
        try:
            await sink.deliver(alert())
        finally:
            await sink.close()
            await runner.cleanup()
        assert calls["n"] == 2 and got[0]["attack_class"] == "jamming"

    asyncio.run(main())


def test_webhook_sink_gives_up_with_an_error() -> None:
    async def main() -> None:
        sink = WebhookSink("http://127.0.0.1:9/none", retries=2, timeout=0.5)
        try:
            with pytest.raises(OSError):
                await sink.deliver(alert())
        finally:
            await sink.close()

    asyncio.run(main())
    with pytest.raises(InputError, match="webhook"):
        WebhookSink("ftp://x")
