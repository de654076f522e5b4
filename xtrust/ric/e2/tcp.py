"""E2AP over TCP with 4-byte length framing (see :mod:`xtrust.ric.e2.framing`) for asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from xtrust.ric.e2.connection import E2Connection, Options, PartialTimer, address_of
from xtrust.ric.e2.errors import CloseReason
from xtrust.ric.e2.framing import HEADER_SIZE, FrameDecoder

__all__ = ["COALESCE_LIMIT", "TcpLink", "open_tcp_connection"]

COALESCE_LIMIT = 64 * 1024
"""Bytes of frames gathered before they are written without waiting for the loop."""


class TcpLink(asyncio.Protocol):
    """The asyncio protocol under a TCP :class:`E2Connection`: framing, timers, flow control.

    ``on_connection`` is called with the new connection once the socket is up.
    """

    def __init__(self, options: Options, on_connection: Callable[[E2Connection], None]):
        self._options = options
        self._on_connection = on_connection
        self._decoder = FrameDecoder(options.max_pdu)
        self._transport: asyncio.Transport | None = None
        self._conn: E2Connection | None = None
        self._timer: PartialTimer | None = None
        self._paused = False  # reading paused for back-pressure
        self._discard = False  # refused or shutting down: input is dropped
        self._out: list[bytes] = []  # frames not yet handed to the transport
        self._out_size = 0
        self._flush_scheduled = False

    # asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr = cast(asyncio.Transport, transport)
        self._transport = tr
        loop = asyncio.get_running_loop()
        self._timer = PartialTimer(loop, self._options.frame_timeout, self._timed_out)
        tr.set_write_buffer_limits(
            high=self._options.write_limit, low=self._options.write_limit // 4
        )
        # asyncio sets TCP_NODELAY on TCP sockets: no Nagle delay on what we write.
        conn = E2Connection(
            self,
            transport="tcp",
            peer=address_of(tr.get_extra_info("peername")),
            local=address_of(tr.get_extra_info("sockname")),
            options=self._options,
        )
        self._conn = conn
        self._on_connection(conn)

    def data_received(self, data: bytes) -> None:
        if self._discard:
            return
        conn = self._conn
        assert conn is not None and self._timer is not None
        decoder = self._decoder
        pdus = decoder.feed(data)
        for pdu in pdus:
            conn._pdu_received(pdu)
        error = decoder.error
        if error is not None:
            self._refuse(error.reason, error.prefix, error.detail)
            return
        if decoder.in_frame:
            # A frame that began in this chunk starts its clock now; one that
            # continues keeps the clock it had (unless we had stopped it).
            if (pdus or not self._timer.running()) and not self._paused:
                self._timer.begin()
        else:
            self._timer.clear()

    def eof_received(self) -> bool:
        conn = self._conn
        if conn is not None and not self._discard:
            if self._decoder.in_frame:
                self._refuse(
                    CloseReason.TRUNCATED,
                    self._decoder.pending_prefix(),
                    f"stream ended inside a frame ({self._decoder.buffered} bytes of it received)",
                )
            else:
                conn._eof()
        return False  # no half-open E2 connections: let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._out.clear()
        self._out_size = 0
        if self._timer is not None:
            self._timer.cancel()
        if self._conn is not None:
            self._conn._connection_lost(exc)

    def pause_writing(self) -> None:
        if self._conn is not None:
            self._conn._pause_writing()

    def resume_writing(self) -> None:
        if self._conn is not None:
            self._conn._resume_writing()

    # Link -------------------------------------------------------------------------------------

    def write_pdu(self, pdu: bytes) -> None:
        # Frames are gathered and written together: at the latest when the task
        # that sends yields to the loop (or waits in recv()), at once when 64 KiB
        # are pending. A burst of small PDUs then costs one send() call, not one
        # per PDU.
        out = self._out
        out.append(len(pdu).to_bytes(HEADER_SIZE, "big"))
        out.append(pdu)
        self._out_size += HEADER_SIZE + len(pdu)
        if self._out_size >= COALESCE_LIMIT:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        tr = self._transport
        if tr is not None and not tr.is_closing():
            tr.write(data)

    def pause_reading(self) -> None:
        if self._discard or self._paused or self._transport is None:
            return
        self._paused = True
        self._transport.pause_reading()
        if self._timer is not None:
            self._timer.clear()  # our stall, not the peer's: stop its clock

    def resume_reading(self) -> None:
        if self._discard or not self._paused or self._transport is None:
            return
        self._paused = False
        self._transport.resume_reading()
        if self._decoder.in_frame and self._timer is not None:
            self._timer.begin()

    def close(self) -> None:
        if self._transport is not None:
            self.flush()
            self._discard = True
            if self._timer is not None:
                self._timer.cancel()
            self._transport.close()

    def shutdown(self) -> None:
        tr = self._transport
        if tr is None or tr.is_closing():
            return
        self.flush()
        self._discard = True
        if self._timer is not None:
            self._timer.cancel()
        if self._paused:
            self._paused = False
            tr.resume_reading()
        try:
            tr.write_eof()  # FIN once the buffer is flushed; input is now dropped
        except (OSError, RuntimeError, NotImplementedError):
            tr.close()

    def abort(self) -> None:
        self._out.clear()
        self._out_size = 0
        if self._transport is not None:
            self._discard = True
            if self._timer is not None:
                self._timer.cancel()
            self._transport.abort()

    def write_buffer_size(self) -> int:
        if self._transport is None:
            return self._out_size
        return self._transport.get_write_buffer_size() + self._out_size

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    # internals --------------------------------------------------------------------------------

    def _refuse(self, reason: CloseReason, prefix: bytes, detail: str) -> None:
        if self._discard:
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._conn is not None
        self._conn._refused(reason, prefix, detail)
        self._discard = True

    def _timed_out(self) -> None:
        if self._discard or self._paused or not self._decoder.in_frame:
            return
        self._refuse(
            CloseReason.TIMEOUT,
            self._decoder.pending_prefix(),
            f"frame not completed within {self._options.frame_timeout:g} s "
            f"({self._decoder.buffered} bytes of it received)",
        )


async def open_tcp_connection(host: str, port: int, options: Options) -> E2Connection:
    """Connect to an E2 peer over framed TCP."""
    loop = asyncio.get_running_loop()
    made: list[E2Connection] = []
    await loop.create_connection(lambda: TcpLink(options, made.append), host, port)
    return made[0]
