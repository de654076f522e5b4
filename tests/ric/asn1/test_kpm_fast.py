"""The hand-written E2SM-KPM fast paths against the generic asn1tools codec.

For random valid values (asn1tools conventions) the fast encoder must give the
generic codec's bytes and the fast decoder the generic codec's value; where a
fast function declines (``NotHandled``), the public wrapper falls back and the
result is still the generic one. Random and mutated bytes must decode the same
way on both sides or fail on both sides, with ``DecodeError`` only.

The value strategies here are shared with ``test_kpm.py``.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtrust.errors import DecodeError, EncodeError
from xtrust.ric.asn1 import _spec, kpm_fast
from xtrust.ric.asn1.kpm_fast import NotHandled

SPEC = "e2sm-kpm"
HEADER = "E2SM-KPM-IndicationHeader"
MESSAGE = "E2SM-KPM-IndicationMessage"

PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------
# Strategies (asn1tools value conventions)
# ---------------------------------------------------------------------------


def printable(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=PRINTABLE, min_size=min_size, max_size=max_size)


def bits(n: int) -> st.SearchStrategy[tuple[bytes, int]]:
    return st.binary(min_size=(n + 7) // 8, max_size=(n + 7) // 8).map(lambda b: (b, n))


u32 = st.integers(0, 2**32 - 1)
TRUE = st.just("true")


def labels(extended: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """MeasurementLabel; ``extended`` adds extension additions and
    out-of-root values of the extensible integers."""
    ext_int = (
        (lambda lo, hi: st.integers(lo, hi) | st.integers(hi + 1, hi + 5000))
        if extended
        else st.integers
    )
    optional: dict[str, st.SearchStrategy[Any]] = {
        "noLabel": TRUE,
        "plmnID": st.binary(min_size=3, max_size=3),
        "sliceID": st.fixed_dictionaries(
            {"sST": st.binary(min_size=1, max_size=1)},
            optional={"sD": st.binary(min_size=3, max_size=3)},
        ),
        "fiveQI": ext_int(0, 255),
        "qFI": ext_int(0, 63),
        "qCI": st.integers(0, 255),
        "qCImax": st.integers(0, 255),
        "qCImin": st.integers(0, 255),
        "aRPmax": ext_int(1, 15),
        "aRPmin": ext_int(1, 15),
        "bitrateRange": ext_int(1, 65535),
        "layerMU-MIMO": ext_int(1, 65535),
        "sUM": TRUE,
        "distBinX": ext_int(1, 65535),
        "distBinY": ext_int(1, 65535),
        "distBinZ": ext_int(1, 65535),
        "preLabelOverride": TRUE,
        "startEndInd": st.sampled_from(["start", "end"]),
        "min": TRUE,
        "max": TRUE,
        "avg": TRUE,
    }
    if extended:
        optional.update(
            {
                "ssbIndex": st.integers(1, 65535),
                "nonGoB-BFmode-Index": st.integers(1, 65535),
                "mIMO-mode-Index": st.integers(1, 2),
            }
        )
    plain = st.fixed_dictionaries({}, optional=optional)
    # Most real labels are exactly {noLabel: true}: make sure it is frequent.
    return st.just({"noLabel": "true"}) | plain


def record_items(reals: bool = True) -> st.SearchStrategy[tuple[str, Any]]:
    items = [st.tuples(st.just("integer"), u32), st.just(("noValue", None))]
    if reals:
        items.append(st.tuples(st.just("real"), st.floats(allow_nan=False)))
    return st.one_of(*items)


def meas_data(reals: bool = True) -> st.SearchStrategy[list[dict[str, Any]]]:
    item = st.fixed_dictionaries(
        {"measRecord": st.lists(record_items(reals), min_size=1, max_size=25)},
        optional={"incompleteFlag": TRUE},
    )
    return st.lists(item, min_size=1, max_size=3)


def meas_info(extended: bool = False) -> st.SearchStrategy[list[dict[str, Any]]]:
    meas_id = st.integers(1, 65536) | (st.integers(65537, 10**6) if extended else st.nothing())
    meas_type = st.tuples(st.just("measName"), printable(1, 150)) | st.tuples(
        st.just("measID"), meas_id
    )
    item = st.fixed_dictionaries(
        {
            "measType": meas_type,
            "labelInfoList": st.lists(
                st.fixed_dictionaries({"measLabel": labels(extended)}), min_size=1, max_size=3
            ),
        }
    )
    return st.lists(item, min_size=1, max_size=4)


def format1(extended: bool = False, reals: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"measData": meas_data(reals)},
        optional={"measInfoList": meas_info(extended), "granulPeriod": st.integers(1, 2**32 - 1)},
    )


plmn = st.binary(min_size=3, max_size=3)
guami = st.fixed_dictionaries(
    {"pLMNIdentity": plmn, "aMFRegionID": bits(8), "aMFSetID": bits(10), "aMFPointer": bits(6)}
)
global_gnb_id = st.integers(22, 32).flatmap(
    lambda n: st.fixed_dictionaries(
        {"pLMNIdentity": plmn, "gNB-ID": st.tuples(st.just("gNB-ID"), bits(n))}
    )
)
ran_ue_id = st.binary(min_size=8, max_size=8)


def ue_ids(extended: bool = False) -> st.SearchStrategy[tuple[str, Any]]:
    gnb_optional: dict[str, st.SearchStrategy[Any]] = {
        "gNB-CU-UE-F1AP-ID-List": st.lists(
            st.fixed_dictionaries({"gNB-CU-UE-F1AP-ID": u32}), min_size=1, max_size=4
        ),
        "gNB-CU-CP-UE-E1AP-ID-List": st.lists(
            st.fixed_dictionaries({"gNB-CU-CP-UE-E1AP-ID": u32}), min_size=1, max_size=3
        ),
        "ran-UEID": ran_ue_id,
        "m-NG-RAN-UE-XnAP-ID": u32,
        "globalGNB-ID": global_gnb_id,
    }
    if extended:
        gnb_optional["globalNG-RANNode-ID"] = st.tuples(st.just("gNB"), global_gnb_id)
    gnb = st.fixed_dictionaries(
        {"amf-UE-NGAP-ID": st.integers(0, 2**40 - 1), "guami": guami}, optional=gnb_optional
    )
    options = [
        st.tuples(st.just("gNB-UEID"), gnb),
        st.tuples(
            st.just("gNB-DU-UEID"),
            st.fixed_dictionaries({"gNB-CU-UE-F1AP-ID": u32}, optional={"ran-UEID": ran_ue_id}),
        ),
        st.tuples(
            st.just("gNB-CU-UP-UEID"),
            st.fixed_dictionaries({"gNB-CU-CP-UE-E1AP-ID": u32}, optional={"ran-UEID": ran_ue_id}),
        ),
    ]
    if extended:  # alternatives the fast path leaves to the generic codec
        options += [
            st.tuples(
                st.just("ng-eNB-DU-UEID"), st.fixed_dictionaries({"ng-eNB-CU-UE-W1AP-ID": u32})
            ),
            st.tuples(
                st.just("eNB-UEID"),
                st.fixed_dictionaries(
                    {
                        "mME-UE-S1AP-ID": u32,
                        "gUMMEI": st.fixed_dictionaries(
                            {
                                "pLMN-Identity": plmn,
                                "mME-Group-ID": st.binary(min_size=2, max_size=2),
                                "mME-Code": st.binary(min_size=1, max_size=1),
                            }
                        ),
                    },
                    optional={"m-eNB-UE-X2AP-ID": st.integers(0, 4095)},
                ),
            ),
        ]
    return st.one_of(*options)


def format3(extended: bool = False, reals: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    report = st.fixed_dictionaries(
        {"ueID": ue_ids(extended), "measReport": format1(extended, reals)}
    )
    return st.fixed_dictionaries({"ueMeasReportList": st.lists(report, min_size=1, max_size=3)})


def format2(reals: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    cond = st.fixed_dictionaries(
        {
            "matchingCondChoice": st.one_of(
                st.tuples(st.just("measLabel"), labels()),
                st.tuples(
                    st.just("testCondInfo"),
                    st.fixed_dictionaries(
                        {"testType": st.tuples(st.sampled_from(["gBR", "rSRP", "cQI"]), TRUE)},
                        optional={
                            "testExpr": st.sampled_from(["equal", "lessthan"]),
                            "testValue": st.tuples(st.just("valueInt"), st.integers(-100, 100)),
                        },
                    ),
                ),
            )
        },
        optional={"logicalOR": TRUE},
    )
    item = st.fixed_dictionaries(
        {
            "measType": st.tuples(st.just("measName"), printable(1, 20)),
            "matchingCond": st.lists(cond, min_size=1, max_size=2),
        },
        optional={
            "matchingUEidList": st.lists(
                st.fixed_dictionaries({"ueID": ue_ids()}), min_size=1, max_size=2
            )
        },
    )
    return st.fixed_dictionaries(
        {"measData": meas_data(reals), "measCondUEidList": st.lists(item, min_size=1, max_size=2)},
        optional={"granulPeriod": st.integers(1, 2**32 - 1)},
    )


def messages(extended: bool = False, reals: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    options = [
        st.tuples(st.just("indicationMessage-Format1"), format1(extended, reals)),
        st.tuples(st.just("indicationMessage-Format3"), format3(extended, reals)),
    ]
    if extended:
        options.append(st.tuples(st.just("indicationMessage-Format2"), format2(reals)))
    return st.fixed_dictionaries({"indicationMessage-formats": st.one_of(*options)})


def headers(oversize: bool = False, nonempty: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Header values; ``nonempty`` leaves out empty strings (see test_kpm.py
    for how aligned-PER implementations differ on those)."""
    extra = 20 if oversize else 0
    low = 1 if nonempty else 0
    inner = st.fixed_dictionaries(
        {"colletStartTime": st.binary(min_size=8, max_size=8)},
        optional={
            "fileFormatversion": printable(low, 15 + extra),
            "senderName": printable(low, 400 + extra),
            "senderType": printable(low, 8 + extra),
            "vendorName": printable(low, 32 + extra),
        },
    )
    return st.fixed_dictionaries(
        {"indicationHeader-formats": st.tuples(st.just("indicationHeader-Format1"), inner)}
    )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Structural equality that treats NaN as equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def generic_encode(type_name: str, value: Any) -> bytes:
    return _spec.encode(SPEC, type_name, value)


