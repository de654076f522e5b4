"""One E2 connection (an SCTP association or a framed TCP connection) as a stream of PDUs."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

from xtrust.errors import InputError
from xtrust.log import get_logger
from xtrust.ric.e2.constants import E2AP_PPID
from xtrust.ric.e2.errors import CloseReason, E2ConnectionClosed
from xtrust.ric.e2.framing import DEFAULT_MAX_PDU, MAX_FRAME_LENGTH, check_max_pdu

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_FRAME_TIMEOUT",
    "DEFAULT_WRITE_LIMIT",
    "E2Connection",
    "E2Counters",
    "Link",
    "MalformedHook",
    "Options",
    "address_of",
]

log = get_logger("ric.e2")

MalformedHook = Callable[[bytes, str], bytes | None]
"""``on_malformed(prefix, reason) -> bytes | None``: see :func:`xtrust.ric.e2.serve`."""

DEFAULT_FRAME_TIMEOUT = 30.0
"""Seconds a started PDU may take to arrive completely."""
DEFAULT_WRITE_LIMIT = 256 * 1024
"""Bytes a connection buffers for sending before ``send()`` waits."""
DEFAULT_CLOSE_TIMEOUT = 0.5
"""Seconds a closing connection may take to flush before it is aborted."""
_MIN_READ_LIMIT = 256 * 1024

_REFUSAL_COUNTER = {
    CloseReason.OVERSIZE: "oversize",
    CloseReason.EMPTY_FRAME: "garbage",
    CloseReason.TRUNCATED: "garbage",
    CloseReason.TIMEOUT: "timeouts",
}


@dataclass(slots=True)
class E2Counters:
    """What went through a connection (or, summed, a server).

    ``pdus_*``/``bytes_*`` count E2AP PDUs and their bytes (the TCP length
    fields are not counted). ``oversize`` counts PDUs refused for exceeding
    ``max_pdu``; ``garbage`` counts broken framing (zero-length frames, a
    stream or association that ended inside a PDU); ``timeouts`` counts PDUs
    not completed within ``frame_timeout``.
    """

    pdus_in: int = 0
    pdus_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    oversize: int = 0
    garbage: int = 0
    timeouts: int = 0

    def add(self, other: E2Counters) -> None:
        """Add ``other`` into these counters."""
        self.pdus_in += other.pdus_in
        self.pdus_out += other.pdus_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.oversize += other.oversize
        self.garbage += other.garbage
        self.timeouts += other.timeouts

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Options:
    """Settings shared by :func:`connect` and :func:`serve` (validated)."""

    max_pdu: int = DEFAULT_MAX_PDU
    frame_timeout: float | None = DEFAULT_FRAME_TIMEOUT
    write_limit: int = DEFAULT_WRITE_LIMIT
    read_limit: int | None = None
    on_malformed: MalformedHook | None = None
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT
    ppid: int = E2AP_PPID

    def __post_init__(self) -> None:
        check_max_pdu(self.max_pdu)
        if self.frame_timeout is not None and not self.frame_timeout > 0:
            raise InputError(
                f"frame_timeout must be positive seconds or None, not {self.frame_timeout}"
            )
        if not isinstance(self.write_limit, int) or self.write_limit < 1:
            raise InputError(
                f"write_limit must be a positive number of bytes, not {self.write_limit}"
            )
        if self.read_limit is not None and (
            not isinstance(self.read_limit, int) or self.read_limit < 1
        ):
            raise InputError(
                f"read_limit must be a positive number of bytes, not {self.read_limit}"
            )
        if not self.close_timeout > 0:
            raise InputError(f"close_timeout must be positive seconds, not {self.close_timeout}")
        if not 0 <= self.ppid <= 0xFFFF_FFFF:
            raise InputError(f"ppid must fit in 32 bits, not {self.ppid}")
        if self.on_malformed is not None and not callable(self.on_malformed):
            raise InputError("on_malformed must be a callable (prefix, reason) -> bytes | None")

    @property
    def rx_limit(self) -> int:
        """Bytes of received, unread PDUs above which reading from the peer pauses."""
        if self.read_limit is not None:
            return self.read_limit
        return max(self.max_pdu, _MIN_READ_LIMIT)


def address_of(name: object) -> tuple[str, int]:
    """(host, port) of a socket address (other address kinds: (str(name), 0))."""
    if isinstance(name, tuple) and len(name) >= 2:
        return str(name[0]), int(name[1])
    return (str(name), 0)


class Link(Protocol):
    """What an :class:`E2Connection` needs from the socket layer under it."""

    def write_pdu(self, pdu: bytes) -> None:
        """Queue one PDU for the peer (never blocks; may call ``_pause_writing``)."""

    def flush(self) -> None:
        """Hand what ``write_pdu`` gathered to the kernel now."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None:
        """Send what is queued, then close."""

    def shutdown(self) -> None:
        """Send what is queued, then end our direction; discard input until the peer closes."""

    def abort(self) -> None:
        """Close now, dropping whatever is queued."""

    def write_buffer_size(self) -> int: ...


