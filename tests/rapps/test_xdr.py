"""XDR: event mapping, correlation windows and adjacency, scoring, playbooks, multi-site sharing."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import stix2  # type: ignore[import-untyped]
import yaml
from aiohttp import web
from click.testing import CliRunner

from xtrust.errors import ConfigError, InputError
from xtrust.rapps.threatmodel import load_topology
from xtrust.rapps.xdr import (
    Correlator,
    ResponseEngine,
    Xdr,
    adjacency_from_topology,
    alert_to_stix,
    load_playbooks,
    naive_correlate,
    normalize,
    parse_playbooks,
)
from xtrust.rapps.xdr.cli import xdr as xdr_cli

DATA = Path(__file__).resolve().parent / "data_threat"
T0 = 1_795_000_000.0  # 2026-11-17


def alert(
    t: float,
    kind: str = "xapp",
    ident: str = "xapp-ts",
    *,
    node: str | None = None,
    cls: str | None = "rogue-control",
    severity: str = "high",
    score: float = 2.0,
    source: str = "xtrust-anomaly",
    n: int = 0,
) -> dict[str, Any]:
    return {
        "type": "xtrust-alert",
        "spec_version": "1",
        "id": f"alert--{kind}-{ident}-{t}-{n}-{source}",
        "time": t,
        "source": source,
        "entity": {"kind": kind, "id": ident, "node": node},
        "attack_class": cls,
        "score": score,
        "severity": severity,
        "features": [{"name": "RRC.ConnEstabAtt", "value": 410.0, "baseline": 22.0, "z": 17.6}],
        "evidence": ["test"],
        "onset": None,
    }


# --------------------------------------------------------------------------- events


def test_alert_mapping_iso_time_and_node() -> None:
    doc = alert(0, "cell", "17", node="gnb")
    doc["time"] = "2026-11-26T10:00:01.250Z"
    (ev,) = normalize(doc)
    assert ev.entity == "cell:17" and ev.related == ("e2node:gnb",)
    assert ev.time == pytest.approx(1795687201.25)
    assert (ev.kind, ev.severity, ev.score, ev.attack_class) == (
        "alert",
        "high",
        2.0,
        "rogue-control",
    )
    assert ev.attrs["features"][0]["name"] == "RRC.ConnEstabAtt"


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        (lambda d: d["entity"].update(kind="router"), "alert.entity.kind"),
        (lambda d: d.update(severity="urgent"), "alert.severity"),
        (lambda d: d.update(time="yesterday"), "alert.time"),
        (lambda d: d.update(score="high"), "alert.score"),
    ],
)
def test_bad_alert_is_input_error(patch: Any, needle: str) -> None:
    doc = alert(T0)
    patch(doc)
    with pytest.raises(InputError, match=needle.replace(".", r"\.")):
        normalize(doc, "alert")


def test_other_sources_mapping() -> None:
    cert = {
        "type": "xtrust-certify",
        "time": T0,
        "app": "xapp-ts",
        "version": "1.2.0",
        "digest": "sha256:" + "ab" * 32,
        "verdict": "fail",
        "findings": {"critical": 1},
    }
    led = {
        "type": "xtrust-ledger",
        "time": T0,
        "event": "AppRevoked",
        "name": "xapp-ts",
        "version": "1.2.0",
    }
    pol = {
        "type": "xtrust-policy-decision",
        "time": T0,
        "subject": {"kind": "ue", "id": "imsi-1"},
        "action": "attach",
        "decision": "deny",
        "risk": 0.85,
    }
    warn = {
        "ts": int(T0 * 1000),
        "crit": "ERROR",
        "id": "xtrust.kpimon",
        "mdc": {"xapp": "kpimon"},
        "msg": "bad",
    }
    info = {"ts": int(T0 * 1000), "crit": "INFO", "id": "x", "mdc": {}, "msg": "fine"}
    (c,) = normalize(cert)
    assert (c.kind, c.entity, c.severity, c.attrs["version"]) == (
        "certify",
        "xapp:xapp-ts",
        "critical",
        "1.2.0",
    )
    (lg,) = normalize(led)
    assert (lg.kind, lg.entity, lg.severity) == ("ledger", "xapp:xapp-ts", "high")
    (p,) = normalize(pol)
    assert (p.entity, p.severity, p.score) == ("ue:imsi-1", "high", 0.85)
    (w,) = normalize(warn)
    assert (w.kind, w.entity, w.severity, w.time) == ("log", "xapp:kpimon", "high", T0)
    assert normalize(info) == []
    with pytest.raises(InputError, match="unknown event type"):
        normalize({"type": "mystery"})


def test_ledger_contract_events_are_attributed() -> None:
    key = "0x" + "11" * 32
    submitted = {
        "event": "AppSubmitted",
        "args": {
            "key": key,
            "name": "xapp-ts",
            "version": "1.2.0",
            "artifact": "0x" + "ef" * 32,
            "by": "0x" + "00" * 20,
        },
        "block": 7,
        "tx": "0xabc",
        "time": T0 - 600,
    }
    revoked = {
        "event": "StateChanged",
        "args": {"key": key, "from": 4, "to": 6, "by": "0x0", "reason": "compromised"},
        "block": 9,
        "tx": "0xdef",
        "time": T0,
    }
    unknown = {
        "event": "StateChanged",
        "args": {"key": "0x" + "22" * 32, "from": 4, "to": 5},
        "block": 9,
        "tx": "0x123",
        "time": T0,
    }
    x = Xdr()
    x.ingest_many([submitted, revoked, unknown, alert(T0 + 5)])
    (inc,) = x.incidents()
    assert [e.kind for e in inc.events] == ["ledger", "alert"]
    assert inc.events[0].severity == "high" and inc.events[0].attrs["event"] == "AppRevoked"
    assert inc.attr_of("xapp:xapp-ts", "digest") == "sha256:" + "ef" * 32
    assert inc.attr_of("xapp:xapp-ts", "version") == "1.2.0"


def test_stix_alert_roundtrip_and_valid_stix() -> None:
    doc = alert(T0, "ue", "imsi-001010123456789", node="gnb", cls="identity-extraction")
    bundle = alert_to_stix(doc, identity="xtrust-anomaly")
    parsed = stix2.parse(bundle, allow_custom=True)
    assert {o["type"] for o in parsed.objects} >= {"indicator", "sighting", "observed-data"}
    (ev,) = normalize(bundle)
    (direct,) = normalize(doc)
    assert ev.to_json() == direct.to_json()


# --------------------------------------------------------------------------- correlation


def groups_of(c: Correlator) -> list[list[str]]:
    return [[c.events[i].id for i in g] for g in c.groups()]


def test_window_splits_and_chains() -> None:
    x = Xdr(window=60)
    x.ingest_many([alert(T0), alert(T0 + 50, n=1), alert(T0 + 100, n=2), alert(T0 + 200, n=3)])
    incs = sorted(x.incidents(), key=lambda i: i.first)
    # 0-50-100 chain (each gap <= 60), 200 is 100 s after the last: a new incident
    assert [len(i.events) for i in incs] == [3, 1]
    x2 = Xdr(window=40)
    x2.ingest_many([alert(T0), alert(T0 + 50, n=1)])
    assert len(x2.incidents()) == 2


def test_different_entities_do_not_join_without_adjacency() -> None:
    x = Xdr(window=300)
    x.ingest_many([alert(T0, ident="xapp-ts"), alert(T0 + 1, ident="xapp-kpm")])
    assert len(x.incidents()) == 2


def test_cells_join_through_their_e2_node() -> None:
    x = Xdr(window=300)
    x.ingest_many(
        [
            alert(T0, "cell", "c1", node="gnb", cls="jamming"),
            alert(T0 + 5, "ue", "imsi-9", node="gnb", cls="ue-flood"),
            alert(T0 + 6, "cell", "c2", node="other", cls="jamming"),
        ]
    )
    sizes = sorted(len(i.events) for i in x.incidents())
    assert sizes == [1, 2]


def test_attack_graph_adjacency_joins_incidents() -> None:
    topo = load_topology(DATA / "reference.yaml")
    adj = adjacency_from_topology(topo)
    assert "e2node:gnb" in adj["xapp:xapp-ts"]
    x = Xdr(window=300, adjacency=adj)
    # a rogue-control alert on xapp-ts and a KPM anomaly on a cell of gnb (adjacent via E2 control)
    x.ingest_many(
        [
            alert(T0, "xapp", "xapp-ts"),
            alert(T0 + 30, "cell", "c1", node="gnb", cls="unknown-kpm", source="xtrust-kpm"),
            alert(T0 + 40, "xapp", "rapp", cls=None),  # not adjacent to either
        ]
    )
    incs = x.incidents()
    assert sorted(len(i.events) for i in incs) == [1, 2]
    joined = next(i for i in incs if len(i.events) == 2)
    assert set(joined.entities) == {"xapp:xapp-ts", "cell:c1", "e2node:gnb"}
    assert joined.sources == ["xtrust-anomaly", "xtrust-kpm"]


def random_events(n: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["xapp", "cell", "ue", "e2node"])
        out.extend(
            normalize(
                alert(
                    T0 + rng.uniform(0, 3000),
                    kind,
                    f"{kind}{rng.randrange(15)}",
                    node=f"e2node{rng.randrange(6)}" if kind in ("cell", "ue") else None,
                    n=i,
                )
            )
        )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_correlation_equals_all_pairs(seed: int) -> None:
    events = random_events(400, seed)
    adj = {f"xapp:xapp{i}": {f"e2node:e2node{i % 6}"} for i in range(15)}
    c = Correlator(window=90, adjacency=adj)
    c.add_many(events)
    fast = sorted(sorted(c.events[i].id for i in g) for g in c.groups())
    ordered = sorted(events, key=lambda e: (e.time, e.id))
    naive = sorted(sorted(ordered[i].id for i in g) for g in naive_correlate(events, 90, adj))
    assert fast == naive
    assert 1 < len(fast) < len(events)  # the case is not trivial


def test_scoring_and_exposure() -> None:
    one = Xdr()
    one.ingest_many([alert(T0, severity="medium", score=1.0)])
    two = Xdr()
    two.ingest_many(
        [
            alert(T0, severity="medium", score=1.0),
            alert(T0 + 1, severity="medium", score=1.0, source="xtrust-kpm"),
        ]
    )
    s1, s2 = one.incidents()[0].score, two.incidents()[0].score
    # one medium event at score 1: 0.25 * 0.75
    assert s1 == pytest.approx(0.1875)
    # two sources: 1 - (1 - 0.1875)^2 * 0.7
    assert s2 == pytest.approx(1 - 0.8125**2 * 0.7)
    # at most 3 events per (source, class, entity) count: a flood does not score infinitely
    flood = Xdr()
    flood.ingest_many([alert(T0 + i, severity="medium", score=1.0, n=i) for i in range(50)])
    assert flood.incidents()[0].score == pytest.approx(1 - 0.8125**3)
    low = Xdr(exposure={"xapp:xapp-ts": 0.0})
    low.ingest_many([alert(T0)])
    high = Xdr(exposure={"xapp:xapp-ts": 1.0})
    high.ingest_many([alert(T0)])
    assert low.incidents()[0].score == pytest.approx(high.incidents()[0].score / 2)


def test_async_stream_ingest() -> None:
    async def stream() -> AsyncIterator[Any]:
        yield json.dumps(alert(T0))
        yield alert(T0 + 1, n=1)
        yield alert_to_stix(alert(T0 + 2, n=2))

    x = Xdr()
    assert asyncio.run(x.ingest_stream(stream())) == 3
    assert [len(i.events) for i in x.incidents()] == [3]


# --------------------------------------------------------------------------- playbooks

PLAYBOOK = {
    "version": 1,
    "playbooks": [
        {
            "name": "contain-rogue-xapp",
            "match": {
                "attack_class": ["rogue-control"],
                "severity": "high",
                "min_score": 0.5,
                "entity_kind": ["xapp"],
            },
            "steps": [
                {"action": "quarantine", "reason": "XDR {incident}: {classes}"},
                {"action": "suspend"},
                {"action": "revoke", "version": "9.9.9"},
            ],
        },
        {
            "name": "tell-the-soc",
            "match": {"min_score": 0.1},
            "steps": [{"action": "notify", "file": "NOTIFY"}],
        },
    ],
}


class FakeLedger:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def suspend(self, name: str, version: str, reason: str) -> None:
        self.calls.append(("suspend", name, version, reason))

    def revoke(self, name: str, version: str, reason: str) -> None:
        self.calls.append(("revoke", name, version, reason))


@pytest.fixture
def playbooks(tmp_path: Path) -> Iterator[Any]:
    doc = json.loads(json.dumps(PLAYBOOK).replace("NOTIFY", str(tmp_path / "notify.jsonl")))
    yield parse_playbooks(doc, "pb.yaml")


@pytest.fixture
def segmentation() -> Any:
    from xtrust.xapps.segmentation import Segmentation, load_policy

    return Segmentation(load_policy(DATA / "segmentation.yaml"), check=False)


def rogue_incidents() -> list[Any]:
    x = Xdr()
    x.ingest_many(
        [
            alert(T0, severity="critical", score=3.0),
            # context an hour before: no incident of its own, but it gives the deployed version
            {
                "type": "xtrust-ledger",
                "time": T0 - 3600,
                "event": "AppDeployed",
                "name": "xapp-ts",
                "version": "1.2.0",
            },
        ]
    )
    return x.incidents()


def test_playbook_runs_audits_and_is_idempotent(
    playbooks: Any, segmentation: Any, tmp_path: Path
) -> None:
    ledger = FakeLedger()
    state, audit = tmp_path / "state.json", tmp_path / "audit.jsonl"
    incs = rogue_incidents()
    assert len(incs) == 1 and len(incs[0].events) == 1
    assert incs[0].severity in ("high", "critical")
    eng = ResponseEngine(
        playbooks, segmentation=segmentation, ledger=ledger, state_path=state, audit_path=audit
    )
    first = asyncio.run(eng.respond(incs))
    assert [(e["action"], e["outcome"]) for e in first] == [
        ("quarantine", "done"),
        ("suspend", "done"),
        ("revoke", "done"),
        ("notify", "done"),
    ]
    assert segmentation.policy.trust_of("xapp-ts") == "quarantine"
    assert segmentation.audit[-1]["actor"] == "xdr"
    assert incs[0].id in segmentation.audit[-1]["reason"]
    # suspend took the version from the ledger event; revoke the step's version
    assert [c[:3] for c in ledger.calls] == [
        ("suspend", "xapp-ts", "1.2.0"),
        ("revoke", "xapp-ts", "9.9.9"),
    ]
    assert len((tmp_path / "notify.jsonl").read_text().splitlines()) == 1
    # a new engine over the same state file repeats nothing
    eng2 = ResponseEngine(
        playbooks, segmentation=segmentation, ledger=ledger, state_path=state, audit_path=audit
    )
    second = asyncio.run(eng2.respond(rogue_incidents()))
    assert {e["outcome"] for e in second} == {"skipped"}
    assert len(ledger.calls) == 2
    assert len((tmp_path / "notify.jsonl").read_text().splitlines()) == 1
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert len(lines) == 8
    assert set(lines[0]) == {
        "time",
        "incident",
        "playbook",
        "step",
        "action",
        "target",
        "outcome",
        "detail",
        "dry_run",
    }
    assert lines[0]["target"] == "xapp:xapp-ts" and lines[0]["step"] == 0


def test_dry_run_changes_nothing(playbooks: Any, segmentation: Any, tmp_path: Path) -> None:
    ledger = FakeLedger()
    state = tmp_path / "state.json"
    eng = ResponseEngine(
        playbooks, segmentation=segmentation, ledger=ledger, state_path=state, dry_run=True
    )
    out = asyncio.run(eng.respond(rogue_incidents()))
    assert {e["outcome"] for e in out} == {"would-run"} and len(out) == 4
    assert all(e["dry_run"] for e in out)
    assert "XDR incident-" in out[0]["detail"]  # the substituted reason is shown
    assert ledger.calls == [] and not state.exists()
    assert segmentation.policy.trust_of("xapp-ts") != "quarantine"
    assert not (tmp_path / "notify.jsonl").exists()


def test_failed_step_stops_playbook_and_is_retried(playbooks: Any, tmp_path: Path) -> None:
    ledger = FakeLedger()
    eng = ResponseEngine(playbooks, segmentation=None, ledger=ledger)
    out = asyncio.run(eng.respond(rogue_incidents()))
    assert (out[0]["action"], out[0]["outcome"]) == ("quarantine", "failed")
    assert "no segmentation configured" in out[0]["detail"]
    assert ledger.calls == []  # the rest of that playbook did not run
    assert out[1]["action"] == "notify" and out[1]["outcome"] == "done"  # other playbook did
    again = asyncio.run(eng.respond(rogue_incidents()))
    assert again[0]["outcome"] == "failed"  # not recorded as done: retried


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"playbooks": []}, "playbooks"),
        (
            {"playbooks": [{"name": "a", "steps": [{"action": "nuke"}]}]},
            "playbooks[0].steps[0].action",
        ),
        (
            {
                "playbooks": [
                    {
                        "name": "a",
                        "match": {"severity": "huge"},
                        "steps": [{"action": "notify", "file": "x"}],
                    }
                ]
            },
            "playbooks[0].match.severity",
        ),
        (
            {
                "playbooks": [
                    {
                        "name": "a",
                        "match": {"attack_class": ["aliens"]},
                        "steps": [{"action": "notify", "file": "x"}],
                    }
                ]
            },
            "playbooks[0].match.attack_class[0]",
        ),
        (
            {
                "playbooks": [
                    {"name": "a", "steps": [{"action": "a1-policy", "url": "http://x", "body": {}}]}
                ]
            },
            "playbooks[0].steps[0].policy_type",
        ),
        (
            {
                "playbooks": [
                    {
                        "name": "a",
                        "steps": [{"action": "notify", "file": "x", "webhook": "http://y"}],
                    }
                ]
            },
            "playbooks[0].steps[0].webhook",
        ),
        (
            {"playbooks": [{"name": "a", "steps": [{"action": "quarantine", "url": "x"}]}]},
            "playbooks[0].steps[0].url",
        ),
    ],
)
def test_malformed_playbook_names_the_field(doc: Any, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_playbooks(doc, "pb.yaml")
    assert str(err.value).startswith(f"pb.yaml: {field}: ")
    assert "\n" not in str(err.value)


def test_malformed_playbook_cli_exit_2_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from xtrust import cli as top

    monkeypatch.setitem(top.cli.lazy, "xdr", "xtrust.rapps.xdr.cli:xdr")
    pb = tmp_path / "pb.yaml"
    pb.write_text("playbooks:\n  - name: x\n    steps:\n      - {action: explode}\n")
    alerts = tmp_path / "a.jsonl"
    alerts.write_text(json.dumps(alert(T0)) + "\n")
    code = top.main(["xdr", "correlate", str(alerts), "--playbook", str(pb)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "playbooks[0].steps[0].action" in err


async def _a1_server(received: list[tuple[str, str, Any]], status: int) -> web.AppRunner:
    async def handle(request: web.Request) -> web.Response:
        received.append((request.method, request.path, await request.json()))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner


def _port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])


@pytest.mark.parametrize("status", [201, 500])
def test_a1_put_and_webhook_over_http(status: int) -> None:
    async def run() -> tuple[list[Any], list[dict[str, Any]]]:
        received: list[tuple[str, str, Any]] = []
        runner = await _a1_server(received, status)
        try:
            base = f"http://127.0.0.1:{_port(runner)}"
            doc = {
                "playbooks": [
                    {
                        "name": "a1",
                        "steps": [
                            {
                                "action": "a1-policy",
                                "url": base,
                                "policy_type": 20008,
                                "policy_id": "xdr-{incident}",
                                "body": {"block": "{entity}"},
                            },
                            {"action": "notify", "webhook": base + "/hook"},
                        ],
                    }
                ]
            }
            eng = ResponseEngine(parse_playbooks(doc))
            out = await eng.respond(rogue_incidents())
            return received, out
        finally:
            await runner.cleanup()

    received, out = asyncio.run(run())
    inc_id = rogue_incidents()[0].id
    assert received[0][0] == "PUT"
    assert received[0][1] == f"/A1-P/v2/policytypes/20008/policies/xdr-{inc_id}"
    assert received[0][2] == {"block": "xapp:xapp-ts"}  # {entity}: the incident's entities
    if status == 201:
        assert [e["outcome"] for e in out] == ["done", "done"]
        assert received[1][0] == "POST" and received[1][2]["incident"]["id"] == inc_id
    else:
        assert [e["outcome"] for e in out] == ["failed"] and len(received) == 1
        assert "HTTP 500" in out[0]["detail"]


# --------------------------------------------------------------------------- multi-site


def test_two_sites_share_indicators_not_raw_data() -> None:
    key = b"federation-secret"
    a = Xdr("site-a", federation_key=key)
    b = Xdr("site-b", federation_key=key)
    ue = "imsi-001010000000042"
    a.ingest_many(
        [
            alert(T0, "ue", ue, node="gnb-a", cls="identity-extraction", severity="high"),
            {
                "type": "xtrust-certify",
                "time": T0,
                "app": "evil-xapp",
                "verdict": "fail",
                "digest": "sha256:" + "cd" * 32,
                "findings": {"high": 2},
            },
            alert(T0 + 1, "xapp", "evil-xapp", cls="rogue-control"),
        ]
    )
    b.ingest_many(
        [
            alert(
                T0 + 5,
                "ue",
                ue,
                node="gnb-b",
                cls="identity-extraction",
                severity="medium",
                score=1.0,
            )
        ]
    )
    before = b.incidents()[0].score
    assert b.entity_risk(f"ue:{ue}") == 0.0
    bundle = a.export_stix()
    text = json.dumps(bundle)
    assert ue not in text and "gnb-a" not in text and "evil-xapp" not in text
    assert "cd" * 32 in text  # the image digest is shared
    stix2.parse(bundle, allow_custom=True)
    assert b.ingest_shared(bundle) > 0
    after = b.incidents()[0]
    assert after.score > before
    assert after.external_sites == ["site-a"]
    assert after.score == pytest.approx(1 - (1 - before) * 0.6)
    assert b.entity_risk(f"ue:{ue}") == pytest.approx(0.4)
    # a site ignores its own bundle
    assert a.ingest_shared(bundle) == 0
    # a different federation key does not match (no shared secret, no linkage)
    c = Xdr("site-c", federation_key=b"other")
    c.ingest_many([alert(T0, "ue", ue, cls=None, severity="medium", score=1.0)])
    c_before = c.incidents()[0].score
    c.ingest_shared(bundle)
    assert c.incidents()[0].score == pytest.approx(c_before)


def test_attack_class_only_sighting_gives_smaller_boost() -> None:
    a = Xdr("site-a")
    a.ingest_many([alert(T0, "cell", "c1", node="g", cls="jamming")])
    b = Xdr("site-b")
    b.ingest_many([alert(T0, "cell", "c9", node="h", cls="jamming", severity="medium", score=1.0)])
    before = b.incidents()[0].score
    b.ingest_shared(a.export_stix())
    assert b.incidents()[0].score == pytest.approx(1 - (1 - before) * 0.85)


# --------------------------------------------------------------------------- CLI


def test_cli_correlate_with_playbook_dry_run_and_stix(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(
        "\n".join(
            json.dumps(a)
            for a in [
                alert(T0),
                alert(T0 + 10, n=1),
                alert(T0 + 20, "cell", "c1", node="gnb", cls="jamming"),
            ]
        )
        + "\n"
    )
    pb = tmp_path / "pb.yaml"
    pb.write_text(
        yaml.safe_dump(
            json.loads(json.dumps(PLAYBOOK).replace("NOTIFY", str(tmp_path / "n.jsonl")))
        )
    )
    out = tmp_path / "share.json"
    res = CliRunner().invoke(
        xdr_cli,
        [
            "correlate",
            str(alerts),
            "--playbook",
            str(pb),
            "--dry-run",
            "--topology",
            str(DATA / "reference.yaml"),
            "--segmentation",
            str(DATA / "segmentation.yaml"),
            "--export-stix",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["events"] == 3
    assert len(doc["incidents"]) == 1  # xapp-ts and gnb's cell are adjacent in the topology
    assert {e["outcome"] for e in doc["response"]} == {"would-run"}
    assert not (tmp_path / "n.jsonl").exists()
    assert json.loads(out.read_text())["type"] == "bundle"
    assert load_playbooks(pb)[0].name == "contain-rogue-xapp"


def test_cli_bad_jsonl_is_decode_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(alert(T0)) + "\n{not json\n")
    res = CliRunner().invoke(xdr_cli, ["correlate", str(bad)])
    assert res.exit_code != 0
    assert "bad.jsonl:2: not JSON" in str(res.exception)


def test_json_file_with_pretty_stix_bundle(tmp_path: Path) -> None:
    from xtrust.rapps.xdr import read_jsonl

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(alert_to_stix(alert(T0)), indent=2))
    (ev,) = list(read_jsonl(path))
    assert ev.entity == "xapp:xapp-ts" and ev.attack_class == "rogue-control"


def test_cli_quarantine_is_recorded_by_segmentation(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(json.dumps(alert(T0, severity="critical", score=3.0)) + "\n")
    pb = tmp_path / "pb.yaml"
    pb.write_text(
        "playbooks:\n  - name: q\n    match: {attack_class: [rogue-control]}\n"
        "    steps: [{action: quarantine}]\n"
    )
    seg_audit, audit, state = tmp_path / "seg.jsonl", tmp_path / "audit.jsonl", tmp_path / "s.json"
    args = [
        "correlate",
        str(alerts),
        "--playbook",
        str(pb),
        "--segmentation",
        str(DATA / "segmentation.yaml"),
        "--segmentation-audit",
        str(seg_audit),
        "--audit",
        str(audit),
        "--state",
        str(state),
    ]
    res = CliRunner().invoke(xdr_cli, args)
    assert res.exit_code == 0, res.output
    (rec,) = [json.loads(x) for x in seg_audit.read_text().splitlines()]
    assert (rec["asset"], rec["to"], rec["actor"]) == ("xapp-ts", "quarantine", "xdr")
    # second run: the state file says done; nothing is quarantined again
    res = CliRunner().invoke(xdr_cli, args)
    assert json.loads(res.output)["response"][0]["outcome"] == "skipped"
    assert len(seg_audit.read_text().splitlines()) == 1
