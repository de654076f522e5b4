"""The JSON-RPC back end: any Ethereum node (anvil in tests, Besu or Geth in production).

Requests go through web3.py's ``HTTPProvider`` (a kept-alive HTTP session); the
raw JSON-RPC responses are read here so that revert data is recovered the same
way whatever the node: geth, Besu and anvil put it in ``error.data`` (a hex string,
sometimes nested in an object); ganache puts it under ``error.data.result`` or
``error.data.<txhash>.return``.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import HTTPProvider

from xtrust.ledger.backends.base import Backend, Log, NodeRejected, Receipt, RevertData
from xtrust.ledger.errors import LedgerError, LedgerUnavailable

__all__ = ["JsonRpcBackend"]

PRIORITY_FEE = 10**9


def _hex(value: int) -> str:
    return hex(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes(value: Any) -> bytes:
    return bytes(HexBytes(value)) if value else b""


def _reason(exc: Exception) -> str:
    """A short reason out of a requests/urllib3 connection error."""
    text = str(exc)
    errno = re.findall(r"\[Errno -?\d+\] ([^'\"\)\]]+)", text)
    if errno:
        return errno[-1].strip().rstrip(".").lower()
    if "timed out" in text.lower():
        return "timed out"
    return type(exc).__name__


def _find_revert_data(data: Any) -> bytes | None:
    """Dig the revert payload out of an RPC error's ``data`` (node-specific shapes)."""
    if isinstance(data, str):
        if data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None
    if isinstance(data, dict):
        for key in ("data", "result", "return"):
            if key in data:
                found = _find_revert_data(data[key])
                if found is not None:
                    return found
        for value in data.values():
            if isinstance(value, dict):
                found = _find_revert_data(value)
                if found is not None:
                    return found
    return None


class JsonRpcBackend(Backend):
    def __init__(self, url: str, *, timeout: float = 10.0, receipt_timeout: float = 120.0) -> None:
        self.url = url
        self.description = url
        self.receipt_timeout = receipt_timeout
        self._provider = HTTPProvider(url, request_kwargs={"timeout": timeout})
        self._chain_id: int | None = None
        self._genesis: bytes | None = None

    # ----------------------------------------------------------------- plumbing
    def request(self, method: str, params: list[Any]) -> Any:
        try:
            response = self._provider.make_request(method, params)
        except Exception as exc:  # requests/urllib3/aiohttp errors differ by version
            raise LedgerUnavailable(
                f"cannot reach the Ethereum node at {self.url} ({_reason(exc)})",
                hint="check that the node is running and --rpc is right",
                detail=" ".join(str(exc).split()),
            ) from exc
        error = response.get("error")
        if error:
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            data = error.get("data") if isinstance(error, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            revert = _find_revert_data(data)
            lowered = message.lower()
            if revert is not None or code == 3 or "revert" in lowered:
                raise RevertData(revert or b"", message)
            raise NodeRejected(message)
        return response.get("result")

    # --------------------------------------------------------------- interface
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _int(self.request("eth_chainId", []))
        return self._chain_id

    def genesis_hash(self) -> bytes:
        if self._genesis is None:
            block = self.request("eth_getBlockByNumber", ["0x0", False])
            self._genesis = _bytes(block["hash"])
        return self._genesis

    def nonce(self, address: str) -> int:
        return _int(self.request("eth_getTransactionCount", [address, "pending"]))

    def balance(self, address: str) -> int:
        return _int(self.request("eth_getBalance", [address, "latest"]))

    def fee_params(self) -> dict[str, int]:
        block = self.request("eth_getBlockByNumber", ["latest", False])
        base = block.get("baseFeePerGas")
        if base is None:  # pre-London or a free-gas private network
            return {"gasPrice": _int(self.request("eth_gasPrice", []))}
        return {"maxFeePerGas": 2 * _int(base) + PRIORITY_FEE, "maxPriorityFeePerGas": PRIORITY_FEE}

    @staticmethod
    def _rpc_tx(tx: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"to": tx["to"], "data": "0x" + bytes(tx.get("data", b"")).hex()}
        if tx.get("from"):
            out["from"] = tx["from"]
        if tx.get("value"):
            out["value"] = _hex(int(tx["value"]))
        if tx.get("gas"):
            out["gas"] = _hex(int(tx["gas"]))
        if out["to"] is None:
            del out["to"]
        return out

    def call(self, tx: dict[str, Any]) -> bytes:
        return _bytes(self.request("eth_call", [self._rpc_tx(tx), "latest"]))

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        return _int(self.request("eth_estimateGas", [self._rpc_tx(tx)]))

    def send_raw_transaction(self, raw: bytes, *, signed_by: str | None = None) -> Receipt:
        tx_hash = self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        deadline = time.monotonic() + self.receipt_timeout
        delay = 0.005
        while True:
            rec = self.request("eth_getTransactionReceipt", [tx_hash])
            if rec is not None:
                break
            if time.monotonic() > deadline:
                raise LedgerError(
                    f"transaction {tx_hash} was not mined within {self.receipt_timeout:.0f} s",
                    hint="check the node's mining / consensus; the transaction may still land",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        receipt = self._receipt(rec)
        if receipt.status == 0:
            receipt = replace(receipt, revert_data=self._replay_revert(tx_hash, receipt))
        return receipt

    def _replay_revert(self, tx_hash: str, receipt: Receipt) -> bytes | None:
        """Re-run a mined, reverted transaction as eth_call on its parent state for the reason."""
        tx = self.request("eth_getTransactionByHash", [tx_hash])
        if not tx:
            return None
        call = {
            "from": tx["from"],
            "to": tx.get("to"),
            "data": tx.get("input", "0x"),
            "gas": tx["gas"],
            "value": tx.get("value", "0x0"),
        }
        try:
            self.request("eth_call", [call, _hex(max(receipt.block_number - 1, 0))])
        except RevertData as exc:
            return exc.data
        except NodeRejected:
            return None
        return None

    @staticmethod
    def _log(entry: dict[str, Any]) -> Log:
        return Log(
            address=to_checksum_address(entry["address"]),
            topics=tuple(_bytes(t) for t in entry["topics"]),
            data=_bytes(entry["data"]),
            block_number=_int(entry["blockNumber"]),
            transaction_hash=_bytes(entry["transactionHash"]),
            log_index=_int(entry["logIndex"]),
        )

    def _receipt(self, rec: dict[str, Any]) -> Receipt:
        return Receipt(
            transaction_hash=_bytes(rec["transactionHash"]),
            status=_int(rec.get("status", "0x1")),
            gas_used=_int(rec["gasUsed"]),
            block_number=_int(rec["blockNumber"]),
            contract_address=(
                to_checksum_address(rec["contractAddress"]) if rec.get("contractAddress") else None
            ),
            logs=tuple(self._log(e) for e in rec.get("logs", [])),
        )

    def get_logs(self, address: str, topics: list[bytes | None], from_block: int = 0) -> list[Log]:
        flt = {
            "address": address,
            "fromBlock": _hex(from_block),
            "toBlock": "latest",
            "topics": [("0x" + t.hex()) if t is not None else None for t in topics],
        }
        return [self._log(e) for e in self.request("eth_getLogs", [flt])]

    def block_timestamp(self, number: int) -> int:
        block = self.request("eth_getBlockByNumber", [_hex(number), False])
        return _int(block["timestamp"])

    def code(self, address: str) -> bytes:
        return _bytes(self.request("eth_getCode", [address, "latest"]))
