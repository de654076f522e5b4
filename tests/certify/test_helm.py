"""The Helm renderer (xtrust.certify.helm) and its use by the k8s analyzer."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from xtrust.certify.analyzers.k8s import K8sAnalyzer, load_yaml_documents, render_chart
from xtrust.certify.helm import (
    FUNCTION_NAMES,
    RenderLimits,
    TemplateError,
    render_string,
)
from xtrust.certify.helm import render_chart as helm_render
from xtrust.certify.interface import ScanContext


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def r(src: str, dot: Any = None, **kw: Any) -> str:
    return render_string(src, dot, **kw)


# --- a realistic chart ------------------------------------------------------------------------

CHART = 'apiVersion: v2\nname: kpmmon\nversion: 0.3.1\nappVersion: "1.4.0"\n'

VALUES = """\
replicaCount: 2
image:
  repository: registry.example/xtrust/kpmmon
  tag: ""
nameOverride: ""
securityContext:
  enabled: true
  privileged: false
env:
  - name: RMR_SEED_RT
    value: /opt/route/local.rt
  - name: LOG_LEVEL
    value: info
extraEnv:
  HTTP_PORT: "8080"
  E2_MODE: tcp
resources:
  limits:
    cpu: 500m
    memory: 256Mi
nodeSelector: {}
service:
  port: 8080
