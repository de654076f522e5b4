"""Report formats: report.json, SARIF 2.1.0 and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from xtrust._files import write_atomic
from xtrust.certify.formats.html import render_html
from xtrust.certify.formats.json import REPORT_VERSION, summary_of
from xtrust.certify.formats.sarif import to_sarif

__all__ = ["REPORT_VERSION", "atomic_write_text", "render_html", "summary_of", "to_sarif"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, as a normal file (0666 less the umask)."""
    write_atomic(path, text)
