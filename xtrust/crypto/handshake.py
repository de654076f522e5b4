"""Hybrid key establishment for RIC links: X25519 + ML-KEM-768, optionally + a QKD key.

Two messages, then a sealed channel::

    initiator                                         responder
    state, msg1 = initiate(context=..., qkd=key)  --msg1-->
                                                  <--msg2--  msg2, result = respond(msg1, ...)
    result = finish(state, msg2)

Both sides end with the same :class:`HandshakeResult`: two AES-256-GCM keys
(one per direction), an exporter secret (for example an external PSK for
TLS 1.3 where the stack allows one) and the transcript hash.

Key schedule (HKDF, RFC 5869, with SHA-384)::

    transcript = msg1 || msg2 without its confirmation tag
    ikm  = X25519 shared secret (32) || ML-KEM-768 shared secret (32) || QKD key (0..128)
    salt = "XTRUST hybrid key establishment v1"
    info = "xtrust-hybrid-v1" || u16 len(QKD key) || SHA-384(transcript)
    okm  = HKDF-SHA-384(salt, ikm, info, 144)
         = key_i2r (32) || key_r2i (32) || exporter (32) || confirm_key (48)
    tag  = HMAC-SHA-384(confirm_key, "xtrust responder confirm")

The transcript carries both public keys, the ML-KEM ciphertext, the QKD key ID
and the context label, so the output is bound to all of them; every secret
goes into one HKDF-Extract, so the result stays secret as long as any one of
X25519, ML-KEM-768 or the QKD key does.

Wire format (all integers big-endian)::

    msg1 (1227 + L + K bytes)
      0     4  magic "XTH1"
      4     1  type = 1
      5     1  flags: bit 0 = the initiator requires a QKD key; others 0
      6     2  L = length of the context label (0..1024)
      8    32  initiator X25519 public key
      40 1184  initiator ML-KEM-768 encapsulation key
      1224  L  context label (UTF-8)
      +0    1  K = length of the QKD key ID (0: no QKD key; else 36)
      +1    K  QKD key ID (ETSI GS QKD 014 key_ID, a UUID in ASCII)
      +K    2  reserved, 0

    msg2 (1176 bytes)
      0     4  magic "XTH1"
      4     1  type = 2
      5     3  reserved, 0
      8    32  responder X25519 public key
      40 1088  ML-KEM-768 ciphertext (to the initiator's encapsulation key)
      1128 48  confirmation tag

Any malformed message, wrong key type, context mismatch, missing QKD key under
``require_qkd`` or bad confirmation tag raises :class:`HandshakeError`; nothing
is derived then. Keys may be given as raw ``cryptography`` objects (a tuple
``(X25519PrivateKey, MLKEM768PrivateKey)``) or as a hybrid KEM key object that
holds both as ``.x25519`` and ``.mlkem`` (``xtrust.crypto.keys.HybridKemPrivateKey``,
``HybridKemPublicKey`` to pin the initiator); by default both sides
use fresh ephemeral keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from xtrust.errors import DecodeError, XTrustError

__all__ = [
    "MAX_CONTEXT",
    "ChannelError",
    "HandshakeError",
    "HandshakeResult",
    "InitiatorState",
    "QkdLookup",
    "SealedChannel",
    "finish",
    "initiate",
    "qkd_key_id_of",
    "respond",
]

MAGIC = b"XTH1"
MAX_CONTEXT = 1024
X25519_LEN = 32
EK_LEN = 1184
CT_LEN = 1088
TAG_LEN = 48
MSG2_LEN = 8 + X25519_LEN + CT_LEN + TAG_LEN
MSG1_MIN = 8 + X25519_LEN + EK_LEN + 1 + 2
MIN_QKD_KEY, MAX_QKD_KEY = 16, 128
FLAG_REQUIRE_QKD = 0x01
SALT = b"XTRUST hybrid key establishment v1"
LABEL = b"xtrust-hybrid-v1"
CONFIRM_LABEL = b"xtrust responder confirm"
_UUID = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: Looks up a QKD key by its ETSI 014 key ID (for example ``KmeClient.get_key_with_id``).
QkdLookup = Callable[[str], bytes]


class HandshakeError(XTrustError):
    """The handshake failed: bad message, wrong key, missing QKD key, bad confirmation."""


class HandshakeDecodeError(HandshakeError, DecodeError):
    """A handshake message is malformed (truncated, oversized, bad field)."""


class ChannelError(XTrustError):
    """A sealed-channel record failed: forged, replayed, out of order, or counter exhausted."""


# -- keys --------------------------------------------------------------------------------------


def _parts(key: object) -> tuple[object, object]:
    """The X25519 and ML-KEM parts of a key pair: a ``(x25519, mlkem)`` tuple, or an object
    with ``.x25519`` and ``.mlkem`` (``xtrust.crypto.keys.HybridKem*Key``)."""
    if isinstance(key, tuple) and len(key) == 2:
        return key[0], key[1]
    return getattr(key, "x25519", None), getattr(key, "mlkem", None)


def _private_pair(key: object) -> tuple[x25519.X25519PrivateKey, mlkem.MLKEM768PrivateKey]:
    x, m = _parts(key)
    if not isinstance(x, x25519.X25519PrivateKey) or not isinstance(m, mlkem.MLKEM768PrivateKey):
        raise HandshakeError(
            f"wrong key type {type(key).__name__}: need an X25519 + ML-KEM-768 private key pair"
        )
    return x, m


def _public_bytes(key: object) -> bytes:
    """X25519 public (32) || ML-KEM-768 encapsulation key (1184) of a public or private key."""
    x, m = _parts(key)
    if isinstance(x, x25519.X25519PrivateKey):
        x = x.public_key()
    if isinstance(m, mlkem.MLKEM768PrivateKey):
        m = m.public_key()
    if not isinstance(x, x25519.X25519PublicKey) or not isinstance(m, mlkem.MLKEM768PublicKey):
        raise HandshakeError(
            f"wrong key type {type(key).__name__}: need an X25519 + ML-KEM-768 public key pair"
        )
    return x.public_bytes_raw() + m.public_bytes_raw()


# -- results -----------------------------------------------------------------------------------


@dataclass
class HandshakeResult:
    """What both sides share after the handshake."""

    role: str
    key_i2r: bytes = field(repr=False)
    key_r2i: bytes = field(repr=False)
    exporter: bytes = field(repr=False)
    transcript_hash: bytes
    qkd_key_id: str | None
    _channel_taken: bool = field(default=False, repr=False)

    def channel(self, *, max_records: int = 1 << 32) -> SealedChannel:
        """The sealed channel of this side; once per handshake (a second would reuse nonces)."""
        if self._channel_taken:
            raise ChannelError("the channel of this handshake was already taken (nonce reuse)")
        self._channel_taken = True
        if self.role == "initiator":
            return SealedChannel(self.key_i2r, self.key_r2i, max_records=max_records)
        return SealedChannel(self.key_r2i, self.key_i2r, max_records=max_records)


class SealedChannel:
    """AES-256-GCM records with a counter nonce, one key per direction.

    A record is ``counter (8, big-endian) || ciphertext || tag (16)``; the nonce
    is four zero bytes followed by the counter; the counter and the caller's
    associated data are authenticated. Records must be opened in order (the
    channel runs over a reliable stream); a replayed, reordered or forged record
    raises :class:`ChannelError` and changes nothing. After ``max_records``
    records in a direction the channel refuses to go on: handshake again.
    """

    OVERHEAD = 8 + 16

    def __init__(self, send_key: bytes, recv_key: bytes, *, max_records: int = 1 << 32):
        if len(send_key) != 32 or len(recv_key) != 32:
            raise ChannelError("AES-256-GCM keys have 32 bytes")
        if send_key == recv_key:
            raise ChannelError("send and receive keys must differ")
        if not 0 < max_records <= 1 << 64:
            raise ChannelError("max_records must be between 1 and 2**64")
        self._send = AESGCM(send_key)
        self._recv = AESGCM(recv_key)
        self._send_ctr = 0
        self._recv_ctr = 0
        self.max_records = max_records

    @property
    def sent(self) -> int:
        return self._send_ctr

    @property
    def received(self) -> int:
        return self._recv_ctr

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        ctr = self._send_ctr
        if ctr >= self.max_records:
            raise ChannelError("send counter exhausted: refusing to reuse a nonce; handshake again")
        self._send_ctr = ctr + 1
        head = ctr.to_bytes(8, "big")
        return head + self._send.encrypt(b"\0\0\0\0" + head, plaintext, head + aad)

    def open(self, record: bytes, aad: bytes = b"") -> bytes:
        if len(record) < self.OVERHEAD:
            raise ChannelError("record too short")
        head = bytes(record[:8])
        ctr = int.from_bytes(head, "big")
        if ctr >= self.max_records:
            raise ChannelError("receive counter exhausted; handshake again")
        if ctr != self._recv_ctr:
            raise ChannelError(f"record {ctr} out of order or replayed (expected {self._recv_ctr})")
        try:
            plaintext = self._recv.decrypt(b"\0\0\0\0" + head, bytes(record[8:]), head + aad)
        except InvalidTag:
            raise ChannelError("record authentication failed") from None
        self._recv_ctr = ctr + 1
        return plaintext


# -- the handshake -----------------------------------------------------------------------------


@dataclass
class InitiatorState:
    """The initiator's secrets between :func:`initiate` and :func:`finish` (single use)."""

    msg1: bytes
    x25519_key: x25519.X25519PrivateKey = field(repr=False)
    mlkem_key: mlkem.MLKEM768PrivateKey = field(repr=False)
    qkd_key: bytes | None = field(repr=False)
    qkd_key_id: str | None
    used: bool = False