"""

HELPERS = """\
{{/* Expand the name of the chart. */}}
{{- define "chart.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chart.fullname" -}}
{{- printf "%s-%s" .Release.Name (include "chart.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chart.labels" -}}
app.kubernetes.io/name: {{ include "chart.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chart.fullname" . }}
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      automountServiceAccountToken: false
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          {{- if .Values.securityContext.enabled }}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            privileged: {{ .Values.securityContext.privileged }}
          {{- end }}
          env:
            {{- range .Values.env }}
            - name: {{ .name }}
              value: {{ .value | quote }}
            {{- end }}
            {{- range $key, $value := .Values.extraEnv }}
            - name: {{ $key }}
              value: {{ $value | quote }}
            {{- end }}
          ports:
            - containerPort: {{ .Values.service.port }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"""

EXPECTED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: release-name-kpmmon
  labels:
    app.kubernetes.io/name: kpmmon
    app.kubernetes.io/instance: release-name
    app.kubernetes.io/version: "1.4.0"
    helm.sh/chart: kpmmon-0.3.1
spec:
  replicas: 2
  template:
    spec:
      automountServiceAccountToken: false
      containers:
        - name: kpmmon
          image: "registry.example/xtrust/kpmmon:1.4.0"
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            privileged: false
          env:
            - name: RMR_SEED_RT
              value: "/opt/route/local.rt"
            - name: LOG_LEVEL
              value: "info"
            - name: E2_MODE
              value: "tcp"
            - name: HTTP_PORT
              value: "8080"
          ports:
            - containerPort: 8080
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
"""


def make_chart(root: Path, values: str = VALUES) -> Path:
    write_tree(
        root,
        {
            "Chart.yaml": CHART,
            "values.yaml": values,
            "templates/_helpers.tpl": HELPERS,
            "templates/deployment.yaml": DEPLOYMENT,
            "templates/NOTES.txt": "Installed {{ .Release.Name }}\n",
        },
    )
    return root


def test_realistic_chart_renders_exactly(tmp_path: Path) -> None:
    out = helm_render(make_chart(tmp_path))
    assert out.notes == []
    [t] = out.templates  # partials and NOTES.txt are not output
    assert t.path == "templates/deployment.yaml" and t.error is None and not t.missing
    assert t.text == EXPECTED
    [doc] = load_yaml_documents(t.text)
    assert doc.data["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"}
    }


def test_realistic_chart_with_user_values(tmp_path: Path) -> None:
    user = {
        "securityContext": {"privileged": True},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "image": {"tag": "1.5.0"},
        "env": [],
        "nameOverride": "kpm-" + "x" * 70,
    }
    [t] = helm_render(make_chart(tmp_path), user).templates
    expected = (
        EXPECTED.replace("privileged: false", "privileged: true")
        .replace(
            "automountServiceAccountToken: false\n",
            "automountServiceAccountToken: false\n      nodeSelector:\n"
            "        kubernetes.io/os: linux\n",
        )
        .replace("kpmmon:1.4.0", "kpmmon:1.5.0")
        .replace(
            '            - name: RMR_SEED_RT\n              value: "/opt/route/local.rt"\n'
            '            - name: LOG_LEVEL\n              value: "info"\n',
            "",
        )
        .replace("release-name-kpmmon", ("release-name-kpm-" + "x" * 70)[:63])
        .replace("app.kubernetes.io/name: kpmmon", "app.kubernetes.io/name: kpm-" + "x" * 59)
    )
    assert t.text == expected


def _k8s(root: Path) -> tuple[set[str], Any]:
    result = K8sAnalyzer().run(ScanContext(root, kind="helm", target=str(root)))
    return {f.rule_id for f in result.findings}, result


def test_k8s_rules_follow_the_values(tmp_path: Path) -> None:
    safe, res = _k8s(make_chart(tmp_path / "safe"))
    assert res.status == "ok" and res.scanned_count == 1
    assert safe == set()  # every rule satisfied by the rendered manifest

    priv, _ = _k8s(
        make_chart(tmp_path / "priv", VALUES.replace("privileged: false", "privileged: true"))
    )
    assert priv == {"k8s-privileged"}

    off_values = VALUES.replace("enabled: true", "enabled: false").replace(
        "privileged: false", "privileged: true"
    )
    off, _ = _k8s(make_chart(tmp_path / "off", off_values))
    # securityContext dropped by the if: privileged is not rendered, the defaults are flagged
    assert "k8s-privileged" not in off
    assert {"k8s-run-as-root", "k8s-privilege-escalation", "k8s-writable-root-fs"} <= off

    nolimits, _ = _k8s(
        make_chart(
            tmp_path / "nolim",
            VALUES.replace("resources:\n  limits:\n", "resources:\n  requests:\n"),
        )
    )
    assert nolimits == {"k8s-no-resource-limits"}


def test_render_chart_compat_shape(tmp_path: Path) -> None:
    make_chart(tmp_path)
    [(rel, text, unsupported)] = list(render_chart(tmp_path))
    assert rel == "templates/deployment.yaml" and text == EXPECTED and unsupported == set()


# --- control structures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dot", "want"),
    [
        ("a {{- 1 }} b {{ 2 -}}  \n c", None, "a1 b 2c"),
        ("x{{/* a\ncomment */}}y{{- /* trimmed */ -}}  z", None, "xyz"),
        ("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", {"a": 0, "b": "x"}, "B"),
        ("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", {"a": [], "b": {}}, "C"),
        ("{{ if .a }}A{{ end }}", {"a": [0]}, "A"),
        ("{{ if not .missing }}none{{ end }}", {}, "none"),
        ("{{ range .l }}[{{ . }}]{{ end }}", {"l": [1, "b", True]}, "[1][b][true]"),
        ("{{ range $i, $v := .l }}{{ $i }}:{{ $v }} {{ end }}", {"l": ["a", "b"]}, "0:a 1:b "),
        (
            "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}",
            {"m": {"z": 1, "a": 2}},
            "a=2;z=1;",
        ),
        ("{{ range .l }}x{{ else }}empty{{ end }}", {"l": []}, "empty"),
        ("{{ range .l }}x{{ else }}empty{{ end }}", {}, "empty"),
        (
            "{{ range $v := .l }}{{ if eq $v 2 }}{{ continue }}{{ end }}{{ if eq $v 4 }}{{ break }}{{ end }}{{ $v }}{{ end }}",
            {"l": [1, 2, 3, 4, 5]},
            "13",
        ),
        ("{{ range 3 }}{{ . }}{{ end }}", None, "012"),
        (
            "{{ range .l }}{{ $.p }}{{ .n }} {{ end }}",
            {"p": "-", "l": [{"n": 1}, {"n": 2}]},
            "-1 -2 ",
        ),
        ("{{ with .a }}{{ .b }}{{ else }}no{{ end }}", {"a": {"b": "in"}}, "in"),
        ("{{ with .a }}{{ .b }}{{ else }}no{{ end }}", {"a": {}}, "no"),
        ("{{ with .a }}A{{ else with .b }}{{ . }}{{ end }}", {"b": "B"}, "B"),
        ("{{ with $x := .a }}{{ $x }}{{ end }}", {"a": 5}, "5"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", None, "2"),
        ("{{ $x := .a }}{{ $x.b.c }}", {"a": {"b": {"c": "deep"}}}, "deep"),
        ('{{ (dict "k" "v").k }}', None, "v"),
        ("{{ .Values.a.b }}", {"Values": {"a": {"b": 7}}}, "7"),
        ("{{ .missing }}|{{ .m.missing }}", {"m": {}}, "|"),
        (
            '{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" "x" }}{{ template "t" }}',
            None,
            "<x><>",
        ),
        ('{{ block "b" . }}default {{ .n }}{{ end }}', {"n": 1}, "default 1"),
        ('{{ define "t" }}{{ .a }}{{ end }}{{ include "t" . | upper | quote }}', {"a": "q"}, '"Q"'),
        ("{{ tpl .s . }}", {"s": "{{ .name }}-{{ 1 }}", "name": "n"}, "n-1"),
        ("{{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ -2 }} {{ 1.5 }}", None, "31 1000 97 -2 1.5"),
        ('{{ "a\\tb" }}|{{ `raw\\n` }}', None, "a\tb|raw\\n"),
        ('{{ print 1 2 "a" "b" 3 }}', None, "1 2ab3"),
        ('{{ and 1 0 }}{{ or 0 "" "x" }}{{ and 1 2 }}{{ or 0 false }}', None, "0x2false"),
        ('{{ or .a (fail "not evaluated") }}', {"a": 1}, "1"),
    ],
)
def test_control_structures(src: str, dot: Any, want: str) -> None:
    assert r(src, dot) == want


# --- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "want"),
    [
        (
            '{{ eq 1 1 }} {{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ eq .nil "x" }}',
            "true true true false",
        ),
        ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2 }} {{ ge "b" "a" }}', "true true false true"),
        ('{{ len .l }} {{ len "abc" }} {{ len .m }}', "3 3 1"),
        ('{{ index .l 1 }} {{ index .m "k" }} {{ index .n "a" "b" }}', "2 v deep"),
        (
            '{{ printf "%s|%d|%v|%q|%t|%5.2f|%-4s|%03d|%x|%%" "s" 42 .l "q\\"" true 3.14159 "ab" 7 255 }}',
            's|42|[1 2 3]|"q\\""|true| 3.14|ab  |007|ff|%',
        ),
        ('{{ printf "%d %s" 1 }}', "1 %!s(MISSING)"),
        ('{{ printf "%d" "x" }}', "%!d(string=x)"),
        (
            '{{ default "d" .nil }} {{ default "d" "" }} {{ default "d" "v" }} {{ .nil | default 3 }}',
            "d d v 3",
        ),
        (
            '{{ empty "" }} {{ empty 0 }} {{ empty .l }} {{ empty .m }} {{ empty false }}',
            "true true false false true",
        ),
        ('{{ required "need it" "ok" }}', "ok"),
        ('{{ quote "a\\"b" 1 }} {{ squote "x" }} {{ .nil | quote }}', '"a\\"b" "1" \'x\' '),
        (
            '{{ upper "ab" }} {{ lower "AB" }} {{ title "hello wORLD x-y" }}',
            "AB ab Hello WORLD X-Y",
        ),
        ('{{ trim "  a b \\n" }}|{{ trimSuffix "-" "a-" }}|{{ trimPrefix "v" "v1" }}', "a b|a|1"),
        ('{{ trunc 3 "abcdef" }} {{ trunc -2 "abcdef" }} {{ trunc 10 "ab" }}', "abc ef ab"),
        (
            '{{ replace "." "-" "a.b.c" }} {{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }} {{ hasSuffix "c" "abc" }}',
            "a-b-c true true true",
        ),
        ("{{ toYaml .m }}|{{ toYaml .l }}|{{ toYaml .nil }}", "k: v|- 1\n- 2\n- 3|null"),
        ("{{ toYaml .y }}", 'a:\n- "true"\n- "1"\n- plain\nb: |-\n  x\n  y'),
        (
            '{{ toJson .m }} {{ toJson .l }} {{ toJson "<a&b>" }}',
            '{"k":"v"} [1,2,3] "\\u003ca\\u0026b\\u003e"',
        ),
        ('{{ (fromYaml "a: 1\\nb: [x]").b }}', "[x]"),
        ('{{ "a\\nb" | indent 2 }}|{{ "a\\nb" | nindent 2 }}', "  a\n  b|\n  a\n  b"),
        ('{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }}', "aGVsbG8= hello"),
        (
            '{{ list 1 "a" }} {{ dict "b" 1 "a" 2 }} {{ get .m "k" }} {{ get .m "none" }}|',
            "[1 a] map[a:2 b:1] v |",
        ),
        (
            '{{ $d := dict }}{{ $_ := set $d "x" 1 }}{{ $d.x }} {{ hasKey $d "x" }} {{ hasKey $d "y" }}',
            "1 true false",
        ),
        ('{{ keys .m }} {{ keys (dict "b" 1 "a" 2) | sortAlpha }}', "[k] [a b]"),
        (
            '{{ $a := dict "x" (dict "p" 1) "y" 1 }}{{ $b := dict "x" (dict "p" 2 "q" 3) "z" 4 }}{{ merge $a $b | toJson }}',
            '{"x":{"p":1,"q":3},"y":1,"z":4}',
        ),
        ('{{ mergeOverwrite (dict "a" 1 "b" 1) (dict "a" 2) | toJson }}', '{"a":2,"b":1}'),
        ('{{ ternary "y" "n" true }} {{ ternary "y" "n" 0 }}', "y n"),
        (
            '{{ toString 1 }} {{ toString 1.5 }} {{ toString true }} {{ int "42" }} {{ int 3.9 }} {{ int "x" }}',
            "1 1.5 true 42 3 0",
        ),
        ('{{ int64 "7" }} {{ float64 "1.25" }} {{ atoi "12" }} {{ atoi "1x" }}', "7 1.25 12 0"),
        (
            '{{ semverCompare ">=1.21-0" "v1.30.0" }} {{ semverCompare "<1.19" "v1.30.0" }}',
            "true false",
        ),
        (
            '{{ semverCompare "^1.2.0" "1.9.3" }} {{ semverCompare "~1.2.0" "1.3.0" }} {{ semverCompare ">1.0, <2.0 || >=3" "3.1.0" }}',
            "true false true",
        ),
        ('{{ lookup "v1" "Secret" "default" "x" | toJson }}', "{}"),
        (
            '{{ coalesce .nil "" "c" }} {{ join "," .l }} {{ splitList "," "a,b" }} {{ until 3 }}',
            "c 1,2,3 [a b] [0 1 2]",
        ),
        (
            "{{ add 1 2 }} {{ sub 5 3 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 2 }}",
            "3 2 24 3 1 5",
        ),
        (
            "{{ first .l }} {{ last .l }} {{ has 2 .l }} {{ append .l 4 }} {{ uniq (list 1 1 2) }}",
            "1 3 true [1 2 3 4] [1 2]",
        ),
        (
            '{{ kindOf .m }} {{ kindIs "slice" .l }} {{ typeOf "s" }} {{ dig "n" "a" "b" "dflt" . }}',
            "map true string deep",
        ),
        (
            '{{ sha256sum "a" | trunc 8 }} {{ repeat 3 "ab" }} {{ cat "a" .nil "b" }} {{ substr 1 3 "abcd" }}',
            "ca978112 ababab a b bc",
        ),
        (
            '{{ pick .n "a" | toJson }} {{ omit .m "k" | toJson }} {{ println "x" }}',
            '{"a":{"b":"deep"}} {} x\n',
        ),
        (
            '{{ merge (dict "a" false "b" "x") (dict "a" true "b" "y" "c" 1) | toJson }}',
            '{"a":true,"b":"x","c":1}',
        ),
        (
            "{{ toYaml .f }}|{{ toJson .f }}|{{ .f.w }} {{ .f.h }} {{ .f.e }}",
            'e: 1.0e+21\nh: 0.5\nw: 2|{"e":1e+21,"h":0.5,"w":2}|2 0.5 1e+21',
        ),
        (
            "{{ ceil 1.2 }} {{ floor 1.8 }} {{ round 1.256 2 }} {{ reverse (list 1 2) }} "
            '{{ without (list 1 2 3) 2 }} {{ slice (list 1 2 3) 1 }} {{ abbrev 5 "hello world" }}',
            "2 1 1.26 [2 1] [1 3] [2 3] he...",
        ),
        (
            '{{ snakecase "FirstName" }} {{ kebabcase "firstName" }} {{ camelcase "http_server" }} '
            '{{ base "a/b.txt" }} {{ dir "a/b" }} {{ ext "a.yaml" }}',
            "first_name first-name HttpServer b.txt a .yaml",
        ),
        (
            "{{ randAlphaNum 8 | len }} {{ uuidv4 | len }} {{ eq (randAlpha 6) (randAlpha 6) }}",
            "8 36 false",
        ),
    ],
)
def test_functions(src: str, want: str) -> None:
    data = {
        "l": [1, 2, 3],
        "m": {"k": "v"},
        "n": {"a": {"b": "deep"}},
        "y": {"b": "x\ny", "a": ["true", "1", "plain"]},
        "nil": None,
        "f": {"w": 2.0, "h": 0.5, "e": 1e21},
    }
    assert r(src, data) == want


