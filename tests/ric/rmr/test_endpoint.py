"""The asyncio endpoint over real TCP on 127.0.0.1 (ports picked by binding port 0)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

import pytest

from tests.ric.rmr.helpers import run, until
from xtrust.errors import ConfigError, InputError
from xtrust.ric.rmr import (
    CallTimeout,
    ClosedError,
    Endpoint,
    Message,
    SendError,
    encode_frame,
    parse_route_table,
)


def ep(**kw: object) -> Endpoint:
    kw.setdefault("use_env", False)
    return Endpoint(0, host="127.0.0.1", **kw)  # type: ignore[arg-type]


def addr(e: Endpoint) -> str:
    return f"127.0.0.1:{e.port}"


async def drain(e: Endpoint, n: int, timeout: float = 3.0) -> list[Message]:
    return [await e.recv(timeout) for _ in range(n)]


def refused_port() -> tuple[socket.socket, int]:
    """A port that refuses connections (bound, not listening) for as long as the socket lives."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def test_send_receive_and_rts_on_same_connection() -> None:
    async def main() -> None:
        async with ep() as a, ep() as b:
            n = await a.send(Message(5, b"hello", sub_id=3, meid="gnb1", xid=b"t1"), to=addr(b))
            assert n == 1
            got = await b.recv(2)
            assert (got.mtype, got.payload, got.sub_id, got.meid, got.xid) == (
                5,
                b"hello",
                3,
                "gnb1",
                b"t1",
            )
            assert got.src == a.name and got.srcip == a.srcip and got.timestamp > 0
            await b.rts(got, payload=b"back", mtype=6)
            reply = await a.recv(2)
            assert (reply.mtype, reply.payload, reply.xid, reply.src) == (6, b"back", b"t1", b.name)
            # the reply came back on a's outbound connection: b opened none
            assert b.counters["sent"] == 1 and not b._links
            assert a.counters["sent"] == 1 and a.counters["received"] == 1

    run(main())


def test_round_robin_and_fanout_by_route_table() -> None:
    async def main() -> None:
        async with ep() as r1, ep() as r2, ep() as log:
            table = parse_route_table(
                f"newrt|start|t\nmse|10|-1|{addr(r1)},{addr(r2)};{addr(log)}\nnewrt|end|1\n"
            )
            async with ep(routes=table) as s:
                for i in range(6):
                    assert await s.send(Message(10, bytes([i]))) == 2
                one = await drain(r1, 3)
                two = await drain(r2, 3)
                logged = await drain(log, 6)
            assert [m.payload[0] for m in one] == [0, 2, 4]
            assert [m.payload[0] for m in two] == [1, 3, 5]
            assert [m.payload[0] for m in logged] == list(range(6))
            assert s.counters["sent"] == 12

    run(main())


def test_sub_id_routing_and_no_route() -> None:
    async def main() -> None:
        async with ep() as a, ep() as b:
            table = parse_route_table(
                f"newrt|start\nmse|7|3|{addr(a)}\nmse|7|-1|{addr(b)}\nnewrt|end\n"
            )
            async with ep(routes=table) as s:
                await s.send(Message(7, b"x", sub_id=3))
                await s.send(Message(7, b"y", sub_id=4))
                assert (await a.recv(2)).payload == b"x"
                assert (await b.recv(2)).payload == b"y"
                with pytest.raises(SendError, match="no route for mtype 8"):
                    await s.send(Message(8))
                assert s.counters["errors"]["no_route"] == 1
            async with ep() as none:
                with pytest.raises(SendError, match="no route table loaded"):
                    await none.send(Message(1))

    run(main())


def test_meid_routing() -> None:
    async def main() -> None:
        async with ep() as e2a, ep() as e2b:
            table = parse_route_table(
                "newrt|start\nmse|12040|-1|%meid\nnewrt|end\n"
                f"meid_map|start\nmme_ar|{addr(e2a)}|gnb1 gnb3\nmme_ar|{addr(e2b)}|gnb2\n"
                "meid_map|end|2\n"
            )
            async with ep(routes=table) as xapp:
                for meid in ("gnb1", "gnb2", "gnb3"):
                    await xapp.send(Message(12040, meid.encode(), meid=meid))
                assert [m.meid for m in await drain(e2a, 2)] == ["gnb1", "gnb3"]
                assert [m.meid for m in await drain(e2b, 1)] == ["gnb2"]
                with pytest.raises(SendError, match="no owner for meid 'gnb9'"):
                    await xapp.send(Message(12040, meid="gnb9"))

    run(main())


