"""Ledger back ends: embedded py-evm (journaled) and JSON-RPC, behind one interface."""

from xtrust.ledger.backends.base import Backend, Log, NodeRejected, Receipt, RevertData

__all__ = ["Backend", "Log", "NodeRejected", "Receipt", "RevertData"]