def generic_decode(type_name: str, data: bytes) -> Any:
    return _spec.decode(SPEC, type_name, data)


def outcome(fn: Any, data: bytes) -> tuple[str, Any]:
    try:
        return ("value", fn(data))
    except NotHandled:
        return ("not-handled", None)
    except DecodeError:
        return ("error", None)


def check_decoders(type_name: str, try_decode: Any, decode: Any, data: bytes) -> str:
    """Fast and generic decoders agree on ``data``; returns the fast outcome."""
    generic = outcome(lambda d: generic_decode(type_name, d), data)
    fast = outcome(try_decode, data)
    if fast[0] == "value":
        assert generic[0] == "value", f"fast decoded what the generic codec rejects: {data.hex()}"
        assert same(fast[1], generic[1]), data.hex()
    elif fast[0] == "error":
        assert generic[0] == "error", f"fast rejected what the generic codec decodes: {data.hex()}"
    wrapped = outcome(decode, data)
    assert wrapped[0] == generic[0], data.hex()
    if wrapped[0] == "value":
        assert same(wrapped[1], generic[1])
    return fast[0]


# ---------------------------------------------------------------------------
# Byte identity on valid values
# ---------------------------------------------------------------------------


@PROPERTY
@given(headers())
def test_header_fast_equals_generic(value: dict[str, Any]) -> None:
    expected = generic_encode(HEADER, value)
    assert kpm_fast.try_encode_header(value) == expected
    assert same(kpm_fast.try_decode_header(expected), generic_decode(HEADER, expected))
    assert kpm_fast.encode_header(value) == expected
    assert same(kpm_fast.decode_header(expected), value)


