"""Checks for parsed YAML/JSON documents that name the field at fault.

One place for the checks the toolkit's document validators share (the
segmentation policy, the threat-model topology): each returns the checked
value or raises :class:`~xtrust.errors.ConfigError` naming the field (a dotted
path such as ``flows[3].ports[0].port``) and the source file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from xtrust.errors import ConfigError

__all__ = ["FieldChecker", "show", "type_name"]


def type_name(value: Any) -> str:
    """The YAML-ish name of a value's type (``null`` for None)."""
    return "null" if value is None else type(value).__name__


def show(value: Any) -> str:
    """A value for an error message: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class FieldChecker:
    """Field checks of one document (``source`` names it in every error)."""

    def __init__(self, source: str):
        self.source = source

    def err(self, where: str, message: str) -> ConfigError:
        return ConfigError(message, field=where, source=self.source)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.err(where, f"must be a mapping, not {type_name(value)}")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.err(where, f"must be a non-empty string, not {show(value)}")
        return value.strip()

    def choice(self, value: Any, where: str, choices: tuple[str, ...]) -> str:
        text = self.string(value, where)
        if text not in choices:
            raise self.err(where, f"{text!r} is not one of {', '.join(choices)}")
        return text

    def integer(self, value: Any, where: str, lo: int, hi: int | None = None) -> int:
        """An integer in ``lo..hi`` (no upper bound when ``hi`` is None)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(where, f"must be an integer, not {show(value)}")
        if hi is None and value < lo:
            raise self.err(where, f"{value} is out of range (at least {lo})")
        if hi is not None and not lo <= value <= hi:
            raise self.err(where, f"{value} is out of range ({lo}..{hi})")
        return value

    def int_list(self, value: Any, where: str, lo: int, hi: int) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.err(where, "must be a non-empty list")
        return tuple(self.integer(v, f"{where}[{i}]", lo, hi) for i, v in enumerate(value))

    def number(self, value: Any, where: str, lo: float, hi: float | None = None) -> float:
        """A finite number in ``lo..hi`` (no upper bound when ``hi`` is None)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.err(where, f"must be a number, not {show(value)}")
        if hi is None and not (math.isfinite(value) and value >= lo):
            raise self.err(where, f"{value} is out of range (a finite number, at least {lo})")
        if hi is not None and not lo <= value <= hi:
            raise self.err(where, f"{value} is out of range ({lo}..{hi})")
        return float(value)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.err(where, f"must be true or false, not {show(value)}")
        return value

    def unknown_keys(self, doc: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for key in doc:
            if key not in allowed:
                prefix = f"{where}." if where else ""
                raise self.err(
                    f"{prefix}{key}",
                    f"unknown field (expected one of {', '.join(sorted(allowed))})",
                )
