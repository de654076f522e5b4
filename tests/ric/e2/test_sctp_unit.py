"""SCTP without the kernel: cmsg structures, and SctpLink driven over a seqpacket test double."""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from typing import Any

import pytest

from tests.ric.e2.fake_sctp import MSG_EOR, FakeSctpSocket, fake_pair
from tests.ric.e2.util import Hook, run
from xtrust.errors import ExternalToolError, XTrustError
from xtrust.ric.e2 import CloseReason, E2Connection, E2ConnectionClosed, SctpUnavailableError
from xtrust.ric.e2.connection import Options
from xtrust.ric.e2.sctp import (
    SCTP_NODELAY,
    SCTP_RCVINFO,
    SCTP_RECVRCVINFO,
    SCTP_SNDRCV,
    SOL_SCTP,
    SctpMessageInfo,
    configure_socket,
    message_info,
    new_sctp_socket,
    pack_sndrcvinfo,
    sctp_available,
    sctp_connection,
    sctp_unavailable_reason,
    send_ancillary,
    unpack_rcvinfo,
    unpack_sndrcvinfo,
)

NATIVE = sys.byteorder


def u16(n: int) -> bytes:
    return n.to_bytes(2, NATIVE)


def u32(n: int) -> bytes:
    return n.to_bytes(4, NATIVE)


# --- constants and structures -----------------------------------------------------------------


def test_linux_constants() -> None:
    assert SOL_SCTP == 132 == socket.IPPROTO_SCTP
    assert (SCTP_NODELAY, SCTP_RECVRCVINFO, SCTP_SNDRCV, SCTP_RCVINFO) == (3, 32, 1, 3)


def test_sndrcvinfo_layout_puts_the_ppid_in_network_order() -> None:
    got = pack_sndrcvinfo(stream=3, ppid=70, flags=0x4, context=7, timetolive=1000, assoc_id=-2)
    expected = (
        u16(3)  # sinfo_stream
        + u16(0)  # sinfo_ssn
        + u16(4)  # sinfo_flags
        + b"\x00\x00"  # padding before the first u32
        + b"\x00\x00\x00\x46"  # sinfo_ppid = htonl(70): big-endian on every host
        + u32(7)  # sinfo_context
        + u32(1000)  # sinfo_timetolive
        + u32(0)  # sinfo_tsn
        + u32(0)  # sinfo_cumtsn
        + (-2).to_bytes(4, NATIVE, signed=True)  # sinfo_assoc_id
    )
    assert got == expected and len(got) == 32


def test_default_send_info_is_stream_0_ppid_70() -> None:
    [(level, kind, data)] = send_ancillary()
    assert (level, kind) == (132, 1)
    assert data == u16(0) * 3 + b"\x00\x00" + b"\x00\x00\x00\x46" + bytes(20)
    info = unpack_sndrcvinfo(data)
    assert (info.stream, info.ppid) == (0, 70)


def test_unpack_sndrcvinfo_round_trip() -> None:
    data = pack_sndrcvinfo(stream=9, ppid=0x01020304, context=5, assoc_id=12)
    assert data[8:12] == b"\x01\x02\x03\x04"
    assert unpack_sndrcvinfo(data) == SctpMessageInfo(
        stream=9, ppid=0x01020304, flags=0, ssn=0, tsn=0, context=5, assoc_id=12
    )


def test_unpack_rcvinfo_from_hand_built_bytes() -> None:
    data = u16(2) + u16(17) + u16(0) + b"\x00\x00" + b"\x00\x00\x00\x48" + u32(99) + u32(98)
    data += u32(5) + (-1).to_bytes(4, NATIVE, signed=True)
    assert len(data) == 28
    assert unpack_rcvinfo(data) == SctpMessageInfo(
        stream=2, ppid=72, flags=0, ssn=17, tsn=99, context=5, assoc_id=-1
    )


def test_message_info_finds_either_cmsg() -> None:
    rcv = u16(1) + bytes(6) + b"\x00\x00\x00\x46" + bytes(16)
    assert message_info([(0, 1, b"junk"), (132, 3, rcv)]) == SctpMessageInfo(stream=1, ppid=70)
    assert message_info([(132, 1, pack_sndrcvinfo(stream=4, ppid=71))]) == SctpMessageInfo(
        stream=4, ppid=71
    )
    assert message_info([]) is None
    assert message_info([(132, 3, b"short")]) is None


