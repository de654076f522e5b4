"""`xtrust certify CHART --helm-values FILE`: user values reach the rendered manifests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": "image: registry.example.org/demo:1.2.3\nprivileged: false\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-demo
spec:
  template:
    spec:
      automountServiceAccountToken: false
      containers:
        - name: demo
          image: {{ .Values.image | quote }}
          resources: {limits: {cpu: 100m, memory: 64Mi}}
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            {{- if .Values.privileged }}
            privileged: true
            {{- end }}
""",
}


def certify(chart: Path, out: Path, *extra: str) -> tuple[int, set[str]]:
    r = subprocess.run([sys.executable, "-m", "xtrust", "certify", str(chart), "--output-dir",
                        str(out), "--format", "json", *extra],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    return r.returncode, {f["rule_id"] for f in report["findings"] if f["analyzer"] == "k8s"}


def test_helm_values_change_what_the_rules_see(tmp_path: Path) -> None:
    chart = tmp_path / "demo"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    _, clean = certify(chart, tmp_path / "a")
    assert "k8s-privileged" not in clean
    values = tmp_path / "prod.yaml"
    values.write_text("privileged: true\n")
    _, risky = certify(chart, tmp_path / "b", "--helm-values", str(values))
    assert "k8s-privileged" in risky
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    r = subprocess.run([sys.executable, "-m", "xtrust", "certify", str(chart), "--output-dir",
                        str(tmp_path / "c"), "--helm-values", str(bad)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 2 and "must be a YAML mapping" in r.stderr
