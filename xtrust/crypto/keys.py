"""Hybrid key pairs and the XTRUST key file format.

Two kinds of key, each a classical and a post-quantum key used together:

* ``sign``: Ed25519 + ML-DSA-65 (:class:`HybridSigningKey`, :class:`HybridPublicKey`)
* ``kem``: X25519 + ML-KEM-768 (:class:`HybridKemPrivateKey`, :class:`HybridKemPublicKey`)

Key id: ``"sha256:" + hex(SHA-256(canonical public encoding))`` where the
canonical public encoding is the ASCII algorithm label, a NUL byte and the raw
public keys::

    sign: b"ed25519+ml-dsa-65\\x00" + Ed25519 public (32) + ML-DSA-65 public (1952)
    kem:  b"x25519+ml-kem-768\\x00" + X25519 public (32) + ML-KEM-768 encapsulation key (1184)

Key files are PEM-like armored JSON; the format is specified in docs/crypto.md
and in :func:`_private_document` / :func:`_public_document` below.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal, overload

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from xtrust._files import write_atomic
from xtrust.crypto._internal.armor import b64d, b64e, canonical_json, dearmor, enarmor
from xtrust.crypto.errors import KeyFileError, SignatureError
from xtrust.crypto.sign import HybridSignature

__all__ = [
    "KEM_ALGORITHMS",
    "SIGN_ALGORITHMS",
    "HybridKemPrivateKey",
    "HybridKemPublicKey",
    "HybridPublicKey",
    "HybridSigningKey",
    "KeyInfo",
    "load_private_key",
    "load_public_key",
    "read_key_info",
]

SIGN_ALGORITHMS: tuple[str, str] = ("ed25519", "ml-dsa-65")
KEM_ALGORITHMS: tuple[str, str] = ("x25519", "ml-kem-768")

FORMAT_NAME = "xtrust-key"
FORMAT_VERSION = 1
PRIVATE_LABEL = "XTRUST PRIVATE KEY"
PUBLIC_LABEL = "XTRUST PUBLIC KEY"

# Sizes of the raw encodings (public keys; private keys are seeds).
_ED25519_PUB = 32
_MLDSA65_PUB = 1952
_X25519_PUB = 32
_MLKEM768_PUB = 1184
_SEED32 = 32
_MLKEM_SEED = 64  # d || z, FIPS 203 section 7.1

# scrypt parameters written into new files (32 MiB, ~0.1 s); readers accept up to the bounds.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAX_N = 2**20
_SCRYPT_MAX_R = 32
_SCRYPT_MAX_P = 16
_MAX_KEY_FILE = 1 << 20

# X-Wing combiner label (draft-connolly-cfrg-xwing-kem): the ASCII bytes \.//^\
_XWING_LABEL = b"\x5c\x2e\x2f\x2f\x5e\x5c"

Kind = Literal["sign", "kem"]
Passphrase = bytes | str | None


def _key_id(label: str, raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(label.encode("ascii") + b"\x00" + raw).hexdigest()


# ---------------------------------------------------------------------------
# what both key kinds share


class _PublicKeyBase:
    """The canonical public encoding makes a public key's id, identity and file."""

    label: ClassVar[str]

    def public_bytes(self) -> bytes:  # pragma: no cover - every kind defines it
        raise NotImplementedError

    @cached_property
    def key_id(self) -> str:
        """``sha256:<hex>`` over the canonical public encoding (see module docs)."""
        return _key_id(self.label, self.public_bytes())

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> None:
        """Write the public key file (mode 0644), atomically."""
        doc = _public_document(self)  # type: ignore[arg-type]
        write_atomic(path, enarmor(PUBLIC_LABEL, doc), mode=0o644, overwrite=overwrite)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _PublicKeyBase)
            and type(other) is type(self)
            and self.public_bytes() == other.public_bytes()
        )

    def __hash__(self) -> int:
        return hash(self.public_bytes())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_id})"


class _PrivateKeyBase:
    """A private key knows its public half; its id is the public key's."""

    _public: HybridPublicKey | HybridKemPublicKey

    @property
    def key_id(self) -> str:
        return self._public.key_id

    def save(
        self,
        path: str | os.PathLike[str],
        passphrase: Passphrase = None,
        *,
        overwrite: bool = True,
    ) -> None:
        """Write the private key file (mode 0600) atomically; encrypted when ``passphrase``."""
        _save_private(self, self._public, path, passphrase, overwrite)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_id})"


