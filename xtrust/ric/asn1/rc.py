"""E2SM-RC v1.03 (O-RAN.WG3.E2SM-RC-v01.03): typed control messages.

The ASN.1 module is ``e2sm_rc.asn`` next to this file (the whole RC module:
event triggers, action definitions, indications, call process ID, control
header/message/outcome, RAN function definition). The typed API covers what
XTRUST sends and reads:

* :class:`RcControlHeader` (format 1), :class:`RcControlMessage` (format 1)
  and :class:`RcControlOutcome` (format 1);
* RAN parameters as a tree of :class:`Element`, :class:`Structure` and
  :class:`ParamList` (``RANParameter-ValueType`` and friends are recursive:
  a STRUCTURE holds items that may again be STRUCTUREs or LISTs, and a LIST
  holds STRUCTUREs);
* :class:`RcRanFunctionDefinition` with its event trigger, REPORT, INSERT,
  CONTROL and POLICY style lists;
* two builders, :func:`handover_control` and :func:`ue_release`.

Service model identity: short name ``ORAN-E2SM-RC``, OID
``1.3.6.1.4.1.53148.1.1.2.3`` (the module identifier ``{... oran(53148)
e2(1) version1(1) e2sm(2) e2sm-RC-IEs(3)}``, also what srsRAN, OAI/FlexRIC
and ONOS register).

Handover (:func:`handover_control`)
    CONTROL service style 3 "Connected Mode Mobility Control", control action
    1 "Handover Control" (E2SM-RC 7.6.4.1), RAN parameters of clause 8.4.4.1::

        1  Target Primary Cell ID           STRUCTURE
        2  > CHOICE Target Cell             STRUCTURE (one alternative present)
        3  >> NR Cell                       STRUCTURE
        4  >>> NR CGI                       ELEMENT
        5  >> E-UTRA Cell                   STRUCTURE
        6  >>> E-UTRA CGI                   ELEMENT
        7  List of PDU sessions for handover    LIST      (IDs 7-12, not sent)
        13 List of DRBs for handover            LIST      (IDs 13-18, not sent)
        19 List of Secondary cells to be setup  LIST      (IDs 19-21, not sent)

    A RANParameter-Value cannot hold a SEQUENCE, so the NR CGI (E-UTRA CGI)
    ELEMENT carries the aligned-PER encoding of the E2SM ``NR-CGI``
    (``EUTRA-CGI``) type as ``valueOctS``, with the key flag false
    (``ranP-Choice-ElementFalse``). The O-RAN SC RC xApp carries the NR CGI
    the same way (``valueOctS``, with an aligned-PER NR-CGI encoder for it);
    other implementations have put other octets there, so
    :func:`handover_target` reports what it cannot read.

UE release (:func:`ue_release`)
    E2SM-RC has no "release this UE" action as such. The closest standard
    action is in CONTROL service style 4 "Radio Access Control": control
    action 4 "RRC Connection Release" (E2SM-RC 7.6.5), which makes the node
    send the UE an RRC release. XTRUST uses style 4 / action 4 with an empty
    RAN parameter list by default (the ``ranP-List`` of control message
    format 1 has SIZE (0..65535)); pass ``params`` for the RAN parameters the
    standard lists for that action (clause 8.4.5) that a given node expects.
    The style number (4) matches the style the INSERT service gives "Radio
    Access Control" in RAN function definitions seen in the field; the
    action number (4) comes from the standard's action table and could not
    be cross-checked against a second public source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from xtrust.errors import DecodeError, InputError
from xtrust.ric.asn1 import _spec, kpm_fast
from xtrust.ric.asn1.common import EventTriggerStyle, ServiceModel
from xtrust.ric.asn1.kpm import (
    EutraCgi,
    NrCgi,
    RanFunctionName,
    UeId,
    _convert,
    _int,
    _set,
    _tuple,
    ue_id_from_asn1,
    ue_id_to_asn1,
)

__all__ = [
    "ACTION_HANDOVER",
    "ACTION_RRC_CONNECTION_RELEASE",
    "CONTROL_HEADER_TYPE",
    "CONTROL_MESSAGE_TYPE",
    "CONTROL_OUTCOME_TYPE",
    "HO_CHOICE_TARGET_CELL",
    "HO_EUTRA_CELL",
    "HO_EUTRA_CGI",
    "HO_NR_CELL",
    "HO_NR_CGI",
    "HO_TARGET_PRIMARY_CELL_ID",
    "OID",
    "SERVICE_MODEL",
    "SHORT_NAME",
    "SPEC",
    "STYLE_CONNECTED_MODE_MOBILITY",
    "STYLE_RADIO_ACCESS",
    "BitString",
    "CallProcessBreakpoint",
    "CallProcessType",
    "ControlAction",
    "ControlStyle",
    "Element",
    "EventTriggerDefinition",
    "EventTriggerStyle",
    "InsertIndication",
    "InsertStyle",
    "ParamDef",
    "ParamList",
    "PolicyAction",
    "PolicyStyle",
    "RanParameter",
    "RanValue",
    "RcControlHeader",
    "RcControlMessage",
    "RcControlOutcome",
    "RcRanFunctionDefinition",
    "ReportStyle",
    "Structure",
    "handover_control",
    "handover_target",
    "handover_target_parameter",
    "ran_parameter_from_asn1",
    "ran_parameter_to_asn1",
    "ue_release",
]

SHORT_NAME: Final = "ORAN-E2SM-RC"
OID: Final = "1.3.6.1.4.1.53148.1.1.2.3"
SPEC: Final = "e2sm-rc"

CONTROL_HEADER_TYPE: Final = "E2SM-RC-ControlHeader"
CONTROL_MESSAGE_TYPE: Final = "E2SM-RC-ControlMessage"
CONTROL_OUTCOME_TYPE: Final = "E2SM-RC-ControlOutcome"

SERVICE_MODEL: Final = ServiceModel(
    short_name=SHORT_NAME,
    oid=OID,
    spec=SPEC,
    title="O-RAN E2SM-RC v01.03",
    ran_function_definition_type="E2SM-RC-RANFunctionDefinition",
    event_trigger_type="E2SM-RC-EventTrigger",
    action_definition_type="E2SM-RC-ActionDefinition",
    indication_header_type="E2SM-RC-IndicationHeader",
    indication_message_type="E2SM-RC-IndicationMessage",
    control_header_type=CONTROL_HEADER_TYPE,
    control_message_type=CONTROL_MESSAGE_TYPE,
    control_outcome_type=CONTROL_OUTCOME_TYPE,
    call_process_id_type="E2SM-RC-CallProcessID",
)

#: CONTROL service style 3, "Connected Mode Mobility Control".
STYLE_CONNECTED_MODE_MOBILITY: Final = 3
#: Its control action 1, "Handover Control".
ACTION_HANDOVER: Final = 1
#: CONTROL service style 4, "Radio Access Control".
STYLE_RADIO_ACCESS: Final = 4
#: Its control action 4, "RRC Connection Release".
ACTION_RRC_CONNECTION_RELEASE: Final = 4

# RAN parameter IDs of Handover Control (E2SM-RC 8.4.4.1).
HO_TARGET_PRIMARY_CELL_ID: Final = 1
HO_CHOICE_TARGET_CELL: Final = 2
HO_NR_CELL: Final = 3
HO_NR_CGI: Final = 4
HO_EUTRA_CELL: Final = 5
HO_EUTRA_CGI: Final = 6


def _encode(type_name: str, value: Any) -> bytes:
    return _spec.encode(SPEC, type_name, value)


def _decode(type_name: str, data: bytes) -> Any:
    return _spec.decode(SPEC, type_name, kpm_fast._as_bytes(data))


# ===========================================================================
# RAN parameter values and trees
# ===========================================================================


@dataclass(frozen=True)
class BitString:
    """A BIT STRING value: ``bits`` bits taken from the start of ``data``."""

    data: bytes
    bits: int

    def __post_init__(self) -> None:
        if len(self.data) * 8 < self.bits or self.bits < 0:
            raise InputError(f"{len(self.data)} bytes cannot hold {self.bits} bits")


#: RANParameter-Value: BOOLEAN, INTEGER, REAL, OCTET STRING, PrintableString, BIT STRING.
RanValue = bool | int | float | bytes | str | BitString


def _value_to_asn1(value: RanValue) -> tuple[str, Any]:
    if type(value) is bool:
        return ("valueBoolean", value)
    if type(value) is int:
        return ("valueInt", value)
    if type(value) is float:
        return ("valueReal", value)
    if type(value) is bytes:
        return ("valueOctS", value)
    if type(value) is str:
        return ("valuePrintableString", value)
    if isinstance(value, BitString):
        return ("valueBitS", (value.data, value.bits))
    raise InputError(f"not a RAN parameter value: {value!r}")


def _value_from_asn1(value: tuple[str, Any]) -> RanValue:
    kind, v = value
    if kind == "valueBitS":
        return BitString(bytes(v[0]), v[1])
    if kind in ("valueBoolean", "valueInt", "valueReal", "valueOctS", "valuePrintableString"):
        return v
    raise DecodeError(f"unsupported RANParameter-Value alternative {kind!r}")


@dataclass(frozen=True)
class Element:
    """An ELEMENT RAN parameter. ``key`` marks a key ELEMENT (the entry's
    identity inside a LIST); a key ELEMENT must carry a value."""

    id: int
    value: RanValue | None = None
    key: bool = False

    def __post_init__(self) -> None:
        _int(self.id, "RAN parameter ID")
        if self.key and self.value is None:
            raise InputError(f"key RAN parameter {self.id} needs a value")


@dataclass(frozen=True)
class Structure:
    """A STRUCTURE RAN parameter holding other RAN parameters."""

    id: int
    params: tuple[RanParameter, ...] = ()

    def __post_init__(self) -> None:
        _int(self.id, "RAN parameter ID")
        _set(self, "params", _tuple(self.params))

    def find(self, param_id: int) -> RanParameter | None:
        return next((p for p in self.params if p.id == param_id), None)


@dataclass(frozen=True)
class ParamList:
    """A LIST RAN parameter: its entries are STRUCTUREs, each given here as
    the tuple of RAN parameters it holds (the entry structures carry no ID
    of their own on the wire)."""

    id: int
    entries: tuple[tuple[RanParameter, ...], ...] = ()

    def __post_init__(self) -> None:
        _int(self.id, "RAN parameter ID")
        _set(self, "entries", tuple(tuple(e) for e in self.entries))


RanParameter = Element | Structure | ParamList


def _structure_to_asn1(params: tuple[RanParameter, ...]) -> dict[str, Any]:
    # An empty STRUCTURE is encoded without sequence-of-ranParameters (SIZE (1..)).
    return (
        {"sequence-of-ranParameters": [ran_parameter_to_asn1(p) for p in params]} if params else {}
    )


def _structure_from_asn1(value: Mapping[str, Any]) -> tuple[RanParameter, ...]:
    return tuple(ran_parameter_from_asn1(i) for i in value.get("sequence-of-ranParameters", ()))


def _value_type_to_asn1(p: RanParameter) -> tuple[str, Any]:
    if isinstance(p, Element):
        if p.value is None:
            if p.key:
                raise InputError(f"key RAN parameter {p.id} needs a value")
            return ("ranP-Choice-ElementFalse", {})
        if p.key:
            return ("ranP-Choice-ElementTrue", {"ranParameter-value": _value_to_asn1(p.value)})
        return ("ranP-Choice-ElementFalse", {"ranParameter-value": _value_to_asn1(p.value)})
    if isinstance(p, Structure):
        return ("ranP-Choice-Structure", {"ranParameter-Structure": _structure_to_asn1(p.params)})
    if isinstance(p, ParamList):
        entries = [_structure_to_asn1(e) for e in p.entries]
        return ("ranP-Choice-List", {"ranParameter-List": {"list-of-ranParameter": entries}})
    raise InputError(f"not a RAN parameter: {p!r}")


def ran_parameter_to_asn1(p: RanParameter) -> dict[str, Any]:
    """The asn1tools value of an item ``{ranParameter-ID, ranParameter-valueType}``."""
    return {"ranParameter-ID": p.id, "ranParameter-valueType": _value_type_to_asn1(p)}


def ran_parameter_from_asn1(item: Mapping[str, Any]) -> RanParameter:
    """The typed RAN parameter of an item ``{ranParameter-ID, ranParameter-valueType}``."""
    pid = item["ranParameter-ID"]
    kind, v = item["ranParameter-valueType"]
    if kind == "ranP-Choice-ElementTrue":
        return Element(pid, _value_from_asn1(v["ranParameter-value"]), key=True)
    if kind == "ranP-Choice-ElementFalse":
        value = v.get("ranParameter-value")
        return Element(pid, None if value is None else _value_from_asn1(value))
    if kind == "ranP-Choice-Structure":
        return Structure(pid, _structure_from_asn1(v["ranParameter-Structure"]))
    if kind == "ranP-Choice-List":
        entries = v["ranParameter-List"]["list-of-ranParameter"]
        return ParamList(pid, tuple(_structure_from_asn1(e) for e in entries))
    raise DecodeError(f"unsupported RANParameter-ValueType alternative {kind!r}")


def _walk(params: Iterable[RanParameter], depth: int = 0) -> Iterator[tuple[int, RanParameter]]:
    for p in params:
        yield depth, p
        if isinstance(p, Structure):
            yield from _walk(p.params, depth + 1)
        elif isinstance(p, ParamList):
            for entry in p.entries:
                yield from _walk(entry, depth + 1)


# ===========================================================================
# Control header, message, outcome
# ===========================================================================


@dataclass(frozen=True)
class RcControlHeader:
    """Control header format 1: which UE, which style and control action,
    and optionally the RIC's decision (when answering an INSERT)."""

    ue_id: UeId
    style: int
    action_id: int
    decision: Literal["accept", "reject"] | None = None

    def __post_init__(self) -> None:
        _int(self.style, "RIC style type")
        _int(self.action_id, "control action ID")
        if self.decision not in (None, "accept", "reject"):
            raise InputError(
                f"control decision must be 'accept' or 'reject', not {self.decision!r}"
            )

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ueID": ue_id_to_asn1(self.ue_id),
            "ric-Style-Type": self.style,
            "ric-ControlAction-ID": self.action_id,
        }
        if self.decision is not None:
            v["ric-ControlDecision"] = self.decision
        return {"ric-controlHeader-formats": ("controlHeader-Format1", v)}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> RcControlHeader:
        def convert(value: Mapping[str, Any]) -> RcControlHeader:
            kind, v = value["ric-controlHeader-formats"]
            if kind != "controlHeader-Format1":
                raise DecodeError(f"unsupported control header format {kind!r}")
            decision = v.get("ric-ControlDecision")
            if "ric-ControlDecision" in v and decision is None:
                raise DecodeError("unknown control decision")
            return cls(
                ue_id_from_asn1(v["ueID"]), v["ric-Style-Type"], v["ric-ControlAction-ID"], decision
            )

        return _convert(convert, value, "E2SM-RC control header")

    def encode(self) -> bytes:
        return _encode(CONTROL_HEADER_TYPE, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> RcControlHeader:
        return cls.from_asn1(_decode(CONTROL_HEADER_TYPE, data))


@dataclass(frozen=True)
class RcControlMessage:
    """Control message format 1: the RAN parameters of the control action."""

    params: tuple[RanParameter, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", _tuple(self.params))

    def find(self, param_id: int) -> RanParameter | None:
        """The top-level RAN parameter ``param_id``, if present."""
        return next((p for p in self.params if p.id == param_id), None)

    def walk(self) -> Iterator[tuple[int, RanParameter]]:
        """Every RAN parameter of the tree with its depth, depth first."""
        return _walk(self.params)

    def to_asn1(self) -> dict[str, Any]:
        items = [ran_parameter_to_asn1(p) for p in self.params]
        return {"ric-controlMessage-formats": ("controlMessage-Format1", {"ranP-List": items})}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> RcControlMessage:
        def convert(value: Mapping[str, Any]) -> RcControlMessage:
            kind, v = value["ric-controlMessage-formats"]
            if kind != "controlMessage-Format1":
                raise DecodeError(f"unsupported control message format {kind!r}")
            return cls(tuple(ran_parameter_from_asn1(i) for i in v["ranP-List"]))

        return _convert(convert, value, "E2SM-RC control message")

    def encode(self) -> bytes:
        return _encode(CONTROL_MESSAGE_TYPE, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> RcControlMessage:
        return cls.from_asn1(_decode(CONTROL_MESSAGE_TYPE, data))


@dataclass(frozen=True)
class RcControlOutcome:
    """Control outcome format 1: (RAN parameter ID, value) pairs."""

    params: tuple[tuple[int, RanValue], ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", tuple((pid, v) for pid, v in self.params))

    def to_asn1(self) -> dict[str, Any]:
        items = [
            {"ranParameter-ID": pid, "ranParameter-value": _value_to_asn1(v)}
            for pid, v in self.params
        ]
        return {"ric-controlOutcome-formats": ("controlOutcome-Format1", {"ranP-List": items})}

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> RcControlOutcome:
        def convert(value: Mapping[str, Any]) -> RcControlOutcome:
            kind, v = value["ric-controlOutcome-formats"]
            if kind != "controlOutcome-Format1":
                raise DecodeError(f"unsupported control outcome format {kind!r}")
            return cls(
                tuple(
                    (i["ranParameter-ID"], _value_from_asn1(i["ranParameter-value"]))
                    for i in v["ranP-List"]
                )
            )

        return _convert(convert, value, "E2SM-RC control outcome")

    def encode(self) -> bytes:
        return _encode(CONTROL_OUTCOME_TYPE, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> RcControlOutcome:
        return cls.from_asn1(_decode(CONTROL_OUTCOME_TYPE, data))


# ===========================================================================
# Builders: handover and UE release
# ===========================================================================


def _cgi_octets(target: NrCgi | EutraCgi) -> bytes:
    if isinstance(target, NrCgi):
        return _encode("NR-CGI", target.to_asn1())
    if isinstance(target, EutraCgi):
        return _encode("EUTRA-CGI", target.to_asn1())
    raise InputError(f"a handover target is an NrCgi or an EutraCgi, got {target!r}")


def handover_target_parameter(target: NrCgi | EutraCgi) -> Structure:
    """The "Target Primary Cell ID" RAN parameter tree for ``target``."""
    if isinstance(target, NrCgi):
        cell = Structure(HO_NR_CELL, (Element(HO_NR_CGI, _cgi_octets(target)),))
    elif isinstance(target, EutraCgi):
        cell = Structure(HO_EUTRA_CELL, (Element(HO_EUTRA_CGI, _cgi_octets(target)),))
    else:
        raise InputError(f"a handover target is an NrCgi or an EutraCgi, got {target!r}")
    return Structure(HO_TARGET_PRIMARY_CELL_ID, (Structure(HO_CHOICE_TARGET_CELL, (cell,)),))


def handover_control(
    ue_id: UeId,
    target: NrCgi | EutraCgi,
    *,
    decision: Literal["accept", "reject"] | None = None,
) -> tuple[bytes, bytes]:
    """RIC Control header and message that hand ``ue_id`` over to ``target``
    (style 3 "Connected Mode Mobility Control", action 1 "Handover Control")."""
    header = RcControlHeader(ue_id, STYLE_CONNECTED_MODE_MOBILITY, ACTION_HANDOVER, decision)
    message = RcControlMessage((handover_target_parameter(target),))
    return header.encode(), message.encode()


def handover_target(message: RcControlMessage) -> NrCgi | EutraCgi:
    """The target cell of a Handover Control message (the inverse of
    :func:`handover_target_parameter`); :class:`DecodeError` if absent or
    not in the XTRUST encoding."""
    top = message.find(HO_TARGET_PRIMARY_CELL_ID)
    choice = top.find(HO_CHOICE_TARGET_CELL) if isinstance(top, Structure) else None
    if not isinstance(choice, Structure):
        raise DecodeError("no Target Primary Cell ID / CHOICE Target Cell structure")
    for cell_id, cgi_id, type_name in (
        (HO_NR_CELL, HO_NR_CGI, "NR-CGI"),
        (HO_EUTRA_CELL, HO_EUTRA_CGI, "EUTRA-CGI"),
    ):
        cell = choice.find(cell_id)
        if not isinstance(cell, Structure):
            continue
        cgi = cell.find(cgi_id)
        if not isinstance(cgi, Element) or type(cgi.value) is not bytes:
            raise DecodeError(f"RAN parameter {cgi_id} is not an OCTET STRING ELEMENT")
        value = _decode(type_name, cgi.value)
        if type_name == "NR-CGI":
            return _convert(NrCgi.from_asn1, value, "NR CGI")
        return _convert(EutraCgi.from_asn1, value, "E-UTRA CGI")
    raise DecodeError("the CHOICE Target Cell holds neither an NR Cell nor an E-UTRA Cell")


def ue_release(
    ue_id: UeId,
    *,
    params: Iterable[RanParameter] = (),
    decision: Literal["accept", "reject"] | None = None,
) -> tuple[bytes, bytes]:
    """RIC Control header and message asking the node to release ``ue_id``
    (style 4 "Radio Access Control", action 4 "RRC Connection Release"; see
    the module docstring for why this action)."""
    header = RcControlHeader(ue_id, STYLE_RADIO_ACCESS, ACTION_RRC_CONNECTION_RELEASE, decision)
    return header.encode(), RcControlMessage(tuple(params)).encode()


# ===========================================================================
# RAN function definition
# ===========================================================================


@dataclass(frozen=True)
class ParamDef:
    """A RAN parameter a style or action uses: ID, name and, for a
    STRUCTURE or LIST, the parameters it holds (``children``; None for an
    ELEMENT or when the node gives no definition)."""

    id: int
    name: str
    children: tuple[ParamDef, ...] | None = None
    is_list: bool = False

    def __post_init__(self) -> None:
        if self.children is not None:
            _set(self, "children", tuple(self.children))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ranParameter-ID": self.id, "ranParameter-name": self.name}
        if self.children is not None:
            items = [c.to_asn1() for c in self.children]
            choice = (
                ("choiceLIST", {"ranParameter-List": items})
                if self.is_list
                else ("choiceSTRUCTURE", {"ranParameter-STRUCTURE": items})
            )
            v["ranParameter-Definition"] = {"ranParameter-Definition-Choice": choice}
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> ParamDef:
        definition = value.get("ranParameter-Definition")
        if definition is None:
            return cls(value["ranParameter-ID"], value["ranParameter-name"])
        kind, inner = definition["ranParameter-Definition-Choice"]
        if kind == "choiceLIST":
            items, is_list = inner["ranParameter-List"], True
        elif kind == "choiceSTRUCTURE":
            items, is_list = inner["ranParameter-STRUCTURE"], False
        else:
            raise DecodeError(f"unsupported RANParameter-Definition alternative {kind!r}")
        return cls(
            value["ranParameter-ID"],
            value["ranParameter-name"],
            tuple(cls.from_asn1(i) for i in items),
            is_list,
        )


def _defs_to_asn1(defs: tuple[ParamDef, ...]) -> list[dict[str, Any]]:
    return [d.to_asn1() for d in defs]


def _defs_from_asn1(items: Iterable[Mapping[str, Any]]) -> tuple[ParamDef, ...]:
    return tuple(ParamDef.from_asn1(i) for i in items)


def _put_list(v: dict[str, Any], name: str, items: list[Any]) -> None:
    """Optional SIZE (1..) lists: absent when empty."""
    if items:
        v[name] = items


@dataclass(frozen=True)
class CallProcessBreakpoint:
    id: int
    name: str
    params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", _tuple(self.params))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "callProcessBreakpoint-ID": self.id,
            "callProcessBreakpoint-Name": self.name,
        }
        _put_list(v, "ran-CallProcessBreakpointParameters-List", _defs_to_asn1(self.params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> CallProcessBreakpoint:
        return cls(
            v["callProcessBreakpoint-ID"],
            v["callProcessBreakpoint-Name"],
            _defs_from_asn1(v.get("ran-CallProcessBreakpointParameters-List", ())),
        )


@dataclass(frozen=True)
class CallProcessType:
    id: int
    name: str
    breakpoints: tuple[CallProcessBreakpoint, ...]

    def __post_init__(self) -> None:
        _set(self, "breakpoints", _tuple(self.breakpoints))

    def to_asn1(self) -> dict[str, Any]:
        return {
            "callProcessType-ID": self.id,
            "callProcessType-Name": self.name,
            "callProcessBreakpoints-List": [b.to_asn1() for b in self.breakpoints],
        }

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> CallProcessType:
        return cls(
            v["callProcessType-ID"],
            v["callProcessType-Name"],
            tuple(CallProcessBreakpoint.from_asn1(b) for b in v["callProcessBreakpoints-List"]),
        )


@dataclass(frozen=True)
class EventTriggerDefinition:
    """RANFunctionDefinition-EventTrigger."""

    styles: tuple[EventTriggerStyle, ...]
    l2_params: tuple[ParamDef, ...] = ()
    call_process_types: tuple[CallProcessType, ...] = ()
    ue_id_params: tuple[ParamDef, ...] = ()
    cell_id_params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        for name in ("styles", "l2_params", "call_process_types", "ue_id_params", "cell_id_params"):
            _set(self, name, _tuple(getattr(self, name)))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ric-EventTriggerStyle-List": [s.to_asn1() for s in self.styles]}
        _put_list(v, "ran-L2Parameters-List", _defs_to_asn1(self.l2_params))
        _put_list(v, "ran-CallProcessTypes-List", [c.to_asn1() for c in self.call_process_types])
        _put_list(v, "ran-UEIdentificationParameters-List", _defs_to_asn1(self.ue_id_params))
        _put_list(v, "ran-CellIdentificationParameters-List", _defs_to_asn1(self.cell_id_params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> EventTriggerDefinition:
        return cls(
            tuple(EventTriggerStyle.from_asn1(s) for s in v["ric-EventTriggerStyle-List"]),
            _defs_from_asn1(v.get("ran-L2Parameters-List", ())),
            tuple(CallProcessType.from_asn1(c) for c in v.get("ran-CallProcessTypes-List", ())),
            _defs_from_asn1(v.get("ran-UEIdentificationParameters-List", ())),
            _defs_from_asn1(v.get("ran-CellIdentificationParameters-List", ())),
        )


@dataclass(frozen=True)
class ReportStyle:
    style: int
    name: str
    supported_event_trigger_style: int
    action_format: int
    header_format: int
    message_format: int
    params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", _tuple(self.params))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-ReportStyle-Type": self.style,
            "ric-ReportStyle-Name": self.name,
            "ric-SupportedEventTriggerStyle-Type": self.supported_event_trigger_style,
            "ric-ReportActionFormat-Type": self.action_format,
            "ric-IndicationHeaderFormat-Type": self.header_format,
            "ric-IndicationMessageFormat-Type": self.message_format,
        }
        _put_list(v, "ran-ReportParameters-List", _defs_to_asn1(self.params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> ReportStyle:
        return cls(
            v["ric-ReportStyle-Type"],
            v["ric-ReportStyle-Name"],
            v["ric-SupportedEventTriggerStyle-Type"],
            v["ric-ReportActionFormat-Type"],
            v["ric-IndicationHeaderFormat-Type"],
            v["ric-IndicationMessageFormat-Type"],
            _defs_from_asn1(v.get("ran-ReportParameters-List", ())),
        )


@dataclass(frozen=True)
class InsertIndication:
    id: int
    name: str
    params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", _tuple(self.params))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-InsertIndication-ID": self.id,
            "ric-InsertIndication-Name": self.name,
        }
        _put_list(v, "ran-InsertIndicationParameters-List", _defs_to_asn1(self.params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> InsertIndication:
        return cls(
            v["ric-InsertIndication-ID"],
            v["ric-InsertIndication-Name"],
            _defs_from_asn1(v.get("ran-InsertIndicationParameters-List", ())),
        )


@dataclass(frozen=True)
class InsertStyle:
    style: int
    name: str
    supported_event_trigger_style: int
    action_format: int
    header_format: int
    message_format: int
    call_process_id_format: int
    indications: tuple[InsertIndication, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "indications", _tuple(self.indications))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-InsertStyle-Type": self.style,
            "ric-InsertStyle-Name": self.name,
            "ric-SupportedEventTriggerStyle-Type": self.supported_event_trigger_style,
            "ric-ActionDefinitionFormat-Type": self.action_format,
            "ric-IndicationHeaderFormat-Type": self.header_format,
            "ric-IndicationMessageFormat-Type": self.message_format,
            "ric-CallProcessIDFormat-Type": self.call_process_id_format,
        }
        _put_list(v, "ric-InsertIndication-List", [i.to_asn1() for i in self.indications])
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> InsertStyle:
        return cls(
            v["ric-InsertStyle-Type"],
            v["ric-InsertStyle-Name"],
            v["ric-SupportedEventTriggerStyle-Type"],
            v["ric-ActionDefinitionFormat-Type"],
            v["ric-IndicationHeaderFormat-Type"],
            v["ric-IndicationMessageFormat-Type"],
            v["ric-CallProcessIDFormat-Type"],
            tuple(InsertIndication.from_asn1(i) for i in v.get("ric-InsertIndication-List", ())),
        )


@dataclass(frozen=True)
class ControlAction:
    id: int
    name: str
    params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "params", _tuple(self.params))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ric-ControlAction-ID": self.id, "ric-ControlAction-Name": self.name}
        _put_list(v, "ran-ControlActionParameters-List", _defs_to_asn1(self.params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> ControlAction:
        return cls(
            v["ric-ControlAction-ID"],
            v["ric-ControlAction-Name"],
            _defs_from_asn1(v.get("ran-ControlActionParameters-List", ())),
        )


@dataclass(frozen=True)
class ControlStyle:
    style: int
    name: str
    actions: tuple[ControlAction, ...] = ()
    header_format: int = 1
    message_format: int = 1
    outcome_format: int = 1
    call_process_id_format: int | None = None
    outcome_params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "actions", _tuple(self.actions))
        _set(self, "outcome_params", _tuple(self.outcome_params))

    def action(self, action_id: int) -> ControlAction | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-ControlStyle-Type": self.style,
            "ric-ControlStyle-Name": self.name,
            "ric-ControlHeaderFormat-Type": self.header_format,
            "ric-ControlMessageFormat-Type": self.message_format,
            "ric-ControlOutcomeFormat-Type": self.outcome_format,
        }
        _put_list(v, "ric-ControlAction-List", [a.to_asn1() for a in self.actions])
        if self.call_process_id_format is not None:
            v["ric-CallProcessIDFormat-Type"] = self.call_process_id_format
        _put_list(v, "ran-ControlOutcomeParameters-List", _defs_to_asn1(self.outcome_params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> ControlStyle:
        return cls(
            v["ric-ControlStyle-Type"],
            v["ric-ControlStyle-Name"],
            tuple(ControlAction.from_asn1(a) for a in v.get("ric-ControlAction-List", ())),
            v["ric-ControlHeaderFormat-Type"],
            v["ric-ControlMessageFormat-Type"],
            v["ric-ControlOutcomeFormat-Type"],
            v.get("ric-CallProcessIDFormat-Type"),
            _defs_from_asn1(v.get("ran-ControlOutcomeParameters-List", ())),
        )


@dataclass(frozen=True)
class PolicyAction:
    id: int
    name: str
    action_format: int
    action_params: tuple[ParamDef, ...] = ()
    condition_params: tuple[ParamDef, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "action_params", _tuple(self.action_params))
        _set(self, "condition_params", _tuple(self.condition_params))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-PolicyAction-ID": self.id,
            "ric-PolicyAction-Name": self.name,
            "ric-ActionDefinitionFormat-Type": self.action_format,
        }
        _put_list(v, "ran-PolicyActionParameters-List", _defs_to_asn1(self.action_params))
        _put_list(v, "ran-PolicyConditionParameters-List", _defs_to_asn1(self.condition_params))
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> PolicyAction:
        return cls(
            v["ric-PolicyAction-ID"],
            v["ric-PolicyAction-Name"],
            v["ric-ActionDefinitionFormat-Type"],
            _defs_from_asn1(v.get("ran-PolicyActionParameters-List", ())),
            _defs_from_asn1(v.get("ran-PolicyConditionParameters-List", ())),
        )


@dataclass(frozen=True)
class PolicyStyle:
    style: int
    name: str
    supported_event_trigger_style: int
    actions: tuple[PolicyAction, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "actions", _tuple(self.actions))

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ric-PolicyStyle-Type": self.style,
            "ric-PolicyStyle-Name": self.name,
            "ric-SupportedEventTriggerStyle-Type": self.supported_event_trigger_style,
        }
        _put_list(v, "ric-PolicyAction-List", [a.to_asn1() for a in self.actions])
        return v

    @classmethod
    def from_asn1(cls, v: Mapping[str, Any]) -> PolicyStyle:
        return cls(
            v["ric-PolicyStyle-Type"],
            v["ric-PolicyStyle-Name"],
            v["ric-SupportedEventTriggerStyle-Type"],
            tuple(PolicyAction.from_asn1(a) for a in v.get("ric-PolicyAction-List", ())),
        )


def _styles(v: Mapping[str, Any], outer: str, inner: str, cls: Any) -> tuple[Any, ...]:
    if outer not in v:
        return ()
    return tuple(cls.from_asn1(s) for s in v[outer][inner])


@dataclass(frozen=True)
class RcRanFunctionDefinition:
    """E2SM-RC-RANFunctionDefinition. An empty style tuple means the
    service is not offered (the whole ``ranFunctionDefinition-*`` is absent)."""

    name: RanFunctionName
    event_trigger: EventTriggerDefinition | None = None
    report_styles: tuple[ReportStyle, ...] = ()
    insert_styles: tuple[InsertStyle, ...] = ()
    control_styles: tuple[ControlStyle, ...] = ()
    policy_styles: tuple[PolicyStyle, ...] = ()

    def __post_init__(self) -> None:
        for name in ("report_styles", "insert_styles", "control_styles", "policy_styles"):
            _set(self, name, _tuple(getattr(self, name)))

    def control_style(self, style: int) -> ControlStyle | None:
        return next((s for s in self.control_styles if s.style == style), None)

    def supports_control(self, style: int, action_id: int) -> bool:
        """True if the node offers control action ``action_id`` of ``style``."""
        found = self.control_style(style)
        return found is not None and found.action(action_id) is not None

    def to_asn1(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ranFunction-Name": self.name.to_asn1()}
        if self.event_trigger is not None:
            v["ranFunctionDefinition-EventTrigger"] = self.event_trigger.to_asn1()
        for attr, outer, inner in _SERVICES:
            styles = getattr(self, attr)
            if styles:
                v[outer] = {inner: [s.to_asn1() for s in styles]}
        return v

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> RcRanFunctionDefinition:
        def convert(v: Mapping[str, Any]) -> RcRanFunctionDefinition:
            et = v.get("ranFunctionDefinition-EventTrigger")
            return cls(
                RanFunctionName.from_asn1(v["ranFunction-Name"]),
                None if et is None else EventTriggerDefinition.from_asn1(et),
                *(
                    _styles(v, outer, inner, kind)
                    for (_, outer, inner), kind in zip(_SERVICES, _KINDS, strict=True)
                ),
            )

        return _convert(convert, value, "E2SM-RC RAN function definition")

    def encode(self) -> bytes:
        return _encode(SERVICE_MODEL.ran_function_definition_type, self.to_asn1())

    @classmethod
    def decode(cls, data: bytes) -> RcRanFunctionDefinition:
        return cls.from_asn1(_decode(SERVICE_MODEL.ran_function_definition_type, data))


_SERVICES: Final = (
    ("report_styles", "ranFunctionDefinition-Report", "ric-ReportStyle-List"),
    ("insert_styles", "ranFunctionDefinition-Insert", "ric-InsertStyle-List"),
    ("control_styles", "ranFunctionDefinition-Control", "ric-ControlStyle-List"),
    ("policy_styles", "ranFunctionDefinition-Policy", "ric-PolicyStyle-List"),
)
_KINDS: Final = (ReportStyle, InsertStyle, ControlStyle, PolicyStyle)