def test_seed_route_table_from_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with ep() as r:
            seed = tmp_path / "seed.rt"
            seed.write_text(f"newrt|start|seed-1\nrte|42|{addr(r)}\nnewrt|end|1\n")
            monkeypatch.setenv("RMR_SEED_RT", str(seed))
            async with Endpoint(0, host="127.0.0.1") as s:
                assert s.ready and s.routes is not None and s.routes.table_id == "seed-1"
                await s.send(Message(42, b"seeded"))
                assert (await r.recv(2)).payload == b"seeded"
            seed.write_text("newrt|start\nmse|bad|-1|a:1\nnewrt|end\n")
            with pytest.raises(ConfigError, match=r"seed\.rt:2: message type 'bad'"):
                await Endpoint(0, host="127.0.0.1").start()

    run(main())


def test_call_reply_matching_and_timeout() -> None:
    async def main() -> None:
        async with ep() as a, ep() as b:

            async def answer() -> None:
                held = []
                async for m in b.receive():
                    if m.payload == b"hold":
                        held.append(m)  # answered late, after the caller gave up
                        continue
                    await b.rts(m, payload=m.payload.upper())
                    for h in held:
                        await b.rts(h, payload=b"late")
                    held.clear()

            task = asyncio.create_task(answer())
            replies = await asyncio.gather(
                *(a.call(Message(9, f"q{i}".encode()), to=addr(b), timeout=2) for i in range(20))
            )
            assert [r.payload for r in replies] == [f"Q{i}".encode() for i in range(20)]
            assert all(r.src == b.name for r in replies)
            assert a.counters["queued"] == 0  # replies go to their caller, not the queue
            t0 = time.perf_counter()
            with pytest.raises(CallTimeout, match="within 100 ms"):
                await a.call(Message(9, b"hold"), to=addr(b), timeout=0.1)
            assert time.perf_counter() - t0 < 0.5
            assert a.counters["errors"]["call_timeout"] == 1
            # the late answer is dropped and counted, it does not reach the queue
            reply = await a.call(Message(9, b"next", xid=b"my-xid"), to=addr(b), timeout=2)
            assert reply.payload == b"NEXT" and reply.xid == b"my-xid"
            await until(lambda: a.counters["errors"].get("unmatched_reply") == 1, what="late reply")
            assert a.counters["queued"] == 0
            task.cancel()

    run(main())


def test_health_check() -> None:
    async def main() -> None:
        async with ep() as a, ep() as b, ep(health=False) as quiet:
            reply = await a.call(Message(100), to=addr(b), timeout=2)
            assert (reply.mtype, reply.payload) == (101, b"OK\n")
            assert b.counters["queued"] == 0  # answered by the endpoint itself
            await a.send(Message(100), to=addr(quiet))
            assert (await quiet.recv(2)).mtype == 100

    run(main())


def test_bounded_queue_drops_and_counts() -> None:
    async def main() -> None:
        async with ep() as a, ep(queue_size=3) as b:
            for i in range(10):
                await a.send(Message(1, bytes([i])), to=addr(b))
            await until(lambda: b.counters["received"] == 10, what="10 frames")
            c = b.counters
            assert (c["dropped"], c["queued"]) == (7, 3)
            assert [m.payload[0] for m in await drain(b, 3)] == [0, 1, 2]

    run(main())


def test_oversize_frame_closes_connection_and_is_counted() -> None:
    async def main() -> None:
        async with ep(max_size=1000) as small, ep() as a:
            await a.send(Message(1, b"small"), to=addr(small))
            assert (await small.recv(2)).payload == b"small"
            await a.send(Message(1, bytes(50_000)), to=addr(small))
            await until(lambda: small.counters["errors"].get("oversize") == 1, what="oversize")
            await until(lambda: not small._inbound, what="connection closed")
            # the sender reconnects on its next message
            await until(lambda: a._links[addr(small)].conn is None, what="sender saw the close")
            await a.send(Message(1, b"again"), to=addr(small))
            assert (await small.recv(2)).payload == b"again"
            assert small.counters["queued"] == 0

    run(main())


