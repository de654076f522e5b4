"""A small, fast YAML emitter for the manifests the compiler writes.

PyYAML's pure-Python dumper takes over a second for a few hundred
NetworkPolicies; these documents only hold mappings, lists, strings, integers
and booleans, so they are written directly in block style. A string is
written plain only when it cannot be read back as anything else (no YAML 1.1
booleans, nulls or numbers, no indicator characters); every other string is a
JSON-escaped double-quoted scalar, which YAML reads as the same string. The
tests parse the output back with PyYAML and compare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["dump_all"]

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED = {
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
}  # fmt: skip


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _emit(node: Any, pad: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            k = _scalar(str(key))
            if isinstance(value, dict | list) and value:
                out.append(f"{pad}{k}:")
                _emit(value, pad + "  " if isinstance(value, dict) else pad, out)
            elif isinstance(value, dict):
                out.append(f"{pad}{k}: {{}}")
            elif isinstance(value, list):
                out.append(f"{pad}{k}: []")
            else:
                out.append(f"{pad}{k}: {_scalar(value)}")
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list) and item:
                start = len(out)
                _emit(item, pad + "  ", out)
                out[start] = f"{pad}- " + out[start][len(pad) + 2 :]
            elif isinstance(item, dict):
                out.append(f"{pad}- {{}}")
            elif isinstance(item, list):
                out.append(f"{pad}- []")
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(pad + _scalar(node))


def dump_all(docs: Iterable[Any]) -> str:
    """Documents separated by ``---``, block style, key order kept."""
    parts = []
    for doc in docs:
        lines: list[str] = []
        _emit(doc, "", lines)
        parts.append("\n".join(lines) + "\n")
    return "---\n".join(parts)
