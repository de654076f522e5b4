"""Hybrid Ed25519 + ML-DSA-65 signatures: both halves are required."""

from __future__ import annotations

import pytest

from xtrust.crypto import HybridPublicKey, HybridSigningKey, SignatureError
from xtrust.crypto.sign import (
    ED25519_SIGNATURE_SIZE,
    HYBRID_SIGNATURE_MAGIC,
    HYBRID_SIGNATURE_SIZE,
    HybridSignature,
)
from xtrust.errors import XTrustError

MSG = b"certify: sha256:0123 approved"


@pytest.fixture(scope="module")
def sk() -> HybridSigningKey:
    return HybridSigningKey.generate()


@pytest.fixture(scope="module")
def other() -> HybridSigningKey:
    return HybridSigningKey.generate()


def _flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


def test_roundtrip(sk: HybridSigningKey) -> None:
    sig = sk.sign(MSG)
    assert len(sig) == HYBRID_SIGNATURE_SIZE == 4 + 64 + 3309
    assert sig.startswith(HYBRID_SIGNATURE_MAGIC)
    assert sk.public_key().verify(MSG, sig) is None


def test_signature_error_is_xtrust_error() -> None:
    assert issubclass(SignatureError, XTrustError)


def test_tampered_message(sk: HybridSigningKey) -> None:
    sig = sk.sign(MSG)
    with pytest.raises(SignatureError, match="Ed25519 and ML-DSA-65 halves"):
        sk.public_key().verify(MSG + b"!", sig)


def test_tampered_ed25519_half(sk: HybridSigningKey) -> None:
    sig = sk.sign(MSG)
    bad = _flip(sig, 4 + 10)
    with pytest.raises(SignatureError, match=r"Ed25519 half does not verify"):
        sk.public_key().verify(MSG, bad)


def test_tampered_mldsa_half(sk: HybridSigningKey) -> None:
    sig = sk.sign(MSG)
    bad = _flip(sig, 4 + 64 + 100)
    with pytest.raises(SignatureError, match=r"ML-DSA-65 half does not verify"):
        sk.public_key().verify(MSG, bad)


def test_tampered_magic_and_length(sk: HybridSigningKey) -> None:
    sig = sk.sign(MSG)
    with pytest.raises(SignatureError, match="magic"):
        sk.public_key().verify(MSG, _flip(sig, 3))
    with pytest.raises(SignatureError, match="3377 bytes"):
        sk.public_key().verify(MSG, sig[:-1])
    with pytest.raises(SignatureError, match="3377 bytes"):
        sk.public_key().verify(MSG, sig + b"\x00")


def test_swapped_order_of_halves_rejected(sk: HybridSigningKey) -> None:
    parts = HybridSignature.decode(sk.sign(MSG))
    swapped = HYBRID_SIGNATURE_MAGIC + parts.mldsa65 + parts.ed25519
    assert len(swapped) == HYBRID_SIGNATURE_SIZE
    with pytest.raises(SignatureError):
        sk.public_key().verify(MSG, swapped)


def test_halves_swapped_between_messages_rejected(sk: HybridSigningKey) -> None:
    a = HybridSignature.decode(sk.sign(b"message a"))
    b = HybridSignature.decode(sk.sign(b"message b"))
    mixed = HybridSignature(a.ed25519, b.mldsa65).encode()
    with pytest.raises(SignatureError, match="ML-DSA-65 half"):
        sk.public_key().verify(b"message a", mixed)
    with pytest.raises(SignatureError, match="Ed25519 half"):
        sk.public_key().verify(b"message b", mixed)


def test_both_required_half_from_other_key(sk: HybridSigningKey, other: HybridSigningKey) -> None:
    # Each half is a perfectly valid signature of MSG, by different keys.
    mine = HybridSignature.decode(sk.sign(MSG))
    theirs = HybridSignature.decode(other.sign(MSG))
    for sig, bad_half in (
        (HybridSignature(mine.ed25519, theirs.mldsa65).encode(), "ML-DSA-65 half"),
        (HybridSignature(theirs.ed25519, mine.mldsa65).encode(), "Ed25519 half"),
    ):
        with pytest.raises(SignatureError, match=bad_half):
            sk.public_key().verify(MSG, sig)


def test_zeroed_half_rejected(sk: HybridSigningKey) -> None:
    parts = HybridSignature.decode(sk.sign(MSG))
    only_ed = HybridSignature(parts.ed25519, bytes(3309)).encode()
    only_ml = HybridSignature(bytes(ED25519_SIGNATURE_SIZE), parts.mldsa65).encode()
    for sig in (only_ed, only_ml):
        with pytest.raises(SignatureError):
            sk.public_key().verify(MSG, sig)


def test_wrong_key(sk: HybridSigningKey, other: HybridSigningKey) -> None:
    with pytest.raises(SignatureError, match=other.key_id):
        other.public_key().verify(MSG, sk.sign(MSG))


def test_signature_not_bytes(sk: HybridSigningKey) -> None:
    with pytest.raises(SignatureError):
        sk.public_key().verify(MSG, "not bytes")  # type: ignore[arg-type]


def test_component_signatures_are_plain(sk: HybridSigningKey) -> None:
    # The halves are ordinary Ed25519 / ML-DSA signatures over the message itself.
    parts = HybridSignature.decode(sk.sign(MSG))
    sk.ed25519.public_key().verify(parts.ed25519, MSG)
    sk.mldsa.public_key().verify(parts.mldsa65, MSG)


def test_key_id_and_public_bytes(sk: HybridSigningKey) -> None:
    pk = sk.public_key()
    assert pk.key_id.startswith("sha256:") and len(pk.key_id) == 7 + 64
    raw = pk.public_bytes()
    assert len(raw) == 32 + 1952
    again = HybridPublicKey.from_public_bytes(raw)
    assert again == pk and again.key_id == pk.key_id
    assert HybridSigningKey.from_private_bytes(sk.private_bytes()).key_id == sk.key_id
    import hashlib

    assert pk.key_id == "sha256:" + hashlib.sha256(b"ed25519+ml-dsa-65\x00" + raw).hexdigest()
    assert HybridSigningKey.generate().key_id != sk.key_id