def test_configure_socket_sets_nodelay_rcvinfo_and_buffers() -> None:
    a, b = fake_pair()
    configure_socket(a, max_pdu=1 << 20)  # type: ignore[arg-type]
    assert a.options[(132, 3)] == 1  # SCTP_NODELAY
    assert a.options[(132, 32)] == 1  # SCTP_RECVRCVINFO
    assert a.options[(socket.SOL_SOCKET, socket.SO_SNDBUF)] >= 2 << 20  # type: ignore[operator]
    assert a.options[(socket.SOL_SOCKET, socket.SO_RCVBUF)] >= 2 << 20  # type: ignore[operator]
    a.close()
    b.close()


# --- the link over the test double -------------------------------------------------------------


def make(fake: FakeSctpSocket, **kw: Any) -> E2Connection:
    configure_socket(fake, Options(**kw).max_pdu)  # type: ignore[arg-type]
    return sctp_connection(fake, Options(**kw))  # type: ignore[arg-type]


def test_messages_carry_ppid_70_on_stream_0_both_ways() -> None:
    async def main() -> None:
        fa, fb = fake_pair()
        a, b = make(fa), make(fb)
        assert a.transport == "sctp" and a.peer == ("192.0.2.1", 36421)
        pdus = [bytes([i]) * (i * 37 + 1) for i in range(50)]
        for pdu in pdus:
            await a.send(pdu)
        assert [await b.recv() for _ in pdus] == pdus
        await b.send(b"answer")
        assert await a.recv() == b"answer"
        assert [(s, p) for s, p, _ in fa.sent] == [(0, 70)] * 50
        assert fb.sent == [(0, 70, b"answer")]
        assert a.counters.pdus_out == 50 and b.counters.pdus_in == 50
        a.close()
        with pytest.raises(E2ConnectionClosed) as info:
            await b.recv()
        assert info.value.reason is CloseReason.EOF
        await a.wait_closed()
        await b.wait_closed()
        assert fa.closed and fb.closed

    run(main())


def test_ppid_option_is_used_on_every_message() -> None:
    async def main() -> None:
        fa, fb = fake_pair()
        a, b = make(fa, ppid=72), make(fb)
        await a.send(b"du")
        assert await b.recv() == b"du"
        assert fa.sent == [(0, 72, b"du")]
        a.abort()
        await a.wait_closed()
        assert fa.options[(socket.SOL_SOCKET, socket.SO_LINGER)] == struct.pack("ii", 1, 0)
        b.close()

    run(main())


def test_large_message_arrives_in_pieces_and_is_reassembled() -> None:
    async def main() -> None:
        fa, fb = fake_pair()
        a, b = make(fa, max_pdu=300_000), make(fb, max_pdu=300_000)
        big = bytes(range(256)) * 800  # 204800 bytes: four reads of at most 64 KiB
        await a.send(big)
        await a.send(b"after")
        assert await b.recv() == big
        assert await b.recv() == b"after"
        assert fb.read_sizes[:4] == [65536] * 4
        a.close()
        b.close()

    run(main())


def test_oversize_message_is_refused_after_max_pdu_plus_one_bytes() -> None:
    calls: list[tuple[bytes, str]] = []

    async def main() -> None:
        fa, peer = fake_pair()
        conn = make(fa, max_pdu=100_000, on_malformed=Hook(calls, b"EI"))
        body = bytes(range(256)) * 600  # 153600 bytes
        peer.sendmsg([body], send_ancillary())
        with pytest.raises(E2ConnectionClosed) as info:
            await conn.recv()
        assert info.value.reason is CloseReason.OVERSIZE
        assert fa.handed_out == 100_001  # never read (nor held) more than max_pdu + 1
        assert calls == [(body[:64], "oversize")]
        assert conn.counters.oversize == 1
        # The reply went out as one message with PPID 70, then our side shut down.
        await asyncio.sleep(0.05)
        data, _anc, flags, _ = peer.recvmsg(1000, 64)
        assert (data, flags & MSG_EOR) == (b"EI", MSG_EOR)
        assert fa.sent == [(0, 70, b"EI")] and fa.shut_wr
        assert peer.recvmsg(1000, 64)[0] == b""  # end of association
        peer.close()
        await asyncio.wait_for(conn.wait_closed(), 2)

    run(main())


