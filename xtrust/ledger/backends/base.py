"""The one interface every ledger back end implements.

A back end moves bytes: it answers read-only calls, estimates gas, accepts signed
raw transactions and returns receipts, and serves logs. It raises
:class:`RevertData` when the EVM reverted (with the raw revert data, whatever the
node's way of reporting it) and :class:`NodeRejected` when the node refused a
transaction before executing it; :mod:`xtrust.ledger.client` turns both into
:mod:`xtrust.ledger.errors`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = ["Backend", "Log", "NodeRejected", "Receipt", "RevertData"]


class RevertData(Exception):
    """The EVM reverted; ``data`` is the raw revert payload (may be empty)."""

    def __init__(self, data: bytes, message: str = "") -> None:
        super().__init__(message or "execution reverted")
        self.data = data


class NodeRejected(Exception):
    """The node refused a transaction (nonce, funds, ...); ``message`` is the node's text."""


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    transaction_hash: bytes
    log_index: int


@dataclass(frozen=True)
class Receipt:
    transaction_hash: bytes
    status: int
    gas_used: int
    block_number: int
    contract_address: str | None
    logs: tuple[Log, ...] = field(default=())
    #: raw revert data of a failed transaction when the back end knows it
    revert_data: bytes | None = None


class Backend(ABC):
    """A connection to an EVM chain."""

    #: a short human name ("embedded:/path" or the RPC URL)
    description: str = ""
    #: True when send_raw_transaction executes the transaction first and refuses
    #: (RevertData, nothing recorded, nonce not consumed) one that would revert:
    #: the client then skips eth_estimateGas and uses ``send_gas_limit``.
    simulates_sends: bool = False
    send_gas_limit: int = 0

    @abstractmethod
    def chain_id(self) -> int: ...

    @abstractmethod
    def genesis_hash(self) -> bytes: ...

    @abstractmethod
    def nonce(self, address: str) -> int:
        """The next nonce of ``address`` (pending transactions included)."""

    @abstractmethod
    def balance(self, address: str) -> int: ...

    @abstractmethod
    def fee_params(self) -> dict[str, int]:
        """Fee fields for a new transaction: maxFeePerGas/maxPriorityFeePerGas or gasPrice."""

    @abstractmethod
    def call(self, tx: dict[str, Any]) -> bytes:
        """eth_call at the latest block; raises RevertData."""

    @abstractmethod
    def estimate_gas(self, tx: dict[str, Any]) -> int:
        """eth_estimateGas; raises RevertData."""

    @abstractmethod
    def send_raw_transaction(self, raw: bytes, *, signed_by: str | None = None) -> Receipt:
        """Send a signed transaction and wait until it is mined (and durable).

        ``signed_by`` is the address of the in-process account that just signed
        ``raw``; a back end may use it instead of recovering the sender from the
        signature (nodes ignore it; a replayed journal always recovers).
        """

    @abstractmethod
    def get_logs(
        self, address: str, topics: list[bytes | None], from_block: int = 0
    ) -> list[Log]: ...

    @abstractmethod
    def block_timestamp(self, number: int) -> int: ...

    @abstractmethod
    def code(self, address: str) -> bytes: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (files, sockets)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
