"""`xtrust ledger` and `xtrust admit` end to end (embedded, and against anvil)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account import Account

from tests.ledger.conftest import AnvilNode, start_anvil
from xtrust.crypto import HybridSigningKey, in_toto_statement, sign_statement
from xtrust.errors import XTrustError
from xtrust.ledger.accounts import create_keystore
from xtrust.ledger.attestation import PREDICATE_TYPE
from xtrust.ledger.cli import admit, ledger


def run(group: object, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(group, list(args))  # type: ignore[arg-type]
    if code == 0 and result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result


def signed_attestation(
    key: HybridSigningKey, digest: str, path: Path, verdict: str = "passed"
) -> Path:
    stmt = in_toto_statement([("kpm", digest)], PREDICATE_TYPE, {"verdict": verdict})
    path.write_text(json.dumps(sign_statement(stmt, key)))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], Path, HybridSigningKey, Path]:
    data = ["--data-dir", str(tmp_path / "ledger")]
    art = tmp_path / "xapp"
    art.mkdir()
    (art / "main.py").write_text("print('kpm')\n")
    key = HybridSigningKey.generate()
    pub = tmp_path / "certifier.pub"
    key.public_key().save(pub)
    return data, art, key, pub


@pytest.mark.slow
def test_one_person_flow_on_the_embedded_ledger(
    setup: tuple[list[str], Path, HybridSigningKey, Path], tmp_path: Path
) -> None:
    data, art, key, pub = setup
    out = run(ledger, "init", *data, "--kdf-n", "16").output
    assert "holds admin, certifier and operator" in out
    assert "already initialised" in run(ledger, "init", *data, "--kdf-n", "16").output
    run(ledger, "keys", "register", "--key", str(pub), *data)
    sub = json.loads(
        run(
            ledger,
            "submit",
            "--name",
            "kpm",
            "--version",
            "1.0",
            "--artifact",
            str(art),
            *data,
            "--format",
            "json",
        ).output
    )
    digest = sub["artifact"]
    att = signed_attestation(key, digest, tmp_path / "att.json")
    out = run(
        ledger, "certify", "--name", "kpm", "--version", "1.0", "--attestation", str(att), *data
    ).output
    assert "Submitted -> Certified" in out
    # before approval, admit denies
    assert "deny" in run(admit, str(art), *data, code=1).output
    assert (
        "Certified -> Approved"
        in run(ledger, "approve", "--name", "kpm", "--version", "1.0", *data).output
    )
    run(ledger, "deploy", "--name", "kpm", "--version", "1.0", *data)
    out = run(admit, str(art), *data).output
    assert out.startswith("allow:") and "kpm@1.0 is Deployed" in out
    status = json.loads(run(ledger, "status", "kpm@1.0", *data, "--format", "json").output)
    assert status[0]["state"] == "Deployed" and status[0]["artifact"] == digest
    assert "Deployed" in run(ledger, "verify", str(art), *data).output
    run(ledger, "revoke", "--name", "kpm", "--version", "1.0", "--reason", "CVE-2026-1", *data)
    out = run(admit, str(art), *data, code=1).output
    assert out.startswith("deny:") and "Revoked" in out
    verified = run(ledger, "verify", str(art), *data).output  # the record is Revoked but genuine
    assert "Revoked" in verified and "attestation verifies" in verified
    history = run(ledger, "history", "kpm", *data).output
    assert "Deployed -> Revoked" in history and "CVE-2026-1" in history
    # a tampered artifact is unknown to the ledger
    (art / "main.py").write_text("print('evil')\n")
    assert "not registered" in run(admit, str(art), *data, code=1).output


def test_certify_refuses_bad_attestations(
    setup: tuple[list[str], Path, HybridSigningKey, Path], tmp_path: Path
) -> None:
    data, art, key, pub = setup
    run(ledger, "init", *data, "--kdf-n", "16")
    run(ledger, "submit", "--name", "kpm", "--version", "1.0", "--artifact", str(art), *data)
    from xtrust.crypto import artifact_digest

    digest = artifact_digest(str(art))
    att = signed_attestation(key, digest, tmp_path / "a.json")
    # no registered key yet
    result = run(
        ledger,
        "certify",
        "--name",
        "kpm",
        "--version",
        "1.0",
        "--attestation",
        str(att),
        *data,
        code=1,
    )
    assert isinstance(result.exception, XTrustError)
    assert "no registered public key" in str(result.exception)
    run(ledger, "keys", "register", "--key", str(pub), *data)
    for bad, why in [
        (signed_attestation(key, digest, tmp_path / "f.json", "failed"), "verdict"),
        (signed_attestation(key, "sha256:" + "00" * 32, tmp_path / "s.json"), "subject"),
        (signed_attestation(HybridSigningKey.generate(), digest, tmp_path / "x.json"), "signature"),
    ]:
        result = run(
            ledger,
            "certify",
            "--name",
            "kpm",
            "--version",
            "1.0",
            "--attestation",
            str(bad),
            *data,
            code=1,
        )
        assert why in str(result.exception)
    status = json.loads(run(ledger, "status", "kpm", *data, "--format", "json").output)
    assert status[0]["state"] == "Submitted"
    assert "not certified" in run(ledger, "verify", digest, *data, code=1).output


def test_anchor_and_prove(
    setup: tuple[list[str], Path, HybridSigningKey, Path], tmp_path: Path
) -> None:
    data, *_ = setup
    run(ledger, "init", *data, "--kdf-n", "16")
    reports = []
    for i in range(5):
        p = tmp_path / f"report{i}.json"
        p.write_text(json.dumps({"report": i}))
        reports.append(str(p))
    out = json.loads(
        run(
            ledger, "anchor", *reports, "--uri", "file:///reports", *data, "--format", "json"
        ).output
    )
    assert out["batch"] == 1 and len(out["proofs"]) == 5
    proved = run(ledger, "prove", reports[3], *data).output
    assert "proof valid" in proved and "anchored as batch 1 (5 reports)" in proved
    assert "proof valid" in run(ledger, "prove", reports[0], "--offline", *data).output
    stranger = tmp_path / "other.json"
    stranger.write_text("{}")
    proof = out["proofs"][1]
    assert "INVALID" in run(ledger, "prove", str(stranger), "--proof", proof, *data, code=1).output


def test_admit_fails_closed_without_a_ledger(tmp_path: Path) -> None:
    out = run(admit, "sha256:" + "11" * 32, "--data-dir", str(tmp_path / "none"), code=1).output
    assert out.startswith("deny: ledger unavailable, failing closed")
    out = run(
        admit,
        "sha256:" + "11" * 32,
        "--rpc",
        "http://127.0.0.1:9",
        "--contract",
        "0x" + "12" * 20,
        "--data-dir",
        str(tmp_path),
        code=1,
    ).output
    assert "cannot reach the Ethereum node" in out


@pytest.fixture
def node() -> Iterator[AnvilNode]:
    n = start_anvil()
    yield n
    n.stop()


def test_flow_against_anvil_then_node_dies(
    node: AnvilNode, setup: tuple[list[str], Path, HybridSigningKey, Path], tmp_path: Path
) -> None:
    _data, art, key, pub = setup
    state = tmp_path / "state"
    path, acct = create_keystore(state / "keystore", scrypt_n=16)
    node.fund(acct.address)
    conn = ["--rpc", node.url, "--data-dir", str(state), "--account", str(path)]
    run(ledger, "init", *conn)
    run(ledger, "keys", "register", "--key", str(pub), *conn)
    digest = json.loads(
        run(
            ledger,
            "submit",
            "--name",
            "kpm",
            "--version",
            "2.0",
            "--artifact",
            str(art),
            *conn,
            "--format",
            "json",
        ).output
    )["artifact"]
    att = signed_attestation(key, digest, tmp_path / "att.json")
    run(ledger, "certify", "--name", "kpm", "--version", "2.0", "--attestation", str(att), *conn)
    run(ledger, "approve", "--name", "kpm", "--version", "2.0", *conn)
    reader = ["--rpc", node.url, "--data-dir", str(state)]
    assert run(admit, str(art), *reader).output.startswith("allow:")
    # a second operator account: unauthorized until granted
    other = Account.create()
    node.fund(other.address)
    opath, _ = create_keystore(tmp_path / "ks2", private_key=bytes(other.key), scrypt_n=16)
    result = run(
        ledger,
        "approve",
        "--name",
        "kpm",
        "--version",
        "2.0",
        "--rpc",
        node.url,
        "--data-dir",
        str(state),
        "--account",
        str(opath),
        code=1,
    )
    assert "lacks the OPERATOR role" in str(result.exception)
    node.stop()
    out = run(admit, str(art), *reader, code=1).output
    assert out.startswith("deny: ledger unavailable, failing closed")


@pytest.mark.slow
def test_roles_and_k_of_n_on_the_embedded_ledger(
    setup: tuple[list[str], Path, HybridSigningKey, Path], tmp_path: Path
) -> None:
    data, _art, key, pub = setup
    run(ledger, "init", *data, "--kdf-n", "16")
    ks = tmp_path / "ks"
    op_path, op = create_keystore(ks, scrypt_n=16)
    cert_path, cert = create_keystore(ks, scrypt_n=16)
    run(ledger, "roles", "grant", "operator", op.address, *data)
    run(ledger, "roles", "grant", "certifier", cert.address, "--key", str(pub), *data)
    shown = json.loads(run(ledger, "roles", "show", cert.address, *data, "--format", "json").output)
    assert shown["roles"] == ["certifier"] and shown["certifierKey"] == key.public_key().key_id
    run(ledger, "threshold", "2", *data)
    digest = "sha256:" + "3c" * 32
    run(ledger, "submit", "--name", "rc", "--version", "1", "--artifact", digest, *data)
    att = signed_attestation(key, digest, tmp_path / "att.json")
    as_cert = [*data, "--account", str(cert_path)]
    run(ledger, "certify", "--name", "rc", "--version", "1", "--attestation", str(att), *as_cert)
    out = run(ledger, "approve", "--name", "rc", "--version", "1", *data).output
    assert "approval 1/2" in out and "-> Approved" not in out
    result = run(ledger, "approve", "--name", "rc", "--version", "1", *data, code=1)
    assert "already approved" in str(result.exception)
    as_op = [*data, "--account", str(op_path)]
    out = run(ledger, "approve", "--name", "rc", "--version", "1", *as_op).output
    assert "approval 2/2, Certified -> Approved" in out
    assert run(admit, digest, *data).output.startswith("allow:")
    run(ledger, "suspend", "--name", "rc", "--version", "1", "--reason", "incident", *as_op)
    assert "Suspended" in run(admit, digest, *data, code=1).output
    run(ledger, "roles", "revoke", "certifier", cert.address, *data)
    result = run(ledger, "anchor", str(att), *as_cert, code=1)
    assert "lacks the CERTIFIER role" in str(result.exception)
