"""The RMR frame format, byte for byte.

The expected frames are written out field by field from the layout in
librmr 4.x (src/rmr/common/include/rmr_agnostic.h ``uta_mhdr_t``, and
src/rmr/si/src ``insert_mlen`` / ``extract_mlen`` / ``send_msg``), not produced
by the code under test. Note the frame length in the transport header counts
the whole frame, the 50 transport bytes included (librmr sends
``msg->len + PAYLOAD_OFFSET(hdr) + TP_HDR_LEN``).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xtrust.errors import DecodeError, EncodeError
from xtrust.ric.rmr.wire import (
    HFL_CALL_MSG,
    RMR_ERR_TRUNC,
    FrameDecoder,
    FrameError,
    Message,
    decode_frame,
    encode_frame,
    frame_length,
)


def be32(value: int) -> bytes:
    return value.to_bytes(4, "big", signed=True)


def padded(text: bytes, size: int) -> bytes:
    assert len(text) <= size
    return text + b"\0" * (size - len(text))


def header(
    *,
    mtype: int,
    plen: int,
    xid: bytes = b"",
    src: bytes = b"",
    meid: bytes = b"",
    ts: bytes = bytes(16),
    flags: int = 0,
    len1: int = 0,
    len2: int = 4,
    len3: int = 0,
    sub_id: int = -1,
    srcip: bytes = b"",
    ver: int = 3,
) -> bytes:
    """A v3 message header, field by field (280 bytes)."""
    out = (
        be32(mtype)
        + be32(plen)
        + be32(ver)
        + padded(xid, 32)
        + bytes(32)  # sid
        + padded(src, 64)
        + padded(meid, 32)
        + bytes(4)  # alignment of the timespec
        + ts
        + be32(flags)
        + be32(280)  # len0
        + be32(len1)
        + be32(len2)
        + be32(len3)
        + be32(sub_id)
        + padded(srcip, 64)
    )
    assert len(out) == 280
    return out


def transport(total: int) -> bytes:
    """50-byte transport header: LE length, BE length, '$', zeros."""
    return total.to_bytes(4, "little") + total.to_bytes(4, "big") + b"$" + bytes(41)


def test_encode_matches_hand_built_frame() -> None:
    msg = Message(12010, b"hi", sub_id=7, meid="gnb1", xid=b"x1")
    frame = encode_frame(msg, src=b"app:4560", srcip=b"10.0.0.1:4560")
    total = 50 + 280 + 4 + 2
    expected = (
        transport(total)
        + header(
            mtype=12010,
            plen=2,
            xid=b"x1",
            src=b"app:4560",
            meid=b"gnb1",
            sub_id=7,
            srcip=b"10.0.0.1:4560",
        )
        + b"\0\0\0\0"  # d1: no call id
        + b"hi"
    )
    assert frame == expected
    # spot checks of the raw bytes, independent of the helpers above
    assert frame[:9] == b"\x50\x01\x00\x00\x00\x00\x01\x50$"
    assert frame[50:62] == bytes.fromhex("00002eea 00000002 00000003")
    assert frame[50 + 212 : 50 + 216] == bytes.fromhex("00000007")


def test_encode_unset_sub_id_call_and_timestamp() -> None:
    msg = Message(100, b"", meid="", xid=b"abc")
    ts_ns = 1_700_000_000 * 10**9 + 123
    frame = encode_frame(
        msg, src=b"h:1", srcip=b"1.2.3.4:1", call_id=5, flags=HFL_CALL_MSG, timestamp_ns=ts_ns
    )
    ts = (1_700_000_000).to_bytes(8, "little") + (123).to_bytes(8, "little")
    expected = (
        transport(334)
        + header(mtype=100, plen=0, xid=b"abc", src=b"h:1", ts=ts, flags=4, srcip=b"1.2.3.4:1")
        + bytes([5, 0, 0, 0])
    )
    assert frame == expected
    assert frame[50 + 212 : 50 + 216] == b"\xff\xff\xff\xff"


def test_encode_with_trace_sets_flag_and_lengths() -> None:
    frame = encode_frame(Message(1, b"P", trace=b"TR"), src=b"a:1")
    expected = (
        transport(50 + 280 + 2 + 4 + 1)
        + header(mtype=1, plen=1, src=b"a:1", flags=1, len1=2)
        + b"TR"
        + bytes(4)
        + b"P"
    )
    assert frame == expected
    assert decode_frame(frame).trace == b"TR"


def test_decode_hand_built_frame() -> None:
    frame = (
        transport(50 + 280 + 4 + 5)
        + header(
            mtype=12050,
            plen=5,
            xid=b"tx-9",
            src=b"e2term:38000",
            meid=b"gnb_734_733_b5c67788",
            sub_id=42,
            srcip=b"10.244.0.7:38000",
        )
        + bytes([9, 0, 0, 0])
        + b"hello"
    )
    msg = decode_frame(frame)
    assert (msg.mtype, msg.payload, msg.sub_id) == (12050, b"hello", 42)
    assert (msg.xid, msg.meid) == (b"tx-9", "gnb_734_733_b5c67788")
    assert (msg.src, msg.srcip) == ("e2term:38000", "10.244.0.7:38000")
    assert msg.call_id == 9 and msg.state == 0 and msg.timestamp == 0.0


def test_decode_peer_without_d1() -> None:
    """A peer that sends no d1 (len2 = 0): the payload follows the header directly."""
    frame = transport(50 + 280 + 3) + header(mtype=77, plen=3, len2=0, src=b"p:1") + b"abc"
    msg = decode_frame(frame)
    assert msg.payload == b"abc" and msg.call_id == 0 and msg.mtype == 77


def test_decode_d2_and_trace_are_skipped() -> None:
    frame = (
        transport(50 + 280 + 3 + 4 + 2 + 1)
        + header(mtype=5, plen=1, len1=3, len2=4, len3=2)
        + b"TRC"
        + bytes([7, 0, 0, 0])
        + b"D2"
        + b"!"
    )
    msg = decode_frame(frame)
    assert (msg.payload, msg.trace, msg.call_id) == (b"!", b"TRC", 7)


def test_decode_old_sender_without_marker() -> None:
    """Before the '$' marker only the native (little-endian) length was sent."""
    body = header(mtype=3, plen=2) + bytes(4) + b"ok"
    frame = (50 + len(body)).to_bytes(4, "little") + bytes(46) + body
    assert frame_length(frame) == len(frame)
    assert decode_frame(frame).payload == b"ok"


def test_decode_v2_header() -> None:
    body = header(mtype=8, plen=1, ver=2, len2=0)[:216]
    body = body[:196] + be32(216) + body[200:]  # len0 = 216
    frame = transport(50 + 216 + 1) + body + b"Z"
    msg = decode_frame(frame)
    assert (msg.mtype, msg.payload, msg.srcip) == (8, b"Z", "")


def test_truncated_payload_is_flagged() -> None:
    frame = transport(50 + 280 + 4 + 2) + header(mtype=1, plen=10) + bytes(4) + b"ab"
    msg = decode_frame(frame)
    assert msg.state == RMR_ERR_TRUNC and msg.payload == b"ab"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\0" * 20, "at least 62 bytes"),
        (transport(400) + header(mtype=1, plen=0), "announces 400 bytes"),
        (transport(50 + 280) + header(mtype=1, plen=0, ver=9), "version 9"),
        (transport(50 + 280) + header(mtype=1, plen=0, len1=1000), "overrun"),
        (transport(50 + 280) + header(mtype=1, plen=-5), "bad lengths"),
        (transport(50 + 100) + header(mtype=1, plen=0)[:100], "truncated"),
    ],
)
def test_decode_errors(frame: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_frame(frame)


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="meid"):
        encode_frame(Message(1, meid="m" * 32))
    with pytest.raises(EncodeError, match="xid"):
        encode_frame(Message(1, xid=b"x" * 33))
    with pytest.raises(EncodeError):
        encode_frame(Message(2**31))
    with pytest.raises(EncodeError, match="call id"):
        encode_frame(Message(1), call_id=256)


messages = st.builds(
    Message,
    mtype=st.integers(-(2**31), 2**31 - 1),
    payload=st.binary(max_size=600),
    sub_id=st.integers(-(2**31), 2**31 - 1),
    meid=st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=31),
    xid=st.binary(max_size=32).map(lambda b: b.rstrip(b"\0")),
    trace=st.binary(max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(msg=messages, call_id=st.integers(0, 255))
def test_round_trip(msg: Message, call_id: int) -> None:
    frame = encode_frame(
        msg,
        src=b"host:4560",
        srcip=b"10.1.2.3:4560",
        call_id=call_id,
        timestamp_ns=1_234_567_891_000_000_000,
    )
    back = decode_frame(frame)
    assert (back.mtype, back.payload, back.sub_id, back.meid, back.xid, back.trace) == (
        msg.mtype,
        msg.payload,
        msg.sub_id,
        msg.meid,
        msg.xid,
        msg.trace,
    )
    assert (back.src, back.srcip, back.call_id) == ("host:4560", "10.1.2.3:4560", call_id)
    assert back.timestamp == pytest.approx(1_234_567_891.0)


@settings(max_examples=100, deadline=None)
@given(msgs=st.lists(messages, min_size=1, max_size=6), cuts=st.lists(st.integers(0, 4000)))
def test_stream_split_anywhere(msgs: list[Message], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(m, src=b"a:1") for m in msgs)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = FrameDecoder(max_frame=4096)
    out: list[Message] = []
    for a, b in itertools.pairwise(points):
        decoder.feed(stream[a:b], out)
    assert [m.payload for m in out] == [m.payload for m in msgs]
    assert [m.mtype for m in out] == [m.mtype for m in msgs]
    assert decoder.buffered == 0 and not decoder.errors


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=700), max_size=8))
def test_garbage_never_crashes_nor_buffers_beyond_the_limit(chunks: list[bytes]) -> None:
    decoder = FrameDecoder(max_frame=1000)
    out: list[Message] = []
    for chunk in chunks:
        try:
            decoder.feed(chunk, out)
        except FrameError as exc:
            assert exc.reason in ("oversize", "bad_length")
            break
        assert decoder.buffered <= 1000


def test_decoder_rejects_oversize_before_buffering() -> None:
    decoder = FrameDecoder(max_frame=1000)
    with pytest.raises(FrameError, match="exceeds") as info:
        decoder.feed(transport(5000)[:20], [])
    assert info.value.reason == "oversize" and decoder.buffered == 0
    decoder = FrameDecoder(max_frame=1000)
    decoder.feed(b"\x10", [])  # incomplete length: held back
    with pytest.raises(FrameError, match="minimum") as info:
        decoder.feed(b"\0\0\0\0\0\0\x10$", [])
    assert info.value.reason == "bad_length"


def test_bad_header_skips_one_frame_and_keeps_sync() -> None:
    bad = transport(50 + 280) + header(mtype=1, plen=0, ver=7)
    good = encode_frame(Message(2, b"after"))
    decoder = FrameDecoder(max_frame=4096)
    out: list[Message] = []
    decoder.feed(bad + good, out)
    assert [m.payload for m in out] == [b"after"]
    assert len(decoder.errors) == 1 and "version 7" in str(decoder.errors[0])
