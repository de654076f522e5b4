"""E2 over framed TCP on 127.0.0.1: round trips, wire bytes, refusals, timeouts, closing."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import tracemalloc

import pytest

from tests.ric.e2.util import LOOPBACK, Hook, ListHandler, frame, read_to_eof, run
from xtrust.errors import InputError, XTrustError
from xtrust.ric import e2
from xtrust.ric.e2 import CloseReason, E2Connection, E2ConnectionClosed, E2TransportError
from xtrust.ric.e2.tcp import COALESCE_LIMIT


async def echo(conn: E2Connection) -> None:
    async for pdu in conn:
        await conn.send(pdu)


async def tcp_server(handler: e2.Handler = echo, **kw: object) -> e2.E2Server:
    return await e2.serve(handler, LOOPBACK, 0, transport="tcp", **kw)  # type: ignore[arg-type]


async def tcp_client(port: int, **kw: object) -> E2Connection:
    return await e2.connect(LOOPBACK, port, transport="tcp", **kw)  # type: ignore[arg-type]


# --- round trips ------------------------------------------------------------------------------


def test_many_pdus_both_ways() -> None:
    rng = random.Random(1)
    sent_by_client = [rng.randbytes(rng.randint(1, 4096)) for _ in range(1500)]
    sent_by_server = [rng.randbytes(rng.randint(1, 4096)) for _ in range(1500)]
    got_by_server: list[bytes] = []
    handler_done: list[asyncio.Event] = []

    async def handler(conn: E2Connection) -> None:
        async def push() -> None:
            for pdu in sent_by_server:
                await conn.send(pdu)

        pusher = asyncio.create_task(push())
        async for pdu in conn:
            got_by_server.append(pdu)
            if len(got_by_server) == len(sent_by_client):
                break
        await pusher
        handler_done[0].set()

    async def main() -> None:
        handler_done.append(asyncio.Event())
        async with await tcp_server(handler) as server:
            conn = await tcp_client(server.port)
            assert conn.transport == "tcp" and server.transport == "tcp"
            assert conn.peer == (LOOPBACK, server.port)

            async def push() -> None:
                for pdu in sent_by_client:
                    await conn.send(pdu)

            pusher = asyncio.create_task(push())
            got = [await conn.recv() for _ in sent_by_server]
            await pusher
            await handler_done[0].wait()
            assert got == sent_by_server
            assert got_by_server == sent_by_client
            c = conn.counters
            assert (c.pdus_out, c.pdus_in) == (1500, 1500)
            assert c.bytes_out == sum(map(len, sent_by_client))
            assert c.bytes_in == sum(map(len, sent_by_server))
            conn.close()
            await conn.wait_closed()
        totals = server.counters
        assert totals.pdus_in == 1500 and totals.bytes_in == sum(map(len, sent_by_client))
        assert server.accepted == 1

    run(main())


def test_pdu_sizes_from_one_to_max_pdu() -> None:
    sizes = [1, 2, 3, 4, 5, 255, 256, 257, 65535, 65536, 65537, 300_000, e2.DEFAULT_MAX_PDU]

    async def main() -> None:
        async with await tcp_server() as server:
            conn = await tcp_client(server.port)
            for size in sizes:
                pdu = random.randbytes(size)
                await conn.send(pdu)
                assert await conn.recv() == pdu
            with pytest.raises(InputError, match="max_pdu"):
                await conn.send(b"x" * (e2.DEFAULT_MAX_PDU + 1))
            with pytest.raises(InputError, match="empty"):
                await conn.send(b"")
            with pytest.raises(InputError):
                await conn.send("text")  # type: ignore[arg-type]
            assert server.counters.oversize == 0
            conn.close()

    run(main())


def test_many_concurrent_connections() -> None:
    async def one(port: int, n: int) -> None:
        conn = await tcp_client(port)
        pdus = [f"conn {n} pdu {i}".encode() * (i + 1) for i in range(40)]
        for pdu in pdus:
            await conn.send(pdu)
        assert [await conn.recv() for _ in pdus] == pdus
        conn.close()
        await conn.wait_closed()

    async def main() -> None:
        async with await tcp_server() as server:
            await asyncio.gather(*(one(server.port, n) for n in range(60)))
            assert server.accepted == 60
            assert server.counters.pdus_in == 60 * 40

    run(main(), timeout=30)


def test_gathered_frames_leave_without_recv_close_or_more_sends() -> None:
    """A PDU sent by a task that then only sleeps still reaches the peer at once."""

    async def main() -> None:
        got: asyncio.Queue[bytes] = asyncio.Queue()

        async def collect(conn: E2Connection) -> None:
            async for pdu in conn:
                await got.put(pdu)

        async with await tcp_server(collect) as server:
            conn = await tcp_client(server.port)
            await conn.send(b"lonely")
            await asyncio.sleep(0)  # the sender yields once, and then waits on nothing of ours
            assert await asyncio.wait_for(got.get(), 2) == b"lonely"
            burst = [i.to_bytes(2, "big") * 100 for i in range(2000)]  # 400 KB, no yield
            for pdu in burst:
                await conn.send(pdu)
            conn.close()  # close() sends what was gathered, then closes
            assert [await asyncio.wait_for(got.get(), 2) for _ in burst] == burst
            await conn.wait_closed()

    run(main())


# --- the bytes on the wire --------------------------------------------------------------------


def test_client_writes_exact_frames() -> None:
    async def main() -> None:
        got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.set_result(await reader.read())
            writer.close()

        raw_server = await asyncio.start_server(raw, LOOPBACK, 0)
        port = raw_server.sockets[0].getsockname()[1]
        conn = await tcp_client(port)
        await conn.send(b"\x20\x01\x00")
        await conn.send(b"A" * 300)
        await conn.send(bytearray(b"\x00"))
        conn.close()
        wire = await asyncio.wait_for(got, 5)
        assert wire == (
            b"\x00\x00\x00\x03\x20\x01\x00"
            + b"\x00\x00\x01\x2c"
            + b"A" * 300
            + b"\x00\x00\x00\x01\x00"
        )
        raw_server.close()

    run(main())


def test_server_reads_hand_built_frames_and_writes_exact_frames() -> None:
    received: list[bytes] = []

    async def handler(conn: E2Connection) -> None:
        async for pdu in conn:
            received.append(pdu)
            if pdu == b"last":
                await conn.send(b"\x00\x08\x00")
                await conn.send(b"R" * 70000)

    async def main() -> None:
        async with await tcp_server(handler) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            # Two frames in one write, then one frame dribbled a byte at a time.
            writer.write(b"\x00\x00\x00\x02hi" + b"\x00\x00\x00\x01\xff")
            await writer.drain()
            for byte in b"\x00\x00\x00\x04last":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.001)
            expect = b"\x00\x00\x00\x03\x00\x08\x00" + b"\x00\x01\x11\x70" + b"R" * 70000
            assert await reader.readexactly(len(expect)) == expect
            writer.close()
        assert received == [b"hi", b"\xff", b"last"]

    run(main())


# --- refusals ---------------------------------------------------------------------------------


def test_oversize_frame_disconnects_counts_logs_and_sends_the_hook_reply(
    e2_log: ListHandler,
) -> None:
    calls: list[tuple[bytes, str]] = []
    handler_saw: list[object] = []

    def on_malformed(prefix: bytes, reason: str) -> bytes | None:
        calls.append((prefix, reason))
        return b"\x00\x02ERROR-INDICATION"

    async def handler(conn: E2Connection) -> None:
        handler_saw.append(await conn.recv())
        try:
            await conn.recv()
        except E2ConnectionClosed as exc:
            handler_saw.append(exc.reason)

    async def main() -> None:
        async with await tcp_server(handler, max_pdu=1000, on_malformed=on_malformed) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            body = bytes(range(100))
            writer.write(frame(b"fine") + (1001).to_bytes(4, "big") + body)
            await writer.drain()
            wire = await read_to_eof(reader)
            assert wire == frame(b"\x00\x02ERROR-INDICATION")
            writer.close()
            await asyncio.sleep(0.05)
            assert server.counters.oversize == 1
            assert server.counters.pdus_in == 1
            assert server.counters.pdus_out == 1  # the reply
        assert calls == [(body[:64], "oversize")]
        assert handler_saw == [b"fine", CloseReason.OVERSIZE]
        warnings = e2_log.at(logging.WARNING)
        assert len(warnings) == 1 and "oversize" in warnings[0] and "1001" in warnings[0]

    run(main())


def test_refusal_reply_survives_a_peer_that_keeps_sending() -> None:
    """After a refusal the server half-closes and drains: no reset destroys its reply."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with await tcp_server(max_pdu=100, on_malformed=lambda p, r: b"ERR") as server:
            sock = socket.create_connection((LOOPBACK, server.port))
            sock.setblocking(False)
            received = bytearray()

            async def collect() -> None:
                while data := await loop.sock_recv(sock, 65536):
                    received.extend(data)

            collector = asyncio.create_task(collect())
            await loop.sock_sendall(sock, (1 << 20).to_bytes(4, "big"))
            for _ in range(32):  # 2 MiB the server must swallow, not choke on
                await loop.sock_sendall(sock, b"\x55" * 65536)
            await asyncio.wait_for(collector, 5)
            sock.close()
            assert bytes(received) == frame(b"ERR")
            assert server.counters.oversize == 1

    run(main())


