"""Each analyzer on tiny inputs (bandit and semgrep run for real)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.certify.conftest import GOOD_DESCRIPTOR, write_tree
from xtrust.certify.analyzers import (
    BanditAnalyzer,
    DescriptorAnalyzer,
    DockerfileAnalyzer,
    K8sAnalyzer,
    LicenseAnalyzer,
    SecretsAnalyzer,
    SemgrepAnalyzer,
    VulnAnalyzer,
)
from xtrust.certify.analyzers.dockerfile import parse_dockerfile
from xtrust.certify.analyzers.k8s import load_yaml_documents, render_chart
from xtrust.certify.analyzers.sbom import license_verdict, sbom_from_json, sbom_to_json
from xtrust.certify.analyzers.secrets import mask_secrets
from xtrust.certify.interface import AnalyzerResult, ScanContext, Severity
from xtrust.certify.sbom import Component, Sbom


def ctx_for(root: Path, kind: str = "source", **kw: object) -> ScanContext:
    return ScanContext(root, kind=kind, target=str(root), **kw)  # type: ignore[arg-type]


def rule_ids(result: AnalyzerResult) -> list[str]:
    return sorted(f.rule_id for f in result.findings)


# --- descriptor ---------------------------------------------------------------------------


def test_descriptor_good_is_quiet(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "config-file.json": json.dumps(GOOD_DESCRIPTOR),
            "app.py": "from xtrust.ric.xapp import XApp\nclass A(XApp):\n    async def on_indication(self, i): ...\n",
        },
    )
    a = DescriptorAnalyzer()
    assert a.applies(ctx_for(tmp_path)) is None
    r = a.run(ctx_for(tmp_path))
    assert r.status == "ok" and r.scanned_count == 1 and r.findings == ()


def test_descriptor_rules(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(GOOD_DESCRIPTOR))
    doc["version"] = "1.0"
    doc["containers"][0]["image"]["tag"] = "latest"
    del doc["livenessProbe"]
    ports = doc["messaging"]["ports"]
    ports[1]["rxMessages"] = ["RIC_INDICATION", "NOT_A_MESSAGE", "A1_POLICY_REQ"]
    ports[1]["policies"] = [20008]
    ports.append({"name": "http", "container": "demo", "port": 8080})
    doc["metrics"] = [{"name": "x"}]
    write_tree(
        tmp_path,
        {
            "config-file.json": json.dumps(doc, indent=1),
            "schema.json": json.dumps(
                {"type": "object", "properties": {"period_ms": {"type": "integer", "maximum": 10}}}
            ),
            "app.py": "def main():\n    pass\n",
        },
    )
    r = DescriptorAnalyzer().run(ctx_for(tmp_path))
    ids = rule_ids(r)
    assert "descriptor-schema" in ids  # version and metrics
    assert "descriptor-mutable-image-tag" in ids
    assert "descriptor-missing-probe" in ids
    assert "descriptor-unknown-message" in ids
    assert "descriptor-duplicate-port" in ids
    assert "descriptor-controls-invalid" in ids
    unhandled = [f for f in r.findings if f.rule_id == "descriptor-unhandled-message"]
    assert {f.location.snippet for f in unhandled if f.location} == {
        "rxMessages=RIC_INDICATION",
        "rxMessages=A1_POLICY_REQ",
    }
    version = next(f for f in r.findings if "version" in f.message)
    assert version.severity == Severity.HIGH and version.location and version.location.start_line


def test_descriptor_legacy_name_and_malformed(tmp_path: Path) -> None:
    doc = dict(GOOD_DESCRIPTOR)
    doc["xapp_name"] = doc.pop("name")
    (tmp_path / "config-file.json").write_text(json.dumps(doc))
    assert DescriptorAnalyzer().run(ctx_for(tmp_path)).findings == ()
    (tmp_path / "config-file.json").write_text('{"name": "x",,}')
    r = DescriptorAnalyzer().run(ctx_for(tmp_path))
    assert rule_ids(r) == ["descriptor-malformed"] and r.findings[0].location.start_line == 1  # type: ignore[union-attr]
    (tmp_path / "config-file.json").write_bytes(b'{"name": "\xff"}')
    assert rule_ids(DescriptorAnalyzer().run(ctx_for(tmp_path))) == ["descriptor-malformed"]


# --- dockerfile ----------------------------------------------------------------------------


def test_dockerfile_rules(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\n"
        "FROM python:latest AS build\n"
        "ARG API_TOKEN=abc123\n"
        "FROM python:3.11-slim\n"
        "ENV DB_PASSWORD=hunter22 \\\n    MODE=prod\n"
        "ADD https://example.com/x.tgz /opt/\n"
        "COPY --from=build /a /a\n"
        'CMD ["python", "-m", "app"]\n'
    )
    r = DockerfileAnalyzer().run(ctx_for(tmp_path))
    ids = rule_ids(r)
    assert ids.count("dockerfile-secret-in-env") == 2
    assert {
        "dockerfile-mutable-base-tag",
        "dockerfile-add-url",
        "dockerfile-root-user",
        "dockerfile-no-healthcheck",
    } <= set(ids)
    assert all("hunter22" not in (f.location.snippet or "") for f in r.findings if f.location)


def test_dockerfile_good_and_malformed(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim@sha256:" + "a" * 64 + "\nUSER 10001:10001\n"
        "HEALTHCHECK CMD curl -f http://localhost:8080/ric/v1/health/alive\n"
    )
    assert DockerfileAnalyzer().run(ctx_for(tmp_path)).findings == ()
    (tmp_path / "Dockerfile").write_text("RUN echo hi\nFROMM x\n")
    r = DockerfileAnalyzer().run(ctx_for(tmp_path))
    assert rule_ids(r) == ["dockerfile-malformed"]
    assert [i.keyword for i in parse_dockerfile("FROM a\nRUN a \\\n  # c\n  b\n")] == [
        "FROM",
        "RUN",
    ]


def test_image_config_rules(tmp_path: Path) -> None:
    cfg = {"config": {"User": "", "Env": ["API_KEY=xyz123456"]}}
    r = DockerfileAnalyzer().run(ctx_for(tmp_path, "image", image_config=cfg))
    assert rule_ids(r) == ["image-no-healthcheck", "image-runs-as-root", "image-secret-in-env"]


# --- k8s / helm ----------------------------------------------------------------------------

_BAD_DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  template:
    spec:
      hostNetwork: true
      hostPID: true
      containers:
        - name: app
          image: r.example/app:latest
          securityContext:
            privileged: true
            capabilities: {add: [NET_ADMIN]}
"""

