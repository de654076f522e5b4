"""The AppRegistry lifecycle and its faults, run identically on the embedded chain and anvil."""

from __future__ import annotations

import hashlib

import pytest

from tests.ledger.conftest import Chain
from xtrust.ledger.client import LedgerClient
from xtrust.ledger.errors import (
    ContractRevert,
    Forbidden,
    IllegalTransition,
    LedgerConflict,
    NonceError,
    NotFound,
)


def digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


KEY_ID = digest("certifier-key")


def certified(client: LedgerClient, name: str = "kpm", version: str = "1.0") -> None:
    client.submit(name, version, digest(name + version))
    if client.certifier_key(client.account.address) is None:  # type: ignore[union-attr]
        client.register_certifier_key(client.account.address, KEY_ID)  # type: ignore[union-attr]
    client.certify(name, version, digest("att" + name + version))


def test_full_lifecycle_records_every_transition(registry: LedgerClient) -> None:
    c = registry
    assert c.threshold() == 1
    for role in ("admin", "certifier", "operator"):
        assert c.has_role(role, c.account.address)  # type: ignore[union-attr]
    r = c.submit("kpm", "1.0", digest("kpm1.0"))
    assert [e.name for e in r.events] == ["AppSubmitted", "StateChanged"]
    c.register_certifier_key(c.account.address, KEY_ID)  # type: ignore[union-attr]
    assert c.certifier_key(c.account.address) == KEY_ID  # type: ignore[union-attr]
    c.certify("kpm", "1.0", digest("att"))
    c.approve("kpm", "1.0")
    c.deploy_app("kpm", "1.0")
    c.suspend("kpm", "1.0", "CVE under review")
    c.resume("kpm", "1.0", "patched config")
    c.revoke("kpm", "1.0", "key compromise")
    record = c.app("kpm", "1.0")
    assert record is not None
    assert record.state == "Revoked"
    assert record.artifact == digest("kpm1.0")
    assert record.attestation == digest("att")
    assert record.certifier == c.account.address  # type: ignore[union-attr]
    assert c.app_by_artifact(digest("kpm1.0")) == record
    moves = [(e.args["from"], e.args["to"]) for e in c.history("kpm") if e.name == "StateChanged"]
    assert moves == [
        ("None", "Submitted"),
        ("Submitted", "Certified"),
        ("Certified", "Approved"),
        ("Approved", "Deployed"),
        ("Deployed", "Suspended"),
        ("Suspended", "Approved"),
        ("Approved", "Revoked"),
    ]
    reasons = [e.args["reason"] for e in c.history("kpm") if e.name == "StateChanged"]
    assert "key compromise" in reasons
    assert c.app("kpm", "2.0") is None
    assert c.app_by_artifact(digest("nothing")) is None


def test_k_of_n_approval_and_double_approval(chain: Chain, registry: LedgerClient) -> None:
    op1, op2 = chain.others[0], chain.others[1]
    registry.grant_role("operator", op1.address)
    registry.grant_role("operator", op2.address)
    registry.set_threshold(2)
    certified(registry)
    first = chain.client(op1, registry.address)
    first.approve("kpm", "1.0")
    assert registry.app("kpm", "1.0").state == "Certified"  # type: ignore[union-attr]
    with pytest.raises(LedgerConflict, match="already approved"):
        first.approve("kpm", "1.0")
    chain.client(op2, registry.address).approve("kpm", "1.0")
    record = registry.app("kpm", "1.0")
    assert record is not None and record.state == "Approved" and record.approvals == 2


def test_threshold_cannot_exceed_operators(registry: LedgerClient) -> None:
    with pytest.raises(ContractRevert, match="threshold 3 is invalid with 1 operator"):
        registry.set_threshold(3)


def test_unauthorized_role(chain: Chain, registry: LedgerClient) -> None:
    stranger = chain.client(chain.others[2], registry.address)
    with pytest.raises(Forbidden, match="lacks the ADMIN role") as info:
        stranger.grant_role("operator", stranger.account.address)  # type: ignore[union-attr]
    assert info.value.hint and "roles grant admin" in info.value.hint
    with pytest.raises(Forbidden, match="OPERATOR"):
        stranger.submit("x", "1", digest("x"))
    certified(registry)
    with pytest.raises(Forbidden, match="lacks the OPERATOR role"):
        stranger.approve("kpm", "1.0")
    # a certifier without a registered key cannot certify
    registry.grant_role("certifier", chain.others[3].address)
    registry.submit("other", "1", digest("other"))
    with pytest.raises(Forbidden, match="no registered public key"):
        chain.client(chain.others[3], registry.address).certify("other", "1", digest("a"))


def test_approving_a_revoked_app_and_revoked_is_terminal(registry: LedgerClient) -> None:
    certified(registry)
    registry.revoke("kpm", "1.0", "bad")
    with pytest.raises(IllegalTransition, match="Revoked -> Approved"):
        registry.approve("kpm", "1.0")
    with pytest.raises(IllegalTransition, match="Revoked -> Revoked"):
        registry.revoke("kpm", "1.0", "again")
    with pytest.raises(IllegalTransition, match="Revoked -> Suspended"):
        registry.suspend("kpm", "1.0")


def test_illegal_transitions(registry: LedgerClient) -> None:
    registry.submit("kpm", "1.0", digest("kpm1.0"))
    with pytest.raises(IllegalTransition, match="Submitted -> Approved"):
        registry.approve("kpm", "1.0")
    with pytest.raises(IllegalTransition, match="Submitted -> Deployed"):
        registry.deploy_app("kpm", "1.0")
    with pytest.raises(IllegalTransition, match="Submitted -> Suspended"):
        registry.suspend("kpm", "1.0")
    with pytest.raises(NotFound, match="no app record"):
        registry.approve("nope", "1.0")


def test_resubmitting_a_digest_under_another_name(registry: LedgerClient) -> None:
    registry.submit("kpm", "1.0", digest("same"))
    with pytest.raises(LedgerConflict, match="already registered under another record"):
        registry.submit("evil", "1.0", digest("same"))
    with pytest.raises(LedgerConflict, match="already registered"):
        registry.submit("kpm", "1.0", digest("different"))
    assert registry.app("evil", "1.0") is None


def test_replayed_transaction_is_a_nonce_error(registry: LedgerClient) -> None:
    raw = registry.sign("submit", "kpm", "1.0", bytes.fromhex(digest("r")[7:]))
    registry.send_raw(raw)
    with pytest.raises(NonceError, match="nonce") as info:
        registry.send_raw(raw)
    assert info.value.hint and "replayed" in info.value.hint
    assert registry.app("kpm", "1.0") is not None


def test_last_admin_cannot_be_removed(registry: LedgerClient) -> None:
    with pytest.raises(ContractRevert, match="last admin"):
        registry.revoke_role("admin", registry.account.address)  # type: ignore[union-attr]


def test_batch_anchoring(registry: LedgerClient) -> None:
    root = hashlib.sha256(b"root").digest()
    result = registry.anchor_batch(root, 100, "https://example.test/batch1")
    assert [e.name for e in result.events] == ["BatchAnchored"]
    anchor = registry.anchor(root)
    assert anchor is not None and anchor.count == 100 and anchor.batch_id == 1
    with pytest.raises(LedgerConflict, match="already anchored as batch 1"):
        registry.anchor_batch(root, 100, "")
    assert registry.anchor(hashlib.sha256(b"other").digest()) is None
    # gas per anchored report of a 100-report batch stays under 1,000
    assert result.gas_used / 100 <= 1000
