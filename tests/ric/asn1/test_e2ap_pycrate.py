"""Wire-exactness of our E2AP codec, proven against pycrate's independent one.

For every message type, random values are encoded by both implementations and
must give identical bytes; each side decodes the other's bytes back to the
same value.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from xtrust.ric.asn1 import e2ap

from .e2ap_strategies import for_pdu
from .pycrate_values import to_pycrate

E2AP = pytest.importorskip("pycrate_asn1dir.E2AP", reason="pycrate is a test dependency")


def pycrate_encode(value: Any) -> bytes:
    pdu = E2AP.E2AP_PDU_Descriptions.E2AP_PDU
    pdu.set_val(to_pycrate(value))
    return bytes(pdu.to_aper())


def pycrate_decode(data: bytes) -> Any:
    pdu = E2AP.E2AP_PDU_Descriptions.E2AP_PDU
    pdu.from_aper(data)
    return pdu.get_val()


ALL_MESSAGES = sorted(e2ap.MESSAGE_KIND)


def test_every_message_type_is_covered() -> None:
    assert len(ALL_MESSAGES) == len(e2ap.MESSAGE_IES) == 42
    for required in (
        "E2setupRequest", "E2setupResponse", "E2setupFailure",
        "RICsubscriptionRequest", "RICsubscriptionResponse", "RICsubscriptionFailure",
        "RICsubscriptionDeleteRequest", "RICsubscriptionDeleteResponse",
        "RICsubscriptionDeleteFailure", "RICindication", "RICcontrolRequest",
        "RICcontrolAcknowledge", "RICcontrolFailure", "ErrorIndication", "ResetRequest",
        "ResetResponse", "RICserviceUpdate", "RICserviceUpdateAcknowledge",
        "RICserviceUpdateFailure", "E2nodeConfigurationUpdate",
        "E2nodeConfigurationUpdateAcknowledge", "E2nodeConfigurationUpdateFailure",
    ):  # fmt: skip
        assert required in ALL_MESSAGES


def test_tables_match_pycrate_information_objects() -> None:
    """Our IE tables (facts from the spec) agree with pycrate's object sets."""
    contents = E2AP.E2AP_PDU_Contents
    for message, ies in e2ap.MESSAGE_IES.items():
        objset = None
        for name in (message + "-IEs", message + "IEs", message.replace("Acknowledge", "Ack-IEs")):
            objset = objset or getattr(contents, name.replace("-", "_"), None)
        assert objset is not None, message
        theirs = [(v["id"], v["Value"]._tr._name) for v in objset._val.root]
        assert [(i, t) for i, t, _c, _p in ies] == theirs, message
    for list_type, item_id in e2ap.LIST_ITEMS.items():
        component = getattr(contents, list_type.replace("-", "_"))._cont
        ids = [v["id"] for v in component._cont["id"]._const_tab._val.root]
        assert ids == [item_id], list_type


@pytest.mark.parametrize("message", ALL_MESSAGES)
def test_byte_identical_with_pycrate(message: str) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(for_pdu(message))
    def check(value: Any) -> None:
        ours = e2ap.encode_pdu(value)
        theirs = pycrate_encode(value)
        assert ours == theirs
        # each side decodes the other's bytes to the same value
        assert e2ap.decode_pdu(theirs) == value
        assert pycrate_decode(ours) == to_pycrate(value)

    check()
