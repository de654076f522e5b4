"""The AppRegistry client: one interface over every back end.

:class:`LedgerClient` encodes calls with the committed ABI, signs transactions
with a local account (keystore), sends them through a :class:`Backend`, and turns
every revert or node rejection into an :mod:`xtrust.ledger.errors` exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from xtrust.errors import InputError
from xtrust.ledger.backends.base import Backend, NodeRejected, Receipt, RevertData
from xtrust.ledger.errors import (
    STATES,
    LedgerError,
    classify_node_error,
    decode_revert,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

__all__ = [
    "ROLES",
    "AnchorRecord",
    "AppRecord",
    "Event",
    "LedgerClient",
    "TxResult",
    "app_key",
    "artefact",
    "digest_to_bytes32",
]

ROLES = {name: keccak(text=name.upper()) for name in ("admin", "certifier", "operator")}


@cache
def artefact() -> dict[str, Any]:
    """The committed compiler output (ABI, bytecode, compiler settings)."""
    text = resources.files("xtrust.ledger").joinpath("AppRegistry.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = artefact()["abi"]
    return abi


def _type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + kind[5:]
    return kind


@cache
def _functions() -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in _abi() if item.get("type") == "function"}


@cache
def _events() -> dict[bytes, dict[str, Any]]:
    out = {}
    for item in _abi():
        if item.get("type") == "event":
            sig = f"{item['name']}({','.join(_type(i) for i in item['inputs'])})"
            out[keccak(text=sig)] = item
    return out


def _event_topic(name: str) -> bytes:
    for topic, item in _events().items():
        if item["name"] == name:
            return topic
    raise KeyError(name)


def digest_to_bytes32(digest: str) -> bytes:
    """``"sha256:<hex>"`` -> 32 bytes; anything else is an InputError."""
    algo, _, value = digest.strip().lower().partition(":")
    if algo != "sha256" or len(value) != 64:
        raise InputError(f"expected a digest 'sha256:<64 hex>', got {digest!r}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InputError(f"expected a digest 'sha256:<64 hex>', got {digest!r}") from None


def _digest(raw: bytes) -> str | None:
    return None if raw == b"\x00" * 32 else "sha256:" + raw.hex()


def app_key(name: str, version: str) -> bytes:
    """The record key the contract uses: keccak256(abi.encode(name, version))."""
    return keccak(abi_encode(["string", "string"], [name, version]))


@dataclass(frozen=True)
class AppRecord:
    name: str
    version: str
    key: str
    artifact: str
    attestation: str | None
    submitter: str
    certifier: str | None
    state: str
    approvals: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AnchorRecord:
    root: str
    batch_id: int
    count: int
    timestamp: int


@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "args": {k: _jsonable(v) for k, v in self.args.items()},
            "block": self.block_number,
            "tx": self.transaction_hash,
        }


@dataclass(frozen=True)
class TxResult:
    transaction_hash: str
    gas_used: int
    block_number: int
    events: list[Event] = field(default_factory=list)
    contract_address: str | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _decode_event(log: Any) -> Event | None:
    item = _events().get(log.topics[0]) if log.topics else None
    if item is None:
        return None
    indexed = [i for i in item["inputs"] if i["indexed"]]
    plain = [i for i in item["inputs"] if not i["indexed"]]
    args: dict[str, Any] = {}
    for param, topic in zip(indexed, log.topics[1:], strict=False):
        (args[param["name"]],) = abi_decode([_type(param)], topic)
    values = abi_decode([_type(p) for p in plain], log.data)
    for param, value in zip(plain, values, strict=True):
        args[param["name"]] = value
    for param in item["inputs"]:
        if param["type"] == "address" and param["name"] in args:
            args[param["name"]] = to_checksum_address(args[param["name"]])
    if item["name"] == "StateChanged":
        args["from"] = STATES[int(args["from"])]
        args["to"] = STATES[int(args["to"])]
    return Event(
        name=item["name"],
        args=args,
        block_number=log.block_number,
        transaction_hash="0x" + log.transaction_hash.hex(),
        log_index=log.log_index,
    )


class LedgerClient:
    """AppRegistry at ``address`` on ``backend``, acting as ``account`` (None: read-only)."""

    def __init__(self, backend: Backend, address: str, account: LocalAccount | None = None):
        self.backend = backend
        self.address = to_checksum_address(address)
        self.account = account

    # --------------------------------------------------------------- deploy
    @classmethod
    def deploy(cls, backend: Backend, account: LocalAccount) -> LedgerClient:
        """Deploy a new AppRegistry; ``account`` becomes admin, certifier and operator."""
        code = bytes.fromhex(artefact()["bytecode"][2:])
        receipt = _send(backend, account, None, code, context="deploy AppRegistry")
        if receipt.contract_address is None:  # pragma: no cover - node bug
            raise LedgerError("the node did not report the deployed contract's address")
        return cls(backend, receipt.contract_address, account)

    def check_deployed(self) -> None:
        if not self.backend.code(self.address):
            raise LedgerError(
                f"no contract at {self.address} on {self.backend.description}",
                hint="run `xtrust ledger init` against this node, or pass the right --contract",
            )

    # ----------------------------------------------------------- primitives
    def encode(self, function: str, *args: Any) -> bytes:
        item = _functions()[function]
        types = [_type(i) for i in item["inputs"]]
        selector = keccak(text=f"{function}({','.join(types)})")[:4]
        return selector + abi_encode(types, list(args))

    def call(self, function: str, *args: Any) -> tuple[Any, ...]:
        item = _functions()[function]
        tx = {"to": self.address, "data": self.encode(function, *args)}
        if self.account is not None:
            tx["from"] = self.account.address
        try:
            out = self.backend.call(tx)
        except RevertData as exc:
            raise decode_revert(exc.data, _abi(), context=function) from None
        result: tuple[Any, ...] = abi_decode([_type(o) for o in item["outputs"]], out)
        return result

    def sign(self, function: str, *args: Any, nonce: int | None = None) -> bytes:
        """A signed raw transaction calling ``function`` (gas estimated now)."""
        account = self._need_account()
        data = self.encode(function, *args)
        return _sign(self.backend, account, self.address, data, nonce=nonce, context=function)

    def send_raw(
        self, raw: bytes, *, context: str = "transaction", signed_by: str | None = None
    ) -> TxResult:
        receipt = _submit(self.backend, raw, context=context, signed_by=signed_by)
        return self._result(receipt, context)

    def transact(self, function: str, *args: Any, context: str | None = None) -> TxResult:
        account = self._need_account()
        data = self.encode(function, *args)
        what = context or function
        raw = _sign(self.backend, account, self.address, data, context=what)
        return self.send_raw(raw, context=what, signed_by=account.address)

    def _result(self, receipt: Receipt, context: str) -> TxResult:
        if receipt.status != 1:
            data = receipt.revert_data
            raise decode_revert(data, _abi(), context=context + " (mined, reverted)")
        events = [e for e in (_decode_event(log) for log in receipt.logs) if e is not None]
        return TxResult(
            transaction_hash="0x" + receipt.transaction_hash.hex(),
            gas_used=receipt.gas_used,
            block_number=receipt.block_number,
            events=events,
            contract_address=receipt.contract_address,
        )

    def _need_account(self) -> LocalAccount:
        if self.account is None:
            raise InputError(
                "this operation sends a transaction and needs an account",
                hint="pass --account KEYSTORE_FILE",
            )
        return self.account

    def transfer(self, to: str, wei: int) -> TxResult:
        """Send ether (gas money) from the acting account to ``to``."""
        account = self._need_account()
        raw = _sign(
            self.backend, account, to_checksum_address(to), b"", value=wei, context="transfer"
        )
        return self.send_raw(raw, context="transfer")

    # ---------------------------------------------------------------- roles
    @staticmethod
    def role_id(role: str) -> bytes:
        try:
            return ROLES[role.lower()]
        except KeyError:
            raise InputError(
                f"unknown role {role!r} (expected one of: {', '.join(ROLES)})"
            ) from None

    def grant_role(self, role: str, account: str) -> TxResult:
        return self.transact("grantRole", self.role_id(role), to_checksum_address(account))

    def revoke_role(self, role: str, account: str) -> TxResult:
        return self.transact("revokeRole", self.role_id(role), to_checksum_address(account))

    def has_role(self, role: str, account: str) -> bool:
        return bool(self.call("hasRole", self.role_id(role), to_checksum_address(account))[0])

    def set_threshold(self, threshold: int) -> TxResult:
        return self.transact("setApprovalThreshold", threshold)

    def threshold(self) -> int:
        return int(self.call("approvalThreshold")[0])

    def register_certifier_key(self, certifier: str, key_id: str) -> TxResult:
        return self.transact(
            "registerCertifierKey", to_checksum_address(certifier), digest_to_bytes32(key_id)
        )

    def certifier_key(self, certifier: str) -> str | None:
        return _digest(self.call("certifierKey", to_checksum_address(certifier))[0])

    # ------------------------------------------------------------ lifecycle
    def submit(self, name: str, version: str, artifact: str) -> TxResult:
        return self.transact(
            "submit", name, version, digest_to_bytes32(artifact), context=f"submit {name}@{version}"
        )

    def certify(self, name: str, version: str, attestation: str) -> TxResult:
        return self.transact(
            "certify",
            app_key(name, version),
            digest_to_bytes32(attestation),
            context=f"certify {name}@{version}",
        )

    def approve(self, name: str, version: str) -> TxResult:
        return self.transact("approve", app_key(name, version), context=f"approve {name}@{version}")

    def deploy_app(self, name: str, version: str) -> TxResult:
        return self.transact("deploy", app_key(name, version), context=f"deploy {name}@{version}")

    def suspend(self, name: str, version: str, reason: str = "") -> TxResult:
        return self.transact(
            "suspend", app_key(name, version), reason, context=f"suspend {name}@{version}"
        )

    def resume(self, name: str, version: str, reason: str = "") -> TxResult:
        return self.transact(
            "resume", app_key(name, version), reason, context=f"resume {name}@{version}"
        )

    def revoke(self, name: str, version: str, reason: str = "") -> TxResult:
        return self.transact(
            "revoke", app_key(name, version), reason, context=f"revoke {name}@{version}"
        )

    @staticmethod
    def _record(key: bytes, raw: tuple[Any, ...]) -> AppRecord | None:
        name, version, artifact, attestation, submitter, certifier, state, approvals, ts = raw
        if int(state) == 0:
            return None
        return AppRecord(
            name=name,
            version=version,
            key="0x" + key.hex(),
            artifact=_digest(artifact) or "",
            attestation=_digest(attestation),
            submitter=to_checksum_address(submitter),
            certifier=None if int(certifier, 16) == 0 else to_checksum_address(certifier),
            state=STATES[int(state)],
            approvals=int(approvals),
            updated_at=int(ts),
        )

    def app(self, name: str, version: str) -> AppRecord | None:
        key = app_key(name, version)
        return self._record(key, self.call("getApp", key)[0])

    def app_by_artifact(self, artifact: str) -> AppRecord | None:
        raw = self.call("getAppByArtifact", digest_to_bytes32(artifact))[0]
        if int(raw[6]) == 0:
            return None
        return self._record(app_key(raw[0], raw[1]), raw)

    def versions(self, name: str) -> list[AppRecord]:
        """Every version of ``name`` ever submitted (from AppSubmitted events)."""
        seen: list[AppRecord] = []
        for event in self._events("AppSubmitted"):
            if event.args["name"] == name:
                record = self.app(name, event.args["version"])
                if record is not None:
                    seen.append(record)
        return seen

    def history(self, name: str) -> list[Event]:
        """All events of every version of ``name``, oldest first."""
        keys = {e.args["key"] for e in self._events("AppSubmitted") if e.args["name"] == name}
        events: list[Event] = []
        for event_name in ("AppSubmitted", "AppCertified", "ApprovalRecorded", "StateChanged"):
            for key in keys:
                events.extend(self._events(event_name, key))
        events.sort(key=lambda e: (e.block_number, e.log_index))
        return events

    def _events(self, name: str, key: bytes | None = None) -> list[Event]:
        logs = self.backend.get_logs(self.address, [_event_topic(name), key])
        return [e for e in (_decode_event(log) for log in logs) if e is not None]

    # ------------------------------------------------------------ anchoring
    def anchor_batch(self, root: bytes, count: int, uri: str = "") -> TxResult:
        return self.transact("anchorBatch", root, count, uri)

    def anchor(self, root: bytes) -> AnchorRecord | None:
        batch_id, count, ts = self.call("anchors", root)
        if int(ts) == 0:
            return None
        return AnchorRecord("0x" + root.hex(), int(batch_id), int(count), int(ts))


# -------------------------------------------------------------- sending
def _sign(
    backend: Backend,
    account: LocalAccount,
    to: str | None,
    data: bytes,
    *,
    nonce: int | None = None,
    value: int = 0,
    context: str,
) -> bytes:
    if backend.simulates_sends:
        gas_limit = backend.send_gas_limit
    else:
        probe: dict[str, Any] = {"from": account.address, "to": to, "data": data, "value": value}
        try:
            gas = backend.estimate_gas(probe)
        except RevertData as exc:
            raise decode_revert(exc.data, _abi(), context=context) from None
        except NodeRejected as exc:
            raise classify_node_error(str(exc), context=context) from None
        gas_limit = gas + gas // 5 + 5_000
    tx: dict[str, Any] = {
        "chainId": backend.chain_id(),
        "nonce": backend.nonce(account.address) if nonce is None else nonce,
        "gas": gas_limit,
        "value": value,
        "data": data,
        **backend.fee_params(),
    }
    if to is not None:
        tx["to"] = to
    signed = account.sign_transaction(tx)
    raw: bytes = bytes(signed.raw_transaction)
    return raw


def _submit(backend: Backend, raw: bytes, *, context: str, signed_by: str | None = None) -> Receipt:
    try:
        return backend.send_raw_transaction(raw, signed_by=signed_by)
    except NodeRejected as exc:
        raise classify_node_error(str(exc), context=context) from None
    except RevertData as exc:
        raise decode_revert(exc.data, _abi(), context=context) from None


def _send(
    backend: Backend, account: LocalAccount, to: str | None, data: bytes, *, context: str
) -> Receipt:
    raw = _sign(backend, account, to, data, context=context)
    receipt = _submit(backend, raw, context=context, signed_by=account.address)
    if receipt.status != 1:
        raise decode_revert(receipt.revert_data, _abi(), context=context + " (mined, reverted)")
    return receipt
