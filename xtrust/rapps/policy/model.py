"""Subjects, resources, requests and decisions of the risk-based PDP."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import InputError

__all__ = [
    "ACTIONS",
    "RESOURCE_KINDS",
    "SUBJECT_KINDS",
    "AccessRequest",
    "Decision",
    "Factor",
    "Resource",
    "Subject",
]

#: subject kind -> Cedar entity type
SUBJECT_KINDS: dict[str, str] = {
    "xapp": "XTrust::XApp",
    "rapp": "XTrust::RApp",
    "e2node": "XTrust::E2Node",
    "operator": "XTrust::Operator",
}
#: resource kind -> Cedar entity type
RESOURCE_KINDS: dict[str, str] = {
    "ran_function": "XTrust::RanFunction",
    "e2node": "XTrust::E2Node",
    "a1_policy_type": "XTrust::A1PolicyType",
    "sdl_namespace": "XTrust::SdlNamespace",
    "config": "XTrust::Config",
}
ACTIONS = ("subscribe", "control", "read", "write", "deploy")


def _strs(doc: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key, ())
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _ints(doc: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
    value = doc.get(key, ())
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise InputError(f"{where}.{key} must be a list of integers")
    return tuple(value)


@dataclass(frozen=True)
class Subject:
    """An xApp, rApp, E2 node or operator, with what it declares and what it runs.

    ``image_digest``, ``addresses``, ``cves`` and ``software`` are matched
    against threat-intelligence indicators; ``ran_functions``,
    ``sdl_namespaces``, ``a1_policy_types`` and ``role`` feed the Cedar policies.
    """

    id: str
    kind: str
    zone: str = ""
    role: str = ""
    ran_functions: tuple[int, ...] = ()
    sdl_namespaces: tuple[str, ...] = ()
    a1_policy_types: tuple[int, ...] = ()
    image_digest: str | None = None
    addresses: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    software: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InputError("subject id must be a non-empty string")
        if self.kind not in SUBJECT_KINDS:
            raise InputError(
                f"subject {self.id!r}: kind must be one of {', '.join(SUBJECT_KINDS)}, "
                f"not {self.kind!r}"
            )

    @classmethod
    def from_json(cls, doc: Any) -> Subject:
        if not isinstance(doc, Mapping):
            raise InputError("a subject must be a JSON object")
        where = f"subject {doc.get('id', '?')!r}"
        software: list[tuple[str, str]] = []
        for item in doc.get("software") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise InputError(f"{where}.software entries need a name (and a version)")
            software.append((item["name"], str(item.get("version", ""))))
        digest = doc.get("image_digest")
        if digest is not None and not isinstance(digest, str):
            raise InputError(f"{where}.image_digest must be a string")
        addresses = _strs(doc, "addresses", where)
        for a in addresses:
            try:
                ipaddress.ip_address(a)
            except ValueError:
                raise InputError(f"{where}.addresses: {a!r} is not an IP address") from None
        return cls(
            id=str(doc.get("id", "")),
            kind=str(doc.get("kind", "")),
            zone=str(doc.get("zone") or ""),
            role=str(doc.get("role") or ""),
            ran_functions=_ints(doc, "ran_functions", where),
            sdl_namespaces=_strs(doc, "sdl_namespaces", where),
            a1_policy_types=_ints(doc, "a1_policy_types", where),
            image_digest=digest,
            addresses=addresses,
            cves=_strs(doc, "cves", where),
            software=tuple(software),
        )

    def observables(self, extra_cves: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
        """The subject as STIX cyber observables, for indicator matching."""
        obs: dict[str, list[dict[str, Any]]] = {}
        if self.image_digest:
            algo, _, value = self.image_digest.rpartition(":")
            algo = {"sha256": "SHA-256", "sha512": "SHA-512", "sha1": "SHA-1", "": "SHA-256"}.get(
                algo.lower(), algo.upper()
            )
            obs["file"] = [{f"hashes.{algo}": value.lower()}]
        for a in self.addresses:
            kind = "ipv6-addr" if ":" in a else "ipv4-addr"
            obs.setdefault(kind, []).append({"value": a})
        cves = sorted(set(self.cves) | set(extra_cves))
        if cves:
            obs["vulnerability"] = [{"name": c} for c in cves]
        if self.software:
            obs["software"] = [{"name": n, "version": v} for n, v in self.software]
        return obs

    def cedar_entity(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"zone": self.zone}
        if self.kind == "xapp":
            attrs["ran_functions"] = list(self.ran_functions)
            attrs["sdl_namespaces"] = list(self.sdl_namespaces)
        elif self.kind == "rapp":
            attrs["a1_policy_types"] = list(self.a1_policy_types)
            attrs["sdl_namespaces"] = list(self.sdl_namespaces)
        elif self.kind == "operator":
            attrs["role"] = self.role
        return {
            "uid": {"type": SUBJECT_KINDS[self.kind], "id": self.id},
            "attrs": attrs,
            "parents": [],
        }


@dataclass(frozen=True)
class Resource:
    """What is acted on. ``ran_function`` ids are ``"<E2 node>/<RAN function id>"``."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in RESOURCE_KINDS:
            raise InputError(
                f"resource kind must be one of {', '.join(RESOURCE_KINDS)}, not {self.kind!r}"
            )
        if not isinstance(self.id, str) or not self.id:
            raise InputError("resource id must be a non-empty string")
        if self.kind == "ran_function":
            node, sep, fid = self.id.rpartition("/")
            if not sep or not node or not fid.isdigit():
                raise InputError(
                    f"ran_function resource id must be '<E2 node>/<function id>', not {self.id!r}"
                )
        if self.kind == "a1_policy_type" and not self.id.isdigit():
            raise InputError(f"a1_policy_type resource id must be a number, not {self.id!r}")

    @classmethod
    def ran_function(cls, node: str, function_id: int) -> Resource:
        return cls("ran_function", f"{node}/{function_id}")

    @classmethod
    def from_json(cls, doc: Any) -> Resource:
        if not isinstance(doc, Mapping):
            raise InputError("resource must be an object {kind, id}")
        kind = doc.get("kind")
        if kind == "ran_function" and "id" not in doc:
            node, fid = doc.get("node"), doc.get("function_id")
            if not isinstance(node, str) or not isinstance(fid, int):
                raise InputError("a ran_function resource needs id, or node and function_id")
            return cls.ran_function(node, fid)
        return cls(str(kind), str(doc.get("id", "")))

    def cedar_entity(self) -> dict[str, Any]:
        attrs: dict[str, Any]
        if self.kind == "ran_function":
            node, _, fid = self.id.rpartition("/")
            attrs = {"function_id": int(fid), "node": node}
        elif self.kind == "a1_policy_type":
            attrs = {"type_id": int(self.id)}
        elif self.kind == "e2node":
            attrs = {"zone": ""}
        else:
            attrs = {"name": self.id}
        return {
            "uid": {"type": RESOURCE_KINDS[self.kind], "id": self.id},
            "attrs": attrs,
            "parents": [],
        }


