"""The E2AP fast paths agree with the generic codec on generated inputs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtrust.errors import DecodeError
from xtrust.ric.asn1 import e2ap
from xtrust.ric.asn1.e2ap_fast import decode_indication, encode_indication, peek, require_indication
from xtrust.ric.asn1.e2ap_messages import RicIndication, RicRequestId, parse

from .e2ap_strategies import for_pdu

u16 = st.integers(0, 0xFFFF)
indications = st.builds(
    RicIndication,
    request_id=st.builds(RicRequestId, u16, u16),
    ran_function_id=st.integers(0, 4095),
    action_id=st.integers(0, 255),
    header=st.binary(max_size=300),
    message=st.one_of(st.binary(max_size=200), st.binary(min_size=120, max_size=20000)),
    indication_type=st.sampled_from(["report", "insert"]),
    sn=st.one_of(st.none(), u16),
    call_process_id=st.one_of(st.none(), st.binary(max_size=20)),
)

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(indications)
def test_fast_encode_is_byte_identical(ind: RicIndication) -> None:
    assert encode_indication(ind) == ind.encode()


@SETTINGS
@given(indications)
def test_fast_decode_equals_generic(ind: RicIndication) -> None:
    data = ind.encode()
    fast = decode_indication(data)
    if len(data) < 0x4000 + 4:
        assert fast is not None
    if fast is not None:
        assert fast == parse(data) == ind
    assert require_indication(data) == ind


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(e2ap.MESSAGE_KIND)).flatmap(for_pdu))
def test_peek_equals_generic_routing_fields(value: Any) -> None:
    data = e2ap.encode_pdu(value)
    summary = peek(data)
    assert summary is not None
    kind, msg = value
    ies = {f["id"]: f["value"][1] for f in msg["value"][1]["protocolIEs"]}
    assert summary.kind == kind
    assert summary.procedure_code == msg["procedureCode"]
    assert summary.criticality == msg["criticality"]
    req = ies.get(29)
    assert summary.request_id == (
        RicRequestId(req["ricRequestorID"], req["ricInstanceID"]) if req else None
    )
    assert summary.ran_function_id == ies.get(5)
    assert summary.transaction_id == ies.get(49)
    if msg["procedureCode"] != 5:
        assert decode_indication(data) is None


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fast_paths_never_raise_on_garbage(data: bytes) -> None:
    peek(data)
    fast = decode_indication(data)
    if fast is not None:  # whatever the fast path accepts, the generic codec agrees with
        assert parse(data) == fast


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indications, st.data())
def test_mutated_indications_fast_or_fallback(ind: RicIndication, data: st.DataObject) -> None:
    raw = bytearray(ind.encode())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    fast = decode_indication(bytes(raw))
    if fast is not None:
        assert parse(bytes(raw)) == fast


def test_missing_indication_type_is_not_defaulted_by_the_fast_path() -> None:
    """A bit flip that turns IE 28 (RICindicationType, mandatory) into IE 20 once made
    the fast path default the type to "report" while the generic codec rejects the PDU
    (found by the mutation test above): the fast path must fall back instead."""
    ind = RicIndication(RicRequestId(1, 2), 3, 4, b"h", b"m", "report", 5, None)
    raw = bytearray(ind.encode())
    at = bytes(raw).index(b"\x00\x1c\x00\x01\x00")  # IE 28, criticality reject, 1 octet
    raw[at + 1] = 0x14  # IE id 20 (RICcallProcessID)
    assert decode_indication(bytes(raw)) is None
    with pytest.raises(DecodeError, match="RICindicationType"):
        parse(bytes(raw))
