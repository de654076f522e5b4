"""Typed E2AP messages: dataclasses with ``encode()`` and :func:`parse`.

Each message class names its procedure and PDU kind; each field carries the
protocol IE id it maps to (``ie(29)``). Common IE types get Python types
(:class:`RicRequestId`, :class:`Cause`, :class:`RanFunction`,
:class:`RicAction`); the rest keep the asn1tools value form.

    >>> msg = RicSubscriptionDeleteRequest(RicRequestId(1, 7), ran_function_id=2)
    >>> parse(msg.encode()) == msg
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from xtrust.errors import DecodeError, EncodeError
from xtrust.ric.asn1 import e2ap
from xtrust.ric.asn1.common import int_to_bits
from xtrust.ric.asn1.common import plmn_from_mcc_mnc as plmn_identity

__all__ = [
    "Cause",
    "E2SetupFailure",
    "E2SetupRequest",
    "E2SetupResponse",
    "E2apMessage",
    "E2nodeConfigurationUpdate",
    "E2nodeConfigurationUpdateAcknowledge",
    "E2nodeConfigurationUpdateFailure",
    "ErrorIndication",
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
    "error_indication_for",
    "global_gnb_id",
    "global_ric_id",
    "parse",
    "plmn_identity",
]


# ---------------------------------------------------------------- IE value types


@dataclass(frozen=True)
class RicRequestId:
    """RIC Request ID: who asked (requestor) and which of its requests (instance)."""

    requestor_id: int
    instance_id: int

    def to_asn(self) -> dict[str, int]:
        return {"ricRequestorID": self.requestor_id, "ricInstanceID": self.instance_id}

    @classmethod
    def from_asn(cls, v: dict[str, int]) -> RicRequestId:
        return cls(v["ricRequestorID"], v["ricInstanceID"])


@dataclass(frozen=True)
class Cause:
    """An E2AP Cause: group (ricRequest, ricService, e2Node, transport, protocol, misc)
    and value (for example ``Cause("ricRequest", "action-not-supported")``)."""

    group: str
    value: str

    def to_asn(self) -> tuple[str, str]:
        return (self.group, self.value)

    @classmethod
    def from_asn(cls, v: Any) -> Cause:
        group, value = v
        if group is None:  # an extension alternative this version does not know
            return cls("unknown", "unknown")
        return cls(group, str(value))

    def __str__(self) -> str:
        return f"{self.group}/{self.value}"


@dataclass(frozen=True)
class RanFunction:
    """A RAN function an E2 node offers: id, service model definition bytes,
    revision and the service model OID."""

    id: int
    definition: bytes
    revision: int
    oid: str


@dataclass(frozen=True)
class RicAction:
    """One action of a subscription (report, insert or policy)."""

    id: int
    type: str = "report"
    definition: bytes | None = None
    subsequent_action: str | None = None  # "continue" or "wait"
    time_to_wait: str | None = None  # e.g. "w10ms", with subsequent_action
    execution_order: int | None = None


def global_gnb_id(plmn: bytes, gnb_id: int, bits: int = 32) -> tuple[str, dict[str, Any]]:
    """A GlobalE2node-ID of a gNB (``bits`` is the gNB ID length, 22 to 32)."""
    if not 22 <= bits <= 32 or not 0 <= gnb_id < (1 << bits):
        raise EncodeError(f"gNB ID {gnb_id} does not fit in {bits} bits (22..32)")
    return (
        "gNB",
        {"global-gNB-ID": {"plmn-id": plmn, "gnb-id": ("gnb-ID", int_to_bits(gnb_id, bits))}},
    )


def global_ric_id(plmn: bytes, ric_id: int) -> dict[str, Any]:
    """A GlobalRIC-ID (the RIC ID is 20 bits)."""
    if not 0 <= ric_id < (1 << 20):
        raise EncodeError(f"RIC ID {ric_id} does not fit in 20 bits")
    return {"pLMN-Identity": plmn, "ric-ID": int_to_bits(ric_id, 20)}


# ---------------------------------------------------------------- converters by IE type


def _item(list_type: str, value: Any) -> dict[str, Any]:
    item_id = e2ap.LIST_ITEMS[list_type]
    item_type, crit = e2ap.ITEM_IES[item_id]
    return {"id": item_id, "criticality": e2ap.CRITICALITY[crit], "value": (item_type, value)}


def _items(list_type: str, fields: list[dict[str, Any]]) -> list[Any]:
    out = []
    for f in fields:
        v = f["value"]
        if isinstance(v, bytes | bytearray):
            raise DecodeError(f"{list_type}: item with unknown IE id {f['id']}")
        out.append(v[1])
    return out


def _action_to(a: RicAction) -> dict[str, Any]:
    v: dict[str, Any] = {"ricActionID": a.id, "ricActionType": a.type}
    if a.definition is not None:
        v["ricActionDefinition"] = a.definition
    if a.subsequent_action is not None:
        v["ricSubsequentAction"] = {
            "ricSubsequentActionType": a.subsequent_action,
            "ricTimeToWait": a.time_to_wait or "w1ms",
        }
    if a.execution_order is not None:
        v["ricActionExecutionOrder"] = a.execution_order
    return v


def _action_from(v: dict[str, Any]) -> RicAction:
    sub = v.get("ricSubsequentAction")
    return RicAction(
        id=v["ricActionID"],
        type=v["ricActionType"],
        definition=v.get("ricActionDefinition"),
        subsequent_action=sub["ricSubsequentActionType"] if sub else None,
        time_to_wait=sub["ricTimeToWait"] if sub else None,
        execution_order=v.get("ricActionExecutionOrder"),
    )


def _ranfunc_to(f: RanFunction) -> dict[str, Any]:
    return {
        "ranFunctionID": f.id,
        "ranFunctionDefinition": f.definition,
        "ranFunctionRevision": f.revision,
        "ranFunctionOID": f.oid,
    }


def _ranfunc_from(v: dict[str, Any]) -> RanFunction:
    return RanFunction(
        v["ranFunctionID"],
        v["ranFunctionDefinition"],
        v["ranFunctionRevision"],
        v["ranFunctionOID"],
    )


# IE type -> (python -> asn1tools, asn1tools -> python). Types not listed pass through.
_CONVERT: dict[str, tuple[Any, Any]] = {
    "RICrequestID": (lambda x: x.to_asn(), RicRequestId.from_asn),
    "Cause": (lambda x: x.to_asn(), Cause.from_asn),
    "RICsubscriptionDetails": (
        lambda x: {
            "ricEventTriggerDefinition": x[0],
            "ricAction-ToBeSetup-List": [
                _item("RICactions-ToBeSetup-List", _action_to(a)) for a in x[1]
            ],
        },
        lambda v: (
            v["ricEventTriggerDefinition"],
            [
                _action_from(a)
                for a in _items("RICactions-ToBeSetup-List", v["ricAction-ToBeSetup-List"])
            ],
        ),
    ),
    "RICaction-Admitted-List": (
        lambda x: [_item("RICaction-Admitted-List", {"ricActionID": i}) for i in x],
        lambda v: [a["ricActionID"] for a in _items("RICaction-Admitted-List", v)],
    ),
    "RICaction-NotAdmitted-List": (
        lambda x: [
            _item("RICaction-NotAdmitted-List", {"ricActionID": i, "cause": c.to_asn()})
            for i, c in x
        ],
        lambda v: [
            (a["ricActionID"], Cause.from_asn(a["cause"]))
            for a in _items("RICaction-NotAdmitted-List", v)
        ],
    ),
    "RANfunctions-List": (
        lambda x: [_item("RANfunctions-List", _ranfunc_to(f)) for f in x],
        lambda v: [_ranfunc_from(f) for f in _items("RANfunctions-List", v)],
    ),
    "RANfunctionsID-List": (
        lambda x: [
            _item("RANfunctionsID-List", {"ranFunctionID": i, "ranFunctionRevision": r})
            for i, r in x
        ],
        lambda v: [
            (f["ranFunctionID"], f["ranFunctionRevision"]) for f in _items("RANfunctionsID-List", v)
        ],
    ),
    "RANfunctionsIDcause-List": (
        lambda x: [
            _item("RANfunctionsIDcause-List", {"ranFunctionID": i, "cause": c.to_asn()})
            for i, c in x
        ],
        lambda v: [
            (f["ranFunctionID"], Cause.from_asn(f["cause"]))
            for f in _items("RANfunctionsIDcause-List", v)
        ],
    ),
}
for _list in (
    "E2nodeComponentConfigAddition-List",
    "E2nodeComponentConfigUpdate-List",
    "E2nodeComponentConfigRemoval-List",
    "E2nodeTNLassociationRemoval-List",
    "E2nodeComponentConfigAdditionAck-List",
    "E2nodeComponentConfigUpdateAck-List",
    "E2nodeComponentConfigRemovalAck-List",
):
    _CONVERT[_list] = (
        lambda x, _l=_list: [_item(_l, v) for v in x],
        lambda v, _l=_list: _items(_l, v),
    )


# ---------------------------------------------------------------- messages


def ie(ie_id: int, default: Any = dataclasses.MISSING) -> Any:
    """A message field carried in protocol IE ``ie_id``."""
    if default is dataclasses.MISSING:
        return field(metadata={"ie": ie_id})
    return field(default=default, metadata={"ie": ie_id})


T = TypeVar("T", bound="E2apMessage")


@dataclass(frozen=True)
class E2apMessage:
    """Base of the typed messages. Subclasses set ``MESSAGE`` (the ASN.1 type)."""

    MESSAGE: ClassVar[str] = ""

    @classmethod
    def _ies(cls) -> dict[int, tuple[str, str, str]]:
        return {i: (t, c, p) for i, t, c, p in e2ap.MESSAGE_IES[cls.MESSAGE]}

    def to_pdu(self) -> tuple[str, dict[str, Any]]:
        """The full E2AP-PDU value (see :func:`xtrust.ric.asn1.e2ap.decode_pdu`)."""
        table = self._ies()
        by_id = {f.metadata["ie"]: f.name for f in dataclasses.fields(self)}
        fields = []
        for ie_id, (type_name, crit, presence) in table.items():
            name = by_id.get(ie_id)
            value = getattr(self, name) if name else None
            if value is None:
                if presence == "M":
                    raise EncodeError(f"{self.MESSAGE}: {name or ie_id} is mandatory")
                continue
            conv = _CONVERT.get(type_name)
            asn = conv[0](value) if conv else value
            fields.append(
                {"id": ie_id, "criticality": e2ap.CRITICALITY[crit], "value": (type_name, asn)}
            )
        code, kind = e2ap.MESSAGE_KIND[self.MESSAGE]
        return (
            kind,
            {
                "procedureCode": code,
                "criticality": e2ap.PROCEDURES[code].criticality,
                "value": (self.MESSAGE, {"protocolIEs": fields}),
            },
        )

    def encode(self) -> bytes:
        """Aligned-PER bytes of the whole E2AP-PDU."""
        return e2ap.encode_pdu(self.to_pdu())

    @classmethod
    def from_body(cls: type[T], body: dict[str, Any]) -> T:
        table = cls._ies()
        got: dict[int, Any] = {}
        for f in body["protocolIEs"]:
            v = f["value"]
            if f["id"] in table and not isinstance(v, bytes | bytearray):
                got[f["id"]] = v[1]
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            ie_id = f.metadata["ie"]
            type_name, _crit, presence = table[ie_id]
            if ie_id not in got:
                if presence == "M":
                    raise DecodeError(f"{cls.MESSAGE} lacks mandatory IE {ie_id} ({type_name})")
                kwargs[f.name] = None
                continue
            conv = _CONVERT.get(type_name)
            kwargs[f.name] = conv[1](got[ie_id]) if conv else got[ie_id]
        return cls(**kwargs)


@dataclass(frozen=True)
class E2SetupRequest(E2apMessage):
    MESSAGE: ClassVar[str] = "E2setupRequest"
    transaction_id: int = ie(49)
    global_e2node_id: Any = ie(3)
    ran_functions: list[RanFunction] = ie(10)
    component_configs: list[Any] = ie(50)


@dataclass(frozen=True)
class E2SetupResponse(E2apMessage):
    MESSAGE: ClassVar[str] = "E2setupResponse"
    transaction_id: int = ie(49)
    global_ric_id: Any = ie(4)
    component_config_acks: list[Any] = ie(52)
    accepted: list[tuple[int, int]] | None = ie(9, None)
    rejected: list[tuple[int, Cause]] | None = ie(13, None)


@dataclass(frozen=True)
class E2SetupFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "E2setupFailure"
    transaction_id: int = ie(49)
    cause: Cause = ie(1)
    time_to_wait: str | None = ie(31, None)
    criticality_diagnostics: Any = ie(2, None)
    tnl_information: Any = ie(48, None)


@dataclass(frozen=True)
class RicSubscriptionRequest(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionRequest"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    details: tuple[bytes, list[RicAction]] = ie(30)

    @property
    def event_trigger(self) -> bytes:
        return self.details[0]

    @property
    def actions(self) -> list[RicAction]:
        return self.details[1]


@dataclass(frozen=True)
class RicSubscriptionResponse(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionResponse"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    admitted: list[int] = ie(17)
    not_admitted: list[tuple[int, Cause]] | None = ie(18, None)


@dataclass(frozen=True)
class RicSubscriptionFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionFailure"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    cause: Cause = ie(1)
    criticality_diagnostics: Any = ie(2, None)


@dataclass(frozen=True)
class RicSubscriptionDeleteRequest(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionDeleteRequest"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)


@dataclass(frozen=True)
class RicSubscriptionDeleteResponse(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionDeleteResponse"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)


@dataclass(frozen=True)
class RicSubscriptionDeleteFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "RICsubscriptionDeleteFailure"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    cause: Cause = ie(1)
    criticality_diagnostics: Any = ie(2, None)


@dataclass(frozen=True)
class RicIndication(E2apMessage):
    MESSAGE: ClassVar[str] = "RICindication"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    action_id: int = ie(15)
    header: bytes = ie(25)
    message: bytes = ie(26)
    indication_type: str = ie(28, "report")
    sn: int | None = ie(27, None)
    call_process_id: bytes | None = ie(20, None)


@dataclass(frozen=True)
class RicControlRequest(E2apMessage):
    MESSAGE: ClassVar[str] = "RICcontrolRequest"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    header: bytes = ie(22)
    message: bytes = ie(23)
    call_process_id: bytes | None = ie(20, None)
    ack_request: str | None = ie(21, None)  # "noAck" or "ack"


@dataclass(frozen=True)
class RicControlAcknowledge(E2apMessage):
    MESSAGE: ClassVar[str] = "RICcontrolAcknowledge"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    call_process_id: bytes | None = ie(20, None)
    outcome: bytes | None = ie(32, None)


@dataclass(frozen=True)
class RicControlFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "RICcontrolFailure"
    request_id: RicRequestId = ie(29)
    ran_function_id: int = ie(5)
    cause: Cause = ie(1)
    call_process_id: bytes | None = ie(20, None)
    outcome: bytes | None = ie(32, None)


@dataclass(frozen=True)
class ErrorIndication(E2apMessage):
    MESSAGE: ClassVar[str] = "ErrorIndication"
    transaction_id: int | None = ie(49, None)
    request_id: RicRequestId | None = ie(29, None)
    ran_function_id: int | None = ie(5, None)
    cause: Cause | None = ie(1, None)
    criticality_diagnostics: Any = ie(2, None)


@dataclass(frozen=True)
class ResetRequest(E2apMessage):
    MESSAGE: ClassVar[str] = "ResetRequest"
    transaction_id: int = ie(49)
    cause: Cause = ie(1)


@dataclass(frozen=True)
class ResetResponse(E2apMessage):
    MESSAGE: ClassVar[str] = "ResetResponse"
    transaction_id: int = ie(49)
    criticality_diagnostics: Any = ie(2, None)


@dataclass(frozen=True)
class RicServiceUpdate(E2apMessage):
    MESSAGE: ClassVar[str] = "RICserviceUpdate"
    transaction_id: int = ie(49)
    added: list[RanFunction] | None = ie(10, None)
    modified: list[RanFunction] | None = ie(12, None)
    deleted: list[tuple[int, int]] | None = ie(11, None)


@dataclass(frozen=True)
class RicServiceUpdateAcknowledge(E2apMessage):
    MESSAGE: ClassVar[str] = "RICserviceUpdateAcknowledge"
    transaction_id: int = ie(49)
    accepted: list[tuple[int, int]] | None = ie(9, None)
    rejected: list[tuple[int, Cause]] | None = ie(13, None)


@dataclass(frozen=True)
class RicServiceUpdateFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "RICserviceUpdateFailure"
    transaction_id: int = ie(49)
    cause: Cause = ie(1)
    time_to_wait: str | None = ie(31, None)
    criticality_diagnostics: Any = ie(2, None)


@dataclass(frozen=True)
class E2nodeConfigurationUpdate(E2apMessage):
    MESSAGE: ClassVar[str] = "E2nodeConfigurationUpdate"
    transaction_id: int = ie(49)
    global_e2node_id: Any = ie(3, None)
    additions: list[Any] | None = ie(50, None)
    updates: list[Any] | None = ie(33, None)
    removals: list[Any] | None = ie(54, None)
    tnl_removals: list[Any] | None = ie(58, None)


@dataclass(frozen=True)
class E2nodeConfigurationUpdateAcknowledge(E2apMessage):
    MESSAGE: ClassVar[str] = "E2nodeConfigurationUpdateAcknowledge"
    transaction_id: int = ie(49)
    addition_acks: list[Any] | None = ie(52, None)
    update_acks: list[Any] | None = ie(35, None)
    removal_acks: list[Any] | None = ie(56, None)


@dataclass(frozen=True)
class E2nodeConfigurationUpdateFailure(E2apMessage):
    MESSAGE: ClassVar[str] = "E2nodeConfigurationUpdateFailure"
    transaction_id: int = ie(49)
    cause: Cause = ie(1)
    time_to_wait: str | None = ie(31, None)
    criticality_diagnostics: Any = ie(2, None)


MESSAGE_CLASSES: dict[str, type[E2apMessage]] = {
    c.MESSAGE: c
    for c in (
        E2SetupRequest, E2SetupResponse, E2SetupFailure, RicSubscriptionRequest,
        RicSubscriptionResponse, RicSubscriptionFailure, RicSubscriptionDeleteRequest,
        RicSubscriptionDeleteResponse, RicSubscriptionDeleteFailure, RicIndication,
        RicControlRequest, RicControlAcknowledge, RicControlFailure, ErrorIndication,
        ResetRequest, ResetResponse, RicServiceUpdate, RicServiceUpdateAcknowledge,
        RicServiceUpdateFailure, E2nodeConfigurationUpdate,
        E2nodeConfigurationUpdateAcknowledge, E2nodeConfigurationUpdateFailure,
    )
}  # fmt: skip


def parse(data: bytes) -> E2apMessage:
    """Decode an E2AP-PDU into its typed message.

    Raises :class:`~xtrust.errors.DecodeError` for bytes that are not a valid
    PDU and for messages without a typed class here (use
    :func:`xtrust.ric.asn1.e2ap.decode_pdu` for those).
    """
    _kind, msg = e2ap.decode_pdu(data)
    value = msg["value"]
    if isinstance(value, bytes | bytearray):
        raise DecodeError(f"unknown E2AP procedure code {msg['procedureCode']}")
    mtype, body = value
    cls = MESSAGE_CLASSES.get(mtype)
    if cls is None:
        raise DecodeError(f"{mtype} has no typed class; use e2ap.decode_pdu()")
    try:
        return cls.from_body(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"{mtype}: malformed content ({exc})") from exc


def error_indication_for(data: bytes, cause: Cause | None = None) -> bytes | None:
    """The Error Indication to answer a PDU that could not be processed.

    When the first octets of ``data`` still show the PDU kind and procedure
    code, the answer carries them in its Criticality Diagnostics (as E2AP
    asks of a receiver that detects a transfer syntax error); when they don't,
    there is nothing to refer to and the function returns None. Default cause:
    protocol / transfer-syntax-error.
    """
    triggers = {0x00: "initiating-message", 0x20: "successful-outcome",
                0x40: "unsuccessfull-outcome"}  # fmt: skip
    if len(data) < 3 or data[0] not in triggers or data[2] >> 6 > 2 or data[2] & 0x3F:
        return None
    diagnostics = {
        "procedureCode": data[1],
        "triggeringMessage": triggers[data[0]],
        "procedureCriticality": ("reject", "ignore", "notify")[data[2] >> 6],
    }
    return ErrorIndication(
        cause=cause or Cause("protocol", "transfer-syntax-error"),
        criticality_diagnostics=diagnostics,
    ).encode()
