"""A1 policies for xApps: the RMR side of the O-RAN SC A1 mediator.

Messages (JSON payloads; the contract is ``a1_xapp_contract_openapi.yaml`` of
O-RAN SC ric-plt/a1):

* ``A1_POLICY_REQ`` (20010), A1 -> xApp: ``{"operation": "CREATE" | "UPDATE"
  | "DELETE" | "READ", "policy_type_id": int, "policy_instance_id": str,
  "payload": {...}}``
* ``A1_POLICY_RESP`` (20011), xApp -> A1: ``{"policy_type_id": int,
  "policy_instance_id": str, "handler_id": str, "status": "OK" | "ERROR" |
  "DELETED"}``; XTRUST adds ``"message"`` (why, on ERROR) unless
  ``reply_message=False`` (the contract schema sets
  ``additionalProperties: false``, so a strict A1 would refuse it).
* ``A1_POLICY_QUERY`` (20012), xApp -> A1: ``{"policy_type_id": int}``; A1
  answers by sending a CREATE for every instance of that type again.

:class:`A1Handler` keeps the policy types of an app (id, JSON schema),
checks each request (known type, payload valid against the schema) and
turns it into a :class:`Policy` for the app; it builds the replies. A READ
is answered with the instance's status (OK if the app holds it, ERROR if
not) and is not passed to the app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema
from jsonschema.exceptions import best_match

from xtrust.errors import ConfigError, InputError, XTrustError
from xtrust.log import get_logger

__all__ = [
    "OPERATIONS",
    "A1Handler",
    "A1Request",
    "Policy",
    "PolicyRejected",
    "PolicyType",
]

log = get_logger("ric.xapp")

Operation = Literal["CREATE", "UPDATE", "DELETE", "READ"]
OPERATIONS: tuple[str, ...] = ("CREATE", "UPDATE", "DELETE", "READ")
_MAX_TYPE_ID = 2**31 - 1


class PolicyRejected(XTrustError):
    """Raise from ``on_policy`` to answer ERROR with this message."""


@dataclass(frozen=True)
class Policy:
    """A policy create/update/delete handed to the app's ``on_policy``."""

    operation: Operation
    policy_type_id: int
    policy_instance_id: str
    payload: dict[str, Any]

    @property
    def deleted(self) -> bool:
        return self.operation == "DELETE"


