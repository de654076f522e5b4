"""PEM-like armor around a JSON document, and canonical JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = ["b64d", "b64e", "canonical_json", "dearmor", "enarmor"]

_LINE = 64
_ARMOR_RE = re.compile(
    rb"\A\s*-----BEGIN (?P<label>[A-Z0-9 ]+)-----\r?\n"
    rb"(?P<body>[A-Za-z0-9+/=\r\n]*?)"
    rb"-----END (?P=label)-----\s*\Z"
)


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: one byte string per document."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: object, what: str) -> bytes:
    """Strict standard base64; raises ValueError naming ``what``."""
    if not isinstance(text, str):
        raise ValueError(f"{what}: expected a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{what}: invalid base64") from None


def enarmor(label: str, doc: Any) -> bytes:
    body = base64.b64encode(canonical_json(doc))
    lines = [body[i : i + _LINE] for i in range(0, len(body), _LINE)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"".join(line + b"\n" for line in lines)
        + f"-----END {label}-----\n".encode()
    )


def dearmor(data: bytes) -> tuple[str, Any]:
    """Return (label, JSON document); raises ValueError with a short reason."""
    match = _ARMOR_RE.match(data)
    if match is None:
        raise ValueError("not an armored XTRUST key (missing or mismatched BEGIN/END lines)")
    label = match.group("label").decode("ascii")
    body = b"".join(match.group("body").split())
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ValueError("armored body is not valid base64 (truncated or corrupted?)") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("armored body is not a JSON document (truncated or corrupted?)") from None
    return label, doc