@PROPERTY
@given(messages())
def test_message_fast_equals_generic(value: dict[str, Any]) -> None:
    """Formats 1 and 3 within the handled subset: never NotHandled."""
    expected = generic_encode(MESSAGE, value)
    assert kpm_fast.try_encode_message(value) == expected
    decoded = generic_decode(MESSAGE, expected)
    assert same(kpm_fast.try_decode_message(expected), decoded)
    assert kpm_fast.encode_message(value) == expected
    assert same(kpm_fast.decode_message(expected), decoded)


@PROPERTY
@given(messages(extended=True))
def test_message_fallback_equals_generic(value: dict[str, Any]) -> None:
    """Extension additions, out-of-root integers, format 2, LTE UE IDs:
    whatever the fast path declines, the wrappers still give the generic result."""
    expected = generic_encode(MESSAGE, value)
    with contextlib.suppress(NotHandled):
        assert kpm_fast.try_encode_message(value) == expected
    assert kpm_fast.encode_message(value) == expected
    decoded = generic_decode(MESSAGE, expected)
    with contextlib.suppress(NotHandled):
        assert same(kpm_fast.try_decode_message(expected), decoded)
    assert same(kpm_fast.decode_message(expected), decoded)


@PROPERTY
@given(headers(oversize=True))
def test_header_strings_beyond_the_root_fail_like_the_generic_codec(value: dict[str, Any]) -> None:
    try:
        expected: bytes | None = generic_encode(HEADER, value)
    except EncodeError:
        expected = None
    if expected is None:
        with pytest.raises(NotHandled):
            kpm_fast.try_encode_header(value)
        with pytest.raises(EncodeError):
            kpm_fast.encode_header(value)
    else:
        assert kpm_fast.encode_header(value) == expected


