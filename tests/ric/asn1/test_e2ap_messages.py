"""Typed E2AP messages: round trips and agreement with pycrate."""

from __future__ import annotations

import pytest

from xtrust.errors import DecodeError, EncodeError, InputError
from xtrust.ric.asn1 import e2ap
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    E2apMessage,
    E2nodeConfigurationUpdate,
    E2SetupFailure,
    E2SetupRequest,
    E2SetupResponse,
    ErrorIndication,
    RanFunction,
    ResetRequest,
    ResetResponse,
    RicAction,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicIndication,
    RicRequestId,
    RicServiceUpdate,
    RicServiceUpdateAcknowledge,
    RicServiceUpdateFailure,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    global_gnb_id,
    global_ric_id,
    parse,
    plmn_identity,
)

PLMN = plmn_identity("001", "01")
REQ = RicRequestId(1001, 7)
COMPONENT = {
    "e2nodeComponentInterfaceType": "f1",
    "e2nodeComponentID": ("e2nodeComponentInterfaceTypeF1", {"gNB-DU-ID": 1}),
    "e2nodeComponentConfiguration": {
        "e2nodeComponentRequestPart": b"req",
        "e2nodeComponentResponsePart": b"resp",
    },
}
COMPONENT_ACK = {
    "e2nodeComponentInterfaceType": "f1",
    "e2nodeComponentID": ("e2nodeComponentInterfaceTypeF1", {"gNB-DU-ID": 1}),
    "e2nodeComponentConfigurationAck": {"updateOutcome": "success"},
}

MESSAGES: list[E2apMessage] = [
    E2SetupRequest(
        transaction_id=1,
        global_e2node_id=global_gnb_id(PLMN, 0xE0000, 22),
        ran_functions=[RanFunction(2, b"\x01\x02", 1, "1.3.6.1.4.1.53148.1.2.2.2")],
        component_configs=[COMPONENT],
    ),
    E2SetupResponse(
        transaction_id=1,
        global_ric_id=global_ric_id(PLMN, 0x12345),
        component_config_acks=[COMPONENT_ACK],
        accepted=[(2, 1)],
        rejected=[(3, Cause("ricService", "ran-function-not-supported"))],
    ),
    E2SetupFailure(1, Cause("protocol", "semantic-error"), time_to_wait="v5s"),
    RicSubscriptionRequest(
        REQ,
        2,
        (b"\x00\x01", [RicAction(1, "report", b"adef", "continue", "w10ms", 3), RicAction(2)]),
    ),
    RicSubscriptionResponse(REQ, 2, [1], [(2, Cause("ricRequest", "action-not-supported"))]),
    RicSubscriptionFailure(REQ, 2, Cause("ricRequest", "duplicate-ric-request-id")),
    RicSubscriptionDeleteRequest(REQ, 2),
    RicSubscriptionDeleteResponse(REQ, 2),
    RicSubscriptionDeleteFailure(REQ, 2, Cause("ricRequest", "request-id-unknown")),
    RicIndication(REQ, 2, 1, b"hdr", b"msg", sn=42),
    RicControlRequest(REQ, 3, b"ch", b"cm", ack_request="ack"),
    RicControlAcknowledge(REQ, 3, outcome=b"out"),
    RicControlFailure(REQ, 3, Cause("ricRequest", "control-failed-to-execute")),
    ErrorIndication(cause=Cause("protocol", "transfer-syntax-error")),
    ResetRequest(5, Cause("misc", "om-intervention")),
    ResetResponse(5),
    RicServiceUpdate(6, added=[RanFunction(4, b"d", 2, "1.3.6.1.4.1.53148.1.1.2.3")]),
    RicServiceUpdateAcknowledge(6, accepted=[(4, 2)]),
    RicServiceUpdateFailure(6, Cause("ricService", "excessive-functions")),
    E2nodeConfigurationUpdate(7, additions=[COMPONENT]),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_typed_round_trip(msg: E2apMessage) -> None:
    data = msg.encode()
    assert parse(data) == msg


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_typed_encoding_matches_pycrate(msg: E2apMessage) -> None:
    E2AP = pytest.importorskip("pycrate_asn1dir.E2AP")
    from .pycrate_values import to_pycrate

    pdu = E2AP.E2AP_PDU_Descriptions.E2AP_PDU
    pdu.set_val(to_pycrate(msg.to_pdu()))
    assert bytes(pdu.to_aper()) == msg.encode()


def test_plmn_identity_bcd() -> None:
    assert plmn_identity("001", "01") == bytes.fromhex("00f110")
    assert plmn_identity("310", "410") == bytes.fromhex("130014")
    with pytest.raises(InputError):
        plmn_identity("1", "01")


def test_gnb_id_bits() -> None:
    _kind, v = global_gnb_id(PLMN, 1, 22)
    assert v["global-gNB-ID"]["gnb-id"] == ("gnb-ID", (bytes.fromhex("000004"), 22))
    with pytest.raises(EncodeError):
        global_gnb_id(PLMN, 1 << 22, 22)


def test_missing_mandatory_ie_on_encode() -> None:
    with pytest.raises(EncodeError, match="mandatory"):
        RicIndication(REQ, 2, 1, b"h", None).encode()  # type: ignore[arg-type]


def test_missing_mandatory_ie_on_decode() -> None:
    kind, msg = RicIndication(REQ, 2, 1, b"h", b"m").to_pdu()
    msg["value"][1]["protocolIEs"] = [f for f in msg["value"][1]["protocolIEs"] if f["id"] != 26]
    with pytest.raises(DecodeError, match="lacks mandatory IE 26"):
        parse(e2ap.encode_pdu((kind, msg)))


def test_parse_rejects_message_without_class() -> None:
    value = (
        "initiatingMessage",
        {
            "procedureCode": 13,
            "criticality": "reject",
            "value": (
                "E2RemovalRequest",
                {
                    "protocolIEs": [
                        {"id": 49, "criticality": "reject", "value": ("TransactionID", 3)}
                    ]
                },
            ),
        },
    )
    with pytest.raises(DecodeError, match="no typed class"):
        parse(e2ap.encode_pdu(value))


def test_error_indication_for_garbage_refers_to_the_procedure() -> None:
    from xtrust.ric.asn1.e2ap_messages import error_indication_for

    bad = bytes.fromhex("000840ff0102")  # a subscription request cut short
    reply = parse(error_indication_for(bad) or b"")
    assert isinstance(reply, ErrorIndication)
    assert reply.cause == Cause("protocol", "transfer-syntax-error")
    assert reply.criticality_diagnostics == {
        "procedureCode": 8,
        "triggeringMessage": "initiating-message",
        "procedureCriticality": "ignore",
    }
    assert error_indication_for(b"\xff\xff\xff") is None
    assert error_indication_for(b"") is None
