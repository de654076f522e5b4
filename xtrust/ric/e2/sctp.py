"""E2AP over kernel SCTP (Linux one-to-one style sockets) for asyncio.

Each E2AP PDU travels as one SCTP user message on stream 0 with the payload
protocol identifier (PPID) 70, which IANA registered as "E2-CP" and which
E2 implementations use for E2AP. The PPID and stream are set on every message
through ``sendmsg`` ancillary data (``SCTP_SNDRCV``, ``struct
sctp_sndrcvinfo``). The kernel copies ``sinfo_ppid`` to the wire without
converting it, so the field holds the PPID in network byte order
(``htonl(70)``), as in every C implementation.

Receiving reads whole messages: a message larger than the receive buffer (or
delivered partially by the kernel) arrives in several reads; the pieces are
joined until one carries ``MSG_EOR``. The joined size is checked after each
piece, so a message larger than ``max_pdu`` is refused after reading at most
``max_pdu + 1`` bytes of it. SCTP notifications are skipped (none is
subscribed to). Messages on any stream and with any PPID are accepted; the
first one with a PPID that is not an E2 PPID (70, 71, 72) is logged at debug
level.

The socket is non-blocking and driven by the event loop's ``add_reader`` /
``add_writer``; a send never blocks the loop: a message the kernel cannot
take now waits in a queue bounded by ``write_limit``, and ``send()`` waits
while the queue is above it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from xtrust.log import get_logger
from xtrust.ric.e2.connection import E2Connection, Options, PartialTimer, address_of
from xtrust.ric.e2.constants import E2_CP_PPID, E2_DU_PPID, E2_UP_PPID, E2AP_PPID, E2AP_STREAM
from xtrust.ric.e2.errors import CloseReason, E2TransportError, SctpUnavailableError
from xtrust.ric.e2.framing import PREFIX_SIZE

__all__ = [
    "IPPROTO_SCTP",
    "MSG_NOTIFICATION",
    "SCTP_NODELAY",
    "SCTP_RCVINFO",
    "SCTP_RECVRCVINFO",
    "SCTP_SNDRCV",
    "SOL_SCTP",
    "SctpLink",
    "SctpListener",
    "SctpMessageInfo",
    "configure_socket",
    "message_info",
    "new_sctp_socket",
    "open_sctp_connection",
    "pack_sndrcvinfo",
    "sctp_available",
    "sctp_connection",
    "sctp_listen",
    "sctp_unavailable_reason",
    "send_ancillary",
    "unpack_rcvinfo",
    "unpack_sndrcvinfo",
]

log = get_logger("ric.e2")

# <linux/sctp.h> (uapi): option levels, socket options, cmsg types, flags.
IPPROTO_SCTP: int = getattr(socket, "IPPROTO_SCTP", 132)
SOL_SCTP = IPPROTO_SCTP
SCTP_NODELAY = 3
SCTP_EVENTS = 11
SCTP_RECVRCVINFO = 32
SCTP_SNDRCV = 1
SCTP_RCVINFO = 3
MSG_NOTIFICATION = 0x8000
MSG_EOR: int = getattr(socket, "MSG_EOR", 0x80)

# struct sctp_sndrcvinfo: u16 stream, u16 ssn, u16 flags, (2 bytes padding), u32 ppid,
# u32 context, u32 timetolive, u32 tsn, u32 cumtsn, s32 assoc_id -> 32 bytes.
_SNDRCVINFO = struct.Struct("=HHHxxIIIIIi")
# struct sctp_rcvinfo: u16 sid, u16 ssn, u16 flags, (2 bytes padding), u32 ppid,
# u32 tsn, u32 cumtsn, u32 context, s32 assoc_id -> 28 bytes.
_RCVINFO = struct.Struct("=HHHxxIIIIi")

_E2_PPIDS = frozenset({E2_CP_PPID, E2_UP_PPID, E2_DU_PPID})
_RECV_CHUNK = 64 * 1024
_ANC_SPACE: int = socket.CMSG_SPACE(_SNDRCVINFO.size) if hasattr(socket, "CMSG_SPACE") else 64
_UNSUPPORTED = {
    errno.EPROTONOSUPPORT,
    errno.ESOCKTNOSUPPORT,
    errno.EAFNOSUPPORT,
    errno.EPFNOSUPPORT,
    errno.EOPNOTSUPP,
}


# --- ancillary data ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SctpMessageInfo:
    """What the kernel tells about a received SCTP message (PPID in host order)."""

    stream: int
    ppid: int
    flags: int = 0
    ssn: int = 0
    tsn: int = 0
    context: int = 0
    assoc_id: int = 0


def pack_sndrcvinfo(
    *,
    stream: int = E2AP_STREAM,
    ppid: int = E2AP_PPID,
    flags: int = 0,
    context: int = 0,
    timetolive: int = 0,
    assoc_id: int = 0,
) -> bytes:
    """``struct sctp_sndrcvinfo`` for a ``SCTP_SNDRCV`` cmsg (PPID stored big-endian)."""
    return _SNDRCVINFO.pack(
        stream, 0, flags, socket.htonl(ppid), context, timetolive, 0, 0, assoc_id
    )


def unpack_sndrcvinfo(data: bytes) -> SctpMessageInfo:
    """Parse a ``struct sctp_sndrcvinfo`` (``SCTP_SNDRCV`` cmsg)."""
    stream, ssn, flags, ppid, context, _ttl, tsn, _cumtsn, assoc_id = _SNDRCVINFO.unpack_from(data)
    return SctpMessageInfo(stream, socket.ntohl(ppid), flags, ssn, tsn, context, assoc_id)


def unpack_rcvinfo(data: bytes) -> SctpMessageInfo:
    """Parse a ``struct sctp_rcvinfo`` (``SCTP_RCVINFO`` cmsg)."""
    sid, ssn, flags, ppid, tsn, _cumtsn, context, assoc_id = _RCVINFO.unpack_from(data)
    return SctpMessageInfo(sid, socket.ntohl(ppid), flags, ssn, tsn, context, assoc_id)


def send_ancillary(
    stream: int = E2AP_STREAM, ppid: int = E2AP_PPID
) -> list[tuple[int, int, bytes]]:
    """The ``sendmsg`` ancillary data that sends a message on ``stream`` with ``ppid``."""
    return [(SOL_SCTP, SCTP_SNDRCV, pack_sndrcvinfo(stream=stream, ppid=ppid))]


def message_info(ancdata: list[tuple[int, int, bytes]]) -> SctpMessageInfo | None:
    """The receive information in ``recvmsg`` ancillary data, if any."""
    for level, kind, data in ancdata:
        if level != SOL_SCTP:
            continue
        if kind == SCTP_RCVINFO and len(data) >= _RCVINFO.size:
            return unpack_rcvinfo(data)
        if kind == SCTP_SNDRCV and len(data) >= _SNDRCVINFO.size:
            return unpack_sndrcvinfo(data)
    return None


# --- kernel support ---------------------------------------------------------------------------


def sctp_unavailable_reason() -> str | None:
    """None when the kernel creates SCTP sockets, else why not (one line)."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
    except OSError as exc:
        return f"socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) failed: {exc.strerror or exc}"
    sock.close()
    return None