@dataclass
class PolicyType:
    """A policy type the app handles: its id and the JSON schema of its instances."""

    policy_type_id: int
    schema: dict[str, Any] | None = None
    name: str = ""
    description: str = ""
    _validator: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.policy_type_id, bool)
            or not isinstance(self.policy_type_id, int)
            or not 1 <= self.policy_type_id <= _MAX_TYPE_ID
        ):
            raise InputError(
                f"policy type id must be an integer 1..{_MAX_TYPE_ID}, got {self.policy_type_id!r}"
            )
        if self.schema is not None:
            if not isinstance(self.schema, dict):
                raise ConfigError(
                    "must be a JSON schema object", field=f"policy type {self.policy_type_id}"
                )
            cls = jsonschema.validators.validator_for(self.schema)
            try:
                cls.check_schema(self.schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(
                    f"not a valid JSON schema: {exc.message}",
                    field=f"policy type {self.policy_type_id}",
                ) from None
            self._validator = cls(self.schema)

    def check(self, payload: Any) -> str | None:
        """None if ``payload`` is a valid instance, else a one-line reason."""
        if not isinstance(payload, dict):
            return f"payload must be a JSON object, got {type(payload).__name__}"
        if self._validator is None:
            return None
        error = best_match(self._validator.iter_errors(payload))
        if error is None:
            return None
        where = "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        ).lstrip(".")
        text = " ".join(error.message.split())
        return f"{where}: {text}" if where else text


@dataclass(frozen=True)
class A1Request:
    """The outcome of reading an A1_POLICY_REQ: a policy for the app, or an immediate reply."""

    policy: Policy | None
    reply: dict[str, Any] | None
    #: the request's operation as sent ("" when unreadable)
    operation: str = ""


class A1Handler:
    """Checks A1 requests against the app's policy types and builds replies."""

    def __init__(self, handler_id: str, *, reply_message: bool = True):
        self.handler_id = handler_id
        self.reply_message = reply_message
        self.types: dict[int, PolicyType] = {}
        #: policy instances in force: (type id, instance id) -> payload
        self.instances: dict[tuple[int, str], dict[str, Any]] = {}

    def register(self, ptype: PolicyType) -> None:
        self.types[ptype.policy_type_id] = ptype

    def reply(
        self, type_id: int, instance_id: str, status: str, message: str = ""
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "policy_type_id": type_id,
            "policy_instance_id": instance_id,
            "handler_id": self.handler_id,
            "status": status,
        }
        if message and self.reply_message:
            doc["message"] = message
        return doc

    @staticmethod
    def encode(doc: Mapping[str, Any]) -> bytes:
        return json.dumps(doc, separators=(",", ":")).encode()

    @staticmethod
    def query(type_id: int) -> bytes:
        return json.dumps({"policy_type_id": type_id}).encode()

    def read(self, payload: bytes) -> A1Request:
        """Parse and check one A1_POLICY_REQ payload.

        Returns the :class:`Policy` to hand to the app (then call
        :meth:`applied` or :meth:`failed` for the reply), or a reply to send
        at once (bad request, unknown type, invalid payload, READ). A request
        too broken to name its type and instance gives neither (logged).
        """
        try:
            doc = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("a1: dropped a policy request that is not JSON: %s", exc)
            return A1Request(None, None)
        if not isinstance(doc, dict):
            log.warning("a1: dropped a policy request that is not a JSON object")
            return A1Request(None, None)
        type_id = doc.get("policy_type_id")
        instance_id = doc.get("policy_instance_id")
        if isinstance(type_id, str) and type_id.isdigit():
            type_id = int(type_id)
        if isinstance(type_id, bool) or not isinstance(type_id, int):
            log.warning("a1: dropped a policy request without policy_type_id: %.200r", doc)
            return A1Request(None, None)
        if not isinstance(instance_id, str) or not instance_id:
            log.warning("a1: dropped a policy request without policy_instance_id: %.200r", doc)
            return A1Request(None, None)
        op = doc.get("operation")
        if op not in OPERATIONS:
            return A1Request(
                None,
                self.reply(type_id, instance_id, "ERROR", f"unknown operation {op!r}"),
                str(op)[:16],
            )
        ptype = self.types.get(type_id)
        if ptype is None:
            return A1Request(
                None,
                self.reply(
                    type_id, instance_id, "ERROR", f"policy type {type_id} is not handled here"
                ),
                op,
            )
        if op == "READ":
            held = (type_id, instance_id) in self.instances
            return A1Request(
                None,
                self.reply(
                    type_id, instance_id, "OK" if held else "ERROR",
                    "" if held else f"no policy instance {instance_id!r}",
                ),
                op,
            )  # fmt: skip
        body = doc.get("payload")
        if op == "DELETE":
            body = body if isinstance(body, dict) else {}
        else:
            reason = ptype.check(body)
            if reason is not None:
                return A1Request(None, self.reply(type_id, instance_id, "ERROR", reason), op)
        assert isinstance(body, dict)
        return A1Request(Policy(op, type_id, instance_id, body), None, op)

    def applied(self, policy: Policy) -> dict[str, Any]:
        """Record that the app took ``policy``; the reply (OK, or DELETED for a delete)."""
        key = (policy.policy_type_id, policy.policy_instance_id)
        if policy.operation == "DELETE":
            self.instances.pop(key, None)
            status = "DELETED"
        else:
            self.instances[key] = policy.payload
            status = "OK"
        return self.reply(policy.policy_type_id, policy.policy_instance_id, status)

    def failed(self, policy: Policy, reason: str) -> dict[str, Any]:
        """The ERROR reply when the app refused ``policy``."""
        return self.reply(policy.policy_type_id, policy.policy_instance_id, "ERROR", reason)

    def count(self, type_id: int) -> int:
        return sum(1 for t, _ in self.instances if t == type_id)
