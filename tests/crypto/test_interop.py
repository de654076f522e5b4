"""Interoperability with independent pure-Python FIPS 204 / FIPS 203 implementations.

cryptography stores ML-DSA private keys as the 32-byte seed xi and ML-KEM
private keys as the 64-byte seed d || z; dilithium-py and kyber-py derive the
same key pairs from those seeds with ``key_derive``. Public keys and
signatures/ciphertexts are the raw FIPS encodings in both.
"""

from __future__ import annotations

import os

import pytest

dilithium = pytest.importorskip("dilithium_py.ml_dsa")
kyber = pytest.importorskip("kyber_py.ml_kem")

from cryptography.hazmat.primitives.asymmetric.mldsa import (  # noqa: E402
    MLDSA65PrivateKey,
    MLDSA65PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.mlkem import (  # noqa: E402
    MLKEM768PrivateKey,
    MLKEM768PublicKey,
)

from xtrust.crypto import (  # noqa: E402
    HybridKemPrivateKey,
    HybridPublicKey,
    HybridSigningKey,
    SignatureError,
)
from xtrust.crypto.sign import HybridSignature  # noqa: E402

ML_DSA_65 = dilithium.ML_DSA_65
ML_KEM_768 = kyber.ML_KEM_768
MSG = b"interop: DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_mldsa_same_keypair_from_seed() -> None:
    seed = os.urandom(32)
    ours = MLDSA65PrivateKey.from_seed_bytes(seed)
    pk, _sk = ML_DSA_65.key_derive(seed)
    assert ours.public_key().public_bytes_raw() == pk


def test_mldsa_cryptography_signs_dilithium_verifies() -> None:
    key = MLDSA65PrivateKey.generate()
    pk = key.public_key().public_bytes_raw()
    sig = key.sign(MSG)  # FIPS 204 ML-DSA.Sign, empty context
    assert ML_DSA_65.verify(pk, MSG, sig)
    assert not ML_DSA_65.verify(pk, MSG + b"x", sig)
    # a non-empty context is a different message: both libraries agree
    ctx_sig = key.sign(MSG, b"ctx")
    assert ML_DSA_65.verify(pk, MSG, ctx_sig, ctx=b"ctx")
    assert not ML_DSA_65.verify(pk, MSG, ctx_sig)


def test_mldsa_dilithium_signs_cryptography_verifies() -> None:
    pk, sk = ML_DSA_65.keygen()
    sig = ML_DSA_65.sign(sk, MSG)
    public = MLDSA65PublicKey.from_public_bytes(pk)
    public.verify(sig, MSG)
    from cryptography.exceptions import InvalidSignature

    with pytest.raises(InvalidSignature):
        public.verify(sig, MSG + b"x")


def test_hybrid_half_verifies_with_dilithium() -> None:
    sk = HybridSigningKey.generate()
    parts = HybridSignature.decode(sk.sign(MSG))
    assert ML_DSA_65.verify(sk.mldsa.public_key().public_bytes_raw(), MSG, parts.mldsa65)


def test_hybrid_accepts_dilithium_made_half() -> None:
    # Build a hybrid key whose ML-DSA half is signed by dilithium-py from the same seed.
    sk = HybridSigningKey.generate()
    seed = sk.mldsa.private_bytes_raw()
    _pk, dsk = ML_DSA_65.key_derive(seed)
    ed = sk.sign_ed25519(MSG)
    sig = HybridSignature(ed, ML_DSA_65.sign(dsk, MSG)).encode()
    pub = HybridPublicKey.from_public_bytes(sk.public_key().public_bytes())
    pub.verify(MSG, sig)
    with pytest.raises(SignatureError):
        pub.verify(MSG, HybridSignature(ed, ML_DSA_65.sign(dsk, b"other")).encode())


def test_mlkem_same_keypair_from_seed() -> None:
    seed = os.urandom(64)
    ek, _dk = ML_KEM_768.key_derive(seed)
    assert MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw() == ek


def test_mlkem_kyber_encapsulates_to_our_kem_key() -> None:
    key = HybridKemPrivateKey.generate()
    ek = key.public_key().mlkem.public_bytes_raw()
    shared, ct = ML_KEM_768.encaps(ek)
    assert key.mlkem.decapsulate(ct) == shared


def test_mlkem_our_kem_key_encapsulates_to_kyber() -> None:
    ek, dk = ML_KEM_768.keygen()
    public = MLKEM768PublicKey.from_public_bytes(ek)
    shared, ct = public.encapsulate()
    assert ML_KEM_768.decaps(dk, ct) == shared


def test_mlkem_kyber_decapsulates_for_our_key_from_seed() -> None:
    key = HybridKemPrivateKey.generate()
    _ek, dk = ML_KEM_768.key_derive(key.mlkem.private_bytes_raw())
    shared, ct = key.public_key().mlkem.encapsulate()
    assert ML_KEM_768.decaps(dk, ct) == shared
