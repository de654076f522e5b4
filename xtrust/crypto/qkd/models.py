"""ETSI GS QKD 014 V1.1.1 data formats: status, key request, key IDs, key container, error.

Field names follow the standard (section 6). Sizes are in bits (``key_size``,
``size``, ``max_key_size``, ``min_key_size``); a key value travels as base64.
Parsing is strict: a value of the wrong type or out of range raises
:class:`~xtrust.crypto.qkd.errors.QkdProtocolError` (for answers from a KME)
or, with ``error=QkdRequestError``, a request error (for the KME's own input).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from xtrust.crypto.qkd.errors import QkdError, QkdProtocolError

__all__ = [
    "API_PREFIX",
    "QkdKey",
    "Status",
    "check_sae_id",
    "decode_key_container",
    "encode_key_container",
    "error_body",
]

#: Path prefix of every ETSI GS QKD 014 method.
API_PREFIX = "/api/v1/keys"

_SAE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

STATUS_FIELDS_INT = (
    "key_size",
    "stored_key_count",
    "max_key_count",
    "max_key_per_request",
    "max_key_size",
    "min_key_size",
    "max_SAE_ID_count",
)
STATUS_FIELDS_STR = ("source_KME_ID", "target_KME_ID", "master_SAE_ID", "slave_SAE_ID")


def check_sae_id(value: object, what: str = "SAE ID", error: type[QkdError] = QkdError) -> str:
    """An SAE or KME ID: 1-64 characters of ``A-Z a-z 0-9 . _ -``, starting alphanumeric."""
    if not isinstance(value, str) or not _SAE_ID.match(value):
        raise error(f"invalid {what} {value!r}: use 1-64 characters A-Z a-z 0-9 . _ -")
    return value


@dataclass(frozen=True)
class QkdKey:
    """One key of a key container: its ID (a UUID string) and the key bytes."""

    key_id: str
    key: bytes = field(repr=False)

    @property
    def size_bits(self) -> int:
        return 8 * len(self.key)

    def to_json(self) -> dict[str, str]:
        return {"key_ID": self.key_id, "key": base64.b64encode(self.key).decode("ascii")}


@dataclass(frozen=True)
class Status:
    """The Status object of ETSI GS QKD 014 (6.1)."""

    source_KME_ID: str
    target_KME_ID: str
    master_SAE_ID: str
    slave_SAE_ID: str
    key_size: int
    stored_key_count: int
    max_key_count: int
    max_key_per_request: int
    max_key_size: int
    min_key_size: int
    max_SAE_ID_count: int

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STATUS_FIELDS_STR + STATUS_FIELDS_INT}

    @classmethod
    def from_json(cls, doc: object, error: type[QkdError] = QkdProtocolError) -> Status:
        if not isinstance(doc, dict):
            raise error("status: expected a JSON object")
        values: dict[str, Any] = {}
        for name in STATUS_FIELDS_STR:
            if not isinstance(doc.get(name), str):
                raise error(f"status: field {name} missing or not a string")
            values[name] = doc[name]
        for name in STATUS_FIELDS_INT:
            value = doc.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise error(f"status: field {name} missing or not a non-negative integer")
            values[name] = value
        return cls(**values)


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def encode_key_container(keys: list[QkdKey]) -> dict[str, Any]:
    return {"keys": [k.to_json() for k in keys]}


def decode_key_container(
    doc: object, *, size_bits: int | None = None, error: type[QkdError] = QkdProtocolError
) -> list[QkdKey]:
    """The keys of a Key container (6.3); every key must have ``size_bits`` bits if given."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise error("key container: expected a JSON object with a 'keys' list")
    keys: list[QkdKey] = []
    for i, item in enumerate(doc["keys"]):
        if not isinstance(item, dict):
            raise error(f"key container: keys[{i}] is not an object")
        key_id, value = item.get("key_ID"), item.get("key")
        if not is_uuid(key_id):
            raise error(f"key container: keys[{i}].key_ID is not a UUID")
        if not isinstance(value, str):
            raise error(f"key container: keys[{i}].key is not a string")
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise error(f"key container: keys[{i}].key is not base64") from None
        if not raw:
            raise error(f"key container: keys[{i}].key is empty")
        if size_bits is not None and 8 * len(raw) != size_bits:
            raise error(f"key container: keys[{i}] has {8 * len(raw)} bits, asked for {size_bits}")
        keys.append(QkdKey(str(key_id), raw))
    return keys


def error_body(message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The Error object (6.5): ``{"message": ..., "details": [...]}``."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return body
