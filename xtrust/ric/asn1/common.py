"""Pieces shared by the E2AP and E2SM codecs: PLMN identities, service model descriptors.

Service models register by RAN function OID (as FlexRIC's do):
:func:`service_models` lists the ones XTRUST ships and :func:`by_oid` finds the
one an E2 node announces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xtrust.errors import DecodeError, InputError

__all__ = [
    "EventTriggerStyle",
    "ServiceModel",
    "by_oid",
    "plmn_from_mcc_mnc",
    "plmn_to_mcc_mnc",
    "service_models",
]


def bits_to_int(value: tuple[bytes, int]) -> int:
    """The integer of an asn1tools BIT STRING value ``(bytes, bit length)``."""
    data, n = value
    return int.from_bytes(data, "big") >> (len(data) * 8 - n)


def int_to_bits(value: int, n: int) -> tuple[bytes, int]:
    """An ``n``-bit BIT STRING value (asn1tools convention) holding ``value``."""
    pad = (-n) & 7
    return ((value << pad).to_bytes((n + pad) // 8, "big"), n)


def plmn_from_mcc_mnc(mcc: str, mnc: str) -> bytes:
    """The 3-octet PLMN identity (TS 38.413 9.3.3.5) of ``mcc``/``mnc`` digit strings."""
    if not (len(mcc) == 3 and mcc.isdigit() and len(mnc) in (2, 3) and mnc.isdigit()):
        raise InputError(f"bad PLMN: MCC {mcc!r} must be 3 digits and MNC {mnc!r} 2 or 3 digits")
    d = [int(c) for c in mcc]
    m = [int(c) for c in mnc]
    third = m[2] if len(m) == 3 else 0xF
    return bytes(((d[1] << 4) | d[0], (third << 4) | d[2], (m[1] << 4) | m[0]))


def plmn_to_mcc_mnc(plmn: bytes) -> tuple[str, str]:
    """The (MCC, MNC) digit strings of a 3-octet PLMN identity."""
    if not isinstance(plmn, bytes | bytearray) or len(plmn) != 3:
        raise DecodeError(f"a PLMN identity is 3 octets, not {plmn!r}")
    nibbles = [
        plmn[0] & 0xF,
        plmn[0] >> 4,
        plmn[1] & 0xF,
        plmn[1] >> 4,
        plmn[2] & 0xF,
        plmn[2] >> 4,
    ]
    mcc_digits = nibbles[0:3]
    mnc_digits = [nibbles[4], nibbles[5]] + ([] if nibbles[3] == 0xF else [nibbles[3]])
    if any(d > 9 for d in mcc_digits + mnc_digits):
        raise DecodeError(f"PLMN identity {plmn.hex()} is not BCD")
    return "".join(map(str, mcc_digits)), "".join(map(str, mnc_digits))


@dataclass(frozen=True)
class ServiceModel:
    """How an E2 service model is named, identified and encoded.

    ``spec`` names the compiled ASN.1 specification (:func:`_spec.load`);
    the ``*_type`` fields name the ASN.1 type carried in each E2AP OCTET
    STRING field (None where the model does not use that field).
    """

    short_name: str
    oid: str
    spec: str
    title: str
    ran_function_definition_type: str
    event_trigger_type: str
    action_definition_type: str
    indication_header_type: str
    indication_message_type: str
    control_header_type: str | None = None
    control_message_type: str | None = None
    control_outcome_type: str | None = None
    call_process_id_type: str | None = None
    #: Other OIDs that E2 nodes use for this model.
    oid_aliases: tuple[str, ...] = ()

    @property
    def oids(self) -> tuple[str, ...]:
        return (self.oid, *self.oid_aliases)

    def matches(self, oid: str) -> bool:
        """True if an E2 node announcing ``oid`` speaks this service model."""
        return oid.strip() in self.oids


@dataclass(frozen=True)
class EventTriggerStyle:
    """RIC-EventTriggerStyle-Item."""

    style: int
    name: str
    format: int

    def to_asn1(self) -> dict[str, Any]:
        return {
            "ric-EventTriggerStyle-Type": self.style,
            "ric-EventTriggerStyle-Name": self.name,
            "ric-EventTriggerFormat-Type": self.format,
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> EventTriggerStyle:
        return cls(
            value["ric-EventTriggerStyle-Type"],
            value["ric-EventTriggerStyle-Name"],
            value["ric-EventTriggerFormat-Type"],
        )


def service_models() -> tuple[ServiceModel, ...]:
    """The E2 service models XTRUST ships (E2SM-KPM, E2SM-RC)."""
    from xtrust.ric.asn1 import kpm, rc

    return (kpm.SERVICE_MODEL, rc.SERVICE_MODEL)


def by_oid(oid: str) -> ServiceModel | None:
    """The service model an E2 node announcing ``oid`` speaks, or None."""
    for sm in service_models():
        if sm.matches(oid):
            return sm
    return None
