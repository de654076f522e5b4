"""The asyncio RMR endpoint: listen, send by route table, return to sender, call, receive.

An :class:`Endpoint` is what ``rmr_init`` returns in librmr: it listens on a
TCP port for frames from other RMR applications (see :mod:`.wire`), routes
outgoing messages through a route table (:mod:`.routes`), and keeps one
outbound connection per peer endpoint, opened on first use. A peer that
refuses is retried only after an exponential backoff (50 ms doubling up to
5 s by default), never in a busy loop.

Received messages wait in a bounded queue; when it is full a new message is
dropped and counted (librmr does the same). Frames larger than the size
limit close their connection and are counted; frames with a malformed header
are skipped and counted. :attr:`Endpoint.counters` exposes all of it.

Health checks (type 100) are answered with type 101 and payload ``OK\\n``
(what ricxappframe sends) unless ``health=False``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

from xtrust.errors import InputError, XTrustError
from xtrust.log import get_logger
from xtrust.ric.rmr.routes import RouteTable, load_route_table
from xtrust.ric.rmr.wire import (
    HDR_LEN,
    HFL_CALL_MSG,
    MAX_XID,
    RIC_HEALTH_CHECK_REQ,
    RIC_HEALTH_CHECK_RESP,
    TP_HDR_LEN,
    FrameDecoder,
    FrameError,
    Message,
    encode_parts,
)

__all__ = [
    "CallTimeout",
    "ClosedError",
    "Endpoint",
    "RMRError",
    "SendError",
    "parse_target",
]

log = get_logger("ric.rmr")

#: room for trace, d1 and d2 data on top of the headers and the payload limit
_FRAME_ALLOWANCE = TP_HDR_LEN + HDR_LEN + 1024
_HEALTH_OK = b"OK\n"
_BATCH_BYTES = 64 * 1024


class RMRError(XTrustError):
    """Base of the errors of the RMR endpoint."""


class SendError(RMRError):
    """A message could not be sent: no route, no connection, or the endpoint is closed."""


class ClosedError(RMRError):
    """The endpoint was closed while the operation waited."""


class CallTimeout(RMRError, TimeoutError):
    """No reply to a call arrived in time."""


def parse_target(text: str) -> tuple[str, int]:
    """Split ``host:port`` (or ``[v6]:port``) into host and port; InputError if malformed."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise InputError(f"endpoint {text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit():
        raise InputError(f"endpoint {text!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise InputError(f"endpoint {text!r}: port {port} is out of range (1..65535)")
    return host, port


class _Conn(asyncio.Protocol):
    """One TCP connection, inbound or outbound; frames flow both ways on it."""

    def __init__(self, ep: Endpoint, link: _Link | None):
        self.ep = ep
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.decoder = FrameDecoder(ep.max_frame)
        self.closed = False
        self.paused = False
        self.peer = link.name if link is not None else "?"
        self._drain: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = ep._loop.create_future()
        self._out: list[bytes] | None = None  # frames written this loop iteration
        self._out_bytes = 0

    def __repr__(self) -> str:
        kind = "out" if self.link is not None else "in"
        return f"<rmr conn {kind} {self.peer}{' closed' if self.closed else ''}>"

    # -- asyncio callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.ep.write_high_water)
        if self.link is None:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple) and len(peer) >= 2:
                self.peer = f"{peer[0]}:{peer[1]}"
        self.ep._conn_made(self)

    def data_received(self, data: bytes) -> None:
        out: list[Message] = []
        decoder = self.decoder
        try:
            decoder.feed(data, out)
        except FrameError as exc:
            if out:
                self.ep._deliver(out, self)
            self.ep._error(exc.reason)
            log.warning("rmr: closing connection from %s: %s", self.peer, exc)
            self.abort()
            return
        if decoder.errors:
            for err in decoder.errors:
                self.ep._error("decode")
                log.info("rmr: dropped a frame from %s: %s", self.peer, err)
            decoder.errors.clear()
        if out:
            self.ep._deliver(out, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.paused = False
        waiter = self._drain
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self.lost.done():
            self.lost.set_result(None)
        self.ep._conn_lost(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        waiter = self._drain
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- ours --------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        t = self.transport
        return not self.closed and t is not None and not t.is_closing()

    def write(self, frame: bytes) -> None:
        """Queue a frame; frames written in one loop iteration go out in one system call.

        The batch is handed to the transport at the end of the iteration, or
        at once when it reaches 64 KiB (so a sender that never yields still
        hits the transport's flow control).
        """
        out = self._out
        if out is None:
            if not self.alive:
                raise SendError(f"connection to {self.peer} is closed")
            self._out = [frame]
            self._out_bytes = len(frame)
            self.ep._loop.call_soon(self.flush)
            return
        out.append(frame)
        self._out_bytes += len(frame)
        if self._out_bytes >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Hand the queued frames to the transport now."""
        out = self._out
        if out is None:
            return
        self._out = None
        t = self.transport
        if t is None or self.closed or t.is_closing():
            self.ep._error("send")
            log.info("rmr: %d frames to %s lost: connection closed", len(out), self.peer)
            return
        t.write(out[0] if len(out) == 1 else b"".join(out))

    async def drain(self) -> None:
        self.flush()
        while self.paused and not self.closed:
            waiter = self._drain
            if waiter is None or waiter.done():
                waiter = self._drain = self.ep._loop.create_future()
            await waiter
        if self.closed:
            raise SendError(f"connection to {self.peer} was lost")

    def close(self) -> None:
        self.flush()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _Link:
    """The outbound side of one peer: its connection, or when to try it again."""

    __slots__ = ("conn", "connecting", "failures", "host", "last_error", "name", "next_try", "port")

    def __init__(self, name: str):
        self.name = name
        self.host, self.port = parse_target(name)
        self.conn: _Conn | None = None
        self.connecting: asyncio.Future[_Conn] | None = None
        self.failures = 0
        self.next_try = 0.0
        self.last_error = ""


class _Receiver:
    """Async iterator over received messages (``async for msg in ep.receive()``)."""

    __slots__ = ("_ep",)

    def __init__(self, ep: Endpoint):
        self._ep = ep

    def __aiter__(self) -> _Receiver:
        return self

    async def __anext__(self) -> Message:
        ep = self._ep
        queue = ep._queue
        while not queue:
            if ep._closed:
                raise StopAsyncIteration
            waiter = ep._waiter
            if waiter is None or waiter.done():
                waiter = ep._waiter = ep._loop.create_future()
            # shielded: a receiver that is cancelled (recv's timeout) must not cancel
            # the shared waiter under the other receivers, nor leave it cancelled
            await asyncio.shield(waiter)
        return queue.popleft()


def _short_hostname() -> str:
    return socket.gethostname().split(".", 1)[0] or "localhost"


def _default_ip(host: str) -> str:
    if host not in ("", "0.0.0.0", "::"):
        return host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class Endpoint:
    """An RMR application endpoint (librmr's context), asyncio edition.

    ``port`` is the TCP port to listen on (0 picks a free one, None does not
    listen: a send-only client whose peers answer on the same connection).
    ``host`` is the interface (default ``RMR_BIND_IF`` or all interfaces).
    ``name`` is the host name put in the source address of our messages
    (default ``RMR_SRC_ID`` or the short host name); the source becomes
    ``name:port`` and ``ip:port`` (see :attr:`name` and :attr:`srcip`).

    Routing: ``routes`` gives a table; otherwise ``seed`` (default
    ``RMR_SEED_RT``) names a table file read at :meth:`start`. ``rtg`` (default
    ``RMR_RTG_SVC``) and ``ctl_port`` (default ``RMR_CTL_PORT``) start a
    route-table collector: with ``rtg`` as ``host:port`` the endpoint asks that
    route manager for tables (type 21), with ``rtg`` as a bare port it only
    listens there for pushed tables; tables (type 20) are acknowledged with
    type 22, as librmr does. ``use_env=False`` ignores the environment.

    Limits: ``max_size`` is the largest accepted payload (frames above it plus
    header room close their connection); ``queue_size`` bounds the receive
    queue; ``max_connections`` bounds inbound connections.

    Use as ``async with Endpoint(4560) as ep:`` or call :meth:`start` and
    :meth:`close`.
    """

    def __init__(
        self,
        port: int | None = 0,
        *,
        host: str | None = None,
        name: str | None = None,
        routes: RouteTable | None = None,
        seed: str | os.PathLike[str] | None = None,
        rtg: str | None = None,
        ctl_port: int | None = None,
        use_env: bool = True,
        max_size: int = 65536,
        queue_size: int = 4096,
        max_connections: int = 1024,
        health: bool = True,
        connect_timeout: float = 2.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        write_high_water: int = 1 << 20,
    ):
        env = os.environ if use_env else {}
        if port is not None and not 0 <= port < 65536:
            raise InputError(f"port {port} is out of range (0..65535)")
        if max_size < 0 or queue_size < 1 or max_connections < 1:
            raise InputError("max_size must be >= 0, queue_size and max_connections >= 1")
        self.listen_port = port
        self.host = host if host is not None else env.get("RMR_BIND_IF", "0.0.0.0")
        self._host_name = name or env.get("RMR_SRC_ID", "").split(":")[0] or None
        self._routes = routes
        self._seed = seed if seed is not None else env.get("RMR_SEED_RT") or None
        self._rtg = rtg if rtg is not None else env.get("RMR_RTG_SVC") or None
        ctl_env = env.get("RMR_CTL_PORT")
        self._ctl_port = ctl_port
        if ctl_port is None and ctl_env:
            if not ctl_env.isdigit():
                raise InputError(f"RMR_CTL_PORT {ctl_env!r} is not a port number")
            self._ctl_port = int(ctl_env)
        self.max_size = max_size
        self.max_frame = max_size + _FRAME_ALLOWANCE
        self.queue_size = queue_size
        self.max_connections = max_connections
        self.health = health
        self.health_payload = _HEALTH_OK
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.write_high_water = write_high_water

        self.name = ""  #: ``host:port`` written as the source of our messages
        self.srcip = ""  #: ``ip:port`` written as the source IP of our messages
        self.me: frozenset[str] = frozenset()  #: names that mean this endpoint in tables
        self.port: int | None = None  #: the port actually listened on
        self._src_b = b""
        self._srcip_b = b""

        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._server: asyncio.Server | None = None
        self._inbound: set[_Conn] = set()
        self._links: dict[str, _Link] = {}
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._calls: dict[tuple[int, bytes], asyncio.Future[Message]] = {}
        self._call_ids = itertools.cycle(range(2, 256))
        self._xids = itertools.count(1)
        self._xid_prefix = f"{os.getpid():x}-{id(self) & 0xFFFFFF:x}-"
        self._collector: Any = None
        self._started = False
        self._closed = False
        self._drop_warned = False
        self._sent = 0
        self._received = 0
        self._dropped = 0
        self._errors: dict[str, int] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> Endpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> Endpoint:
        """Listen, load the seed table, start the route-table collector. Returns self."""
        if self._started:
            return self
        self._loop = asyncio.get_running_loop()
        self._started = True
        port = 0
        if self.listen_port is not None:
            try:
                self._server = await self._loop.create_server(
                    lambda: _Conn(self, None), self.host, self.listen_port, backlog=512
                )
            except OSError as exc:
                raise InputError(
                    f"cannot listen on {self.host}:{self.listen_port}: {exc.strerror or exc}"
                ) from None
            port = self._server.sockets[0].getsockname()[1]
            self.port = port
        host_name = self._host_name or _short_hostname()
        ip = _default_ip(self.host)
        self.name = f"{host_name}:{port}"
        self.srcip = f"{ip}:{port}"
        self._src_b = self.name.encode()[:63]
        self._srcip_b = self.srcip.encode()[:63]
        me = {self.name, self.srcip}
        if self.host in ("", "0.0.0.0", "::", "127.0.0.1", "localhost"):
            me.update({f"127.0.0.1:{port}", f"localhost:{port}"})
        self.me = frozenset(me) if port else frozenset()
        try:
            if self._routes is None and self._seed:
                self._routes = load_route_table(self._seed, me=self.me)
                log.info(
                    "rmr: loaded seed route table %s (%d entries)", self._seed, len(self._routes)
                )
            if self._rtg is not None or self._ctl_port is not None:
                from xtrust.ric.rmr.rtmgr import RouteTableCollector

                self._collector = RouteTableCollector(
                    self, rtg=self._rtg, ctl_port=self._ctl_port, host=self.host
                )
                await self._collector.start()
        except BaseException:
            await self.close()
            raise
        log.info("rmr: endpoint %s listening on %s:%s", self.name, self.host, port)
        return self

    async def close(self, timeout: float = 0.5) -> None:
        """Stop listening, flush and close every connection, fail pending calls.

        Waits at most ``timeout`` seconds for buffered data to flush, then
        aborts what is left. Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        if self._collector is not None:
            await self._collector.close()
        if self._server is not None:
            self._server.close()
        conns = list(self._inbound) + [
            link.conn for link in self._links.values() if link.conn is not None
        ]
        for conn in conns:
            conn.close()
        for link in self._links.values():
            if link.connecting is not None and not link.connecting.done():
                link.connecting.cancel()
        for fut in self._calls.values():
            if not fut.done():
                fut.set_exception(ClosedError("endpoint closed while waiting for a reply"))
        self._calls.clear()
        self._wake()
        pending = [c.lost for c in conns if not c.lost.done()]
        if pending:
            _done, left = await asyncio.wait(pending, timeout=timeout)
            if left:
                for conn in conns:
                    if not conn.lost.done():
                        conn.abort()
                await asyncio.sleep(0)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    # -- routing -------------------------------------------------------------------------------
    @property
    def routes(self) -> RouteTable | None:
        """The route table in use (None until one is loaded or received)."""
        return self._routes

    @routes.setter
    def routes(self, table: RouteTable | None) -> None:
        self._routes = table

    @property
    def collector(self) -> Any:
        """The :class:`~xtrust.ric.rmr.rtmgr.RouteTableCollector`, if one runs."""
        return self._collector

    @property
    def ready(self) -> bool:
        """True once a route table is in use (librmr's ``rmr_ready``)."""
        return self._routes is not None

    # -- counters ------------------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, Any]:
        """``sent``, ``received``, ``dropped`` (receive queue full), ``queued`` and
        ``errors`` by reason (``oversize``, ``bad_length``, ``decode``, ``no_route``,
        ``connect``, ``send``, ``call_timeout``, ``unmatched_reply``, ``connections``)."""
        return {
            "sent": self._sent,
            "received": self._received,
            "dropped": self._dropped,
            "queued": len(self._queue),
            "errors": dict(self._errors),
        }

    def _error(self, reason: str) -> None:
        self._errors[reason] = self._errors.get(reason, 0) + 1

    # -- connections ---------------------------------------------------------------------------
    def _conn_made(self, conn: _Conn) -> None:
        if conn.link is not None:
            return
        if self._closed or len(self._inbound) >= self.max_connections:
            self._error("connections")
            log.warning(
                "rmr: refusing connection from %s (limit %d)", conn.peer, self.max_connections
            )
            conn.abort()
            return
        self._inbound.add(conn)

    def _conn_lost(self, conn: _Conn) -> None:
        link = conn.link
        if link is None:
            self._inbound.discard(conn)
        elif link.conn is conn:
            link.conn = None

    def _link(self, name: str) -> _Link:
        link = self._links.get(name)
        if link is None:
            try:
                link = _Link(name)
            except InputError as exc:
                self._error("send")
                raise SendError(str(exc)) from None
            self._links[name] = link
        return link

    async def _connect(self, name: str, wait: float) -> _Conn:
        """An open connection to ``name``; connects, honouring the backoff, for up to ``wait`` s."""
        link = self._link(name)
        loop = self._loop
        deadline = loop.time() + wait
        while True:
            if self._closed:
                raise SendError("endpoint is closed")
            conn = link.conn
            if conn is not None and conn.alive:
                return conn
            pending = link.connecting
            if pending is not None:  # another send is connecting: share its outcome
                try:
                    return await asyncio.shield(pending)
                except SendError:
                    pass
                except asyncio.CancelledError:
                    if not pending.cancelled():
                        raise  # we were cancelled, not the connection attempt
                continue  # the backoff decides what happens next
            now = loop.time()
            if link.next_try > now:
                if link.next_try > deadline:
                    raise SendError(
                        f"cannot connect to {name}: {link.last_error} "
                        f"({link.failures} attempts; next in {link.next_try - now:.2f} s)"
                    )
                await asyncio.sleep(link.next_try - now)
                continue
            fut: asyncio.Future[_Conn] = loop.create_future()
            link.connecting = fut
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _transport, proto = await loop.create_connection(
                        lambda: _Conn(self, link), link.host, link.port
                    )
            except (OSError, TimeoutError) as exc:
                link.failures += 1
                if isinstance(exc, TimeoutError):
                    link.last_error = f"timed out after {self.connect_timeout:g} s"
                else:
                    link.last_error = os.strerror(exc.errno) if exc.errno else str(exc)
                delay = min(self.backoff_max, self.backoff_initial * 2 ** (link.failures - 1))
                link.next_try = loop.time() + delay
                self._error("connect")
                log.info(
                    "rmr: connect to %s failed (%s); retry after %.2f s",
                    name,
                    link.last_error,
                    delay,
                )
                fut.set_exception(SendError(f"cannot connect to {name}: {link.last_error}"))
                fut.exception()  # retrieved: no "never retrieved" warning
                link.connecting = None
                if loop.time() >= deadline:
                    raise SendError(f"cannot connect to {name}: {link.last_error}") from None
                continue
            except BaseException:
                fut.cancel()
                link.connecting = None
                raise
            assert isinstance(proto, _Conn)
            link.conn = proto
            link.failures = 0
            link.next_try = 0.0
            link.connecting = None
            fut.set_result(proto)
            log.debug("rmr: connected to %s", name)
            return proto

    async def connect(self, target: str, *, wait: float = 0.0) -> None:
        """Open the connection to ``target`` (``host:port``) now rather than on first send."""
        await self._connect(target, wait)

    # -- sending -------------------------------------------------------------------------------
    async def _write(self, frame: bytes, targets: Iterable[str], wait: float) -> int:
        sent = 0
        failure: SendError | None = None
        links = self._links
        for name in targets:
            link = links.get(name)
            conn = link.conn if link is not None else None
            try:
                if conn is None or not conn.alive:
                    conn = await self._connect(name, wait)
                conn.write(frame)
                if conn.paused:
                    await conn.drain()
            except SendError as exc:
                self._error("send")
                failure = exc
                continue
            sent += 1
        self._sent += sent
        if not sent:
            assert failure is not None
            raise failure
        return sent

    def _targets(self, msg: Message) -> list[str]:
        table = self._routes
        targets = table.targets(msg.mtype, msg.sub_id, msg.meid) if table is not None else []
        if not targets:
            self._error("no_route")
            what = f"mtype {msg.mtype} sub_id {msg.sub_id}"
            if table is None:
                raise SendError(
                    f"no route for {what}: no route table loaded",
                    hint="set RMR_SEED_RT or pass routes=",
                )
            entry = table.lookup(msg.mtype, msg.sub_id)
            if entry is not None and entry.by_meid:
                raise SendError(f"no route for {what}: no owner for meid {msg.meid!r}")
            raise SendError(f"no route for {what} in table {table.table_id or '(no id)'}")
        return targets

    async def send(self, msg: Message, *, to: str | None = None, wait: float = 0.0) -> int:
        """Send ``msg`` by the route table, or to ``to`` (``host:port``) if given.

        A route with several groups sends one copy per group. Returns the
        number of copies written. Connections open on first use; ``wait`` is
        how long to keep trying (honouring the backoff) when a peer is not
        reachable. Raises :class:`SendError` when nothing could be sent.
        """
        if self._closed:
            raise SendError("endpoint is closed")
        frame = encode_parts(
            msg.mtype,
            msg.payload,
            msg.sub_id,
            msg.meid,
            msg.xid,
            msg.trace,
            self._src_b,
            self._srcip_b,
            0,
            0,
            time.time_ns(),
        )
        if to is not None:
            link = self._links.get(to)
            conn = link.conn if link is not None else None
            if conn is not None and conn._out is not None and not conn.paused:
                conn.write(frame)  # fast path: a batch to this peer is already open
                self._sent += 1
                return 1
            return await self._write(frame, (to,), wait)
        return await self._write(frame, self._targets(msg), wait)

    async def rts(
        self,
        msg: Message,
        *,
        payload: bytes | None = None,
        mtype: int | None = None,
        sub_id: int | None = None,
    ) -> None:
        """Return ``msg`` to its sender on the connection it arrived on.

        ``payload``, ``mtype`` and ``sub_id`` replace the message's own. The
        call id travels back, so a peer's ``call`` gets its reply. If that
        connection is gone the message goes to the sender's ``srcip``
        (or ``src``) address.
        """
        if self._closed:
            raise SendError("endpoint is closed")
        frame = encode_parts(
            msg.mtype if mtype is None else mtype,
            msg.payload if payload is None else payload,
            msg.sub_id if sub_id is None else sub_id,
            msg.meid,
            msg.xid,
            msg.trace,
            self._src_b,
            self._srcip_b,
            msg.call_id,
            0,
            time.time_ns(),
        )
        conn = msg.origin
        if isinstance(conn, _Conn) and conn.alive:
            conn.write(frame)
            self._sent += 1
            if conn.paused:
                await conn.drain()
            return
        back = msg.srcip or msg.src
        if not back or back.endswith(":0"):
            self._error("send")
            raise SendError(
                "cannot return the message: its connection is closed and it has no source address"
            )
        await self._write(frame, (back,), 0.0)

    async def call(
        self, msg: Message, *, to: str | None = None, timeout: float = 1.0, wait: float = 0.0
    ) -> Message:
        """Send ``msg`` and wait for the reply the peer returns with ``rts``.

        The reply is matched by call id (d1[0]) and transaction id: ``msg.xid``
        if set, else a unique one. Raises :class:`CallTimeout` after
        ``timeout`` seconds, :class:`SendError` if the message cannot be sent.
        """
        if self._closed:
            raise SendError("endpoint is closed")
        xid = msg.xid.rstrip(b"\0")
        if not xid:
            xid = f"{self._xid_prefix}{next(self._xids):x}".encode()[:MAX_XID]
        for _ in range(254):
            call_id = next(self._call_ids)
            if (call_id, xid) not in self._calls:
                break
        else:
            raise SendError(f"too many calls in flight with xid {xid!r}")
        frame = encode_parts(
            msg.mtype,
            msg.payload,
            msg.sub_id,
            msg.meid,
            xid,
            msg.trace,
            self._src_b,
            self._srcip_b,
            call_id,
            HFL_CALL_MSG,
            time.time_ns(),
        )
        targets = (to,) if to is not None else self._targets(msg)
        key = (call_id, xid)
        fut: asyncio.Future[Message] = self._loop.create_future()
        self._calls[key] = fut
        try:
            await self._write(frame, targets, wait)
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            self._error("call_timeout")
            raise CallTimeout(
                f"no reply to mtype {msg.mtype} (xid {xid.decode('utf-8', 'replace')}) "
                f"within {timeout * 1000:.0f} ms"
            ) from None
        finally:
            if self._calls.get(key) is fut:
                del self._calls[key]

    # -- receiving -----------------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _deliver(self, msgs: list[Message], conn: _Conn) -> None:
        queue = self._queue
        limit = self.queue_size
        calls = self._calls
        queued = False
        for m in msgs:
            m.origin = conn
            if m.call_id and not m.flags & HFL_CALL_MSG:
                fut = calls.pop((m.call_id, m.xid), None)
                if fut is not None and not fut.done():
                    fut.set_result(m)
                else:
                    self._error("unmatched_reply")
                continue
            if m.mtype == RIC_HEALTH_CHECK_REQ and self.health:
                self._answer_health(m, conn)
                continue
            if len(queue) >= limit:
                self._dropped += 1
                if not self._drop_warned:
                    self._drop_warned = True
                    log.warning("rmr: receive queue full (%d); dropping messages", limit)
                continue
            queue.append(m)
            queued = True
        self._received += len(msgs)
        if queued and self._waiter is not None:
            self._wake()

    def _answer_health(self, msg: Message, conn: _Conn) -> None:
        frame = encode_parts(
            RIC_HEALTH_CHECK_RESP,
            self.health_payload,
            msg.sub_id,
            msg.meid,
            msg.xid,
            b"",
            self._src_b,
            self._srcip_b,
            msg.call_id,
            0,
            time.time_ns(),
        )
        if conn.alive and not conn.paused:  # a peer that does not read gets no more answers
            conn.write(frame)
            self._sent += 1
        else:
            self._error("send")

    def receive(self) -> AsyncIterator[Message]:
        """An async iterator over received messages; it ends when the endpoint closes."""
        return _Receiver(self)

    def __aiter__(self) -> AsyncIterator[Message]:
        """``async for msg in ep`` is ``async for msg in ep.receive()``."""
        return _Receiver(self)

    async def recv(self, timeout: float | None = None) -> Message:
        """The next received message; :class:`TimeoutError` after ``timeout`` seconds."""
        receiver = _Receiver(self)
        try:
            async with asyncio.timeout(timeout):
                return await receiver.__anext__()
        except StopAsyncIteration:
            raise ClosedError("endpoint closed") from None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._started else "new"
        return f"<rmr Endpoint {self.name or self.listen_port} {state}>"
