"""Errors of the ledger, and the one place where reverts become them.

Every back end hands a failed call or transaction to :func:`decode_revert` with
the raw revert data (the ABI-encoded custom error, ``Error(string)`` or
``Panic(uint256)``) however the node surfaced it; node-level rejections (nonce,
funds) go through :func:`classify_node_error`. The result is always an
:class:`~xtrust.errors.XTrustError` subclass whose message a person can act on.
"""

from __future__ import annotations

import re
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from xtrust.errors import ExternalToolError, InputError, XTrustError

__all__ = [
    "AttestationError",
    "ContractRevert",
    "Forbidden",
    "IllegalTransition",
    "InsufficientFunds",
    "LedgerConflict",
    "LedgerError",
    "LedgerUnavailable",
    "NonceError",
    "NotFound",
    "StoreCorrupt",
    "StoreLocked",
    "classify_node_error",
    "decode_revert",
]

STATES = ("None", "Submitted", "Certified", "Approved", "Deployed", "Suspended", "Revoked")
ROLE_NAMES = {keccak(text=name): name for name in ("ADMIN", "CERTIFIER", "OPERATOR")}


class LedgerError(XTrustError):
    """Base class of ledger errors."""


class LedgerUnavailable(ExternalToolError):
    """The Ethereum node (or the embedded store) cannot be reached."""

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message, tool="ledger", hint=hint, detail=detail)


class StoreCorrupt(LedgerError):
    """The embedded store's journal is damaged beyond a torn last record."""


class StoreLocked(LedgerError):
    """Another process has the embedded store open."""


class NonceError(LedgerError):
    """The node refused a transaction because of its nonce (replayed or out of order)."""


class InsufficientFunds(LedgerError):
    """The sending account cannot pay for gas."""


class AttestationError(InputError):
    """An attestation does not verify or does not match the ledger record."""


