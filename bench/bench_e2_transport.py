"""E2 transport over TCP: PDUs per second between two processes, against raw sockets.

Run:  .venv/bin/python bench/bench_e2_transport.py [--pdus 200000] [--size 440] [--repeat 3]

Two measurements, each with the server in a child process on 127.0.0.1:

* stream    - the client sends N PDUs of ``--size`` bytes back to back, then an
              end marker; the server answers the marker with its count. PDUs/s =
              N / (time from the first send to the answer).
* pingpong  - the client sends one PDU and waits for the server's echo, M times.
              Round trips/s.

Each is run with XTRUST's transport on both ends (``xtrust.ric.e2`` over TCP,
asyncio) and with two references doing the same 4-byte length framing: blocking
raw sockets in plain Python (one ``sendall`` per PDU, bulk ``recv`` and a
minimal parse loop), and asyncio streams (``write``/``drain``,
``readexactly``), which shows what asyncio itself costs. The figures are the
best of ``--repeat`` runs; the ratio e2/raw is what to compare between
machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

from xtrust.ric import e2

DATA, PING, END, COUNT = 0x00, 0x01, 0x02, 0x03
HOST = "127.0.0.1"


# --- servers (child process) ----------------------------------------------------------------------


def serve_raw(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        count = 0
        with conn:
            while data := conn.recv(262144):
                buf += data
                pos, end = 0, len(buf)
                while end - pos >= 4:
                    size = int.from_bytes(buf[pos : pos + 4], "big")
                    if end - pos - 4 < size:
                        break
                    kind = buf[pos + 4]
                    if kind == PING:
                        conn.sendall(bytes(buf[pos : pos + 4 + size]))
                    elif kind == END:
                        reply = bytes([COUNT]) + count.to_bytes(8, "big")
                        conn.sendall(len(reply).to_bytes(4, "big") + reply)
                        count = 0
                    else:
                        count += 1
                    pos += 4 + size
                del buf[:pos]


async def serve_e2() -> None:
    async def handler(conn: e2.E2Connection) -> None:
        count = 0
        async for pdu in conn:
            kind = pdu[0]
            if kind == PING:
                await conn.send(pdu)
            elif kind == END:
                await conn.send(bytes([COUNT]) + count.to_bytes(8, "big"))
                count = 0
            else:
                count += 1

    server = await e2.serve(handler, HOST, 0, transport="tcp", max_pdu=65536)
    print(server.port, flush=True)
    await server.serve_forever()


async def serve_streams() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count = 0
        try:
            while True:
                head = await reader.readexactly(4)
                pdu = await reader.readexactly(int.from_bytes(head, "big"))
                kind = pdu[0]
                if kind == PING:
                    writer.write(head + pdu)
                    await writer.drain()
                elif kind == END:
                    reply = bytes([COUNT]) + count.to_bytes(8, "big")
                    writer.write(len(reply).to_bytes(4, "big") + reply)
                    await writer.drain()
                    count = 0
                else:
                    count += 1
        except asyncio.IncompleteReadError:
            writer.close()

    server = await asyncio.start_server(handler, HOST, 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def run_server(mode: str) -> None:
    if mode == "streams":
        asyncio.run(serve_streams())
    elif mode == "raw":
        sock = socket.create_server((HOST, 0))
        print(sock.getsockname()[1], flush=True)
        serve_raw(sock)
    else:
        asyncio.run(serve_e2())


# --- clients (this process) -----------------------------------------------------------------------


def raw_stream(port: int, n: int, size: int) -> float:
    pdu = bytes([DATA]) + b"\x5a" * (size - 1)
    frame = size.to_bytes(4, "big") + pdu
    end = (1).to_bytes(4, "big") + bytes([END])
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        for _ in range(n):
            sock.sendall(frame)
        sock.sendall(end)
        reply = recv_exact(sock, 4 + 9)
        elapsed = time.perf_counter() - start
    assert int.from_bytes(reply[5:], "big") == n, reply
    return n / elapsed


def raw_pingpong(port: int, m: int, size: int) -> float:
    frame = size.to_bytes(4, "big") + bytes([PING]) + b"\x5a" * (size - 1)
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        for _ in range(m):
            sock.sendall(frame)
            assert recv_exact(sock, len(frame)) == frame
        elapsed = time.perf_counter() - start
    return m / elapsed


def recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("server closed")
        out += chunk
    return bytes(out)


async def streams_stream(port: int, n: int, size: int) -> float:
    frame = size.to_bytes(4, "big") + bytes([DATA]) + b"\x5a" * (size - 1)
    reader, writer = await asyncio.open_connection(HOST, port)
    start = time.perf_counter()
    for _ in range(n):
        writer.write(frame)
        await writer.drain()
    writer.write((1).to_bytes(4, "big") + bytes([END]))
    head = await reader.readexactly(4)
    reply = await reader.readexactly(int.from_bytes(head, "big"))
    elapsed = time.perf_counter() - start
    writer.close()
    assert int.from_bytes(reply[1:], "big") == n, reply
    return n / elapsed


async def streams_pingpong(port: int, m: int, size: int) -> float:
    frame = size.to_bytes(4, "big") + bytes([PING]) + b"\x5a" * (size - 1)
    reader, writer = await asyncio.open_connection(HOST, port)
    start = time.perf_counter()
    for _ in range(m):
        writer.write(frame)
        await writer.drain()
        head = await reader.readexactly(4)
        assert head + await reader.readexactly(int.from_bytes(head, "big")) == frame
    elapsed = time.perf_counter() - start
    writer.close()
    return m / elapsed


async def e2_stream(port: int, n: int, size: int) -> float:
    pdu = bytes([DATA]) + b"\x5a" * (size - 1)
    conn = await e2.connect(HOST, port, transport="tcp", max_pdu=65536)
    start = time.perf_counter()
    for _ in range(n):
        await conn.send(pdu)
    await conn.send(bytes([END]))
    reply = await conn.recv()
    elapsed = time.perf_counter() - start
    conn.close()
    await conn.wait_closed()
    assert int.from_bytes(reply[1:], "big") == n, reply
    return n / elapsed


async def e2_pingpong(port: int, m: int, size: int) -> float:
    pdu = bytes([PING]) + b"\x5a" * (size - 1)
    conn = await e2.connect(HOST, port, transport="tcp", max_pdu=65536)
    start = time.perf_counter()
    for _ in range(m):
        await conn.send(pdu)
        assert await conn.recv() == pdu
    elapsed = time.perf_counter() - start
    conn.close()
    await conn.wait_closed()
    return m / elapsed


# --- driver ---------------------------------------------------------------------------------------


def start_server(mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def measure(mode: str, args: argparse.Namespace) -> tuple[float, float]:
    proc, port = start_server(mode)
    try:
        streams, pings = [], []
        for _ in range(args.repeat):
            if mode == "raw":
                streams.append(raw_stream(port, args.pdus, args.size))
                pings.append(raw_pingpong(port, args.pings, args.size))
            elif mode == "streams":
                streams.append(asyncio.run(streams_stream(port, args.pdus, args.size)))
                pings.append(asyncio.run(streams_pingpong(port, args.pings, args.size)))
            else:
                streams.append(asyncio.run(e2_stream(port, args.pdus, args.size)))
                pings.append(asyncio.run(e2_pingpong(port, args.pings, args.size)))
        return max(streams), max(pings)
    finally:
        proc.terminate()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=200_000, help="PDUs per stream run")
    parser.add_argument("--pings", type=int, default=10_000, help="round trips per pingpong run")
    parser.add_argument("--size", type=int, default=440, help="PDU size in bytes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--serve", choices=["raw", "streams", "e2"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(args.serve)
        return
    raw = measure("raw", args)
    streams = measure("streams", args)
    ours = measure("e2", args)
    print(f"E2 transport over TCP, {args.size}-byte PDUs, 127.0.0.1, two processes")
    print(f"{'':9} {'raw sockets':>13} {'asyncio streams':>16} {'xtrust.ric.e2':>14} {'e2/raw':>7}")
    for i, name in enumerate(("stream", "pingpong")):
        print(
            f"{name:9} {raw[i]:>11,.0f}/s {streams[i]:>14,.0f}/s {ours[i]:>12,.0f}/s"
            f" {ours[i] / raw[i]:>7.2f}"
        )


if __name__ == "__main__":
    main()
