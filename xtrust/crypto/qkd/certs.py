"""A test PKI for the QKD simulator: one CA, KME certificates and SAE certificates.

ETSI GS QKD 014 has the KME identify the SAE by its TLS client certificate; we
take the SAE ID (and a KME ID) from the certificate subject's common name (CN).
ECDSA P-256 keys, SHA-256 signatures. Files in ``DIR``:

* ``ca.pem`` / ``ca.key`` - the CA (reused if both exist, so leaves can be added later)
* ``NAME.pem`` / ``NAME.key`` - one leaf per KME and per SAE. KME certificates
  carry ``serverAuth`` and ``clientAuth`` (a KME is a client of its peer KME)
  and the subject alternative names ``NAME``, ``localhost`` and ``127.0.0.1``;
  SAE certificates carry ``clientAuth``.

Every file is written to a temporary name and renamed into place; private keys
are mode 0600. Not for production: a real deployment gets its certificates
from its own PKI.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from xtrust._files import write_atomic
from xtrust.crypto.qkd.errors import QkdError
from xtrust.crypto.qkd.models import check_sae_id
from xtrust.errors import InputError

__all__ = ["CertPaths", "common_name", "generate_pki", "write_atomic"]


class _NameError(QkdError, InputError):
    pass


@dataclass(frozen=True)
class CertPaths:
    cert: Path
    key: Path


def common_name(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else None
    return value if isinstance(value, str) else None


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_ca(out: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    cert_path, key_path = out / "ca.pem", out / "ca.key"
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{out}: existing ca.pem/ca.key cannot be read: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{key_path}: not an EC private key")
    return cert, key


def _new_ca(days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "XTRUST QKD test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    name: str,
    server: bool,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    days: int,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(name),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def generate_pki(
    out: Path, *, kmes: list[str], saes: list[str], days: int = 365
) -> dict[str, CertPaths]:
    """Create (or extend) the test PKI in ``out``; returns name -> paths, with ``"ca"``."""
    error: type[QkdError] = _NameError
    names = [check_sae_id(n, "KME ID", error) for n in kmes]
    names += [check_sae_id(n, "SAE ID", error) for n in saes]
    if len(set(names)) != len(names):
        raise _NameError("KME and SAE names must be unique")
    if "ca" in names:
        raise _NameError("'ca' is reserved for the CA files")
    if not names:
        raise _NameError("give at least one --kme or --sae name")
    if days < 1:
        raise InputError("--days must be at least 1")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a directory")
    out.mkdir(parents=True, exist_ok=True)
    loaded = _load_ca(out)
    ca_cert, ca_key = loaded if loaded else _new_ca(days)
    pem = serialization.Encoding.PEM
    # build everything first, then write: a failure leaves nothing half-written
    files: list[tuple[Path, bytes, int]] = []
    if loaded is None:
        files.append((out / "ca.pem", ca_cert.public_bytes(pem), 0o644))
        files.append((out / "ca.key", _pem_key(ca_key), 0o600))
    result = {"ca": CertPaths(out / "ca.pem", out / "ca.key")}
    for name in names:
        cert, key = _leaf(name, name in kmes, ca_cert, ca_key, days)
        files.append((out / f"{name}.pem", cert.public_bytes(pem), 0o644))
        files.append((out / f"{name}.key", _pem_key(key), 0o600))
        result[name] = CertPaths(out / f"{name}.pem", out / f"{name}.key")
    for path, data, mode in files:
        write_atomic(path, data, mode=mode)
    return result