def test_files_and_builtin_objects(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART + "description: KPM monitor\n",
            "config/app.conf": "level=debug\n",
            "config/extra.conf": "x=1\n",
            "templates/cm.yaml": (
                '{{ .Files.Get "config/app.conf" | trim }}|{{ .Files.Get "nope" }}|'
                '{{ range $p, $_ := .Files.Glob "config/*.conf" }}{{ $p }},{{ end }}|'
                '{{ (.Files.Glob "config/app.*").AsConfig }}|'
                "{{ .Release.Name }} {{ .Release.Namespace }} {{ .Release.Service }} {{ .Release.IsInstall }}|"
                "{{ .Chart.Name }} {{ .Chart.Version }} {{ .Chart.AppVersion }} {{ .Chart.Description }} {{ .Chart.APIVersion }}|"
                "{{ .Template.Name }} {{ .Template.BasePath }}|{{ .Capabilities.KubeVersion.Version }} "
                '{{ .Capabilities.APIVersions.Has "policy/v1" }} {{ .Capabilities.KubeVersion.Minor }} '
                '{{ semverCompare ">=1.21-0" .Capabilities.KubeVersion.GitVersion }}'
            ),
        },
    )
    [t] = helm_render(tmp_path).templates
    assert t.error is None, str(t.error)
    assert t.text == (
        "level=debug||config/app.conf,config/extra.conf,|app.conf: |\n  level=debug|"
        "release-name default Helm true|kpmmon 0.3.1 1.4.0 KPM monitor v2|"
        "kpmmon/templates/cm.yaml kpmmon/templates|v1.30.0 true 30 true"
    )


