"""``xtrust attest``: sign and verify in-toto attestations in hybrid-signed DSSE envelopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xtrust._files import write_atomic
from xtrust.crypto._internal.cliutil import FORMAT_OPTION, echo_json, passphrase_from_env
from xtrust.crypto.dsse import envelope_from_json, envelope_to_json
from xtrust.crypto.errors import VerificationError
from xtrust.crypto.hashes import artifact_digest
from xtrust.crypto.intoto import parse_statement, require_subject, sign_statement, verify_statement
from xtrust.crypto.keys import load_private_key, load_public_key
from xtrust.errors import InputError

__all__ = ["attest", "summarise_predicate"]

_MAX_INPUT = 64 << 20


def _read_input(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_INPUT + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > _MAX_INPUT:
        raise InputError(f"{path}: larger than {_MAX_INPUT >> 20} MiB; not a {what}")
    return data


def summarise_predicate(predicate: Any, limit: int = 12) -> dict[str, str]:
    """A short, printable view of a predicate: scalars as is, containers by size."""
    if not isinstance(predicate, dict):
        return {}
    out: dict[str, str] = {}
    for key in sorted(predicate)[:limit]:
        value = predicate[key]
        if isinstance(value, dict):
            out[key] = f"{{{len(value)} fields}}"
        elif isinstance(value, list):
            out[key] = f"[{len(value)} items]"
        else:
            text = str(value)
            out[key] = text if len(text) <= 80 else text[:77] + "..."
    if len(predicate) > limit:
        out["..."] = f"{len(predicate) - limit} more fields"
    return out


@click.group()
def attest() -> None:
    """in-toto attestations in DSSE envelopes, signed with Ed25519 + ML-DSA-65."""


@attest.command(short_help="Verify a signed attestation (exit 0 ok, 1 failed, 2 bad input).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Public signing key file (.pub).",
)
@click.option(
    "--artifact",
    help="Also check that this artifact's digest is a subject: a directory, OCI layout, "
    "image .tar, file, or sha256:<hex>.",
)
@FORMAT_OPTION
def verify(file: Path, key_path: Path, artifact: str | None, fmt: str) -> None:
    """Verify a DSSE envelope (both signatures) holding an in-toto statement.

    Exit status: 0 verified, 1 verification failed, 2 bad input.
    """
    env = envelope_from_json(_read_input(file, "DSSE envelope"))
    key = load_public_key(key_path, kind="sign")
    digest = artifact_digest(artifact) if artifact is not None else None
    report: dict[str, Any] = {
        "envelope": str(file),
        "key_id": key.key_id,
        "artifact": artifact,
        "artifact_digest": digest,
    }
    try:
        stmt = verify_statement(env, key)
        matched = require_subject(stmt, digest) if digest is not None else None
    except VerificationError as exc:
        if fmt == "json":
            echo_json({**report, "verified": False, "error": str(exc)})
        else:
            click.echo(f"FAILED: {exc}")
        raise
    summary = summarise_predicate(stmt.get("predicate"))
    report.update(
        {
            "verified": True,
            "predicate_type": stmt["predicateType"],
            "subjects": stmt["subject"],
            "matched_subject": matched,
            "predicate_summary": summary,
        }
    )
    if fmt == "json":
        echo_json(report)
        return
    click.echo(f"VERIFIED: Ed25519 + ML-DSA-65 signatures by {key.key_id}")
    click.echo(f"predicate type: {stmt['predicateType']}")
    click.echo("subjects:")
    for s in stmt["subject"]:
        digests = ", ".join(f"{a}:{v}" for a, v in s["digest"].items())
        mark = "  <- artifact" if matched is not None and s["digest"] == matched["digest"] else ""
        click.echo(f"  {s.get('name', '')} {digests}{mark}")
    if digest is not None:
        click.echo(f"artifact: {artifact} ({digest}) is a subject")
    if summary:
        click.echo("predicate:")
        for k, v in summary.items():
            click.echo(f"  {k}: {v}")


@attest.command(short_help="Sign an in-toto statement into a DSSE envelope.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private signing key file (.key).",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the DSSE envelope (JSON).",
)
@click.option("--passphrase-env", metavar="VAR", help="Passphrase of the key, from variable VAR.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def sign(
    file: Path, key_path: Path, out_path: Path, passphrase_env: str | None, force: bool
) -> None:
    """Sign the in-toto Statement v1 in FILE into a DSSE envelope at OUT."""
    stmt = parse_statement(_read_input(file, "in-toto statement"))
    key = load_private_key(key_path, passphrase_from_env(passphrase_env), kind="sign")
    env = sign_statement(stmt, key)
    write_atomic(out_path, envelope_to_json(env), mode=0o644, overwrite=force)
    click.echo(f"signed {file} -> {out_path} with {key.key_id}")