# ---------------------------------------------------------------------------
# signing keys


class HybridPublicKey(_PublicKeyBase):
    """Ed25519 + ML-DSA-65 public key. ``verify`` needs both signatures to be valid."""

    kind: ClassVar[Kind] = "sign"
    algorithms: ClassVar[tuple[str, str]] = SIGN_ALGORITHMS
    label: ClassVar[str] = "ed25519+ml-dsa-65"

    def __init__(self, ed25519: Ed25519PublicKey, mldsa: MLDSA65PublicKey) -> None:
        self.ed25519 = ed25519
        self.mldsa = mldsa

    # encodings
    def public_bytes(self) -> bytes:
        """Raw Ed25519 public key (32 bytes) followed by the raw ML-DSA-65 public key (1952)."""
        return self.ed25519.public_bytes_raw() + self.mldsa.public_bytes_raw()

    @classmethod
    def from_public_bytes(cls, data: bytes) -> HybridPublicKey:
        if len(data) != _ED25519_PUB + _MLDSA65_PUB:
            raise KeyFileError(
                f"hybrid signing public key must be {_ED25519_PUB + _MLDSA65_PUB} bytes, "
                f"got {len(data)}"
            )
        return cls._from_parts(data[:_ED25519_PUB], data[_ED25519_PUB:])

    @classmethod
    def _from_parts(cls, ed: bytes, ml: bytes) -> HybridPublicKey:
        try:
            return cls(
                Ed25519PublicKey.from_public_bytes(ed), MLDSA65PublicKey.from_public_bytes(ml)
            )
        except ValueError as exc:
            raise KeyFileError(f"invalid signing public key: {exc}") from None

    # verification
    def verify_ed25519(self, message: bytes, signature: bytes) -> None:
        """Verify the Ed25519 component alone; raises :class:`SignatureError`."""
        try:
            self.ed25519.verify(bytes(signature), bytes(message))
        except InvalidSignature:
            raise SignatureError(f"Ed25519 signature does not verify ({self.key_id})") from None

    def verify_mldsa(self, message: bytes, signature: bytes) -> None:
        """Verify the ML-DSA-65 component alone (empty context); raises :class:`SignatureError`."""
        try:
            self.mldsa.verify(bytes(signature), bytes(message))
        except InvalidSignature:
            raise SignatureError(f"ML-DSA-65 signature does not verify ({self.key_id})") from None

    def verify(self, message: bytes, signature: bytes) -> None:
        """Verify a hybrid signature; raises :class:`SignatureError` unless BOTH halves verify.

        Never returns a boolean: returning normally means the signature is good.
        """
        parts = HybridSignature.decode(signature)
        # Check both, always, so that the time taken does not tell which half failed.
        failures: list[str] = []
        for name, check, sig in (
            ("Ed25519", self.verify_ed25519, parts.ed25519),
            ("ML-DSA-65", self.verify_mldsa, parts.mldsa65),
        ):
            try:
                check(message, sig)
            except SignatureError:
                failures.append(name)
        if failures:
            raise SignatureError(
                f"hybrid signature invalid: {' and '.join(failures)} "
                f"{'half does' if len(failures) == 1 else 'halves do'} not verify "
                f"with key {self.key_id}"
            )


