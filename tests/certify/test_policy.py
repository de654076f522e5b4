"""Policy outcomes, waivers, baselines, fingerprints and exit codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xtrust.certify.interface import AnalyzerResult, Finding, Location, Severity
from xtrust.certify.policy import evaluate, load_baseline, load_policy, parse_policy
from xtrust.errors import ConfigError, InputError

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def finding(
    sev: Severity = Severity.HIGH,
    rule: str = "r1",
    snippet: str = "x = 1",
    line: int = 3,
    category: str = "sast",
) -> Finding:
    return Finding(
        "bandit", rule, sev, "msg", category, Location("a.py", line, snippet=snippet)
    ).with_fingerprint()


def ok(name: str = "bandit", **extra: object) -> AnalyzerResult:
    return AnalyzerResult(name, "ok", scanned_count=1, extra=extra)


def policy(text: str = "") -> object:
    return parse_policy(text.encode(), "test.yaml")


def test_default_policy_loads() -> None:
    p = load_policy(None)
    assert p.fail_on == Severity.HIGH and "AGPL-3.0-only" in p.license_deny
    assert p.source == "(built-in default)" and p.digest.startswith("sha256:")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("fail_on: severe\n", "fail_on"),
        ("max_findings: {sast: -1}\n", "max_findings.sast"),
        ("required_analyzers: [nope]\n", "required_analyzers[0]"),
        ("waivers: [{fingerprint: abc, reason: x, owner: y, expires: 2026-01-01}]\n", "waivers[0]"),
        ("bogus: 1\n", "(document)"),
        ("fail_on: [\n", None),
    ],
)
def test_policy_validation(text: str, field: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        parse_policy(text.encode(), "p.yaml")
    assert str(err.value).startswith("p.yaml: ")
    if field:
        assert field in str(err.value)


def test_threshold_pass_fail_and_override() -> None:
    p = policy("fail_on: high\n")
    low = evaluate(p, [ok()], [finding(Severity.MEDIUM)], now=NOW)  # type: ignore[arg-type]
    assert low.verdict == "pass" and low.exit_code == 0
    high = evaluate(p, [ok()], [finding(Severity.HIGH)], now=NOW)  # type: ignore[arg-type]
    assert high.verdict == "fail" and high.exit_code == 1
    stricter = evaluate(
        p, [ok()], [finding(Severity.MEDIUM)], fail_on=Severity.MEDIUM, fail_on_given=True, now=NOW
    )  # type: ignore[arg-type]
    assert stricter.verdict == "fail"
    off = evaluate(
        p, [ok()], [finding(Severity.CRITICAL)], fail_on=None, fail_on_given=True, now=NOW
    )  # type: ignore[arg-type]
    assert off.verdict == "pass"


def test_max_findings_per_category() -> None:
    p = policy("fail_on: none\nmax_findings: {secrets: 1}\n")
    fs = [finding(Severity.LOW, category="secrets", snippet=str(i)) for i in range(2)]
    ev = evaluate(p, [ok()], fs, now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "fail" and "2 secrets finding(s), policy allows 1" in ev.reasons
    assert evaluate(p, [ok()], fs[:1], now=NOW).verdict == "pass"  # type: ignore[arg-type]


def test_failed_or_missing_required_analyzer_is_incomplete() -> None:
    p = policy("required_analyzers: [vulnerabilities]\n")
    skipped = AnalyzerResult("vulnerabilities", "skipped", "no vulnerability database given")
    ev = evaluate(p, [ok(), skipped], [], now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "incomplete" and ev.exit_code == 2
    assert "required analyzer vulnerabilities did not run" in ev.reasons[0]
    failed = AnalyzerResult("bandit", "failed", "could not parse x.py")
    ev = evaluate(policy(), [failed], [], now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "incomplete"
    # incomplete wins over findings, and is never a pass
    ev = evaluate(policy(), [failed], [finding(Severity.CRITICAL)], now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "incomplete"


def test_waivers_active_and_expired() -> None:
    f = finding()
    p = policy(
        f"waivers:\n  - {{fingerprint: {f.fingerprint}, reason: accepted risk, owner: alice, expires: 2026-12-31}}\n"
    )
    ev = evaluate(p, [ok()], [f], now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "pass" and len(ev.waived) == 1 and not ev.active
    assert ev.waived[0].properties["waiver"]["owner"] == "alice"
    later = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    ev = evaluate(p, [ok()], [f], now=later)  # type: ignore[arg-type]
    assert ev.verdict == "fail" and "an expired waiver" in ev.reasons
    assert {x.rule_id for x in ev.active} == {"r1", "waiver-expired"}
    # an expired waiver fails the run even when its finding is gone
    assert evaluate(p, [ok()], [], now=later).verdict == "fail"  # type: ignore[arg-type]
    # valid through the expiry day
    assert (
        evaluate(p, [ok()], [f], now=dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)).verdict
        == "pass"
    )  # type: ignore[arg-type]


def test_baseline_reports_only_new(tmp_path: Path) -> None:
    old, new = finding(snippet="old()"), finding(snippet="new()")
    ev = evaluate(policy(), [ok()], [old, new], baseline={old.fingerprint}, now=NOW)  # type: ignore[arg-type]
    assert [x.fingerprint for x in ev.active] == [new.fingerprint]
    assert [x.fingerprint for x in ev.baselined] == [old.fingerprint]
    (tmp_path / "b.json").write_text('{"findings": [{"fingerprint": "abc"}]}')
    assert load_baseline(tmp_path / "b.json") == {"abc"}
    (tmp_path / "c.json").write_text('{"nope": 1}')
    with pytest.raises(InputError):
        load_baseline(tmp_path / "c.json")


def test_stale_vulnerability_database() -> None:
    p = policy("vulnerability_database: {max_age_days: 7}\n")
    fresh = ok(
        "vulnerabilities",
        database={"digest": "sha256:x", "newest_modified": "2026-11-25T00:00:00+00:00"},
    )
    assert evaluate(p, [fresh], [], now=NOW).verdict == "pass"  # type: ignore[arg-type]
    stale = ok(
        "vulnerabilities",
        database={"digest": "sha256:x", "newest_modified": "2026-10-01T00:00:00+00:00"},
    )
    ev = evaluate(p, [stale], [], now=NOW)  # type: ignore[arg-type]
    assert ev.verdict == "fail" and ev.policy_findings[0].rule_id == "vuln-db-stale"
    empty = ok("vulnerabilities", database={"digest": "sha256:x", "newest_modified": None})
    assert evaluate(p, [empty], [], now=NOW).verdict == "fail"  # type: ignore[arg-type]


def test_fingerprints_are_stable_across_line_moves() -> None:
    a = finding(line=3, snippet="subprocess.call(cmd,  shell=True)")
    b = finding(line=90, snippet="  subprocess.call(cmd, shell=True)")
    assert a.fingerprint == b.fingerprint
    assert finding(snippet="other()").fingerprint != a.fingerprint
    assert len(a.fingerprint) == 32
