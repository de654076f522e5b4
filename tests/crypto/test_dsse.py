"""DSSE v1 envelopes with two signatures (Ed25519 + ML-DSA-65), both required."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from xtrust.crypto import (
    EnvelopeError,
    HybridSigningKey,
    SignatureError,
    pae,
    sign_dsse,
    verify_dsse,
)
from xtrust.crypto.dsse import envelope_from_json, envelope_to_json
from xtrust.errors import InputError

PTYPE = "http://example.com/HelloWorld"


@pytest.fixture(scope="module")
def sk() -> HybridSigningKey:
    return HybridSigningKey.generate()


@pytest.fixture(scope="module")
def other() -> HybridSigningKey:
    return HybridSigningKey.generate()


@pytest.fixture(scope="module")
def env(sk: HybridSigningKey) -> dict:
    return sign_dsse(b"hello world", PTYPE, sk)


def test_pae_known_answer() -> None:
    # By hand from protocol.md: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
    # len("http://example.com/HelloWorld") = 7 ("http://") + 11 ("example.com")
    # + 11 ("/HelloWorld") = 29; len("hello world") = 11.
    assert pae(PTYPE, b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert pae("", b"") == b"DSSEv1 0  0 "
    # LEN counts bytes (UTF-8), not characters; the body is copied verbatim.
    assert pae("t\u00e9", b"\x00\xff") == b"DSSEv1 3 t\xc3\xa9 2 \x00\xff"


def test_envelope_shape(env: dict, sk: HybridSigningKey) -> None:
    assert set(env) == {"payloadType", "payload", "signatures"}
    assert env["payloadType"] == PTYPE
    assert base64.b64decode(env["payload"]) == b"hello world"
    keyids = [s["keyid"] for s in env["signatures"]]
    assert keyids == [sk.key_id + "#ed25519", sk.key_id + "#ml-dsa-65"]
    sizes = [len(base64.b64decode(s["sig"])) for s in env["signatures"]]
    assert sizes == [64, 3309]
    # each signature is a plain signature over PAE
    message = pae(PTYPE, b"hello world")
    sk.ed25519.public_key().verify(base64.b64decode(env["signatures"][0]["sig"]), message)
    sk.mldsa.public_key().verify(base64.b64decode(env["signatures"][1]["sig"]), message)
    assert json.loads(envelope_to_json(env)) == env


def test_roundtrip(env: dict, sk: HybridSigningKey) -> None:
    assert verify_dsse(env, sk.public_key()) == b"hello world"
    assert verify_dsse(env, sk.public_key(), payload_type=PTYPE) == b"hello world"
    assert verify_dsse(envelope_from_json(envelope_to_json(env)), sk.public_key()) == b"hello world"


def test_payload_type_expected(env: dict, sk: HybridSigningKey) -> None:
    with pytest.raises(SignatureError, match="payloadType"):
        verify_dsse(env, sk.public_key(), payload_type="application/vnd.in-toto+json")


def test_tampered_payload(env: dict, sk: HybridSigningKey) -> None:
    bad = dict(env, payload=base64.b64encode(b"hello World").decode())
    with pytest.raises(SignatureError, match="no valid Ed25519 and no valid ML-DSA-65"):
        verify_dsse(bad, sk.public_key())


def test_tampered_payload_type(env: dict, sk: HybridSigningKey) -> None:
    with pytest.raises(SignatureError):
        verify_dsse(dict(env, payloadType=PTYPE + "2"), sk.public_key())


@pytest.mark.parametrize(("index", "missing"), [(0, "Ed25519"), (1, "ML-DSA-65")])
def test_tampered_each_signature(env: dict, sk: HybridSigningKey, index: int, missing: str) -> None:
    bad = copy.deepcopy(env)
    raw = bytearray(base64.b64decode(bad["signatures"][index]["sig"]))
    raw[7] ^= 0x80
    bad["signatures"][index]["sig"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureError, match=f"no valid {missing} signature"):
        verify_dsse(bad, sk.public_key())


@pytest.mark.parametrize(("index", "missing"), [(0, "ML-DSA-65"), (1, "Ed25519")])
def test_one_signature_missing(env: dict, sk: HybridSigningKey, index: int, missing: str) -> None:
    only = dict(env, signatures=[env["signatures"][index]])
    with pytest.raises(SignatureError, match=f"no valid {missing}"):
        verify_dsse(only, sk.public_key())


def test_same_signature_twice_does_not_count_twice(env: dict, sk: HybridSigningKey) -> None:
    doubled = dict(env, signatures=[env["signatures"][0], env["signatures"][0]])
    with pytest.raises(SignatureError, match="ML-DSA-65"):
        verify_dsse(doubled, sk.public_key())


def test_extra_unknown_signature_is_fine(
    env: dict, sk: HybridSigningKey, other: HybridSigningKey
) -> None:
    theirs = sign_dsse(b"hello world", PTYPE, other)["signatures"]
    junk = {"keyid": "someone-else", "sig": base64.b64encode(b"x" * 100).decode()}
    mixed = dict(env, signatures=[junk, theirs[1], *env["signatures"], theirs[0]])
    assert verify_dsse(mixed, sk.public_key()) == b"hello world"
    assert verify_dsse(mixed, other.public_key()) == b"hello world"


def test_keyid_is_only_a_hint(env: dict, sk: HybridSigningKey) -> None:
    no_ids = dict(env, signatures=[{"sig": s["sig"]} for s in env["signatures"]])
    assert verify_dsse(no_ids, sk.public_key()) == b"hello world"


def test_other_keys_signatures_do_not_count(
    env: dict, sk: HybridSigningKey, other: HybridSigningKey
) -> None:
    # Ed25519 by us, ML-DSA-65 by someone else: not enough for either key.
    theirs = sign_dsse(b"hello world", PTYPE, other)["signatures"]
    mixed = dict(env, signatures=[env["signatures"][0], theirs[1]])
    with pytest.raises(SignatureError, match="no valid ML-DSA-65"):
        verify_dsse(mixed, sk.public_key())
    with pytest.raises(SignatureError, match="no valid Ed25519"):
        verify_dsse(mixed, other.public_key())


def test_urlsafe_unpadded_base64_accepted(sk: HybridSigningKey) -> None:
    payload = b"\xfb\xff\xfe?>"  # encodes with + and / in standard base64
    env = sign_dsse(payload, PTYPE, sk)
    urlsafe = copy.deepcopy(env)
    urlsafe["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    for s in urlsafe["signatures"]:
        s["sig"] = base64.urlsafe_b64encode(base64.b64decode(s["sig"])).decode().rstrip("=")
    assert verify_dsse(urlsafe, sk.public_key()) == payload


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"payload": "aGk=", "signatures": [{"sig": "AA=="}]},
        {"payloadType": 3, "payload": "aGk=", "signatures": [{"sig": "AA=="}]},
        {"payloadType": "t", "payload": "***", "signatures": [{"sig": "AA=="}]},
        {"payloadType": "t", "payload": "aGk=", "signatures": []},
        {"payloadType": "t", "payload": "aGk=", "signatures": ["x"]},
        {"payloadType": "t", "payload": "aGk=", "signatures": [{"sig": 5}]},
        {"payloadType": "t", "payload": "aGk=", "signatures": [{"sig": "AA==", "keyid": 1}]},
        {"payloadType": "t", "payload": "aGk=", "signatures": [{"sig": "AA=="}] * 33},
    ],
)
def test_malformed_envelopes(bad: object, sk: HybridSigningKey) -> None:
    with pytest.raises(EnvelopeError) as info:
        verify_dsse(bad, sk.public_key())  # type: ignore[arg-type]
    # a malformed envelope is bad input (exit 2) and still a SignatureError for callers
    assert isinstance(info.value, SignatureError) and isinstance(info.value, InputError)
    assert info.value.exit_code == 2


def test_envelope_from_json_errors() -> None:
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        envelope_from_json(b"{nope")
    with pytest.raises(EnvelopeError, match="JSON object"):
        envelope_from_json(b"[1]")


def test_wrong_key_type(env: dict, sk: HybridSigningKey) -> None:
    from xtrust.crypto import HybridKemPrivateKey

    with pytest.raises(SignatureError, match="hybrid signing public key"):
        verify_dsse(env, HybridKemPrivateKey.generate().public_key())  # type: ignore[arg-type]