def test_subcharts_values_scope_condition_and_tgz(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART + "dependencies:\n  - name: db\n    condition: db.enabled\n"
            "  - name: cache\n    alias: redis\n    condition: redis.enabled\n",
            "values.yaml": "global: {region: eu}\ndb: {enabled: true, port: 5433}\nredis: {enabled: false}\n",
            "templates/a.yaml": 'parent: {{ .Chart.Name }} {{ include "db.port" . }}\n',
            "charts/db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 1.0.0\n",
            "charts/db/values.yaml": "port: 5432\nuser: app\n",
            "charts/db/templates/_h.tpl": '{{ define "db.port" }}{{ .Values.db.port | default "none" }}{{ end }}',
            "charts/db/templates/s.yaml": "db: {{ .Values.port }} {{ .Values.user }} {{ .Values.global.region }} {{ .Chart.Name }} {{ .Chart.IsRoot }}\n",
            "charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
            "charts/cache/templates/s.yaml": "cache\n",
            "charts/lib-1.0.0.tgz": "not extracted",
        },
    )
    out = helm_render(tmp_path)
    texts = {t.path: t.text for t in out.templates}
    assert texts == {
        "templates/a.yaml": "parent: kpmmon 5433\n",
        "charts/db/templates/s.yaml": "db: 5433 app eu db false\n",
    }
    assert len(out.notes) == 1 and "charts/lib-1.0.0.tgz: not a readable" in out.notes[0]


