"""Our E2AP codec on its own: round trips, bad input, fuzzing, the CLI."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtrust.cli import main
from xtrust.errors import DecodeError, EncodeError, InputError
from xtrust.ric.asn1 import e2ap
from xtrust.ric.asn1.jsonval import from_json, to_json

from .e2ap_strategies import for_pdu

# A RIC Indication built by hand from the E2AP layout (X.691 aligned PER):
# 00 initiatingMessage (choice index 0, extension bit 0), 05 procedure code 5,
# 40 criticality ignore (index 1 in 2 bits), 2c open-type length 44, then the
# RICindication: 00 (extension bit), 0006 IE count, and six ProtocolIE-Fields
# each as id (2 octets), criticality (2 bits, padded) and open-type value.
INDICATION = bytes.fromhex(
    "0005402c000006"
    "001d0005 00007b0001"  # id 29 RICrequestID {123, 1}
    "00050002 0002"  # id 5 RANfunctionID 2
    "000f0001 01"  # id 15 RICactionID 1
    "001c0001 00"  # id 28 RICindicationType report
    "00190004 03686472"  # id 25 RICindicationHeader 'hdr'
    "001a0004 036d7367".replace(" ", "")  # id 26 RICindicationMessage 'msg'
)


def test_hand_built_indication_decodes() -> None:
    kind, msg = e2ap.decode_pdu(INDICATION)
    assert kind == "initiatingMessage"
    assert msg["procedureCode"] == 5
    mtype, body = msg["value"]
    assert mtype == "RICindication"
    ies = {f["id"]: f["value"] for f in body["protocolIEs"]}
    assert ies[29] == ("RICrequestID", {"ricRequestorID": 123, "ricInstanceID": 1})
    assert ies[25] == ("RICindicationHeader", b"hdr")
    assert e2ap.encode_pdu((kind, msg)) == INDICATION


def test_unknown_ie_is_kept_as_bytes_and_round_trips() -> None:
    kind, msg = e2ap.decode_pdu(INDICATION)
    body = msg["value"][1]
    body["protocolIEs"].append({"id": 999, "criticality": "ignore", "value": b"\x01\x02"})
    data = e2ap.encode_pdu((kind, msg))
    assert e2ap.decode_pdu(data)[1]["value"][1]["protocolIEs"][-1]["value"] == b"\x01\x02"


def test_encode_rejects_wrong_ie_type() -> None:
    kind, msg = e2ap.decode_pdu(INDICATION)
    msg["value"][1]["protocolIEs"][1]["value"] = ("RICactionID", 2)
    with pytest.raises(EncodeError, match="carries RANfunctionID"):
        e2ap.encode_pdu((kind, msg))


def test_encode_rejects_out_of_range_value() -> None:
    kind, msg = e2ap.decode_pdu(INDICATION)
    msg["value"][1]["protocolIEs"][1]["value"] = ("RANfunctionID", 5000)
    with pytest.raises(EncodeError):
        e2ap.encode_pdu((kind, msg))


def test_bad_ie_value_names_the_ie() -> None:
    broken = bytearray(INDICATION)
    broken[12] = 0xFF  # inside the RICrequestID value: now too short for its length
    with pytest.raises(DecodeError):
        e2ap.decode_pdu(bytes(broken[:14]))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_decode_or_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        e2ap.decode_pdu(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    value = draw(for_pdu(draw(st.sampled_from(sorted(e2ap.MESSAGE_KIND)))))
    data = bytearray(e2ap.encode_pdu(value))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_fuzz_mutated_messages_decode_or_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        e2ap.decode_pdu(data)


def test_huge_claimed_length_fails_fast() -> None:
    # an open-type length of 16K fragments claimed in a 10-byte input
    with pytest.raises(DecodeError):
        e2ap.decode_pdu(bytes.fromhex("000540c4") + b"\xff" * 6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(e2ap.MESSAGE_KIND)).flatmap(for_pdu))
def test_json_round_trip(value: Any) -> None:
    doc = json.loads(json.dumps(to_json(value)))
    assert from_json("e2ap", "E2AP-PDU", doc) == value


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (["initiatingMessage", {"procedureCode": "x"}], "procedureCode: expected an integer"),
        (["nope", {}], "'nope' is not an alternative"),
        ({"a": 1}, "a CHOICE is"),
        (["initiatingMessage", {"bogus": 1}], "unknown member 'bogus'"),
        (["initiatingMessage", {"value": "zz"}], "is not valid hex"),
    ],
)
def test_from_json_names_the_bad_path(doc: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        from_json("e2ap", "E2AP-PDU", doc)


# ------------------------------------------------------------------ CLI


def cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(_main_wrapper, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


import click  # noqa: E402


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _main_wrapper(args: tuple[str, ...]) -> None:
    raise SystemExit(main(list(args)))


def test_cli_decode_then_encode_gives_back_the_bytes() -> None:
    code, out, _ = cli("codec", "decode", "--spec", "e2ap", "--hex", INDICATION.hex())
    assert code == 0
    assert json.loads(out)[1]["value"][0] == "RICindication"
    code, out2, _ = cli("codec", "encode", "--spec", "e2ap", "--file", "-", input=out)
    assert code == 0
    assert out2.strip() == INDICATION.hex()


def test_cli_decode_named_type_and_binary_file(tmp_path: Any) -> None:
    f = tmp_path / "ricreq.bin"
    f.write_bytes(bytes.fromhex("00007b0001"))
    code, out, _ = cli(
        "codec", "decode", "--spec", "e2ap", "--type", "RICrequestID", "--file", str(f)
    )
    assert code == 0
    assert json.loads(out) == {"ricRequestorID": 123, "ricInstanceID": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["decode", "--spec", "e2ap", "--hex", "zz"], "not valid hex"),
        (["decode", "--spec", "e2ap", "--hex", "0005ff"], "cannot decode"),
        (["decode", "--spec", "e2ap"], "exactly one of --hex or --file"),
        (["decode", "--spec", "e2ap", "--hex", ""], "empty"),
        (["decode", "--spec", "e2ap", "--file", "/nonexistent/x"], "cannot read"),
        (["decode", "--spec", "e2ap", "--type", "Nope", "--hex", "00"], "no type 'Nope'"),
        (["encode", "--spec", "e2ap", "--json", "{"], "invalid JSON"),
        (["encode", "--spec", "e2ap", "--json", '["initiatingMessage", 1]'], "expected an object"),
        (["decode", "--spec", "bogus", "--hex", "00"], "Invalid value for '--spec'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    code, out, err = cli("codec", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