def _context_bytes(context: str | bytes) -> bytes:
    raw = context.encode("utf-8") if isinstance(context, str) else bytes(context)
    if len(raw) > MAX_CONTEXT:
        raise HandshakeError(f"context label longer than {MAX_CONTEXT} bytes")
    return raw


def _check_qkd_key(key: object) -> bytes:
    if not isinstance(key, bytes | bytearray) or not MIN_QKD_KEY <= len(key) <= MAX_QKD_KEY:
        raise HandshakeError(f"a QKD key must have {MIN_QKD_KEY}..{MAX_QKD_KEY} bytes")
    return bytes(key)


def _schedule(
    ss_x: bytes, ss_m: bytes, qkd: bytes, transcript: bytes
) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    th = hashlib.sha384(transcript).digest()
    info = LABEL + struct.pack(">H", len(qkd)) + th
    okm = HKDF(hashes.SHA384(), 144, salt=SALT, info=info).derive(ss_x + ss_m + qkd)
    return okm[:32], okm[32:64], okm[64:96], okm[96:144], th


def _confirm(confirm_key: bytes) -> bytes:
    return hmac.new(confirm_key, CONFIRM_LABEL, hashlib.sha384).digest()


def _x25519(priv: x25519.X25519PrivateKey, peer: bytes) -> bytes:
    try:
        return priv.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    except ValueError:
        raise HandshakeError("X25519 exchange failed (low-order public key)") from None


