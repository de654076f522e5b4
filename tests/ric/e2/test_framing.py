"""The TCP framing, without sockets: encoder, decoder, chunking, refusals."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ric.e2.util import frame
from xtrust.errors import InputError, XTrustError
from xtrust.ric.e2 import DEFAULT_MAX_PDU, CloseReason, FrameDecoder, encode_frame


def test_encode_frame_matches_hand_built_bytes() -> None:
    assert encode_frame(b"\x20\x01\x00") == b"\x00\x00\x00\x03\x20\x01\x00"
    assert encode_frame(b"x" * 256) == b"\x00\x00\x01\x00" + b"x" * 256
    assert encode_frame(bytearray(b"\xff" * 70000)) == b"\x00\x01\x11\x70" + b"\xff" * 70000
    assert encode_frame(b"ab") == frame(b"ab")


def test_encode_frame_refuses_empty_pdu() -> None:
    with pytest.raises(InputError, match="empty"):
        encode_frame(b"")


def test_default_max_pdu_is_one_mib() -> None:
    assert DEFAULT_MAX_PDU == 1048576


def test_decoder_returns_pdus_in_order_from_one_chunk() -> None:
    dec = FrameDecoder()
    pdus = [b"a", b"bc", b"\x00" * 300]
    assert dec.feed(b"".join(frame(p) for p in pdus)) == pdus
    assert not dec.in_frame
    assert dec.error is None


def test_decoder_keeps_partial_frames_across_chunks() -> None:
    dec = FrameDecoder()
    data = frame(b"hello") + frame(b"world!")
    assert dec.feed(data[:2]) == []
    assert dec.in_frame and dec.pending_prefix() == b""  # length incomplete
    assert dec.feed(data[2:6]) == []
    assert dec.pending_prefix() == b"he"
    assert dec.buffered == 6
    assert dec.feed(data[6:14]) == [b"hello"]
    assert dec.in_frame and dec.pending_prefix() == b"w"
    assert dec.feed(data[14:]) == [b"world!"]
    assert not dec.in_frame and dec.buffered == 0


def test_decoder_accepts_exactly_max_pdu_and_refuses_one_more() -> None:
    dec = FrameDecoder(max_pdu=10)
    assert dec.feed(frame(b"0123456789")) == [b"0123456789"]
    body = bytes(range(100))
    assert dec.feed(frame(b"ok") + frame(body[:11]) + frame(b"never")) == [b"ok"]
    err = dec.error
    assert err is not None
    assert err.reason is CloseReason.OVERSIZE
    assert err.length == 11
    assert err.prefix == body[:11]
    assert "11" in err.detail and "10" in err.detail
    # Once refused, the decoder ignores its input and holds nothing.
    assert dec.feed(frame(b"more")) == []
    assert not dec.in_frame


def test_oversize_is_refused_from_the_length_alone() -> None:
    """A 4 GiB announcement is refused after 4 bytes: nothing of the body is awaited or kept."""
    dec = FrameDecoder()
    assert dec.feed(b"\xff\xff\xff\xff") == []
    assert dec.error is not None and dec.error.reason is CloseReason.OVERSIZE
    assert dec.error.length == 0xFFFFFFFF and dec.error.prefix == b""
    assert dec.buffered == 0


def test_oversize_prefix_is_capped_at_64_bytes() -> None:
    dec = FrameDecoder(max_pdu=100)
    body = bytes(range(200))
    dec.feed(b"\x00\x00\x00\xc8" + body)
    assert dec.error is not None and dec.error.prefix == body[:64]


def test_zero_length_frame_is_garbage() -> None:
    dec = FrameDecoder()
    assert dec.feed(frame(b"first") + b"\x00\x00\x00\x00" + frame(b"x")) == [b"first"]
    assert dec.error is not None
    assert dec.error.reason is CloseReason.EMPTY_FRAME
    assert dec.error.length == 0


def test_decoder_rejects_bad_limits() -> None:
    for bad in (0, -1, 2**32, 1.5, True):
        with pytest.raises(InputError):
            FrameDecoder(max_pdu=bad)  # type: ignore[arg-type]
    assert issubclass(InputError, XTrustError)


def test_a_frame_split_at_every_point_reassembles() -> None:
    pdus = [b"\x00", b"E2AP", bytes(range(256)) * 2, b"z"]
    stream = b"".join(frame(p) for p in pdus)
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1, 7):
            dec = FrameDecoder(max_pdu=1024)
            out = dec.feed(stream[:i]) + dec.feed(stream[i:j]) + dec.feed(stream[j:])
            assert out == pdus, (i, j)
            assert not dec.in_frame


def test_byte_by_byte_feeding() -> None:
    pdus = [bytes([n]) * n for n in range(1, 40)]
    stream = b"".join(frame(p) for p in pdus)
    dec = FrameDecoder(max_pdu=64)
    out: list[bytes] = []
    for i in range(len(stream)):
        out += dec.feed(stream[i : i + 1])
    assert out == pdus


def test_memoryview_and_bytearray_input() -> None:
    stream = frame(b"abc") + frame(b"de")
    dec = FrameDecoder()
    assert dec.feed(memoryview(stream)[:5]) == []
    assert dec.feed(bytearray(stream[5:])) == [b"abc", b"de"]
    out = dec.feed(memoryview(frame(b"x")))
    assert out == [b"x"] and type(out[0]) is bytes


@settings(max_examples=300, deadline=None)
@given(
    pdus=st.lists(st.binary(min_size=1, max_size=300), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
)
def test_arbitrary_chunking_reassembles(pdus: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p) for p in pdus)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    dec = FrameDecoder(max_pdu=300)
    out: list[bytes] = []
    for a, b in itertools.pairwise(points):
        out += dec.feed(stream[a:b])
    assert out == pdus
    assert dec.error is None and not dec.in_frame


@settings(max_examples=200, deadline=None)
@given(
    good=st.lists(st.binary(min_size=1, max_size=50), max_size=5),
    size=st.integers(min_value=51, max_value=2**32 - 1),
    tail=st.binary(max_size=200),
    cut=st.integers(min_value=0, max_value=10_000),
)
def test_arbitrary_oversize_is_refused_after_the_good_pdus(
    good: list[bytes], size: int, tail: bytes, cut: int
) -> None:
    stream = b"".join(frame(p) for p in good) + size.to_bytes(4, "big") + tail
    cut %= len(stream) + 1
    dec = FrameDecoder(max_pdu=50)
    out = dec.feed(stream[:cut]) + dec.feed(stream[cut:])
    assert out == good
    assert dec.error is not None and dec.error.reason is CloseReason.OVERSIZE
    assert dec.error.length == size
    assert len(dec.error.prefix) <= 64
    assert tail.startswith(dec.error.prefix)
