"""Certification attestations as the ledger sees them, and the local attestation store.

An attestation is a DSSE envelope (``xtrust certify --sign``) over an in-toto
Statement v1 with predicateType ``https://xtrust.dev/certification/v1``. The
ledger records the SHA-256 of the envelope file's bytes; the envelope itself is
kept in ``<data-dir>/attestations/<hex>.json`` so that ``xtrust admit`` finds it by
that digest. Certifier public keys (hybrid Ed25519 + ML-DSA-65) registered with
``xtrust ledger keys register`` are kept in ``<data-dir>/keys/<key-id hex>.pub``;
the chain stores only the key id, so a key file is checked against it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtrust._files import write_atomic
from xtrust.crypto import (
    INTOTO_PAYLOAD_TYPE,
    HybridPublicKey,
    SignatureError,
    load_public_key,
    parse_statement,
    verify_dsse,
)
from xtrust.errors import InputError, XTrustError
from xtrust.ledger.errors import AttestationError

__all__ = [
    "PREDICATE_TYPE",
    "Attestation",
    "AttestationStore",
    "check_attestation",
    "load_attestation",
]

PREDICATE_TYPE = "https://xtrust.dev/certification/v1"
#: verdicts that mean the certification passed ("pass" is what `xtrust certify` writes)
PASSING_VERDICTS = ("passed", "pass")


@dataclass(frozen=True)
class Attestation:
    raw: bytes
    envelope: dict[str, Any]
    digest: str  # sha256 of the envelope file bytes

    @classmethod
    def from_bytes(cls, raw: bytes, where: str = "attestation") -> Attestation:
        try:
            env = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise AttestationError(f"{where} is not JSON (expected a DSSE envelope)") from None
        if not isinstance(env, dict) or "payload" not in env or "signatures" not in env:
            raise AttestationError(f"{where} is not a DSSE envelope (payload, signatures)")
        return cls(raw=raw, envelope=env, digest="sha256:" + hashlib.sha256(raw).hexdigest())


def load_attestation(path: Path) -> Attestation:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read attestation {path}: {exc.strerror or exc}") from None
    return Attestation.from_bytes(raw, str(path))


def check_attestation(
    att: Attestation, key: HybridPublicKey, artifact_digest: str
) -> dict[str, Any]:
    """Verify both signatures with ``key``, the predicate, the verdict and the subject.

    Returns the in-toto statement; raises :class:`AttestationError` with the reason.
    """
    try:
        payload = verify_dsse(att.envelope, key, INTOTO_PAYLOAD_TYPE)
    except SignatureError as exc:
        raise AttestationError(f"attestation signature check failed: {exc}") from None
    try:
        stmt = parse_statement(payload)
    except XTrustError as exc:
        raise AttestationError(f"attestation payload: {exc}") from None
    if stmt.get("predicateType") != PREDICATE_TYPE:
        raise AttestationError(
            f"attestation predicateType is {stmt.get('predicateType')!r}, expected {PREDICATE_TYPE}"
        )
    verdict = (stmt.get("predicate") or {}).get("verdict")
    if verdict not in PASSING_VERDICTS:
        raise AttestationError(f"the certification verdict is {verdict!r}, not passed")
    want = artifact_digest.split(":", 1)[1].lower()
    subjects = [s["digest"].get("sha256") for s in stmt["subject"]]
    if want not in subjects:
        raise AttestationError(
            f"the attestation's subject(s) {', '.join('sha256:' + str(s) for s in subjects)} "
            f"do not include the artifact {artifact_digest}"
        )
    return stmt


class AttestationStore:
    """Envelopes by digest and certifier public keys by key id, under the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.att_dir = data_dir / "attestations"
        self.key_dir = data_dir / "keys"

    def put(self, att: Attestation) -> Path:
        path = self.att_dir / (att.digest.split(":", 1)[1] + ".json")
        if not path.exists():
            write_atomic(path, att.raw, mode=0o600, make_dirs=True)
        return path

    def get(self, digest: str) -> Attestation | None:
        path = self.att_dir / (digest.split(":", 1)[1] + ".json")
        if not path.exists():
            return None
        att = load_attestation(path)
        if att.digest != digest:
            raise AttestationError(f"{path} was modified: its digest is {att.digest}")
        return att

    def put_key(self, key: HybridPublicKey) -> Path:
        path = self.key_dir / (key.key_id.split(":", 1)[1] + ".pub")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key.save(path)
        return path

    def get_key(self, key_id: str) -> HybridPublicKey | None:
        path = self.key_dir / (key_id.split(":", 1)[1] + ".pub")
        if not path.exists():
            return None
        key = load_public_key(path, kind="sign")
        if key.key_id != key_id:
            raise AttestationError(f"{path} does not hold the key {key_id}")
        return key
