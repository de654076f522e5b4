"""Choosing SCTP or TCP, connecting to an E2 peer, and serving E2 connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Literal

from xtrust.errors import InputError
from xtrust.log import get_logger
from xtrust.ric.e2.connection import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_FRAME_TIMEOUT,
    DEFAULT_WRITE_LIMIT,
    E2Connection,
    E2Counters,
    MalformedHook,
    Options,
    address_of,
)
from xtrust.ric.e2.constants import E2_PORT, E2AP_PPID
from xtrust.ric.e2.errors import E2ConnectionClosed, E2TransportError, SctpUnavailableError
from xtrust.ric.e2.framing import DEFAULT_MAX_PDU
from xtrust.ric.e2.sctp import (
    SctpListener,
    open_sctp_connection,
    sctp_connection,
    sctp_listen,
    sctp_unavailable_reason,
)
from xtrust.ric.e2.tcp import TcpLink, open_tcp_connection

__all__ = ["E2Server", "Handler", "TransportName", "connect", "resolve_transport", "serve"]

log = get_logger("ric.e2")

TransportName = Literal["auto", "sctp", "tcp"]
Handler = Callable[[E2Connection], Awaitable[None]]


def resolve_transport(transport: str) -> Literal["sctp", "tcp"]:
    """``"sctp"`` or ``"tcp"`` for a requested transport.

    ``"auto"`` is SCTP when the kernel has it and TCP otherwise; ``"sctp"``
    raises :class:`SctpUnavailableError` when the kernel has none.
    """
    if transport == "tcp":
        return "tcp"
    if transport not in ("auto", "sctp"):
        raise InputError(f"unknown E2 transport {transport!r} (expected auto, sctp or tcp)")
    why = sctp_unavailable_reason()
    if why is None:
        return "sctp"
    if transport == "sctp":
        raise SctpUnavailableError(
            f"kernel SCTP is not available ({why})",
            tool="sctp",
            hint="load the kernel module (modprobe sctp) or use transport='tcp'",
        )
    return "tcp"


def _oserror_text(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


async def connect(
    host: str,
    port: int = E2_PORT,
    *,
    transport: TransportName = "auto",
    max_pdu: int = DEFAULT_MAX_PDU,
    frame_timeout: float | None = DEFAULT_FRAME_TIMEOUT,
    write_limit: int = DEFAULT_WRITE_LIMIT,
    read_limit: int | None = None,
    on_malformed: MalformedHook | None = None,
    connect_timeout: float | None = 10.0,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ppid: int = E2AP_PPID,
) -> E2Connection:
    """Open an E2 connection to ``host:port`` (an E2 node connecting to a RIC).

    ``transport``: ``"auto"`` (SCTP when the kernel has it, else TCP),
    ``"sctp"`` or ``"tcp"``; the peer must use the same. The other settings
    are those of :func:`serve`. Raises :class:`E2TransportError` when the peer
    cannot be reached.
    """
    options = Options(
        max_pdu=max_pdu,
        frame_timeout=frame_timeout,
        write_limit=write_limit,
        read_limit=read_limit,
        on_malformed=on_malformed,
        close_timeout=close_timeout,
        ppid=ppid,
    )
    kind = resolve_transport(transport)
    opener = open_sctp_connection if kind == "sctp" else open_tcp_connection
    try:
        async with asyncio.timeout(connect_timeout):
            conn = await opener(host, port, options)
    except TimeoutError:
        raise E2TransportError(
            f"cannot connect to E2 peer {host}:{port} over {kind}: "
            f"no answer within {connect_timeout:g} s"
        ) from None
    except OSError as exc:
        raise E2TransportError(
            f"cannot connect to E2 peer {host}:{port} over {kind}: {_oserror_text(exc)}"
        ) from exc
    log.debug("E2 %s connection to %s:%d open", kind, host, port)
    return conn


class E2Server:
    """Listening E2 endpoint (the RIC side); made by :func:`serve`.

    Each accepted connection runs ``handler(conn)`` in its own task; the
    connection is closed when the handler returns or raises. ``close()`` stops
    listening and closes every connection; ``wait_closed()`` returns once they
    are closed and the handlers have finished (handlers still running
    ``close_timeout`` seconds later are cancelled).
    """

    def __init__(self, handler: Handler, options: Options, transport: Literal["sctp", "tcp"]):
        self._handler = handler
        self._options = options
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._conns: set[E2Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished = E2Counters()
        self._accepted = 0
        self._closing = False
        self._closed = self._loop.create_future()
        self._aio_server: asyncio.Server | None = None
        self._listener: SctpListener | None = None
        self._sockets: list[socket.socket] = []
        self._finisher: asyncio.Task[None] | None = None
        self._addresses: list[tuple[str, int]] = []

    @property
    def transport(self) -> str:
        """``"sctp"`` or ``"tcp"``."""
        return self._transport

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (one per address of the host; closed after ``close()``)."""
        return list(self._sockets)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of each listening socket (as bound; kept after close)."""
        return list(self._addresses)

    @property
    def port(self) -> int:
        """The port actually bound (of the first listening socket; useful with port 0)."""
        return self.addresses[0][1]

    @property
    def connections(self) -> list[E2Connection]:
        """Connections currently open."""
        return list(self._conns)

    @property
    def accepted(self) -> int:
        """Connections accepted since the server started."""
        return self._accepted

    @property
    def counters(self) -> E2Counters:
        """Counters summed over every connection, open or finished."""
        total = E2Counters()
        total.add(self._finished)
        for conn in self._conns:
            total.add(conn.counters)
        return total

    @property
    def is_serving(self) -> bool:
        return not self._closing

    async def _start(self, host: str | None, port: int, backlog: int) -> None:
        if self._transport == "tcp":
            self._aio_server = await self._loop.create_server(
                lambda: TcpLink(self._options, self._accept),
                host,
                port,
                backlog=backlog,
            )
            self._sockets = list(self._aio_server.sockets)
        else:
            socks = await sctp_listen(host, port, self._options.max_pdu, backlog)
            self._sockets = socks
            self._listener = SctpListener(
                socks, self._accept_sctp, max_pdu=self._options.max_pdu, backlog=backlog
            )
            self._listener.start()
        self._addresses = [address_of(sock.getsockname()) for sock in self._sockets]

    def _accept_sctp(self, sock: socket.socket) -> None:
        try:
            conn = sctp_connection(sock, self._options, loop=self._loop)
        except OSError as exc:
            log.warning("E2 sctp: cannot set up an accepted association: %s", exc)
            sock.close()
            return
        self._accept(conn)

    def _accept(self, conn: E2Connection) -> None:
        self._accepted += 1
        if self._closing:
            conn.close()
            return
        host, port = conn.peer
        log.debug("E2 %s connection from %s:%d", self._transport, host, port)
        self._conns.add(conn)
        task = self._loop.create_task(self._run(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: E2Connection) -> None:
        try:
            await self._handler(conn)
        except E2ConnectionClosed:
            pass
        except asyncio.CancelledError:
            conn.abort()
            raise
        except Exception:
            host, port = conn.peer
            log.exception("E2 handler failed for %s:%d; closing the connection", host, port)
        finally:
            conn.close()
            try:
                await conn.wait_closed()
            finally:
                self._conns.discard(conn)
                self._finished.add(conn.counters)

    def close(self) -> None:
        """Stop listening and close every connection (idempotent)."""
        if self._closing:
            return
        self._closing = True
        if self._aio_server is not None:
            self._aio_server.close()
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._conns):
            conn.close()
        self._finisher = self._loop.create_task(self._finish())

    async def _finish(self) -> None:
        try:
            if self._listener is not None:
                await self._listener.wait_closed()
            tasks = list(self._tasks)
            if tasks:
                _done, pending = await asyncio.wait(
                    tasks, timeout=self._options.close_timeout + 0.1
                )
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending)
        finally:
            if not self._closed.done():
                self._closed.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until the server is closed, its connections closed and its handlers finished."""
        await asyncio.shield(self._closed)

    async def serve_forever(self) -> None:
        """Run until the server is closed (or the calling task is cancelled, which closes it)."""
        try:
            await asyncio.shield(self._closed)
        except asyncio.CancelledError:
            self.close()
            await self.wait_closed()
            raise

    async def __aenter__(self) -> E2Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        where = ", ".join(f"{h}:{p}" for h, p in self.addresses) if not self._closing else "closed"
        return f"<E2Server {self._transport} {where} connections={len(self._conns)}>"


