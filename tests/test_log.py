from __future__ import annotations

import io
import json
import logging

import pytest

from xtrust.log import configure, get_logger


def test_json_lines_follow_mdclog_shape() -> None:
    buf = io.StringIO()
    configure(level=logging.INFO, fmt="json", stream=buf)
    get_logger("ric.rmr").info("sent %d", 3, extra={"mdc": {"mtype": 12050}})
    doc = json.loads(buf.getvalue().strip())
    assert doc["crit"] == "INFO"
    assert doc["id"] == "xtrust.ric.rmr"
    assert doc["msg"] == "sent 3"
    assert doc["mdc"]["mtype"] == 12050
    assert isinstance(doc["ts"], int)


def test_text_format_and_level_filter() -> None:
    buf = io.StringIO()
    configure(level=logging.WARNING, fmt="text", stream=buf)
    log = get_logger("x")
    log.info("hidden")
    log.warning("shown")
    out = buf.getvalue()
    assert "hidden" not in out
    assert "WARNING" in out and "xtrust.x: shown" in out


def test_auto_picks_json_off_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XTRUST_LOG_FORMAT", raising=False)
    buf = io.StringIO()  # not a TTY
    configure(level=logging.INFO, fmt="auto", stream=buf)
    get_logger("y").info("hello")
    assert json.loads(buf.getvalue())["msg"] == "hello"
