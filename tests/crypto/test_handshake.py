"""The hybrid X25519 + ML-KEM-768 (+ QKD) handshake and the sealed channel."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import uuid
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from kyber_py.ml_kem import ML_KEM_768  # type: ignore[import-untyped]

from tests.crypto.qkd_fixtures import *  # noqa: F403 - the pytest fixtures
from tests.crypto.qkd_fixtures import KmePair
from xtrust.crypto import handshake as hs
from xtrust.crypto.handshake import (
    ChannelError,
    HandshakeError,
    SealedChannel,
    finish,
    initiate,
    respond,
)
from xtrust.crypto.qkd import QkdKey, QkdRequestError
from xtrust.errors import DecodeError, XTrustError


def qkd_key(size: int = 32) -> QkdKey:
    return QkdKey(str(uuid.uuid4()), os.urandom(size))


def run(context: str = "E2 gnb-001", qkd: QkdKey | None = None) -> tuple[hs.HandshakeResult, ...]:
    state, msg1 = initiate(context=context, qkd=qkd)
    lookup = {qkd.key_id: qkd.key}.__getitem__ if qkd else None
    msg2, responder = respond(msg1, context=context, qkd=lookup)
    return finish(state, msg2), responder


# -- agreement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("with_qkd", [False, True])
def test_both_sides_derive_the_same_keys(with_qkd: bool) -> None:
    q = qkd_key() if with_qkd else None
    a, b = run(qkd=q)
    assert (a.key_i2r, a.key_r2i, a.exporter) == (b.key_i2r, b.key_r2i, b.exporter)
    assert a.transcript_hash == b.transcript_hash
    assert a.key_i2r != a.key_r2i and len(a.key_i2r) == 32
    assert a.qkd_key_id == b.qkd_key_id == (q.key_id if q else None)
    ca, cb = a.channel(), b.channel()
    assert cb.open(ca.seal(b"A1 policy", b"hdr"), b"hdr") == b"A1 policy"
    assert ca.open(cb.seal(b"ack")) == b"ack"


def test_two_handshakes_give_different_keys() -> None:
    assert run()[0].key_i2r != run()[0].key_i2r


def test_message_sizes_match_the_documented_layout() -> None:
    q = qkd_key()
    _state, msg1 = initiate(context="A1", qkd=q)
    assert len(msg1) == 8 + 32 + 1184 + 2 + 1 + 36 + 2
    assert msg1[:4] == b"XTH1" and msg1[4] == 1
    assert struct.unpack(">H", msg1[6:8])[0] == 2
    assert msg1[1224:1226] == b"A1" and msg1[1226] == 36
    assert msg1[1227:1263] == q.key_id.encode()
    msg2, _ = respond(msg1, context="A1", qkd=lambda _k: q.key)
    assert len(msg2) == 1176 and msg2[:5] == b"XTH1\x02"


def test_key_schedule_matches_rfc5869_by_hand() -> None:
    """Recompute HKDF-SHA-384 (RFC 5869 extract + expand) with hmac and compare."""
    ss_x, ss_m, q, transcript = os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(2400)
    got = hs._schedule(ss_x, ss_m, q, transcript)
    prk = hmac.new(hs.SALT, ss_x + ss_m + q, hashlib.sha384).digest()
    info = b"xtrust-hybrid-v1" + struct.pack(">H", len(q)) + hashlib.sha384(transcript).digest()
    okm, block = b"", b""
    for i in range(1, 5):
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha384).digest()
        okm += block
    assert got == (
        okm[:32],
        okm[32:64],
        okm[64:96],
        okm[96:144],
        hashlib.sha384(transcript).digest(),
    )


def test_hkdf_rfc5869_test_case_1() -> None:
    """RFC 5869 A.1 (SHA-256): the HKDF we build on gives the published OKM."""
    okm = HKDF(hashes.SHA256(), 42, salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA))).derive(
        b"\x0b" * 22
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


# -- binding: every transcript byte and every secret matters ----------------------------------


def test_changing_any_transcript_byte_changes_the_key() -> None:
    q = qkd_key()
    _state, msg1 = initiate(context="O1 tunnel", qkd=q)
    msg2, _ = respond(msg1, context="O1 tunnel", qkd=lambda _k: q.key)
    transcript = msg1 + msg2[:-48]
    secrets = (os.urandom(32), os.urandom(32), q.key)
    base = hs._schedule(*secrets, transcript)
    positions = set(range(0, len(transcript), 13)) | {0, 8, 39, 40, 1223, 1224, 1227, len(msg1)}
    positions |= {len(transcript) - 1, len(msg1) + 8, len(msg1) + 40}
    for pos in sorted(positions):
        changed = bytearray(transcript)
        changed[pos] ^= 0x01
        out = hs._schedule(*secrets, bytes(changed))
        assert all(o != b for o, b in zip(out, base, strict=True)), pos


@pytest.mark.parametrize("which", [0, 1, 2])
def test_each_secret_alone_changes_the_key(which: int) -> None:
    secrets = [os.urandom(32), os.urandom(32), os.urandom(32)]
    base = hs._schedule(secrets[0], secrets[1], secrets[2], b"t")
    secrets[which] = bytes(b ^ 1 for b in secrets[which])
    assert hs._schedule(secrets[0], secrets[1], secrets[2], b"t")[0] != base[0]
    assert hs._schedule(secrets[0], secrets[1], b"", b"t")[0] != base[0]


@pytest.mark.parametrize("offset", [8, 40, 1000, 1224])
def test_tampered_message_1_fails_key_confirmation(offset: int) -> None:
    state, msg1 = initiate(context="E2")
    bad = bytearray(msg1)
    bad[offset] ^= 0x40
    try:
        msg2, _ = respond(bytes(bad), context="E2")
    except HandshakeError:
        return  # rejected at once (for example the context no longer matches)
    with pytest.raises(HandshakeError, match="confirmation"):
        finish(state, msg2)


@pytest.mark.parametrize("offset", [8, 40, 500, 1127, 1128, 1175])
def test_tampered_message_2_fails_and_derives_nothing(offset: int) -> None:
    state, msg1 = initiate(context="E2")
    msg2, _ = respond(msg1, context="E2")
    bad = bytearray(msg2)
    bad[offset] ^= 0x01
    with pytest.raises(HandshakeError):
        finish(state, bytes(bad))
    with pytest.raises(HandshakeError, match="already used"):
        finish(state, msg2)  # the state is spent: no second try with the same secrets


def test_context_mismatch_fails() -> None:
    _, msg1 = initiate(context="A1")
    with pytest.raises(HandshakeError, match="context"):
        respond(msg1, context="E2")


# -- QKD policy --------------------------------------------------------------------------------


def test_qkd_required_and_missing_fails_closed() -> None:
    with pytest.raises(HandshakeError, match="required"):
        initiate(context="E2", require_qkd=True)
    _, msg1 = initiate(context="E2")
    with pytest.raises(HandshakeError, match="required"):
        respond(msg1, context="E2", require_qkd=True, qkd=lambda _k: b"x" * 32)
    q = qkd_key()
    _, msg1 = initiate(context="E2", qkd=q, require_qkd=True)
    with pytest.raises(HandshakeError, match="no QKD key source"):
        respond(msg1, context="E2")


def test_qkd_lookup_failure_fails_closed() -> None:
    _, msg1 = initiate(context="E2", qkd=qkd_key())

    def lookup(key_id: str) -> bytes:
        raise QkdRequestError("KME: key_ID unknown or already delivered")

    with pytest.raises(HandshakeError, match="unavailable"):
        respond(msg1, context="E2", qkd=lookup)
    with pytest.raises(HandshakeError, match="QKD key must have"):
        respond(msg1, context="E2", qkd=lambda _k: b"short")


def test_different_qkd_keys_do_not_agree() -> None:
    q = qkd_key()
    state, msg1 = initiate(context="E2", qkd=q)
    msg2, _ = respond(msg1, context="E2", qkd=lambda _k: os.urandom(32))
    with pytest.raises(HandshakeError, match="confirmation"):
        finish(state, msg2)


def test_handshake_with_a_key_from_the_kme_simulator(kmes: KmePair) -> None:
    alice, bob = kmes.client("alice", kmes.a), kmes.client("bob", kmes.b)
    key = alice.get_key("bob")[0]

    def lookup(key_id: str) -> bytes:
        return bob.get_key_with_id("alice", [key_id])[0].key

    state, msg1 = initiate(context="E2 gnb-001", qkd=key, require_qkd=True)
    msg2, resp = respond(msg1, context="E2 gnb-001", qkd=lookup, require_qkd=True)
    assert finish(state, msg2).key_i2r == resp.key_i2r
    # replaying message 1: the QKD key is gone from the KME, the responder fails closed
    with pytest.raises(HandshakeError, match="unavailable"):
        respond(msg1, context="E2 gnb-001", qkd=lookup, require_qkd=True)


# -- bad input ---------------------------------------------------------------------------------


def test_truncated_and_oversized_messages() -> None:
    state, msg1 = initiate(context="E2", qkd=qkd_key())
    for bad in (b"", msg1[:100], msg1[:-1], msg1 + b"\0", msg1 + b"\0" * 2000, b"XTH2" + msg1[4:]):
        with pytest.raises(HandshakeError) as err:
            respond(bad, context="E2", qkd=lambda _k: b"k" * 32)
        assert isinstance(err.value, DecodeError)
    msg2, _ = respond(msg1, context="E2", qkd=lambda _k: b"k" * 32)
    for bad in (msg2[:-1], msg2 + b"\0", b"", msg1):
        with pytest.raises(HandshakeError):
            finish(state, bad)


def test_bad_fields_in_message_1() -> None:
    _, msg1 = initiate(context="E2")
    flags = bytearray(msg1)
    flags[5] = 0x80
    reserved = bytearray(msg1)
    reserved[-1] = 1
    kind = bytearray(msg1)
    kind[4] = 2
    low_order = bytearray(msg1)
    low_order[8:40] = bytes(32)
    for bad in (flags, reserved, kind):
        with pytest.raises(DecodeError):
            respond(bytes(bad), context="E2")
    with pytest.raises(HandshakeError, match="low-order"):
        respond(bytes(low_order), context="E2")
    with pytest.raises(HandshakeError):
        respond("not bytes", context="E2")  # type: ignore[arg-type]


def test_wrong_key_types() -> None:
    with pytest.raises(HandshakeError, match="wrong key type"):
        initiate(context="E2", key="secret")
    with pytest.raises(HandshakeError, match="wrong key type"):
        initiate(context="E2", key=(ed25519.Ed25519PrivateKey.generate(), b"x"))
    _, msg1 = initiate(context="E2")
    with pytest.raises(HandshakeError, match="wrong key type"):
        respond(msg1, context="E2", initiator_key=ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(HandshakeError):
        finish(object(), b"")  # type: ignore[arg-type]
    with pytest.raises(HandshakeError):
        initiate(context="x" * 1025)
    with pytest.raises(HandshakeError, match="key_id"):
        initiate(context="E2", qkd=QkdKey("not-a-uuid", b"k" * 32))


@dataclass
class _KemKey:  # shaped like xtrust.crypto.keys.HybridKemPrivateKey
    x25519: x25519.X25519PrivateKey
    mlkem: mlkem.MLKEM768PrivateKey


def test_static_initiator_key_can_be_pinned() -> None:
    key = _KemKey(x25519.X25519PrivateKey.generate(), mlkem.MLKEM768PrivateKey.generate())
    public = (key.x25519.public_key(), key.mlkem.public_key())
    state, msg1 = initiate(context="A1", key=key)
    msg2, resp = respond(msg1, context="A1", initiator_key=public)
    assert finish(state, msg2).exporter == resp.exporter
    other = (x25519.X25519PrivateKey.generate(), mlkem.MLKEM768PrivateKey.generate())
    _, msg1 = initiate(context="A1", key=other)
    with pytest.raises(HandshakeError, match="pinned"):
        respond(msg1, context="A1", initiator_key=key)


def test_works_with_the_hybrid_kem_key_class() -> None:
    keys = pytest.importorskip("xtrust.crypto.keys")
    key = keys.HybridKemPrivateKey.generate()
    state, msg1 = initiate(context="A1", key=key)
    msg2, resp = respond(msg1, context="A1", initiator_key=key.public_key())
    assert finish(state, msg2).key_r2i == resp.key_r2i


# -- sealed channel ----------------------------------------------------------------------------


def pair(max_records: int = 1 << 32) -> tuple[SealedChannel, SealedChannel]:
    k1, k2 = os.urandom(32), os.urandom(32)
    return SealedChannel(k1, k2, max_records=max_records), SealedChannel(k2, k1)


def test_channel_nonces_are_unique_and_records_in_order() -> None:
    a, b = pair()
    records = [a.seal(b"same") for _ in range(3)]
    assert len(set(records)) == 3
    assert [int.from_bytes(r[:8], "big") for r in records] == [0, 1, 2]
    assert b.open(records[0]) == b"same"
    with pytest.raises(ChannelError, match="replayed"):
        b.open(records[0])
    with pytest.raises(ChannelError, match="out of order"):
        b.open(records[2])
    assert b.open(records[1]) == b"same" and b.received == 2


def test_channel_rejects_forgery_without_changing_state() -> None:
    a, b = pair()
    rec = a.seal(b"data", b"aad")
    for bad in (rec[:-1] + bytes([rec[-1] ^ 1]), rec[:10], rec):
        with pytest.raises(ChannelError):
            b.open(bad, b"other aad" if bad is rec else b"aad")
    assert b.received == 0
    assert b.open(rec, b"aad") == b"data"


def test_channel_refuses_counter_wrap_and_second_channel() -> None:
    a, _ = pair(max_records=2)
    a.seal(b"1")
    a.seal(b"2")
    with pytest.raises(ChannelError, match="exhausted"):
        a.seal(b"3")
    result, _ = run()
    result.channel()
    with pytest.raises(ChannelError, match="nonce reuse"):
        result.channel()
    with pytest.raises(ChannelError):
        SealedChannel(b"k" * 32, b"k" * 32)
    assert issubclass(ChannelError, XTrustError)


# -- ML-KEM-768 interoperability with kyber-py (FIPS 203) -----------------------------------


def test_mlkem_keys_are_the_same_from_the_same_seed() -> None:
    ours = mlkem.MLKEM768PrivateKey.generate()
    seed = ours.private_bytes_raw()  # d || z, 64 bytes
    ek, dk = ML_KEM_768._keygen_internal(seed[:32], seed[32:])
    assert ek == ours.public_key().public_bytes_raw() and len(ek) == 1184
    assert len(dk) == 2400


def test_mlkem_encapsulation_by_us_decapsulates_in_kyber_py() -> None:
    ours = mlkem.MLKEM768PrivateKey.generate()
    seed = ours.private_bytes_raw()
    _, dk = ML_KEM_768._keygen_internal(seed[:32], seed[32:])
    ss, ct = ours.public_key().encapsulate()
    assert len(ct) == 1088 and len(ss) == 32
    assert ML_KEM_768.decaps(dk, ct) == ss


def test_mlkem_encapsulation_by_kyber_py_decapsulates_with_us() -> None:
    ours = mlkem.MLKEM768PrivateKey.generate()
    ss, ct = ML_KEM_768.encaps(ours.public_key().public_bytes_raw())
    assert ours.decapsulate(ct) == ss
    ek, dk = ML_KEM_768.keygen()
    ss2, ct2 = mlkem.MLKEM768PublicKey.from_public_bytes(ek).encapsulate()
    assert ML_KEM_768.decaps(dk, ct2) == ss2


def test_handshake_responder_with_kyber_py_encapsulation() -> None:
    """Message 2 built with kyber-py's encapsulation is accepted by our initiator."""
    state, msg1 = initiate(context="E2")
    ek = msg1[40:1224]
    ss_m, ct = ML_KEM_768.encaps(ek)
    xk = x25519.X25519PrivateKey.generate()
    ss_x = xk.exchange(x25519.X25519PublicKey.from_public_bytes(msg1[8:40]))
    body = b"XTH1\x02\0\0\0" + xk.public_key().public_bytes_raw() + ct
    k1, _, _, ck, _ = hs._schedule(ss_x, ss_m, b"", msg1 + body)
    tag = hmac.new(ck, b"xtrust responder confirm", hashlib.sha384).digest()
    assert finish(state, body + tag).key_i2r == k1


def test_qkd_key_id_can_be_read_before_responding() -> None:
    q = qkd_key()
    _, msg1 = initiate(context="E2", qkd=q)
    assert hs.qkd_key_id_of(msg1) == q.key_id
    assert hs.qkd_key_id_of(initiate(context="E2")[1]) is None
    with pytest.raises(DecodeError):
        hs.qkd_key_id_of(msg1[:-3])