class HybridSigningKey(_PrivateKeyBase):
    """Ed25519 + ML-DSA-65 private key; :meth:`sign` makes one hybrid signature."""

    kind: ClassVar[Kind] = "sign"
    algorithms: ClassVar[tuple[str, str]] = SIGN_ALGORITHMS
    _public: HybridPublicKey

    def __init__(self, ed25519: Ed25519PrivateKey, mldsa: MLDSA65PrivateKey) -> None:
        self.ed25519 = ed25519
        self.mldsa = mldsa
        self._public = HybridPublicKey(ed25519.public_key(), mldsa.public_key())

    @classmethod
    def generate(cls) -> HybridSigningKey:
        return cls(Ed25519PrivateKey.generate(), MLDSA65PrivateKey.generate())

    def private_bytes(self) -> bytes:
        """Ed25519 private key (32) followed by the ML-DSA-65 seed xi (32). Keep secret."""
        return self.ed25519.private_bytes_raw() + self.mldsa.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> HybridSigningKey:
        if len(data) != 2 * _SEED32:
            raise KeyFileError(f"hybrid signing private key must be 64 bytes, got {len(data)}")
        return cls._from_parts(data[:_SEED32], data[_SEED32:])

    @classmethod
    def _from_parts(cls, ed: bytes, ml: bytes) -> HybridSigningKey:
        try:
            return cls(
                Ed25519PrivateKey.from_private_bytes(ed), MLDSA65PrivateKey.from_seed_bytes(ml)
            )
        except ValueError as exc:
            raise KeyFileError(f"invalid signing private key: {exc}") from None

    def public_key(self) -> HybridPublicKey:
        return self._public

    def sign_ed25519(self, message: bytes) -> bytes:
        """Pure Ed25519 signature over ``message`` (64 bytes)."""
        return self.ed25519.sign(bytes(message))

    def sign_mldsa(self, message: bytes) -> bytes:
        """ML-DSA-65 signature over ``message``, empty context, hedged (3309 bytes)."""
        return self.mldsa.sign(bytes(message))

    def sign(self, message: bytes) -> bytes:
        """One hybrid signature (3377 bytes, see :mod:`xtrust.crypto.sign`)."""
        return HybridSignature(self.sign_ed25519(message), self.sign_mldsa(message)).encode()


# ---------------------------------------------------------------------------
# KEM keys


class HybridKemPublicKey(_PublicKeyBase):
    """X25519 + ML-KEM-768 public key.

    ``.x25519`` and ``.mlkem`` are the ``cryptography`` key objects; ``public_bytes``
    is X25519 (32 bytes) followed by the ML-KEM-768 encapsulation key (1184).
    """

    kind: ClassVar[Kind] = "kem"
    algorithms: ClassVar[tuple[str, str]] = KEM_ALGORITHMS
    label: ClassVar[str] = "x25519+ml-kem-768"
    ciphertext_size: ClassVar[int] = 1088 + 32

    def __init__(self, x25519: X25519PublicKey, mlkem: MLKEM768PublicKey) -> None:
        self.x25519 = x25519
        self.mlkem = mlkem

    def public_bytes(self) -> bytes:
        return self.x25519.public_bytes_raw() + self.mlkem.public_bytes_raw()

    @classmethod
    def from_public_bytes(cls, data: bytes) -> HybridKemPublicKey:
        if len(data) != _X25519_PUB + _MLKEM768_PUB:
            raise KeyFileError(
                f"hybrid KEM public key must be {_X25519_PUB + _MLKEM768_PUB} bytes, got {len(data)}"
            )
        return cls._from_parts(data[:_X25519_PUB], data[_X25519_PUB:])

    @classmethod
    def _from_parts(cls, x: bytes, ml: bytes) -> HybridKemPublicKey:
        try:
            return cls(
                X25519PublicKey.from_public_bytes(x), MLKEM768PublicKey.from_public_bytes(ml)
            )
        except ValueError as exc:
            raise KeyFileError(f"invalid KEM public key: {exc}") from None

    def encapsulate(self) -> tuple[bytes, bytes]:
        """Hybrid encapsulation: returns ``(shared_secret, ciphertext)``.

        ``ciphertext`` is the ML-KEM-768 ciphertext (1088 bytes) followed by an
        ephemeral X25519 public key (32). The 32-byte shared secret is the X-Wing
        combiner: SHA3-256(ss_mlkem || ss_x25519 || ct_x25519 || pk_x25519 || "\\.//^\\").
        """
        ss_m, ct_m = self.mlkem.encapsulate()
        eph = X25519PrivateKey.generate()
        ct_x = eph.public_key().public_bytes_raw()
        ss_x = eph.exchange(self.x25519)
        return _combine(ss_m, ss_x, ct_x, self.x25519.public_bytes_raw()), ct_m + ct_x


