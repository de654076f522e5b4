"""Report formats: report.json, SARIF 2.1.0 and a self-contained HTML page."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from xtrust.certify.formats.html import render_html
from xtrust.certify.formats.json import REPORT_VERSION, summary_of
from xtrust.certify.formats.sarif import to_sarif

__all__ = ["REPORT_VERSION", "atomic_write_text", "render_html", "summary_of", "to_sarif"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