def sctp_available() -> bool:
    """True when the kernel has SCTP (one-to-one style sockets can be created)."""
    return sctp_unavailable_reason() is None


def new_sctp_socket(family: int = socket.AF_INET) -> socket.socket:
    """A one-to-one style SCTP socket; :class:`SctpUnavailableError` if the kernel has none."""
    try:
        return socket.socket(family, socket.SOCK_STREAM, IPPROTO_SCTP)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            raise SctpUnavailableError(
                f"kernel SCTP is not available ({exc.strerror or exc})",
                tool="sctp",
                hint="load the kernel module (modprobe sctp) or use transport='tcp'",
            ) from exc
        raise


def _grow_buffer(sock: socket.socket, option: int, want: int) -> None:
    try:
        if sock.getsockopt(socket.SOL_SOCKET, option) < want:
            sock.setsockopt(socket.SOL_SOCKET, option, want)
    except OSError as exc:  # capped by net.core.[rw]mem_max: best effort
        log.debug("E2 sctp: cannot raise socket buffer to %d: %s", want, exc)


def configure_socket(sock: socket.socket, max_pdu: int) -> None:
    """Make an SCTP socket ready for E2: non-blocking, no Nagle delay, receive info on.

    The send and receive buffers are raised (as far as the system allows) so
    that a PDU of ``max_pdu`` bytes fits: the kernel refuses to send an SCTP
    message larger than the send buffer.
    """
    sock.setblocking(False)
    sock.setsockopt(SOL_SCTP, SCTP_NODELAY, 1)
    try:
        sock.setsockopt(SOL_SCTP, SCTP_RECVRCVINFO, 1)
    except OSError:
        # Kernels before RFC 6458 support: subscribe to sctp_data_io_event (first
        # byte of struct sctp_event_subscribe) to get SCTP_SNDRCV instead.
        try:
            sock.setsockopt(SOL_SCTP, SCTP_EVENTS, b"\x01")
        except OSError as exc:
            log.debug("E2 sctp: no receive information from the kernel: %s", exc)
    want = 2 * max_pdu + 64 * 1024
    _grow_buffer(sock, socket.SO_SNDBUF, want)
    _grow_buffer(sock, socket.SO_RCVBUF, want)