def test_oversize_message_read_in_one_piece_is_refused() -> None:
    async def main() -> None:
        fa, peer = fake_pair()
        conn = make(fa, max_pdu=10)
        peer.sendmsg([b"0123456789"], send_ancillary())
        peer.sendmsg([b"0123456789A"], send_ancillary())
        assert await conn.recv() == b"0123456789"
        with pytest.raises(E2ConnectionClosed):
            await conn.recv()
        assert conn.counters.oversize == 1 and conn.counters.pdus_in == 1
        peer.close()

    run(main())


def test_notifications_are_skipped() -> None:
    async def main() -> None:
        fa, peer = fake_pair()
        conn = make(fa)
        peer.send_notification(b"\x01\x80" + bytes(30))
        peer.sendmsg([b"data"], send_ancillary())
        assert await conn.recv() == b"data"
        assert conn.counters.pdus_in == 1
        conn.close()
        peer.close()

    run(main())


def test_a_message_that_stalls_mid_way_times_out() -> None:
    calls: list[tuple[bytes, str]] = []

    async def main() -> None:
        fa, peer = fake_pair()
        fa.stall_after_first_piece = True
        conn = make(fa, frame_timeout=0.2, on_malformed=Hook(calls))
        body = b"\x07" * 100_000
        peer.sendmsg([body], send_ancillary())
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(E2ConnectionClosed) as info:
            await conn.recv()
        assert info.value.reason is CloseReason.TIMEOUT
        assert 0.15 <= loop.time() - start < 2
        assert conn.counters.timeouts == 1
        assert calls == [(body[:64], "timeout")]
        peer.close()
        await asyncio.wait_for(conn.wait_closed(), 2)

    run(main())


def test_association_ending_mid_message_is_garbage() -> None:
    async def main() -> None:
        fa, peer = fake_pair()
        fa.truncate_after_first_piece = True
        calls: list[tuple[bytes, str]] = []
        conn = make(fa, on_malformed=Hook(calls))
        peer.sendmsg([b"ok"], send_ancillary())
        peer.sendmsg([b"\x01" * 70_000], send_ancillary())
        assert await conn.recv() == b"ok"
        with pytest.raises(E2ConnectionClosed) as info:
            await conn.recv()
        assert info.value.reason is CloseReason.TRUNCATED
        assert conn.counters.garbage == 1 and [r for _, r in calls] == ["truncated"]
        await asyncio.wait_for(conn.wait_closed(), 2)
        peer.close()

    run(main())