def test_fast_path_declines_what_it_does_not_handle() -> None:
    base = {"measData": [{"measRecord": [("integer", 1)]}]}
    label_with_addition = {
        "measData": [{"measRecord": [("integer", 1)]}],
        "measInfoList": [
            {"measType": ("measName", "A"), "labelInfoList": [{"measLabel": {"ssbIndex": 3}}]}
        ],
    }
    for value in (
        {"indicationMessage-formats": ("indicationMessage-Format2", base)},
        {"indicationMessage-formats": ("indicationMessage-Format1", label_with_addition)},
        {"indicationMessage-formats": ("indicationMessage-Format1", {"measData": []})},
        {
            "indicationMessage-formats": (
                "indicationMessage-Format1",
                {"measData": [{"measRecord": [("integer", True)]}]},
            )
        },
        {"indicationMessage-formats": ["indicationMessage-Format1", base]},
    ):
        with pytest.raises(NotHandled):
            kpm_fast.try_encode_message(value)
    # A value neither codec accepts is an EncodeError from the wrapper.
    with pytest.raises(EncodeError):
        kpm_fast.encode_message(
            {"indicationMessage-formats": ("indicationMessage-Format1", {"measData": []})}
        )
    with pytest.raises(EncodeError):
        kpm_fast.encode_header(
            {"indicationHeader-formats": ("indicationHeader-Format1", {"colletStartTime": b"x"})}
        )


# ---------------------------------------------------------------------------
# Bad input: random and mutated bytes
# ---------------------------------------------------------------------------


FUZZ = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.binary(max_size=80))
def test_random_bytes_decode_alike_or_fail_alike(data: bytes) -> None:
    check_decoders(MESSAGE, kpm_fast.try_decode_message, kpm_fast.decode_message, data)
    check_decoders(HEADER, kpm_fast.try_decode_header, kpm_fast.decode_header, data)


def mutate(data: bytes, draw: Any) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "byte", "truncate", "insert", "delete"]))
        if not buf:
            buf.append(draw(st.integers(0, 255)))
            continue
        i = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            buf[i] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del buf[i:]
        elif kind == "insert":
            buf.insert(i, draw(st.integers(0, 255)))
        else:
            del buf[i]
    return bytes(buf)


@FUZZ
@given(st.data())
def test_mutated_messages_decode_alike_or_fail_alike(data: st.DataObject) -> None:
    value = data.draw(messages(extended=data.draw(st.booleans())))
    encoded = generic_encode(MESSAGE, value)
    check_decoders(
        MESSAGE, kpm_fast.try_decode_message, kpm_fast.decode_message, mutate(encoded, data.draw)
    )


@FUZZ
@given(st.data())
def test_mutated_headers_decode_alike_or_fail_alike(data: st.DataObject) -> None:
    encoded = generic_encode(HEADER, data.draw(headers()))
    check_decoders(
        HEADER, kpm_fast.try_decode_header, kpm_fast.decode_header, mutate(encoded, data.draw)
    )