def test_oversize_without_hook_just_closes() -> None:
    async def main() -> None:
        async with await tcp_server(max_pdu=10) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            writer.write(b"\xff\xff\xff\xff")
            await writer.drain()
            assert await read_to_eof(reader) == b""
            writer.close()
            await asyncio.sleep(0.05)
            assert server.counters.oversize == 1

    run(main())


def test_client_side_refuses_oversize_from_the_server() -> None:
    async def main() -> None:
        async def raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(frame(b"ok") + frame(b"y" * 33))
            await writer.drain()
            await reader.read()
            writer.close()

        raw_server = await asyncio.start_server(raw, LOOPBACK, 0)
        port = raw_server.sockets[0].getsockname()[1]
        calls: list[tuple[bytes, str]] = []
        conn = await tcp_client(port, max_pdu=32, on_malformed=Hook(calls))
        assert await conn.recv() == b"ok"
        with pytest.raises(E2ConnectionClosed) as info:
            await conn.recv()
        assert info.value.reason is CloseReason.OVERSIZE
        assert "oversize" in str(info.value)
        assert conn.counters.oversize == 1 and [r for _, r in calls] == ["oversize"]
        await conn.wait_closed()
        raw_server.close()

    run(main())


def test_oversize_stream_never_buffers_its_body() -> None:
    """A peer announcing 50 MiB and pushing 8 MiB: the server refuses and holds ~nothing."""
    chunk = b"\xaa" * 65536

    async def main() -> None:
        async with await tcp_server(max_pdu=65536) as server:
            loop = asyncio.get_running_loop()
            sock = socket.create_connection((LOOPBACK, server.port))
            sock.setblocking(False)
            tracemalloc.start()
            try:
                await loop.sock_sendall(sock, (50 << 20).to_bytes(4, "big"))
                sent = 0
                with pytest.raises(OSError):  # reset or broken pipe once the server is done
                    while sent < (8 << 20):
                        await loop.sock_sendall(sock, chunk)
                        sent += len(chunk)
                    raise ConnectionResetError("server still reading after 8 MiB")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
                sock.close()
            assert server.counters.oversize == 1
            assert server.counters.bytes_in == 0
            assert peak < 2 << 20, f"peak {peak} bytes traced while refusing an oversize frame"

    run(main())


