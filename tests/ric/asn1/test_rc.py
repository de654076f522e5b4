"""E2SM-RC v1.03: control header/message/outcome, the recursive RAN
parameter types, the RAN function definition, the handover and UE release
builders, a cross-check against pycrate, and bad input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtrust.errors import DecodeError, EncodeError, InputError
from xtrust.ric.asn1 import _spec, rc
from xtrust.ric.asn1.kpm import (
    EutraCgi,
    GnbCuUpUeId,
    GnbDuUeId,
    GnbUeId,
    Guami,
    NrCgi,
    OtherUeId,
    RanFunctionName,
    plmn_from_mcc_mnc,
)
from xtrust.ric.asn1.rc import (
    BitString,
    CallProcessBreakpoint,
    CallProcessType,
    ControlAction,
    ControlStyle,
    Element,
    EventTriggerDefinition,
    EventTriggerStyle,
    InsertIndication,
    InsertStyle,
    ParamDef,
    ParamList,
    PolicyAction,
    PolicyStyle,
    RcControlHeader,
    RcControlMessage,
    RcControlOutcome,
    RcRanFunctionDefinition,
    ReportStyle,
    Structure,
)

from .pycrate_values import (
    compile_with_pycrate,
    decodes_or_raises_decode_error,
    pycrate_decode,
    pycrate_encode,
)
from .test_kpm_fast import mutate, printable

SPEC = "e2sm-rc"
ROOT = Path(__file__).resolve().parents[3]
PLMN = plmn_from_mcc_mnc("001", "01")
UE = GnbUeId(5, Guami(PLMN, 1, 2, 3))
TARGET = NrCgi(PLMN, 0x00000E00A)


@pytest.fixture(scope="module")
def pycrate_rc(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("pycrate_asn1c", reason="pycrate is a test dependency")
    module = compile_with_pycrate(
        ROOT / "xtrust" / "ric" / "asn1" / "e2sm_rc.asn",
        tmp_path_factory.mktemp("pycrate"),
        "xtrust_pycrate_rc",
    )
    return module.E2SM_RC_IEs


# ---------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------


def test_service_model_identity() -> None:
    sm = rc.SERVICE_MODEL
    assert (sm.short_name, sm.oid, sm.spec) == (
        "ORAN-E2SM-RC",
        "1.3.6.1.4.1.53148.1.1.2.3",
        "e2sm-rc",
    )
    assert sm.matches("1.3.6.1.4.1.53148.1.1.2.3") and not sm.matches("1.3.6.1.4.1.53148.1.2.2.2")
    compiled = _spec.load(sm.spec)
    for type_name in (
        sm.ran_function_definition_type,
        sm.event_trigger_type,
        sm.action_definition_type,
        sm.indication_header_type,
        sm.indication_message_type,
        sm.control_header_type,
        sm.control_message_type,
        sm.control_outcome_type,
        sm.call_process_id_type,
    ):
        assert type_name in compiled.types


# ---------------------------------------------------------------------------
# Control header: a hand-checked vector
# ---------------------------------------------------------------------------

# E2SM-RC-ControlHeader, format 1, UE gNB-DU-UEID {gNB-CU-UE-F1AP-ID 5},
# style 3, control action 1, no decision:
#   0 0 0 0     SEQUENCE ext, CHOICE ext (one root alternative: no index),
#               Format1 ext, ric-ControlDecision absent
#   0 001       UEID CHOICE ext, alternative 1 of 7 (3 bits)
#   0 0         UEID-GNB-DU ext, ran-UEID absent
#   00          F1AP ID (0..2^32-1): octet count - 1 in 2 bits
#   0000        padding                                       -> 01 00
#   05          the F1AP ID
#   01 03       ric-Style-Type, unconstrained INTEGER: length 1, value 3
#   0 + pad     ric-ControlAction-ID (1..65535, ...): ext bit, then the
#               range 65535 needs two aligned octets          -> 00
#   00 00       1 - 1
CONTROL_HEADER_HO_DU_UE_5 = bytes.fromhex("0100 05 0103 00 0000")


def test_control_header_hand_vector(pycrate_rc: Any) -> None:
    header = RcControlHeader(GnbDuUeId(5), 3, 1)
    assert header.encode() == CONTROL_HEADER_HO_DU_UE_5
    assert RcControlHeader.decode(CONTROL_HEADER_HO_DU_UE_5) == header
    assert (
        pycrate_encode(pycrate_rc, "E2SM-RC-ControlHeader", header.to_asn1())
        == CONTROL_HEADER_HO_DU_UE_5
    )


@pytest.mark.parametrize(
    "ue_id",
    [
        UE,
        GnbDuUeId(1, bytes(8)),
        GnbCuUpUeId(9),
        OtherUeId("ng-eNB-DU-UEID", {"ng-eNB-CU-UE-W1AP-ID": 3}),
    ],
    ids=lambda u: type(u).__name__,
)
@pytest.mark.parametrize("decision", [None, "accept", "reject"])
def test_control_header_round_trip(pycrate_rc: Any, ue_id: Any, decision: Any) -> None:
    header = RcControlHeader(ue_id, 2, 6, decision)
    data = header.encode()
    assert RcControlHeader.decode(data) == header
    assert pycrate_encode(pycrate_rc, "E2SM-RC-ControlHeader", header.to_asn1()) == data


# ---------------------------------------------------------------------------
# Recursive RAN parameter trees
# ---------------------------------------------------------------------------

ran_values: st.SearchStrategy[Any] = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.binary(max_size=20),
    printable(0, 20),
    # BIT STRINGs with zero padding bits, as the decoder returns them
    st.integers(0, 40).flatmap(
        lambda n: st.integers(0, 2**n - 1).map(
            lambda v: BitString((v << ((-n) & 7)).to_bytes((n + 7) // 8, "big"), n)
        )
    ),
)
param_ids = st.integers(1, 2**32 + 10)  # includes IDs outside the extension root
elements = st.builds(Element, param_ids, st.none() | ran_values) | st.builds(
    lambda i, v: Element(i, v, key=True), param_ids, ran_values
)


def ran_trees(reals: bool = False) -> st.SearchStrategy[Any]:
    leaves = (
        elements
        if not reals
        else elements | st.builds(Element, param_ids, st.floats(allow_nan=False))
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.builds(Structure, param_ids, st.lists(children, max_size=3).map(tuple))
            | st.builds(
                ParamList,
                param_ids,
                st.lists(st.lists(children, max_size=3).map(tuple), min_size=1, max_size=3).map(
                    tuple
                ),
            )
        ),
        max_leaves=12,
    )


TREES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@TREES
@given(st.lists(ran_trees(reals=True), max_size=4))
def test_ran_parameter_trees_round_trip(params: list[Any]) -> None:
    message = RcControlMessage(tuple(params))
    assert RcControlMessage.decode(message.encode()) == message


@TREES
@given(st.lists(ran_trees(), max_size=4))
def test_pycrate_decodes_our_ran_parameter_trees(pycrate_rc: Any, params: list[Any]) -> None:
    """pycrate reuses one object per recursive type, so its encoder breaks on
    some nested trees (pycrate 0.8.1: IndexError); its decoder is the
    reference here, and its encoder for flat parameter lists below."""
    message = RcControlMessage(tuple(params))
    ours = message.encode()
    assert pycrate_decode(pycrate_rc, "E2SM-RC-ControlMessage", ours) == _spec.decode(
        SPEC, "E2SM-RC-ControlMessage", ours
    )


@TREES
@given(st.lists(elements, max_size=6))
def test_flat_ran_parameter_lists_match_pycrate(pycrate_rc: Any, params: list[Any]) -> None:
    message = RcControlMessage(tuple(params))
    assert (
        pycrate_encode(pycrate_rc, "E2SM-RC-ControlMessage", message.to_asn1()) == message.encode()
    )


def test_nested_structures_and_lists() -> None:
    """A deep mixed tree: STRUCTURE > LIST > STRUCTURE entries > LIST ..."""
    leaf = Element(12, b"\x01", key=True)
    tree: Any = leaf
    for depth in range(12):
        if depth % 2:
            tree = Structure(100 + depth, (tree, Element(200 + depth, depth)))
        else:
            tree = ParamList(100 + depth, ((tree,), (Element(300 + depth, "x"),), ()))
    message = RcControlMessage(
        (tree, Element(1, True), Element(2, 2.5), Element(3, BitString(b"\xa0", 3)))
    )
    data = message.encode()
    decoded = RcControlMessage.decode(data)
    assert decoded == message
    depths = [d for d, _ in decoded.walk()]
    assert max(depths) == 12
    assert sum(1 for _, p in decoded.walk() if p == leaf) == 1
    # Empty STRUCTUREs and LIST entries travel without sequence-of-ranParameters.
    small = RcControlMessage((ParamList(7, ((Element(9, b"\x05", key=True),), ())), Structure(8)))
    raw = _spec.decode(SPEC, "E2SM-RC-ControlMessage", small.encode())
    items = raw["ric-controlMessage-formats"][1]["ranP-List"]
    entries = items[0]["ranParameter-valueType"][1]["ranParameter-List"]["list-of-ranParameter"]
    assert entries[1] == {}
    assert items[1]["ranParameter-valueType"] == (
        "ranP-Choice-Structure",
        {"ranParameter-Structure": {}},
    )
    assert RcControlMessage.decode(small.encode()) == small


def test_ran_parameter_values_are_checked() -> None:
    with pytest.raises(InputError):
        Element(1, key=True)
    with pytest.raises(InputError):
        RcControlMessage((Element(1, [1, 2]),)).encode()  # type: ignore[arg-type]
    with pytest.raises(InputError):
        BitString(b"\x00", 9)
    with pytest.raises(InputError):
        RcControlHeader(UE, 3, 1, "maybe")  # type: ignore[arg-type]
    # A 0 ID is outside RANParameter-ID (1..4294967295, ...) but the range is
    # extensible, so it encodes as an extension value; a PrintableString
    # value with a non-printable character is refused by the codec.
    assert RcControlMessage.decode(RcControlMessage((Element(0, 1),)).encode()) == RcControlMessage(
        (Element(0, 1),)
    )
    with pytest.raises(EncodeError):
        RcControlMessage((Element(1, "tab\t"),)).encode()


def test_deep_recursion_is_a_decode_error() -> None:
    # ranP-List of one item, then 3000 levels of "STRUCTURE holding one item":
    # each level is 00 (item ext, ID ext, 1-octet ID) ID 44 (CHOICE
    # Structure, exts, presence) 00 00 (one item).
    level = bytes.fromhex("00 01 44 0000")
    data = bytes.fromhex("00 0001") + level * 3000
    start = time.perf_counter()
    with pytest.raises(DecodeError):
        RcControlMessage.decode(data)
    assert time.perf_counter() - start < 5.0


# ---------------------------------------------------------------------------
# Handover and UE release
# ---------------------------------------------------------------------------


def test_handover_control(pycrate_rc: Any) -> None:
    header_bytes, message_bytes = rc.handover_control(UE, TARGET)
    header = RcControlHeader.decode(header_bytes)
    assert (header.ue_id, header.style, header.action_id) == (UE, 3, 1)
    message = RcControlMessage.decode(message_bytes)
    # Target Primary Cell ID (1) > CHOICE Target Cell (2) > NR Cell (3) > NR CGI (4)
    [(d0, p1), (d1, p2), (d2, p3), (d3, p4)] = list(message.walk())
    assert [(d0, p1.id), (d1, p2.id), (d2, p3.id), (d3, p4.id)] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert isinstance(p4, Element) and not p4.key
    # The NR CGI ELEMENT is the aligned-PER NR-CGI: ext 0 + pad, PLMN, 36-bit cell ID + pad.
    assert p4.value == bytes.fromhex("00") + PLMN + (0x00000E00A << 4).to_bytes(5, "big")
    assert rc.handover_target(message) == TARGET
    assert pycrate_encode(pycrate_rc, "E2SM-RC-ControlMessage", message.to_asn1()) == message_bytes


def test_handover_to_an_eutra_cell() -> None:
    target = EutraCgi(PLMN, 0x1234567)
    _, message_bytes = rc.handover_control(GnbDuUeId(1), target, decision="accept")
    message = RcControlMessage.decode(message_bytes)
    assert [p.id for _, p in message.walk()] == [1, 2, 5, 6]
    assert rc.handover_target(message) == target


def test_handover_target_reports_what_it_cannot_read() -> None:
    with pytest.raises(DecodeError, match="Target Primary Cell"):
        rc.handover_target(RcControlMessage(()))
    choice = Structure(2, (Structure(3, (Element(4, "cell-1"),)),))
    with pytest.raises(DecodeError, match="not an OCTET STRING"):
        rc.handover_target(RcControlMessage((Structure(1, (choice,)),)))
    with pytest.raises(DecodeError, match="neither"):
        rc.handover_target(RcControlMessage((Structure(1, (Structure(2, ()),)),)))
    garbage = Structure(2, (Structure(3, (Element(4, b"\xff"),)),))
    with pytest.raises(DecodeError):
        rc.handover_target(RcControlMessage((Structure(1, (garbage,)),)))
    with pytest.raises(InputError):
        rc.handover_control(UE, "cell-1")  # type: ignore[arg-type]


def test_ue_release() -> None:
    header_bytes, message_bytes = rc.ue_release(UE)
    header = RcControlHeader.decode(header_bytes)
    assert (header.ue_id, header.style, header.action_id) == (UE, 4, 4)
    # Control message format 1 with an empty ranP-List (SIZE (0..65535)):
    # ext 0, CHOICE ext 0, Format1 ext 0, pad; count 0 in two aligned octets.
    assert message_bytes == bytes.fromhex("00 0000")
    assert RcControlMessage.decode(message_bytes) == RcControlMessage(())
    _, with_params = rc.ue_release(UE, params=[Element(1, 1)])
    assert RcControlMessage.decode(with_params).params == (Element(1, 1),)


def test_control_outcome(pycrate_rc: Any) -> None:
    outcome = RcControlOutcome(
        ((1, 5), (2, b"\x01\x02"), (3, "ok"), (4, False), (5, BitString(b"\x80", 1)))
    )
    data = outcome.encode()
    assert RcControlOutcome.decode(data) == outcome
    assert pycrate_encode(pycrate_rc, "E2SM-RC-ControlOutcome", outcome.to_asn1()) == data
    # ranP-List SIZE (0..255): 256 items do not fit.
    with pytest.raises(EncodeError):
        RcControlOutcome(tuple((i + 1, i) for i in range(256))).encode()


def test_other_formats_are_reported() -> None:
    value = {
        "ric-controlHeader-formats": ("controlHeader-Format2", {"ric-ControlDecision": "accept"})
    }
    data = _spec.encode(SPEC, "E2SM-RC-ControlHeader", value)
    with pytest.raises(DecodeError, match="unsupported control header format"):
        RcControlHeader.decode(data)


# ---------------------------------------------------------------------------
# RAN function definition
# ---------------------------------------------------------------------------


def sample_ran_function_definition() -> RcRanFunctionDefinition:
    target_cell = ParamDef(
        1,
        "Target Primary Cell ID",
        (
            ParamDef(
                2,
                "CHOICE Target Cell",
                (
                    ParamDef(3, "NR Cell", (ParamDef(4, "NR CGI"),)),
                    ParamDef(5, "E-UTRA Cell", (ParamDef(6, "E-UTRA CGI"),)),
                ),
            ),
        ),
    )
    pdu_sessions = ParamDef(
        7,
        "List of PDU sessions for handover",
        (ParamDef(8, "PDU session Item for handover", (ParamDef(9, "PDU Session ID"),)),),
        is_list=True,
    )
    return RcRanFunctionDefinition(
        RanFunctionName(rc.SHORT_NAME, rc.OID, "RAN Control", 3),
        EventTriggerDefinition(
            (
                EventTriggerStyle(1, "Message Event", 1),
                EventTriggerStyle(4, "UE Information Change", 4),
            ),
            l2_params=(ParamDef(100, "UL MAC CE"),),
            call_process_types=(
                CallProcessType(
                    1,
                    "Handover",
                    (CallProcessBreakpoint(1, "Handover Preparation", (ParamDef(1, "Target"),)),),
                ),
            ),
            ue_id_params=(ParamDef(1, "UE ID"),),
            cell_id_params=(ParamDef(1, "Cell Global ID"),),
        ),
        report_styles=(
            ReportStyle(4, "UE Information", 4, 1, 1, 2, (ParamDef(202, "RRC State Changed To"),)),
        ),
        insert_styles=(
            InsertStyle(
                3,
                "Connected Mode Mobility Control Request",
                2,
                3,
                2,
                5,
                1,
                (InsertIndication(1, "Handover Control request", (target_cell,)),),
            ),
        ),
        control_styles=(
            ControlStyle(
                3,
                "Connected Mode Mobility Control",
                (ControlAction(1, "Handover Control", (target_cell, pdu_sessions)),),
                outcome_params=(ParamDef(1, "Outcome"),),
                call_process_id_format=1,
            ),
            ControlStyle(4, "Radio Access Control", (ControlAction(4, "RRC Connection Release"),)),
        ),
        policy_styles=(
            PolicyStyle(
                2,
                "Radio Resource Allocation",
                1,
                (
                    PolicyAction(
                        6, "Slice-level PRB quota", 2, (ParamDef(1, "RRM Policy Ratio List"),)
                    ),
                ),
            ),
        ),
    )


def test_ran_function_definition_round_trip(pycrate_rc: Any) -> None:
    rfd = sample_ran_function_definition()
    data = rfd.encode()
    assert RcRanFunctionDefinition.decode(data) == rfd
    assert rfd.supports_control(3, 1) and rfd.supports_control(4, 4)
    assert not rfd.supports_control(3, 2) and not rfd.supports_control(9, 1)
    # The parameter definitions are extension additions of their items: pycrate's
    # decoder is the reference there (see test_kpm.py about its encoder).
    assert pycrate_decode(pycrate_rc, "E2SM-RC-RANFunctionDefinition", data) == _spec.decode(
        SPEC, "E2SM-RC-RANFunctionDefinition", data
    )
    minimal = RcRanFunctionDefinition(RanFunctionName(rc.SHORT_NAME, rc.OID, "RAN Control"))
    assert RcRanFunctionDefinition.decode(minimal.encode()) == minimal


# ---------------------------------------------------------------------------
# Bad input to every decoder
# ---------------------------------------------------------------------------

DECODERS = {
    "control header": RcControlHeader.decode,
    "control message": RcControlMessage.decode,
    "control outcome": RcControlOutcome.decode,
    "RAN function definition": RcRanFunctionDefinition.decode,
}
VALID = {
    "control header": [CONTROL_HEADER_HO_DU_UE_5, rc.handover_control(UE, TARGET)[0]],
    "control message": [rc.handover_control(UE, TARGET)[1]],
    "control outcome": [RcControlOutcome(((1, 5), (2, "x"))).encode()],
    "RAN function definition": [sample_ran_function_definition().encode()],
}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=64))
def test_random_bytes_give_value_or_decode_error(name: str, data: bytes) -> None:
    decodes_or_raises_decode_error(DECODERS[name], data)


@FUZZ
@given(st.sampled_from(sorted(DECODERS)), st.data())
def test_mutated_encodings_give_value_or_decode_error(name: str, data: st.DataObject) -> None:
    valid = data.draw(st.sampled_from(VALID[name]))
    decodes_or_raises_decode_error(DECODERS[name], mutate(valid, data.draw))


def test_truncated_input() -> None:
    for name, decoder in DECODERS.items():
        for valid in VALID[name]:
            for end in range(len(valid)):
                decodes_or_raises_decode_error(decoder, valid[:end])
        with pytest.raises(DecodeError):
            decoder(b"")