def test_garbage_from_a_raw_socket() -> None:
    async def main() -> None:
        async with ep() as e:
            loop = asyncio.get_running_loop()
            assert e.port is not None
            # 1) a frame whose header is nonsense: skipped, connection kept
            reader, writer = await asyncio.open_connection("127.0.0.1", e.port)
            bad = bytearray(encode_frame(Message(1, b"x")))
            bad[50 + 8 : 50 + 12] = (99).to_bytes(4, "big")  # version 99
            writer.write(bytes(bad) + encode_frame(Message(2, b"good")))
            assert (await e.recv(2)).payload == b"good"
            assert e.counters["errors"]["decode"] == 1
            # 2) a length smaller than any frame: connection closed
            writer.write(b"\x05\0\0\0\0\0\0\x05$" + bytes(41))
            assert await asyncio.wait_for(reader.read(), 2) == b""
            assert e.counters["errors"]["bad_length"] == 1
            writer.close()
            # 3) random bytes: closed, nothing delivered, no traceback
            sock = socket.create_connection(("127.0.0.1", e.port))
            sock.sendall(bytes(range(256)) * 4)
            sock.settimeout(2)
            await loop.run_in_executor(None, sock.recv, 1)
            sock.close()
            assert e.counters["queued"] == 0

    run(main())


def test_connect_backoff_is_exponential_not_busy() -> None:
    async def main() -> None:
        holder, port = refused_port()
        target = f"127.0.0.1:{port}"
        async with ep(backoff_initial=0.1, backoff_max=0.4) as a:
            with pytest.raises(SendError, match="Connection refused"):
                await a.send(Message(1), to=target)
            for _ in range(50):  # inside the backoff window: no new attempt
                with pytest.raises(SendError, match=r"1 attempts; next in"):
                    await a.send(Message(1), to=target)
            assert a.counters["errors"]["connect"] == 1
            # waiting 0.35 s covers the next two attempts (after 0.1 s, then 0.2 s more);
            # the one after that (0.4 s later) is past the deadline, so it is not waited for
            with pytest.raises(SendError):
                await a.send(Message(1), to=target, wait=0.35)
            assert a.counters["errors"]["connect"] == 3
            assert a._links[target].next_try - asyncio.get_running_loop().time() > 0.3
        holder.close()

    run(main())


def test_concurrent_sends_share_one_connection_attempt() -> None:
    async def main() -> None:
        holder, port = refused_port()
        async with ep() as a, ep() as b:
            refused = await asyncio.gather(
                *(a.send(Message(1), to=f"127.0.0.1:{port}") for _ in range(20)),
                return_exceptions=True,
            )
            assert all(isinstance(r, SendError) for r in refused)
            assert a.counters["errors"]["connect"] == 1
            sent = await asyncio.gather(
                *(a.send(Message(2, bytes([i])), to=addr(b)) for i in range(20))
            )
            assert sent == [1] * 20
            assert sorted(m.payload[0] for m in await drain(b, 20)) == list(range(20))
            assert len(b._inbound) == 1
        holder.close()

    run(main())


def test_send_waits_for_a_peer_that_comes_up() -> None:
    async def main() -> None:
        holder, port = refused_port()
        async with ep(backoff_initial=0.02) as a:
            task = asyncio.create_task(a.send(Message(3, b"early"), to=f"127.0.0.1:{port}", wait=3))
            await until(lambda: a.counters["errors"].get("connect", 0) >= 1, what="a failure")
            holder.close()
            async with Endpoint(port, host="127.0.0.1", use_env=False) as late:
                assert await task == 1
                assert (await late.recv(2)).payload == b"early"

    run(main())


