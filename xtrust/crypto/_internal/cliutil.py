"""Small helpers shared by the ``keys`` and ``attest`` commands."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from xtrust.errors import InputError

__all__ = ["FORMAT_OPTION", "echo_json", "passphrase_from_env"]

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def passphrase_from_env(var: str | None) -> bytes | None:
    """The passphrase held in environment variable ``var`` (None when ``var`` is None)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise InputError(f"--passphrase-env {var}: environment variable is not set")
    if not value:
        raise InputError(f"--passphrase-env {var}: environment variable is empty")
    return value.encode("utf-8")


def echo_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, sort_keys=True))