async def serve(
    handler: Handler,
    host: str | None = None,
    port: int = E2_PORT,
    *,
    transport: TransportName = "auto",
    max_pdu: int = DEFAULT_MAX_PDU,
    frame_timeout: float | None = DEFAULT_FRAME_TIMEOUT,
    write_limit: int = DEFAULT_WRITE_LIMIT,
    read_limit: int | None = None,
    on_malformed: MalformedHook | None = None,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ppid: int = E2AP_PPID,
    backlog: int = 100,
) -> E2Server:
    """Listen for E2 connections on ``host:port`` and run ``handler(conn)`` for each.

    * ``host``: address to bind (``None``: every interface); ``port`` 0 picks a
      free port, see :attr:`E2Server.port`.
    * ``transport``: ``"auto"`` (SCTP when the kernel has it, else TCP),
      ``"sctp"`` or ``"tcp"``; peers must use the same.
    * ``max_pdu``: largest PDU accepted (default 1 MiB). A larger one is
      refused before its body is buffered and the connection is closed.
    * ``frame_timeout``: seconds a started PDU may take to arrive completely
      (default 30; None disables it).
    * ``write_limit``: bytes buffered for sending before ``send()`` waits
      (over TCP the buffer may exceed it by one batch of gathered frames, at
      most 64 KiB plus one PDU).
    * ``read_limit``: bytes of received, unread PDUs before reading pauses
      (default ``max(max_pdu, 256 KiB)``).
    * ``on_malformed(prefix, reason)``: called once when a peer's PDU is
      refused, with the first bytes of that PDU that had arrived (at most 64,
      without the TCP length field; possibly empty) and the reason
      (``"oversize"``, ``"empty-frame"``, ``"truncated"``, ``"timeout"``). If it
      returns bytes, they are sent to the peer as one PDU (for instance an
      E2AP Error Indication) before the connection is closed.
    * ``close_timeout``: seconds a closing connection may take to flush before
      it is aborted.
    * ``ppid``: SCTP payload protocol identifier set on sent messages (70).
    """
    options = Options(
        max_pdu=max_pdu,
        frame_timeout=frame_timeout,
        write_limit=write_limit,
        read_limit=read_limit,
        on_malformed=on_malformed,
        close_timeout=close_timeout,
        ppid=ppid,
    )
    if not callable(handler):
        raise InputError("handler must be an async function taking an E2Connection")
    kind = resolve_transport(transport)
    server = E2Server(handler, options, kind)
    try:
        await server._start(host, port, backlog)
    except OSError as exc:
        where = f"{host if host is not None else '*'}:{port}"
        raise E2TransportError(
            f"cannot listen for E2 over {kind} on {where}: {_oserror_text(exc)}"
        ) from exc
    log.debug("E2 server listening over %s on %s", kind, server.addresses)
    return server
