"""Ledger accounts: encrypted Ethereum keystore files (Web3 Secret Storage v3, eth-account).

The passphrase comes from ``XTRUST_LEDGER_PASSPHRASE``; when it is unset the empty
passphrase is used. The empty default is for development only: anyone who can
read the keystore file can then sign as that account.

The embedded ledger keeps its keystores in ``<data-dir>/keystore/``; the file named
in ``<data-dir>/keystore/DEFAULT`` is the account commands act as unless
``--account FILE`` is given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from xtrust._files import write_atomic
from xtrust.errors import InputError

__all__ = [
    "PASSPHRASE_ENV",
    "create_keystore",
    "default_keystore",
    "load_account",
    "passphrase",
]

PASSPHRASE_ENV = "XTRUST_LEDGER_PASSPHRASE"
#: scrypt cost of new keystores (eth-account's default is 2**18)
DEFAULT_SCRYPT_N = 2**18


def passphrase() -> str:
    return os.environ.get(PASSPHRASE_ENV, "")


def create_keystore(
    directory: Path,
    *,
    secret: str | None = None,
    private_key: bytes | None = None,
    scrypt_n: int | None = None,
    make_default: bool = False,
) -> tuple[Path, LocalAccount]:
    """Create a new account (or import ``private_key``) as an encrypted keystore file."""
    acct: LocalAccount = (
        Account.from_key(private_key) if private_key is not None else Account.create()
    )
    keystore = Account.encrypt(
        acct.key,
        passphrase() if secret is None else secret,
        kdf="scrypt",
        iterations=scrypt_n or DEFAULT_SCRYPT_N,
    )
    path = directory / f"{acct.address}.json"
    write_atomic(path, json.dumps(keystore, indent=1), mode=0o600, make_dirs=True)
    if make_default:
        write_atomic(directory / "DEFAULT", path.name + "\n", mode=0o644, make_dirs=True)
    return path, acct


def default_keystore(directory: Path) -> Path | None:
    pointer = directory / "DEFAULT"
    if not pointer.exists():
        return None
    return directory / pointer.read_text().strip()


def load_account(path: Path, *, secret: str | None = None) -> LocalAccount:
    """Decrypt a keystore file; a wrong passphrase or a bad file is an InputError."""
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"keystore file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a keystore file: {exc}") from None
    try:
        key = Account.decrypt(doc, passphrase() if secret is None else secret)
    except ValueError as exc:
        raise InputError(
            f"cannot decrypt {path}: {exc}",
            hint=f"set {PASSPHRASE_ENV} to the keystore's passphrase",
        ) from None
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a valid keystore file ({exc})") from None
    account: LocalAccount = Account.from_key(key)
    return account