def test_zero_length_frame_is_garbage() -> None:
    calls: list[tuple[bytes, str]] = []
    reasons: list[CloseReason | None] = []

    async def handler(conn: E2Connection) -> None:
        async for _ in conn:
            pass
        reasons.append(conn.close_reason)

    async def main() -> None:
        async with await tcp_server(handler, on_malformed=Hook(calls)) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            writer.write(frame(b"one") + b"\x00\x00\x00\x00" + frame(b"two"))
            assert await read_to_eof(reader) == b""
            writer.close()
            await asyncio.sleep(0.05)
            assert server.counters.garbage == 1
            assert server.counters.pdus_in == 1
        assert calls == [(b"", "empty-frame")]
        assert reasons == [CloseReason.EMPTY_FRAME]

    run(main())


def test_stream_ending_mid_frame_is_garbage_and_the_reply_still_goes_out(
    e2_log: ListHandler,
) -> None:
    calls: list[tuple[bytes, str]] = []

    async def main() -> None:
        async with await tcp_server(on_malformed=Hook(calls, b"bye")) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            writer.write(frame(b"whole") + b"\x00\x00\x00\x64" + b"0123456789")
            writer.write_eof()  # half-close: we can still read the answer
            assert await read_to_eof(reader) == frame(b"whole") + frame(b"bye")
            writer.close()
            await asyncio.sleep(0.05)
            assert server.counters.garbage == 1
        assert calls == [(b"0123456789", "truncated")]
        assert any("truncated" in m for m in e2_log.at(logging.WARNING))

    run(main())


