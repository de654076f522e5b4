"""E2AP: the nested open-type codec and the tables behind it.

The ASN.1 module (``e2ap.asn``) writes every open-type position as an
OCTET STRING (see its header). This module knows what is inside them, from the
information object sets of the specification:

* ``PROCEDURES``: procedure code -> the message types of its initiating,
  successful and unsuccessful outcome;
* ``MESSAGE_IES``: message type -> the protocol IEs it carries
  (id, value type, criticality, presence);
* ``ITEM_IES``: protocol IE id of a list item -> its value type (the items of
  the ``ProtocolIE-SingleContainer`` lists).

A *full* value is the asn1tools value of ``E2AP-PDU`` in which every open type
is replaced by a ``(type_name, value)`` pair, recursively: the same convention
as pycrate. :func:`decode_pdu` produces it, :func:`encode_pdu` accepts it
(an open position may also hold ``bytes``: an already encoded value, sent
as is). IEs with an id this table does not know are kept as ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xtrust.errors import DecodeError, EncodeError
from xtrust.ric.asn1 import _spec

__all__ = [
    "ITEM_IES",
    "LIST_ITEMS",
    "MESSAGE_IES",
    "PROCEDURES",
    "Procedure",
    "decode_pdu",
    "encode_pdu",
    "ie_type",
    "message_type",
]

SPEC = "e2ap"


@dataclass(frozen=True)
class Procedure:
    """One elementary procedure: its code, criticality and message types."""

    code: int
    name: str
    criticality: str
    initiating: str
    successful: str | None = None
    unsuccessful: str | None = None

    def message(self, kind: str) -> str | None:
        return {
            "initiatingMessage": self.initiating,
            "successfulOutcome": self.successful,
            "unsuccessfulOutcome": self.unsuccessful,
        }.get(kind)


_P = Procedure
PROCEDURES: dict[int, Procedure] = {
    p.code: p
    for p in (
        _P(1, "E2setup", "reject", "E2setupRequest", "E2setupResponse", "E2setupFailure"),
        _P(2, "ErrorIndication", "ignore", "ErrorIndication"),
        _P(3, "Reset", "reject", "ResetRequest", "ResetResponse"),
        _P(
            4,
            "RICcontrol",
            "reject",
            "RICcontrolRequest",
            "RICcontrolAcknowledge",
            "RICcontrolFailure",
        ),
        _P(5, "RICindication", "ignore", "RICindication"),
        _P(6, "RICserviceQuery", "ignore", "RICserviceQuery"),
        _P(
            7,
            "RICserviceUpdate",
            "reject",
            "RICserviceUpdate",
            "RICserviceUpdateAcknowledge",
            "RICserviceUpdateFailure",
        ),
        _P(
            8,
            "RICsubscription",
            "reject",
            "RICsubscriptionRequest",
            "RICsubscriptionResponse",
            "RICsubscriptionFailure",
        ),
        _P(
            9,
            "RICsubscriptionDelete",
            "reject",
            "RICsubscriptionDeleteRequest",
            "RICsubscriptionDeleteResponse",
            "RICsubscriptionDeleteFailure",
        ),
        _P(
            10,
            "E2nodeConfigurationUpdate",
            "reject",
            "E2nodeConfigurationUpdate",
            "E2nodeConfigurationUpdateAcknowledge",
            "E2nodeConfigurationUpdateFailure",
        ),
        _P(
            11,
            "E2connectionUpdate",
            "reject",
            "E2connectionUpdate",
            "E2connectionUpdateAcknowledge",
            "E2connectionUpdateFailure",
        ),
        _P(12, "RICsubscriptionDeleteRequired", "ignore", "RICsubscriptionDeleteRequired"),
        _P(13, "E2removal", "reject", "E2RemovalRequest", "E2RemovalResponse", "E2RemovalFailure"),
        _P(
            14,
            "RICsubscriptionModification",
            "reject",
            "RICsubscriptionModificationRequest",
            "RICsubscriptionModificationResponse",
            "RICsubscriptionModificationFailure",
        ),
        _P(
            15,
            "RICsubscriptionModificationRequired",
            "reject",
            "RICsubscriptionModificationRequired",
            "RICsubscriptionModificationConfirm",
            "RICsubscriptionModificationRefuse",
        ),
        _P(16, "RICquery", "reject", "RICqueryRequest", "RICqueryResponse", "RICqueryFailure"),
        _P(
            17,
            "RICsubscriptionAudit",
            "reject",
            "RICsubscriptionAuditRequest",
            "RICsubscriptionAuditResponse",
            "RICsubscriptionAuditFailure",
        ),
    )
}

# Protocol IEs of each message: (id, value type, criticality R/I/N, presence M/O/C).
MESSAGE_IES: dict[str, tuple[tuple[int, str, str, str], ...]] = {
    "RICsubscriptionRequest": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (30, "RICsubscriptionDetails", "R", "M"),
    ),
    "RICsubscriptionResponse": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (17, "RICaction-Admitted-List", "R", "M"),
        (18, "RICaction-NotAdmitted-List", "R", "O"),
    ),
    "RICsubscriptionFailure": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (1, "Cause", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICsubscriptionAuditRequest": (
        (29, "RICrequestID", "R", "M"),
        (98, "RICsubscriptionAuditFlag", "R", "O"),
        (99, "RICsubscriptionAuditList", "R", "O"),
    ),
    "RICsubscriptionAuditResponse": (
        (29, "RICrequestID", "R", "M"),
        (102, "RICsubscriptionAuditActionList", "R", "M"),
        (104, "RICsubscriptionAuditList", "R", "O"),
        (103, "RICsubscriptionAuditActionList", "R", "O"),
    ),
    "RICsubscriptionAuditFailure": (
        (29, "RICrequestID", "R", "M"),
        (1, "Cause", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICsubscriptionDeleteRequest": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
    ),
    "RICsubscriptionDeleteResponse": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
    ),
    "RICsubscriptionDeleteFailure": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (1, "Cause", "I", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICsubscriptionDeleteRequired": ((60, "RICsubscription-List-withCause", "I", "M"),),
    "RICsubscriptionModificationRequest": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (64, "RICeventTriggerDefinition", "I", "O"),
        (65, "RICactions-ToBeRemovedForModification-List", "I", "O"),
        (67, "RICactions-ToBeModifiedForModification-List", "I", "O"),
        (69, "RICactions-ToBeAddedForModification-List", "I", "O"),
    ),
    "RICsubscriptionModificationResponse": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (71, "RICactions-RemovedForModification-List", "I", "O"),
        (73, "RICactions-FailedToBeRemovedForModification-List", "I", "O"),
        (75, "RICactions-ModifiedForModification-List", "I", "O"),
        (77, "RICactions-FailedToBeModifiedForModification-List", "I", "O"),
        (79, "RICactions-AddedForModification-List", "I", "O"),
        (81, "RICactions-FailedToBeAddedForModification-List", "I", "O"),
    ),
    "RICsubscriptionModificationFailure": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (1, "Cause", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICsubscriptionModificationRequired": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (83, "RICactions-RequiredToBeModified-List", "I", "O"),
        (85, "RICactions-RequiredToBeRemoved-List", "I", "O"),
    ),
    "RICsubscriptionModificationConfirm": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (87, "RICactions-ConfirmedForModification-List", "I", "O"),
        (89, "RICactions-RefusedToBeModified-List", "I", "O"),
        (91, "RICactions-ConfirmedForRemoval-List", "I", "O"),
        (93, "RICactions-RefusedToBeRemoved-List", "I", "O"),
    ),
    "RICsubscriptionModificationRefuse": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (1, "Cause", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICindication": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (15, "RICactionID", "R", "M"),
        (27, "RICindicationSN", "R", "O"),
        (28, "RICindicationType", "R", "M"),
        (25, "RICindicationHeader", "R", "M"),
        (26, "RICindicationMessage", "R", "M"),
        (20, "RICcallProcessID", "R", "O"),
    ),
    "RICcontrolRequest": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (20, "RICcallProcessID", "R", "O"),
        (22, "RICcontrolHeader", "R", "M"),
        (23, "RICcontrolMessage", "R", "M"),
        (21, "RICcontrolAckRequest", "R", "O"),
    ),
    "RICcontrolAcknowledge": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (20, "RICcallProcessID", "R", "O"),
        (32, "RICcontrolOutcome", "R", "O"),
    ),
    "RICcontrolFailure": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (20, "RICcallProcessID", "R", "O"),
        (1, "Cause", "I", "M"),
        (32, "RICcontrolOutcome", "R", "O"),
    ),
    "RICqueryRequest": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (95, "RICqueryHeader", "R", "M"),
        (96, "RICqueryDefinition", "R", "M"),
    ),
    "RICqueryResponse": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (97, "RICqueryOutcome", "R", "M"),
    ),
    "RICqueryFailure": (
        (29, "RICrequestID", "R", "M"),
        (5, "RANfunctionID", "R", "M"),
        (1, "Cause", "I", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "ErrorIndication": (
        (49, "TransactionID", "R", "O"),
        (29, "RICrequestID", "R", "O"),
        (5, "RANfunctionID", "R", "O"),
        (1, "Cause", "I", "O"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "E2setupRequest": (
        (49, "TransactionID", "R", "M"),
        (3, "GlobalE2node-ID", "R", "M"),
        (10, "RANfunctions-List", "R", "M"),
        (50, "E2nodeComponentConfigAddition-List", "R", "M"),
    ),
    "E2setupResponse": (
        (49, "TransactionID", "R", "M"),
        (4, "GlobalRIC-ID", "R", "M"),
        (9, "RANfunctionsID-List", "R", "O"),
        (13, "RANfunctionsIDcause-List", "R", "O"),
        (52, "E2nodeComponentConfigAdditionAck-List", "R", "M"),
    ),
    "E2setupFailure": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "I", "M"),
        (31, "TimeToWait", "I", "O"),
        (2, "CriticalityDiagnostics", "I", "O"),
        (48, "TNLinformation", "I", "O"),
    ),
    "E2connectionUpdate": (
        (49, "TransactionID", "R", "M"),
        (44, "E2connectionUpdate-List", "R", "O"),
        (46, "E2connectionUpdateRemove-List", "R", "O"),
        (45, "E2connectionUpdate-List", "R", "O"),
    ),
    "E2connectionUpdateAcknowledge": (
        (49, "TransactionID", "R", "M"),
        (39, "E2connectionUpdate-List", "R", "O"),
        (40, "E2connectionSetupFailed-List", "R", "O"),
    ),
    "E2connectionUpdateFailure": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "R", "O"),
        (31, "TimeToWait", "I", "O"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "E2nodeConfigurationUpdate": (
        (49, "TransactionID", "R", "M"),
        (3, "GlobalE2node-ID", "R", "O"),
        (50, "E2nodeComponentConfigAddition-List", "R", "O"),
        (33, "E2nodeComponentConfigUpdate-List", "R", "O"),
        (54, "E2nodeComponentConfigRemoval-List", "R", "O"),
        (58, "E2nodeTNLassociationRemoval-List", "R", "O"),
    ),
    "E2nodeConfigurationUpdateAcknowledge": (
        (49, "TransactionID", "R", "M"),
        (52, "E2nodeComponentConfigAdditionAck-List", "R", "O"),
        (35, "E2nodeComponentConfigUpdateAck-List", "R", "O"),
        (56, "E2nodeComponentConfigRemovalAck-List", "R", "O"),
    ),
    "E2nodeConfigurationUpdateFailure": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "I", "M"),
        (31, "TimeToWait", "I", "O"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "ResetRequest": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "I", "M"),
    ),
    "ResetResponse": (
        (49, "TransactionID", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICserviceUpdate": (
        (49, "TransactionID", "R", "M"),
        (10, "RANfunctions-List", "R", "O"),
        (12, "RANfunctions-List", "R", "O"),
        (11, "RANfunctionsID-List", "R", "O"),
    ),
    "RICserviceUpdateAcknowledge": (
        (49, "TransactionID", "R", "M"),
        (9, "RANfunctionsID-List", "R", "O"),
        (13, "RANfunctionsIDcause-List", "R", "O"),
    ),
    "RICserviceUpdateFailure": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "R", "M"),
        (31, "TimeToWait", "I", "O"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "RICserviceQuery": (
        (49, "TransactionID", "R", "M"),
        (9, "RANfunctionsID-List", "R", "O"),
    ),
    "E2RemovalRequest": ((49, "TransactionID", "R", "M"),),
    "E2RemovalResponse": (
        (49, "TransactionID", "R", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
    "E2RemovalFailure": (
        (49, "TransactionID", "R", "M"),
        (1, "Cause", "I", "M"),
        (2, "CriticalityDiagnostics", "I", "O"),
    ),
}
# Items of the ProtocolIE-SingleContainer lists: IE id -> (value type, criticality).
ITEM_IES: dict[int, tuple[str, str]] = {
    19: ("RICaction-ToBeSetup-Item", "I"),
    14: ("RICaction-Admitted-Item", "I"),
    16: ("RICaction-NotAdmitted-Item", "I"),
    100: ("RICsubscriptionAudit-Item", "I"),
    101: ("RICsubscriptionAuditAction-Item", "I"),
    61: ("RICsubscription-withCause-Item", "I"),
    66: ("RICaction-ToBeRemovedForModification-Item", "I"),
    68: ("RICaction-ToBeModifiedForModification-Item", "I"),
    70: ("RICaction-ToBeAddedForModification-Item", "I"),
    72: ("RICaction-RemovedForModification-Item", "I"),
    74: ("RICaction-FailedToBeRemovedForModification-Item", "I"),
    76: ("RICaction-ModifiedForModification-Item", "I"),
    78: ("RICaction-FailedToBeModifiedForModification-Item", "I"),
    80: ("RICaction-AddedForModification-Item", "I"),
    82: ("RICaction-FailedToBeAddedForModification-Item", "I"),
    84: ("RICaction-RequiredToBeModified-Item", "I"),
    86: ("RICaction-RequiredToBeRemoved-Item", "I"),
    88: ("RICaction-ConfirmedForModification-Item", "I"),
    90: ("RICaction-RefusedToBeModified-Item", "I"),
    92: ("RICaction-ConfirmedForRemoval-Item", "I"),
    94: ("RICaction-RefusedToBeRemoved-Item", "I"),
    43: ("E2connectionUpdate-Item", "I"),
    47: ("E2connectionUpdateRemove-Item", "I"),
    41: ("E2connectionSetupFailed-Item", "I"),
    51: ("E2nodeComponentConfigAddition-Item", "R"),
    34: ("E2nodeComponentConfigUpdate-Item", "R"),
    55: ("E2nodeComponentConfigRemoval-Item", "R"),
    59: ("E2nodeTNLassociationRemoval-Item", "R"),
    53: ("E2nodeComponentConfigAdditionAck-Item", "R"),
    36: ("E2nodeComponentConfigUpdateAck-Item", "R"),
    57: ("E2nodeComponentConfigRemovalAck-Item", "R"),
    8: ("RANfunction-Item", "I"),
    6: ("RANfunctionID-Item", "I"),
    7: ("RANfunctionIDcause-Item", "I"),
}

# Each ProtocolIE-SingleContainer list type -> the IE id of its items.
LIST_ITEMS: dict[str, int] = {
    "RICactions-ToBeSetup-List": 19,
    "RICaction-Admitted-List": 14,
    "RICaction-NotAdmitted-List": 16,
    "RICsubscriptionAuditList": 100,
    "RICsubscriptionAuditActionList": 101,
    "RICsubscription-List-withCause": 61,
    "RICactions-ToBeRemovedForModification-List": 66,
    "RICactions-ToBeModifiedForModification-List": 68,
    "RICactions-ToBeAddedForModification-List": 70,
    "RICactions-RemovedForModification-List": 72,
    "RICactions-FailedToBeRemovedForModification-List": 74,
    "RICactions-ModifiedForModification-List": 76,
    "RICactions-FailedToBeModifiedForModification-List": 78,
    "RICactions-AddedForModification-List": 80,
    "RICactions-FailedToBeAddedForModification-List": 82,
    "RICactions-RequiredToBeModified-List": 84,
    "RICactions-RequiredToBeRemoved-List": 86,
    "RICactions-ConfirmedForModification-List": 88,
    "RICactions-RefusedToBeModified-List": 90,
    "RICactions-ConfirmedForRemoval-List": 92,
    "RICactions-RefusedToBeRemoved-List": 94,
    "E2connectionUpdate-List": 43,
    "E2connectionUpdateRemove-List": 47,
    "E2connectionSetupFailed-List": 41,
    "E2nodeComponentConfigAddition-List": 51,
    "E2nodeComponentConfigUpdate-List": 34,
    "E2nodeComponentConfigRemoval-List": 55,
    "E2nodeTNLassociationRemoval-List": 59,
    "E2nodeComponentConfigAdditionAck-List": 53,
    "E2nodeComponentConfigUpdateAck-List": 36,
    "E2nodeComponentConfigRemovalAck-List": 57,
    "RANfunctions-List": 8,
    "RANfunctionsID-List": 6,
    "RANfunctionsIDcause-List": 7,
}

CRITICALITY = {"R": "reject", "I": "ignore", "N": "notify"}


def _build_ie_types() -> dict[int, str]:
    types: dict[int, str] = {}
    rows = [(i, t) for ies in MESSAGE_IES.values() for (i, t, _c, _p) in ies]
    rows += [(i, t) for i, (t, _c) in ITEM_IES.items()]
    for ie_id, type_name in rows:
        if types.setdefault(ie_id, type_name) != type_name:  # pragma: no cover - table error
            raise AssertionError(f"IE id {ie_id} has two types: {types[ie_id]}, {type_name}")
    return types


#: Protocol IE id -> value type, for every IE of every message and list item.
IE_TYPES: dict[int, str] = _build_ie_types()

#: Message type -> procedure code and PDU kind.
MESSAGE_KIND: dict[str, tuple[int, str]] = {}
for _p in PROCEDURES.values():
    for _kind in ("initiatingMessage", "successfulOutcome", "unsuccessfulOutcome"):
        _m = _p.message(_kind)
        if _m is not None:
            MESSAGE_KIND[_m] = (_p.code, _kind)


def ie_type(ie_id: int) -> str | None:
    """The value type of protocol IE ``ie_id``, or None if unknown."""
    return IE_TYPES.get(ie_id)


def message_type(procedure_code: int, kind: str) -> str | None:
    """The message type of ``kind`` (initiatingMessage, ...) of a procedure, or None."""
    proc = PROCEDURES.get(procedure_code)
    return proc.message(kind) if proc else None


# ---------------------------------------------------------------- the walker
#
# asn1tools gives us the compiled type tree; we walk it alongside a value and
# act on every list of ProtocolIE-Field (the containers): on decode, each
# field's OCTET STRING value is decoded with the type its IE id names; on
# encode, each (type_name, value) pair is encoded to bytes. Types that cannot
# contain a container are skipped without looking at the value.

_FIELD_MEMBERS = ["id", "criticality", "value"]


def _members(t: Any) -> list[Any]:
    cls = type(t).__name__
    if cls in ("Sequence", "Set"):
        return list(t.root_members) + list(t.additions or [])
    if cls == "Choice":
        members = list(t.root_index_to_member.values())
        if t.additions_index_to_member:
            members += list(t.additions_index_to_member.values())
        return members
    return []


def _inner(t: Any) -> Any:
    while type(t).__name__ == "Recursive":
        t = t._inner
    return t


def _is_field_list(t: Any) -> bool:
    t = _inner(t)
    if type(t).__name__ not in ("SequenceOf", "SetOf"):
        return False
    element = _inner(t.element_type)
    return (
        type(element).__name__ == "Sequence"
        and [m.name for m in element.root_members] == _FIELD_MEMBERS
    )


_contains_memo: dict[int, bool] = {}


def _contains_fields(t: Any) -> bool:
    t = _inner(t)
    key = id(t)
    if key in _contains_memo:
        return _contains_memo[key]
    _contains_memo[key] = False  # breaks cycles of recursive types
    if _is_field_list(t):
        result = True
    elif type(t).__name__ in ("SequenceOf", "SetOf"):
        result = _contains_fields(t.element_type)
    else:
        result = any(_contains_fields(m) for m in _members(t))
    _contains_memo[key] = result
    return result


def _compiled_type(type_name: str) -> Any:
    compiled = _spec.load(SPEC)
    try:
        return compiled.types[type_name].type
    except KeyError:
        raise EncodeError(f"E2AP has no type {type_name!r}") from None


def _expand(t: Any, value: Any) -> Any:
    """Decode the containers inside ``value`` (a value of type ``t``)."""
    t = _inner(t)
    if not _contains_fields(t):
        return value
    if _is_field_list(t):
        return [_decode_field(f) for f in value]
    cls = type(t).__name__
    if cls in ("SequenceOf", "SetOf"):
        return [_expand(t.element_type, v) for v in value]
    if cls == "Choice":
        name, inner = value
        for m in _members(t):
            if m.name == name:
                return (name, _expand(m, inner))
        return value
    if cls in ("Sequence", "Set"):
        out = dict(value)
        for m in _members(t):
            if m.name in out and _contains_fields(m):
                out[m.name] = _expand(m, out[m.name])
        return out
    return value


def _compress(t: Any, value: Any) -> Any:
    """The inverse of :func:`_expand`: encode (type, value) pairs to bytes."""
    t = _inner(t)
    if not _contains_fields(t):
        return value
    if _is_field_list(t):
        return [_encode_field(f) for f in value]
    cls = type(t).__name__
    if cls in ("SequenceOf", "SetOf"):
        return [_compress(t.element_type, v) for v in value]
    if cls == "Choice":
        name, inner = value
        for m in _members(t):
            if m.name == name:
                return (name, _compress(m, inner))
        return value
    if cls in ("Sequence", "Set"):
        out = dict(value)
        for m in _members(t):
            if m.name in out and _contains_fields(m):
                out[m.name] = _compress(m, out[m.name])
        return out
    return value


def decode_open(type_name: str, data: bytes) -> Any:
    """Decode ``data`` as ``type_name`` and every container inside it."""
    value = _spec.decode(SPEC, type_name, data)
    return _expand(_compiled_type(type_name), value)


def encode_open(type_name: str, value: Any) -> bytes:
    """Encode a full value of ``type_name`` (containers as (type, value) pairs)."""
    return _spec.encode(SPEC, type_name, _compress(_compiled_type(type_name), value))


def _decode_field(field: dict[str, Any]) -> dict[str, Any]:
    ie_id = field["id"]
    type_name = IE_TYPES.get(ie_id)
    if type_name is None:
        return field  # unknown IE: keep its bytes, so that the message still round-trips
    try:
        value = decode_open(type_name, field["value"])
    except DecodeError as exc:
        raise DecodeError(f"protocol IE {ie_id} ({type_name}): {exc}") from exc
    return {"id": ie_id, "criticality": field["criticality"], "value": (type_name, value)}


def _encode_field(field: dict[str, Any]) -> dict[str, Any]:
    value = field["value"]
    if isinstance(value, bytes | bytearray):
        return field
    try:
        type_name, inner = value
    except (TypeError, ValueError):
        raise EncodeError(
            f"protocol IE {field.get('id')}: value must be bytes or a (type, value) pair"
        ) from None
    expected = IE_TYPES.get(field.get("id", -1))
    if expected is not None and expected != type_name:
        raise EncodeError(f"protocol IE {field['id']} carries {expected}, not {type_name}")
    try:
        encoded = encode_open(type_name, inner)
    except EncodeError as exc:
        raise EncodeError(f"protocol IE {field.get('id')} ({type_name}): {exc}") from exc
    return {"id": field["id"], "criticality": field["criticality"], "value": encoded}


def decode_pdu(data: bytes) -> tuple[str, dict[str, Any]]:
    """Fully decode an E2AP-PDU (every open type expanded)."""
    pdu = _spec.decode(SPEC, "E2AP-PDU", data)
    kind, msg = pdu
    if kind is None or not isinstance(msg, dict):
        raise DecodeError("E2AP-PDU: unknown extension alternative")
    mtype = message_type(msg["procedureCode"], kind)
    if mtype is None:
        return pdu  # an unknown procedure: keep the value bytes
    out = dict(msg)
    try:
        out["value"] = (mtype, decode_open(mtype, msg["value"]))
    except DecodeError as exc:
        raise DecodeError(f"{mtype}: {exc}") from exc
    return (kind, out)


def encode_pdu(value: tuple[str, dict[str, Any]]) -> bytes:
    """Encode a full E2AP-PDU value (see :func:`decode_pdu`)."""
    try:
        kind, msg = value
        inner = msg["value"]
    except (TypeError, ValueError, KeyError):
        raise EncodeError(
            "an E2AP-PDU value is (kind, {procedureCode, criticality, value})"
        ) from None
    if not isinstance(inner, bytes | bytearray):
        try:
            mtype, body = inner
        except (TypeError, ValueError):
            raise EncodeError("the message value must be bytes or a (type, value) pair") from None
        expected = message_type(msg.get("procedureCode", -1), kind)
        if expected is not None and expected != mtype:
            raise EncodeError(
                f"procedure {msg.get('procedureCode')} {kind} carries {expected}, not {mtype}"
            )
        msg = dict(msg)
        msg["value"] = encode_open(mtype, body)
    return _spec.encode(SPEC, "E2AP-PDU", (kind, msg))