def initiate(
    *,
    context: str | bytes,
    qkd: Any = None,
    require_qkd: bool = False,
    key: object = None,
) -> tuple[InitiatorState, bytes]:
    """First message. ``qkd`` is a QKD key obtained with ``enc_keys`` (an object with
    ``key_id`` and ``key``, such as :class:`xtrust.crypto.qkd.QkdKey`) or ``None``.
    ``key``: the initiator's X25519 + ML-KEM-768 key pair (default: fresh ephemeral)."""
    ctx = _context_bytes(context)
    if qkd is None:
        if require_qkd:
            raise HandshakeError("a QKD key is required and none was given")
        key_id, qkd_key = b"", None
    else:
        raw_id, raw_key = getattr(qkd, "key_id", None), getattr(qkd, "key", None)
        if not isinstance(raw_id, str) or not _UUID.match(raw_id.encode("ascii", "replace")):
            raise HandshakeError("the QKD key needs a key_id that is a lowercase UUID")
        if not isinstance(raw_key, bytes | bytearray):
            raise HandshakeError("the QKD key needs key bytes")
        key_id, qkd_key = raw_id.encode("ascii"), _check_qkd_key(raw_key)
    if key is None:
        xk, mk = x25519.X25519PrivateKey.generate(), mlkem.MLKEM768PrivateKey.generate()
    else:
        xk, mk = _private_pair(key)
    flags = FLAG_REQUIRE_QKD if require_qkd else 0
    msg1 = b"".join(
        [
            MAGIC,
            struct.pack(">BBH", 1, flags, len(ctx)),
            xk.public_key().public_bytes_raw(),
            mk.public_key().public_bytes_raw(),
            ctx,
            struct.pack(">B", len(key_id)),
            key_id,
            b"\0\0",
        ]
    )
    state = InitiatorState(msg1, xk, mk, qkd_key, key_id.decode() or None)
    return state, msg1


