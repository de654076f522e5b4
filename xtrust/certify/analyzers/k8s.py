"""Kubernetes and Helm rules on rendered manifests.

Plain manifests (YAML documents with ``apiVersion`` and ``kind``) are checked
as they are. Helm charts (a directory with ``Chart.yaml``) are rendered by a
small built-in renderer, because ``helm`` is not required:

* supported: ``{{ .Values.a.b }}``, ``{{ .Release.Name }}`` (``release-name``),
  ``{{ .Release.Namespace }}`` (``default``), ``{{ .Chart.Name }}``,
  ``{{ .Chart.Version }}``, ``{{ .Chart.AppVersion }}``, ``{{- ... -}}`` trim
  markers, comments, and the pipes ``quote``, ``default X``, ``int``,
  ``toYaml``, ``indent N``, ``nindent N``;
* control actions (``if``/``else``/``range``/``with``/``end``) are removed and
  their bodies kept, i.e. every ``if`` is taken as true and ``range`` bodies
  appear once; ``include``, ``template``, ``tpl``, ``lookup`` and other
  functions are not evaluated (an info finding names the file).

Rules per pod template: privileged containers, ``hostNetwork``/``hostPID``/
``hostIPC``, ``runAsNonRoot`` not set, added capabilities, missing CPU/memory
limits, writable root file system, privilege escalation allowed, automounted
service-account token, mutable image tags. YAML that does not parse, or
whose aliases expand past a node budget (a "billion laughs" document), is a
finding; checkov is not used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import iter_files

__all__ = ["K8sAnalyzer", "load_yaml_documents", "render_chart"]

_MAX_FILE = 2 << 20
_MAX_NODES = 200_000
_POD_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_RAW", "DAC_READ_SEARCH"}  # fmt: skip


class YamlProblem(ValueError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


@dataclass
class Document:
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    start: int = 1

    def line(self, path: tuple[Any, ...]) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.start


def load_yaml_documents(text: str) -> list[Document]:
    """Parse all documents, recording the line of every mapping key; raises YamlProblem."""
    constructor = yaml.constructor.SafeConstructor()
    budget = [0]

    def conv(node: yaml.Node, path: tuple[Any, ...], doc: Document) -> Any:
        budget[0] += 1
        if budget[0] > _MAX_NODES:
            raise YamlProblem(f"more than {_MAX_NODES} nodes (alias expansion bomb?)", None)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k, v in node.value:
                key = constructor.construct_object(k) if isinstance(k, yaml.ScalarNode) else str(k)
                try:
                    hash(key)
                except TypeError:
                    key = str(key)
                doc.lines[(*path, key)] = k.start_mark.line + 1
                out[key] = conv(v, (*path, key), doc)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [conv(v, (*path, i), doc) for i, v in enumerate(node.value)]
        try:
            return constructor.construct_object(node)
        except yaml.YAMLError:
            return str(getattr(node, "value", ""))

    docs = []
    try:
        for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
            if node is None:
                continue
            doc = Document(None, start=node.start_mark.line + 1)
            doc.data = conv(node, (), doc)
            docs.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(
            " ".join(str(exc.problem or exc).split()), mark.line + 1 if mark else None
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlProblem(" ".join(str(exc).split())[:200] or "not YAML", None) from None
    return docs


# --- the minimal Helm renderer -------------------------------------------------------------

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_CONTROL = re.compile(r"^(if|else|else if|end|range|with|define|block)\b")


def _lookup(root: Any, dotted: str) -> Any:
    cur = root
    for part in dotted.split("."):
        if not part:
            continue
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None
    return cur


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return str(value)


class _Renderer:
    def __init__(self, values: dict[str, Any], chart: dict[str, Any]):
        self.scope = {
            "Values": values,
            "Release": {"Name": "release-name", "Namespace": "default", "Service": "Helm"},
            "Chart": {
                "Name": chart.get("name", ""),
                "Version": chart.get("version", ""),
                "AppVersion": chart.get("appVersion", ""),
            },
        }
        self.unsupported: set[str] = set()

    def _term(self, term: str) -> Any:
        term = term.strip()
        if term.startswith(".") and re.fullmatch(r"(\.[A-Za-z_][\w-]*)+", term):
            return _lookup(self.scope, term[1:])
        if re.fullmatch(r'"(?:[^"\\]|\\.)*"', term):
            return term[1:-1]
        if re.fullmatch(r"-?\d+", term):
            return int(term)
        if term in ("true", "false"):
            return term == "true"
        raise LookupError(term)

    def expr(self, text: str) -> tuple[Any, bool]:
        """(value, is_block) of a pipeline; raises LookupError if unsupported."""
        stages = [s.strip() for s in text.split("|")]
        head = stages[0].split()
        if len(head) == 2 and head[0] in ("toYaml", "quote", "int"):
            stages = [head[1], head[0], *stages[1:]]  # function-call form: toYaml .Values.x
            head = [head[1]]
        if len(head) == 3 and head[0] == "default":
            value = self._term(head[2])
            if value in (None, "", [], {}):
                value = self._term(head[1])
        elif len(head) == 1:
            value = self._term(head[0])
        else:
            raise LookupError(head[0])
        block = False
        for stage in stages[1:]:
            words = stage.split()
            fn = words[0] if words else ""
            if fn == "quote":
                value = '"' + _scalar(value).replace('"', '\\"') + '"'
            elif fn == "default" and len(words) == 2:
                if value in (None, "", [], {}):
                    value = self._term(words[1])
            elif fn == "int":
                value = int(value or 0)
            elif fn == "toYaml":
                value = yaml.safe_dump(value, default_flow_style=False, sort_keys=False).rstrip()
                block = True
            elif fn in ("indent", "nindent") and len(words) == 2 and words[1].isdigit():
                pad = " " * int(words[1])
                value = "\n".join(pad + line for line in _scalar(value).splitlines())
                if fn == "nindent":
                    value = "\n" + value
            else:
                raise LookupError(fn)
        return value, block

    def render(self, text: str) -> str:
        text = re.sub(
            r"\{\{-?\s*/\*.*?\*/\s*-?\}\}",
            lambda m: "\n" * m.group(0).count("\n"),
            text,
            flags=re.S,
        )
        lines = []
        for line in text.split("\n"):
            actions = _ACTION.findall(line)
            stripped = _ACTION.sub("", line).strip()
            if actions and not stripped and all(self._is_control(a) for a in actions):
                lines.append("")  # keep line numbers
                continue
            lines.append(_ACTION.sub(self._sub, line))
        return "\n".join(lines)

    def _is_control(self, action: str) -> bool:
        return bool(_CONTROL.match(action)) or action.startswith(("include", "template", "$"))

    def _sub(self, m: re.Match[str]) -> str:
        body = m.group(1)
        if _CONTROL.match(body):
            return ""
        try:
            value, _ = self.expr(body)
        except (LookupError, ValueError, TypeError):
            self.unsupported.add(body.split()[0] if body.split() else body)
            return ""
        return _scalar(value) if not isinstance(value, str) else value


def render_chart(chart_root: Path) -> Iterator[tuple[str, str, set[str]]]:
    """(template path relative to chart, rendered text, unsupported functions) per template."""
    try:
        chart = yaml.safe_load((chart_root / "Chart.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        chart = {}
    values: Any = {}
    if (chart_root / "values.yaml").is_file():
        try:
            values = yaml.safe_load((chart_root / "values.yaml").read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            values = {}
    if not isinstance(values, dict):
        values = {}
    templates = chart_root / "templates"
    if not templates.is_dir():
        return
    for rel, path in iter_files(templates, suffixes=(".yaml", ".yml")):
        if path.stat().st_size > _MAX_FILE:
            continue
        renderer = _Renderer(values, chart if isinstance(chart, dict) else {})
        text = path.read_text(encoding="utf-8", errors="replace")
        yield f"templates/{rel}", renderer.render(text), renderer.unsupported


# --- rules ---------------------------------------------------------------------------------


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        if isinstance(data, dict):
            data = data.get(p)
        else:
            return None
    return data


class K8sAnalyzer(Analyzer):
    name = "k8s"
    category = "misconfiguration"
    revision = "1"

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind in ("descriptor", "image"):
            return f"not applicable to a {ctx.kind} target"
        if not self._has_yaml(ctx.root):
            return "no Kubernetes manifests or Helm charts in the target"
        return None

    def _has_yaml(self, root: Path) -> bool:
        for _, path in iter_files(root, suffixes=(".yaml", ".yml")):
            if path.name == "Chart.yaml":
                return True
            try:
                head = path.read_bytes()[:65536].decode("utf-8", "replace")
            except OSError:
                continue
            if re.search(r"(?m)^\s*kind:\s*\S", head) and "apiVersion" in head:
                return True
        return False

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        findings: list[Finding] = []
        scanned = 0
        charts = sorted({p.parent for _, p in iter_files(ctx.root) if p.name == "Chart.yaml"})
        template_dirs = [c / "templates" for c in charts]
        chart_templates = 0
        for chart in charts:
            chart_rel = chart.relative_to(ctx.root).as_posix()
            prefix = "" if chart_rel == "." else chart_rel + "/"
            for rel, text, unsupported in render_chart(chart):
                chart_templates += 1
                where = prefix + rel
                if unsupported:
                    findings.append(
                        self.finding(
                            "helm-template-unsupported",
                            S.INFO,
                            f"template uses {', '.join(sorted(unsupported))}, which the built-in renderer does not evaluate (rendered as empty)",
                            Location(where),
                        )
                    )
                n, f = self._check_text(where, text, rendered=True)
                scanned += n
                findings.extend(f)
        for rel, path in iter_files(ctx.root, suffixes=(".yaml", ".yml")):
            if any(path.is_relative_to(t) for t in template_dirs) or path.name in (
                "Chart.yaml",
                "values.yaml",
            ):
                continue
            if path.stat().st_size > _MAX_FILE:
                findings.append(
                    self.finding(
                        "yaml-too-large", S.LOW, "YAML file over 2 MiB; not checked", Location(rel)
                    )
                )
                continue
            text = path.read_bytes().decode("utf-8", "replace")
            if not (re.search(r"(?m)^\s*kind:", text) and "apiVersion" in text):
                continue
            n, f = self._check_text(rel, text, rendered=False)
            scanned += n
            findings.extend(f)
        if charts and chart_templates and not scanned:
            return AnalyzerResult(
                self.name,
                "failed",
                "Helm chart templates could not be rendered into any manifest by the built-in renderer",
                tool_version=self.tool_version(),
            )
        return self.result(findings, scanned)

    def _check_text(self, rel: str, text: str, *, rendered: bool) -> tuple[int, list[Finding]]:
        try:
            docs = load_yaml_documents(text)
        except YamlProblem as exc:
            what = "rendered Helm template" if rendered else "YAML"
            return 0, [
                self.finding(
                    "yaml-malformed",
                    S.LOW if rendered else S.MEDIUM,
                    f"{what} does not parse: {exc}",
                    Location(rel, exc.line),
                )
            ]
        out: list[Finding] = []
        n = 0
        for doc in docs:
            if not isinstance(doc.data, dict) or "kind" not in doc.data:
                continue
            n += 1
            out.extend(self._check_doc(rel, doc))
        return n, out

    def _check_doc(self, rel: str, doc: Document) -> list[Finding]:
        data = doc.data
        kind = str(data.get("kind"))
        name = str(_get(data, ("metadata", "name")) or "?")
        obj = f"{kind}/{name}"
        out: list[Finding] = []
        pod_path = _POD_PATHS.get(kind)
        if pod_path is None:
            return out
        spec = _get(data, pod_path)
        if not isinstance(spec, dict):
            return out

        def add(rule: str, sev: S, msg: str, path: tuple[Any, ...], snippet: str) -> None:
            out.append(
                self.finding(
                    rule,
                    sev,
                    f"{obj}: {msg}",
                    Location(rel, doc.line(path), snippet=f"{obj} {snippet}"),
                    rule_name=rule,
                )
            )

        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host) is True:
                add(
                    f"k8s-{host.lower()}",
                    S.HIGH,
                    f"{host} shares the node's namespace with the pod",
                    (*pod_path, host),
                    host,
                )
        if spec.get("automountServiceAccountToken") is not False:
            add(
                "k8s-sa-token-automount",
                S.LOW,
                "the service-account token is mounted automatically; set automountServiceAccountToken: false unless the app calls the API",
                (*pod_path,),
                "automountServiceAccountToken",
            )
        pod_sc: dict[str, Any] = spec.get("securityContext") or {}
        if not isinstance(pod_sc, dict):
            pod_sc = {}
        for group in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(group) or []):
                if not isinstance(c, dict):
                    continue
                cpath = (*pod_path, group, i)
                cname = str(c.get("name") or i)
                sc: dict[str, Any] = c.get("securityContext") or {}
                if not isinstance(sc, dict):
                    sc = {}
                if sc.get("privileged") is True:
                    add(
                        "k8s-privileged",
                        S.CRITICAL,
                        f"container {cname} is privileged",
                        (*cpath, "securityContext", "privileged"),
                        f"{cname} privileged",
                    )
                non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
                uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
                if not (non_root is True or (isinstance(uid, int) and uid > 0)) or uid == 0:
                    add(
                        "k8s-run-as-root",
                        S.HIGH,
                        f"container {cname} may run as root (set runAsNonRoot: true)",
                        (*cpath, "securityContext"),
                        f"{cname} runAsNonRoot",
                    )
                caps = _get(sc, ("capabilities", "add")) or []
                if isinstance(caps, list) and caps:
                    names = sorted(str(x).upper().removeprefix("CAP_") for x in caps)
                    bad = _DANGEROUS_CAPS.intersection(names)
                    add(
                        "k8s-added-capabilities",
                        S.HIGH if bad else S.MEDIUM,
                        f"container {cname} adds capabilities {', '.join(names)}",
                        (*cpath, "securityContext", "capabilities", "add"),
                        f"{cname} capabilities {','.join(names)}",
                    )
                if sc.get("allowPrivilegeEscalation") is not False:
                    add(
                        "k8s-privilege-escalation",
                        S.MEDIUM,
                        f"container {cname} allows privilege escalation (set allowPrivilegeEscalation: false)",
                        (*cpath, "securityContext"),
                        f"{cname} allowPrivilegeEscalation",
                    )
                if sc.get("readOnlyRootFilesystem") is not True:
                    add(
                        "k8s-writable-root-fs",
                        S.MEDIUM,
                        f"container {cname} has a writable root file system (set readOnlyRootFilesystem: true)",
                        (*cpath, "securityContext"),
                        f"{cname} readOnlyRootFilesystem",
                    )
                limits = _get(c, ("resources", "limits"))
                missing = [
                    r for r in ("cpu", "memory") if not (isinstance(limits, dict) and limits.get(r))
                ]
                if missing:
                    add(
                        "k8s-no-resource-limits",
                        S.MEDIUM,
                        f"container {cname} has no {' or '.join(missing)} limit",
                        (*cpath, "resources"),
                        f"{cname} limits {','.join(missing)}",
                    )
                image = str(c.get("image") or "")
                last = image.rsplit("/", 1)[-1]
                if image and "@" not in image and (":" not in last or last.endswith(":latest")):
                    add(
                        "k8s-mutable-image-tag",
                        S.MEDIUM,
                        f"container {cname} image {image!r} has no pinned tag",
                        (*cpath, "image"),
                        f"{cname} image",
                    )
        return out
