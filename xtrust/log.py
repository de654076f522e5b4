"""Structured logging for every part of XTRUST.

Two formats:

* ``json`` - one JSON object per line, in the shape O-RAN SC's mdclogpy writes
  (``{"ts": <epoch ms>, "crit": "INFO", "id": <logger>, "mdc": {...}, "msg": ...}``)
  so that the same log pipeline reads our xApps and theirs. Extra fields passed
  with ``logger.info("...", extra={"mdc": {...}})`` land in ``mdc``.
* ``text`` - a short human line, the default on a terminal.

``auto`` picks ``text`` when the stream is a TTY and ``json`` otherwise.
The environment variable ``XTRUST_LOG_FORMAT`` overrides ``auto``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

__all__ = ["JsonFormatter", "TextFormatter", "configure", "get_logger"]

_LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """mdclogpy-compatible JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        mdc: dict[str, Any] = {}
        given = getattr(record, "mdc", None)
        if isinstance(given, dict):
            mdc.update(given)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "mdc":
                mdc[key] = value
        mdc.setdefault("PID", record.process)
        doc: dict[str, Any] = {
            "ts": int(record.created * 1000),
            "crit": _LEVEL_NAMES.get(record.levelno, record.levelname),
            "id": record.name,
            "mdc": mdc,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL name: message key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        given = getattr(record, "mdc", None)
        if isinstance(given, dict) and given:
            line += " " + " ".join(f"{k}={v}" for k, v in given.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _pick(fmt: str, stream: TextIO) -> str:
    if fmt == "auto":
        fmt = os.environ.get("XTRUST_LOG_FORMAT", "auto")
    if fmt == "auto":
        isatty = getattr(stream, "isatty", None)
        return "text" if isatty is not None and isatty() else "json"
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r} (expected text, json or auto)")
    return fmt


def configure(
    level: int = logging.WARNING, fmt: str = "auto", stream: TextIO | None = None
) -> None:
    """Set up the ``xtrust`` logger tree once (idempotent: replaces our handler)."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.set_name("xtrust")
    handler.setFormatter(JsonFormatter() if _pick(fmt, out) == "json" else TextFormatter())
    root = logging.getLogger("xtrust")
    for old in list(root.handlers):
        if old.get_name() == "xtrust":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """A logger below ``xtrust`` (``get_logger("ric.rmr")`` -> ``xtrust.ric.rmr``)."""
    if not name.startswith("xtrust"):
        name = f"xtrust.{name}"
    return logging.getLogger(name)
