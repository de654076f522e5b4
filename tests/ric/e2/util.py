"""Helpers for the E2 transport tests (no pytest-asyncio here: each test runs its own loop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run ``coro`` in a fresh event loop; fail (TimeoutError) instead of hanging."""

    async def main() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(main())


def frame(pdu: bytes) -> bytes:
    """A TCP frame built by hand, independently of xtrust.ric.e2.framing."""
    n = len(pdu)
    return bytes([(n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF]) + pdu


async def read_to_eof(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """Everything ``reader`` gets until the peer closes."""
    async with asyncio.timeout(timeout):
        return await reader.read()


class Hook:
    """An ``on_malformed`` hook that records its calls in ``calls`` and returns ``reply``."""

    def __init__(self, calls: list[tuple[bytes, str]], reply: bytes | None = None):
        self.calls = calls
        self.reply = reply

    def __call__(self, prefix: bytes, reason: str) -> bytes | None:
        self.calls.append((prefix, reason))
        return self.reply


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]