def test_missing_include_renders_empty_with_a_note(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART,
            "templates/x.yaml": 'a: {{ include "common.labels" . }}b\n{{ template "other" }}'
            + "apiVersion: v1\nkind: ConfigMap\n",
        },
    )
    [t] = helm_render(tmp_path).templates
    assert t.text == "a: b\napiVersion: v1\nkind: ConfigMap\n" and t.missing == {
        'include "common.labels"',
        'template "other"',
    }
    ids, _ = _k8s(tmp_path)
    assert "helm-template-unsupported" in ids


# --- errors and hostile templates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "message", "kind"),
    [
        ("line1\n{{ .a ", "t.yaml:2: unclosed action", "error"),
        ("{{/* open", "t.yaml:1: unclosed comment", "error"),
        ("{{ if .a }}x", "t.yaml:1: unexpected EOF", "error"),
        ("{{ end }}", "t.yaml:1: unexpected {{end}}", "error"),
        (
            "a\n{{- /* c\n */ -}}\n\n{{ if true -}}\n\n{{ nope }}{{ end }}",
            "t.yaml:7: function",
            "unknown-function",
        ),
        (
            '\n\n{{ frobnicate "x" }}',
            't.yaml:3: function "frobnicate" not defined',
            "unknown-function",
        ),
        (
            '{{ required "image.tag is required" .Values.nope }}',
            "t.yaml:1: image.tag is required",
            "required",
        ),
        ('{{ fail "unsupported mode" }}', "t.yaml:1: unsupported mode", "fail"),
        ("{{ .Values.a.b.c }}", "nil pointer evaluating interface {}.c", "error"),
        ('{{ eq 1 "a" }}', "incompatible types for comparison", "error"),
        ("{{ $nope }}", "undefined variable: $nope", "error"),
        ('{{ "x" 1 }}', "can't give argument to non-function", "error"),
        (
            '{{ .Files.Get "../../etc/passwd" }}',
            'Files.Get "../../etc/passwd": path is outside the chart',
            "error",
        ),
        ('{{ .Files.Get "/etc/passwd" }}', "path is outside the chart", "error"),
        ("{{ index (list 1) 5 }}", "index out of range", "error"),
        (
            'a\n{{ tpl "x\\n{{ .nope.x }}" . }}',
            "t.yaml:2: error calling tpl: tpl:2: nil pointer evaluating interface {}.x",
            "error",
        ),
        (
            '{{ tpl "{{ if }}" . }}',
            "t.yaml:1: error calling tpl: tpl:1: missing value for if",
            "error",
        ),
        ('{{ "a" | }}', "missing command after |", "error"),
        ("{{ (1 }}", "unclosed left paren", "error"),
    ],
)
def test_template_errors_are_one_line_with_position(
    tmp_path: Path, src: str, message: str, kind: str
) -> None:
    write_tree(tmp_path, {"Chart.yaml": CHART, "values.yaml": "a: {}\n", "templates/t.yaml": src})
    [t] = helm_render(tmp_path).templates
    assert t.error is not None and isinstance(t.error, TemplateError)
    text = str(t.error)
    assert message in text and "\n" not in text and text.startswith("templates/t.yaml:")
    assert t.error.kind == kind