@dataclass(frozen=True)
class _Msg1:
    flags: int
    x_pub: bytes
    ek: bytes
    context: bytes
    key_id: str | None


def _parse_msg1(msg: bytes) -> _Msg1:
    if not isinstance(msg, bytes | bytearray):
        raise HandshakeDecodeError("handshake message 1 must be bytes")
    msg = bytes(msg)
    if len(msg) < MSG1_MIN:
        raise HandshakeDecodeError(f"handshake message 1 truncated ({len(msg)} bytes)")
    if len(msg) > MSG1_MIN + MAX_CONTEXT + 36:
        raise HandshakeDecodeError(f"handshake message 1 oversized ({len(msg)} bytes)")
    if msg[:4] != MAGIC:
        raise HandshakeDecodeError("not an XTRUST handshake message (bad magic)")
    mtype, flags, clen = struct.unpack_from(">BBH", msg, 4)
    if mtype != 1:
        raise HandshakeDecodeError(f"expected handshake message type 1, got {mtype}")
    if flags & ~FLAG_REQUIRE_QKD:
        raise HandshakeDecodeError(f"unknown flags 0x{flags:02x} in handshake message 1")
    if clen > MAX_CONTEXT:
        raise HandshakeDecodeError("context label too long")
    pos = 8
    x_pub = msg[pos : pos + X25519_LEN]
    pos += X25519_LEN
    ek = msg[pos : pos + EK_LEN]
    pos += EK_LEN
    if len(msg) < pos + clen + 3:
        raise HandshakeDecodeError("handshake message 1 truncated in the context label")
    ctx = msg[pos : pos + clen]
    pos += clen
    klen = msg[pos]
    pos += 1
    if klen not in (0, 36):
        raise HandshakeDecodeError(f"bad QKD key ID length {klen}")
    if len(msg) != pos + klen + 2:
        raise HandshakeDecodeError(
            f"handshake message 1 has {len(msg)} bytes, its fields need {pos + klen + 2}"
        )
    raw_id = msg[pos : pos + klen]
    if klen and not _UUID.match(raw_id):
        raise HandshakeDecodeError("the QKD key ID is not a lowercase UUID")
    if msg[pos + klen :] != b"\0\0":
        raise HandshakeDecodeError("reserved bytes of handshake message 1 are not zero")
    return _Msg1(flags, x_pub, ek, ctx, raw_id.decode("ascii") if klen else None)


def qkd_key_id_of(msg1: bytes) -> str | None:
    """The QKD key ID named in message 1 (``None`` if none), for callers that fetch the
    key themselves (for example with ``await AsyncKmeClient.get_key_with_id``) and then
    pass ``qkd=lambda _id: key`` to :func:`respond`."""
    return _parse_msg1(msg1).key_id


