"""The hybrid Ed25519 + ML-DSA-65 signature encoding.

A hybrid signature is one byte string carrying both component signatures over
the *same* message::

    offset  size  content
    0       4     magic b"XHS" + version byte 0x01
    4       64    Ed25519 signature (RFC 8032, pure Ed25519)
    68      3309  ML-DSA-65 signature (FIPS 204 ML-DSA.Sign, empty context)

3377 bytes in total. Both components sign the message itself (no pre-hash,
empty ML-DSA context), so each half is a standard signature that any RFC 8032
or FIPS 204 implementation verifies. A hybrid signature is valid only when
*both* halves verify; :meth:`xtrust.crypto.HybridPublicKey.verify` never
accepts one half alone.

This module holds the encoding only; keys live in :mod:`xtrust.crypto.keys`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xtrust.crypto.errors import SignatureError

__all__ = [
    "ED25519_SIGNATURE_SIZE",
    "HYBRID_SIGNATURE_MAGIC",
    "HYBRID_SIGNATURE_SIZE",
    "MLDSA65_SIGNATURE_SIZE",
    "HybridSignature",
]

HYBRID_SIGNATURE_MAGIC = b"XHS\x01"
ED25519_SIGNATURE_SIZE = 64
MLDSA65_SIGNATURE_SIZE = 3309
HYBRID_SIGNATURE_SIZE = (
    len(HYBRID_SIGNATURE_MAGIC) + ED25519_SIGNATURE_SIZE + MLDSA65_SIGNATURE_SIZE
)


@dataclass(frozen=True)
class HybridSignature:
    """The two component signatures of a hybrid signature."""

    ed25519: bytes
    mldsa65: bytes

    def __post_init__(self) -> None:
        if len(self.ed25519) != ED25519_SIGNATURE_SIZE:
            raise SignatureError(
                f"Ed25519 signature must be {ED25519_SIGNATURE_SIZE} bytes, got {len(self.ed25519)}"
            )
        if len(self.mldsa65) != MLDSA65_SIGNATURE_SIZE:
            raise SignatureError(
                f"ML-DSA-65 signature must be {MLDSA65_SIGNATURE_SIZE} bytes, "
                f"got {len(self.mldsa65)}"
            )

    def encode(self) -> bytes:
        """The wire encoding: magic, Ed25519 signature, ML-DSA-65 signature."""
        return HYBRID_SIGNATURE_MAGIC + self.ed25519 + self.mldsa65

    @classmethod
    def decode(cls, data: bytes) -> HybridSignature:
        """Parse the wire encoding; raises :class:`SignatureError` when malformed."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SignatureError(f"a hybrid signature is bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) != HYBRID_SIGNATURE_SIZE:
            raise SignatureError(
                f"hybrid signature must be {HYBRID_SIGNATURE_SIZE} bytes, got {len(data)}"
            )
        if not data.startswith(HYBRID_SIGNATURE_MAGIC):
            raise SignatureError("not an XTRUST hybrid signature (bad magic or version)")
        start = len(HYBRID_SIGNATURE_MAGIC)
        middle = start + ED25519_SIGNATURE_SIZE
        return cls(ed25519=data[start:middle], mldsa65=data[middle:])
