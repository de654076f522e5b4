"""``xtrust codec``: decode and encode E2AP / E2SM captures by hand.

Values print as JSON (see :mod:`xtrust.ric.asn1.jsonval` for the mapping);
``decode`` then ``encode`` gives back the same bytes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from xtrust.errors import InputError
from xtrust.ric.asn1 import _spec
from xtrust.ric.asn1.jsonval import from_json, to_json

__all__ = ["codec"]

_SPEC_CHOICE = click.Choice(sorted(_spec.SPECS))


def _resolve_type(spec: str, type_name: str | None) -> str:
    if type_name:
        return type_name
    default = _spec.SPECS[spec].default_type
    if default is None:
        raise InputError(f"--type is required for {spec} (see 'xtrust codec types --spec {spec}')")
    return default


def _read_input(hex_text: str | None, path: str | None, binary: bool) -> bytes | str:
    if (hex_text is None) == (path is None):
        raise InputError(
            "give exactly one of --hex or --file"
            if binary
            else "give exactly one of --json or --file"
        )
    if hex_text is not None:
        return hex_text
    assert path is not None
    try:
        if path == "-":
            return sys.stdin.buffer.read() if binary else sys.stdin.read()
        with open(path, "rb" if binary else "r", encoding=None if binary else "utf-8") as fh:
            data: bytes | str = fh.read()
            return data
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


@click.group()
def codec() -> None:
    """Decode and encode E2AP, E2SM-KPM and E2SM-RC messages (aligned PER)."""


@codec.command()
@click.option("--spec", required=True, type=_SPEC_CHOICE, help="Which specification.")
@click.option("--type", "type_name", help="ASN.1 type (default: E2AP-PDU for e2ap).")
@click.option("--hex", "hex_text", help="The encoded bytes as hex.")
@click.option("--file", "path", help="A file holding the encoded bytes (raw binary; - for stdin).")
@click.option("--compact", is_flag=True, help="One line of JSON instead of indented.")
def decode(
    spec: str, type_name: str | None, hex_text: str | None, path: str | None, compact: bool
) -> None:
    """Decode bytes and print the value as JSON."""
    raw = _read_input(hex_text, path, binary=True)
    if isinstance(raw, str):
        text = "".join(raw.split()).replace(":", "")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise InputError("--hex: not valid hex") from None
    else:
        data = raw
    if not data:
        raise InputError("nothing to decode: the input is empty")
    tname = _resolve_type(spec, type_name)
    value: Any
    if spec == "e2ap":
        from xtrust.ric.asn1 import e2ap

        value = e2ap.decode_pdu(data) if tname == "E2AP-PDU" else e2ap.decode_open(tname, data)
    else:
        value = _spec.decode(spec, tname, data)
    click.echo(json.dumps(to_json(value), indent=None if compact else 2))


@codec.command()
@click.option("--spec", required=True, type=_SPEC_CHOICE, help="Which specification.")
@click.option("--type", "type_name", help="ASN.1 type (default: E2AP-PDU for e2ap).")
@click.option("--json", "json_text", help="The value as JSON.")
@click.option("--file", "path", help="A file holding the JSON value (- for stdin).")
def encode(spec: str, type_name: str | None, json_text: str | None, path: str | None) -> None:
    """Encode a JSON value and print the bytes as hex."""
    text = _read_input(json_text, path, binary=False)
    assert isinstance(text, str)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    tname = _resolve_type(spec, type_name)
    value = from_json(spec, tname, doc)
    if spec == "e2ap":
        from xtrust.ric.asn1 import e2ap

        data = e2ap.encode_pdu(value) if tname == "E2AP-PDU" else e2ap.encode_open(tname, value)
    else:
        data = _spec.encode(spec, tname, value)
    click.echo(data.hex())


@codec.command()
@click.option("--spec", required=True, type=_SPEC_CHOICE, help="Which specification.")
def types(spec: str) -> None:
    """List the ASN.1 types a specification defines."""
    for name in _spec.type_names(spec):
        click.echo(name)