def respond(
    msg1: bytes,
    *,
    context: str | bytes,
    qkd: QkdLookup | None = None,
    require_qkd: bool = False,
    initiator_key: object = None,
) -> tuple[bytes, HandshakeResult]:
    """Answer message 1: returns message 2 and the responder's result.

    ``qkd`` looks a QKD key up by key ID (``dec_keys``); it is called only if
    message 1 names one. With ``require_qkd`` (or if the initiator asks for it),
    a message without a key ID, or a failed lookup, fails the handshake.
    ``initiator_key`` pins the initiator's static public key pair."""
    m = _parse_msg1(msg1)
    expected_ctx = _context_bytes(context)
    if not hmac.compare_digest(m.context, expected_ctx):
        raise HandshakeError("context label of the peer does not match ours")
    if initiator_key is not None and not hmac.compare_digest(
        _public_bytes(initiator_key), m.x_pub + m.ek
    ):
        raise HandshakeError("the initiator's public key is not the pinned one")
    need_qkd = require_qkd or bool(m.flags & FLAG_REQUIRE_QKD)
    qkd_key = b""
    if m.key_id is None:
        if need_qkd:
            raise HandshakeError("a QKD key is required and message 1 names none")
    else:
        if qkd is None:
            raise HandshakeError("message 1 names a QKD key and no QKD key source is configured")
        try:
            fetched = qkd(m.key_id)
        except XTrustError as exc:
            raise HandshakeError(f"QKD key {m.key_id} unavailable: {exc}") from None
        qkd_key = _check_qkd_key(fetched)
    try:
        ek = mlkem.MLKEM768PublicKey.from_public_bytes(m.ek)
        ss_m, ct = ek.encapsulate()
    except ValueError:
        raise HandshakeDecodeError("invalid ML-KEM-768 encapsulation key") from None
    xk = x25519.X25519PrivateKey.generate()
    ss_x = _x25519(xk, m.x_pub)
    body = MAGIC + struct.pack(">BBH", 2, 0, 0) + xk.public_key().public_bytes_raw() + ct
    k1, k2, exp, ck, th = _schedule(ss_x, ss_m, qkd_key, bytes(msg1) + body)
    result = HandshakeResult("responder", k1, k2, exp, th, m.key_id)
    return body + _confirm(ck), result


def finish(state: InitiatorState, msg2: bytes) -> HandshakeResult:
    """Process message 2 and check the responder's confirmation; single use per state."""
    if not isinstance(state, InitiatorState):
        raise HandshakeError("finish() needs the state returned by initiate()")
    if state.used:
        raise HandshakeError("this handshake state was already used")
    if not isinstance(msg2, bytes | bytearray):
        raise HandshakeDecodeError("handshake message 2 must be bytes")
    msg2 = bytes(msg2)
    if len(msg2) != MSG2_LEN:
        what = "truncated" if len(msg2) < MSG2_LEN else "oversized"
        raise HandshakeDecodeError(f"handshake message 2 {what} ({len(msg2)} of {MSG2_LEN} bytes)")
    if msg2[:4] != MAGIC or msg2[4] != 2 or msg2[5:8] != b"\0\0\0":
        raise HandshakeDecodeError("not an XTRUST handshake message 2 (bad header)")
    state.used = True  # whatever happens next, these secrets are spent
    x_pub, ct = msg2[8:40], msg2[40 : 40 + CT_LEN]
    try:
        ss_m = state.mlkem_key.decapsulate(ct)
    except ValueError:
        raise HandshakeDecodeError("invalid ML-KEM-768 ciphertext") from None
    ss_x = _x25519(state.x25519_key, x_pub)
    k1, k2, exp, ck, th = _schedule(ss_x, ss_m, state.qkd_key or b"", state.msg1 + msg2[:-TAG_LEN])
    if not hmac.compare_digest(_confirm(ck), msg2[-TAG_LEN:]):
        raise HandshakeError("key confirmation failed: the peers derived different keys")
    return HandshakeResult("initiator", k1, k2, exp, th, state.qkd_key_id)
