"""Key files: roundtrip, encryption, corruption, wrong kind, atomic writes."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from xtrust.crypto import (
    HybridKemPrivateKey,
    HybridKemPublicKey,
    HybridPublicKey,
    HybridSigningKey,
    KeyFileError,
    load_private_key,
    load_public_key,
    read_key_info,
)
from xtrust.errors import InputError


@pytest.fixture(scope="module")
def sk() -> HybridSigningKey:
    return HybridSigningKey.generate()


@pytest.fixture(scope="module")
def kem() -> HybridKemPrivateKey:
    return HybridKemPrivateKey.generate()


def _doc(path: Path) -> dict:
    lines = path.read_text().splitlines()
    return json.loads(base64.b64decode("".join(lines[1:-1])))


def _write_doc(path: Path, label: str, doc: dict) -> None:
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    path.write_text(f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")


def test_keyfileerror_is_inputerror() -> None:
    assert issubclass(KeyFileError, InputError)


def test_plain_roundtrip(tmp_path: Path, sk: HybridSigningKey) -> None:
    sk.save(tmp_path / "a.key")
    sk.public_key().save(tmp_path / "a.pub")
    assert stat.S_IMODE(os.stat(tmp_path / "a.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "a.pub").st_mode) == 0o644
    loaded = load_private_key(tmp_path / "a.key")
    assert isinstance(loaded, HybridSigningKey)
    assert loaded.private_bytes() == sk.private_bytes()
    pub = load_public_key(tmp_path / "a.pub")
    assert isinstance(pub, HybridPublicKey) and pub == sk.public_key()
    pub.verify(b"m", loaded.sign(b"m"))
    doc = _doc(tmp_path / "a.key")
    assert doc["kind"] == "sign" and doc["algorithms"] == ["ed25519", "ml-dsa-65"]
    assert doc["encryption"] is None and doc["key_id"] == sk.key_id
    assert (tmp_path / "a.key").read_text().startswith("-----BEGIN XTRUST PRIVATE KEY-----\n")
    assert (tmp_path / "a.pub").read_text().startswith("-----BEGIN XTRUST PUBLIC KEY-----\n")
    # nothing left behind by the atomic writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.key", "a.pub"]


@pytest.mark.parametrize("passphrase", [b"correct horse", "correct horse"])
def test_encrypted_roundtrip(tmp_path: Path, sk: HybridSigningKey, passphrase: bytes | str) -> None:
    path = tmp_path / "enc.key"
    sk.save(path, passphrase)
    text = path.read_text()
    doc = _doc(path)
    assert "private" not in doc and doc["encryption"]["kdf"] == "scrypt"
    assert doc["encryption"]["cipher"] == "aes-256-gcm"
    # no secret seed in the clear
    assert base64.b64encode(sk.private_bytes()[:32]).decode() not in text
    loaded = load_private_key(path, b"correct horse", kind="sign")
    assert loaded.private_bytes() == sk.private_bytes()
    info = read_key_info(path)
    assert info.encrypted and info.type == "private" and info.key_id == sk.key_id


def test_wrong_and_missing_passphrase(tmp_path: Path, sk: HybridSigningKey) -> None:
    path = tmp_path / "enc.key"
    sk.save(path, b"secret")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(path, b"Secret")
    with pytest.raises(KeyFileError, match="encrypted; a passphrase is needed"):
        load_private_key(path)
    with pytest.raises(KeyFileError, match="empty passphrase"):
        load_private_key(path, b"")


def test_encrypted_header_is_authenticated(tmp_path: Path, sk: HybridSigningKey) -> None:
    path = tmp_path / "enc.key"
    sk.save(path, b"secret")
    doc = _doc(path)
    doc["encryption"]["n"] = 2**14  # downgrade the KDF cost: the AAD no longer matches
    _write_doc(path, "XTRUST PRIVATE KEY", doc)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(path, b"secret")


def test_kem_roundtrip(tmp_path: Path, kem: HybridKemPrivateKey) -> None:
    kem.save(tmp_path / "k.key", b"pw")
    kem.public_key().save(tmp_path / "k.pub")
    loaded = load_private_key(tmp_path / "k.key", b"pw", kind="kem")
    assert isinstance(loaded, HybridKemPrivateKey)
    assert loaded.private_bytes() == kem.private_bytes()
    pub = load_public_key(tmp_path / "k.pub", kind="kem")
    assert isinstance(pub, HybridKemPublicKey) and pub == kem.public_key()
    assert _doc(tmp_path / "k.pub")["algorithms"] == ["x25519", "ml-kem-768"]
    ss, ct = pub.encapsulate()
    assert len(ss) == 32 and len(ct) == 1088 + 32
    assert loaded.decapsulate(ct) == ss
    # bytes encodings for the handshake
    assert len(pub.public_bytes()) == 32 + 1184
    assert HybridKemPublicKey.from_public_bytes(pub.public_bytes()) == pub
    assert HybridKemPrivateKey.from_private_bytes(kem.private_bytes()).key_id == kem.key_id
    assert kem.x25519.public_key().public_bytes_raw() == pub.x25519.public_bytes_raw()
    assert kem.mlkem.public_key().public_bytes_raw() == pub.mlkem.public_bytes_raw()


def test_kem_tampered_ciphertext_gives_other_secret(kem: HybridKemPrivateKey) -> None:
    ss, ct = kem.public_key().encapsulate()
    bad = bytearray(ct)
    bad[5] ^= 1
    assert kem.decapsulate(bytes(bad)) != ss  # ML-KEM implicit rejection
    bad = bytearray(ct)
    bad[-1] ^= 1
    assert kem.decapsulate(bytes(bad)) != ss  # the X25519 half counts too
    with pytest.raises(ValueError, match="1120 bytes"):
        kem.decapsulate(ct[:-1])


def test_key_ids_differ_by_kind(sk: HybridSigningKey, kem: HybridKemPrivateKey) -> None:
    assert sk.key_id != kem.key_id
    assert kem.key_id.startswith("sha256:")


def test_wrong_kind(tmp_path: Path, sk: HybridSigningKey, kem: HybridKemPrivateKey) -> None:
    kem.save(tmp_path / "kem.key")
    kem.public_key().save(tmp_path / "kem.pub")
    sk.save(tmp_path / "s.key")
    sk.public_key().save(tmp_path / "s.pub")
    with pytest.raises(KeyFileError, match="is a KEM private key; a signing key is needed"):
        load_private_key(tmp_path / "kem.key", kind="sign")
    with pytest.raises(KeyFileError, match="is a signing public key; a KEM key is needed"):
        load_public_key(tmp_path / "s.pub", kind="kem")
    with pytest.raises(KeyFileError, match="is a public key file"):
        load_private_key(tmp_path / "s.pub")
    with pytest.raises(KeyFileError, match="is a private key file"):
        load_public_key(tmp_path / "s.key")


def test_corrupted_files(tmp_path: Path, sk: HybridSigningKey) -> None:
    good = tmp_path / "good.key"
    sk.save(good)
    text = good.read_text()
    lines = text.splitlines(keepends=True)
    cases = {
        "empty": "",
        "junk": "hello world\n",
        "truncated": text[: len(text) // 2],
        "no end line": "".join(lines[:-1]),
        "truncated body": lines[0] + "".join(lines[1:3]) + lines[-1],
        "bad base64": lines[0] + "!!!!\n" + lines[-1],
        "mismatched label": text.replace("END XTRUST PRIVATE", "END XTRUST PUBLIC"),
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.key"
        bad.write_text(content)
        with pytest.raises(KeyFileError) as info:
            load_private_key(bad)
        assert str(bad) in str(info.value), name
        assert "\n" not in str(info.value), name


def test_edited_documents(tmp_path: Path, sk: HybridSigningKey) -> None:
    path = tmp_path / "s.key"
    sk.save(path)
    original = _doc(path)
    other = HybridSigningKey.generate()
    other.save(tmp_path / "o.key")
    other_doc = _doc(tmp_path / "o.key")
    edits = {
        "kind": (dict(original, kind="rsa"), "unknown key kind"),
        "version": (dict(original, version=2), "unsupported key file version"),
        "format": (dict(original, format="x"), "not an XTRUST key file"),
        "algorithms": (dict(original, algorithms=["ed25519"]), "algorithms"),
        "key_id": (dict(original, key_id="sha256:" + "0" * 64), "key_id does not match"),
        "private mismatch": (
            dict(original, private=other_doc["private"]),
            "does not match its public key",
        ),
        "private missing": (
            {k: v for k, v in original.items() if k != "private"},
            "private part must hold",
        ),
        "short seed": (
            dict(original, private=dict(original["private"], ed25519="AAAA")),
            "must be 64 bytes",
        ),
        "type": (dict(original, type="public"), "armor says private key"),
    }
    for name, (doc, message) in edits.items():
        _write_doc(path, "XTRUST PRIVATE KEY", doc)
        with pytest.raises(KeyFileError, match=message):
            load_private_key(path)
        assert name


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no such key file"):
        load_private_key(tmp_path / "nope.key")
    with pytest.raises(KeyFileError, match="is a directory"):
        load_public_key(tmp_path)


def test_no_overwrite(tmp_path: Path, sk: HybridSigningKey) -> None:
    path = tmp_path / "a.key"
    path.write_text("keep me")
    with pytest.raises(InputError, match="file exists"):
        sk.save(path, overwrite=False)
    assert path.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.key"]
    sk.save(path)  # default overwrites, atomically
    assert load_private_key(path).key_id == sk.key_id


def test_save_into_missing_directory(tmp_path: Path, sk: HybridSigningKey) -> None:
    with pytest.raises(InputError, match="does not exist"):
        sk.save(tmp_path / "missing" / "a.key")


def test_bad_public_bytes() -> None:
    with pytest.raises(KeyFileError, match="1984 bytes"):
        HybridPublicKey.from_public_bytes(b"\x00" * 10)
    with pytest.raises(KeyFileError, match="1216 bytes"):
        HybridKemPublicKey.from_public_bytes(b"\x00" * 10)