def _hostile(tmp_path: Path, src: str, limits: RenderLimits | None = None) -> TemplateError:
    write_tree(tmp_path, {"Chart.yaml": CHART, "templates/t.yaml": src})
    start = time.monotonic()
    [t] = helm_render(tmp_path, limits=limits).templates
    assert time.monotonic() - start < 10
    assert t.error is not None
    return t.error


def test_infinite_include_recursion(tmp_path: Path) -> None:
    err = _hostile(
        tmp_path, '{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}'
    )
    assert err.kind == "limit" and "nested include/template calls" in str(err)


def test_mutual_template_recursion(tmp_path: Path) -> None:
    err = _hostile(
        tmp_path,
        '{{ define "a" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "a" }}{{ end }}{{ template "a" }}',
    )
    assert err.kind == "limit"


def test_huge_range_is_bounded(tmp_path: Path) -> None:
    err = _hostile(tmp_path, "{{ range until 100000000 }}x{{ end }}")
    assert err.kind == "limit" and "until" in str(err)
    err = _hostile(tmp_path, "{{ range 100000000 }}x{{ end }}")
    assert err.kind == "limit"


def test_step_budget(tmp_path: Path) -> None:
    src = "{{ range until 1000 }}{{ range until 1000 }}{{ end }}{{ end }}"
    err = _hostile(tmp_path, src, RenderLimits(max_steps=50_000))
    assert err.kind == "limit" and "evaluation steps" in str(err)


