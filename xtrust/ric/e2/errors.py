"""Errors of the E2 transport, and why a connection ended."""

from __future__ import annotations

from enum import StrEnum

from xtrust.errors import ExternalToolError, XTrustError

__all__ = [
    "CloseReason",
    "E2ConnectionClosed",
    "E2TransportError",
    "SctpUnavailableError",
]


class CloseReason(StrEnum):
    """Why an :class:`~xtrust.ric.e2.E2Connection` ended.

    The last four are *refusals*: the peer broke the framing, the transport
    counted it, logged it at warning level, gave the ``on_malformed`` hook a
    chance to answer, and closed. Their values are the ``reason`` strings that
    the hook receives.
    """

    CLOSED = "closed"
    """Closed on this side (``close()``, ``abort()``, or the server closed)."""
    EOF = "eof"
    """The peer closed the connection cleanly between two PDUs."""
    RESET = "reset"
    """The connection failed (reset by the peer, network error)."""
    OVERSIZE = "oversize"
    """The peer announced or sent a PDU larger than ``max_pdu``."""
    EMPTY_FRAME = "empty-frame"
    """TCP only: a frame header announced a zero-length PDU."""
    TRUNCATED = "truncated"
    """The peer closed the connection in the middle of a PDU."""
    TIMEOUT = "timeout"
    """A PDU was started and not completed within ``frame_timeout`` seconds."""


class E2TransportError(XTrustError):
    """The E2 transport failed: it could not connect or bind, or a connection broke."""


class E2ConnectionClosed(E2TransportError):
    """The connection is closed; ``reason`` (a :class:`CloseReason`) says why.

    ``recv()`` raises it once every PDU received before the close has been
    returned; ``send()`` raises it as soon as the connection is closing.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: CloseReason,
        hint: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(message, hint=hint, detail=detail)
        self.reason = reason


class SctpUnavailableError(E2TransportError, ExternalToolError):
    """``transport="sctp"`` was asked for and the kernel has no SCTP sockets."""
