"""Atomic file writes and small shared helpers of the SBOM writers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from xtrust._files import write_atomic

__all__ = ["atomic_write_text", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`xtrust._files.write_atomic`)."""
    write_atomic(path, text)
