"""Attestations and admission decisions on both back ends (hand-built attestations)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.ledger.conftest import Chain, start_anvil
from xtrust.crypto import HybridSigningKey, artifact_digest, in_toto_statement, sign_statement
from xtrust.ledger.admit import Admission
from xtrust.ledger.attestation import (
    PREDICATE_TYPE,
    Attestation,
    AttestationStore,
    check_attestation,
)
from xtrust.ledger.backends.jsonrpc import JsonRpcBackend
from xtrust.ledger.client import LedgerClient
from xtrust.ledger.errors import AttestationError, LedgerUnavailable


def attestation(key: HybridSigningKey, digest: str, verdict: str = "passed") -> Attestation:
    stmt = in_toto_statement([("app", digest)], PREDICATE_TYPE, {"verdict": verdict})
    raw = json.dumps(sign_statement(stmt, key)).encode()
    return Attestation.from_bytes(raw)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    root = tmp_path / "xapp"
    root.mkdir()
    (root / "main.py").write_text("print('kpm')\n")
    (root / "config-file.json").write_text('{"name": "kpm"}\n')
    return root


@pytest.fixture
def key() -> HybridSigningKey:
    return HybridSigningKey.generate()


def approved(
    registry: LedgerClient, store: AttestationStore, key: HybridSigningKey, digest: str
) -> Attestation:
    registry.submit("kpm", "1.0", digest)
    store.put_key(key.public_key())
    registry.register_certifier_key(registry.account.address, key.public_key().key_id)  # type: ignore[union-attr]
    att = attestation(key, digest)
    check_attestation(att, key.public_key(), digest)
    store.put(att)
    registry.certify("kpm", "1.0", att.digest)
    registry.approve("kpm", "1.0")
    return att


def test_allow_then_revoke_denies(
    chain: Chain, registry: LedgerClient, key: HybridSigningKey, artifact: Path, tmp_path: Path
) -> None:
    store = AttestationStore(tmp_path / "state")
    digest = artifact_digest(str(artifact))
    approved(registry, store, key, digest)
    admission = Admission(registry, store, max_staleness=0.0)
    decision = admission.decide(digest)
    assert decision.allowed, decision.reason
    registry.deploy_app("kpm", "1.0")
    assert admission.decide(digest).allowed
    registry.revoke("kpm", "1.0", "pulled")
    decision = admission.decide(digest)
    assert not decision.allowed and "Revoked" in decision.reason


def test_cached_decisions_bound_the_staleness(
    chain: Chain, registry: LedgerClient, key: HybridSigningKey, tmp_path: Path
) -> None:
    store = AttestationStore(tmp_path / "state")
    digest = "sha256:" + "42" * 32
    approved(registry, store, key, digest)
    now = [100.0]
    admission = Admission(registry, store, max_staleness=5.0, clock=lambda: now[0])
    assert admission.decide(digest).allowed
    registry.suspend("kpm", "1.0", "incident")
    now[0] += 4.9
    cached = admission.decide(digest)
    assert cached.allowed and cached.cached  # within the staleness bound
    now[0] += 0.2
    fresh = admission.decide(digest)
    assert not fresh.allowed and "Suspended" in fresh.reason


def test_tampered_artifact_is_denied(
    chain: Chain, registry: LedgerClient, key: HybridSigningKey, artifact: Path, tmp_path: Path
) -> None:
    store = AttestationStore(tmp_path / "state")
    approved(registry, store, key, artifact_digest(str(artifact)))
    (artifact / "main.py").write_text("print('backdoor')\n")
    decision = Admission(registry, store).decide(artifact_digest(str(artifact)))
    assert not decision.allowed and "not registered" in decision.reason


def test_forged_and_single_signature_attestations(
    chain: Chain, registry: LedgerClient, key: HybridSigningKey, tmp_path: Path
) -> None:
    store = AttestationStore(tmp_path / "state")
    digest = "sha256:" + "ab" * 32
    registry.submit("kpm", "1.0", digest)
    registry.register_certifier_key(registry.account.address, key.public_key().key_id)  # type: ignore[union-attr]
    forged = attestation(HybridSigningKey.generate(), digest)
    with pytest.raises(AttestationError, match="signature"):
        check_attestation(forged, key.public_key(), digest)
    good = attestation(key, digest)
    env = json.loads(good.raw)
    # keep only the Ed25519 signature (64 bytes): the ML-DSA-65 one is missing
    env["signatures"] = [s for s in env["signatures"] if len(base64.b64decode(s["sig"])) == 64]
    single = Attestation.from_bytes(json.dumps(env).encode())
    with pytest.raises(AttestationError, match="ML-DSA-65"):
        check_attestation(single, key.public_key(), digest)
    for verdict in ("failed", "fail", "incomplete", ""):
        with pytest.raises(AttestationError, match=f"verdict is '{verdict}'"):
            check_attestation(attestation(key, digest, verdict), key.public_key(), digest)
    for verdict in ("passed", "pass"):  # the brief's word and what `xtrust certify` writes
        check_attestation(attestation(key, digest, verdict), key.public_key(), digest)
    with pytest.raises(AttestationError, match="do not include the artifact"):
        check_attestation(good, key.public_key(), "sha256:" + "cd" * 32)
    # a forged attestation recorded anyway (by a rogue client) is still denied at admit
    store.put(forged)
    store.put_key(key.public_key())
    registry.certify("kpm", "1.0", forged.digest)
    registry.approve("kpm", "1.0")
    decision = Admission(registry, store).decide(digest)
    assert not decision.allowed and "signature" in decision.reason


def test_attestation_must_be_the_recorded_one(
    chain: Chain, registry: LedgerClient, key: HybridSigningKey, tmp_path: Path
) -> None:
    store = AttestationStore(tmp_path / "state")
    digest = "sha256:" + "ee" * 32
    approved(registry, store, key, digest)
    other = tmp_path / "other.json"
    other.write_bytes(attestation(key, digest).raw)  # valid, but not the recorded envelope
    decision = Admission(registry, store).decide(digest, attestation=other)
    assert not decision.allowed and "not the one recorded" in decision.reason


def test_node_going_away_fails_closed(key: HybridSigningKey, tmp_path: Path) -> None:
    from eth_account import Account

    node = start_anvil()
    try:
        admin = Account.create()
        node.fund(admin.address)
        registry = LedgerClient.deploy(JsonRpcBackend(node.url, timeout=2), admin)
        store = AttestationStore(tmp_path)
        digest = "sha256:" + "77" * 32
        approved(registry, store, key, digest)
        admission = Admission(registry, store, max_staleness=0.0)
        assert admission.decide(digest).allowed
    finally:
        node.stop()
    decision = admission.decide(digest)
    assert not decision.allowed
    assert "ledger unavailable, failing closed" in decision.reason
    with pytest.raises(LedgerUnavailable, match="cannot reach the Ethereum node"):
        registry.submit("x", "1", "sha256:" + "78" * 32)
