"""A JSON schema of the Kubernetes NetworkPolicy fields the compiler writes.

Written from the Kubernetes API reference (networking.k8s.io/v1
NetworkPolicy, NetworkPolicySpec, NetworkPolicyIngressRule/EgressRule,
NetworkPolicyPeer, NetworkPolicyPort, IPBlock, LabelSelector, ObjectMeta
name/namespace/labels). It is strict (``additionalProperties: false``) so a
typo in the compiler fails here rather than in the cluster. Rules it encodes
beyond types: names are DNS-1123 labels, a peer with ``ipBlock`` has no
selector, ``endPort`` needs a numeric ``port``, ``In``/``NotIn`` need values
and ``Exists``/``DoesNotExist`` must have none.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema

from xtrust.errors import InputError

__all__ = ["NETWORK_POLICY_SCHEMA", "validate_network_policy"]

_DNS1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

NETWORK_POLICY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "networking.k8s.io/v1 NetworkPolicy (fields written by xtrust segment)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "networking.k8s.io/v1"},
        "kind": {"const": "NetworkPolicy"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": _DNS1123, "maxLength": 63},
                "namespace": {"type": "string", "pattern": _DNS1123, "maxLength": 63},
                "labels": {"$ref": "#/$defs/labels"},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["podSelector"],
            "additionalProperties": False,
            "properties": {
                "podSelector": {"$ref": "#/$defs/labelSelector"},
                "policyTypes": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": ["Ingress", "Egress"]},
                },
                "ingress": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "from": {"type": "array", "items": {"$ref": "#/$defs/peer"}},
                            "ports": {"type": "array", "items": {"$ref": "#/$defs/port"}},
                        },
                    },
                },
                "egress": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "to": {"type": "array", "items": {"$ref": "#/$defs/peer"}},
                            "ports": {"type": "array", "items": {"$ref": "#/$defs/port"}},
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": _LABEL_KEY},
            "additionalProperties": {"type": "string", "pattern": _LABEL_VALUE},
        },
        "labelSelector": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "matchLabels": {"$ref": "#/$defs/labels"},
                "matchExpressions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "operator"],
                        "additionalProperties": False,
                        "properties": {
                            "key": {"type": "string", "pattern": _LABEL_KEY},
                            "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                            "values": {
                                "type": "array",
                                "items": {"type": "string", "pattern": _LABEL_VALUE},
                            },
                        },
                        "if": {"properties": {"operator": {"enum": ["In", "NotIn"]}}},
                        "then": {
                            "required": ["values"],
                            "properties": {"values": {"minItems": 1}},
                        },
                        "else": {"properties": {"values": {"maxItems": 0}}},
                    },
                },
            },
        },
        "peer": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "podSelector": {"$ref": "#/$defs/labelSelector"},
                "namespaceSelector": {"$ref": "#/$defs/labelSelector"},
                "ipBlock": {
                    "type": "object",
                    "required": ["cidr"],
                    "additionalProperties": False,
                    "properties": {
                        "cidr": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"},
                        "except": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "if": {"required": ["ipBlock"]},
            "then": {
                "not": {
                    "anyOf": [{"required": ["podSelector"]}, {"required": ["namespaceSelector"]}]
                }
            },
        },
        "port": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "protocol": {"enum": ["TCP", "UDP", "SCTP"]},
                "port": {
                    "oneOf": [
                        {"type": "integer", "minimum": 1, "maximum": 65535},
                        {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                    ]
                },
                "endPort": {"type": "integer", "minimum": 1, "maximum": 65535},
            },
            "dependentSchemas": {
                "endPort": {"required": ["port"], "properties": {"port": {"type": "integer"}}}
            },
        },
    },
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every ``#/$defs/...`` reference replaced by its target
    (jsonschema resolves references on every use; inlined, validation is ~1.5x faster)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


jsonschema.Draft202012Validator.check_schema(NETWORK_POLICY_SCHEMA)
_FULL = _inline(NETWORK_POLICY_SCHEMA, NETWORK_POLICY_SCHEMA["$defs"])
_RULE_SCHEMAS = {
    key: _FULL["properties"]["spec"]["properties"][key]["items"] for key in ("ingress", "egress")
}
# the document without its rules; each rule is checked on its own, and the same rule
# (one peer and its ports) recurs in many documents, so its verdict is cached
_TOP = json.loads(json.dumps(_FULL))
for _key in _RULE_SCHEMAS:
    _TOP["properties"]["spec"]["properties"][_key]["items"] = {"type": "object"}
_TOP_VALIDATOR = jsonschema.Draft202012Validator(_TOP)
_RULE_VALIDATORS = {k: jsonschema.Draft202012Validator(v) for k, v in _RULE_SCHEMAS.items()}


def _first_error(validator: jsonschema.protocols.Validator, doc: Any) -> tuple[str, str] | None:
    if validator.is_valid(doc):
        return None
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is None:  # pragma: no cover - is_valid said there is one
        return None
    return "/".join(str(p) for p in error.absolute_path), error.message


@functools.lru_cache(maxsize=4096)
def _rule_error(key: str, rule_json: str) -> tuple[str, str] | None:
    return _first_error(_RULE_VALIDATORS[key], json.loads(rule_json))


def validate_network_policy(doc: Any) -> None:
    """Raise InputError (path and reason, one line) if ``doc`` is not a valid NetworkPolicy."""
    found = _first_error(_TOP_VALIDATOR, doc)
    if found is None:
        spec = doc["spec"]
        for key in ("ingress", "egress"):
            for i, rule in enumerate(spec.get(key, ())):
                sub = _rule_error(key, json.dumps(rule, sort_keys=True))
                if sub is not None:
                    found = (f"spec/{key}/{i}/{sub[0]}".rstrip("/"), sub[1])
                    break
            if found is not None:
                break
    if found is not None:
        where, message = found
        raise InputError(f"NetworkPolicy {where or '(document)'}: {message}")
