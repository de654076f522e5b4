"""E2SM-KPM v3 (O-RAN.WG3.E2SM-KPM-R003-v03.00): typed messages.

Every message is a frozen dataclass with ``encode() -> bytes`` (aligned PER,
the OCTET STRING content that E2AP carries) and ``decode(data)``; the values
inside are plain Python (``int``, ``str``, ``bytes``) and small dataclasses
for the information elements. The ASN.1 module is ``e2sm_kpm.asn`` next to
this file; :mod:`xtrust.ric.asn1.kpm_fast` encodes and decodes the RIC
Indication header and message (formats 1 and 3) without asn1tools when it can.

Which KPM message goes where:

========================  ==========================================  ==================
E2AP field                class                                       direction
========================  ==========================================  ==================
RAN function definition   :class:`KpmRanFunctionDefinition`           node -> RIC
RIC event trigger         :class:`KpmEventTrigger`                    RIC -> node
RIC action definition     ``KpmActionDefinitionFormat1`` ... ``5``    RIC -> node
RIC indication header     :class:`KpmIndicationHeader`                node -> RIC
RIC indication message    ``KpmIndicationMessageFormat1`` ... ``3``   node -> RIC
========================  ==========================================  ==================

The E2SM common information elements (UE ID, cell global ID, PLMN, GUAMI,
RAN function name) are defined here too and :mod:`xtrust.ric.asn1.rc` uses
the same classes: both modules carry identical copies of those ASN.1 types.

Service model identity: the short name is ``ORAN-E2SM-KPM`` and E2 nodes
register KPM under the OID ``1.3.6.1.4.1.53148.1.2.2.2`` (srsRAN's KPM v3
agent and ONOS do, as for KPM v2). The v03.00 ASN.1 module identifier
``{... oran(53148) e2(1) version3(3) e2sm(2) e2sm-KPMMON-IEs(2)}`` reads
``1.3.6.1.4.1.53148.1.3.2.2``, which FlexRIC announces for v3;
:data:`SERVICE_MODEL` accepts both.

The indication header's ``colletStartTime`` is 8 octets in v3 (it was 4 in
v2): :class:`KpmIndicationHeader` keeps it as a 64-bit integer and reads it
as an NTP timestamp (RFC 5905: seconds since 1900 in the high 32 bits).

Interoperability notes (aligned PER as X.691 writes it, which is what
asn1tools, pycrate's decoder and Wireshark do):

* A zero-length string of a ``SIZE (0..n)`` PrintableString gets no padding
  after its length; asn1c (the skeletons in O-RAN SC, OAI and FlexRIC) and
  pycrate pad to the octet boundary there. The typed header therefore sends
  an empty string as an absent one.
* asn1c skeletons before mid-2026 also pad after a NULL in aligned PER, so a
  ``noValue`` measurement (``MeasurementRecordItem`` NULL) followed by more
  values is read differently by such peers. XTRUST follows X.691 (no padding).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from xtrust.errors import DecodeError, InputError
from xtrust.ric.asn1 import _spec, kpm_fast
from xtrust.ric.asn1.common import (
    EventTriggerStyle,
    ServiceModel,
    bits_to_int,
    int_to_bits,
    plmn_from_mcc_mnc,
    plmn_to_mcc_mnc,
)

__all__ = [
    "NO_LABEL",
    "OID",
    "OID_V3_MODULE",
    "SERVICE_MODEL",
    "SHORT_NAME",
    "SPEC",
    "TEST_TYPES",
    "BinRange",
    "BinRangeDefinition",
    "Cgi",
    "DistMeasBinRange",
    "EutraCgi",
    "EventTriggerStyle",
    "GlobalGnbId",
    "GnbCuUpUeId",
    "GnbDuUeId",
    "GnbUeId",
    "Guami",
    "KpmActionDefinition",
    "KpmActionDefinitionFormat1",
    "KpmActionDefinitionFormat2",
    "KpmActionDefinitionFormat3",
    "KpmActionDefinitionFormat4",
    "KpmActionDefinitionFormat5",
    "KpmEventTrigger",
    "KpmIndicationHeader",
    "KpmIndicationMessage",
    "KpmIndicationMessageFormat1",
    "KpmIndicationMessageFormat2",
    "KpmIndicationMessageFormat3",
    "KpmRanFunctionDefinition",
    "MatchingCondition",
    "MeasActionItem",
    "MeasCondUeId",
    "MeasCondition",
    "MeasInfo",
    "MeasurementLabel",
    "NrCgi",
    "OtherUeId",
    "RanFunctionName",
    "ReportStyle",
    "ServiceModel",
    "Snssai",
    "TestCondition",
    "UeId",
    "UeMeasReport",
    "cgi_from_asn1",
    "cgi_to_asn1",
    "decode_action_definition",
    "decode_indication_message",
    "indication_message_from_asn1",
    "plmn_from_mcc_mnc",
    "plmn_to_mcc_mnc",
    "ue_id_from_asn1",
    "ue_id_to_asn1",
]

SHORT_NAME: Final = "ORAN-E2SM-KPM"
#: The OID E2 nodes register E2SM-KPM under (v2 and v3).
OID: Final = "1.3.6.1.4.1.53148.1.2.2.2"
#: The OID of the v03.00 ASN.1 module identifier (announced by FlexRIC).
OID_V3_MODULE: Final = "1.3.6.1.4.1.53148.1.3.2.2"
SPEC: Final = "e2sm-kpm"

_T = TypeVar("_T")


# ===========================================================================
# Service model descriptor (shared with rc.py)
# ===========================================================================


SERVICE_MODEL: Final = ServiceModel(
    short_name=SHORT_NAME,
    oid=OID,
    spec=SPEC,
    title="O-RAN E2SM-KPM v03.00",
    ran_function_definition_type="E2SM-KPM-RANfunction-Description",
    event_trigger_type="E2SM-KPM-EventTriggerDefinition",
    action_definition_type="E2SM-KPM-ActionDefinition",
    indication_header_type="E2SM-KPM-IndicationHeader",
    indication_message_type="E2SM-KPM-IndicationMessage",
    oid_aliases=(OID_V3_MODULE,),
)


# ===========================================================================
# Helpers
# ===========================================================================


def _convert(fn: Callable[[Any], _T], value: Any, what: str) -> _T:
    """Run a converter from asn1tools values; a value it cannot represent
    (an unknown extension alternative decodes as ``(None, None)``) becomes a
    :class:`DecodeError`."""
    try:
        return fn(value)
    except DecodeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DecodeError(f"cannot read {what}: unsupported or unexpected content ({exc})") from exc


def _int(value: Any, what: str, lower: int | None = None, upper: int | None = None) -> int:
    if type(value) is not int:
        raise InputError(f"{what} must be an int, got {type(value).__name__}")
    if (lower is not None and value < lower) or (upper is not None and value > upper):
        raise InputError(f"{what} must be in {lower}..{upper}, got {value}")
    return value


def _opt_int(
    value: Any, what: str, lower: int | None = None, upper: int | None = None
) -> int | None:
    return None if value is None else _int(value, what, lower, upper)


def _bytes(value: Any, what: str, size: int | None = None) -> bytes:
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    if type(value) is not bytes:
        raise InputError(f"{what} must be bytes, got {type(value).__name__}")
    if size is not None and len(value) != size:
        raise InputError(f"{what} must be {size} bytes, got {len(value)}")
    return value


def _tuple(value: Iterable[_T] | None) -> tuple[_T, ...]:
    return () if value is None else tuple(value)


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _encode(type_name: str, value: Any) -> bytes:
    return _spec.encode(SPEC, type_name, value)


def _decode(type_name: str, data: bytes) -> Any:
    return _spec.decode(SPEC, type_name, kpm_fast._as_bytes(data))


# ===========================================================================
# E2SM common IEs
# ===========================================================================


@dataclass(frozen=True)
class Guami:
    """GUAMI (TS 38.413): PLMN, AMF region ID (8 bits), set ID (10), pointer (6)."""

    plmn: bytes
    amf_region_id: int
    amf_set_id: int
    amf_pointer: int

    def __post_init__(self) -> None:
        _set(self, "plmn", _bytes(self.plmn, "GUAMI PLMN", 3))
        _int(self.amf_region_id, "AMF region ID", 0, 0xFF)
        _int(self.amf_set_id, "AMF set ID", 0, 0x3FF)
        _int(self.amf_pointer, "AMF pointer", 0, 0x3F)

    def to_asn1(self) -> dict[str, Any]:
        return {
            "pLMNIdentity": self.plmn,
            "aMFRegionID": int_to_bits(self.amf_region_id, 8),
            "aMFSetID": int_to_bits(self.amf_set_id, 10),
            "aMFPointer": int_to_bits(self.amf_pointer, 6),
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Guami:
        return cls(
            value["pLMNIdentity"],
            bits_to_int(value["aMFRegionID"]),
            bits_to_int(value["aMFSetID"]),
            bits_to_int(value["aMFPointer"]),
        )


@dataclass(frozen=True)
class GlobalGnbId:
    """Global gNB ID: PLMN and a gNB ID of ``gnb_id_bits`` (22..32) bits."""

    plmn: bytes
    gnb_id: int
    gnb_id_bits: int = 32

    def __post_init__(self) -> None:
        _set(self, "plmn", _bytes(self.plmn, "gNB PLMN", 3))
        _int(self.gnb_id_bits, "gNB ID length", 22, 32)
        _int(self.gnb_id, "gNB ID", 0, (1 << self.gnb_id_bits) - 1)

    def to_asn1(self) -> dict[str, Any]:
        return {
            "pLMNIdentity": self.plmn,
            "gNB-ID": ("gNB-ID", int_to_bits(self.gnb_id, self.gnb_id_bits)),
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> GlobalGnbId:
        kind, bits = value["gNB-ID"]
        if kind != "gNB-ID":
            raise DecodeError(f"unsupported GNB-ID alternative {kind!r}")
        return cls(value["pLMNIdentity"], bits_to_int(bits), bits[1])


@dataclass(frozen=True)
class GnbUeId:
    """UEID gNB-UEID (E2SM common IEs): a UE of a gNB (or its CU-CP)."""

    amf_ue_ngap_id: int
    guami: Guami
    gnb_cu_ue_f1ap_ids: tuple[int, ...] = ()
    gnb_cu_cp_ue_e1ap_ids: tuple[int, ...] = ()
    ran_ue_id: bytes | None = None
    m_ng_ran_ue_xnap_id: int | None = None
    global_gnb_id: GlobalGnbId | None = None

    def __post_init__(self) -> None:
        _int(self.amf_ue_ngap_id, "AMF UE NGAP ID", 0, (1 << 40) - 1)
        _set(self, "gnb_cu_ue_f1ap_ids", _tuple(self.gnb_cu_ue_f1ap_ids))
        _set(self, "gnb_cu_cp_ue_e1ap_ids", _tuple(self.gnb_cu_cp_ue_e1ap_ids))
        if self.ran_ue_id is not None:
            _set(self, "ran_ue_id", _bytes(self.ran_ue_id, "RAN UE ID", 8))

    def to_asn1(self) -> tuple[str, dict[str, Any]]:
        v: dict[str, Any] = {"amf-UE-NGAP-ID": self.amf_ue_ngap_id, "guami": self.guami.to_asn1()}
        if self.gnb_cu_ue_f1ap_ids:
            v["gNB-CU-UE-F1AP-ID-List"] = [
                {"gNB-CU-UE-F1AP-ID": i} for i in self.gnb_cu_ue_f1ap_ids
            ]
        if self.gnb_cu_cp_ue_e1ap_ids:
            v["gNB-CU-CP-UE-E1AP-ID-List"] = [
                {"gNB-CU-CP-UE-E1AP-ID": i} for i in self.gnb_cu_cp_ue_e1ap_ids
            ]
        if self.ran_ue_id is not None:
            v["ran-UEID"] = self.ran_ue_id
        if self.m_ng_ran_ue_xnap_id is not None:
            v["m-NG-RAN-UE-XnAP-ID"] = self.m_ng_ran_ue_xnap_id
        if self.global_gnb_id is not None:
            v["globalGNB-ID"] = self.global_gnb_id.to_asn1()
        return ("gNB-UEID", v)


@dataclass(frozen=True)
class GnbDuUeId:
    """UEID gNB-DU-UEID: a UE of a gNB-DU, by its gNB-CU UE F1AP ID."""

    gnb_cu_ue_f1ap_id: int
    ran_ue_id: bytes | None = None

    def __post_init__(self) -> None:
        _int(self.gnb_cu_ue_f1ap_id, "gNB-CU UE F1AP ID", 0, 0xFFFFFFFF)
        if self.ran_ue_id is not None:
            _set(self, "ran_ue_id", _bytes(self.ran_ue_id, "RAN UE ID", 8))

    def to_asn1(self) -> tuple[str, dict[str, Any]]:
        v: dict[str, Any] = {"gNB-CU-UE-F1AP-ID": self.gnb_cu_ue_f1ap_id}
        if self.ran_ue_id is not None:
            v["ran-UEID"] = self.ran_ue_id
        return ("gNB-DU-UEID", v)


@dataclass(frozen=True)
class GnbCuUpUeId:
    """UEID gNB-CU-UP-UEID: a UE of a gNB-CU-UP, by its gNB-CU-CP UE E1AP ID."""

    gnb_cu_cp_ue_e1ap_id: int
    ran_ue_id: bytes | None = None

    def __post_init__(self) -> None:
        _int(self.gnb_cu_cp_ue_e1ap_id, "gNB-CU-CP UE E1AP ID", 0, 0xFFFFFFFF)
        if self.ran_ue_id is not None:
            _set(self, "ran_ue_id", _bytes(self.ran_ue_id, "RAN UE ID", 8))

    def to_asn1(self) -> tuple[str, dict[str, Any]]:
        v: dict[str, Any] = {"gNB-CU-CP-UE-E1AP-ID": self.gnb_cu_cp_ue_e1ap_id}
        if self.ran_ue_id is not None:
            v["ran-UEID"] = self.ran_ue_id
        return ("gNB-CU-UP-UEID", v)


@dataclass(frozen=True)
class OtherUeId:
    """Any other UEID (ng-eNB, ng-eNB-DU, en-gNB, eNB, or one carrying
    extension additions), kept as the asn1tools value of the alternative."""

    alternative: str
    value: Mapping[str, Any] = field(hash=False)

    def to_asn1(self) -> tuple[str, Any]:
        return (self.alternative, self.value)


UeId = GnbUeId | GnbDuUeId | GnbCuUpUeId | OtherUeId

_GNB_UEID_FIELDS: Final = frozenset(
    (
        "amf-UE-NGAP-ID",
        "guami",
        "gNB-CU-UE-F1AP-ID-List",
        "gNB-CU-CP-UE-E1AP-ID-List",
        "ran-UEID",
        "m-NG-RAN-UE-XnAP-ID",
        "globalGNB-ID",
    )
)


def ue_id_to_asn1(ue_id: UeId) -> tuple[str, Any]:
    """The asn1tools value of a UEID."""
    if not isinstance(ue_id, (GnbUeId, GnbDuUeId, GnbCuUpUeId, OtherUeId)):
        raise InputError(f"not a UE ID: {ue_id!r}")
    return ue_id.to_asn1()


def ue_id_from_asn1(value: tuple[str, Any]) -> UeId:
    """The typed UEID of an asn1tools value (:class:`OtherUeId` for the rest)."""

    def convert(value: tuple[str, Any]) -> UeId:
        kind, v = value
        if kind is None:
            raise DecodeError("unknown UEID extension alternative")
        if kind == "gNB-UEID" and _GNB_UEID_FIELDS.issuperset(v):
            return GnbUeId(
                v["amf-UE-NGAP-ID"],
                Guami.from_asn1(v["guami"]),
                tuple(i["gNB-CU-UE-F1AP-ID"] for i in v.get("gNB-CU-UE-F1AP-ID-List", ())),
                tuple(i["gNB-CU-CP-UE-E1AP-ID"] for i in v.get("gNB-CU-CP-UE-E1AP-ID-List", ())),
                v.get("ran-UEID"),
                v.get("m-NG-RAN-UE-XnAP-ID"),
                GlobalGnbId.from_asn1(v["globalGNB-ID"]) if "globalGNB-ID" in v else None,
            )
        if kind == "gNB-DU-UEID":
            return GnbDuUeId(v["gNB-CU-UE-F1AP-ID"], v.get("ran-UEID"))
        if kind == "gNB-CU-UP-UEID":
            return GnbCuUpUeId(v["gNB-CU-CP-UE-E1AP-ID"], v.get("ran-UEID"))
        return OtherUeId(kind, v)

    return _convert(convert, value, "UEID")


@dataclass(frozen=True)
class NrCgi:
    """NR cell global ID: PLMN and 36-bit NR cell identity (gNB ID + cell)."""

    plmn: bytes
    nr_cell_id: int

    def __post_init__(self) -> None:
        _set(self, "plmn", _bytes(self.plmn, "NR CGI PLMN", 3))
        _int(self.nr_cell_id, "NR cell identity", 0, (1 << 36) - 1)

    def to_asn1(self) -> dict[str, Any]:
        return {"pLMNIdentity": self.plmn, "nRCellIdentity": int_to_bits(self.nr_cell_id, 36)}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> NrCgi:
        return cls(value["pLMNIdentity"], bits_to_int(value["nRCellIdentity"]))


@dataclass(frozen=True)
class EutraCgi:
    """E-UTRA cell global ID: PLMN and 28-bit E-UTRA cell identity."""

    plmn: bytes
    eutra_cell_id: int

    def __post_init__(self) -> None:
        _set(self, "plmn", _bytes(self.plmn, "E-UTRA CGI PLMN", 3))
        _int(self.eutra_cell_id, "E-UTRA cell identity", 0, (1 << 28) - 1)

    def to_asn1(self) -> dict[str, Any]:
        return {
            "pLMNIdentity": self.plmn,
            "eUTRACellIdentity": int_to_bits(self.eutra_cell_id, 28),
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> EutraCgi:
        return cls(value["pLMNIdentity"], bits_to_int(value["eUTRACellIdentity"]))


Cgi = NrCgi | EutraCgi


def cgi_to_asn1(cgi: Cgi) -> tuple[str, dict[str, Any]]:
    if isinstance(cgi, NrCgi):
        return ("nR-CGI", cgi.to_asn1())
    if isinstance(cgi, EutraCgi):
        return ("eUTRA-CGI", cgi.to_asn1())
    raise InputError(f"not a cell global ID: {cgi!r}")


def cgi_from_asn1(value: tuple[str, Any]) -> Cgi:
    def convert(value: tuple[str, Any]) -> Cgi:
        kind, v = value
        if kind == "nR-CGI":
            return NrCgi.from_asn1(v)
        if kind == "eUTRA-CGI":
            return EutraCgi.from_asn1(v)
        raise DecodeError(f"unsupported CGI alternative {kind!r}")

    return _convert(convert, value, "CGI")


@dataclass(frozen=True)
class RanFunctionName:
    """RANfunction-Name: short name, E2SM OID, description, optional instance."""

    short_name: str
    oid: str
    description: str
    instance: int | None = None

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ranFunction-ShortName": self.short_name,
            "ranFunction-E2SM-OID": self.oid,
            "ranFunction-Description": self.description,
        }
        if self.instance is not None:
            v["ranFunction-Instance"] = self.instance
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> RanFunctionName:
        return cls(
            value["ranFunction-ShortName"],
            value["ranFunction-E2SM-OID"],
            value["ranFunction-Description"],
            value.get("ranFunction-Instance"),
        )


# ===========================================================================
# KPM information elements
# ===========================================================================


@dataclass(frozen=True)
class Snssai:
    """S-NSSAI: slice/service type (0..255) and optional 24-bit slice differentiator."""

    sst: int
    sd: int | None = None

    def __post_init__(self) -> None:
        _int(self.sst, "SST", 0, 255)
        _opt_int(self.sd, "SD", 0, 0xFFFFFF)

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"sST": bytes((self.sst,))}
        if self.sd is not None:
            v["sD"] = self.sd.to_bytes(3, "big")
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Snssai:
        sd = value.get("sD")
        return cls(value["sST"][0], None if sd is None else int.from_bytes(sd, "big"))


# (attribute, ASN.1 name, kind): kind "flag" is ENUMERATED {true, ...}.
_LABEL_MAP: Final = (
    ("no_label", "noLabel", "flag"),
    ("plmn_id", "plmnID", "plmn"),
    ("slice_id", "sliceID", "snssai"),
    ("five_qi", "fiveQI", "int"),
    ("qfi", "qFI", "int"),
    ("qci", "qCI", "int"),
    ("qci_max", "qCImax", "int"),
    ("qci_min", "qCImin", "int"),
    ("arp_max", "aRPmax", "int"),
    ("arp_min", "aRPmin", "int"),
    ("bitrate_range", "bitrateRange", "int"),
    ("layer_mu_mimo", "layerMU-MIMO", "int"),
    ("sum", "sUM", "flag"),
    ("dist_bin_x", "distBinX", "int"),
    ("dist_bin_y", "distBinY", "int"),
    ("dist_bin_z", "distBinZ", "int"),
    ("pre_label_override", "preLabelOverride", "flag"),
    ("start_end", "startEndInd", "enum"),
    ("min", "min", "flag"),
    ("max", "max", "flag"),
    ("avg", "avg", "flag"),
    ("ssb_index", "ssbIndex", "int"),
    ("non_gob_bf_mode_index", "nonGoB-BFmode-Index", "int"),
    ("mimo_mode_index", "mIMO-mode-Index", "int"),
)


@dataclass(frozen=True)
class MeasurementLabel:
    """MeasurementLabel: the sub-counter a measurement value is for.

    Flags (``no_label``, ``sum``, ``pre_label_override``, ``min``, ``max``,
    ``avg``) are the ``ENUMERATED {true}`` fields: True means present.
    """

    no_label: bool = False
    plmn_id: bytes | None = None
    slice_id: Snssai | None = None
    five_qi: int | None = None
    qfi: int | None = None
    qci: int | None = None
    qci_max: int | None = None
    qci_min: int | None = None
    arp_max: int | None = None
    arp_min: int | None = None
    bitrate_range: int | None = None
    layer_mu_mimo: int | None = None
    sum: bool = False
    dist_bin_x: int | None = None
    dist_bin_y: int | None = None
    dist_bin_z: int | None = None
    pre_label_override: bool = False
    start_end: Literal["start", "end"] | None = None
    min: bool = False
    max: bool = False
    avg: bool = False
    ssb_index: int | None = None
    non_gob_bf_mode_index: int | None = None
    mimo_mode_index: int | None = None

    def to_asn1(self) -> dict[str, Any]:
        if self is NO_LABEL:  # the common case
            return {"noLabel": "true"}
        v: dict[str, Any] = {}
        for attr, name, kind in _LABEL_MAP:
            x = getattr(self, attr)
            if kind == "flag":
                if x:
                    v[name] = "true"
            elif x is not None:
                v[name] = x.to_asn1() if kind == "snssai" else x
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MeasurementLabel:
        if len(value) == 1 and value.get("noLabel") == "true":
            return NO_LABEL
        kwargs: dict[str, Any] = {}
        for attr, name, kind in _LABEL_MAP:
            if name not in value:
                continue
            x = value[name]
            if kind == "flag" or kind == "enum":
                if x is None:
                    raise DecodeError(f"unknown extension value of {name}")
                kwargs[attr] = True if kind == "flag" else x
            elif kind == "snssai":
                kwargs[attr] = Snssai.from_asn1(x)
            else:
                kwargs[attr] = x
        return cls(**kwargs)


#: The label of a measurement without sub-counters (``noLabel: true``).
NO_LABEL: Final = MeasurementLabel(no_label=True)

MeasType = str | int  # measName or measID


def _meas_type_to_asn1(meas_type: MeasType) -> tuple[str, Any]:
    if isinstance(meas_type, str):
        return ("measName", meas_type)
    if type(meas_type) is int:
        return ("measID", meas_type)
    raise InputError(f"a measurement type is a name (str) or an ID (int), got {meas_type!r}")


def _meas_type_from_asn1(value: tuple[str, Any]) -> MeasType:
    kind, v = value
    if kind not in ("measName", "measID"):
        raise DecodeError(f"unsupported MeasurementType alternative {kind!r}")
    return v


@dataclass(frozen=True)
class MeasInfo:
    """MeasurementInfoItem: a measurement type and the labels it is reported for."""

    meas_type: MeasType
    labels: tuple[MeasurementLabel, ...] = (NO_LABEL,)

    def __post_init__(self) -> None:
        _set(self, "labels", _tuple(self.labels))

    def to_asn1(self) -> dict[str, Any]:
        return {
            "measType": _meas_type_to_asn1(self.meas_type),
            "labelInfoList": [{"measLabel": label.to_asn1()} for label in self.labels],
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MeasInfo:
        return cls(
            _meas_type_from_asn1(value["measType"]),
            tuple(MeasurementLabel.from_asn1(i["measLabel"]) for i in value["labelInfoList"]),
        )


def _meas_infos(items: Iterable[MeasInfo | MeasType]) -> tuple[MeasInfo, ...]:
    return tuple(i if isinstance(i, MeasInfo) else MeasInfo(i) for i in items)


@dataclass(frozen=True)
class BinRange:
    """BinRangeItem: bin ``index`` covers ``start`` .. ``end`` (int or float)."""

    index: int
    start: int | float
    end: int | float

    def to_asn1(self) -> dict[str, Any]:
        return {
            "binIndex": self.index,
            "startValue": _bin_value(self.start),
            "endValue": _bin_value(self.end),
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> BinRange:
        return cls(value["binIndex"], value["startValue"][1], value["endValue"][1])


def _bin_value(x: int | float) -> tuple[str, int | float]:
    if type(x) is int:
        return ("valueInt", x)
    if type(x) is float:
        return ("valueReal", x)
    raise InputError(f"a bin range value is an int or a float, got {x!r}")


@dataclass(frozen=True)
class BinRangeDefinition:
    """BinRangeDefinition: bins along X and optionally Y and Z."""

    x: tuple[BinRange, ...]
    y: tuple[BinRange, ...] = ()
    z: tuple[BinRange, ...] = ()

    def __post_init__(self) -> None:
        for name in ("x", "y", "z"):
            _set(self, name, _tuple(getattr(self, name)))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"binRangeListX": [b.to_asn1() for b in self.x]}
        if self.y:
            v["binRangeListY"] = [b.to_asn1() for b in self.y]
        if self.z:
            v["binRangeListZ"] = [b.to_asn1() for b in self.z]
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> BinRangeDefinition:
        def bins(name: str) -> tuple[BinRange, ...]:
            return tuple(BinRange.from_asn1(b) for b in value.get(name, ()))

        return cls(bins("binRangeListX"), bins("binRangeListY"), bins("binRangeListZ"))


@dataclass(frozen=True)
class DistMeasBinRange:
    """DistMeasurementBinRangeItem: the bins of a distribution measurement."""

    meas_type: MeasType
    bins: BinRangeDefinition

    def to_asn1(self) -> dict[str, Any]:
        return {"measType": _meas_type_to_asn1(self.meas_type), "binRangeDef": self.bins.to_asn1()}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> DistMeasBinRange:
        return cls(
            _meas_type_from_asn1(value["measType"]),
            BinRangeDefinition.from_asn1(value["binRangeDef"]),
        )


TEST_TYPES: Final = (
    "gBR",
    "aMBR",
    "isStat",
    "isCatM",
    "rSRP",
    "rSRQ",
    "ul-rSRP",
    "cQI",
    "fiveQI",
    "qCI",
    "sNSSAI",
)


@dataclass(frozen=True)
class TestCondition:
    """TestCondInfo: test ``test_type`` (one of :data:`TEST_TYPES`) with an
    optional ``expression`` (equal, greaterthan, lessthan, contains, present)
    against an optional ``value`` given as a TestCond-Value CHOICE, e.g.
    ``("valueInt", -90)`` or ``("valuePrtS", "slice-a")``.

    ``logical_or`` is only carried where the standard has it (matching UE
    conditions of action definition format 4)."""

    __test__ = False  # not a pytest test class, despite the name

    test_type: str
    expression: str | None = None
    value: tuple[str, Any] | None = None
    logical_or: bool = False

    def to_asn1(self) -> dict[str, Any]:
        if self.test_type not in TEST_TYPES:
            raise InputError(f"unknown test condition type {self.test_type!r}")
        v: dict[str, Any] = {"testType": (self.test_type, "true")}
        if self.expression is not None:
            v["testExpr"] = self.expression
        if self.value is not None:
            v["testValue"] = self.value
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any], logical_or: Any = None) -> TestCondition:
        kind, flag = value["testType"]
        if kind is None or flag is None:
            raise DecodeError("unknown test condition type")
        expression = value.get("testExpr")
        if "testExpr" in value and expression is None:
            raise DecodeError("unknown test condition expression")
        test_value = value.get("testValue")
        if test_value is not None and test_value[0] is None:
            raise DecodeError("unknown test condition value alternative")
        return cls(kind, expression, test_value, logical_or == "true")


@dataclass(frozen=True)
class MatchingCondition:
    """MatchingCondItem: a label or a test condition, optionally OR-ed with
    the next condition (they are AND-ed otherwise)."""

    label: MeasurementLabel | None = None
    test: TestCondition | None = None
    logical_or: bool = False

    def to_asn1(self) -> dict[str, Any]:
        if (self.label is None) == (self.test is None):
            raise InputError("a matching condition holds exactly one of label and test")
        choice = (
            ("measLabel", self.label.to_asn1())
            if self.label is not None
            else ("testCondInfo", self.test.to_asn1())  # type: ignore[union-attr]
        )
        v: dict[str, Any] = {"matchingCondChoice": choice}
        if self.logical_or:
            v["logicalOR"] = "true"
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MatchingCondition:
        kind, inner = value["matchingCondChoice"]
        logical_or = value.get("logicalOR") == "true"
        if kind == "measLabel":
            return cls(label=MeasurementLabel.from_asn1(inner), logical_or=logical_or)
        if kind == "testCondInfo":
            return cls(test=TestCondition.from_asn1(inner), logical_or=logical_or)
        raise DecodeError(f"unsupported MatchingCondItem alternative {kind!r}")


@dataclass(frozen=True)
class MeasCondition:
    """MeasurementCondItem: a measurement type and the conditions on it."""

    meas_type: MeasType
    conditions: tuple[MatchingCondition, ...]
    bin_range: BinRangeDefinition | None = None

    def __post_init__(self) -> None:
        _set(self, "conditions", _tuple(self.conditions))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "measType": _meas_type_to_asn1(self.meas_type),
            "matchingCond": [c.to_asn1() for c in self.conditions],
        }
        if self.bin_range is not None:
            v["binRangeDef"] = self.bin_range.to_asn1()
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MeasCondition:
        return cls(
            _meas_type_from_asn1(value["measType"]),
            tuple(MatchingCondition.from_asn1(c) for c in value["matchingCond"]),
            BinRangeDefinition.from_asn1(value["binRangeDef"]) if "binRangeDef" in value else None,
        )


# ===========================================================================
# Event trigger definition
# ===========================================================================


@dataclass(frozen=True)
class KpmEventTrigger:
    """Event trigger definition format 1: report every ``period_ms`` milliseconds."""

    period_ms: int

    def __post_init__(self) -> None:
        _int(self.period_ms, "reporting period (ms)", 1, 0xFFFFFFFF)

    def to_asn1(self) -> dict[str, Any]:
        return {
            "eventDefinition-formats": (
                "eventDefinition-Format1",
                {"reportingPeriod": self.period_ms},
            )
        }

    def encode(self) -> bytes:
        return _encode(SERVICE_MODEL.event_trigger_type, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmEventTrigger:
        value = _decode(SERVICE_MODEL.event_trigger_type, data)

        def convert(value: Any) -> KpmEventTrigger:
            kind, inner = value["eventDefinition-formats"]
            if kind != "eventDefinition-Format1":
                raise DecodeError(f"unsupported event trigger format {kind!r}")
            return cls(inner["reportingPeriod"])

        return _convert(convert, value, "E2SM-KPM event trigger")


# ===========================================================================
# Action definitions
# ===========================================================================


@dataclass(frozen=True)
class KpmActionDefinitionFormat1:
    """Action definition format 1 (style 1, E2 node measurement): report
    ``meas`` (names, IDs or :class:`MeasInfo`) every ``granul_period_ms``,
    optionally for one cell only.

    Nested inside formats 2, 4 and 5 as their subscription info, where
    ``style`` is ignored.
    """

    meas: tuple[MeasInfo, ...]
    granul_period_ms: int
    cell_global_id: Cgi | None = None
    dist_meas_bin_ranges: tuple[DistMeasBinRange, ...] = ()
    style: int = 1

    def __post_init__(self) -> None:
        _set(self, "meas", _meas_infos(self.meas))
        _set(self, "dist_meas_bin_ranges", _tuple(self.dist_meas_bin_ranges))
        _int(self.granul_period_ms, "granularity period (ms)", 1, 0xFFFFFFFF)

    @property
    def meas_names(self) -> tuple[MeasType, ...]:
        return tuple(m.meas_type for m in self.meas)

    def format_to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "measInfoList": [m.to_asn1() for m in self.meas],
            "granulPeriod": self.granul_period_ms,
        }
        if self.cell_global_id is not None:
            v["cellGlobalID"] = cgi_to_asn1(self.cell_global_id)
        if self.dist_meas_bin_ranges:
            v["distMeasBinRangeInfo"] = [d.to_asn1() for d in self.dist_meas_bin_ranges]
        return v

    @classmethod
    def format_from_asn1(
        cls, value: Mapping[str, Any], style: int = 1
    ) -> KpmActionDefinitionFormat1:
        return cls(
            tuple(MeasInfo.from_asn1(m) for m in value["measInfoList"]),
            value["granulPeriod"],
            cgi_from_asn1(value["cellGlobalID"]) if "cellGlobalID" in value else None,
            tuple(DistMeasBinRange.from_asn1(d) for d in value.get("distMeasBinRangeInfo", ())),
            style,
        )

    def encode(self) -> bytes:
        return _encode_action(self.style, "actionDefinition-Format1", self.format_to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmActionDefinitionFormat1:
        return _expect(decode_action_definition(data), cls)


@dataclass(frozen=True)
class KpmActionDefinitionFormat2:
    """Action definition format 2 (style 2): the measurements of one UE."""

    ue_id: UeId
    subscription: KpmActionDefinitionFormat1
    style: int = 2

    def format_to_asn1(self) -> dict[str, Any]:
        return {
            "ueID": ue_id_to_asn1(self.ue_id),
            "subscriptInfo": self.subscription.format_to_asn1(),
        }

    @classmethod
    def format_from_asn1(
        cls, value: Mapping[str, Any], style: int = 2
    ) -> KpmActionDefinitionFormat2:
        return cls(
            ue_id_from_asn1(value["ueID"]),
            KpmActionDefinitionFormat1.format_from_asn1(value["subscriptInfo"]),
            style,
        )

    def encode(self) -> bytes:
        return _encode_action(self.style, "actionDefinition-Format2", self.format_to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmActionDefinitionFormat2:
        return _expect(decode_action_definition(data), cls)


@dataclass(frozen=True)
class KpmActionDefinitionFormat3:
    """Action definition format 3 (style 3): condition-based, UE-level
    measurements (each measurement for the UEs matching its conditions)."""

    conditions: tuple[MeasCondition, ...]
    granul_period_ms: int
    cell_global_id: Cgi | None = None
    style: int = 3

    def __post_init__(self) -> None:
        _set(self, "conditions", _tuple(self.conditions))
        _int(self.granul_period_ms, "granularity period (ms)", 1, 0xFFFFFFFF)

    def format_to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "measCondList": [c.to_asn1() for c in self.conditions],
            "granulPeriod": self.granul_period_ms,
        }
        if self.cell_global_id is not None:
            v["cellGlobalID"] = cgi_to_asn1(self.cell_global_id)
        return v

    @classmethod
    def format_from_asn1(
        cls, value: Mapping[str, Any], style: int = 3
    ) -> KpmActionDefinitionFormat3:
        return cls(
            tuple(MeasCondition.from_asn1(c) for c in value["measCondList"]),
            value["granulPeriod"],
            cgi_from_asn1(value["cellGlobalID"]) if "cellGlobalID" in value else None,
            style,
        )

    def encode(self) -> bytes:
        return _encode_action(self.style, "actionDefinition-Format3", self.format_to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmActionDefinitionFormat3:
        return _expect(decode_action_definition(data), cls)


@dataclass(frozen=True)
class KpmActionDefinitionFormat4:
    """Action definition format 4 (style 4): the measurements of every UE
    that matches the common conditions, reported per UE (message format 3)."""

    matching_ue_conditions: tuple[TestCondition, ...]
    subscription: KpmActionDefinitionFormat1
    style: int = 4

    def __post_init__(self) -> None:
        _set(self, "matching_ue_conditions", _tuple(self.matching_ue_conditions))

    def format_to_asn1(self) -> dict[str, Any]:
        conds = []
        for c in self.matching_ue_conditions:
            item: dict[str, Any] = {"testCondInfo": c.to_asn1()}
            if c.logical_or:
                item["logicalOR"] = "true"
            conds.append(item)
        return {"matchingUeCondList": conds, "subscriptionInfo": self.subscription.format_to_asn1()}

    @classmethod
    def format_from_asn1(
        cls, value: Mapping[str, Any], style: int = 4
    ) -> KpmActionDefinitionFormat4:
        return cls(
            tuple(
                TestCondition.from_asn1(c["testCondInfo"], c.get("logicalOR"))
                for c in value["matchingUeCondList"]
            ),
            KpmActionDefinitionFormat1.format_from_asn1(value["subscriptionInfo"]),
            style,
        )

    def encode(self) -> bytes:
        return _encode_action(self.style, "actionDefinition-Format4", self.format_to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmActionDefinitionFormat4:
        return _expect(decode_action_definition(data), cls)


@dataclass(frozen=True)
class KpmActionDefinitionFormat5:
    """Action definition format 5 (style 5): the measurements of a list of
    (at least two) UEs, reported per UE (message format 3)."""

    ue_ids: tuple[UeId, ...]
    subscription: KpmActionDefinitionFormat1
    style: int = 5

    def __post_init__(self) -> None:
        _set(self, "ue_ids", _tuple(self.ue_ids))

    def format_to_asn1(self) -> dict[str, Any]:
        return {
            "matchingUEidList": [{"ueID": ue_id_to_asn1(u)} for u in self.ue_ids],
            "subscriptionInfo": self.subscription.format_to_asn1(),
        }

    @classmethod
    def format_from_asn1(
        cls, value: Mapping[str, Any], style: int = 5
    ) -> KpmActionDefinitionFormat5:
        return cls(
            tuple(ue_id_from_asn1(u["ueID"]) for u in value["matchingUEidList"]),
            KpmActionDefinitionFormat1.format_from_asn1(value["subscriptionInfo"]),
            style,
        )

    def encode(self) -> bytes:
        return _encode_action(self.style, "actionDefinition-Format5", self.format_to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmActionDefinitionFormat5:
        return _expect(decode_action_definition(data), cls)


KpmActionDefinition = (
    KpmActionDefinitionFormat1
    | KpmActionDefinitionFormat2
    | KpmActionDefinitionFormat3
    | KpmActionDefinitionFormat4
    | KpmActionDefinitionFormat5
)

_ACTION_FORMATS: Final[dict[str, Any]] = {
    "actionDefinition-Format1": KpmActionDefinitionFormat1,
    "actionDefinition-Format2": KpmActionDefinitionFormat2,
    "actionDefinition-Format3": KpmActionDefinitionFormat3,
    "actionDefinition-Format4": KpmActionDefinitionFormat4,
    "actionDefinition-Format5": KpmActionDefinitionFormat5,
}


def _encode_action(style: int, fmt: str, inner: dict[str, Any]) -> bytes:
    _int(style, "RIC style type")
    value = {"ric-Style-Type": style, "actionDefinition-formats": (fmt, inner)}
    return _encode(SERVICE_MODEL.action_definition_type, value)


def decode_action_definition(data: bytes) -> KpmActionDefinition:
    """Decode an E2SM-KPM action definition of any format."""
    value = _decode(SERVICE_MODEL.action_definition_type, data)

    def convert(value: Any) -> KpmActionDefinition:
        kind, inner = value["actionDefinition-formats"]
        cls = _ACTION_FORMATS.get(kind)
        if cls is None:
            raise DecodeError(f"unsupported action definition format {kind!r}")
        return cls.format_from_asn1(inner, value["ric-Style-Type"])

    return _convert(convert, value, "E2SM-KPM action definition")


def _expect(value: object, cls: type[_T]) -> _T:
    if not isinstance(value, cls):
        raise DecodeError(f"expected {cls.__name__}, got {type(value).__name__}")
    return value


# ===========================================================================
# Indication header
# ===========================================================================

_NTP_UNIX_OFFSET: Final = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


@dataclass(frozen=True)
class KpmIndicationHeader:
    """Indication header format 1.

    ``collect_start_time`` is the 8-octet ``colletStartTime`` as a 64-bit
    unsigned integer, read as NTP time: see :meth:`at` and :attr:`unix_time`.
    """

    collect_start_time: int
    file_format_version: str | None = None
    sender_name: str | None = None
    sender_type: str | None = None
    vendor_name: str | None = None

    def __post_init__(self) -> None:
        _int(self.collect_start_time, "collection start time", 0, (1 << 64) - 1)
        # An empty string is sent as an absent one: after a zero length,
        # asn1c-based peers expect padding to the octet boundary and
        # asn1tools writes none, so "" is the one value that would not
        # interoperate.
        for attr, _ in _HEADER_FIELDS:
            if getattr(self, attr) == "":
                _set(self, attr, None)

    @classmethod
    def at(cls, unix_time: float, **kwargs: Any) -> KpmIndicationHeader:
        """A header whose collection started at ``unix_time`` (seconds since 1970)."""
        if not math.isfinite(unix_time) or unix_time < -_NTP_UNIX_OFFSET:
            raise InputError(f"bad collection start time {unix_time!r}")
        ntp = unix_time + _NTP_UNIX_OFFSET
        seconds = int(ntp)
        fraction = int((ntp - seconds) * (1 << 32))
        return cls(((seconds & 0xFFFFFFFF) << 32) | fraction, **kwargs)

    @property
    def unix_time(self) -> float:
        """The collection start time in seconds since 1970 (NTP era 0)."""
        seconds = self.collect_start_time >> 32
        fraction = self.collect_start_time & 0xFFFFFFFF
        return seconds - _NTP_UNIX_OFFSET + fraction / (1 << 32)

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"colletStartTime": self.collect_start_time.to_bytes(8, "big")}
        for attr, name in _HEADER_FIELDS:
            x = getattr(self, attr)
            if x is not None:
                v[name] = x
        return {"indicationHeader-formats": ("indicationHeader-Format1", v)}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> KpmIndicationHeader:
        def convert(value: Mapping[str, Any]) -> KpmIndicationHeader:
            kind, inner = value["indicationHeader-formats"]
            if kind != "indicationHeader-Format1":
                raise DecodeError(f"unsupported indication header format {kind!r}")
            return cls(
                int.from_bytes(inner["colletStartTime"], "big"),
                **{attr: inner.get(name) for attr, name in _HEADER_FIELDS},
            )

        return _convert(convert, value, "E2SM-KPM indication header")

    def encode(self) -> bytes:
        return kpm_fast.encode_header(self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmIndicationHeader:
        return cls.from_asn1(kpm_fast.decode_header(data))


_HEADER_FIELDS: Final = (
    ("file_format_version", "fileFormatversion"),
    ("sender_name", "senderName"),
    ("sender_type", "senderType"),
    ("vendor_name", "vendorName"),
)


# ===========================================================================
# Indication messages
# ===========================================================================

#: A measurement value: an integer, a real, or None (noValue).
RecordValue = int | float | None


def _record_to_asn1(record: Sequence[RecordValue]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for x in record:
        if x is None:
            out.append(("noValue", None))
        elif type(x) is int:
            out.append(("integer", x))
        elif type(x) is float:
            out.append(("real", x))
        else:
            raise InputError(f"a measurement value is an int, a float or None, got {x!r}")
    return out


def _record_from_asn1(record: Sequence[tuple[str, Any]]) -> tuple[RecordValue, ...]:
    out: list[RecordValue] = []
    for kind, x in record:
        if kind not in ("integer", "real", "noValue"):
            raise DecodeError(f"unsupported MeasurementRecordItem alternative {kind!r}")
        out.append(x)
    return tuple(out)


def _records(records: Iterable[Iterable[RecordValue]]) -> tuple[tuple[RecordValue, ...], ...]:
    return tuple(tuple(r) for r in records)


def _meas_data_to_asn1(
    records: Sequence[Sequence[RecordValue]], incomplete: Sequence[bool] | None
) -> list[dict[str, Any]]:
    if incomplete is not None and len(incomplete) != len(records):
        raise InputError(f"{len(incomplete)} incomplete flags for {len(records)} records")
    data = []
    for i, record in enumerate(records):
        item: dict[str, Any] = {"measRecord": _record_to_asn1(record)}
        if incomplete is not None and incomplete[i]:
            item["incompleteFlag"] = "true"
        data.append(item)
    return data


def _meas_data_from_asn1(
    data: Sequence[Mapping[str, Any]],
) -> tuple[tuple[tuple[RecordValue, ...], ...], tuple[bool, ...] | None]:
    records = tuple(_record_from_asn1(d["measRecord"]) for d in data)
    flags = tuple("incompleteFlag" in d for d in data)
    for d in data:
        if "incompleteFlag" in d and d["incompleteFlag"] is None:
            raise DecodeError("unknown extension value of incompleteFlag")
    return records, (flags if any(flags) else None)


@functools.lru_cache(maxsize=1024)
def _frozen_info_list(
    names: tuple[MeasType, ...], labels: tuple[tuple[MeasurementLabel, ...], ...] | None
) -> kpm_fast.FrozenInfoList:
    """One shared measInfoList value per distinct list of names and labels (the fast
    encoder keeps its encoding); never mutated."""
    labels = labels or ((NO_LABEL,),) * len(names)
    return kpm_fast.FrozenInfoList(
        MeasInfo(n, ls).to_asn1() for n, ls in zip(names, labels, strict=True)
    )


@dataclass(frozen=True)
class KpmIndicationMessageFormat1:
    """Indication message format 1: ``records`` of values, one value per
    measurement type (and label) in the order of ``meas_names``.

    ``labels`` gives the labels of each measurement type (default: no label);
    ``incomplete`` flags records that the node could not complete.
    """

    records: tuple[tuple[RecordValue, ...], ...]
    meas_names: tuple[MeasType, ...] | None = None
    granul_period_ms: int | None = None
    labels: tuple[tuple[MeasurementLabel, ...], ...] | None = None
    incomplete: tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        _set(self, "records", _records(self.records))
        if self.meas_names is not None:
            _set(self, "meas_names", tuple(self.meas_names))
        if self.labels is not None:
            _set(self, "labels", tuple(tuple(x) for x in self.labels))
            if self.meas_names is None or len(self.labels) != len(self.meas_names):
                raise InputError("labels must give one tuple of labels per measurement name")
        if self.incomplete is not None:
            _set(self, "incomplete", tuple(bool(x) for x in self.incomplete))
        _opt_int(self.granul_period_ms, "granularity period (ms)", 1, 0xFFFFFFFF)

    @property
    def meas_info(self) -> tuple[MeasInfo, ...] | None:
        if self.meas_names is None:
            return None
        labels = self.labels or ((NO_LABEL,),) * len(self.meas_names)
        return tuple(MeasInfo(n, ls) for n, ls in zip(self.meas_names, labels, strict=True))

    def rows(self) -> list[dict[MeasType, RecordValue]]:
        """Each record as a mapping from measurement name to value (needs
        ``meas_names`` and one value per name, i.e. no labels split)."""
        if self.meas_names is None:
            raise InputError("the message carries no measurement names")
        return [dict(zip(self.meas_names, r, strict=True)) for r in self.records]

    def format_to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"measData": _meas_data_to_asn1(self.records, self.incomplete)}
        if self.meas_names is not None:
            v["measInfoList"] = _frozen_info_list(self.meas_names, self.labels)
        if self.granul_period_ms is not None:
            v["granulPeriod"] = self.granul_period_ms
        return v

    @classmethod
    def format_from_asn1(cls, value: Mapping[str, Any]) -> KpmIndicationMessageFormat1:
        records, incomplete = _meas_data_from_asn1(value["measData"])
        names = labels = None
        if "measInfoList" in value:
            infos = [MeasInfo.from_asn1(m) for m in value["measInfoList"]]
            names = tuple(m.meas_type for m in infos)
            if any(m.labels != (NO_LABEL,) for m in infos):
                labels = tuple(m.labels for m in infos)
        return cls(records, names, value.get("granulPeriod"), labels, incomplete)

    def to_asn1(self) -> dict[str, Any]:
        return {"indicationMessage-formats": ("indicationMessage-Format1", self.format_to_asn1())}

    def encode(self) -> bytes:
        return kpm_fast.encode_message(self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmIndicationMessageFormat1:
        return _expect(decode_indication_message(data), cls)


@dataclass(frozen=True)
class MeasCondUeId:
    """MeasurementCondUEidItem: a measurement type, its matching conditions,
    and the UEs that matched (overall and per granularity period; a None
    entry in ``matching_ue_ids_per_period`` means no UE matched)."""

    meas_type: MeasType
    conditions: tuple[MatchingCondition, ...]
    matching_ue_ids: tuple[UeId, ...] = ()
    matching_ue_ids_per_period: tuple[tuple[UeId, ...] | None, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "conditions", _tuple(self.conditions))
        _set(self, "matching_ue_ids", _tuple(self.matching_ue_ids))
        _set(
            self,
            "matching_ue_ids_per_period",
            tuple(None if p is None else tuple(p) for p in self.matching_ue_ids_per_period),
        )

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "measType": _meas_type_to_asn1(self.meas_type),
            "matchingCond": [c.to_asn1() for c in self.conditions],
        }
        if self.matching_ue_ids:
            v["matchingUEidList"] = [{"ueID": ue_id_to_asn1(u)} for u in self.matching_ue_ids]
        if self.matching_ue_ids_per_period:
            v["matchingUEidPerGP"] = [
                {
                    "matchedPerGP": ("noUEmatched", "true")
                    if p is None
                    else ("oneOrMoreUEmatched", [{"ueID": ue_id_to_asn1(u)} for u in p])
                }
                for p in self.matching_ue_ids_per_period
            ]
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MeasCondUeId:
        per_period: list[tuple[UeId, ...] | None] = []
        for item in value.get("matchingUEidPerGP", ()):
            kind, inner = item["matchedPerGP"]
            if kind == "noUEmatched":
                per_period.append(None)
            elif kind == "oneOrMoreUEmatched":
                per_period.append(tuple(ue_id_from_asn1(u["ueID"]) for u in inner))
            else:
                raise DecodeError(f"unsupported matchedPerGP alternative {kind!r}")
        return cls(
            _meas_type_from_asn1(value["measType"]),
            tuple(MatchingCondition.from_asn1(c) for c in value["matchingCond"]),
            tuple(ue_id_from_asn1(u["ueID"]) for u in value.get("matchingUEidList", ())),
            tuple(per_period),
        )


@dataclass(frozen=True)
class KpmIndicationMessageFormat2:
    """Indication message format 2 (condition-based UE-level measurements)."""

    records: tuple[tuple[RecordValue, ...], ...]
    conditions: tuple[MeasCondUeId, ...]
    granul_period_ms: int | None = None
    incomplete: tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        _set(self, "records", _records(self.records))
        _set(self, "conditions", _tuple(self.conditions))
        if self.incomplete is not None:
            _set(self, "incomplete", tuple(bool(x) for x in self.incomplete))

    def format_to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "measData": _meas_data_to_asn1(self.records, self.incomplete),
            "measCondUEidList": [c.to_asn1() for c in self.conditions],
        }
        if self.granul_period_ms is not None:
            v["granulPeriod"] = self.granul_period_ms
        return v

    @classmethod
    def format_from_asn1(cls, value: Mapping[str, Any]) -> KpmIndicationMessageFormat2:
        records, incomplete = _meas_data_from_asn1(value["measData"])
        return cls(
            records,
            tuple(MeasCondUeId.from_asn1(c) for c in value["measCondUEidList"]),
            value.get("granulPeriod"),
            incomplete,
        )

    def to_asn1(self) -> dict[str, Any]:
        return {"indicationMessage-formats": ("indicationMessage-Format2", self.format_to_asn1())}

    def encode(self) -> bytes:
        return kpm_fast.encode_message(self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmIndicationMessageFormat2:
        return _expect(decode_indication_message(data), cls)


@dataclass(frozen=True)
class UeMeasReport:
    """UEMeasurementReportItem: one UE's format-1 report."""

    ue_id: UeId
    report: KpmIndicationMessageFormat1