def test_stream_ending_inside_a_length_field_is_garbage() -> None:
    async def main() -> None:
        async with await tcp_server() as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            writer.write(b"\x00\x00")
            writer.write_eof()
            assert await read_to_eof(reader) == b""
            writer.close()
            await asyncio.sleep(0.05)
            assert server.counters.garbage == 1

    run(main())


def test_clean_eof_is_not_garbage() -> None:
    reasons: list[CloseReason | None] = []

    async def handler(conn: E2Connection) -> None:
        pdus = [pdu async for pdu in conn]
        reasons.append(conn.close_reason)
        assert pdus == [b"a", b"b"]

    async def main() -> None:
        async with await tcp_server(handler) as server:
            conn = await tcp_client(server.port)
            await conn.send(b"a")
            await conn.send(b"b")
            conn.close()
            await conn.wait_closed()
            await asyncio.sleep(0.1)
            c = server.counters
            assert (c.garbage, c.oversize, c.timeouts) == (0, 0, 0)
        assert reasons == [CloseReason.EOF]

    run(main())


def test_hook_failure_is_logged_and_the_connection_still_closes(e2_log: ListHandler) -> None:
    def broken(prefix: bytes, reason: str) -> bytes | None:
        raise ValueError("hook bug")

    async def main() -> None:
        async with await tcp_server(max_pdu=4, on_malformed=broken) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            writer.write(frame(b"12345"))
            assert await read_to_eof(reader) == b""
            writer.close()
        assert any("on_malformed" in m for m in e2_log.at(logging.ERROR))

    run(main())


# --- timeouts ---------------------------------------------------------------------------------


def test_partial_frame_times_out() -> None:
    calls: list[tuple[bytes, str]] = []

    async def main() -> None:
        async with await tcp_server(frame_timeout=0.3, on_malformed=Hook(calls, b"late")) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            start = time.monotonic()
            writer.write(b"\x00\x00\x00\x10AB")
            wire = await read_to_eof(reader)
            elapsed = time.monotonic() - start
            writer.close()
            assert wire == frame(b"late")
            assert 0.25 <= elapsed < 3.0
            await asyncio.sleep(0.05)
            assert server.counters.timeouts == 1
        assert calls == [(b"AB", "timeout")]

    run(main())


def test_trickling_peer_cannot_hold_a_frame_open() -> None:
    """One byte every 50 ms keeps the connection busy but never completes the frame."""

    async def main() -> None:
        async with await tcp_server(frame_timeout=0.4) as server:
            reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            start = time.monotonic()
            writer.write(b"\x00\x00\x10\x00")
            eof = asyncio.ensure_future(reader.read())
            while not eof.done() and time.monotonic() - start < 5:
                try:
                    writer.write(b"x")
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.sleep(0.05)
            await asyncio.wait_for(eof, 5)
            elapsed = time.monotonic() - start
            writer.close()
            assert 0.35 <= elapsed < 3.0
            assert server.counters.timeouts == 1

    run(main())


