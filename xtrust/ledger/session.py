"""Opening a ledger: back end + contract address + account, from CLI-style options.

``--rpc URL`` selects the JSON-RPC back end, otherwise the embedded chain under
``--data-dir`` (default ``$XTRUST_LEDGER_DIR``, else ``$XDG_DATA_HOME/xtrust/ledger``,
else ``~/.local/share/xtrust/ledger``). The data dir also holds the keystores, the
attestation store, certifier public keys, and ``ledger.json`` which records the
AppRegistry address per chain (``<chain id>:<genesis hash>``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import is_address, to_checksum_address

from xtrust.errors import InputError
from xtrust.ledger.attestation import AttestationStore
from xtrust.ledger.backends.base import Backend
from xtrust.ledger.client import LedgerClient
from xtrust.ledger.errors import InsufficientFunds, LedgerError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

__all__ = ["Ledger", "default_data_dir", "init_ledger", "open_ledger"]

CONFIG = "ledger.json"


def default_data_dir() -> Path:
    env = os.environ.get("XTRUST_LEDGER_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "xtrust" / "ledger"


@dataclass
class Ledger:
    client: LedgerClient
    data_dir: Path
    store: AttestationStore

    @property
    def backend(self) -> Backend:
        return self.client.backend

    def close(self) -> None:
        self.client.backend.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_config(data_dir: Path) -> dict[str, Any]:
    path = data_dir / CONFIG
    if not path.exists():
        return {"deployments": {}}
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise LedgerError(f"{path} is not valid JSON: {exc}") from None
    doc.setdefault("deployments", {})
    return doc


def _write_config(data_dir: Path, doc: dict[str, Any]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix="." + CONFIG + ".")
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, data_dir / CONFIG)


def _chain_tag(backend: Backend) -> str:
    return f"{backend.chain_id()}:0x{backend.genesis_hash().hex()}"


def _keystore_dir(data_dir: Path) -> Path:
    return data_dir / "keystore"


def _account(data_dir: Path, account: Path | None, required: bool) -> LocalAccount | None:
    from xtrust.ledger.accounts import default_keystore, load_account

    if not required:
        return None  # reads need no signer (and decrypting a keystore is slow on purpose)
    if account is not None:
        return load_account(account)
    path = default_keystore(_keystore_dir(data_dir))
    if path is None:
        if required:
            raise InputError(
                f"no account: {data_dir} has no default keystore",
                hint="pass --account KEYSTORE_FILE or run `xtrust ledger init`",
            )
        return None
    return load_account(path)


def _backend(rpc: str | None, data_dir: Path, read_only: bool) -> Backend:
    # imported here: web3 and py-evm each take a while to import; use only one
    if rpc:
        from xtrust.ledger.backends.jsonrpc import JsonRpcBackend

        return JsonRpcBackend(rpc)
    if not (data_dir / "chain" / "journal").exists():
        raise LedgerError(
            f"no embedded ledger at {data_dir}",
            hint="run `xtrust ledger init` (or pass --rpc URL / --data-dir DIR)",
        )
    from xtrust.ledger.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(data_dir, read_only=read_only)


def open_ledger(
    *,
    rpc: str | None = None,
    data_dir: Path | None = None,
    account: Path | None = None,
    contract: str | None = None,
    need_account: bool = True,
    read_only: bool = False,
) -> Ledger:
    """Open the ledger; ``read_only`` lets readers share an embedded store with a writer."""
    data_dir = data_dir or default_data_dir()
    backend = _backend(rpc, data_dir, read_only)
    try:
        signer = _account(data_dir, account, need_account)
        if contract is None:
            contract = _read_config(data_dir)["deployments"].get(_chain_tag(backend))
            if contract is None:
                raise LedgerError(
                    f"no AppRegistry recorded for {backend.description} in {data_dir / CONFIG}",
                    hint="run `xtrust ledger init` against it or pass --contract ADDRESS",
                )
        elif not is_address(contract):
            raise InputError(f"--contract {contract!r} is not an Ethereum address")
        client = LedgerClient(backend, to_checksum_address(contract), signer)
        if rpc:
            client.check_deployed()
        return Ledger(client=client, data_dir=data_dir, store=AttestationStore(data_dir))
    except BaseException:
        backend.close()
        raise


def init_ledger(
    *,
    rpc: str | None = None,
    data_dir: Path | None = None,
    account: Path | None = None,
    scrypt_n: int | None = None,
) -> tuple[Ledger, bool]:
    """Create the account (embedded), the chain and deploy AppRegistry.

    Returns (ledger, created); an already initialised data dir / chain is reopened.
    """
    from xtrust.ledger.accounts import create_keystore, default_keystore, load_account
    from xtrust.ledger.backends.embedded import EmbeddedBackend
    from xtrust.ledger.backends.jsonrpc import JsonRpcBackend

    data_dir = data_dir or default_data_dir()
    config = _read_config(data_dir)
    kdir = _keystore_dir(data_dir)
    signer: LocalAccount | None
    if account is not None:
        signer = load_account(account)
    else:
        path = default_keystore(kdir)
        if path is None:
            _path, signer = create_keystore(kdir, make_default=True, scrypt_n=scrypt_n)
        else:
            signer = load_account(path)
    assert signer is not None
    backend: Backend = (
        JsonRpcBackend(rpc) if rpc else EmbeddedBackend(data_dir, fund=[signer.address])
    )
    try:
        tag = _chain_tag(backend)
        existing = config["deployments"].get(tag)
        if existing and backend.code(existing):
            client = LedgerClient(backend, existing, signer)
            return Ledger(client, data_dir, AttestationStore(data_dir)), False
        try:
            client = LedgerClient.deploy(backend, signer)
        except InsufficientFunds as exc:
            raise InsufficientFunds(
                f"{exc}; account {signer.address}",
                hint=f"fund {signer.address} on {backend.description} (the keystore is in "
                f"{kdir if account is None else account}), then rerun `xtrust ledger init`",
            ) from None
        config["deployments"][tag] = client.address
        _write_config(data_dir, config)
        return Ledger(client, data_dir, AttestationStore(data_dir)), True
    except BaseException:
        backend.close()
        raise
