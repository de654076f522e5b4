"""Reverts decode to the same XTrustError whatever the node and however it reports them."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from tests.ledger.conftest import Chain
from xtrust.ledger.backends.base import NodeRejected, RevertData
from xtrust.ledger.backends.jsonrpc import JsonRpcBackend
from xtrust.ledger.client import LedgerClient, app_key, artefact
from xtrust.ledger.errors import (
    ContractRevert,
    Forbidden,
    IllegalTransition,
    NonceError,
    NotFound,
    classify_node_error,
    decode_revert,
)

ABI = artefact()["abi"]
OPERATOR = keccak(text="OPERATOR")
ACCOUNT = "0x" + "ab" * 20


def custom(signature: str, types: list[str], values: list[Any]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


UNAUTHORIZED = custom("Unauthorized(address,bytes32)", ["address", "bytes32"], [ACCOUNT, OPERATOR])


def test_custom_errors_from_the_abi() -> None:
    err = decode_revert(UNAUTHORIZED, ABI, context="approve kpm@1")
    assert isinstance(err, Forbidden)
    assert str(err) == f"approve kpm@1: account {ACCOUNT} lacks the OPERATOR role"
    assert "roles grant operator" in (err.hint or "")
    data = custom(
        "IllegalTransition(bytes32,uint8,uint8)",
        ["bytes32", "uint8", "uint8"],
        [b"\x01" * 32, 6, 3],
    )
    err = decode_revert(data, ABI)
    assert isinstance(err, IllegalTransition) and "Revoked -> Approved" in str(err)
    assert err.error == "IllegalTransition" and err.error_args["from"] == 6


def test_standard_and_unknown_reverts() -> None:
    err = decode_revert(custom("Error(string)", ["string"], ["nope"]), ABI)
    assert type(err) is ContractRevert and "reverted: nope" in str(err)
    err = decode_revert(custom("Panic(uint256)", ["uint256"], [0x11]), ABI)
    assert "arithmetic overflow" in str(err)
    assert "unknown error 0xdeadbeef" in str(decode_revert(b"\xde\xad\xbe\xef", ABI))
    assert "without a reason" in str(decode_revert(b"", ABI))


def test_node_rejections() -> None:
    for message in (
        "nonce too low: next nonce 5, tx nonce 4",  # anvil / geth
        "Invalid transaction nonce: Expected 5, but got 4",  # py-evm
        "already known",  # geth txpool
        "Nonce too low",  # Besu
        "the tx doesn't have the correct nonce. account has nonce of: 5",  # ganache
    ):
        assert isinstance(classify_node_error(message), NonceError), message
    assert "cannot pay for gas" in str(classify_node_error("insufficient funds for gas * price"))


SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("anvil/geth", {"code": 3, "message": "execution reverted", "data": "0x" + UNAUTHORIZED.hex()}),
    ("besu", {"code": -32000, "message": "Execution reverted", "data": "0x" + UNAUTHORIZED.hex()}),
    (
        "ganache 7",
        {
            "code": -32000,
            "message": "VM Exception while processing transaction: revert",
            "data": {"hash": None, "programCounter": 10, "result": "0x" + UNAUTHORIZED.hex()},
        },
    ),
    (
        "ganache 6",
        {
            "code": -32000,
            "message": "VM Exception while processing transaction: revert",
            "data": {
                "0x" + "00" * 32: {"error": "revert", "return": "0x" + UNAUTHORIZED.hex()},
                "name": "RuntimeError",
            },
        },
    ),
]


@pytest.mark.parametrize(("node", "error"), SHAPES, ids=[s[0] for s in SHAPES])
def test_rpc_error_shapes(
    node: str, error: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = JsonRpcBackend("http://127.0.0.1:9")
    monkeypatch.setattr(
        backend._provider, "make_request", lambda m, p: {"jsonrpc": "2.0", "id": 1, "error": error}
    )
    with pytest.raises(RevertData) as info:
        backend.call({"to": ACCOUNT, "data": b""})
    assert info.value.data == UNAUTHORIZED
    assert isinstance(decode_revert(info.value.data, ABI), Forbidden)


def test_rpc_rejection_is_not_a_revert(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = JsonRpcBackend("http://127.0.0.1:9")
    error = {"code": -32003, "message": "nonce too low"}
    monkeypatch.setattr(backend._provider, "make_request", lambda m, p: {"error": error})
    with pytest.raises(NodeRejected, match="nonce too low"):
        backend.send_raw_transaction(b"\x02")


def test_a_transaction_that_skipped_estimation_decodes_the_same(
    chain: Chain, registry: LedgerClient
) -> None:
    """Signed with a fixed gas limit: anvil mines it reverted, the embedded chain refuses it."""
    account = registry.account
    assert account is not None
    tx: dict[str, Any] = {
        "chainId": chain.backend.chain_id(),
        "nonce": chain.backend.nonce(account.address),
        "gas": 300_000,
        "to": registry.address,
        "value": 0,
        "data": registry.encode("approve", app_key("ghost", "1")),
        **chain.backend.fee_params(),
    }
    raw = bytes(account.sign_transaction(tx).raw_transaction)
    with pytest.raises(NotFound, match="no app record"):
        registry.send_raw(raw, context="approve ghost@1")
