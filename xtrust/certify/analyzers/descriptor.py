"""The O-RAN SC xApp descriptor (``config-file.json``) rules.

Structure is checked with our own JSON schema
(``rules/xapp-descriptor.schema.json``, every violation reported, not only the
first); then semantic checks: O-RAN SC message names, duplicate port names and
numbers, A1 policy types declared by ports, mutable image tags (``latest``,
missing), missing liveness/readiness probes, the ``controls`` section against
the app's controls schema (``schema.json`` or ``controls.schema.json`` next to
the descriptor, as the xapp-onboarder ships it), and received message types
that the app's Python code never handles.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, ScanContext
from xtrust.certify.interface import Severity as S
from xtrust.certify.targets import iter_files
from xtrust.errors import InputError
from xtrust.ric import mtypes

__all__ = ["DescriptorAnalyzer", "find_descriptors"]

_SCHEMA = Path(__file__).resolve().parent.parent / "rules" / "xapp-descriptor.schema.json"
_MAX = 4 << 20
_NAMES = ("config-file.json", "xapp-descriptor.json", "descriptor.json")
_MUTABLE_TAGS = {"latest", "main", "master", "dev", "develop", "edge", "nightly", "stable"}
#: messages the XTRUST SDK (xtrust.ric.xapp.XApp) consumes itself
_SDK_HANDLED = {
    "RIC_SUB_RESP",
    "RIC_SUB_FAILURE",
    "RIC_SUB_DEL_RESP",
    "RIC_SUB_DEL_FAILURE",
    "RIC_CONTROL_ACK",
    "RIC_CONTROL_FAILURE",
    "RIC_HEALTH_CHECK_REQ",
}
#: messages the SDK routes to app code: a regex of the code that receives them (indications
#: go to the subscription's handler, or to ``on_indication`` when it has none)
_SDK_METHOD = {
    "RIC_INDICATION": r"\bon_indication\b|\.subscribe(?:_kpm)?\(",
    "A1_POLICY_REQ": r"\bon_policy\b",
}


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(_SCHEMA.read_text(encoding="utf-8")))


def _looks_like_descriptor(doc: Any) -> bool:
    return isinstance(doc, dict) and (
        "xapp_name" in doc or ("name" in doc and ("containers" in doc or "messaging" in doc))
    )


def find_descriptors(root: Path) -> list[tuple[str, Path]]:
    out = []
    for rel, path in iter_files(root, suffixes=(".json",)):
        name = path.name
        if name in _NAMES:
            out.append((rel, path))
            continue
        if name.endswith((".schema.json", "package.json", "package-lock.json")):
            continue
        try:
            if path.stat().st_size > _MAX:
                continue
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if _looks_like_descriptor(doc):
            out.append((rel, path))
    return out


def _jpath(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def _line_of(text: str, key: str) -> int | None:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


class DescriptorAnalyzer(Analyzer):
    name = "descriptor"
    category = "descriptor"
    revision = "2"  # 2: subscription handlers count as handling RIC_INDICATION

    def applies(self, ctx: ScanContext) -> str | None:
        if ctx.kind == "descriptor":
            return None
        if ctx.kind == "image":
            return "not applicable to a container image (certify the descriptor itself)"
        if not find_descriptors(ctx.root):
            return "no xApp descriptor (config-file.json) in the target"
        return None

    def run(self, ctx: ScanContext) -> AnalyzerResult:
        if ctx.kind == "descriptor" and ctx.descriptor is not None:
            found = [(ctx.descriptor.name, ctx.descriptor)]
        else:
            found = find_descriptors(ctx.root)
        code = self._code_text(ctx) if ctx.kind in ("source", "helm") else None
        findings: list[Finding] = []
        for rel, path in found:
            findings.extend(self._check(rel, path, code))
        return self.result(findings, len(found))

    def _code_text(self, ctx: ScanContext) -> str | None:
        chunks = []
        for _, path in iter_files(ctx.root, suffixes=(".py",)):
            try:
                if path.stat().st_size <= _MAX:
                    chunks.append(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
        return "\n".join(chunks) if chunks else None

    def _check(self, rel: str, path: Path, code: str | None) -> list[Finding]:
        def loc(key: str | None = None, snippet: str | None = None) -> Location:
            return Location(rel, _line_of(text, key) if key else None, snippet=snippet)

        try:
            data = path.read_bytes()
            if len(data) > _MAX:
                return [
                    self.finding(
                        "descriptor-too-large",
                        S.MEDIUM,
                        "descriptor over 4 MiB; not checked",
                        Location(rel),
                    )
                ]
            text = data.decode("utf-8")
            doc = json.loads(text)
        except UnicodeDecodeError as exc:
            return [
                self.finding(
                    "descriptor-malformed",
                    S.HIGH,
                    f"descriptor is not UTF-8 ({exc.reason})",
                    Location(rel),
                )
            ]
        except json.JSONDecodeError as exc:
            return [
                self.finding(
                    "descriptor-malformed",
                    S.HIGH,
                    f"descriptor is not valid JSON: {exc.msg}",
                    Location(rel, exc.lineno, start_column=exc.colno),
                )
            ]
        except OSError as exc:
            return [
                self.finding(
                    "descriptor-unreadable", S.HIGH, f"cannot read: {exc.strerror}", Location(rel)
                )
            ]
        if not isinstance(doc, dict):
            return [
                self.finding(
                    "descriptor-malformed",
                    S.HIGH,
                    "descriptor must be a JSON object",
                    Location(rel),
                )
            ]

        out: list[Finding] = []
        for err in sorted(
            _validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
        ):
            parts = list(err.absolute_path)
            message = " ".join(err.message.split())
            if err.validator == "required" and isinstance(err.instance, dict):
                missing = [r for r in err.validator_value if r not in err.instance]
                parts += missing[:1]
                message = "is required"
            elif err.validator == "anyOf" and not parts:
                message = "'name' (or legacy 'xapp_name') is required"
            elif err.validator == "pattern" and parts and parts[-1] == "version":
                message = f"must be a semantic version (MAJOR.MINOR.PATCH), got {err.instance!r}"
            field = _jpath(parts)
            key = next((p for p in reversed(parts) if isinstance(p, str)), None)
            out.append(
                self.finding(
                    "descriptor-schema",
                    S.MEDIUM if field.startswith("metrics") else S.HIGH,
                    f"{field}: {message}",
                    loc(key, snippet=field),
                    rule_name="Descriptor does not match the O-RAN SC schema",
                )
            )
        out.extend(self._semantic(doc, loc, path, code))
        return out

    def _semantic(
        self, doc: dict[str, Any], loc: Any, path: Path, code: str | None
    ) -> list[Finding]:
        out: list[Finding] = []
        for i, c in enumerate(doc.get("containers") or []):
            image = c.get("image") if isinstance(c, dict) else None
            if not isinstance(image, dict):
                continue
            tag = str(image.get("tag") or "")
            ref = f"{image.get('registry', '')}/{image.get('name', '')}:{tag}"
            if "@sha256:" in str(image.get("name", "")) or tag.startswith("sha256:"):
                continue
            if not tag or tag.lower() in _MUTABLE_TAGS:
                out.append(
                    self.finding(
                        "descriptor-mutable-image-tag",
                        S.HIGH,
                        f"containers[{i}].image uses the mutable tag {tag or '(none)'!r} ({ref});"
                        " pin a release tag or digest",
                        loc("tag", snippet=f"containers[{i}].image.tag={tag}"),
                        rule_name="Mutable image tag",
                    )
                )
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in doc:
                out.append(
                    self.finding(
                        "descriptor-missing-probe",
                        S.LOW,
                        f"no {probe}: the platform cannot tell a hung xApp from a healthy one",
                        loc(None, snippet=probe),
                        rule_name="Missing health probe",
                    )
                )
        rx: dict[str, str] = {}
        ports_seen: dict[int, str] = {}
        names_seen: set[str] = set()
        policy_ids: set[int] = set()
        sections: list[tuple[str, dict[str, Any]]] = []
        messaging = doc.get("messaging")
        if isinstance(messaging, dict) and isinstance(messaging.get("ports"), list):
            for i, port in enumerate(messaging["ports"]):
                if isinstance(port, dict):
                    sections.append((f"messaging.ports[{i}]", port))
        if isinstance(doc.get("rmr"), dict):
            sections.append(("rmr", doc["rmr"]))
        for where, section in sections:
            if where.startswith("messaging"):
                pname, pnum = section.get("name"), section.get("port")
                if isinstance(pname, str):
                    if pname in names_seen:
                        out.append(
                            self.finding(
                                "descriptor-duplicate-port",
                                S.MEDIUM,
                                f"{where}: port name {pname!r} used twice",
                                loc("name", snippet=where),
                            )
                        )
                    names_seen.add(pname)
                if isinstance(pnum, int):
                    if pnum in ports_seen:
                        out.append(
                            self.finding(
                                "descriptor-duplicate-port",
                                S.MEDIUM,
                                f"{where}: port {pnum} also used by {ports_seen[pnum]}",
                                loc("port", snippet=where),
                            )
                        )
                    ports_seen[pnum] = where
            for field in ("rxMessages", "txMessages"):
                for j, value in enumerate(section.get(field) or []):
                    if not isinstance(value, (str, int)) or isinstance(value, bool):
                        continue
                    try:
                        number = mtypes.mtype(value)
                    except InputError:
                        out.append(
                            self.finding(
                                "descriptor-unknown-message",
                                S.HIGH,
                                f"{where}.{field}[{j}]: {value!r} is not an O-RAN SC message type",
                                loc(field, snippet=f"{where}.{field}={value}"),
                                rule_name="Unknown RMR message type",
                            )
                        )
                        continue
                    if field == "rxMessages":
                        rx[mtypes.name(number)] = str(value)
            for pid in section.get("policies") or []:
                if isinstance(pid, int):
                    policy_ids.add(pid)
        if policy_ids and "A1_POLICY_REQ" not in rx:
            out.append(
                self.finding(
                    "descriptor-policy-without-a1",
                    S.MEDIUM,
                    f"A1 policy types {sorted(policy_ids)} are declared but A1_POLICY_REQ is not received",
                    loc("policies", snippet="policies"),
                )
            )
        declared_types: set[int] = {
            b["policy_type_id"]
            for b in doc.get("policyTypes") or []
            if isinstance(b, dict) and isinstance(b.get("policy_type_id"), int)
        }
        for pid in sorted(declared_types - policy_ids):
            out.append(
                self.finding(
                    "descriptor-policy-type-undeclared",
                    S.LOW,
                    f"policyTypes declares {pid} but no port lists it in 'policies'",
                    loc("policyTypes", snippet=f"policyTypes={pid}"),
                )
            )
        out.extend(self._controls(doc, loc, path))
        if code is not None:
            out.extend(self._unhandled(rx, code, loc))
        return out

    def _controls(self, doc: dict[str, Any], loc: Any, path: Path) -> list[Finding]:
        schema_path = next(
            (
                path.parent / n
                for n in ("controls.schema.json", "schema.json")
                if (path.parent / n).is_file()
            ),
            None,
        )
        if schema_path is None:
            return []
        try:
            schema = json.loads(schema_path.read_bytes())
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
        except (OSError, ValueError, jsonschema.SchemaError) as exc:
            msg = getattr(exc, "message", None) or str(exc)
            return [
                self.finding(
                    "descriptor-controls-schema-invalid",
                    S.MEDIUM,
                    f"{schema_path.name} is not a valid JSON schema: {' '.join(msg.split())[:200]}",
                    Location(schema_path.name),
                )
            ]
        controls = doc.get("controls", {})
        # the onboarder schema describes either the whole "controls" object or a document with it
        props = schema.get("properties") if isinstance(schema, dict) else None
        instance = (
            {"controls": controls} if isinstance(props, dict) and "controls" in props else controls
        )
        out = []
        for err in cls(schema).iter_errors(instance):
            out.append(
                self.finding(
                    "descriptor-controls-invalid",
                    S.MEDIUM,
                    f"controls{('.' + _jpath(list(err.absolute_path))) if err.absolute_path else ''}: {' '.join(err.message.split())} (per {schema_path.name})",
                    loc("controls", snippet=_jpath(list(err.absolute_path))),
                    rule_name="Controls do not match the app's controls schema",
                )
            )
        return out

    def _unhandled(self, rx: dict[str, str], code: str, loc: Any) -> list[Finding]:
        uses_sdk = "xtrust.ric" in code and "XApp" in code
        out = []
        for name, given in sorted(rx.items()):
            number = mtypes.mtype(name) if not name.isdigit() else int(name)
            if re.search(r"\b" + re.escape(name) + r"\b", code) or re.search(
                rf"\b{number}\b", code
            ):
                continue
            if uses_sdk and (
                name in _SDK_HANDLED or (name in _SDK_METHOD and re.search(_SDK_METHOD[name], code))
            ):
                continue
            if uses_sdk and name == "A1_POLICY_REQ" and "policy_types" in code:
                continue
            out.append(
                self.finding(
                    "descriptor-unhandled-message",
                    S.MEDIUM,
                    f"rxMessages declares {given} but the app's code never handles it: a route"
                    " sends it traffic nobody reads",
                    loc("rxMessages", snippet=f"rxMessages={name}"),
                    rule_name="Declared message never handled",
                )
            )
        return out
