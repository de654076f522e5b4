"""in-toto Statement v1 (https://github.com/in-toto/attestation, spec/v1/statement.md).

A statement binds subjects (artifact name + digest set) to a typed predicate::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "...", "digest": {"sha256": "<hex>"}}],
     "predicateType": "<URI>",
     "predicate": {...}}

Carried in a DSSE envelope with payloadType ``application/vnd.in-toto+json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from xtrust.crypto.dsse import sign_dsse, verify_dsse
from xtrust.crypto.errors import StatementError, SubjectMismatchError
from xtrust.crypto.hashes import normalise_digest
from xtrust.crypto.keys import HybridPublicKey, HybridSigningKey

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "in_toto_statement",
    "parse_statement",
    "require_subject",
    "sign_statement",
    "statement_digests",
    "verify_statement",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

# in-toto DigestSet: algorithm names such as sha256, gitCommit; lowercase hex for the sha family.
_ALGO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEX_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40, "sha224": 56}
_HEX_RE = re.compile(r"^[0-9a-f]+$")

Digests = Mapping[str, str] | str


def _digest_set(value: object, where: str) -> dict[str, str]:
    if isinstance(value, str):
        algo, _, hexval = normalise_digest(value).partition(":")
        return {algo: hexval}
    if not isinstance(value, Mapping) or not value:
        raise StatementError(f"{where}: digest must be a non-empty object {{algorithm: hex}}")
    out: dict[str, str] = {}
    for algo, val in value.items():
        if not isinstance(algo, str) or not _ALGO_RE.match(algo):
            raise StatementError(f"{where}: bad digest algorithm name {algo!r}")
        if not isinstance(val, str) or not val:
            raise StatementError(f"{where}: digest {algo} must be a non-empty string")
        if algo in _HEX_SIZES:
            v = val.lower()
            if len(v) != _HEX_SIZES[algo] or not _HEX_RE.match(v):
                raise StatementError(
                    f"{where}: {algo} digest must be {_HEX_SIZES[algo]} hex characters"
                )
            val = v
        out[algo] = val
    return out


def in_toto_statement(
    subjects: Iterable[tuple[str, Digests]],
    predicate_type: str,
    predicate: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an in-toto Statement v1.

    ``subjects`` are ``(name, digests)`` pairs; ``digests`` is a DigestSet dict
    (``{"sha256": "<hex>"}``) or a ``"sha256:<hex>"`` string.
    """
    subject_list = []
    for i, item in enumerate(subjects):
        try:
            name, digests = item
        except (TypeError, ValueError):
            raise StatementError(f"subject[{i}]: expected a (name, digests) pair") from None
        if not isinstance(name, str):
            raise StatementError(f"subject[{i}]: name must be a string")
        subject_list.append({"name": name, "digest": _digest_set(digests, f"subject[{i}]")})
    if not subject_list:
        raise StatementError("an in-toto statement needs at least one subject")
    if not isinstance(predicate_type, str) or not re.match(
        r"^[a-zA-Z][a-zA-Z0-9+.-]*:", predicate_type
    ):
        raise StatementError(f"predicateType must be a URI, got {predicate_type!r}")
    stmt: dict[str, Any] = {
        "_type": STATEMENT_TYPE,
        "subject": subject_list,
        "predicateType": predicate_type,
    }
    if predicate is not None:
        if not isinstance(predicate, Mapping):
            raise StatementError("predicate must be a JSON object")
        stmt["predicate"] = dict(predicate)
    return stmt


def parse_statement(payload: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """Parse and validate an in-toto Statement v1; raises :class:`StatementError`."""
    if isinstance(payload, bytes | str):
        try:
            doc = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise StatementError("in-toto statement is not valid JSON") from None
    else:
        doc = dict(payload)
    if not isinstance(doc, dict):
        raise StatementError("in-toto statement must be a JSON object")
    if doc.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"not an in-toto Statement v1 (_type {doc.get('_type')!r})")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise StatementError("in-toto statement: subject must be a non-empty list")
    pairs = []
    for i, s in enumerate(subjects):
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise StatementError(f"in-toto statement: subject[{i}] needs a digest object")
        name = s.get("name", "")
        if not isinstance(name, str):
            raise StatementError(f"in-toto statement: subject[{i}].name must be a string")
        pairs.append((name, _digest_set(s["digest"], f"subject[{i}]")))
    predicate = doc.get("predicate")
    if predicate is not None and not isinstance(predicate, dict):
        raise StatementError("in-toto statement: predicate must be an object")
    built = in_toto_statement(pairs, doc.get("predicateType"), predicate)  # type: ignore[arg-type]
    for s_in, s_out in zip(subjects, built["subject"], strict=True):
        # keep optional ResourceDescriptor fields (uri, annotations, ...) as given
        for k, v in s_in.items():
            s_out.setdefault(k, v)
    return built


def statement_digests(stmt: Mapping[str, Any]) -> list[str]:
    """All ``"<algo>:<value>"`` digests of the statement's subjects, in order."""
    return [f"{a}:{v}" for s in stmt["subject"] for a, v in s["digest"].items()]


def require_subject(stmt: Mapping[str, Any], digest: str) -> dict[str, Any]:
    """Return the subject whose digest set contains ``digest`` (``"sha256:<hex>"``).

    Raises :class:`SubjectMismatchError` when no subject matches.
    """
    algo, _, value = normalise_digest(digest).partition(":")
    for s in stmt["subject"]:
        if s["digest"].get(algo) == value:
            return dict(s)
    raise SubjectMismatchError(
        f"artifact digest {algo}:{value} is not among the {len(stmt['subject'])} subject(s)"
    )


def sign_statement(stmt: Mapping[str, Any], key: HybridSigningKey) -> dict[str, Any]:
    """Validate ``stmt`` and sign it into a DSSE envelope (payloadType in-toto)."""
    checked = parse_statement(stmt)
    payload = json.dumps(checked, sort_keys=True, separators=(",", ":")).encode()
    return sign_dsse(payload, INTOTO_PAYLOAD_TYPE, key)


def verify_statement(env: dict[str, Any], key: HybridPublicKey) -> dict[str, Any]:
    """Verify a DSSE envelope (both signatures) and return its parsed in-toto statement."""
    return parse_statement(verify_dsse(env, key, INTOTO_PAYLOAD_TYPE))
