"""``xtrust keys``: generate and inspect hybrid key files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from xtrust.crypto._internal.cliutil import FORMAT_OPTION, echo_json, passphrase_from_env
from xtrust.crypto.keys import HybridKemPrivateKey, HybridSigningKey, read_key_info
from xtrust.errors import InputError

__all__ = ["keys"]

_DEFAULT_NAMES = {"sign": "xtrust-signing", "kem": "xtrust-kem"}


@click.group()
def keys() -> None:
    """Hybrid key pairs: Ed25519 + ML-DSA-65 (sign) and X25519 + ML-KEM-768 (kem)."""


@keys.command(short_help="Generate a key pair (NAME.key, NAME.pub).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for NAME.key and NAME.pub (created, mode 0700, if missing).",
)
@click.option(
    "--kind",
    type=click.Choice(["sign", "kem"]),
    default="sign",
    show_default=True,
    help="sign: Ed25519 + ML-DSA-65; kem: X25519 + ML-KEM-768.",
)
@click.option("--name", help="Base file name [default: xtrust-signing or xtrust-kem].")
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Encrypt the private key with the passphrase in environment variable VAR.",
)
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@FORMAT_OPTION
def generate(
    out_dir: Path,
    kind: str,
    name: str | None,
    passphrase_env: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Generate a key pair: writes OUT/NAME.key (0600) and OUT/NAME.pub; prints the key id."""
    name = name or _DEFAULT_NAMES[kind]
    if not name or "/" in name or name in (".", ".."):
        raise InputError(f"--name {name!r}: a plain file name is needed")
    passphrase = passphrase_from_env(passphrase_env)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: exists and is not a directory")
    priv_path = out_dir / f"{name}.key"
    pub_path = out_dir / f"{name}.pub"
    if not force:
        existing = [str(p) for p in (priv_path, pub_path) if os.path.lexists(p)]
        if existing:
            raise InputError(
                f"refusing to overwrite {', '.join(existing)}", hint="pass --force to replace them"
            )
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create: {exc.strerror or exc}") from None
    key = HybridSigningKey.generate() if kind == "sign" else HybridKemPrivateKey.generate()
    key.save(priv_path, passphrase, overwrite=force)
    try:
        key.public_key().save(pub_path, overwrite=force)
    except BaseException:
        with contextlib.suppress(OSError):
            priv_path.unlink()
        raise
    if fmt == "json":
        echo_json(
            {
                "key_id": key.key_id,
                "kind": kind,
                "algorithms": list(key.algorithms),
                "private_key": str(priv_path),
                "public_key": str(pub_path),
                "encrypted": passphrase is not None,
            }
        )
        return
    click.echo(key.key_id)
    state = "encrypted" if passphrase is not None else "NOT encrypted"
    click.echo(f"private key: {priv_path} ({state}, mode 0600)", err=True)
    click.echo(f"public key:  {pub_path}", err=True)


@keys.command(short_help="Show kind, algorithms and key id of a key file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@FORMAT_OPTION
def inspect(file: Path, fmt: str) -> None:
    """Show a key file's kind, algorithms and key id (no passphrase needed)."""
    info = read_key_info(file)
    if fmt == "json":
        echo_json(info.to_dict())
        return
    type_text: str = info.type
    if info.type == "private":
        type_text += " (encrypted)" if info.encrypted else " (not encrypted)"
    click.echo(f"file:       {info.path}")
    click.echo(f"type:       {type_text}")
    click.echo(f"kind:       {info.kind}")
    click.echo(f"algorithms: {' + '.join(info.algorithms)}")
    click.echo(f"key id:     {info.key_id}")