@dataclass(frozen=True)
class KpmIndicationMessageFormat3:
    """Indication message format 3: a format-1 report per UE."""

    reports: tuple[UeMeasReport, ...]

    def __post_init__(self) -> None:
        _set(self, "reports", _tuple(self.reports))

    def format_to_asn1(self) -> dict[str, Any]:
        return {
            "ueMeasReportList": [
                {"ueID": ue_id_to_asn1(r.ue_id), "measReport": r.report.format_to_asn1()}
                for r in self.reports
            ]
        }

    @classmethod
    def format_from_asn1(cls, value: Mapping[str, Any]) -> KpmIndicationMessageFormat3:
        return cls(
            tuple(
                UeMeasReport(
                    ue_id_from_asn1(r["ueID"]),
                    KpmIndicationMessageFormat1.format_from_asn1(r["measReport"]),
                )
                for r in value["ueMeasReportList"]
            )
        )

    def to_asn1(self) -> dict[str, Any]:
        return {"indicationMessage-formats": ("indicationMessage-Format3", self.format_to_asn1())}

    def encode(self) -> bytes:
        return kpm_fast.encode_message(self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmIndicationMessageFormat3:
        return _expect(decode_indication_message(data), cls)


KpmIndicationMessage = (
    KpmIndicationMessageFormat1 | KpmIndicationMessageFormat2 | KpmIndicationMessageFormat3
)

_MESSAGE_FORMATS: Final[dict[str, Any]] = {
    "indicationMessage-Format1": KpmIndicationMessageFormat1,
    "indicationMessage-Format2": KpmIndicationMessageFormat2,
    "indicationMessage-Format3": KpmIndicationMessageFormat3,
}


def indication_message_from_asn1(value: Mapping[str, Any]) -> KpmIndicationMessage:
    def convert(value: Mapping[str, Any]) -> KpmIndicationMessage:
        kind, inner = value["indicationMessage-formats"]
        cls = _MESSAGE_FORMATS.get(kind)
        if cls is None:
            raise DecodeError(f"unsupported indication message format {kind!r}")
        return cls.format_from_asn1(inner)

    return _convert(convert, value, "E2SM-KPM indication message")


def decode_indication_message(data: bytes) -> KpmIndicationMessage:
    """Decode an E2SM-KPM indication message of any format (fast path for 1 and 3)."""
    return indication_message_from_asn1(kpm_fast.decode_message(data))


# ===========================================================================
# RAN function definition
# ===========================================================================


@dataclass(frozen=True)
class MeasActionItem:
    """MeasurementInfo-Action-Item: a measurement the node can report."""

    name: str
    meas_id: int | None = None
    bin_range: BinRangeDefinition | None = None

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"measName": self.name}
        if self.meas_id is not None:
            v["measID"] = self.meas_id
        if self.bin_range is not None:
            v["binRangeDef"] = self.bin_range.to_asn1()
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> MeasActionItem:
        return cls(
            value["measName"],
            value.get("measID"),
            BinRangeDefinition.from_asn1(value["binRangeDef"]) if "binRangeDef" in value else None,
        )


