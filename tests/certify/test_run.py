"""End-to-end certification runs: reports, SARIF, HTML, cache, attestation, CLI."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from tests.certify.conftest import GOOD_DESCRIPTOR, add_bytes, write_tree
from xtrust.certify.analyzers import (
    DescriptorAnalyzer,
    DockerfileAnalyzer,
    K8sAnalyzer,
    SecretsAnalyzer,
)
from xtrust.certify.interface import Analyzer, AnalyzerResult, ScanContext, Severity
from xtrust.certify.orchestrator import PREDICATE_TYPE, CertifyRun
from xtrust.cli import cli, main
from xtrust.errors import InputError

HERE = Path(__file__).parent
REPORT_SCHEMA = Path(__file__).parents[2] / "xtrust/certify/rules/report.schema.json"
TOKEN = "ghp_" + "Q7w8E9r0T1" * 4

Runner = Callable[..., CertifyRun]


def fast() -> list[Analyzer]:
    return [SecretsAnalyzer(), DescriptorAnalyzer(), DockerfileAnalyzer(), K8sAnalyzer()]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "app",
        {
            "config-file.json": json.dumps(GOOD_DESCRIPTOR),
            "app.py": "from xtrust.ric.xapp import XApp\n\nclass A(XApp):\n    async def on_indication(self, i): ...\n",
            "settings.py": f'TOKEN = "{TOKEN}"\n',
            "<script>alert(1)</script>.txt": "hello\n",
            "Dockerfile": "FROM python:3.11-slim\nUSER 10001\nHEALTHCHECK CMD true\n",
        },
    )


def test_reports_are_valid_and_secrets_masked(
    app: Path, run_certify: Runner, tmp_path: Path
) -> None:
    run = run_certify(app, analyzers=fast())
    assert run.verdict == "fail" and run.exit_code == 1  # a GitHub token is high
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        ".xtrust-certify-output",
        "report.html",
        "report.json",
        "report.sarif",
    ]
    report = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    assert report["target"]["digest"].startswith("sha256:") and report["target"]["kind"] == "source"
    sarif = json.loads((out / "report.sarif").read_text())
    schema = json.loads((HERE / "data_certify/sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert len(results) == len(report["findings"]) > 0
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"]["xtrust/v1"]
    tok = next(r for r in results if r["ruleId"] == "secrets/secret-github-token")
    assert tok["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "settings.py"
    assert tok["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    html = (out / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "sortable" in html and "<svg" in html
    assert 'src="http' not in html and "<link" not in html  # self-contained
    for p in out.iterdir():
        assert TOKEN not in p.read_text(), p.name


def test_output_dir_inside_the_target_is_not_scanned(app: Path, run_certify: Runner) -> None:
    Counting.calls = 0
    out = app / "certify-out"
    first = run_certify(app, analyzers=[*fast(), Counting()], output_dir=out)
    second = run_certify(app, analyzers=[*fast(), Counting()], output_dir=out)
    assert Counting.calls == 1  # same content digest: the reports in certify-out do not count
    assert first.report["target"]["content_digest"] == second.report["target"]["content_digest"]
    assert not [f for f in second.report["findings"] if "certify-out" in str(f["location"])]


class Boom(Analyzer):
    name = "boom"
    category = "sast"

    def applies(self, ctx: ScanContext) -> str | None:
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        raise RuntimeError("kaput")


class Empty(Boom):
    name = "empty"

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        return self.result([], 0)


def test_crashing_or_empty_analyzer_makes_run_incomplete(app: Path, run_certify: Runner) -> None:
    run = run_certify(
        app, analyzers=[Boom(), Empty(), DescriptorAnalyzer()], fail_on=None, fail_on_given=True
    )
    assert run.verdict == "incomplete" and run.exit_code == 2
    status = {r.analyzer: (r.status, r.reason) for r in run.results}
    assert status["boom"] == ("failed", "internal error: RuntimeError: kaput")
    assert status["empty"] == ("failed", "the analyzer scanned nothing")
    sarif = json.loads(Path(run.outputs["sarif"]).read_text())
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


class Counting(Analyzer):
    name = "counting"
    category = "sast"
    calls = 0

    def applies(self, ctx: ScanContext) -> str | None:
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        Counting.calls += 1
        return self.result(
            [self.finding("c1", Severity.LOW, "m")],
            1,
        )


def test_cache_reuses_raw_results_until_content_changes(
    app: Path, run_certify: Runner, tmp_path: Path
) -> None:
    Counting.calls = 0
    first = run_certify(app, analyzers=[Counting()])
    second = run_certify(app, analyzers=[Counting()], policy=_policy(tmp_path, "fail_on: low\n"))
    assert Counting.calls == 1
    assert [r.cached for r in second.results if r.analyzer == "counting"] == [True]
    assert first.verdict == "pass" and second.verdict == "fail"  # policy applied to cached results
    (app / "new.py").write_text("x = 2\n")
    run_certify(app, analyzers=[Counting()])
    assert Counting.calls == 2
    run_certify(app, analyzers=[Counting()], use_cache=False)
    assert Counting.calls == 3


def _policy(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def test_baseline_and_waiver_end_to_end(app: Path, run_certify: Runner, tmp_path: Path) -> None:
    first = run_certify(app, analyzers=fast(), output_dir=tmp_path / "o1")
    fp = next(
        f["fingerprint"] for f in first.report["findings"] if f["rule_id"] == "secret-github-token"
    )
    second = run_certify(
        app, analyzers=fast(), output_dir=tmp_path / "o2", baseline=tmp_path / "o1/report.json"
    )
    assert second.verdict == "pass" and second.report["summary"]["active"] == 0
    sarif = json.loads((tmp_path / "o2/report.sarif").read_text())
    assert {r["baselineState"] for r in sarif["runs"][0]["results"]} == {"unchanged"}
    pol = _policy(
        tmp_path,
        f"waivers:\n  - fingerprint: {fp}\n    reason: test token\n    owner: bob\n    expires: 2999-01-01\n",
    )
    third = run_certify(app, analyzers=fast(), output_dir=tmp_path / "o3", policy=pol)
    assert third.verdict == "pass" and third.report["summary"]["waived"] == 1
    sarif = json.loads((tmp_path / "o3/report.sarif").read_text())
    waived = [r for r in sarif["runs"][0]["results"] if "suppressions" in r]
    assert waived and waived[0]["suppressions"][0]["status"] == "accepted"


def test_hostile_archive_fails_and_writes_nothing_outside(
    tmp_path: Path, run_certify: Runner
) -> None:
    arc = tmp_path / "evil.tgz"
    with tarfile.open(arc, "w:gz") as tf:
        add_bytes(tf, "ok.txt", b"fine\n")
        add_bytes(tf, "../../evil.txt", b"x")
    before = sorted(os.listdir(tmp_path))
    run = run_certify(arc, analyzers=fast())
    assert run.verdict == "fail"
    assert any(
        f["rule_id"] == "archive-path-traversal" and f["severity"] == "critical"
        for f in run.report["findings"]
    )
    assert sorted(os.listdir(tmp_path)) == sorted({*before, "out"})
    assert sorted(os.listdir(tmp_path / "out")) == [
        ".xtrust-certify-output",
        "report.html",
        "report.json",
        "report.sarif",
    ]


def test_attestation_sign_verify_and_tamper(
    app: Path, run_certify: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xtrust.crypto import (
        HybridSigningKey,
        SignatureError,
        artifact_digest,
        verify_statement,
    )

    key = HybridSigningKey.generate()
    key.save(tmp_path / "signing.key", "pass phrase")
    monkeypatch.setenv("XTRUST_KEY_PASSPHRASE", "pass phrase")
    run = run_certify(app, analyzers=fast(), sign_key=tmp_path / "signing.key")
    env = json.loads(Path(run.outputs["attestation"]).read_text())
    stmt = verify_statement(env, key.public_key())
    assert stmt["predicateType"] == PREDICATE_TYPE
    assert "sha256:" + stmt["subject"][0]["digest"]["sha256"] == artifact_digest(str(app))
    pred = stmt["predicate"]
    assert pred["verdict"] == "fail" and pred["policy"]["digest"].startswith("sha256:")
    assert {a["name"] for a in pred["analyzers"]} >= {"secrets", "descriptor"}
    assert pred["findingCounts"]["bySeverity"]["high"] >= 1
    import base64
    import hashlib

    assert (
        pred["report"]["sha256"]
        == hashlib.sha256(Path(run.outputs["json"]).read_bytes()).hexdigest()
    )
    payload = json.loads(base64.b64decode(env["payload"]))
    payload["predicate"]["verdict"] = "pass"
    env["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(SignatureError):
        verify_statement(env, key.public_key())


def test_wrong_passphrase_is_an_error_before_scanning(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from xtrust.crypto import HybridSigningKey

    HybridSigningKey.generate().save(tmp_path / "k.key", "right")
    monkeypatch.setenv("XTRUST_KEY_PASSPHRASE", "wrong")
    monkeypatch.setitem(cli.lazy, "certify", "xtrust.certify.cli:certify")
    code = main(["certify", str(app), "-o", str(tmp_path / "o"), "--sign", str(tmp_path / "k.key")])
    assert code == 2
    assert not (tmp_path / "o").exists()
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_descriptor_target_json_format_and_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.lazy, "certify", "xtrust.certify.cli:certify")
    good = tmp_path / "config-file.json"
    good.write_text(json.dumps(GOOD_DESCRIPTOR))
    code = main(["certify", str(good), "-o", str(tmp_path / "o"), "--format", "json"])
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert code == 0 and summary["verdict"] == "pass" and "findings" not in summary
    assert summary["target"]["kind"] == "descriptor"
    status = {a["name"]: a["status"] for a in summary["analyzers"]}
    assert (
        status["descriptor"] == "ok"
        and status["bandit"] == "skipped"
        and status["vulnerabilities"] == "skipped"
    )
    bad = dict(
        GOOD_DESCRIPTOR,
        containers=[{"name": "d", "image": {"registry": "r", "name": "d", "tag": "latest"}}],
    )
    good.write_text(json.dumps(bad))
    assert main(["certify", str(good), "-o", str(tmp_path / "o"), "--format", "json"]) == 1
    capsys.readouterr()
    assert main(["certify", str(good), "-o", str(tmp_path / "o"), "--fail-on", "none"]) == 0
    assert "verdict:  PASS" in capsys.readouterr().out
    # required analyzer that cannot run: incomplete (exit 2)
    pol = _policy(tmp_path, "required_analyzers: [vulnerabilities]\n")
    assert (
        main(
            [
                "certify",
                str(good),
                "-o",
                str(tmp_path / "o"),
                "--policy",
                str(pol),
                "--fail-on",
                "none",
            ]
        )
        == 2
    )
    capsys.readouterr()
    # errors: one line on stderr, exit 2
    for argv in (
        ["certify", str(tmp_path / "missing"), "-o", str(tmp_path / "o")],
        [
            "certify",
            str(good),
            "-o",
            str(tmp_path / "o"),
            "--policy",
            str(_policy(tmp_path, "fail_on: [\n")),
        ],
        ["certify", str(good), "-o", str(tmp_path / "o"), "--vuln-db", str(tmp_path / "nodb")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("xtrust: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert (
        main(
            [
                "certify",
                str(good),
                "-o",
                str(tmp_path / "o"),
                "--format",
                "sarif",
                "--fail-on",
                "none",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"
    argv = ["certify", str(good), "-o", str(tmp_path / "o"), "--format", "html", "--jobs", "1"]
    assert main([*argv, "--fail-on", "none"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "o" / "report.html")


def test_non_utf8_file_names_in_a_tree(tmp_path: Path, run_certify: Runner) -> None:
    app = tmp_path / os.fsdecode(b"app\xff")
    app.mkdir()
    name = os.fsdecode(b"caf\xe9.env")
    (app / name).write_text(f"TOKEN={TOKEN}\n")
    run = run_certify(app, analyzers=fast())
    [f] = [f for f in run.report["findings"] if f["rule_id"] == "secret-github-token"]
    assert f["location"]["path"] == "caf\\xe9.env"
    assert "caf\\xe9.env" in Path(run.outputs["html"]).read_text()
    sarif = json.loads(Path(run.outputs["sarif"]).read_text())
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r.get("locations", [])
        if "physicalLocation" in loc
    }
    assert "caf%5Cxe9.env" in uris
    assert run.report["target"]["path"].endswith("app\\xff")


def test_malformed_image_metadata_is_an_error(tmp_path: Path, run_certify: Runner) -> None:
    arc = tmp_path / "img.tar"
    with tarfile.open(arc, "w") as tf:
        add_bytes(tf, "manifest.json", b"[{not json")
    with pytest.raises(InputError, match=r"manifest.json is not valid JSON"):
        run_certify(arc, analyzers=fast())
    assert sorted(os.listdir(tmp_path / "out")) == [".xtrust-certify-output"]


class Sharing(Boom):
    built = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        def build() -> int:
            Sharing.built += 1
            return 42

        assert ctx.shared("inventory", build) == 42
        return self.result([], 1)


@pytest.mark.parametrize("jobs", [1, 4])
def test_shared_data_is_built_once_whatever_the_jobs(
    app: Path, run_certify: Runner, jobs: int
) -> None:
    Sharing.built = 0
    run = run_certify(app, analyzers=[Sharing("s1"), Sharing("s2"), Sharing("s3")], jobs=jobs)
    assert run.verdict == "pass" and Sharing.built == 1


class Versioned(Counting):
    name = "versioned"
    version = "1.0"

    def tool_version(self) -> str:
        return Versioned.version


def test_cache_is_keyed_by_tool_version(app: Path, run_certify: Runner) -> None:
    Counting.calls = 0
    run_certify(app, analyzers=[Versioned()])
    run_certify(app, analyzers=[Versioned()])
    assert Counting.calls == 1
    Versioned.version = "2.0"
    run = run_certify(app, analyzers=[Versioned()])
    assert Counting.calls == 2
    assert next(r for r in run.results if r.analyzer == "versioned").tool_version == "2.0"