@dataclass(frozen=True)
class AccessRequest:
    """Who (subject id) does what (action) to what (resource), from where (context)."""

    subject: str
    action: str
    resource: Resource
    zone: str | None = None
    location: str | None = None
    time: float | None = None  # epoch seconds; None: now

    @classmethod
    def from_json(cls, doc: Any) -> AccessRequest:
        from xtrust.rapps.ti.store import parse_time

        if not isinstance(doc, Mapping):
            raise InputError("the request must be a JSON object")
        subject = doc.get("subject")
        if isinstance(subject, Mapping):
            subject = subject.get("id")
        if not isinstance(subject, str) or not subject:
            raise InputError("request.subject must be a subject id (string)")
        action = doc.get("action")
        if action not in ACTIONS:
            raise InputError(f"request.action must be one of {', '.join(ACTIONS)}, not {action!r}")
        ctx = doc.get("context") or {}
        if not isinstance(ctx, Mapping):
            raise InputError("request.context must be an object")
        when: float | None = None
        if ctx.get("time") is not None:
            raw = ctx["time"]
            when = float(raw) if isinstance(raw, int | float) else parse_time(raw)
            if when is None:
                raise InputError(f"request.context.time is not an ISO 8601 time: {raw!r}")
        for key in ("zone", "location"):
            if ctx.get(key) is not None and not isinstance(ctx[key], str):
                raise InputError(f"request.context.{key} must be a string")
        return cls(
            subject=subject,
            action=str(action),
            resource=Resource.from_json(doc.get("resource")),
            zone=ctx.get("zone"),
            location=ctx.get("location"),
            time=when,
        )


@dataclass(frozen=True, slots=True)
class Factor:
    """One contribution to a risk score, with why."""

    name: str
    score: float
    detail: str
    evidence: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "score": round(self.score, 2),
            "detail": self.detail,
        }
        if self.evidence:
            out["evidence"] = list(self.evidence)
        return out


@dataclass(frozen=True)
class Decision:
    """The PDP's answer: allowed or not, and everything needed to explain it."""

    allowed: bool
    reasons: tuple[str, ...]
    risk: int
    factors: tuple[Factor, ...] = ()
    policy_ids: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    subject: str = ""
    action: str = ""
    resource: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "decision": "allow" if self.allowed else "deny",
            "subject": self.subject,
            "action": self.action,
            "resource": self.resource,
            "risk": self.risk,
            "reasons": list(self.reasons),
            "policy_ids": list(self.policy_ids),
            "factors": [f.to_json() for f in self.factors],
            "errors": list(self.errors),
            **self.extra,
        }