class PartialTimer:
    """Enforces ``frame_timeout`` on the PDU in progress with at most one timer handle.

    ``begin()`` says a PDU started now, ``clear()`` that none is in progress
    (or that the clock is suspended because *we* stopped reading).
    """

    __slots__ = ("_handle", "_loop", "_on_expire", "_since", "_timeout")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: float | None,
        on_expire: Callable[[], None],
    ):
        self._loop = loop
        self._timeout = timeout
        self._on_expire = on_expire
        self._since: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def begin(self) -> None:
        if self._timeout is None:
            return
        self._since = self._loop.time()
        if self._handle is None:
            self._handle = self._loop.call_at(self._since + self._timeout, self._fire)

    def running(self) -> bool:
        return self._since is not None

    def clear(self) -> None:
        self._since = None

    def cancel(self) -> None:
        self._since = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self._since is None or self._timeout is None:
            return
        deadline = self._since + self._timeout
        if self._loop.time() < deadline:
            self._handle = self._loop.call_at(deadline, self._fire)
            return
        self._since = None
        self._on_expire()


class E2Connection:
    """One E2 connection, carrying whole E2AP PDUs (opaque bytes) both ways.

    Made by :func:`~xtrust.ric.e2.connect` and :func:`~xtrust.ric.e2.serve`,
    never directly. ``await recv()`` returns the next PDU and raises
    :class:`~xtrust.ric.e2.E2ConnectionClosed` (whose ``reason`` says why)
    once the connection has ended and every PDU received before the end has
    been returned; ``async for pdu in conn`` stops there instead.
    ``await send(pdu)`` queues one PDU and waits while the send buffer is
    above ``write_limit`` (back-pressure from a slow peer). Over TCP, PDUs sent
    in a burst are gathered and written together when the sending task yields
    to the event loop, waits in ``recv()``, closes, or has gathered 64 KiB.
    Reading from the peer pauses while more than ``read_limit`` bytes of PDUs
    are waiting for ``recv()``. One task at a time may wait in ``recv()``.
    """

    def __init__(
        self,
        link: Link,
        *,
        transport: str,
        peer: tuple[str, int],
        local: tuple[str, int],
        options: Options,
    ):
        self._loop = asyncio.get_running_loop()
        self._link = link
        self._transport = transport
        self._peer = peer
        self._local = local
        self._options = options
        self._rx_limit = options.rx_limit
        self._counters = E2Counters()
        self._rx: collections.deque[bytes] = collections.deque()
        self._rx_bytes = 0
        self._rx_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._reason: CloseReason | None = None
        self._local_close = False
        self._lost = self._loop.create_future()
        self._abort_timer: asyncio.TimerHandle | None = None

    # --- public -----------------------------------------------------------------------------

    @property
    def transport(self) -> str:
        """``"sctp"`` or ``"tcp"``."""
        return self._transport

    @property
    def peer(self) -> tuple[str, int]:
        """The peer's (host, port)."""
        return self._peer

    @property
    def local(self) -> tuple[str, int]:
        """This end's (host, port)."""
        return self._local

    @property
    def max_pdu(self) -> int:
        return self._options.max_pdu

    @property
    def counters(self) -> E2Counters:
        """Live counters of this connection."""
        return self._counters

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the connection ended, or None while it is open."""
        return self._reason

    @property
    def closed(self) -> bool:
        """True once the connection is closing or closed (``send()`` would raise)."""
        return self._reason is not None

    @property
    def write_buffer_size(self) -> int:
        """Bytes queued for the peer and not yet handed to the kernel."""
        if self._lost.done():
            return 0
        return self._link.write_buffer_size()

    async def send(self, pdu: bytes | bytearray | memoryview) -> None:
        """Send one PDU; wait first while the send buffer is above ``write_limit``."""
        if not isinstance(pdu, bytes | bytearray | memoryview):
            raise InputError(f"a PDU is bytes, not {type(pdu).__name__}")
        size = len(pdu)
        if size == 0:
            raise InputError("an E2AP PDU cannot be empty")
        if size > self._options.max_pdu:
            raise InputError(
                f"PDU of {size} bytes exceeds max_pdu ({self._options.max_pdu} bytes)",
                hint="raise max_pdu on both ends if such PDUs are expected",
            )
        while self._write_paused and self._reason is None:
            await self._wait_writable()
        if self._reason is not None:
            raise self._closed_error()
        data = pdu if isinstance(pdu, bytes) else bytes(pdu)
        self._link.write_pdu(data)
        self._counters.pdus_out += 1
        self._counters.bytes_out += size

    async def recv(self) -> bytes:
        """The next PDU from the peer."""
        while not self._rx:
            if self._reason is not None:
                raise self._closed_error()
            if self._rx_waiter is not None:
                raise RuntimeError("recv() is already being awaited by another task")
            if not self._lost.done():
                self._link.flush()  # a peer we wait for must first get what we sent
            waiter = self._loop.create_future()
            self._rx_waiter = waiter
            try:
                await waiter
            finally:
                self._rx_waiter = None
        if self._local_close:
            raise self._closed_error()
        pdu = self._rx.popleft()
        self._rx_bytes -= len(pdu)
        if self._reading_paused and self._rx_bytes <= self._rx_limit // 2:
            self._reading_paused = False
            if self._reason is None:
                self._link.resume_reading()
        return pdu

    def __aiter__(self) -> E2Connection:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except E2ConnectionClosed:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Close: send what is queued (for at most ``close_timeout`` seconds), then close.

        PDUs received and not yet returned by ``recv()`` are dropped.
        """
        if self._local_close:
            return
        self._local_close = True
        if self._reason is None:
            self._reason = CloseReason.CLOSED
        self._wake_all()
        if self._lost.done():
            return
        self._link.close()
        self._arm_abort()

    def abort(self) -> None:
        """Close at once, dropping what is queued in both directions."""
        self._local_close = True
        if self._reason is None:
            self._reason = CloseReason.CLOSED
        self._wake_all()
        if not self._lost.done():
            self._link.abort()

    async def wait_closed(self) -> None:
        """Wait until the connection's socket is closed."""
        await asyncio.shield(self._lost)

    async def __aenter__(self) -> E2Connection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        state = "open" if self._reason is None else f"closed:{self._reason}"
        host, port = self._peer
        return f"<E2Connection {self._transport} peer={host}:{port} {state}>"

    # --- called by the link ----------------------------------------------------------------

    def _pdu_received(self, pdu: bytes) -> None:
        counters = self._counters
        counters.pdus_in += 1
        counters.bytes_in += len(pdu)
        self._rx.append(pdu)
        self._rx_bytes += len(pdu)
        waiter = self._rx_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._rx_bytes >= self._rx_limit and not self._reading_paused:
            self._reading_paused = True
            self._link.pause_reading()

    def _refused(self, reason: CloseReason, prefix: bytes, detail: str) -> None:
        """The peer broke the framing: count, log, let the hook answer, then close."""
        counter = _REFUSAL_COUNTER[reason]
        setattr(self._counters, counter, getattr(self._counters, counter) + 1)
        host, port = self._peer
        log.warning(
            "E2 %s peer %s:%d refused (%s): %s; closing",
            self._transport,
            host,
            port,
            reason.value,
            detail,
            extra={"mdc": {"peer": f"{host}:{port}", "transport": self._transport}},
        )
        if self._reason is None:
            self._reason = reason
        reply = self._call_hook(prefix, reason)
        if not self._lost.done():
            if reply:
                self._link.write_pdu(reply)
                self._counters.pdus_out += 1
                self._counters.bytes_out += len(reply)
            self._link.shutdown()
            self._arm_abort()
        self._wake_all()

    def _eof(self) -> None:
        if self._reason is None:
            self._reason = CloseReason.EOF
        self._wake_all()

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._reason is None:
            self._reason = CloseReason.RESET if exc is not None else CloseReason.EOF
            if exc is not None:
                host, port = self._peer
                log.info("E2 %s connection to %s:%d lost: %s", self._transport, host, port, exc)
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        if not self._lost.done():
            self._lost.set_result(None)
        self._wake_all()

    def _pause_writing(self) -> None:
        self._write_paused = True

    def _resume_writing(self) -> None:
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # --- internals ---------------------------------------------------------------------------

    def _call_hook(self, prefix: bytes, reason: CloseReason) -> bytes | None:
        hook = self._options.on_malformed
        if hook is None:
            return None
        try:
            reply = hook(prefix, reason.value)
        except Exception:
            log.exception("E2 on_malformed hook failed; closing without a reply")
            return None
        if reply is None:
            return None
        if not isinstance(reply, bytes | bytearray | memoryview):
            log.error("E2 on_malformed hook returned %s, not bytes; ignored", type(reply).__name__)
            return None
        if len(reply) > MAX_FRAME_LENGTH:
            log.error("E2 on_malformed hook returned %d bytes; too large, ignored", len(reply))
            return None
        return bytes(reply)

    async def _wait_writable(self) -> None:
        fut = self._loop.create_future()
        self._drain_waiters.append(fut)
        try:
            await fut
        finally:
            if fut in self._drain_waiters:
                self._drain_waiters.remove(fut)

    def _arm_abort(self) -> None:
        if self._abort_timer is None and not self._lost.done():
            self._abort_timer = self._loop.call_later(
                self._options.close_timeout, self._close_timed_out
            )

    def _close_timed_out(self) -> None:
        self._abort_timer = None
        if not self._lost.done():
            host, port = self._peer
            log.debug(
                "E2 %s connection to %s:%d did not close in time; aborting",
                self._transport,
                host,
                port,
            )
            self._link.abort()

    def _wake_all(self) -> None:
        waiter = self._rx_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        waiters, self._drain_waiters = self._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _closed_error(self) -> E2ConnectionClosed:
        reason = self._reason or CloseReason.CLOSED
        host, port = self._peer
        text = {
            CloseReason.CLOSED: "was closed",
            CloseReason.EOF: "was closed by the peer",
            CloseReason.RESET: "was lost",
        }.get(reason, f"was refused ({reason.value})")
        return E2ConnectionClosed(
            f"E2 {self._transport} connection to {host}:{port} {text}", reason=reason
        )