# --- the link under an E2Connection -------------------------------------------------------------


class SctpLink:
    """Drives one non-blocking SCTP socket for an :class:`E2Connection`."""

    def __init__(self, sock: socket.socket, options: Options, *, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._max_pdu = options.max_pdu
        self._high = options.write_limit
        self._low = options.write_limit // 4
        self._anc = send_ancillary(E2AP_STREAM, options.ppid)
        self._partial = bytearray()
        self._wq: collections.deque[bytes] = collections.deque()
        self._wq_bytes = 0
        self._conn: E2Connection | None = None
        self._reading = False
        self._writing = False
        self._write_paused = False
        self._state = "open"  # open | closing | shutdown | closed
        self._shut_wr = False
        self._ppid_noted = False
        self._timer = PartialTimer(loop, options.frame_timeout, self._timed_out)

    def start(self, conn: E2Connection) -> None:
        self._conn = conn
        self._set_reading(True)

    # Link protocol -----------------------------------------------------------------------

    def write_pdu(self, pdu: bytes) -> None:
        if self._state == "closed":
            return
        if not self._wq:
            try:
                sent = self._sock.sendmsg([pdu], self._anc)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    raise E2TransportError(
                        f"SCTP refused a message of {len(pdu)} bytes (larger than the send buffer)",
                        hint="raise net.core.wmem_max or send smaller PDUs",
                    ) from exc
                self._close_now(exc)
                return
            else:
                if sent != len(pdu):  # an SCTP message is sent whole or not at all
                    self._close_now(OSError(f"SCTP sent {sent} of {len(pdu)} bytes of a message"))
                return
        self._wq.append(pdu)
        self._wq_bytes += len(pdu)
        if not self._writing:
            self._loop.add_writer(self._fd, self._on_writable)
            self._writing = True
        if self._wq_bytes > self._high and not self._write_paused and self._conn is not None:
            self._write_paused = True
            self._conn._pause_writing()

    def flush(self) -> None:
        """Nothing to do: each message goes to the kernel as soon as it is sent."""

    def pause_reading(self) -> None:
        if self._state != "open":
            return
        self._set_reading(False)
        self._timer.clear()

    def resume_reading(self) -> None:
        if self._state != "open" or self._reading:
            return
        self._set_reading(True)
        if self._partial:
            self._timer.begin()
        # Read at once what arrived while paused rather than wait for the selector.
        self._loop.call_soon(self._on_readable)

    def close(self) -> None:
        if self._state in ("closing", "closed"):
            return
        self._state = "closing"
        self._set_reading(False)
        self._timer.cancel()
        if not self._wq:
            self._close_now(None)

    def shutdown(self) -> None:
        if self._state != "open":
            return
        self._state = "shutdown"
        self._partial = bytearray()
        self._timer.cancel()
        self._set_reading(True)  # discard what still arrives, until the peer's end
        if not self._wq:
            self._shutdown_write()

    def abort(self) -> None:
        if self._state == "closed":
            return
        # SO_LINGER 0: close() sends an ABORT chunk instead of a SHUTDOWN.
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._close_now(None)

    def write_buffer_size(self) -> int:
        return self._wq_bytes

    # event loop callbacks -----------------------------------------------------------------

    def _on_readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        while self._reading:
            room = self._max_pdu + 1 - len(self._partial)
            try:
                data, anc, flags, _ = self._sock.recvmsg(min(_RECV_CHUNK, room), _ANC_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._close_now(exc)
                return
            if not data:
                self._on_eof()
                return
            if flags & MSG_NOTIFICATION or self._state != "open":
                continue
            if not self._ppid_noted and anc:
                self._note_ppid(anc)
            if not self._partial and flags & MSG_EOR:
                if len(data) > self._max_pdu:
                    self._refuse(
                        CloseReason.OVERSIZE,
                        data[:PREFIX_SIZE],
                        f"message of more than {self._max_pdu} bytes (max_pdu)",
                    )
                    return
                conn._pdu_received(data)
                continue
            if not self._partial:
                self._timer.begin()
            self._partial += data
            if len(self._partial) > self._max_pdu:
                self._refuse(
                    CloseReason.OVERSIZE,
                    bytes(self._partial[:PREFIX_SIZE]),
                    f"message of more than {self._max_pdu} bytes (max_pdu)",
                )
                return
            if flags & MSG_EOR:
                pdu = bytes(self._partial)
                self._partial = bytearray()
                self._timer.clear()
                conn._pdu_received(pdu)

    def _on_writable(self) -> None:
        wq = self._wq
        while wq:
            pdu = wq[0]
            try:
                sent = self._sock.sendmsg([pdu], self._anc)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._close_now(exc)
                return
            if sent != len(pdu):
                self._close_now(OSError(f"SCTP sent {sent} of {len(pdu)} bytes of a message"))
                return
            wq.popleft()
            self._wq_bytes -= len(pdu)
        if self._write_paused and self._wq_bytes <= self._low and self._conn is not None:
            self._write_paused = False
            self._conn._resume_writing()
        if wq:
            return
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        if self._state == "closing":
            self._close_now(None)
        elif self._state == "shutdown":
            self._shutdown_write()

    # internals ------------------------------------------------------------------------------

    def _set_reading(self, on: bool) -> None:
        if on and not self._reading:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True
        elif not on and self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _note_ppid(self, anc: list[tuple[int, int, bytes]]) -> None:
        info = message_info(anc)
        if info is None:
            return
        self._ppid_noted = True
        if info.ppid not in _E2_PPIDS:
            log.debug("E2 sctp: peer sends with PPID %d (not an E2 PPID)", info.ppid)

    def _refuse(self, reason: CloseReason, prefix: bytes, detail: str) -> None:
        self._partial = bytearray()
        self._timer.cancel()
        if self._conn is not None:
            try:
                self._conn._refused(reason, prefix, detail)
            except E2TransportError as exc:
                log.warning("E2 sctp: could not send the reply to a refused message: %s", exc)
        if self._state == "open":
            self.shutdown()

    def _timed_out(self) -> None:
        if self._state != "open" or not self._partial or not self._reading:
            return
        self._refuse(
            CloseReason.TIMEOUT,
            bytes(self._partial[:PREFIX_SIZE]),
            "message not completed within frame_timeout",
        )

    def _on_eof(self) -> None:
        if self._state == "open":
            if self._partial:
                self._refuse(
                    CloseReason.TRUNCATED,
                    bytes(self._partial[:PREFIX_SIZE]),
                    f"association ended inside a message ({len(self._partial)} bytes received)",
                )
            elif self._conn is not None:
                self._conn._eof()
        self._close_now(None)

    def _shutdown_write(self) -> None:
        if self._shut_wr or self._state == "closed":
            return
        self._shut_wr = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._close_now(exc if exc.errno != errno.ENOTCONN else None)

    def _close_now(self, exc: BaseException | None) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        self._set_reading(False)
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        self._timer.cancel()
        self._wq.clear()
        self._wq_bytes = 0
        self._sock.close()
        if self._conn is not None:
            self._loop.call_soon(self._conn._connection_lost, exc)


def sctp_connection(
    sock: socket.socket, options: Options, *, loop: asyncio.AbstractEventLoop | None = None
) -> E2Connection:
    """Wrap a connected, configured SCTP socket into a running :class:`E2Connection`."""
    loop = loop or asyncio.get_running_loop()
    try:
        peer = address_of(sock.getpeername())
    except OSError:
        peer = ("?", 0)
    local = address_of(sock.getsockname())
    link = SctpLink(sock, options, loop=loop)
    conn = E2Connection(link, transport="sctp", peer=peer, local=local, options=options)
    link.start(conn)
    return conn


async def open_sctp_connection(host: str, port: int, options: Options) -> E2Connection:
    """Connect to an E2 peer over SCTP (every address of ``host`` in turn)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"no address for {host}")
    last: OSError | None = None
    for family, _type, _proto, _name, addr in infos:
        sock = new_sctp_socket(family)
        try:
            configure_socket(sock, options.max_pdu)
            await loop.sock_connect(sock, addr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sctp_connection(sock, options, loop=loop)
    assert last is not None
    raise last


async def sctp_listen(
    host: str | None, port: int, max_pdu: int, backlog: int = 100
) -> list[socket.socket]:
    """Listening SCTP sockets on every address of ``host`` (all interfaces when None)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    seen: set[tuple[int, object]] = set()
    socks: list[socket.socket] = []
    try:
        for family, _type, _proto, _name, addr in infos:
            if (family, addr) in seen:
                continue
            seen.add((family, addr))
            sock = new_sctp_socket(family)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            configure_socket(sock, max_pdu)
            sock.bind(addr)
            sock.listen(backlog)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


class SctpListener:
    """Accepts associations on listening SCTP sockets and hands each to ``on_accept``.

    Driven by ``add_reader`` on each listening socket, like asyncio's own
    servers: ``close()`` unregisters the sockets before closing them.
    """

    def __init__(
        self,
        socks: list[socket.socket],
        on_accept: Callable[[socket.socket], None],
        *,
        max_pdu: int,
        backlog: int = 100,
    ):
        self._socks = socks
        self._on_accept = on_accept
        self._max_pdu = max_pdu
        self._backlog = backlog
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._socks)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sock in self._socks:
            sock.setblocking(False)
            self._loop.add_reader(sock.fileno(), self._on_acceptable, sock)

    def _on_acceptable(self, sock: socket.socket) -> None:
        assert self._loop is not None
        for _ in range(self._backlog):  # as many as are waiting, within reason
            if self._closed:
                return
            try:
                conn_sock, _addr = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                log.warning("E2 sctp: accept failed: %s", exc)
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of resources: stop accepting for a moment instead of spinning.
                    self._loop.remove_reader(sock.fileno())
                    self._loop.call_later(0.1, self._resume, sock)
                return
            try:
                configure_socket(conn_sock, self._max_pdu)
            except OSError as exc:
                log.warning("E2 sctp: cannot set up an accepted association: %s", exc)
                conn_sock.close()
                continue
            self._on_accept(conn_sock)

    def _resume(self, sock: socket.socket) -> None:
        if not self._closed and self._loop is not None:
            self._loop.add_reader(sock.fileno(), self._on_acceptable, sock)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sock in self._socks:
            if self._loop is not None and sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
            sock.close()

    async def wait_closed(self) -> None:
        return None
