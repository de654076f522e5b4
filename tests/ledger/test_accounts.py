"""Encrypted keystore accounts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from xtrust.errors import InputError
from xtrust.ledger.accounts import PASSPHRASE_ENV, create_keystore, default_keystore, load_account


def test_keystore_round_trip_with_the_env_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    path, acct = create_keystore(tmp_path, scrypt_n=16, make_default=True)
    doc = json.loads(path.read_text())
    assert doc["crypto"]["kdf"] == "scrypt" and doc["crypto"]["kdfparams"]["n"] == 16
    assert acct.key.hex() not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert default_keystore(tmp_path) == path
    assert load_account(path).address == acct.address
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(InputError, match="cannot decrypt") as info:
        load_account(path)
    assert PASSPHRASE_ENV in (info.value.hint or "")


def test_empty_default_passphrase_and_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    path, acct = create_keystore(tmp_path, scrypt_n=16, private_key=b"\x05" * 32)
    assert load_account(path).key == acct.key == b"\x05" * 32
    assert default_keystore(tmp_path) is None
    with pytest.raises(InputError, match="not found"):
        load_account(tmp_path / "missing.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InputError, match="not a keystore"):
        load_account(tmp_path / "junk.json")
