"""in-toto Statement v1 building, parsing and signing."""

from __future__ import annotations

import base64
import json

import pytest

from xtrust.crypto import (
    INTOTO_PAYLOAD_TYPE,
    HybridSigningKey,
    SignatureError,
    StatementError,
    SubjectMismatchError,
    in_toto_statement,
    parse_statement,
    require_subject,
    sign_dsse,
    sign_statement,
    verify_statement,
)

HEX = "ab" * 32
PRED = "https://xtrust.dev/certification/v1"


def test_statement_shape() -> None:
    stmt = in_toto_statement(
        subjects=[("app.tar", {"sha256": HEX.upper()}), ("src", "sha256:" + "cd" * 32)],
        predicate_type=PRED,
        predicate={"verdict": "pass"},
    )
    assert stmt == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app.tar", "digest": {"sha256": HEX}},
            {"name": "src", "digest": {"sha256": "cd" * 32}},
        ],
        "predicateType": PRED,
        "predicate": {"verdict": "pass"},
    }
    assert parse_statement(json.dumps(stmt)) == stmt


@pytest.mark.parametrize(
    ("subjects", "ptype", "message"),
    [
        ([], PRED, "at least one subject"),
        ([("a", {"sha256": "xyz"})], PRED, "64 hex"),
        ([("a", {})], PRED, "non-empty object"),
        ([("a", {"sha 256": HEX})], PRED, "algorithm name"),
        ([("a", "md5:abc")], PRED, "not a digest"),
        ([("a", {"sha256": HEX})], "not a uri", "URI"),
        (["just-a-name"], PRED, "pair"),
    ],
)
def test_statement_validation(subjects: list, ptype: str, message: str) -> None:
    from xtrust.errors import InputError

    with pytest.raises(InputError, match=message):
        in_toto_statement(subjects, ptype, {})


def test_other_digest_algorithms_kept() -> None:
    stmt = in_toto_statement([("a", {"sha512": "0f" * 64, "gitCommit": "abc"})], PRED)
    assert stmt["subject"][0]["digest"] == {"sha512": "0f" * 64, "gitCommit": "abc"}
    assert "predicate" not in stmt


@pytest.mark.parametrize(
    "doc",
    [
        "[]",
        "{",
        json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": []}),
        json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []}),
        json.dumps(
            {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "a", "digest": "sha256:" + HEX}],
                "predicateType": PRED,
            }
        ),
        json.dumps(
            {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "a", "digest": {"sha256": HEX}}],
                "predicateType": PRED,
                "predicate": [],
            }
        ),
    ],
)
def test_parse_rejects(doc: str) -> None:
    with pytest.raises(StatementError):
        parse_statement(doc)


def test_parse_keeps_resource_descriptor_fields() -> None:
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a", "digest": {"sha256": HEX}, "uri": "oci://x"}],
        "predicateType": PRED,
    }
    assert parse_statement(doc)["subject"][0]["uri"] == "oci://x"


def test_require_subject() -> None:
    stmt = in_toto_statement([("a", {"sha256": HEX}), ("b", {"sha256": "cd" * 32})], PRED)
    assert require_subject(stmt, "sha256:" + "CD" * 32)["name"] == "b"
    with pytest.raises(SubjectMismatchError, match="not among the 2 subject"):
        require_subject(stmt, "sha256:" + "00" * 32)
    assert SubjectMismatchError.exit_code == 1


def test_sign_and_verify_statement() -> None:
    sk = HybridSigningKey.generate()
    stmt = in_toto_statement([("a", {"sha256": HEX})], PRED, {"verdict": "pass", "n": 1})
    env = sign_statement(stmt, sk)
    assert env["payloadType"] == INTOTO_PAYLOAD_TYPE == "application/vnd.in-toto+json"
    assert json.loads(base64.b64decode(env["payload"])) == stmt
    assert verify_statement(env, sk.public_key()) == stmt
    # a correctly signed envelope of another payload type is not an attestation
    other = sign_dsse(json.dumps(stmt).encode(), "text/plain", sk)
    with pytest.raises(SignatureError, match="payloadType"):
        verify_statement(other, sk.public_key())
    # a correctly signed in-toto envelope whose payload is not a statement
    junk = sign_dsse(b"{}", INTOTO_PAYLOAD_TYPE, sk)
    with pytest.raises(StatementError):
        verify_statement(junk, sk.public_key())
