"""E2 over kernel SCTP on 127.0.0.1. Skipped, with the reason, where the kernel has no SCTP."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from tests.ric.e2.util import LOOPBACK, Hook, run
from xtrust.ric import e2
from xtrust.ric.e2 import CloseReason, E2Connection, E2ConnectionClosed
from xtrust.ric.e2.sctp import (
    IPPROTO_SCTP,
    MSG_EOR,
    SCTP_RECVRCVINFO,
    SOL_SCTP,
    message_info,
    send_ancillary,
)


@pytest.fixture(autouse=True)
def kernel_sctp() -> None:
    reason = e2.sctp_unavailable_reason()
    if reason is not None:
        pytest.skip(f"kernel SCTP not available: {reason}")


async def echo(conn: E2Connection) -> None:
    async for pdu in conn:
        await conn.send(pdu)


def raw_sctp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
    sock.setsockopt(SOL_SCTP, SCTP_RECVRCVINFO, 1)
    sock.setblocking(False)
    return sock


async def readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    try:
        await fut
    finally:
        loop.remove_reader(sock.fileno())


async def recv_message(sock: socket.socket) -> tuple[bytes, int | None]:
    """One whole SCTP message (b"" at the end of the association) and its PPID."""
    data = bytearray()
    ppid = None
    while True:
        try:
            piece, anc, flags, _ = sock.recvmsg(65536, socket.CMSG_SPACE(32))
        except BlockingIOError:
            await readable(sock)
            continue
        if not piece:
            return b"", None
        info = message_info(anc)
        if info is not None and ppid is None:
            ppid = info.ppid
            assert info.stream == 0
        data += piece
        if flags & MSG_EOR:
            return bytes(data), ppid


def test_round_trip_over_sctp_with_large_messages() -> None:
    async def main() -> None:
        async with await e2.serve(echo, LOOPBACK, 0, transport="sctp") as server:
            assert server.transport == "sctp"
            conn = await e2.connect(LOOPBACK, server.port, transport="sctp")
            assert conn.transport == "sctp"
            for size in (1, 2, 100, 1500, 65535, 65536, 65537, 200_000):
                pdu = bytes(range(256)) * (size // 256) + b"\x42" * (size % 256)
                await conn.send(pdu)
                assert await conn.recv() == pdu
            many = [i.to_bytes(4, "big") * 110 for i in range(2000)]
            for pdu in many:
                await conn.send(pdu)
            assert [await conn.recv() for _ in many] == many
            conn.close()
            await conn.wait_closed()

    run(main())


def test_auto_picks_sctp_when_the_kernel_has_it() -> None:
    async def main() -> None:
        async with await e2.serve(echo, LOOPBACK, 0) as server:
            assert server.transport == "sctp"
            async with await e2.connect(LOOPBACK, server.port) as conn:
                assert conn.transport == "sctp"

    run(main())


def test_each_pdu_is_one_message_with_ppid_70_on_stream_0() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        lsock = raw_sctp_socket()
        lsock.bind((LOOPBACK, 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        conn = await e2.connect(LOOPBACK, port, transport="sctp")
        peer, _ = await loop.sock_accept(lsock)
        peer.setsockopt(SOL_SCTP, SCTP_RECVRCVINFO, 1)
        for pdu in (b"\x00\x01", b"E2AP" * 5000, b"z"):
            await conn.send(pdu)
        assert await recv_message(peer) == (b"\x00\x01", 70)
        assert await recv_message(peer) == (b"E2AP" * 5000, 70)
        assert await recv_message(peer) == (b"z", 70)
        # and the E2 side reads a message a raw peer sends
        peer.sendmsg([b"from raw"], send_ancillary())
        assert await conn.recv() == b"from raw"
        conn.close()
        assert await recv_message(peer) == (b"", None)
        peer.close()
        lsock.close()

    run(main())


def test_oversize_message_gets_the_hook_reply_then_the_end() -> None:
    calls: list[tuple[bytes, str]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await e2.serve(
            echo,
            LOOPBACK,
            0,
            transport="sctp",
            max_pdu=1000,
            on_malformed=Hook(calls, b"ERROR-INDICATION"),
        )
        async with server:
            sock = raw_sctp_socket()
            await loop.sock_connect(sock, (LOOPBACK, server.port))
            sock.sendmsg([b"fine"], send_ancillary())
            assert await recv_message(sock) == (b"fine", 70)
            body = bytes(range(250)) * 8  # 2000 bytes
            sock.sendmsg([body], send_ancillary())
            assert await recv_message(sock) == (b"ERROR-INDICATION", 70)
            assert await recv_message(sock) == (b"", None)
            sock.close()
            await asyncio.sleep(0.05)
            assert server.counters.oversize == 1
        assert calls == [(body[:64], "oversize")]

    run(main())


def test_server_close_ends_sctp_clients_quickly() -> None:
    async def main() -> None:
        server = await e2.serve(echo, LOOPBACK, 0, transport="sctp")
        clients = [await e2.connect(LOOPBACK, server.port, transport="sctp") for _ in range(10)]
        for c in clients:
            await c.send(b"hi")
            assert await c.recv() == b"hi"
        start = time.monotonic()
        server.close()
        results = await asyncio.gather(*(c.recv() for c in clients), return_exceptions=True)
        await server.wait_closed()
        assert time.monotonic() - start < 0.5
        assert all(
            isinstance(r, E2ConnectionClosed) and r.reason is CloseReason.EOF for r in results
        ), results

    run(main())
