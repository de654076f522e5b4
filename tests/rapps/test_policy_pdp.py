"""The PDP: decisions from identity, context and live risk, explained; fail closed."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from xtrust.rapps.policy import (
    AccessRequest,
    BehaviourTracker,
    DictLedgerState,
    Pdp,
    Resource,
    RiskConfig,
    RiskEngine,
    Subject,
    default_bundle,
    load_bundle,
    read_certify_report,
)
from xtrust.rapps.policy.alerts import Alert, parse_alerts
from xtrust.rapps.policy.cedar import default_schema_text, parse_schema
from xtrust.rapps.ti import IndicatorStore, parse_time

from .taxii_fixtures import DIGEST, indicator, revoke

T0 = parse_time("2026-11-26T10:00:00Z") or 0.0  # a Thursday, 10:00 UTC

KPIMON = Subject(
    "kpimon", "xapp", zone="ric", ran_functions=(2, 3), sdl_namespaces=("kpimon",),
    image_digest=f"sha256:{DIGEST}", addresses=("10.0.0.7",),
    software=(("openssl", "3.0.1"),),
)  # fmt: skip
SUBJECTS = [
    KPIMON,
    Subject("tsapp", "xapp", zone="ric", ran_functions=(3,)),
    Subject("planner", "rapp", zone="core", a1_policy_types=(20008,)),
    Subject("gnb_001", "e2node", zone="edge"),
    Subject("root", "operator", role="admin", zone="mgmt"),
    Subject("olga", "operator", role="operator", zone="mgmt"),
    Subject("audrey", "operator", role="auditor", zone="mgmt"),
]


def make_pdp(**kw: Any) -> tuple[Pdp, IndicatorStore, DictLedgerState]:
    store = IndicatorStore()
    ledger = DictLedgerState({s.id: "approved" for s in SUBJECTS})
    engine = RiskEngine(
        RiskConfig(ledger_ttl=0.0), store=store, ledger=ledger, behaviour=BehaviourTracker()
    )
    return Pdp(risk=engine, subjects=SUBJECTS, **kw), store, ledger


def req(subject: str, action: str, kind: str, rid: str, **ctx: Any) -> AccessRequest:
    return AccessRequest(subject, action, Resource(kind, rid), time=ctx.pop("t", T0), **ctx)


def test_xapps_use_only_declared_ran_functions() -> None:
    pdp, _, _ = make_pdp()
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.allowed and d.policy_ids == ("xapp-declared-ran-function",)
    assert d.risk == 0 and [f.name for f in d.factors] == [
        "threat_intel", "vulnerability", "ledger", "behaviour", "context"]  # fmt: skip
    assert pdp.authorize(req("kpimon", "subscribe", "ran_function", "gnb_001/3")).allowed
    d = pdp.authorize(req("tsapp", "control", "ran_function", "gnb_001/2"))
    assert not d.allowed and d.reasons == ("no policy permits this request (default deny)",)
    assert not pdp.authorize(req("kpimon", "write", "config", "ric")).allowed
    assert pdp.authorize(req("kpimon", "write", "sdl_namespace", "kpimon")).allowed
    assert not pdp.authorize(req("kpimon", "write", "sdl_namespace", "tsapp")).allowed
    assert pdp.authorize(req("planner", "write", "a1_policy_type", "20008")).allowed
    assert not pdp.authorize(req("planner", "write", "a1_policy_type", "20000")).allowed


def test_unknown_subject_is_denied() -> None:
    pdp, _, _ = make_pdp()
    d = pdp.authorize(req("mallory", "control", "ran_function", "gnb_001/2"))
    assert not d.allowed and "unknown subject" in d.reasons[0] and d.risk == 100


def test_operators_by_role_and_zone() -> None:
    pdp, _, _ = make_pdp()
    allowed = {
        (who, act, kind): pdp.authorize(
            req(who, act, kind, "x" if kind != "ran_function" else "gnb_001/2")
        ).allowed
        for who in ("root", "olga", "audrey")
        for act, kind in (
            ("read", "config"),
            ("write", "config"),
            ("deploy", "config"),
            ("control", "ran_function"),
        )
    }
    assert allowed == {
        ("root", "read", "config"): True, ("root", "write", "config"): True,
        ("root", "deploy", "config"): True, ("root", "control", "ran_function"): True,
        ("olga", "read", "config"): True, ("olga", "write", "config"): True,
        ("olga", "deploy", "config"): True, ("olga", "control", "ran_function"): False,
        ("audrey", "read", "config"): True, ("audrey", "write", "config"): False,
        ("audrey", "deploy", "config"): False, ("audrey", "control", "ran_function"): False,
    }  # fmt: skip
    d = pdp.authorize(req("root", "write", "config", "x", zone="external"))
    assert not d.allowed and "deny-operator-change-from-external-zone" in d.policy_ids
    ctx = next(f for f in d.factors if f.name == "context")
    assert ctx.score == 30 and "external" in ctx.detail
    # off hours adds risk for operators
    night = pdp.authorize(req("olga", "read", "config", "x", t=T0 + 13 * 3600))
    assert next(f for f in night.factors if f.name == "context").score == 10


def test_threat_intel_match_raises_risk_and_denies_until_revoked() -> None:
    pdp, store, _ = make_pdp()
    bad = indicator(f"[file:hashes.'SHA-256' = '{DIGEST}']", name="trojaned kpimon",
                    confidence=100)  # fmt: skip
    store.add_objects([bad])
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert not d.allowed and d.risk == 90
    assert d.policy_ids == ("deny-high-risk",)
    assert "risk 90 >= threshold 70" in d.reasons[0]
    ti = d.factors[0]
    assert ti.name == "threat_intel" and ti.evidence[0]["name"] == "trojaned kpimon"
    # other subjects are not affected
    assert pdp.authorize(req("tsapp", "control", "ran_function", "gnb_001/3")).allowed
    store.add_objects([revoke(bad)])
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.allowed and d.risk == 0


def test_indicator_expiry_and_cve_and_address_matching() -> None:
    pdp, store, _ = make_pdp()
    store.add_objects([
        indicator("[ipv4-addr:value = '10.0.0.0/24']", confidence=50,
                  valid_until="2026-11-26T11:00:00Z"),
        indicator("[software:name = 'openssl' AND software:version = '3.0.1']", confidence=50),
    ])  # fmt: skip
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.factors[0].score == 80 and not d.allowed  # 70 + 10 for the second match
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2", t=T0 + 7200))
    assert d.factors[0].score == 70  # the address indicator expired


def test_vulnerability_report(tmp_path: Path) -> None:
    pdp, store, _ = make_pdp()
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"findings": [
        {"severity": "critical", "category": "vulnerability", "id": "CVE-2024-3094"},
        {"severity": "HIGH", "category": "vulnerability", "id": "GHSA-x", "aliases": ["CVE-2023-1"]},
        {"severity": "high", "category": "secret"},
        {"severity": "low", "category": "vulnerability"},
    ]}))  # fmt: skip
    posture = read_certify_report(report)
    assert posture.counts == {"critical": 1, "high": 1, "low": 1}
    assert posture.ids == ("CVE-2023-1", "CVE-2024-3094")
    pdp.risk.set_vulns("kpimon", posture)
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.risk == 41 and d.allowed
    # the report's CVE ids are matched against vulnerability indicators
    store.add_objects([indicator("[vulnerability:name = 'CVE-2024-3094']", confidence=50)])
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.risk == 100 and not d.allowed


def test_ledger_suspended_or_revoked_is_deny() -> None:
    pdp, _, ledger = make_pdp()
    for state in ("suspended", "revoked"):
        ledger.states["kpimon"] = state
        d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
        assert not d.allowed
        assert "deny-ledger-suspended-or-revoked" in d.policy_ids
        assert d.factors[2].detail == f"ledger state {state}"
    del ledger.states["kpimon"]
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.allowed and d.factors[2].score == 20 and d.factors[2].detail == "not on the ledger"
    del ledger.states["olga"]  # operators and E2 nodes need not be on the (app) ledger
    d = pdp.authorize(req("olga", "read", "config", "x"))
    assert d.allowed and d.factors[2].score == 0


def _alert(kind: str, eid: str, severity: str, t: float, node: str | None = None) -> dict[str, Any]:
    return {
        "type": "xtrust-alert", "spec_version": "1", "id": f"alert--{random.random()}",
        "time": f"{t}", "source": "xtrust-anomaly",
        "entity": {"kind": kind, "id": eid, "node": node},
        "attack_class": "rogue-control", "score": 2.0, "severity": severity,
        "features": [], "evidence": [], "onset": None,
    }  # fmt: skip


def test_alerts_raise_risk_and_decay() -> None:
    pdp, _, _ = make_pdp()
    iso = "2026-11-26T10:00:00Z"
    alerts, bad = parse_alerts([dict(_alert("xapp", "kpimon", "critical", 0), time=iso),
                                {"type": "xtrust-alert"}])  # fmt: skip
    assert bad == 1
    for a in alerts:
        pdp.risk.behaviour.add(a)
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert d.factors[3].score == 100 and not d.allowed  # 60 * score factor 2.0, capped
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2", t=T0 + 900))
    assert d.factors[3].score == pytest.approx(60) and d.allowed  # one half-life later
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2", t=T0 + 9000))
    assert d.factors[3].score < 1 and d.risk == 0
    # a cell alert counts against its E2 node, at half weight
    (cell,) = parse_alerts(dict(_alert("cell", "c1", "high", 0, node="gnb_001"), time=iso))[0]
    assert pdp.risk.behaviour.add(cell) == "gnb_001"
    assert pdp.risk_of("gnb_001", now=T0)["factors"][3]["score"] == 35.0
    assert pdp.risk.behaviour.add(cell) == "gnb_001"  # the same alert id counts once
    assert pdp.risk_of("gnb_001", now=T0)["factors"][3]["score"] == 35.0


def test_alerts_from_the_anomaly_xapp_stix_bundle() -> None:
    alerts_mod = pytest.importorskip("xtrust.xapps.anomaly.alerts")
    rec = alerts_mod.AlertRecord("xapp", "kpimon", "rogue-control", 3.0, T0, severity="critical")
    bundle = alerts_mod.to_stix(rec)
    (alert,), bad = parse_alerts(json.dumps(bundle))
    assert bad == 0 and (alert.entity_kind, alert.entity_id) == ("xapp", "kpimon")
    assert alert.severity == "critical" and alert.time == T0 and alert.score == 3.0
    lines = "\n".join(json.dumps(alerts_mod.AlertRecord(
        "cell", f"c{i}", "jamming", 1.5, T0, node="gnb_001").to_json()) for i in range(3))  # fmt: skip
    got, bad = parse_alerts(lines + "\n{broken\n")
    assert len(got) == 3 and bad == 1 and got[0].node == "gnb_001"


def test_manual_quarantine_and_quarantine_list() -> None:
    pdp, store, ledger = make_pdp()
    pdp.quarantined.add("tsapp")
    d = pdp.authorize(req("tsapp", "control", "ran_function", "gnb_001/3"))
    assert not d.allowed and "the subject is on the quarantine list" in d.reasons
    ledger.states["planner"] = "revoked"
    store.add_objects([indicator("[ipv4-addr:value = '10.0.0.7']", confidence=100)])
    assert pdp.quarantine_list(now=T0) == ["kpimon", "planner", "tsapp"]
    pdp.set_threshold(95)
    assert pdp.quarantine_list(now=T0) == ["planner", "tsapp"]


# ---------------------------------------------------------------- fail closed

# Validates (all Long arithmetic), but overflows at evaluation when the hour is >= 10:
# Cedar then skips the forbid, and would allow.
ERRORING = """
@id("permit-all") permit(principal, action, resource);
@id("forbid-overflow")
forbid(principal, action, resource) when { context.hour * 1000000000000000000 < 0 };
"""


def test_evaluation_error_is_a_deny() -> None:
    schema = parse_schema(default_schema_text(), source="t", json_format=True)
    bundle = load_bundle(ERRORING, schema)
    pdp, _, _ = make_pdp(bundle=bundle)
    raw = cedarpy.is_authorized(
        {"principal": 'XTrust::Operator::"olga"', "action": 'XTrust::Action::"read"',
         "resource": 'XTrust::Config::"x"', "context": {"hour": 10}},
        bundle.policies, [])  # fmt: skip
    assert raw.allowed and raw.diagnostics.errors  # what Cedar alone would do
    d = pdp.authorize(req("olga", "read", "config", "x"))  # 10:00 UTC
    assert not d.allowed and d.errors and "overflow" in d.errors[0]
    assert "fail closed" in d.reasons[-1]
    assert pdp.authorize(req("olga", "read", "config", "x", t=T0 - 3 * 3600)).allowed  # 07:00


class BrokenLedger:
    def state(self, subject: str) -> str | None:
        raise ConnectionError("ledger node unreachable")


def test_a_plain_function_is_a_ledger() -> None:
    states = {"kpimon": "suspended"}
    pdp = Pdp(risk=RiskEngine(ledger=states.get), subjects=SUBJECTS)
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert not d.allowed and "deny-ledger-suspended-or-revoked" in d.policy_ids


def test_pdp_exception_is_a_deny() -> None:
    engine = RiskEngine(ledger=BrokenLedger())
    pdp = Pdp(risk=engine, subjects=SUBJECTS)
    d = pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    assert not d.allowed and d.errors == ("ConnectionError: ledger node unreachable",)
    assert pdp.counters["error"] == 1
    assert pdp.quarantine_list() == sorted(s.id for s in SUBJECTS)  # unknown risk: quarantine


def test_bad_request_is_a_deny_not_an_exception() -> None:
    pdp, _, _ = make_pdp()
    d = pdp.authorize({"subject": "kpimon", "action": "explode", "resource": {}})
    assert not d.allowed and "InputError" in d.errors[0]


def test_audit_sink_sees_every_decision_and_cannot_change_them() -> None:
    pdp, _, _ = make_pdp()
    seen: list[bool] = []
    pdp.audit = lambda d: seen.append(d.allowed)
    pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2"))
    pdp.authorize(req("tsapp", "control", "ran_function", "gnb_001/2"))
    assert seen == [True, False]

    def broken(_d: Any) -> None:
        raise OSError("disk full")

    pdp.audit = broken
    assert pdp.authorize(req("kpimon", "control", "ran_function", "gnb_001/2")).allowed


@pytest.mark.parametrize("policies", ["default", "erroring", "whole-context"])
def test_decision_cache_gives_the_same_answers(policies: str) -> None:
    schema = parse_schema(default_schema_text(), source="t", json_format=True)
    text = {
        "erroring": ERRORING,
        "whole-context": '@id("p") permit(principal, action, resource) when '
        '{ context == {"risk": 0, "risk_threshold": 70, "ledger_state": "approved", '
        '"zone": "ric", "location": "", "hour": 3} };',
    }.get(policies)
    bundle = load_bundle(text, schema) if text else None
    cached, _, ledger_a = make_pdp(bundle=bundle)
    plain, _, ledger_b = make_pdp(cache_decisions=False, bundle=bundle)
    rng = random.Random(7)
    subjects = [s.id for s in SUBJECTS]
    risks: set[int] = set()
    for i in range(400):
        if i % 50 == 0:
            who = rng.choice(subjects)
            state = rng.choice(["approved", "suspended"])
            ledger_a.states[who] = ledger_b.states[who] = state
        if i % 7 == 0:  # alerts keep the risk moving (and crossing the threshold)
            alert = Alert(f"alert--{i}", T0 + rng.randint(0, 86400), "t", "xapp",
                          rng.choice(subjects), None, None, rng.uniform(0.5, 2.0),
                          rng.choice(["medium", "high", "critical"]))  # fmt: skip
            cached.risk.behaviour.add(alert)
            plain.risk.behaviour.add(alert)
        r = req(
            rng.choice(subjects),
            rng.choice(["subscribe", "control", "read", "write"]),
            "ran_function",
            f"gnb_001/{rng.randint(1, 4)}",
            zone=rng.choice([None, "external", "ric"]),
            t=T0 + rng.randint(0, 86400),
        )
        a, b = cached.authorize(r), plain.authorize(r)
        assert (a.allowed, a.reasons, a.risk, a.errors) == (b.allowed, b.reasons, b.risk, b.errors)
        risks.add(a.risk)
    assert len(risks) > 20 and cached.cache_stats["hits"] > 0


def test_context_attributes_read_by_policies() -> None:
    from xtrust.rapps.policy.cedar import context_attrs

    assert default_bundle().context_attrs == ("ledger_state", "risk", "risk_threshold", "zone")
    assert context_attrs(ERRORING) == ("hour",)
    assert context_attrs("permit(principal, action, resource) when { context has zone };") == (
        "zone",
    )
    assert context_attrs("permit(principal, action, resource) when { context == {} };") is None


def test_risk_compared_only_with_the_threshold_is_detected() -> None:
    from xtrust.rapps.policy.cedar import risk_vs_threshold_only

    assert default_bundle().risk_vs_threshold_only
    ok = "forbid(principal, action, resource) when { context.risk_threshold <= context.risk };"
    assert risk_vs_threshold_only(ok)
    for bad in ("context.risk > 50", "context.risk + 1 >= context.risk_threshold",
                "context.risk == context.risk_threshold"):  # fmt: skip
        assert not risk_vs_threshold_only(f"forbid(principal, action, resource) when {{ {bad} }};")


def test_reload_replaces_policies_and_forgets_cached_results() -> None:
    pdp, _, _ = make_pdp()
    r = req("kpimon", "control", "ran_function", "gnb_001/2")
    assert pdp.authorize(r).allowed
    schema = parse_schema(default_schema_text(), source="t", json_format=True)
    pdp.reload(load_bundle('@id("ops") permit(principal is XTrust::Operator, action, resource);',
                           schema))  # fmt: skip
    d = pdp.authorize(r)
    assert not d.allowed and d.reasons == ("no policy permits this request (default deny)",)
