"""``xtrust qkd``: test PKI, KME simulator and ETSI GS QKD 014 client commands."""

from __future__ import annotations

import asyncio
import binascii
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xtrust.crypto.qkd.certs import generate_pki, write_atomic
from xtrust.crypto.qkd.client import KmeClient
from xtrust.crypto.qkd.kme import KmeConfig, serve
from xtrust.crypto.qkd.models import QkdKey
from xtrust.errors import ConfigError, InputError

__all__ = ["qkd", "read_link_secret"]

F = TypeVar("F", bound=Callable[..., Any])

LINK_SECRET_FILE = "link-secret"  # nosec B105 - a file name, not a secret


def read_link_secret(path: Path) -> bytes:
    """A link secret file: hex text (as ``xtrust qkd certs`` writes it) or raw bytes, >= 32 bytes."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    try:
        secret = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError, binascii.Error):
        secret = raw
    if len(secret) < 32:
        raise ConfigError("a link secret needs at least 32 bytes", source=str(path))
    return secret


@click.group()
def qkd() -> None:
    """QKD key delivery (ETSI GS QKD 014): client, KME simulator, test certificates."""


@qkd.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--kme", "kmes", multiple=True, help="A KME ID (certificate CN); repeatable.")
@click.option("--sae", "saes", multiple=True, help="An SAE ID (certificate CN); repeatable.")
@click.option("--days", type=int, default=365, show_default=True, help="Validity.")
def certs(out: Path, kmes: tuple[str, ...], saes: tuple[str, ...], days: int) -> None:
    """Create a test CA and KME/SAE certificates (ECDSA P-256) in OUT.

    Also writes OUT/link-secret (32 random bytes, hex) if it does not exist: give
    the same file to both simulated KMEs of a link (--link-secret-file).
    """
    paths = generate_pki(out, kmes=list(kmes), saes=list(saes), days=days)
    secret = out / LINK_SECRET_FILE
    if not secret.exists():
        write_atomic(secret, os.urandom(32).hex().encode() + b"\n", mode=0o600)
    for name, p in paths.items():
        click.echo(f"{name}: {p.cert} {p.key}")
    click.echo(f"link secret: {secret}")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"--listen {value!r}: use HOST:PORT (PORT 0 for any free port)")
    return host.strip("[]"), int(port)


@qkd.command()
@click.option("--listen", default="127.0.0.1:8443", show_default=True, help="HOST:PORT.")
@click.option("--kme-id", required=True, help="This KME's ID (its certificate CN).")
@click.option("--cert", type=click.Path(path_type=Path), required=True, help="KME certificate.")
@click.option("--key", type=click.Path(path_type=Path), required=True, help="KME private key.")
@click.option("--ca", type=click.Path(path_type=Path), required=True, help="CA certificate.")
@click.option(
    "--link-secret-file",
    type=click.Path(path_type=Path),
    required=True,
    help="The secret both KMEs of the link share (stands for the QKD key stream).",
)
@click.option("--peer-kme", help="URL of the peer KME (https://HOST:PORT).")
@click.option("--peer-kme-id", help="ID of the peer KME (its certificate CN).")
@click.option("--sae", "saes", multiple=True, help="Serve only these SAE IDs; repeatable.")
@click.option("--key-size", type=int, default=256, show_default=True, help="Bits.")
@click.option("--min-key-size", type=int, default=64, show_default=True, help="Bits.")
@click.option("--max-key-size", type=int, default=1024, show_default=True, help="Bits.")
@click.option("--max-key-count", type=int, default=1000, show_default=True)
@click.option("--max-key-per-request", type=int, default=128, show_default=True)
@click.option("--max-sae-id-count", type=int, default=2, show_default=True)
@click.option("--key-rate", type=float, default=0.0, show_default=True, help="Keys/s refill.")
def kme(
    listen: str,
    kme_id: str,
    cert: Path,
    key: Path,
    ca: Path,
    link_secret_file: Path,
    peer_kme: str | None,
    peer_kme_id: str | None,
    saes: tuple[str, ...],
    key_size: int,
    min_key_size: int,
    max_key_size: int,
    max_key_count: int,
    max_key_per_request: int,
    max_sae_id_count: int,
    key_rate: float,
) -> None:
    """Run a simulated KME until interrupted; prints its URL when it listens."""
    host, port = _listen(listen)
    config = KmeConfig(
        kme_id=kme_id,
        cert=cert,
        key=key,
        ca=ca,
        link_secret=read_link_secret(link_secret_file),
        peer_url=peer_kme,
        peer_kme_id=peer_kme_id,
        saes=frozenset(saes),
        key_size=key_size,
        min_key_size=min_key_size,
        max_key_size=max_key_size,
        max_key_count=max_key_count,
        max_key_per_request=max_key_per_request,
        max_sae_id_count=max_sae_id_count,
        key_rate=key_rate,
    )

    def ready(url: str) -> None:
        click.echo(f"KME {kme_id} listening on {url}")
        sys.stdout.flush()

    asyncio.run(serve(config, host, port, ready))


def _client_options(func: F) -> F:
    options = [
        click.option("--kme", "kme_url", required=True, help="KME URL (https://HOST:PORT)."),
        click.option("--cert", type=click.Path(path_type=Path), required=True, help="SAE cert."),
        click.option("--key", type=click.Path(path_type=Path), required=True, help="SAE key."),
        click.option("--ca", type=click.Path(path_type=Path), required=True, help="CA cert."),
        click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds."),
        click.option("--retries", type=int, default=3, show_default=True, help="On HTTP 503."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["json", "text"]),
            default="json",
            show_default=True,
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _client(
    kme_url: str, cert: Path, key: Path, ca: Path, timeout: float, retries: int
) -> KmeClient:
    return KmeClient(kme_url, cert=cert, key=key, ca=ca, timeout=timeout, retries=retries)


def _print_keys(keys: list[QkdKey], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"keys": [k.to_json() for k in keys]}, indent=2))
    else:
        for k in keys:
            click.echo(f"{k.key_id} {k.key.hex()}")


@qkd.command()
@click.argument("slave_sae_id")
@_client_options
def status(
    slave_sae_id: str,
    kme_url: str,
    cert: Path,
    key: Path,
    ca: Path,
    timeout: float,
    retries: int,
    fmt: str,
) -> None:
    """Status of the key store towards SLAVE_SAE_ID (ETSI 014 status)."""
    with _client(kme_url, cert, key, ca, timeout, retries) as client:
        st = client.status(slave_sae_id)
    doc = st.to_json()
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        for name, value in doc.items():
            click.echo(f"{name:20} {value}")


@qkd.command("get-key")
@click.argument("slave_sae_id")
@click.option("--number", type=int, default=1, show_default=True, help="How many keys.")
@click.option("--size", type=int, help="Key size in bits (default: the KME's key_size).")
@click.option("--additional-slave", "extra", multiple=True, help="More slave SAE IDs.")
@_client_options
def get_key(
    slave_sae_id: str,
    number: int,
    size: int | None,
    extra: tuple[str, ...],
    kme_url: str,
    cert: Path,
    key: Path,
    ca: Path,
    timeout: float,
    retries: int,
    fmt: str,
) -> None:
    """New keys for SLAVE_SAE_ID (ETSI 014 enc_keys; this SAE is the master)."""
    with _client(kme_url, cert, key, ca, timeout, retries) as client:
        keys = client.get_key(
            slave_sae_id, number=number, size=size, additional_slave_sae_ids=list(extra)
        )
    _print_keys(keys, fmt)


@qkd.command("get-key-with-id")
@click.argument("master_sae_id")
@click.argument("key_ids", nargs=-1, required=True)
@_client_options
def get_key_with_id(
    master_sae_id: str,
    key_ids: tuple[str, ...],
    kme_url: str,
    cert: Path,
    key: Path,
    ca: Path,
    timeout: float,
    retries: int,
    fmt: str,
) -> None:
    """The keys KEY_IDS that MASTER_SAE_ID obtained for this SAE (ETSI 014 dec_keys)."""
    with _client(kme_url, cert, key, ca, timeout, retries) as client:
        keys = client.get_key_with_id(master_sae_id, list(key_ids))
    _print_keys(keys, fmt)


if __name__ == "__main__":  # pragma: no cover - ``python -m xtrust.crypto.qkd.cli`` for benches
    qkd()