def test_exponential_output_is_bounded(tmp_path: Path) -> None:
    defs = ['{{ define "l0" }}xxxxxxxxxxxxxxxx{{ end }}']
    for i in range(1, 30):
        defs.append(
            f'{{{{ define "l{i}" }}}}{{{{ include "l{i - 1}" . }}}}{{{{ include "l{i - 1}" . }}}}{{{{ end }}}}'
        )
    err = _hostile(
        tmp_path, "".join(defs) + '{{ include "l29" . }}', RenderLimits(max_output=1 << 20)
    )
    assert err.kind == "limit" and "larger than" in str(err)


def test_huge_strings_and_deep_nesting(tmp_path: Path) -> None:
    assert _hostile(tmp_path, '{{ repeat 100000000 "abcdefgh" }}').kind == "limit"
    assert _hostile(tmp_path, '{{ printf "%999999999d" 1 }}').kind == "limit"
    assert _hostile(tmp_path, "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}").kind == "limit"
    err = _hostile(tmp_path, '{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ toYaml $d }}')
    assert err.kind == "limit"


def test_files_never_leave_the_chart(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("TOP SECRET")
    chart = tmp_path / "chart"
    write_tree(
        chart,
        {
            "Chart.yaml": CHART,
            "templates/t.yaml": '{{ .Files.Get "link.txt" }}|{{ .Files.Get "templates/t.yaml" }}',
        },
    )
    (chart / "link.txt").symlink_to(outside)
    [t] = helm_render(chart).templates
    assert t.error is None and t.text == "|"


def test_analyzer_reports_render_errors_and_keeps_going(tmp_path: Path) -> None:
    make_chart(tmp_path)
    write_tree(
        tmp_path,
        {
            "templates/bad.yaml": "kind: Pod\n{{ toml .Values }}\n",
            "templates/req.yaml": '{{ required "set image.digest" .Values.image.digest }}',
        },
    )
    result = K8sAnalyzer().run(ScanContext(tmp_path, kind="helm", target=str(tmp_path)))
    by_rule = {f.rule_id: f for f in result.findings}
    unsupported = by_rule["helm-template-unsupported"]
    assert (
        unsupported.severity.label == "info"
        and 'function "toml" not defined' in unsupported.message
    )
    assert unsupported.location is not None and unsupported.location.path == "templates/bad.yaml"
    assert unsupported.location.start_line == 2
    assert by_rule["helm-render-failed"].severity.label == "low"
    assert result.status == "ok" and result.scanned_count == 1


def test_analyzer_fails_when_nothing_renders(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Chart.yaml": CHART, "templates/d.yaml": "kind: Pod\n{{ if }}\n"})
    result = K8sAnalyzer().run(ScanContext(tmp_path, kind="helm", target=str(tmp_path)))
    assert result.status == "failed" and "templates/d.yaml:2: missing value for if" in (
        result.reason or ""
    )


def test_function_table_is_complete() -> None:
    names = (
        "and or not eq ne lt le gt ge len index print printf default empty required fail quote "
        "squote upper lower title trim trimSuffix trimPrefix trunc replace contains hasPrefix "
        "hasSuffix toYaml toJson fromYaml indent nindent b64enc b64dec list dict get set hasKey "
        "keys merge ternary toString int int64 float64 atoi semverCompare include tpl lookup"
    )
    wanted = set(names.split())
    assert wanted <= FUNCTION_NAMES


def test_toyaml_output_is_valid_yaml_roundtrip() -> None:
    data = {"b": [{"x": "yes"}, "null", 1.5, None], "a": {"z": "multi\nline\n", "y": "#c"}}
    out = r("{{ toYaml . }}", data)
    assert yaml.safe_load(out) == data


def test_files_glob_patterns_and_no_backtracking(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART,
            "conf/a.yaml": "a",
            "conf/b.json": "b",
            "conf/deep/c.yaml": "c",
            "f" + "a" * 200: "long",
            "templates/t.yaml": (
                '{{ range $p, $_ := .Files.Glob "conf/*.{yaml,json}" }}{{ $p }} {{ end }}|'
                '{{ range $p, $_ := .Files.Glob "conf/**.yaml" }}{{ $p }} {{ end }}|'
                '{{ len (.Files.Glob "conf/[ab].*") }}|'
                '{{ len (.Files.Glob "' + "*a" * 60 + 'b") }}'
            ),
        },
    )
    start = time.monotonic()
    [t] = helm_render(tmp_path).templates
    assert time.monotonic() - start < 2
    assert t.error is None, str(t.error)
    assert t.text == "conf/a.yaml conf/b.json |conf/a.yaml conf/deep/c.yaml |2|0"


def test_error_inside_a_helper_points_at_the_helper(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART,
            "values.yaml": "image: {}\n",
            "templates/_helpers.tpl": '{{- define "img" -}}\n\n{{ required "image.tag is required" .Values.image.tag }}\n{{- end }}',
            "templates/d.yaml": 'a: 1\nimage: {{ include "img" . }}\n',
        },
    )
    [t] = helm_render(tmp_path).templates
    assert t.error is not None
    assert str(t.error) == "templates/_helpers.tpl:3: image.tag is required"
    assert t.error.kind == "required"