class ContractRevert(LedgerError):
    """The AppRegistry contract rejected a call; ``error`` is the custom error's name."""

    def __init__(
        self, message: str, *, error: str, args: dict[str, Any], hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.error = error
        self.error_args = args


class Forbidden(ContractRevert):
    """The account lacks the role the operation needs."""


class NotFound(ContractRevert):
    """No app record under that name and version."""


class LedgerConflict(ContractRevert):
    """The record already exists / was already approved / the batch is anchored."""


class IllegalTransition(ContractRevert):
    """The app's current state does not allow that operation."""


_ERROR_STRING = keccak(text="Error(string)")[:4]
_PANIC = keccak(text="Panic(uint256)")[:4]
_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


def _selectors(abi: list[dict[str, Any]]) -> dict[bytes, dict[str, Any]]:
    out: dict[bytes, dict[str, Any]] = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        types = ",".join(_canonical(i) for i in item["inputs"])
        out[keccak(text=f"{item['name']}({types})")[:4]] = item
    return out


def _canonical(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _explain(name: str, args: dict[str, Any]) -> tuple[type[ContractRevert], str, str | None]:
    def hexb(v: Any) -> str:
        return "0x" + bytes(v).hex()

    if name == "Unauthorized":
        role = ROLE_NAMES.get(bytes(args["role"]), hexb(args["role"]))
        return (
            Forbidden,
            f"account {args['account']} lacks the {role} role",
            f"ask an admin to run `xtrust ledger roles grant {role.lower()} {args['account']}`",
        )
    if name == "AppNotFound":
        return (
            NotFound,
            f"no app record with key {hexb(args['key'])}",
            "submit it first with `xtrust ledger submit`",
        )
    if name == "AppExists":
        return (
            LedgerConflict,
            f"this name and version are already registered (key {hexb(args['key'])})",
            "use a new version string",
        )
    if name == "ArtifactAlreadyRegistered":
        return (
            LedgerConflict,
            f"artifact sha256:{bytes(args['artifact']).hex()} is already registered under another record "
            f"(key {hexb(args['existingKey'])})",
            "one artifact digest belongs to exactly one name@version; "
            "check `xtrust ledger verify` for the existing record",
        )
    if name == "IllegalTransition":
        frm, to = STATES[int(args["from"])], STATES[int(args["to"])]
        return (
            IllegalTransition,
            f"illegal transition {frm} -> {to} for record {hexb(args['key'])}",
            "see `xtrust ledger status` for the record's state",
        )
    if name == "AlreadyApproved":
        return (
            LedgerConflict,
            f"operator {args['operator']} already approved record {hexb(args['key'])}",
            "each operator approves once; another operator must approve",
        )
    if name == "CertifierKeyMissing":
        return (
            Forbidden,
            f"certifier {args['certifier']} has no registered public key",
            "an admin registers it with `xtrust ledger keys register --key PUB`",
        )
    if name == "InvalidThreshold":
        return (
            ContractRevert,
            f"approval threshold {args['threshold']} is invalid with {args['operators']} "
            "operator(s) (must be 1..operators)",
            "grant more operators or lower the threshold",
        )
    if name == "LastAdmin":
        return (
            ContractRevert,
            f"cannot revoke the ADMIN role of {args['account']}: it is the last admin",
            "grant another admin first",
        )
    if name == "ZeroValue":
        return (ContractRevert, f"{args['field']} must not be empty or zero", None)
    if name == "BatchAlreadyAnchored":
        return (
            LedgerConflict,
            f"Merkle root {hexb(args['root'])} is already anchored as batch {args['id']}",
            None,
        )
    rendered = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return ContractRevert, f"{name}({rendered})", None


def decode_revert(
    data: bytes | None, abi: list[dict[str, Any]], *, context: str = ""
) -> XTrustError:
    """Turn raw revert data into the matching :class:`ContractRevert` (or a LedgerError)."""
    prefix = f"{context}: " if context else ""
    if not data:
        return ContractRevert(
            prefix + "the contract reverted without a reason (wrong contract address?)",
            error="",
            args={},
        )
    selector, body = bytes(data[:4]), bytes(data[4:])
    if selector == _ERROR_STRING:
        (reason,) = abi_decode(["string"], body)
        return ContractRevert(
            prefix + f"reverted: {reason}", error="Error", args={"reason": reason}
        )
    if selector == _PANIC:
        (code,) = abi_decode(["uint256"], body)
        what = _PANIC_CODES.get(code, f"panic 0x{code:x}")
        return ContractRevert(
            prefix + f"contract panic: {what}", error="Panic", args={"code": code}
        )
    item = _selectors(abi).get(selector)
    if item is None:
        return ContractRevert(
            prefix + f"reverted with unknown error 0x{bytes(data).hex()}",
            error="unknown",
            args={},
        )
    values = abi_decode([_canonical(i) for i in item["inputs"]], body)
    args = {i["name"]: v for i, v in zip(item["inputs"], values, strict=True)}
    cls, message, hint = _explain(item["name"], args)
    return cls(prefix + message, error=item["name"], args=args, hint=hint)


_NONCE = re.compile(r"nonce|already known|already imported|replacement transaction", re.I)
_FUNDS = re.compile(r"insufficient funds|insufficient balance|sender doesn't have enough", re.I)


def classify_node_error(message: str, *, context: str = "") -> XTrustError:
    """Map a node's rejection of a raw transaction to an actionable error."""
    prefix = f"{context}: " if context else ""
    one = " ".join(message.split())
    if _NONCE.search(one):
        return NonceError(
            prefix + f"transaction rejected because of its nonce ({one})",
            hint="a signed transaction was replayed or another transaction from this account "
            "was sent concurrently; re-run the command to sign a fresh one",
        )
    if _FUNDS.search(one):
        return InsufficientFunds(
            prefix + f"the account cannot pay for gas ({one})",
            hint="fund the account on this network",
        )
    return LedgerError(prefix + f"the node rejected the transaction: {one}")
