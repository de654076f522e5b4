"""RIC-lite forwarding: E2 node -> RIC-lite -> subscribed xApp.

RIC-lite runs in a child process (its own core); the E2 node (E2AP over the
TCP transport) and the xApp (an RMR endpoint) run in this process. Measured
in the same run against a reference child process, a plain asyncio relay
that moves 4-byte-length-framed bytes from the node's connection to the
xApp's without looking at them (the ceiling for any Python forwarder):

* throughput: the node sends --count RIC Indications (a KPM-sized 440-byte
  PDU) back to back; indications/s received by the xApp;
* latency: the node sends at --rate per second for --seconds; node send ->
  xApp receive, p50 / p99 (same clock: both ends live in this process).

Goal (issue 4): >= 20,000 indications/s to one xApp, p99 < 5 ms at 1,000/s.

    .venv/bin/python bench/bench_ric_lite.py [--count 100000] [--rate 1000 --seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import subprocess
import sys
import time
from typing import Any

from xtrust.e2sim.node import COMPONENT
from xtrust.ric import e2, mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1.e2ap_fast import encode_indication
from xtrust.ric.asn1.e2ap_messages import (
    E2SetupRequest,
    RanFunction,
    RicAction,
    RicIndication,
    RicRequestId,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    global_gnb_id,
    parse,
    plmn_identity,
)
from xtrust.ric.rmr import Endpoint, Message

_LEN = struct.Struct(">I")
STAMP = struct.Struct(">d")


# ---------------------------------------------------------------- children


async def child_ric() -> None:
    from xtrust.ric.platform import RicLite, RicLiteConfig

    cfg = RicLiteConfig(
        e2_port=0,
        rmr_port=0,
        http_port=0,
        rtmgr_port=None,
        e2_transport="tcp",
        node_pdu_rate=1e9,
        xapp_queue=200_000,
    )
    async with RicLite(cfg) as ric:
        print(f"READY {ric.e2_port} {ric.rmr_port}", flush=True)
        await ric.wait_closed()


async def child_relay() -> None:
    """Reference: node connects to port A, the xApp side connects to port B; frames
    read from A are written to B unchanged."""
    sinks: list[asyncio.StreamWriter] = []

    async def xapp_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sinks.append(writer)
        await reader.read()

    async def node_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readexactly(4)
                body = await reader.readexactly(_LEN.unpack(head)[0])
            except asyncio.IncompleteReadError:
                return
            for sink in sinks:
                sink.write(head + body)
                if sink.transport.get_write_buffer_size() > 1 << 20:
                    await sink.drain()

    a = await asyncio.start_server(node_side, "127.0.0.1", 0)
    b = await asyncio.start_server(xapp_side, "127.0.0.1", 0)
    print(f"READY {a.sockets[0].getsockname()[1]} {b.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


# ---------------------------------------------------------------- measuring side


def indication(sub: RicRequestId, stamp: float) -> bytes:
    # a KPM-sized message: a 440-byte PDU with the send time in its first 8 bytes
    body = STAMP.pack(stamp) + b"\x00" * 392
    return encode_indication(RicIndication(sub, 2, 1, b"h" * 16, body, sn=1))


def stamp_of(pdu: bytes) -> float:
    ind = parse(pdu)
    assert isinstance(ind, RicIndication)
    return float(STAMP.unpack_from(ind.message)[0])


async def ric_setup(e2_port: int, rmr_port: int) -> tuple[e2.E2Connection, Endpoint, RicRequestId]:
    node = await e2.connect("127.0.0.1", e2_port, transport="tcp")
    await node.send(
        E2SetupRequest(
            1,
            global_gnb_id(plmn_identity("001", "01"), 1, 32),
            [RanFunction(2, b"def", 1, kpm.OID)],
            [COMPONENT],
        ).encode()
    )
    await node.recv()
    xapp = Endpoint(0, host="127.0.0.1", use_env=False, queue_size=200_000)
    await xapp.start()
    req = RicSubscriptionRequest(RicRequestId(7, 1), 2, (b"\x00", [RicAction(1)]))
    await xapp.send(
        Message(mtypes.RIC_SUB_REQ, req.encode(), meid="gnb_001_01_00000001"),
        to=f"127.0.0.1:{rmr_port}",
        wait=2,
    )
    got = parse(await node.recv())
    assert isinstance(got, RicSubscriptionRequest)
    await node.send(RicSubscriptionResponse(got.request_id, 2, [1]).encode())
    reply = await xapp.recv(timeout=5)
    assert reply.mtype == mtypes.RIC_SUB_RESP, reply
    return node, xapp, got.request_id


async def measure_ric(
    e2_port: int, rmr_port: int, count: int, rate: float, seconds: float
) -> dict[str, Any]:
    node, xapp, sub = await ric_setup(e2_port, rmr_port)

    async def receive(n: int, latencies: list[float] | None) -> float:
        last = 0.0
        for _ in range(n):
            msg = await xapp.recv(timeout=10)
            last = time.perf_counter()
            if latencies is not None:
                latencies.append(last - stamp_of(msg.payload))
        return last

    pdu = indication(sub, 0.0)
    rx = asyncio.create_task(receive(count, None))
    t0 = time.perf_counter()
    for _ in range(count):
        await node.send(pdu)
    t_end = await rx
    throughput = count / (t_end - t0)
    lat: list[float] = []
    n = int(rate * seconds)
    rx = asyncio.create_task(receive(n, lat))
    start = time.perf_counter()
    for i in range(n):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await node.send(indication(sub, time.perf_counter()))
    await rx
    node.abort()
    await xapp.close()
    return {"throughput": throughput, **percentiles(lat)}


async def measure_relay(
    node_port: int, xapp_port: int, count: int, rate: float, seconds: float
) -> dict[str, Any]:
    _r, node_w = await asyncio.open_connection("127.0.0.1", node_port)
    xr, _w = await asyncio.open_connection("127.0.0.1", xapp_port)
    await asyncio.sleep(0.1)
    sub = RicRequestId(123, 1)

    async def receive(n: int, latencies: list[float] | None) -> float:
        last = 0.0
        for _ in range(n):
            head = await xr.readexactly(4)
            body = await xr.readexactly(_LEN.unpack(head)[0])
            last = time.perf_counter()
            if latencies is not None:
                latencies.append(last - stamp_of(body))
        return last

    pdu = indication(sub, 0.0)
    frame = _LEN.pack(len(pdu)) + pdu
    rx = asyncio.create_task(receive(count, None))
    t0 = time.perf_counter()
    for _ in range(count):
        node_w.write(frame)
        if node_w.transport.get_write_buffer_size() > 1 << 20:
            await node_w.drain()
    t_end = await rx
    throughput = count / (t_end - t0)
    lat: list[float] = []
    n = int(rate * seconds)
    rx = asyncio.create_task(receive(n, lat))
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        p = indication(sub, time.perf_counter())
        node_w.write(_LEN.pack(len(p)) + p)
    await rx
    node_w.close()
    return {"throughput": throughput, **percentiles(lat)}


def percentiles(lat: list[float]) -> dict[str, float]:
    lat.sort()
    if not lat:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    return {
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
    }


def start_child(role: str) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", role], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        proc.kill()
        raise SystemExit(f"{role} child did not start")
    return proc, [int(x) for x in line[1:]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--child", choices=["ric", "relay"])
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if args.child:
        asyncio.run(child_ric() if args.child == "ric" else child_relay())
        return 0
    results: dict[str, Any] = {}
    for role, fn in (("relay", measure_relay), ("ric", measure_ric)):
        proc, ports = start_child(role)
        try:
            results[role] = asyncio.run(fn(ports[0], ports[1], args.count, args.rate, args.seconds))
        finally:
            proc.kill()
            proc.wait()
    ric, relay = results["ric"], results["relay"]
    print(f"{'':28}{'indications/s':>15}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("plain asyncio relay (ref)", relay), ("RIC-lite", ric)):
        print(f"{name:28}{r['throughput']:>15,.0f}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}")
    ratio = ric["throughput"] / relay["throughput"]
    print(
        f"RIC-lite / relay throughput: {ratio:.2f}; goal >= 20,000/s: "
        f"{'met' if ric['throughput'] >= 20000 else 'NOT met'}; p99 < 5 ms at {args.rate:.0f}/s: "
        f"{'met' if ric['p99_ms'] < 5 else 'NOT met'}"
    )
    results["ratio"] = ratio
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
