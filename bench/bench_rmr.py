"""Benchmark the pure-Python RMR endpoint against plain asyncio TCP framing.

Measures, between two OS processes on loopback, in the same run:

* one-way throughput of 100-byte payloads: ``xtrust.ric.rmr`` (Endpoint.send
  -> ``async for`` over Endpoint.receive) against the reference, a plain
  asyncio sender/receiver with a 4-byte big-endian length prefix;
* round-trip latency at a paced rate (default 1,000 msgs/s): RMR send ->
  peer rts -> receive, and RMR call, against a plain asyncio echo.

Two references are run: ``streams`` (one StreamWriter.write per frame,
StreamReader.readexactly per frame: the usual plain asyncio code) and
``batched`` (frames written 64 KiB at a time, as the RMR endpoint does, and
an asyncio.Protocol splitting them in data_received: the fastest plain asyncio
pair we know, the real ceiling). Ratios are against both.

    .venv/bin/python bench/bench_rmr.py                 # table + JSON on stdout
    .venv/bin/python bench/bench_rmr.py --count 100000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import struct
import subprocess
import sys
import time
from typing import Any

PAYLOAD = 100
_LEN = struct.Struct(">I")


# ------------------------------------------------------------------------------------------------
# child roles (each runs in its own process)
# ------------------------------------------------------------------------------------------------
def _ready(port: int) -> None:
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()


def _result(doc: dict[str, Any]) -> None:
    sys.stdout.write("RESULT " + json.dumps(doc) + "\n")
    sys.stdout.flush()


async def role_streams_recv(count: int) -> None:
    done = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        t0 = 0.0
        for i in range(count):
            head = await reader.readexactly(4)
            await reader.readexactly(_LEN.unpack(head)[0])
            if i == 0:
                t0 = time.perf_counter()
        done.set_result(time.perf_counter() - t0)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    _ready(server.sockets[0].getsockname()[1])
    elapsed = await done
    _result({"count": count - 1, "elapsed": elapsed})
    server.close()


class _CountProto(asyncio.Protocol):
    def __init__(self, count: int, done: asyncio.Future[float]):
        self.count = count
        self.done = done
        self.seen = 0
        self.buf = b""
        self.t0 = 0.0
        self.first = 0

    def data_received(self, data: bytes) -> None:
        if self.buf:
            data = self.buf + data  # the leftover is less than one frame
        pos = 0
        end = len(data)
        n = 0
        while end - pos >= 4:
            size = _LEN.unpack_from(data, pos)[0]
            if end - pos - 4 < size:
                break
            _frame = data[pos + 4 : pos + 4 + size]
            pos += 4 + size
            n += 1
        self.buf = data[pos:]
        if n:
            if self.seen == 0:
                self.t0 = time.perf_counter()
                self.first = n
            self.seen += n
            if self.seen >= self.count and not self.done.done():
                self.done.set_result(time.perf_counter() - self.t0)


async def role_protocol_recv(count: int) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    protos: list[_CountProto] = []

    def make() -> _CountProto:
        protos.append(_CountProto(count, done))
        return protos[-1]

    server = await loop.create_server(make, "127.0.0.1", 0)
    _ready(server.sockets[0].getsockname()[1])
    elapsed = await done
    _result({"count": count - protos[0].first, "elapsed": elapsed})
    server.close()


async def role_ref_send(port: int, count: int, batch: bool) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = bytes(range(PAYLOAD))
    transport = writer.transport
    t0 = time.perf_counter()
    if batch:  # frames go out 64 KiB at a time, as the RMR endpoint batches them
        out: list[bytes] = []
        size = 0
        for _ in range(count):
            frame = _LEN.pack(len(payload)) + payload
            out.append(frame)
            size += len(frame)
            if size >= 65536:
                writer.write(b"".join(out))
                out.clear()
                size = 0
                if transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
        writer.write(b"".join(out))
    else:  # one write per frame, the usual StreamWriter code
        for i in range(count):
            writer.write(_LEN.pack(len(payload)) + payload)
            if i % 256 == 0 and transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()
    await writer.drain()
    _result({"count": count, "elapsed": time.perf_counter() - t0})
    writer.close()
    await writer.wait_closed()


async def role_rmr_recv(count: int) -> None:
    from xtrust.ric.rmr import Endpoint

    async with Endpoint(0, host="127.0.0.1", use_env=False, queue_size=65536) as ep:
        assert ep.port is not None
        _ready(ep.port)
        seen = 0
        t0 = 0.0
        async for _msg in ep.receive():
            if seen == 0:
                t0 = time.perf_counter()
            seen += 1
            if seen >= count:
                break
        _result({"count": count - 1, "elapsed": time.perf_counter() - t0, "counters": ep.counters})


async def role_rmr_send(port: int, count: int) -> None:
    from xtrust.ric.rmr import Endpoint, Message

    async with Endpoint(None, use_env=False) as ep:
        target = f"127.0.0.1:{port}"
        msg = Message(12050, bytes(range(PAYLOAD)), 7, "gnb_001", b"")
        await ep.connect(target)
        t0 = time.perf_counter()
        send = ep.send
        for _ in range(count):
            await send(msg, to=target)
        elapsed = time.perf_counter() - t0
        _result({"count": count, "elapsed": elapsed})


async def role_ref_echo() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(4)
                body = await reader.readexactly(_LEN.unpack(head)[0])
                writer.write(head + body)
        except asyncio.IncompleteReadError:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    _ready(server.sockets[0].getsockname()[1])
    await asyncio.sleep(3600)


async def role_rmr_echo() -> None:
    from xtrust.ric.rmr import Endpoint

    async with Endpoint(0, host="127.0.0.1", use_env=False) as ep:
        assert ep.port is not None
        _ready(ep.port)
        async for msg in ep.receive():
            await ep.rts(msg)


# ------------------------------------------------------------------------------------------------
# latency clients (run in the parent)
# ------------------------------------------------------------------------------------------------
async def _paced(n: int, rate: float, once: Any) -> list[float]:
    loop = asyncio.get_running_loop()
    rtts: list[float] = []
    start = loop.time() + 0.05
    for i in range(n):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        rtts.append(await once())
    return rtts


async def latency_ref(port: int, n: int, rate: float) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frame = _LEN.pack(PAYLOAD) + bytes(range(PAYLOAD))

    async def once() -> float:
        t = time.perf_counter_ns()
        writer.write(frame)
        head = await reader.readexactly(4)
        await reader.readexactly(_LEN.unpack(head)[0])
        return (time.perf_counter_ns() - t) / 1000

    try:
        return await _paced(n, rate, once)
    finally:
        writer.close()


async def latency_rmr(port: int, n: int, rate: float, use_call: bool) -> list[float]:
    from xtrust.ric.rmr import Endpoint, Message

    async with Endpoint(None, use_env=False) as ep:
        target = f"127.0.0.1:{port}"
        msg = Message(12050, bytes(range(PAYLOAD)), 7, "gnb_001", b"")
        await ep.connect(target)

        async def once() -> float:
            t = time.perf_counter_ns()
            if use_call:
                await ep.call(msg, to=target, timeout=1.0)
            else:
                await ep.send(msg, to=target)
                await ep.recv(1.0)
            return (time.perf_counter_ns() - t) / 1000

        return await _paced(n, rate, once)


# ------------------------------------------------------------------------------------------------
# orchestration
# ------------------------------------------------------------------------------------------------
class Child:
    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = 0

    def wait_ready(self) -> int:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"child did not start: {line!r}")
        self.port = int(line.split()[1])
        return self.port

    def result(self, timeout: float = 120) -> dict[str, Any]:
        assert self.proc.stdout is not None
        out, _ = self.proc.communicate(timeout=timeout)
        for line in out.splitlines():
            if line.startswith("RESULT "):
                doc: dict[str, Any] = json.loads(line[7:])
                return doc
        raise RuntimeError(f"child gave no result (exit {self.proc.returncode})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


def throughput(recv_role: str, send_role: str, count: int) -> dict[str, Any]:
    rx = Child("--role", recv_role, "--count", str(count))
    tx: Child | None = None
    try:
        port = rx.wait_ready()
        tx = Child("--role", send_role, "--count", str(count), "--port", str(port))
        sent = tx.result()
        got = rx.result()
    finally:
        rx.stop()
        if tx is not None:
            tx.stop()
    return {
        "msgs_per_s": got["count"] / got["elapsed"],
        "sender_msgs_per_s": sent["count"] / sent["elapsed"],
        "count": count,
    }


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def latency(echo_role: str, client: str, n: int, rate: float) -> dict[str, Any]:
    echo = Child("--role", echo_role)
    try:
        port = echo.wait_ready()
        if client == "ref":
            rtts = asyncio.run(latency_ref(port, n, rate))
        else:
            rtts = asyncio.run(latency_rmr(port, n, rate, use_call=client == "call"))
    finally:
        echo.stop()
    rtts = rtts[min(100, n // 10) :]  # drop warm-up
    return {
        "p50_us": percentile(rtts, 50),
        "p99_us": percentile(rtts, 99),
        "max_us": max(rtts),
        "n": len(rtts),
        "rate": rate,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=200_000, help="messages per throughput run")
    ap.add_argument("--latency-count", type=int, default=3000, help="round trips per latency run")
    ap.add_argument("--rate", type=float, default=1000.0, help="paced rate for latency (msgs/s)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs (best is kept)")
    ap.add_argument("--json", dest="json_out", help="also write the JSON result to this file")
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.role:
        roles = {
            "streams-recv": lambda: role_streams_recv(args.count),
            "protocol-recv": lambda: role_protocol_recv(args.count),
            "ref-send": lambda: role_ref_send(args.port, args.count, batch=False),
            "ref-send-batched": lambda: role_ref_send(args.port, args.count, batch=True),
            "rmr-recv": lambda: role_rmr_recv(args.count),
            "rmr-send": lambda: role_rmr_send(args.port, args.count),
            "ref-echo": role_ref_echo,
            "rmr-echo": role_rmr_echo,
        }
        asyncio.run(roles[args.role]())
        return 0

    def best(recv_role: str, send_role: str) -> dict[str, Any]:
        runs = [throughput(recv_role, send_role, args.count) for _ in range(args.repeat)]
        return max(runs, key=lambda r: r["msgs_per_s"])

    res: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "payload_bytes": PAYLOAD,
        "throughput": {
            "ref_streams": best("streams-recv", "ref-send"),
            "ref_batched": best("protocol-recv", "ref-send-batched"),
            "rmr": best("rmr-recv", "rmr-send"),
        },
        "latency": {
            "ref_echo": latency("ref-echo", "ref", args.latency_count, args.rate),
            "rmr_rts": latency("rmr-echo", "rts", args.latency_count, args.rate),
            "rmr_call": latency("rmr-echo", "call", args.latency_count, args.rate),
        },
    }
    tp = res["throughput"]
    rmr_rate = tp["rmr"]["msgs_per_s"]
    res["ratio_vs_streams"] = rmr_rate / tp["ref_streams"]["msgs_per_s"]
    res["ratio_vs_batched"] = rmr_rate / tp["ref_batched"]["msgs_per_s"]
    lat = res["latency"]
    res["goals"] = {
        "ratio>=0.5 (vs streams)": res["ratio_vs_streams"] >= 0.5,
        "ratio>=0.5 (vs batched)": res["ratio_vs_batched"] >= 0.5,
        ">=30000 msgs/s": rmr_rate >= 30_000,
        "p99 rts < 1 ms": lat["rmr_rts"]["p99_us"] < 1000,
    }

    print(
        f"RMR benchmark: {PAYLOAD}-byte payloads, loopback, two processes, "
        f"Python {res['python']}, {res['cpus']} CPUs"
    )
    print()
    print(f"{'throughput (one way)':<28}{'msgs/s':>12}{'sender msgs/s':>16}")
    for key, label in (
        ("ref_streams", "plain asyncio, streams"),
        ("ref_batched", "plain asyncio, batched"),
        ("rmr", "xtrust rmr"),
    ):
        r = tp[key]
        print(f"{label:<28}{r['msgs_per_s']:>12,.0f}{r['sender_msgs_per_s']:>16,.0f}")
    print(f"{'ratio rmr / streams':<28}{res['ratio_vs_streams']:>12.2f}")
    print(f"{'ratio rmr / batched':<28}{res['ratio_vs_batched']:>12.2f}")
    print()
    print(
        f"{'round trip @ ' + format(args.rate, 'g') + ' msgs/s':<28}"
        f"{'p50 us':>10}{'p99 us':>10}{'max us':>10}"
    )
    for key, label in (
        ("ref_echo", "plain asyncio echo"),
        ("rmr_rts", "xtrust rmr send+rts"),
        ("rmr_call", "xtrust rmr call"),
    ):
        r = lat[key]
        print(f"{label:<28}{r['p50_us']:>10.0f}{r['p99_us']:>10.0f}{r['max_us']:>10.0f}")
    print()
    for goal, ok in res["goals"].items():
        print(f"goal {goal:<28} {'met' if ok else 'NOT met'}")
    print()
    print(json.dumps(res, indent=2))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
