"""ASN.1 codecs for the RIC protocols: E2AP, E2SM-KPM and E2SM-RC (aligned PER).

Our own ASN.1 modules (``*.asn`` beside this file), compiled by asn1tools and
cached. Three levels of API:

* raw: :func:`encode` / :func:`decode` of any type by name, asn1tools value
  conventions (SEQUENCE dict, CHOICE (name, value), BIT STRING (bytes, bits));
* E2AP full values: :func:`decode_pdu` / :func:`encode_pdu` expand every open
  type (protocol IEs) into ``(type_name, value)`` pairs, like pycrate;
* typed messages: :mod:`xtrust.ric.asn1.e2ap_messages` (``RicIndication``,
  ``RicSubscriptionRequest``, ...) and :func:`parse`; hand-written fast paths
  for the hot traffic in :mod:`xtrust.ric.asn1.e2ap_fast`.

Every decoder raises :class:`xtrust.errors.DecodeError` on bad bytes, every
encoder :class:`xtrust.errors.EncodeError` on values that do not fit.
"""

from __future__ import annotations

from typing import Any

from xtrust.ric.asn1 import _spec
from xtrust.ric.asn1.e2ap import decode_pdu, encode_pdu
from xtrust.ric.asn1.e2ap_fast import PduSummary, decode_indication, encode_indication, peek
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    E2apMessage,
    E2nodeConfigurationUpdate,
    E2nodeConfigurationUpdateAcknowledge,
    E2nodeConfigurationUpdateFailure,
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
    error_indication_for,
    global_gnb_id,
    global_ric_id,
    parse,
    plmn_identity,
)

__all__ = [
    "SPECS",
    "Cause",
    "E2SetupFailure",
    "E2SetupRequest",
    "E2SetupResponse",
    "E2apMessage",
    "E2nodeConfigurationUpdate",
    "E2nodeConfigurationUpdateAcknowledge",
    "E2nodeConfigurationUpdateFailure",
    "ErrorIndication",
    "PduSummary",
    "RanFunction",
    "ResetRequest",
    "ResetResponse",
    "RicAction",
    "RicControlAcknowledge",
    "RicControlFailure",
    "RicControlRequest",
    "RicIndication",
    "RicRequestId",
    "RicServiceUpdate",
    "RicServiceUpdateAcknowledge",
    "RicServiceUpdateFailure",
    "RicSubscriptionDeleteFailure",
    "RicSubscriptionDeleteRequest",
    "RicSubscriptionDeleteResponse",
    "RicSubscriptionFailure",
    "RicSubscriptionRequest",
    "RicSubscriptionResponse",
    "decode",
    "decode_indication",
    "decode_pdu",
    "encode",
    "encode_indication",
    "encode_pdu",
    "error_indication_for",
    "global_gnb_id",
    "global_ric_id",
    "parse",
    "peek",
    "plmn_identity",
]

SPECS = _spec.SPECS


def encode(type_name: str, value: Any, spec: str = "e2ap") -> bytes:
    """Encode one value of ``type_name`` (asn1tools conventions) as aligned PER."""
    return _spec.encode(spec, type_name, value)


def decode(type_name: str, data: bytes, spec: str = "e2ap") -> Any:
    """Decode aligned PER bytes as ``type_name``; raises DecodeError on bad input."""
    return _spec.decode(spec, type_name, data)