def test_fast_decoders_handle_what_they_claim() -> None:
    """Sanity check of the differential tests: valid data is decoded by the
    fast path itself, not by the fallback."""
    value = {
        "indicationMessage-formats": (
            "indicationMessage-Format1",
            {"measData": [{"measRecord": [("integer", 5), ("noValue", None), ("real", 0.5)]}]},
        )
    }
    encoded = generic_encode(MESSAGE, value)
    assert (
        check_decoders(MESSAGE, kpm_fast.try_decode_message, kpm_fast.decode_message, encoded)
        == "value"
    )
    assert (
        check_decoders(MESSAGE, kpm_fast.try_decode_message, kpm_fast.decode_message, encoded[:-1])
        == "error"
    )


# ---------------------------------------------------------------------------
# Length bombs fail fast
# ---------------------------------------------------------------------------


def test_item_counts_are_checked_against_the_bytes_left() -> None:
    # Format 1, measData announcing 65535 items (count - 1 = 0xFFFE) in 6 bytes.
    bomb = bytes([0b00000000, 0xFF, 0xFE, 0x00, 0x01, 0x00])
    start = time.perf_counter()
    with pytest.raises(DecodeError, match="cannot fit"):
        kpm_fast.try_decode_message(bomb)
    with pytest.raises(DecodeError):
        kpm_fast.decode_message(bomb)
    # A measRecord announcing 16383 values (length determinant 0xBF 0xFF).
    record_bomb = bytes([0x00, 0x00, 0x00, 0x00, 0xBF, 0xFF, 0x00, 0x05])
    with pytest.raises(DecodeError, match="cannot fit"):
        kpm_fast.try_decode_message(record_bomb)
    # A fragmented count (0xC4: 64K items per fragment): left to the generic
    # codec, which runs out of data just as fast.
    fragment_bomb = bytes([0x00, 0x00, 0x00, 0x00, 0xC4]) + bytes(8)
    with pytest.raises(NotHandled):
        kpm_fast.try_decode_message(fragment_bomb)
    with pytest.raises(DecodeError):
        kpm_fast.decode_message(fragment_bomb)
    assert time.perf_counter() - start < 2.0


def test_count_of_65536_is_a_constraint_violation_on_both_sides() -> None:
    # MeasurementData SIZE (1..65535) encoded as count - 1 in 16 bits: 0xFFFF
    # means 65536, which the generic codec rejects after decoding.
    data = bytes([0x00, 0xFF, 0xFF]) + bytes(70000 * 2)
    with pytest.raises(DecodeError):
        kpm_fast.try_decode_message(data)


def test_decoders_accept_any_bytes_like() -> None:
    value = {
        "indicationHeader-formats": (
            "indicationHeader-Format1",
            {"colletStartTime": bytes(range(8))},
        )
    }
    encoded = generic_encode(HEADER, value)
    assert kpm_fast.decode_header(bytearray(encoded)) == value
    assert kpm_fast.decode_header(memoryview(encoded)) == value


# ---------------------------------------------------------------------------
# A realistic message, and the speed-up (loose: the benchmark lives in bench/)
# ---------------------------------------------------------------------------

TYPICAL_NAMES = [f"DRB.Counter{i:02d}.Dl" for i in range(20)]


def typical_message() -> dict[str, Any]:
    return {
        "indicationMessage-formats": (
            "indicationMessage-Format1",
            {
                "measData": [{"measRecord": [("integer", 1000 * i + 7) for i in range(20)]}],
                "measInfoList": [
                    {
                        "measType": ("measName", n),
                        "labelInfoList": [{"measLabel": {"noLabel": "true"}}],
                    }
                    for n in TYPICAL_NAMES
                ],
                "granulPeriod": 1000,
            },
        )
    }


def test_typical_message_round_trip() -> None:
    value = typical_message()
    encoded = kpm_fast.try_encode_message(value)
    assert encoded == generic_encode(MESSAGE, value)
    assert kpm_fast.try_decode_message(encoded) == value


def test_fast_decode_is_faster_than_generic() -> None:
    """Not a benchmark: only guards against the fast path silently falling
    back (the measured ratio is above 10x; 2x leaves room for noisy CI)."""
    value = typical_message()
    encoded = generic_encode(MESSAGE, value)

    def best(fn: Any, n: int = 20) -> float:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    generic = best(lambda: generic_decode(MESSAGE, encoded))
    fast = best(lambda: kpm_fast.try_decode_message(encoded))
    assert fast * 2 < generic
