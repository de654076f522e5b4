"""Cedar schema and policies: load, validate (refuse invalid ones), evaluate.

Cedar skips a policy whose evaluation errors, which could silently turn a
forbid off. So:

* every policy set is validated against the schema when it is loaded
  (``cedarpy.validate_policies``); a parse error, an unknown entity type or
  attribute, or a type mismatch raises :class:`~xtrust.errors.ConfigError`
  and nothing starts;
* at evaluation, any error Cedar reports (``diagnostics.errors``) makes the
  decision a deny (see :class:`xtrust.rapps.policy.pdp.Pdp`).

Schemas are read in Cedar's JSON schema format (``*.json``) or its
human-readable format (``*.cedarschema``). Policies are read from ``*.cedar``
text, or from YAML/JSON with a ``policies`` key holding that text (the form the
package ships, since package data is limited to json/yaml). Annotations
``@id("...")`` and ``@reason("...")`` name a policy and explain it in decisions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cedarpy
import yaml

from xtrust.errors import ConfigError

__all__ = [
    "PolicyBundle",
    "PolicyInfo",
    "default_bundle",
    "load_bundle",
    "read_policies_text",
    "read_schema",
]


@dataclass(frozen=True)
class PolicyInfo:
    cedar_id: str  # positional id Cedar gives (policy0, ...)
    id: str  # the @id annotation, or the positional id
    effect: str  # "permit" | "forbid"
    reason: str


@dataclass(frozen=True)
class PolicyBundle:
    """A validated schema + policy set, parsed once for fast evaluation."""

    schema: cedarpy.Schema
    policies: cedarpy.PolicySet
    policies_text: str
    info: dict[str, PolicyInfo]
    source: str
    #: context attributes the policies read, sorted (None: the context is used as a whole)
    context_attrs: tuple[str, ...] | None = None
    #: True when ``context.risk`` is only ever compared with ``context.risk_threshold``
    #: (``<``, ``<=``, ``>``, ``>=``): decisions then depend on risk only through
    #: ``risk >= threshold`` and ``risk > threshold``
    risk_vs_threshold_only: bool = False

    def explain(self, cedar_id: str) -> PolicyInfo:
        return self.info.get(cedar_id) or PolicyInfo(cedar_id, cedar_id, "?", "")


def read_schema(path: str | Path) -> tuple[cedarpy.Schema, str]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(p)) from None
    return parse_schema(text, source=str(p), json_format=p.suffix == ".json"), text


def parse_schema(text: str, *, source: str, json_format: bool | None = None) -> cedarpy.Schema:
    if json_format is None:
        json_format = text.lstrip().startswith("{")
    try:
        if json_format:
            return cedarpy.Schema.from_json_str(text)
        return cedarpy.Schema.from_str(text)
    except ValueError as exc:
        raise ConfigError(
            f"not a valid Cedar schema: {' '.join(str(exc).split())[:300]}", source=source
        ) from None


def read_policies_text(path: str | Path) -> str:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(p)) from None
    if p.suffix in (".yaml", ".yml", ".json"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"not YAML/JSON: {exc}", source=str(p)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("policies"), str):
            raise ConfigError("must hold a 'policies' key with Cedar policy text", source=str(p))
        return str(doc["policies"])
    return text


def _policy_info(text: str) -> dict[str, PolicyInfo]:
    est = json.loads(cedarpy.policies_to_json_str(text))
    out: dict[str, PolicyInfo] = {}
    for cedar_id, pol in (est.get("staticPolicies") or {}).items():
        ann: dict[str, Any] = pol.get("annotations") or {}
        out[cedar_id] = PolicyInfo(
            cedar_id=cedar_id,
            id=str(ann.get("id") or cedar_id),
            effect=str(pol.get("effect", "?")),
            reason=str(ann.get("reason") or ""),
        )
    return out


def _context_attrs(node: Any, out: set[str]) -> bool:
    """Collect ``context.<attr>`` / ``context has <attr>``; False if context is used whole."""
    if isinstance(node, dict):
        for op in (".", "has"):
            inner = node.get(op)
            if (
                len(node) == 1
                and isinstance(inner, dict)
                and inner.get("left") == {"Var": "context"}
                and isinstance(inner.get("attr"), str)
            ):
                out.add(inner["attr"])
                return True
        if node == {"Var": "context"}:
            return False
        return all(_context_attrs(v, out) for v in node.values())
    if isinstance(node, list):
        return all(_context_attrs(v, out) for v in node)
    return True


def context_attrs(policies_text: str) -> tuple[str, ...] | None:
    """The context attributes ``policies_text`` reads, or None if it uses the whole context."""
    est = json.loads(cedarpy.policies_to_json_str(policies_text))
    out: set[str] = set()
    if not _context_attrs(est, out):
        return None
    return tuple(sorted(out))


_CTX_RISK = {".": {"left": {"Var": "context"}, "attr": "risk"}}
_CTX_THRESHOLD = {".": {"left": {"Var": "context"}, "attr": "risk_threshold"}}


def _risk_uses_ok(node: Any) -> bool:
    """False if ``context.risk`` appears other than compared with the threshold."""
    if node == _CTX_RISK:
        return False
    if isinstance(node, dict):
        if len(node) == 1:
            ((op, body),) = node.items()
            if op in ("<", "<=", ">", ">=") and isinstance(body, dict):
                sides = (body.get("left"), body.get("right"))
                if sides in ((_CTX_RISK, _CTX_THRESHOLD), (_CTX_THRESHOLD, _CTX_RISK)):
                    return True
        return all(_risk_uses_ok(v) for v in node.values())
    if isinstance(node, list):
        return all(_risk_uses_ok(v) for v in node)
    return True


def risk_vs_threshold_only(policies_text: str) -> bool:
    """Whether ``context.risk`` is used only in comparisons with ``context.risk_threshold``."""
    return _risk_uses_ok(json.loads(cedarpy.policies_to_json_str(policies_text)))


def load_bundle(
    policies_text: str, schema: cedarpy.Schema, *, source: str = "policies"
) -> PolicyBundle:
    """Parse and validate; raises ConfigError naming every problem found."""
    try:
        policy_set = cedarpy.PolicySet.from_str(policies_text)
    except ValueError as exc:
        raise ConfigError(
            f"Cedar policies do not parse: {' '.join(str(exc).split())[:300]}", source=source
        ) from None
    if len(policy_set) == 0:
        raise ConfigError("the policy set is empty (everything would be denied)", source=source)
    if policy_set.templates():
        raise ConfigError("policy templates are not supported; link them first", source=source)
    result = cedarpy.validate_policies(policies_text, schema)
    if not result.validation_passed:
        names = result.id_annotations_by_policy_id
        problems = [
            f"[{names.get(e.policy_id) or e.policy_id}] {e.error}" if e.policy_id else e.error
            for e in result.errors
        ] or ["validation failed"]
        raise ConfigError(
            f"policies do not validate against the schema: {'; '.join(problems)[:600]}",
            source=source,
            detail="\n".join(problems),
            hint="fix the policy or the schema; XTRUST refuses to start on an invalid policy",
        )
    return PolicyBundle(
        schema,
        policy_set,
        policies_text,
        _policy_info(policies_text),
        source,
        context_attrs(policies_text),
        risk_vs_threshold_only(policies_text),
    )


def default_schema_text() -> str:
    return resources.files(__package__).joinpath("default_schema.json").read_text("utf-8")


def default_policies_text() -> str:
    text = resources.files(__package__).joinpath("default_policies.yaml").read_text("utf-8")
    return str(yaml.safe_load(text)["policies"])


def default_bundle() -> PolicyBundle:
    schema = parse_schema(default_schema_text(), source="default_schema.json", json_format=True)
    return load_bundle(default_policies_text(), schema, source="default_policies.yaml")