def test_idle_connection_between_frames_does_not_time_out() -> None:
    async def main() -> None:
        async with await tcp_server(frame_timeout=0.2) as server:
            conn = await tcp_client(server.port, frame_timeout=0.2)
            await conn.send(b"ping")
            assert await conn.recv() == b"ping"
            await asyncio.sleep(0.5)
            await conn.send(b"again")
            assert await conn.recv() == b"again"
            assert server.counters.timeouts == 0
            conn.close()

    run(main())


def test_our_own_read_pause_does_not_count_against_the_peer() -> None:
    """Reading paused by back-pressure while a frame is half in: no timeout for the peer."""
    got: list[bytes] = []

    async def slow_handler(conn: E2Connection) -> None:
        await asyncio.sleep(0.9)  # > frame_timeout: nothing is read meanwhile
        async for pdu in conn:
            got.append(pdu)

    async def main() -> None:
        async with await tcp_server(slow_handler, frame_timeout=0.3, read_limit=1000) as server:
            _reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
            pdus = [bytes([i]) * 500 for i in range(11)]
            stream = b"".join(frame(p) for p in pdus)
            writer.write(stream[:250])  # half a frame: its clock starts
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(stream[250:-250])  # ... ten frames and half of the eleventh
            await writer.drain()
            await asyncio.sleep(0.6)
            writer.write(stream[-250:])
            await writer.drain()
            await asyncio.sleep(0.6)
            writer.close()
            await asyncio.sleep(0.1)
            assert server.counters.timeouts == 0
            assert got == pdus

    run(main())


# --- back-pressure ----------------------------------------------------------------------------


def test_send_waits_for_a_slow_reader_and_buffers_stay_bounded() -> None:
    async def main() -> None:
        go = asyncio.Event()
        got: list[int] = []

        async def lazy(conn: E2Connection) -> None:
            await go.wait()
            async for pdu in conn:
                got.append(len(pdu))

        write_limit = 64 * 1024
        read_limit = 128 * 1024
        pdu = b"p" * 16384
        async with await tcp_server(lazy, read_limit=read_limit) as server:
            conn = await tcp_client(server.port, write_limit=write_limit)
            sent = 0
            blocked = False
            while sent < 20_000:  # 320 MiB: far beyond every socket buffer
                try:
                    await asyncio.wait_for(conn.send(pdu), 0.3)
                except TimeoutError:
                    blocked = True
                    break
                sent += 1
                # write_limit, plus at most one batch of gathered frames
                assert conn.write_buffer_size <= write_limit + COALESCE_LIMIT + len(pdu) + 4
            assert blocked, "send() never waited for the peer"
            server_conn = server.connections[0]
            # The server stopped reading: it holds at most read_limit plus one socket read.
            assert server_conn.counters.bytes_in <= read_limit + 256 * 1024 + len(pdu)
            go.set()
            await conn.send(pdu)  # flows again once the peer reads
            conn.close()
            await conn.wait_closed()
            await asyncio.sleep(0.1)
        assert len(got) >= sent

    run(main(), timeout=30)


# --- closing ----------------------------------------------------------------------------------


def test_server_close_closes_every_client_quickly() -> None:
    async def main() -> None:
        server = await tcp_server()
        clients = [await tcp_client(server.port) for _ in range(25)]
        for c in clients:
            await c.send(b"hello")
            assert await c.recv() == b"hello"
        start = time.monotonic()
        server.close()
        results = await asyncio.gather(*(c.recv() for c in clients), return_exceptions=True)
        await server.wait_closed()
        elapsed = time.monotonic() - start
        assert all(isinstance(r, E2ConnectionClosed) for r in results), results
        assert all(
            r.reason is CloseReason.EOF for r in results if isinstance(r, E2ConnectionClosed)
        )
        assert elapsed < 0.5, elapsed
        assert not server.connections and not server.is_serving
        with pytest.raises(E2TransportError, match="cannot connect"):
            await tcp_client(server.port, connect_timeout=2)

    run(main())