def _tgz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_packaged_subcharts_are_read_in_memory(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART,
            "values.yaml": "common: {tag: x}\nimage: {repository: r.example/app, tag: 2.0.0}\n",
            "templates/d.yaml": 'image: {{ include "common.image" . }}\n',
        },
    )
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "common-2.0.0.tgz").write_bytes(
        _tgz(
            {
                "common/Chart.yaml": "apiVersion: v2\nname: common\ntype: library\nversion: 2.0.0\n",
                "common/values.yaml": "tag: default\n",
                "common/templates/_images.tpl": (
                    '{{- define "common.image" -}}'
                    "{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end }}"
                ),
                "common/templates/cm.yaml": 'tag: {{ .Values.tag }} {{ .Files.Get "../x" | default "-" }}',
                "../evil/templates/x.yaml": "evil",
            }
        )
    )
    (tmp_path / "charts" / "broken.tgz").write_bytes(b"not a tar")
    out = helm_render(tmp_path)
    texts = {t.path: (t.text, str(t.error) if t.error else None) for t in out.templates}
    assert texts["templates/d.yaml"] == ("image: r.example/app:2.0.0\n", None)
    assert "charts/common-2.0.0.tgz/templates/cm.yaml" not in texts  # library chart
    assert not any("evil" in p for p in texts)
    assert any("../evil" in n for n in out.notes)
    assert any("charts/broken.tgz: not a readable chart archive" in n for n in out.notes)


def test_packaged_subchart_bomb_is_not_expanded(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Chart.yaml": CHART, "templates/a.yaml": "a: 1\n"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo("bomb/Chart.yaml")
        info.size = 80 << 20
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "bomb.tgz").write_bytes(buf.getvalue())
    start = time.monotonic()
    out = helm_render(tmp_path)
    assert time.monotonic() - start < 5
    assert [t.path for t in out.templates] == ["templates/a.yaml"]
    assert out.notes == ["charts/bomb.tgz: packaged subchart too large, not rendered"]


def test_analyzer_renders_subcharts_once_with_parent_values(tmp_path: Path) -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers:\n"
        "    - name: db\n      image: r.example/db:1.0\n"
        "      securityContext: {privileged: {{ .Values.privileged }}}\n"
    )
    write_tree(
        tmp_path,
        {
            "Chart.yaml": CHART,
            "values.yaml": "db: {privileged: true}\n",
            "charts/db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 1.0.0\n",
            "charts/db/values.yaml": "privileged: false\n",
            "charts/db/templates/pod.yaml": pod,
        },
    )
    result = K8sAnalyzer().run(ScanContext(tmp_path, kind="helm", target=str(tmp_path)))
    priv = [f for f in result.findings if f.rule_id == "k8s-privileged"]
    assert len(priv) == 1 and priv[0].location is not None
    assert priv[0].location.path == "charts/db/templates/pod.yaml"
    assert result.scanned_count == 1


def test_deeply_nested_values_are_a_note(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Chart.yaml": CHART, "templates/t.yaml": "x"})
    deep: dict[str, Any] = {}
    for _ in range(250):
        deep = {"a": deep}
    out = helm_render(tmp_path, {"db": deep})
    assert out.templates == [] and "nested too deeply" in out.notes[0]


def test_random_stand_ins_are_reproducible() -> None:
    src = "{{ randAlphaNum 12 }} {{ randAlphaNum 12 }} {{ uuidv4 }}"
    first = r(src)
    a, b, _ = first.split()
    assert a != b and first == r(src)
