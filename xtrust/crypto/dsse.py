"""DSSE v1 envelopes signed with a hybrid key.

Spec: https://github.com/secure-systems-lab/dsse (protocol.md, envelope.md).
The signature input is the pre-authentication encoding::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

where ``LEN`` is the byte length as ASCII decimal without leading zeros and
``SP`` is one space (0x20). A hybrid key puts TWO entries in ``signatures``,
both over the same PAE: ``{"keyid": "<key_id>#ed25519", "sig": <64-byte
Ed25519 signature>}`` and ``{"keyid": "<key_id>#ml-dsa-65", "sig": <3309-byte
ML-DSA-65 signature>}`` (base64). :func:`verify_dsse` accepts the envelope only
when both an Ed25519 and an ML-DSA-65 signature verify with the given key.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from xtrust.crypto.errors import EnvelopeError, SignatureError
from xtrust.crypto.keys import HybridPublicKey, HybridSigningKey
from xtrust.crypto.sign import ED25519_SIGNATURE_SIZE, MLDSA65_SIGNATURE_SIZE

__all__ = [
    "ED25519_KEYID_SUFFIX",
    "MLDSA65_KEYID_SUFFIX",
    "envelope_from_json",
    "envelope_to_json",
    "pae",
    "sign_dsse",
    "verify_dsse",
]

ED25519_KEYID_SUFFIX = "#ed25519"
MLDSA65_KEYID_SUFFIX = "#ml-dsa-65"
#: An envelope with more signature entries than this is rejected (bounded work).
MAX_SIGNATURES = 32


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of ``payload_type`` and ``payload``."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), bytes(payload))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    # DSSE: "either standard or URL-safe encoding, with or without padding".
    if not isinstance(text, str):
        raise EnvelopeError(f"DSSE envelope: {what} must be a base64 string")
    s = text.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError(f"DSSE envelope: {what} is not valid base64") from None


def sign_dsse(payload: bytes, payload_type: str, key: HybridSigningKey) -> dict[str, Any]:
    """Sign ``payload`` into a DSSE envelope with both halves of ``key``."""
    if not isinstance(payload_type, str) or not payload_type:
        raise EnvelopeError("DSSE payloadType must be a non-empty string")
    message = pae(payload_type, bytes(payload))
    return {
        "payloadType": payload_type,
        "payload": _b64(bytes(payload)),
        "signatures": [
            {"keyid": key.key_id + ED25519_KEYID_SUFFIX, "sig": _b64(key.sign_ed25519(message))},
            {"keyid": key.key_id + MLDSA65_KEYID_SUFFIX, "sig": _b64(key.sign_mldsa(message))},
        ],
    }


def _parse(env: object) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    if not isinstance(env, dict):
        raise EnvelopeError("DSSE envelope must be a JSON object")
    ptype = env.get("payloadType")
    if not isinstance(ptype, str) or not ptype:
        raise EnvelopeError("DSSE envelope: payloadType missing or not a string")
    payload = _unb64(env.get("payload"), "payload")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise EnvelopeError("DSSE envelope: signatures must be a non-empty list")
    if len(sigs) > MAX_SIGNATURES:
        raise EnvelopeError(f"DSSE envelope: more than {MAX_SIGNATURES} signatures")
    out: list[tuple[str, bytes]] = []
    for i, entry in enumerate(sigs):
        if not isinstance(entry, dict):
            raise EnvelopeError(f"DSSE envelope: signatures[{i}] is not an object")
        keyid = entry.get("keyid", "")
        if not isinstance(keyid, str):
            raise EnvelopeError(f"DSSE envelope: signatures[{i}].keyid is not a string")
        out.append((keyid, _unb64(entry.get("sig"), f"signatures[{i}].sig")))
    return ptype, payload, out


def verify_dsse(
    env: dict[str, Any], key: HybridPublicKey, payload_type: str | None = None
) -> bytes:
    """Verify a DSSE envelope; return the payload bytes.

    Both an Ed25519 and an ML-DSA-65 signature over PAE(payloadType, payload)
    must verify with ``key``. Signature entries are matched by their length
    (the keyid is an unauthenticated hint, as in the DSSE spec); other entries
    (other keys, other algorithms, bad signatures) are ignored and do not count.
    With ``payload_type`` the envelope's payloadType must equal it.

    Raises :class:`SignatureError` (:class:`EnvelopeError`, a subclass, when the
    envelope is malformed). Never returns on failure.
    """
    if not isinstance(key, HybridPublicKey):
        raise SignatureError(
            f"verify_dsse needs a hybrid signing public key, not {type(key).__name__}"
        )
    ptype, payload, sigs = _parse(env)
    if payload_type is not None and ptype != payload_type:
        raise SignatureError(f"DSSE payloadType is {ptype!r}, expected {payload_type!r}")
    message = pae(ptype, payload)
    ok_ed = ok_ml = False
    for _keyid, sig in sigs:
        try:
            if len(sig) == ED25519_SIGNATURE_SIZE and not ok_ed:
                key.verify_ed25519(message, sig)
                ok_ed = True
            elif len(sig) == MLDSA65_SIGNATURE_SIZE and not ok_ml:
                key.verify_mldsa(message, sig)
                ok_ml = True
        except SignatureError:
            continue
    if not (ok_ed and ok_ml):
        missing = [n for n, ok in (("Ed25519", ok_ed), ("ML-DSA-65", ok_ml)) if not ok]
        raise SignatureError(
            f"DSSE envelope not verified: no valid {' and no valid '.join(missing)} signature "
            f"by key {key.key_id}"
        )
    return payload


def envelope_to_json(env: dict[str, Any]) -> bytes:
    """Serialise an envelope as compact JSON followed by a newline."""
    return json.dumps(env, separators=(",", ":")).encode() + b"\n"


def envelope_from_json(data: bytes | str) -> dict[str, Any]:
    """Parse a JSON DSSE envelope; raises :class:`EnvelopeError`."""
    try:
        env = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("DSSE envelope is not valid JSON") from None
    if not isinstance(env, dict):
        raise EnvelopeError("DSSE envelope must be a JSON object")
    return env