@dataclass(frozen=True)
class ReportStyle:
    """RIC-ReportStyle-Item: a REPORT style, its formats and measurements."""

    style: int
    name: str
    action_format: int
    meas: tuple[MeasActionItem, ...]
    header_format: int = 1
    message_format: int = 1

    def __post_init__(self) -> None:
        _set(
            self,
            "meas",
            tuple(m if isinstance(m, MeasActionItem) else MeasActionItem(m) for m in self.meas),
        )

    def to_asn1(self) -> dict[str, Any]:
        return {
            "ric-ReportStyle-Type": self.style,
            "ric-ReportStyle-Name": self.name,
            "ric-ActionFormat-Type": self.action_format,
            "measInfo-Action-List": [m.to_asn1() for m in self.meas],
            "ric-IndicationHeaderFormat-Type": self.header_format,
            "ric-IndicationMessageFormat-Type": self.message_format,
        }

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> ReportStyle:
        return cls(
            value["ric-ReportStyle-Type"],
            value["ric-ReportStyle-Name"],
            value["ric-ActionFormat-Type"],
            tuple(MeasActionItem.from_asn1(m) for m in value["measInfo-Action-List"]),
            value["ric-IndicationHeaderFormat-Type"],
            value["ric-IndicationMessageFormat-Type"],
        )