def test_server_close_cancels_stuck_handlers_and_aborts_stuck_peers() -> None:
    async def stuck(conn: E2Connection) -> None:
        try:
            while True:  # fills the buffers of a peer that never reads
                await conn.send(b"z" * 65536)
        except E2ConnectionClosed:
            await asyncio.sleep(3600)  # and then refuses to finish

    async def main() -> None:
        server = await tcp_server(stuck, close_timeout=0.3)
        sock = socket.create_connection((LOOPBACK, server.port))
        await asyncio.sleep(0.3)
        start = time.monotonic()
        server.close()
        await server.wait_closed()
        assert time.monotonic() - start < 1.0
        sock.close()

    run(main())


def test_close_is_idempotent_and_recv_send_raise_after_it() -> None:
    async def main() -> None:
        async with await tcp_server() as server:
            conn = await tcp_client(server.port)
            assert not conn.closed and conn.close_reason is None
            conn.close()
            conn.close()
            assert conn.closed and conn.close_reason is CloseReason.CLOSED
            with pytest.raises(E2ConnectionClosed) as info:
                await conn.send(b"x")
            assert isinstance(info.value, XTrustError)
            with pytest.raises(E2ConnectionClosed):
                await conn.recv()
            await conn.wait_closed()
            assert [p async for p in conn] == []
            conn.abort()

    run(main())


def test_connection_context_manager_and_recv_in_two_tasks() -> None:
    async def main() -> None:
        async with await tcp_server() as server:
            async with await tcp_client(server.port) as conn:
                first = asyncio.create_task(conn.recv())
                await asyncio.sleep(0.01)
                with pytest.raises(RuntimeError, match="already"):
                    await conn.recv()
                await conn.send(b"q")
                assert await first == b"q"
            assert conn.closed

    run(main())


def test_handler_errors_are_logged_and_close_the_connection(e2_log: ListHandler) -> None:
    async def bad(conn: E2Connection) -> None:
        await conn.recv()
        raise ValueError("handler bug")

    async def main() -> None:
        async with await tcp_server(bad) as server:
            conn = await tcp_client(server.port)
            await conn.send(b"boom")
            with pytest.raises(E2ConnectionClosed) as info:
                await conn.recv()
            assert info.value.reason is CloseReason.EOF
        errors = [r for r in e2_log.records if r.levelno == logging.ERROR]
        assert errors and errors[0].exc_info is not None

    run(main())


def test_server_counters_keep_finished_connections() -> None:
    async def main() -> None:
        async with await tcp_server() as server:
            for _ in range(3):
                async with await tcp_client(server.port) as conn:
                    await conn.send(b"abc")
                    await conn.recv()
            await asyncio.sleep(0.1)
            assert server.counters.pdus_in == 3 and server.counters.bytes_out == 9
            assert server.accepted == 3

    run(main())


# --- errors a person can act on ----------------------------------------------------------------


def test_connect_refused_is_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]

    async def main() -> None:
        with pytest.raises(E2TransportError) as info:
            await tcp_client(port)
        text = str(info.value)
        assert "\n" not in text
        assert f"{LOOPBACK}:{port}" in text and "tcp" in text

    run(main())


def test_listen_on_a_busy_port_is_one_clear_line() -> None:
    async def main() -> None:
        async with await tcp_server() as first:
            with pytest.raises(E2TransportError, match=f"cannot listen .*:{first.port}"):
                await e2.serve(echo, LOOPBACK, first.port, transport="tcp")

    run(main())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_pdu": 0},
        {"max_pdu": 2**32},
        {"frame_timeout": 0},
        {"write_limit": 0},
        {"read_limit": -5},
        {"close_timeout": 0},
        {"ppid": -1},
        {"on_malformed": "not callable"},
        {"transport": "udp"},
    ],
)
def test_bad_settings_raise_input_error(kwargs: dict[str, object]) -> None:
    async def main() -> None:
        with pytest.raises(InputError):
            await e2.serve(echo, LOOPBACK, 0, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(InputError):
            await e2.connect(LOOPBACK, 1, **kwargs)  # type: ignore[arg-type]

    run(main())