_GOOD_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001}
  containers:
    - name: app
      image: r.example/app:1.0.0
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
      resources: {limits: {cpu: 500m, memory: 256Mi}}
"""


def test_k8s_rules(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "deploy/bad.yaml": _BAD_DEPLOY,
            "deploy/good.yaml": _GOOD_POD,
            "deploy/broken.yaml": "kind: Pod\napiVersion: v1\nspec: [a\n",
        },
    )
    r = K8sAnalyzer().run(ctx_for(tmp_path))
    bad = {f.rule_id for f in r.findings if f.location and f.location.path == "deploy/bad.yaml"}
    assert bad >= {
        "k8s-hostnetwork", "k8s-hostpid", "k8s-privileged", "k8s-run-as-root", "k8s-added-capabilities",
        "k8s-no-resource-limits", "k8s-writable-root-fs", "k8s-sa-token-automount", "k8s-mutable-image-tag",
    }  # fmt: skip
    assert not [f for f in r.findings if f.location and f.location.path == "deploy/good.yaml"]
    assert any(f.rule_id == "yaml-malformed" for f in r.findings)
    priv = next(f for f in r.findings if f.rule_id == "k8s-privileged")
    assert priv.location is not None and priv.location.start_line == 13
    assert r.scanned_count == 2


def test_helm_chart_rendering(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
            "values.yaml": "image: {repo: r.example/demo, tag: 1.0.0}\nprivileged: true\nresources:\n  limits: {cpu: 1, memory: 1Gi}\n",
            "templates/deploy.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                "  name: {{ .Release.Name }}-{{ .Chart.Name }}\n"
                '  labels: {{ include "demo.labels" . | nindent 4 }}\n'
                "spec:\n  template:\n    spec:\n      containers:\n"
                "        - name: app\n"
                '          image: "{{ .Values.image.repo }}:{{ .Values.image.tag | default "x" }}"\n'
                "          {{- if .Values.privileged }}\n"
                "          securityContext:\n            privileged: {{ .Values.privileged }}\n"
                "          {{- end }}\n"
                "          resources: {{- toYaml .Values.resources | nindent 12 }}\n"
            ),
        },
    )
    [(rel, text, unsupported)] = list(render_chart(tmp_path))
    assert rel == "templates/deploy.yaml" and unsupported == {"include"}
    [doc] = load_yaml_documents(text)
    assert doc.data["metadata"]["name"] == "release-name-demo"
    c = doc.data["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "r.example/demo:1.0.0" and c["resources"]["limits"]["cpu"] == 1
    r = K8sAnalyzer().run(ctx_for(tmp_path, "helm"))
    ids = set(rule_ids(r))
    assert "k8s-privileged" in ids and "helm-template-unsupported" in ids
    assert "k8s-no-resource-limits" not in ids


def test_yaml_alias_bomb_is_a_finding(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    (tmp_path / "bomb.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n" + "\n".join(lines) + "\n"
    )
    r = K8sAnalyzer().run(ctx_for(tmp_path))
    assert rule_ids(r) == ["yaml-malformed"] and "nodes" in r.findings[0].message


# --- secrets -------------------------------------------------------------------------------


def test_secrets_found_and_masked(tmp_path: Path) -> None:
    token = "ghp_" + "a1B2c3D4e5" * 4
    write_tree(
        tmp_path,
        {
            "app/settings.py": f'GITHUB = "{token}"\nDB_URL = "postgres://app:Sup3rS3cret@db/x"\npassword = "changeme"\n',
            "keys/id_rsa": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
            "package-lock.json": '{"integrity": "sha512-Zx8Qp2Lm9Rt4Vb7Nc1Kd6Hs3Fg5Jw0YeAbCdEf"}',
            "bin/blob": b"\x00\x01" + token.encode(),
        },
    )
    r = SecretsAnalyzer().run(ctx_for(tmp_path))
    assert rule_ids(r) == ["secret-github-token", "secret-private-key", "secret-url-credentials"]
    dump = json.dumps([f.to_json() for f in r.findings])
    assert token not in dump and "Sup3rS3cret" not in dump
    assert "ghp_********" in dump
    assert mask_secrets(f"x = '{token}'") == "x = 'ghp_********'"


# --- sbom / vulnerabilities / licenses -----------------------------------------------------


def _sbom() -> Sbom:
    return Sbom(
        [
            Component(
                "requests",
                "2.19.0",
                "PyPI",
                "pkg:pypi/requests@2.19.0",
                ("Apache-2.0",),
                ("requirements.txt",),
            ),
            Component("evil", "1.0", "PyPI", "pkg:pypi/evil@1.0", ("AGPL-3.0-only",)),
            Component("dual", "1.0", "PyPI", "pkg:pypi/dual@1.0", ("GPL-2.0-only OR MIT",)),
            Component("nolicense", "1.0", "PyPI", "pkg:pypi/nolicense@1.0"),
        ]
    )


def test_sbom_roundtrip() -> None:
    s = _sbom()
    assert sbom_from_json(json.loads(json.dumps(sbom_to_json(s)))).components == s.components


def test_license_rules(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, license_deny=("AGPL-3.0-only",), license_allow=("MIT", "Apache-2.0"))
    ctx.put("sbom", _sbom())
    r = LicenseAnalyzer().run(ctx)
    by = {f.message.split(" ")[0]: f.rule_id for f in r.findings}
    assert by == {"evil": "license-denied", "nolicense": "license-unknown"}
    assert license_verdict("(MIT AND BSD-3-Clause) OR GPL-3.0", lambda t: t == "GPL-3.0")
    assert not license_verdict("MIT AND GPL-3.0", lambda t: t == "MIT")
    assert license_verdict("GPL-2.0 WITH Classpath-exception-2.0", lambda t: t == "GPL-2.0")


def write_osv(d: Path, modified: str = "2026-11-20T00:00:00Z") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "PYSEC-2018-28.json").write_text(
        json.dumps(
            {
                "id": "PYSEC-2018-28",
                "modified": modified,
                "summary": "requests leaks credentials on redirect",
                "aliases": ["CVE-2018-18074"],
                "severity": [
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}
                ],
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "requests"},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": "2.20.0"}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    return d


def test_vulnerabilities(tmp_path: Path) -> None:
    a = VulnAnalyzer()
    assert a.applies(ctx_for(tmp_path)) == "no vulnerability database given (--vuln-db)"
    db = write_osv(tmp_path / "osv")
    ctx = ctx_for(tmp_path, vuln_db=db)
    ctx.put("sbom", _sbom())
    r = a.run(ctx)
    [f] = r.findings
    assert f.rule_id == "PYSEC-2018-28" and f.severity == Severity.HIGH
    assert "2.20.0" in f.message and f.location and f.location.path == "requirements.txt"
    info = r.extra["database"]
    assert info["digest"].startswith("sha256:") and info["newest_modified"].startswith("2026-11-20")
    assert "_matches" not in a.public_extra(r.extra)
    assert ctx.peek("vuln_matches")[0].advisory_id == "PYSEC-2018-28"


# --- bandit / semgrep (real tools) ---------------------------------------------------------


def test_bandit_findings_and_parse_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "import subprocess\nsubprocess.call('ls', shell=True)\n"})
    a = BanditAnalyzer()
    r = a.run(ctx_for(tmp_path))
    assert r.status == "ok" and r.scanned_count == 1 and "B602" in rule_ids(r)
    f = next(f for f in r.findings if f.rule_id == "B602")
    assert f.location and f.location.start_line == 2 and "shell=True" in (f.location.snippet or "")
    (tmp_path / "broken.py").write_text("def f(:\n")
    r = a.run(ctx_for(tmp_path))
    assert r.status == "failed" and "broken.py" in r.reason


@pytest.fixture(scope="module")
def semgrep_result(tmp_path_factory: pytest.TempPathFactory) -> AnalyzerResult:
    root = tmp_path_factory.mktemp("sg")
    (root / "app.py").write_text(
        (Path(__file__).parent / "data_certify" / "oran_app.py.txt").read_text()
    )
    return SemgrepAnalyzer().run(ctx_for(root))


@pytest.mark.slow
def test_semgrep_rule_pack(semgrep_result: AnalyzerResult) -> None:
    r = semgrep_result
    assert r.status == "ok", r.reason
    lines = {(f.rule_id, f.location.start_line if f.location else 0) for f in r.findings}
    expected = {
        (rule, int(line))
        for line_no, text in enumerate(
            (Path(__file__).parent / "data_certify" / "oran_app.py.txt").read_text().splitlines(), 1
        )
        if "# expect:" in text
        for rule, line in [(text.split("# expect:")[1].strip(), line_no)]
    }
    assert lines == expected
    assert all(f.severity >= Severity.MEDIUM for f in r.findings)
    assert r.tool_version.count("+rules.") == 1


def test_semgrep_fails_on_files_it_would_skip(tmp_path: Path) -> None:
    # semgrep reports no error for a file it cannot parse; the analyzer must not pass
    write_tree(tmp_path, {"ok.py": "x = 1\n", "broken.py": "def f(:\n"})
    r = SemgrepAnalyzer().run(ctx_for(tmp_path))
    assert r.status == "failed" and "broken.py" in r.reason and r.scanned_count == 1
