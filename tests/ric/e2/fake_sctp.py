"""A test double for a kernel SCTP socket, so SctpLink's logic runs where the kernel has no SCTP.

It is one end of an AF_UNIX SOCK_SEQPACKET pair (real file descriptors, so
the event loop's add_reader/add_writer work). Each SCTP message travels as one
datagram: a kind byte (0 data, 1 notification), the 2-byte stream, the 4 PPID
bytes exactly as they sat in the sender's ``struct sctp_sndrcvinfo``, then the
payload. ``recvmsg`` hands a message out in pieces no larger than the caller's
buffer and sets MSG_EOR on the last piece, as the Linux kernel does; with
``SCTP_RECVRCVINFO`` on, each piece carries a ``struct sctp_rcvinfo`` cmsg.

The cmsg layouts are decoded here by hand, independently of xtrust's packers.
"""

from __future__ import annotations

import socket
import sys

SOL_SCTP = 132
MSG_EOR = 0x80
MSG_NOTIFICATION = 0x8000


class FakeSctpSocket:
    def __init__(self, sock: socket.socket, peer: tuple[str, int] = ("192.0.2.1", 36421)):
        self._sock = sock
        self._sock.setblocking(False)
        self._peer = peer
        self.options: dict[tuple[int, int], object] = {}
        self.sent: list[tuple[int, int, bytes]] = []  # (stream, ppid, payload) as sent
        self.read_sizes: list[int] = []
        self.handed_out = 0  # bytes of the current message handed to the reader
        self.stall_after_first_piece = False
        self.truncate_after_first_piece = False
        self.shut_wr = False
        self.closed = False
        self._pending: bytes | None = None
        self._pending_kind = 0
        self._pending_anc: list[tuple[int, int, bytes]] = []
        self._stalled = False

    # what SctpLink and configure_socket call -------------------------------------------------

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        assert flag is False

    def setsockopt(self, level: int, option: int, value: object) -> None:
        self.options[(level, option)] = value

    def getsockopt(self, level: int, option: int) -> int:
        value = self.options.get((level, option), 212992)
        assert isinstance(value, int)
        return value

    def getpeername(self) -> tuple[str, int]:
        return self._peer

    def getsockname(self) -> tuple[str, int]:
        return ("192.0.2.2", 40000)

    def sendmsg(self, buffers: list[bytes], ancdata: list[tuple[int, int, bytes]]) -> int:
        payload = b"".join(buffers)
        [(level, kind, info)] = ancdata
        assert (level, kind) == (SOL_SCTP, 1), "expects one SCTP_SNDRCV cmsg"
        assert len(info) == 32, "struct sctp_sndrcvinfo is 32 bytes"
        stream = int.from_bytes(info[0:2], sys.byteorder)
        ppid_field = info[8:12]  # after stream, ssn, flags and 2 bytes of padding
        self._sock.send(b"\x00" + stream.to_bytes(2, "big") + ppid_field + payload)
        self.sent.append((stream, int.from_bytes(ppid_field, "big"), payload))
        return len(payload)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0) -> tuple[bytes, list, int, None]:
        self.read_sizes.append(bufsize)
        if self._stalled:
            self._sock.recv(1, socket.MSG_PEEK)  # BlockingIOError until the peer acts
            self._stalled = False  # the peer sent more or closed: the stalled rest is dropped
            self._pending = None
        if self._pending is None:
            dgram = self._sock.recv(1 << 22)
            if not dgram:
                return b"", [], 0, None
            kind, stream, ppid_field = dgram[0], dgram[1:3], dgram[3:7]
            self._pending = dgram[7:]
            self._pending_kind = kind
            self.handed_out = 0
            self._pending_anc = []
            if self.options.get((SOL_SCTP, 32)) == 1 and kind == 0:
                rcvinfo = (
                    int.from_bytes(stream, "big").to_bytes(2, sys.byteorder)
                    + bytes(4)  # ssn, flags
                    + bytes(2)  # padding
                    + ppid_field
                    + bytes(16)  # tsn, cumtsn, context, assoc_id
                )
                self._pending_anc = [(SOL_SCTP, 3, rcvinfo)]
        piece, rest = self._pending[:bufsize], self._pending[bufsize:]
        first = self.handed_out == 0
        self.handed_out += len(piece)
        flags = MSG_NOTIFICATION if self._pending_kind == 1 else 0
        if rest:
            self._pending = rest
            if first and self.stall_after_first_piece:
                self._stalled = True
            if first and self.truncate_after_first_piece:
                self._pending = b""  # the rest never comes; next read sees the end
                self._sock.shutdown(socket.SHUT_RDWR)
        else:
            self._pending = None
            flags |= MSG_EOR
        if self._pending == b"":
            self._pending = None
        return piece, self._pending_anc, flags, None

    def shutdown(self, how: int) -> None:
        self.shut_wr = True
        self._sock.shutdown(how)

    def close(self) -> None:
        self.closed = True
        self._sock.close()

    # for the test acting as the peer ----------------------------------------------------------

    def send_notification(self, payload: bytes) -> None:
        self._sock.send(b"\x01" + bytes(6) + payload)


def fake_pair() -> tuple[FakeSctpSocket, FakeSctpSocket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for s in (a, b):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return FakeSctpSocket(a), FakeSctpSocket(b, peer=("192.0.2.2", 40000))