class HybridKemPrivateKey(_PrivateKeyBase):
    """X25519 + ML-KEM-768 private key (``.x25519``, ``.mlkem``)."""

    kind: ClassVar[Kind] = "kem"
    algorithms: ClassVar[tuple[str, str]] = KEM_ALGORITHMS
    _public: HybridKemPublicKey

    def __init__(self, x25519: X25519PrivateKey, mlkem: MLKEM768PrivateKey) -> None:
        self.x25519 = x25519
        self.mlkem = mlkem
        self._public = HybridKemPublicKey(x25519.public_key(), mlkem.public_key())

    @classmethod
    def generate(cls) -> HybridKemPrivateKey:
        return cls(X25519PrivateKey.generate(), MLKEM768PrivateKey.generate())

    def private_bytes(self) -> bytes:
        """X25519 private key (32) followed by the ML-KEM-768 seed d || z (64). Keep secret."""
        return self.x25519.private_bytes_raw() + self.mlkem.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> HybridKemPrivateKey:
        if len(data) != _SEED32 + _MLKEM_SEED:
            raise KeyFileError(f"hybrid KEM private key must be 96 bytes, got {len(data)}")
        return cls._from_parts(data[:_SEED32], data[_SEED32:])

    @classmethod
    def _from_parts(cls, x: bytes, ml: bytes) -> HybridKemPrivateKey:
        try:
            return cls(
                X25519PrivateKey.from_private_bytes(x), MLKEM768PrivateKey.from_seed_bytes(ml)
            )
        except ValueError as exc:
            raise KeyFileError(f"invalid KEM private key: {exc}") from None

    def public_key(self) -> HybridKemPublicKey:
        return self._public

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """Inverse of :meth:`HybridKemPublicKey.encapsulate`; returns the shared secret.

        ML-KEM decapsulation is implicitly rejecting: a tampered ciphertext gives a
        different (pseudo-random) secret rather than an error.
        """
        ct = bytes(ciphertext)
        if len(ct) != HybridKemPublicKey.ciphertext_size:
            raise ValueError(
                f"hybrid KEM ciphertext must be {HybridKemPublicKey.ciphertext_size} bytes, "
                f"got {len(ct)}"
            )
        ct_m, ct_x = ct[:1088], ct[1088:]
        ss_m = self.mlkem.decapsulate(ct_m)
        ss_x = self.x25519.exchange(X25519PublicKey.from_public_bytes(ct_x))
        return _combine(ss_m, ss_x, ct_x, self._public.x25519.public_bytes_raw())


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + _XWING_LABEL).digest()


PublicKey = HybridPublicKey | HybridKemPublicKey
PrivateKey = HybridSigningKey | HybridKemPrivateKey


# ---------------------------------------------------------------------------
# file format


def _component_bytes(key: PublicKey) -> tuple[bytes, bytes]:
    if isinstance(key, HybridPublicKey):
        return key.ed25519.public_bytes_raw(), key.mldsa.public_bytes_raw()
    return key.x25519.public_bytes_raw(), key.mlkem.public_bytes_raw()


def _public_document(key: PublicKey) -> dict[str, Any]:
    first, second = _component_bytes(key)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "type": "public",
        "kind": key.kind,
        "algorithms": list(key.algorithms),
        "key_id": key.key_id,
        "public": {key.algorithms[0]: b64e(first), key.algorithms[1]: b64e(second)},
    }


def _private_components(key: PrivateKey) -> dict[str, str]:
    if isinstance(key, HybridSigningKey):
        parts = (key.ed25519.private_bytes_raw(), key.mldsa.private_bytes_raw())
    else:
        parts = (key.x25519.private_bytes_raw(), key.mlkem.private_bytes_raw())
    return {key.algorithms[0]: b64e(parts[0]), key.algorithms[1]: b64e(parts[1])}


def _passphrase_bytes(passphrase: Passphrase) -> bytes | None:
    if passphrase is None:
        return None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not passphrase:
        raise KeyFileError("empty passphrase; give a non-empty one or none at all")
    return bytes(passphrase)