def test_send_queue_is_bounded_and_keeps_order() -> None:
    async def main() -> None:
        fa, fb = fake_pair()
        a = make(fa, write_limit=64 * 1024)
        pdu_size = 16 * 1024
        sent: list[bytes] = []
        blocked = False
        for i in range(1000):  # 16 MiB: more than the seqpacket buffers hold
            pdu = i.to_bytes(4, "big") * (pdu_size // 4)
            try:
                await asyncio.wait_for(a.send(pdu), 0.2)
            except TimeoutError:
                blocked = True
                break
            sent.append(pdu)
            assert a.write_buffer_size <= 64 * 1024 + pdu_size
        assert blocked
        b = make(fb)  # the peer starts reading: everything queued flows, in order
        got = [await b.recv() for _ in sent]
        assert got == sent
        await a.send(b"tail")
        assert await b.recv() == b"tail"
        a.close()
        b.close()

    run(main(), timeout=30)


def test_reading_pauses_while_pdus_pile_up_then_resumes() -> None:
    async def main() -> None:
        fa, peer = fake_pair()
        conn = make(fa, read_limit=4096)
        pdus = [i.to_bytes(2, "big") * 500 for i in range(200)]  # 1000 bytes each
        for pdu in pdus:
            peer.sendmsg([pdu], send_ancillary())
        await asyncio.sleep(0.1)
        assert conn.counters.pdus_in <= 5  # paused at read_limit, the rest waits in the socket
        assert [await conn.recv() for _ in pdus] == pdus
        conn.close()
        peer.close()

    run(main())


def test_close_flushes_the_queue_first() -> None:
    async def main() -> None:
        fa, fb = fake_pair()
        a = make(fa, write_limit=1 << 30)
        pdus = [bytes([i % 256]) * 30_000 for i in range(80)]  # more than the buffers take at once
        for pdu in pdus:
            await a.send(pdu)
        assert a.write_buffer_size > 0
        a.close()
        b = make(fb)
        got = [pdu async for pdu in b]
        assert got == pdus
        assert b.close_reason is CloseReason.EOF

    run(main())


# --- the kernel here ------------------------------------------------------------------------


def test_availability_probe_is_consistent() -> None:
    reason = sctp_unavailable_reason()
    assert sctp_available() is (reason is None)
    if reason is not None:
        assert "\n" not in reason and "IPPROTO_SCTP" in reason


def test_new_socket_without_kernel_sctp_raises_a_clear_error() -> None:
    if sctp_available():
        pytest.skip("this kernel has SCTP")
    with pytest.raises(SctpUnavailableError) as info:
        new_sctp_socket()
    err = info.value
    assert isinstance(err, ExternalToolError) and isinstance(err, XTrustError)
    assert str(err).startswith("sctp: kernel SCTP is not available")
    assert err.hint and "tcp" in err.hint


# --- the SCTP server path (listener, handler tasks, close) over the test double ------------------


@pytest.fixture
def sctp_double(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """serve(transport="sctp") listening on an AF_UNIX seqpacket socket; returns a connect()."""
    from xtrust.ric.e2 import sctp as sctp_module
    from xtrust.ric.e2 import transport as transport_module

    path = str(tmp_path / "e2.sock")

    async def listen(host: str | None, port: int, max_pdu: int, backlog: int = 100) -> list:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.bind(path)
        sock.listen(backlog)
        return [sock]

    real_connection = sctp_module.sctp_connection
    monkeypatch.setattr(transport_module, "sctp_unavailable_reason", lambda: None)
    monkeypatch.setattr(transport_module, "sctp_listen", listen)
    monkeypatch.setattr(sctp_module, "configure_socket", lambda sock, max_pdu: None)
    monkeypatch.setattr(
        transport_module,
        "sctp_connection",
        lambda sock, options, loop=None: real_connection(
            FakeSctpSocket(sock),  # type: ignore[arg-type]
            options,
            loop=loop,
        ),
    )

    def connect(**kw: Any) -> E2Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(path)
        return sctp_connection(FakeSctpSocket(sock), Options(**kw))  # type: ignore[arg-type]

    return connect


def test_sctp_server_runs_handlers_and_closes_clients_quickly(sctp_double: Any) -> None:
    from xtrust.ric import e2

    async def echo(conn: E2Connection) -> None:
        async for pdu in conn:
            await conn.send(pdu)

    async def main() -> None:
        server = await e2.serve(echo, "127.0.0.1", 0, transport="sctp")
        assert server.transport == "sctp"
        clients = [sctp_double() for _ in range(20)]
        for i, c in enumerate(clients):
            await c.send(b"hello %d" % i)
        for i, c in enumerate(clients):
            assert await c.recv() == b"hello %d" % i
        await asyncio.sleep(0.05)
        assert server.accepted == 20 and len(server.connections) == 20
        loop = asyncio.get_running_loop()
        start = loop.time()
        server.close()
        results = await asyncio.gather(*(c.recv() for c in clients), return_exceptions=True)
        await server.wait_closed()
        assert loop.time() - start < 0.5
        assert all(
            isinstance(r, E2ConnectionClosed) and r.reason is CloseReason.EOF for r in results
        ), results
        assert server.counters.pdus_in == 20 and server.counters.pdus_out == 20
        assert not server.connections

    run(main())


def test_sctp_server_refuses_oversize_and_sends_the_hook_reply(sctp_double: Any) -> None:
    from xtrust.ric import e2

    calls: list[tuple[bytes, str]] = []

    async def handler(conn: E2Connection) -> None:
        async for _ in conn:
            pass

    async def main() -> None:
        async with await e2.serve(
            handler,
            None,
            0,
            transport="sctp",
            max_pdu=100,
            on_malformed=Hook(calls, b"EI"),
        ) as server:
            client = sctp_double()
            await client.send(b"x" * 100)
            await client.send(b"y" * 101)
            assert await client.recv() == b"EI"
            with pytest.raises(E2ConnectionClosed) as info:
                await client.recv()
            assert info.value.reason is CloseReason.EOF
            await asyncio.sleep(0.05)
            assert server.counters.oversize == 1 and server.counters.pdus_in == 1
        assert calls == [(b"y" * 64, "oversize")]

    run(main())
