"""Kubernetes and Helm rules on rendered manifests.

Plain manifests (YAML documents with ``apiVersion`` and ``kind``) are checked
as they are. Helm charts (a directory with ``Chart.yaml``) are rendered by
:mod:`xtrust.certify.helm`, a safe implementation of the Go template language
with Helm's objects and functions, because ``helm`` is not required: ``if``,
``range``, ``with``, ``define``/``include``/``template``/``tpl``, variables
and the common Sprig functions are evaluated as ``helm template`` would with
the chart's ``values.yaml`` (subcharts under ``charts/`` included, with their
values scope). Findings on rendered templates point at lines of the rendered
output. A template that cannot be rendered (unknown function, ``required``
or ``fail``, a syntax error, a resource limit) is an info/low/medium
finding with ``file:line``; an ``include`` of a name no file defines
renders as empty with an info finding.

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

from xtrust.certify import helm
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


# --- Helm ----------------------------------------------------------------------------------


def render_chart(chart_root: Path) -> Iterator[tuple[str, str, set[str]]]:
    """(template path relative to chart, rendered text, what was not evaluated) per template.

    Rendering is :func:`xtrust.certify.helm.render_chart` (subcharts included,
    their paths under ``charts/``). The set names ``include``/``template`` when
    a called name is not defined, the function name when an unknown function
    stopped the template, or the error message of any other error (the text is
    then empty).
    """
    for t in helm.render_chart(chart_root).templates:
        unsupported = {m.split(" ", 1)[0] for m in t.missing}
        if t.error is not None:
            if t.error.kind == "unknown-function":
                unsupported.add(t.error.reason.split('"')[1] if '"' in t.error.reason else "?")
            else:
                unsupported.add(str(t.error))
        yield t.path, t.text, unsupported


def _where(prefix: str, error: helm.TemplateError) -> Location:
    path, _, line = error.where.rpartition(":")
    if not path or not line.isdigit():
        return Location(prefix + (error.where or "Chart.yaml"), snippet=error.reason)
    return Location(prefix + path, int(line) or None, snippet=error.reason)


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
    revision = "2"

    def cache_salt(self, ctx: ScanContext) -> str:
        """User Helm values change the rendered manifests: they are part of the key."""
        if not ctx.helm_values:
            return ""
        import hashlib
        import json

        blob = json.dumps(ctx.helm_values, sort_keys=True, default=str).encode()
        return "values:" + hashlib.sha256(blob).hexdigest()

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
        all_charts = sorted({p.parent for _, p in iter_files(ctx.root) if p.name == "Chart.yaml"})
        template_dirs = [c / "templates" for c in all_charts]
        # a chart inside another chart's charts/ is rendered as that chart's subchart
        charts = [
            c
            for c in all_charts
            if not any(c != o and c.is_relative_to(o / "charts") for o in all_charts)
        ]
        chart_templates = 0
        first_error = ""
        for chart in charts:
            chart_rel = chart.relative_to(ctx.root).as_posix()
            prefix = "" if chart_rel == "." else chart_rel + "/"
            # user values apply to the top-level charts (as helm template -f)
            rendered = helm.render_chart(chart, ctx.helm_values or None)
            for note in rendered.notes:
                findings.append(
                    self.finding(
                        "helm-chart-note",
                        S.INFO,
                        f"Helm chart: {note}",
                        Location(prefix + "Chart.yaml", snippet=note),
                    )
                )
            for t in rendered.templates:
                where = prefix + t.path
                if t.missing:
                    findings.append(
                        self.finding(
                            "helm-template-unsupported",
                            S.INFO,
                            f"template calls {', '.join(sorted(t.missing))}, which no file of the chart defines (rendered as empty)",
                            Location(where, snippet=" ".join(sorted(t.missing))),
                        )
                    )
                chart_templates += 1
                if t.error is not None:
                    findings.append(self._render_error(prefix, t.error))
                    first_error = first_error or f"{prefix}{t.error}"
                    continue
                n, f = self._check_text(where, t.text, rendered=True)
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
                "Helm chart templates could not be rendered into any manifest by the built-in renderer"
                + (f" (first error: {first_error})" if first_error else ""),
                tool_version=self.tool_version(),
            )
        return self.result(findings, scanned)

    def _render_error(self, prefix: str, error: helm.TemplateError) -> Finding:
        if error.kind == "unknown-function":
            rule, sev, what = "helm-template-unsupported", S.INFO, "template not rendered"
        elif error.kind == "limit":
            rule, sev, what = "helm-render-limit", S.MEDIUM, "template not rendered (limit)"
        elif error.kind in ("required", "fail"):
            rule, sev, what = "helm-render-failed", S.LOW, f"template not rendered ({error.kind})"
        else:
            rule, sev, what = "helm-render-error", S.LOW, "template not rendered"
        return self.finding(rule, sev, f"{what}: {error}", _where(prefix, error))

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
