"""JSON form of ASN.1 values, for people and for the ``xtrust codec`` CLI.

asn1tools values do not survive JSON as they are (bytes, tuples), so:

* OCTET STRING -> hex string ("0a1b")
* BIT STRING -> ``{"value": hex, "length": bits}``
* CHOICE -> two-element list ``[alternative, value]``
* an open type expanded by the E2AP codec -> ``[type_name, value]``
* SEQUENCE -> object, SEQUENCE OF -> list, the rest as JSON scalars.

:func:`from_json` is type-directed: it walks the compiled type so that every
hex string becomes bytes in the right places, and names the path of the first
value that does not fit.
"""

from __future__ import annotations

from typing import Any

from xtrust.errors import InputError
from xtrust.ric.asn1 import _spec

__all__ = ["from_json", "to_json"]


def to_json(value: Any) -> Any:
    """asn1tools value (with expanded open types) -> JSON-ready value."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple):
        if (
            len(value) == 2
            and isinstance(value[0], bytes | bytearray)
            and isinstance(value[1], int)
        ):
            return {"value": bytes(value[0]).hex(), "length": value[1]}
        return [value[0], to_json(value[1])]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def _hex(path: str, j: Any) -> bytes:
    if not isinstance(j, str):
        raise InputError(f"{path}: expected a hex string, got {type(j).__name__}")
    text = j.replace(" ", "").replace(":", "")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InputError(f"{path}: {j[:40]!r} is not valid hex") from None


def _inner(t: Any) -> Any:
    while type(t).__name__ == "Recursive":
        t = t._inner
    return t


def from_json(spec: str, type_name: str, j: Any) -> Any:
    """JSON value -> asn1tools value of ``type_name`` in ``spec``."""
    compiled = _spec.load(spec)
    if type_name not in compiled.types:
        raise InputError(f"{_spec.SPECS[spec].title} has no type {type_name!r}")
    return _convert(spec, compiled.types[type_name].type, j, type_name)


def _convert(spec: str, t: Any, j: Any, path: str) -> Any:
    t = _inner(t)
    cls = type(t).__name__
    if cls == "OctetString":
        if isinstance(j, list):  # an expanded open type: [type_name, value]
            if len(j) != 2 or not isinstance(j[0], str):
                raise InputError(f"{path}: an open type is [type_name, value]")
            compiled = _spec.load(spec)
            if j[0] not in compiled.types:
                raise InputError(f"{path}: unknown type {j[0]!r}")
            return (j[0], _convert(spec, compiled.types[j[0]].type, j[1], f"{path}<{j[0]}>"))
        return _hex(path, j)
    if cls == "BitString":
        if not isinstance(j, dict) or set(j) != {"value", "length"}:
            raise InputError(f'{path}: a BIT STRING is {{"value": hex, "length": bits}}')
        data = _hex(f"{path}.value", j["value"])
        length = j["length"]
        if not isinstance(length, int) or not 0 <= length <= len(data) * 8:
            raise InputError(f"{path}.length: must be an integer from 0 to {len(data) * 8}")
        return (data, length)
    if cls == "Choice":
        if not isinstance(j, list) or len(j) != 2 or not isinstance(j[0], str):
            raise InputError(f"{path}: a CHOICE is [alternative, value]")
        alternatives = list(t.root_index_to_member.values())
        if t.additions_index_to_member:
            alternatives += list(t.additions_index_to_member.values())
        for m in alternatives:
            if m.name == j[0]:
                return (j[0], _convert(spec, m, j[1], f"{path}.{j[0]}"))
        names = ", ".join(m.name for m in alternatives)
        raise InputError(f"{path}: {j[0]!r} is not an alternative (one of {names})")
    if cls in ("Sequence", "Set"):
        if not isinstance(j, dict):
            raise InputError(f"{path}: expected an object")
        members = {m.name: m for m in list(t.root_members) + list(t.additions or [])}
        unknown = set(j) - set(members)
        if unknown:
            raise InputError(f"{path}: unknown member {sorted(unknown)[0]!r}")
        return {k: _convert(spec, members[k], v, f"{path}.{k}") for k, v in j.items()}
    if cls in ("SequenceOf", "SetOf"):
        if not isinstance(j, list):
            raise InputError(f"{path}: expected a list")
        return [_convert(spec, t.element_type, v, f"{path}[{i}]") for i, v in enumerate(j)]
    if cls == "Integer":
        if not isinstance(j, int) or isinstance(j, bool):
            raise InputError(f"{path}: expected an integer")
        return j
    if cls == "Boolean":
        if not isinstance(j, bool):
            raise InputError(f"{path}: expected true or false")
        return j
    if cls == "Null":
        return None
    if cls == "Real":
        if not isinstance(j, int | float) or isinstance(j, bool):
            raise InputError(f"{path}: expected a number")
        return float(j)
    if cls == "Enumerated" or cls.endswith("String") or cls == "ObjectIdentifier":
        if not isinstance(j, str):
            raise InputError(f"{path}: expected a string")
        return j
    return j