# The five REPORT styles of E2SM-KPM v03.00: (style, name,
# action definition format, indication message format).
_STANDARD_REPORT_STYLES: Final = (
    (1, "E2 Node Measurement", 1, 1),
    (2, "E2 Node Measurement for a single UE", 2, 1),
    (3, "Condition-based, UE-level E2 Node Measurement", 3, 2),
    (4, "Common Condition-based, UE-level Measurement", 4, 3),
    (5, "E2 Node Measurement for multiple UEs", 5, 3),
)


@dataclass(frozen=True)
class KpmRanFunctionDefinition:
    """E2SM-KPM-RANfunction-Description (what an E2 node offers)."""

    name: RanFunctionName
    event_trigger_styles: tuple[EventTriggerStyle, ...] = ()
    report_styles: tuple[ReportStyle, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "event_trigger_styles", _tuple(self.event_trigger_styles))
        _set(self, "report_styles", _tuple(self.report_styles))

    @classmethod
    def standard(
        cls,
        meas_names: Iterable[str],
        *,
        styles: Iterable[int] = (1, 2, 3, 4, 5),
        description: str = "KPM Monitor",
        instance: int | None = None,
    ) -> KpmRanFunctionDefinition:
        """A definition offering periodic reporting of ``meas_names`` in the
        given standard REPORT ``styles``."""
        wanted = set(styles)
        meas = tuple(MeasActionItem(n) for n in meas_names)
        return cls(
            RanFunctionName(SHORT_NAME, OID, description, instance),
            (EventTriggerStyle(1, "Periodic Report", 1),),
            tuple(
                ReportStyle(style, name, action_fmt, meas, 1, message_fmt)
                for style, name, action_fmt, message_fmt in _STANDARD_REPORT_STYLES
                if style in wanted
            ),
        )

    def report_style(self, style: int) -> ReportStyle | None:
        return next((s for s in self.report_styles if s.style == style), None)

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ranFunction-Name": self.name.to_asn1()}
        if self.event_trigger_styles:
            v["ric-EventTriggerStyle-List"] = [s.to_asn1() for s in self.event_trigger_styles]
        if self.report_styles:
            v["ric-ReportStyle-List"] = [s.to_asn1() for s in self.report_styles]
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> KpmRanFunctionDefinition:
        def convert(value: Mapping[str, Any]) -> KpmRanFunctionDefinition:
            return cls(
                RanFunctionName.from_asn1(value["ranFunction-Name"]),
                tuple(
                    EventTriggerStyle.from_asn1(s)
                    for s in value.get("ric-EventTriggerStyle-List", ())
                ),
                tuple(ReportStyle.from_asn1(s) for s in value.get("ric-ReportStyle-List", ())),
            )

        return _convert(convert, value, "E2SM-KPM RAN function definition")

    def encode(self) -> bytes:
        return _encode(SERVICE_MODEL.ran_function_definition_type, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> KpmRanFunctionDefinition:
        return cls.from_asn1(_decode(SERVICE_MODEL.ran_function_definition_type, data))
