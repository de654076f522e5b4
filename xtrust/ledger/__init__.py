"""The XTRUST ledger: AppRegistry on an EVM chain (embedded py-evm or any JSON-RPC node).

Public API (see docs/ledger.md):

* :class:`LedgerClient` - the contract client over any :class:`Backend`;
  :class:`EmbeddedBackend` (py-evm, crash-safe journal) and :class:`JsonRpcBackend`;
* :func:`open_ledger` / :func:`init_ledger` - back end + account + contract from options;
* :class:`Admission` / :class:`Decision` - admit or deny an artifact digest;
* RFC 6962 Merkle trees: :func:`merkle_root`, :func:`inclusion_proof`, :func:`verify_inclusion`;
* errors: :class:`LedgerError` and its subclasses (all :class:`~xtrust.errors.XTrustError`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xtrust.ledger.accounts import create_keystore, load_account
    from xtrust.ledger.admit import Admission, Decision
    from xtrust.ledger.attestation import (
        PREDICATE_TYPE,
        Attestation,
        AttestationStore,
        check_attestation,
        load_attestation,
    )
    from xtrust.ledger.backends.base import Backend
    from xtrust.ledger.backends.embedded import EmbeddedBackend
    from xtrust.ledger.backends.jsonrpc import JsonRpcBackend
    from xtrust.ledger.client import AppRecord, Event, LedgerClient, TxResult, app_key
    from xtrust.ledger.errors import (
        AttestationError,
        ContractRevert,
        Forbidden,
        IllegalTransition,
        InsufficientFunds,
        LedgerConflict,
        LedgerError,
        LedgerUnavailable,
        NonceError,
        NotFound,
        StoreCorrupt,
        StoreLocked,
    )
    from xtrust.ledger.merkle import inclusion_proof, leaf_hash, merkle_root, verify_inclusion
    from xtrust.ledger.session import Ledger, default_data_dir, init_ledger, open_ledger

_LAZY = {
    "Admission": "xtrust.ledger.admit",
    "AppRecord": "xtrust.ledger.client",
    "Attestation": "xtrust.ledger.attestation",
    "AttestationError": "xtrust.ledger.errors",
    "AttestationStore": "xtrust.ledger.attestation",
    "Backend": "xtrust.ledger.backends.base",
    "ContractRevert": "xtrust.ledger.errors",
    "Decision": "xtrust.ledger.admit",
    "EmbeddedBackend": "xtrust.ledger.backends.embedded",
    "Event": "xtrust.ledger.client",
    "Forbidden": "xtrust.ledger.errors",
    "IllegalTransition": "xtrust.ledger.errors",
    "InsufficientFunds": "xtrust.ledger.errors",
    "JsonRpcBackend": "xtrust.ledger.backends.jsonrpc",
    "Ledger": "xtrust.ledger.session",
    "LedgerClient": "xtrust.ledger.client",
    "LedgerConflict": "xtrust.ledger.errors",
    "LedgerError": "xtrust.ledger.errors",
    "LedgerUnavailable": "xtrust.ledger.errors",
    "NonceError": "xtrust.ledger.errors",
    "NotFound": "xtrust.ledger.errors",
    "PREDICATE_TYPE": "xtrust.ledger.attestation",
    "StoreCorrupt": "xtrust.ledger.errors",
    "StoreLocked": "xtrust.ledger.errors",
    "TxResult": "xtrust.ledger.client",
    "app_key": "xtrust.ledger.client",
    "check_attestation": "xtrust.ledger.attestation",
    "create_keystore": "xtrust.ledger.accounts",
    "default_data_dir": "xtrust.ledger.session",
    "inclusion_proof": "xtrust.ledger.merkle",
    "init_ledger": "xtrust.ledger.session",
    "leaf_hash": "xtrust.ledger.merkle",
    "load_account": "xtrust.ledger.accounts",
    "load_attestation": "xtrust.ledger.attestation",
    "merkle_root": "xtrust.ledger.merkle",
    "open_ledger": "xtrust.ledger.session",
    "verify_inclusion": "xtrust.ledger.merkle",
}


def __getattr__(name: str) -> Any:
    """Import on first use: `xtrust admit` should not pay for py-evm or web3 it does not use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PREDICATE_TYPE",
    "Admission",
    "AppRecord",
    "Attestation",
    "AttestationError",
    "AttestationStore",
    "Backend",
    "ContractRevert",
    "Decision",
    "EmbeddedBackend",
    "Event",
    "Forbidden",
    "IllegalTransition",
    "InsufficientFunds",
    "JsonRpcBackend",
    "Ledger",
    "LedgerClient",
    "LedgerConflict",
    "LedgerError",
    "LedgerUnavailable",
    "NonceError",
    "NotFound",
    "StoreCorrupt",
    "StoreLocked",
    "TxResult",
    "app_key",
    "check_attestation",
    "create_keystore",
    "default_data_dir",
    "inclusion_proof",
    "init_ledger",
    "leaf_hash",
    "load_account",
    "load_attestation",
    "merkle_root",
    "open_ledger",
    "verify_inclusion",
]