def test_reconnect_after_peer_restart() -> None:
    async def main() -> None:
        async with ep() as a:
            b = await ep().start()
            port = b.port
            await a.send(Message(1, b"one"), to=addr(b))
            assert (await b.recv(2)).payload == b"one"
            await b.close()
            target = f"127.0.0.1:{port}"
            await until(lambda: a._links[target].conn is None, what="close noticed")
            async with Endpoint(port, host="127.0.0.1", use_env=False) as b2:
                await a.send(Message(1, b"two"), to=target)
                assert (await b2.recv(2)).payload == b"two"

    run(main())


def test_rts_falls_back_to_srcip_when_connection_is_gone() -> None:
    async def main() -> None:
        async with ep() as a, ep() as b:
            orphan = Message(4, b"orphan", srcip=addr(b))  # e.g. a message kept after close
            await a.rts(orphan)
            assert (await b.recv(2)).payload == b"orphan"
            with pytest.raises(SendError, match="no source address"):
                await a.rts(Message(4))

    run(main())


def test_inbound_connection_limit() -> None:
    async def main() -> None:
        async with ep(max_connections=1) as e:
            assert e.port is not None
            _r1, w1 = await asyncio.open_connection("127.0.0.1", e.port)
            await until(lambda: len(e._inbound) == 1, what="first connection")
            r2, w2 = await asyncio.open_connection("127.0.0.1", e.port)
            assert await asyncio.wait_for(r2.read(), 2) == b""
            assert e.counters["errors"]["connections"] == 1
            w1.close()
            w2.close()

    run(main())


def test_close_is_fast_and_releases_waiters() -> None:
    async def main() -> None:
        a = await ep().start()
        b = await ep().start()
        await a.send(Message(1, b"x"), to=addr(b))
        await b.recv(2)
        received: list[Message] = []

        async def consume() -> None:
            async for m in b:  # the endpoint itself iterates too
                received.append(m)

        consumer = asyncio.create_task(consume())
        caller = asyncio.create_task(a.call(Message(2), to=addr(b), timeout=30))
        await until(lambda: bool(a._calls), what="call in flight")
        t0 = time.perf_counter()
        await a.close()
        await b.close()
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.3
        with pytest.raises(ClosedError):
            await caller
        await asyncio.wait_for(consumer, 1)  # the iterator ended
        with pytest.raises(SendError, match="closed"):
            await a.send(Message(1), to=addr(b))
        with pytest.raises(ClosedError):
            await b.recv(0.1)

    run(main())


def test_listen_errors() -> None:
    async def main() -> None:
        async with ep() as a:
            with pytest.raises(InputError, match=r"cannot listen on 127\.0\.0\.1"):
                await Endpoint(a.port, host="127.0.0.1", use_env=False).start()
        with pytest.raises(InputError, match="out of range"):
            Endpoint(70000)

    run(main())


def test_many_messages_arrive_in_order() -> None:
    async def main() -> None:
        async with ep() as a, ep(queue_size=100_000) as b:
            n = 20_000
            for i in range(n):
                await a.send(Message(i % 7, i.to_bytes(4, "big")), to=addr(b))
            got = await drain(b, n, timeout=5)
            assert [int.from_bytes(m.payload, "big") for m in got] == list(range(n))
            assert Counter(m.mtype for m in got)[0] == len(range(0, n, 7))

    run(main())


def test_recv_after_timeouts_and_beside_a_timed_out_receiver() -> None:
    """A recv that times out must leave the endpoint able to receive (regression:
    the cancelled shared waiter made every later recv raise CancelledError)."""

    async def main() -> None:
        from xtrust.ric.rmr import Endpoint, Message

        async with (
            Endpoint(0, host="127.0.0.1", use_env=False) as rx,
            Endpoint(None, use_env=False) as tx,
        ):
            for _ in range(5):
                with pytest.raises(TimeoutError):
                    await rx.recv(timeout=0.01)
            patient = asyncio.create_task(rx.recv(timeout=5))
            with pytest.raises(TimeoutError):
                await rx.recv(timeout=0.02)  # times out beside the patient receiver
            await tx.send(Message(7, b"x"), to=f"127.0.0.1:{rx.port}", wait=1)
            assert (await patient).payload == b"x"

    asyncio.run(main())
