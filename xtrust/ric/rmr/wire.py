"""RMR wire format: librmr 4.x over the SI95 TCP transport.

Every RMR message on a TCP connection is one *frame*::

    +------------------+-----------------------+-------+----+----+---------+
    | transport header | RMR message header v3 | trace | d1 | d2 | payload |
    |     50 bytes     |       280 bytes       |  len1 |len2|len3|  plen   |
    +------------------+-----------------------+-------+----+----+---------+

Transport header (written by librmr's ``insert_mlen``, read by
``extract_mlen`` in ``src/rmr/si``):

========  =====================================================================
bytes     content
========  =====================================================================
0-3       frame length in the sender's native byte order (little endian on
          x86-64); old (pre-4.0) senders put only this field
4-7       the same length, big endian (network order)
8         ``$``: marks that bytes 4-7 are present; a receiver then uses them
9-49      zero (unused)
========  =====================================================================

The length counts the **whole frame, the 50 transport bytes included**
(librmr sends ``tot_len = len + PAYLOAD_OFFSET(hdr) + TP_HDR_LEN`` and its
receiver counts the accumulated bytes from the first transport byte).

Message header v3 (``uta_mhdr_t``), integers are 32-bit big endian, strings
are NUL padded:

======  ====  ================================================================
offset  size  field
======  ====  ================================================================
0       4     mtype, message type
4       4     plen, payload length
8       4     rmr_ver, 3
12      32    xid, transaction id (bytes, matched in full by call/reply)
44      32    sid, reserved
76      64    src, ``host:port`` of the sender (used by return-to-sender)
140     32    meid, managed element id
172     4     alignment padding
176     16    ts, a C ``struct timespec`` (seconds, nanoseconds) in the
              sender's native order; librmr itself leaves it zero
192     4     flags: 0x01 trace present, 0x02 sub id set, 0x04 sent by a call
196     4     len0, header length (280)
200     4     len1, trace data length
204     4     len2, d1 length (librmr uses 4; d1[0] is the call id)
208     4     len3, d2 length (0)
212     4     sub_id, subscription id, -1 when unset
216     64    srcip, ``ip:port`` of the sender
======  ====  ================================================================

The payload starts at ``50 + len0 + len1 + len2 + len3``. A version 2 header
(216 bytes, no srcip) decodes too; a peer that sends no d1 (len2 = 0) is
accepted.

Call/reply: a call sets flag 0x04 and a call id (2..255) in d1[0]; the
receiver answers with return-to-sender, which keeps d1 and clears the flag,
and the caller matches call id and the 32-byte xid.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import DecodeError, EncodeError

__all__ = [
    "D1_LEN",
    "HDR_LEN",
    "HDR_V2_LEN",
    "HFL_CALL_MSG",
    "HFL_HAS_TRACE",
    "HFL_SUBID",
    "MAX_MEID",
    "MAX_SRC",
    "MAX_XID",
    "MIN_FRAME",
    "RIC_HEALTH_CHECK_REQ",
    "RIC_HEALTH_CHECK_RESP",
    "RMRRM_REQ_TABLE",
    "RMRRM_TABLE_DATA",
    "RMRRM_TABLE_STATE",
    "RMR_ERR_TIMEOUT",
    "RMR_ERR_TRUNC",
    "RMR_OK",
    "RMR_VERSION",
    "TP_HDR_LEN",
    "TP_MARKER",
    "UNSET_SUBID",
    "FrameDecoder",
    "FrameError",
    "Message",
    "decode_frame",
    "encode_frame",
    "encode_parts",
    "frame_length",
]

# ---- sizes and constants (rmr.h, rmr_agnostic.h, rmr_si_private.h) --------------------------

TP_HDR_LEN = 50  #: transport header
TP_MARKER = 0x24  #: ``$`` at byte 8: the big-endian length at bytes 4-7 is present
HDR_LEN = 280  #: message header v3
HDR_V2_LEN = 216  #: message header v2 (no srcip)
D1_LEN = 4  #: librmr's d1 length; d1[0] is the call id
MAX_XID = 32
MAX_SID = 32
MAX_SRC = 64
MAX_MEID = 32
RMR_VERSION = 3
UNSET_SUBID = -1

#: the shortest frame that can hold a length, a mtype, a plen and a version
MIN_FRAME = TP_HDR_LEN + 12

HFL_HAS_TRACE = 0x01
HFL_SUBID = 0x02
HFL_CALL_MSG = 0x04

# message states (rmr.h)
RMR_OK = 0
RMR_ERR_TIMEOUT = 12
RMR_ERR_TRUNC = 14

# reserved message types (RIC_message_types.h)
RMRRM_TABLE_DATA = 20  #: route table records from the route manager
RMRRM_REQ_TABLE = 21  #: request for a table, app -> route manager
RMRRM_TABLE_STATE = 22  #: table state (ack), app -> route manager
RIC_HEALTH_CHECK_REQ = 100
RIC_HEALTH_CHECK_RESP = 101

# transport header + v3 header in one pack: LE length given as 4 raw bytes
_PREFIX = struct.Struct(">4sIB41xiii32s32x64s32s4x16siiiiii64s")
_PREFIX_D1 = struct.Struct(">4sIB41xiii32s32x64s32s4x16siiiiii64sB3x")  # ... + d1 (no trace)
_FIXED = TP_HDR_LEN + HDR_LEN + D1_LEN
_LE32 = struct.Struct("<I")
_BE32 = struct.Struct(">I")
_TS = struct.Struct("<qq")  # struct timespec on x86-64 (native order of librmr hosts)
_HEAD3 = struct.Struct(">iii")
_HDR_V3 = struct.Struct(">iii32s32x64s32s4x16siiiiii64s")  # sid skipped
_HDR_V2 = struct.Struct(">iii32s32x64s32s4x16siiiiii")
_D1 = tuple(bytes((i, 0, 0, 0)) for i in range(256))
_ZERO_TS = bytes(16)

assert _PREFIX.size == TP_HDR_LEN + HDR_LEN
assert _HDR_V3.size == HDR_LEN and _HDR_V2.size == HDR_V2_LEN


@dataclass(slots=True)
class Message:
    """One RMR message.

    ``payload`` is bytes; ``xid`` is the 32-byte transaction id (trailing NUL
    bytes stripped); ``meid``, ``src`` and ``srcip`` are the NUL-terminated
    strings of the header. ``sub_id`` is -1 when unset. ``timestamp`` is the
    sender's wall clock in seconds (0.0 when the sender did not set it).
    ``state`` is :data:`RMR_OK`, or :data:`RMR_ERR_TRUNC` when the frame held
    fewer payload bytes than the header announced (the payload is then cut).
    ``trace`` is the optional trace data, carried through unchanged.
    """

    mtype: int
    payload: bytes = b""
    sub_id: int = UNSET_SUBID
    meid: str = ""
    xid: bytes = b""
    src: str = ""
    srcip: str = ""
    timestamp: float = 0.0
    state: int = RMR_OK
    trace: bytes = b""
    #: d1[0] of a received message (0: none); kept by return-to-sender
    call_id: int = field(default=0, repr=False)
    #: header flags of a received message (HFL_*)
    flags: int = field(default=0, repr=False)
    #: the connection a received message arrived on (return-to-sender uses it)
    origin: Any = field(default=None, repr=False, compare=False)


def _cstr(raw: bytes) -> str:
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("utf-8", "surrogateescape")


def encode_frame(
    msg: Message,
    *,
    src: bytes = b"",
    srcip: bytes = b"",
    call_id: int = 0,
    flags: int = 0,
    timestamp_ns: int = 0,
) -> bytes:
    """Encode ``msg`` as one complete frame (transport header included).

    ``src`` and ``srcip`` are the sender's ``host:port`` and ``ip:port`` (at
    most 63 bytes each); ``call_id`` goes to d1[0]; ``flags`` to the header
    (HFL_HAS_TRACE is added when the message carries trace data);
    ``timestamp_ns`` (0 = leave zero) to the timespec field.
    Raises :class:`~xtrust.errors.EncodeError` when a field does not fit.
    """
    return encode_parts(
        msg.mtype,
        msg.payload,
        msg.sub_id,
        msg.meid,
        msg.xid,
        msg.trace,
        src,
        srcip,
        call_id,
        flags,
        timestamp_ns,
    )


# Decoded strings by their raw header field, and encoded meids by string: a connection
# repeats the same src, srcip and meid over and over (bounded: cleared past _CACHE_MAX).
_STR_CACHE: dict[bytes, str] = {}
_MEID_CACHE: dict[str, bytes] = {}
_CACHE_MAX = 4096


def _meid_bytes(meid: str) -> bytes:
    raw = _MEID_CACHE.get(meid)
    if raw is None:
        raw = meid.encode("utf-8", "surrogateescape")
        if len(raw) >= MAX_MEID:
            raise EncodeError(f"meid is {len(raw)} bytes; RMR allows at most {MAX_MEID - 1}")
        if len(_MEID_CACHE) >= _CACHE_MAX:
            _MEID_CACHE.clear()
        _MEID_CACHE[meid] = raw
    return raw


def encode_parts(
    mtype: int,
    payload: bytes,
    sub_id: int,
    meid: str,
    xid: bytes,
    trace: bytes,
    src: bytes,
    srcip: bytes,
    call_id: int,
    flags: int,
    timestamp_ns: int,
) -> bytes:
    """:func:`encode_frame` from separate fields (the hot path of the endpoint)."""
    meid_b = _meid_bytes(meid) if meid else b""
    if len(xid) > MAX_XID:
        raise EncodeError(f"xid is {len(xid)} bytes; RMR allows at most {MAX_XID}")
    if len(src) >= MAX_SRC or len(srcip) >= MAX_SRC:
        raise EncodeError(f"source address is longer than {MAX_SRC - 1} bytes")
    if not 0 <= call_id <= 255:
        raise EncodeError(f"call id {call_id} is out of range (0..255)")
    ts = _TS.pack(*divmod(timestamp_ns, 1_000_000_000)) if timestamp_ns else _ZERO_TS
    plen = len(payload)
    try:
        if not trace:
            total = _FIXED + plen
            return (
                _PREFIX_D1.pack(
                    _LE32.pack(total),
                    total,
                    TP_MARKER,
                    mtype,
                    plen,
                    RMR_VERSION,
                    xid,
                    src,
                    meid_b,
                    ts,
                    flags,
                    HDR_LEN,
                    0,
                    D1_LEN,
                    0,
                    sub_id,
                    srcip,
                    call_id,
                )
                + payload
            )
        tlen = len(trace)
        total = _FIXED + tlen + plen
        prefix = _PREFIX.pack(
            _LE32.pack(total),
            total,
            TP_MARKER,
            mtype,
            plen,
            RMR_VERSION,
            xid,
            src,
            meid_b,
            ts,
            flags | HFL_HAS_TRACE,
            HDR_LEN,
            tlen,
            D1_LEN,
            0,
            sub_id,
            srcip,
        )
    except (struct.error, TypeError) as exc:
        raise EncodeError(f"cannot encode RMR message: {exc}") from None
    return b"".join((prefix, trace, _D1[call_id], payload))


def frame_length(buf: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """The frame length announced by the transport header at ``offset``.

    Uses the big-endian field when the ``$`` marker is present, the native
    (little-endian) field of old senders otherwise. Needs 9 bytes.
    """
    if buf[offset + 8] == TP_MARKER:
        return int(_BE32.unpack_from(buf, offset + 4)[0])
    return int(_LE32.unpack_from(buf, offset)[0])


def _text(raw: bytes) -> str:
    s = _STR_CACHE.get(raw)
    if s is None:
        if len(_STR_CACHE) >= _CACHE_MAX:
            _STR_CACHE.clear()
        s = _STR_CACHE[raw] = _cstr(raw)
    return s


def _decode(buf: bytes | bytearray, off: int, end: int) -> Message:
    """Decode the frame occupying ``buf[off:end]`` (transport header included)."""
    body = off + TP_HDR_LEN
    size = end - body
    if size >= HDR_LEN:
        (
            mtype,
            plen,
            ver,
            xid,
            src,
            meid,
            ts,
            flags,
            len0,
            len1,
            len2,
            len3,
            sub_id,
            srcip,
        ) = _HDR_V3.unpack_from(buf, body)
        if ver == 3:
            srcip_s = _text(srcip)
        elif ver == 2:
            srcip_s = ""
        else:
            raise DecodeError(f"unsupported RMR header version {ver} (expected 2 or 3)")
    else:
        if size < 12:
            raise DecodeError(f"RMR frame of {end - off} bytes is too short for a message header")
        ver = _HEAD3.unpack_from(buf, body)[2]
        if ver not in (2, 3):
            raise DecodeError(f"unsupported RMR header version {ver} (expected 2 or 3)")
        if size < HDR_V2_LEN:
            raise DecodeError(f"RMR v{ver} header truncated: frame has {size} header bytes")
        (mtype, plen, ver, xid, src, meid, ts, flags, len0, len1, len2, len3, sub_id) = (
            _HDR_V2.unpack_from(buf, body)
        )
        srcip_s = ""
    if len0 < HDR_V2_LEN or len1 < 0 or len2 < 0 or len3 < 0 or plen < 0:
        raise DecodeError(
            f"RMR header has bad lengths: len0={len0} len1={len1} len2={len2} len3={len3} "
            f"plen={plen}"
        )
    if ver == 3 and len0 < HDR_LEN:
        srcip_s = ""  # a v3 header shorter than 280 bytes has no srcip
    start = body + len0 + len1 + len2 + len3
    if start > end:
        raise DecodeError(
            f"RMR header areas ({start - off} bytes) overrun the {end - off}-byte frame"
        )
    state = RMR_OK
    stop = start + plen
    if stop > end:  # as librmr: deliver what arrived, flagged as truncated
        stop = end
        state = RMR_ERR_TRUNC
    tr = body + len0
    if len1:
        trace = bytes(buf[tr : tr + len1])
        call_id = buf[tr + len1] if len2 else 0
    else:
        trace = b""
        call_id = buf[tr] if len2 else 0
    if ts == _ZERO_TS:
        stamp = 0.0
    else:
        sec, nsec = _TS.unpack(ts)
        stamp = sec + nsec * 1e-9
    return Message(
        mtype,
        bytes(buf[start:stop]),
        sub_id,
        _text(meid),
        xid.rstrip(b"\0"),
        _text(src),
        srcip_s,
        stamp,
        state,
        trace,
        call_id,
        flags,
        None,
    )


def decode_frame(frame: bytes | bytearray) -> Message:
    """Decode one complete frame (the 50-byte transport header included).

    Raises :class:`~xtrust.errors.DecodeError` when the bytes are not one
    well-formed RMR frame.
    """
    if len(frame) < MIN_FRAME:
        raise DecodeError(f"RMR frame needs at least {MIN_FRAME} bytes, got {len(frame)}")
    n = frame_length(frame)
    if n != len(frame):
        raise DecodeError(f"RMR transport header announces {n} bytes, frame has {len(frame)}")
    return _decode(frame, 0, n)


class FrameError(DecodeError):
    """The byte stream of a connection cannot be framed; the connection must close.

    ``reason`` is ``"oversize"`` (a frame above the size limit) or
    ``"bad_length"`` (a length too small to be an RMR frame).
    """

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class FrameDecoder:
    """Incremental decoder of one connection's byte stream.

    :meth:`feed` appends the decoded messages to a list. A frame whose header
    is malformed is skipped and its :class:`~xtrust.errors.DecodeError` kept
    in :attr:`errors` (the stream stays in sync). A length that cannot be
    right (smaller than a header, larger than ``max_frame``) raises
    :class:`FrameError` before anything is buffered, so memory stays bounded
    by ``max_frame`` per connection.
    """

    __slots__ = ("_buf", "errors", "max_frame")

    def __init__(self, max_frame: int):
        if max_frame < MIN_FRAME:
            raise ValueError(f"max_frame must be at least {MIN_FRAME}")
        self.max_frame = max_frame
        self._buf = bytearray()
        self.errors: list[DecodeError] = []

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)

    def _check(self, n: int) -> None:
        if n > self.max_frame:
            raise FrameError(
                f"RMR frame of {n} bytes exceeds the limit of {self.max_frame}", reason="oversize"
            )
        if n < MIN_FRAME:
            raise FrameError(
                f"RMR transport header announces {n} bytes, less than the minimum {MIN_FRAME}",
                reason="bad_length",
            )

    def feed(self, data: bytes, out: list[Message]) -> None:
        """Decode every complete frame in ``data`` (plus what was held back) into ``out``."""
        pos = 0
        buf = self._buf
        ndata = len(data)
        if buf:
            have = len(buf)
            if have < 9:
                pos = min(9 - have, ndata)
                buf += data[:pos]
                if len(buf) < 9:
                    return
            n = frame_length(buf)
            self._check(n)
            take = n - len(buf)
            if ndata - pos < take:
                buf += data[pos:]
                return
            buf += data[pos : pos + take]
            pos += take
            frame = bytes(buf)
            buf.clear()
            try:
                out.append(_decode(frame, 0, n))
            except DecodeError as exc:
                self.errors.append(exc)
        check = self._check
        decode = _decode
        le32 = _LE32.unpack_from
        be32 = _BE32.unpack_from
        while ndata - pos >= 9:
            n = be32(data, pos + 4)[0] if data[pos + 8] == TP_MARKER else le32(data, pos)[0]
            if n > self.max_frame or n < MIN_FRAME:
                check(n)
            end = pos + n
            if end > ndata:
                break
            try:
                out.append(decode(data, pos, end))
            except DecodeError as exc:
                self.errors.append(exc)
            pos = end
        if pos < ndata:
            buf += memoryview(data)[pos:]