def _kek(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _save_private(
    key: PrivateKey,
    public: PublicKey,
    path: str | os.PathLike[str],
    passphrase: Passphrase,
    overwrite: bool,
) -> None:
    doc = _public_document(public)
    doc["type"] = "private"
    secret = _private_components(key)
    pw = _passphrase_bytes(passphrase)
    if pw is None:
        doc["encryption"] = None
        doc["private"] = secret
    else:
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        doc["encryption"] = {
            "kdf": "scrypt",
            "salt": b64e(salt),
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "cipher": "aes-256-gcm",
            "nonce": b64e(nonce),
        }
        kek = _kek(pw, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        ciphertext = AESGCM(kek).encrypt(nonce, canonical_json(secret), canonical_json(doc))
        doc["ciphertext"] = b64e(ciphertext)
    write_atomic(path, enarmor(PRIVATE_LABEL, doc), mode=0o600, overwrite=overwrite)


@dataclass(frozen=True)
class KeyInfo:
    """What a key file says about itself (readable without the passphrase)."""

    path: str
    type: Literal["public", "private"]
    kind: Kind
    algorithms: tuple[str, ...]
    key_id: str
    encrypted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "kind": self.kind,
            "algorithms": list(self.algorithms),
            "key_id": self.key_id,
            "encrypted": self.encrypted,
        }


def _read(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(_MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise KeyFileError(f"{p}: no such key file") from None
    except IsADirectoryError:
        raise KeyFileError(f"{p}: is a directory, not a key file") from None
    except OSError as exc:
        raise KeyFileError(f"{p}: cannot read key file: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE:
        raise KeyFileError(f"{p}: too large for a key file")
    try:
        label, doc = dearmor(data)
    except ValueError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    if label not in (PRIVATE_LABEL, PUBLIC_LABEL):
        raise KeyFileError(f"{p}: unknown armor label {label!r}")
    if not isinstance(doc, dict):
        raise KeyFileError(f"{p}: key document is not a JSON object")
    if doc.get("format") != FORMAT_NAME:
        raise KeyFileError(f"{p}: not an XTRUST key file (format {doc.get('format')!r})")
    if doc.get("version") != FORMAT_VERSION:
        raise KeyFileError(
            f"{p}: unsupported key file version {doc.get('version')!r} (this build reads 1)"
        )
    expected_type = "private" if label == PRIVATE_LABEL else "public"
    if doc.get("type") != expected_type:
        raise KeyFileError(
            f"{p}: armor says {expected_type} key, document says {doc.get('type')!r}"
        )
    kind = doc.get("kind")
    algos = KEM_ALGORITHMS if kind == "kem" else SIGN_ALGORITHMS if kind == "sign" else None
    if algos is None:
        raise KeyFileError(f"{p}: unknown key kind {kind!r} (expected 'sign' or 'kem')")
    if doc.get("algorithms") != list(algos):
        raise KeyFileError(
            f"{p}: {kind} key with algorithms {doc.get('algorithms')!r}; expected {list(algos)}"
        )
    return expected_type, doc


def _public_from_doc(p: str, doc: dict[str, Any]) -> PublicKey:
    comps = doc.get("public")
    kind = doc["kind"]
    algos = KEM_ALGORITHMS if kind == "kem" else SIGN_ALGORITHMS
    if not isinstance(comps, dict) or set(comps) != set(algos):
        raise KeyFileError(f"{p}: 'public' must hold exactly {list(algos)}")
    try:
        first = b64d(comps[algos[0]], f"public.{algos[0]}")
        second = b64d(comps[algos[1]], f"public.{algos[1]}")
    except ValueError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    cls = HybridKemPublicKey if kind == "kem" else HybridPublicKey
    try:
        key: PublicKey = cls.from_public_bytes(first + second)
    except KeyFileError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    if doc.get("key_id") != key.key_id:
        raise KeyFileError(f"{p}: key_id does not match the public key (corrupted or edited file)")
    return key


def read_key_info(path: str | os.PathLike[str]) -> KeyInfo:
    """Read a key file's header (no passphrase needed); checks the public part and key id."""
    ktype, doc = _read(path)
    _public_from_doc(str(path), doc)
    return KeyInfo(
        path=str(path),
        type="private" if ktype == "private" else "public",
        kind="kem" if doc["kind"] == "kem" else "sign",
        algorithms=tuple(doc["algorithms"]),
        key_id=str(doc["key_id"]),
        encrypted=ktype == "private" and doc.get("encryption") is not None,
    )


def _check_kind(p: str, actual: str, wanted: Kind | None, what: str) -> None:
    if wanted is not None and actual != wanted:
        names = {"sign": "signing", "kem": "KEM"}
        raise KeyFileError(
            f"{p}: is a {names.get(actual, actual)} {what}; a {names[wanted]} key is needed"
        )


def _decrypt(p: str, doc: dict[str, Any], passphrase: Passphrase) -> Any:
    enc = doc["encryption"]
    pw = _passphrase_bytes(passphrase)
    if pw is None:
        raise KeyFileError(f"{p}: private key is encrypted; a passphrase is needed")
    if (
        not isinstance(enc, dict)
        or enc.get("kdf") != "scrypt"
        or enc.get("cipher") != "aes-256-gcm"
    ):
        raise KeyFileError(f"{p}: unsupported encryption (expected scrypt + aes-256-gcm)")
    n, r, par = enc.get("n"), enc.get("r"), enc.get("p")
    if not (
        isinstance(n, int)
        and isinstance(r, int)
        and isinstance(par, int)
        and 2 <= n <= _SCRYPT_MAX_N
        and n & (n - 1) == 0
        and 1 <= r <= _SCRYPT_MAX_R
        and 1 <= par <= _SCRYPT_MAX_P
    ):
        raise KeyFileError(f"{p}: scrypt parameters out of range (n={n!r} r={r!r} p={par!r})")
    try:
        salt = b64d(enc.get("salt"), "encryption.salt")
        nonce = b64d(enc.get("nonce"), "encryption.nonce")
        ciphertext = b64d(doc.get("ciphertext"), "ciphertext")
    except ValueError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    if len(nonce) != 12 or len(salt) < 8:
        raise KeyFileError(f"{p}: bad salt or nonce length")
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    try:
        plain = AESGCM(_kek(pw, salt, n, r, par)).decrypt(nonce, ciphertext, canonical_json(header))
    except InvalidTag:
        raise KeyFileError(f"{p}: wrong passphrase (or the key file was modified)") from None
    try:
        return json.loads(plain)
    except ValueError:
        raise KeyFileError(f"{p}: decrypted key is not JSON") from None


@overload
def load_private_key(
    path: str | os.PathLike[str], passphrase: Passphrase = None, *, kind: Literal["sign"]
) -> HybridSigningKey: ...
@overload
def load_private_key(
    path: str | os.PathLike[str], passphrase: Passphrase = None, *, kind: Literal["kem"]
) -> HybridKemPrivateKey: ...
@overload
def load_private_key(
    path: str | os.PathLike[str], passphrase: Passphrase = None, *, kind: None = None
) -> HybridSigningKey | HybridKemPrivateKey: ...
def load_private_key(
    path: str | os.PathLike[str], passphrase: Passphrase = None, *, kind: Kind | None = None
) -> HybridSigningKey | HybridKemPrivateKey:
    """Load a private key file; ``kind`` ("sign"/"kem") rejects the other kind.

    Raises :class:`KeyFileError` for a missing, corrupted or truncated file, a
    public key file, the wrong kind, a missing or wrong passphrase.
    """
    p = str(path)
    ktype, doc = _read(path)
    if ktype != "private":
        raise KeyFileError(f"{p}: is a public key file; a private key file is needed")
    _check_kind(p, doc["kind"], kind, "private key")
    public = _public_from_doc(p, doc)
    secret = doc.get("private") if doc.get("encryption") is None else _decrypt(p, doc, passphrase)
    algos = public.algorithms
    if not isinstance(secret, dict) or set(secret) != set(algos):
        raise KeyFileError(f"{p}: private part must hold exactly {list(algos)}")
    try:
        first = b64d(secret[algos[0]], f"private.{algos[0]}")
        second = b64d(secret[algos[1]], f"private.{algos[1]}")
    except ValueError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    try:
        key: PrivateKey
        if isinstance(public, HybridPublicKey):
            key = HybridSigningKey.from_private_bytes(first + second)
        else:
            key = HybridKemPrivateKey.from_private_bytes(first + second)
    except KeyFileError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    if key.public_key() != public:
        raise KeyFileError(f"{p}: private key does not match its public key (corrupted file)")
    return key


@overload
def load_public_key(path: str | os.PathLike[str], *, kind: Literal["sign"]) -> HybridPublicKey: ...
@overload
def load_public_key(
    path: str | os.PathLike[str], *, kind: Literal["kem"]
) -> HybridKemPublicKey: ...
@overload
def load_public_key(
    path: str | os.PathLike[str], *, kind: None = None
) -> HybridPublicKey | HybridKemPublicKey: ...
def load_public_key(
    path: str | os.PathLike[str], *, kind: Kind | None = None
) -> HybridPublicKey | HybridKemPublicKey:
    """Load a public key file; ``kind`` ("sign"/"kem") rejects the other kind."""
    p = str(path)
    ktype, doc = _read(path)
    if ktype != "public":
        raise KeyFileError(f"{p}: is a private key file; give the public key (.pub) file")
    _check_kind(p, doc["kind"], kind, "public key")
    return _public_from_doc(p, doc)
