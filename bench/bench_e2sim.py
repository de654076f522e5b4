"""E2 node simulator speed and scale.

1. Generation: RIC Indications (E2SM-KPM format 1, 20 measurements, one
   model step of one cell with 10 UEs each) built and encoded on one core,
   with our fast-path encoders against the generic asn1tools encoders in the
   same run. Goal (issue 5): >= 20,000 indications/s.
2. Real time: --cells cells with --ues-per-cell UEs each (default 1,000 x 10)
   in this process, reporting every second (one cell-level subscription per
   cell) to RIC-lite in a child process, and an xApp (RMR endpoint, this
   process) receiving them. Reported: indications/s received against the
   1,000/s expected, CPU seconds this process spends per wall second (it
   keeps up while < 1), and the model's memory per UE (tracemalloc).

    .venv/bin/python bench/bench_e2sim.py [--count 20000] [--cells 1000 --seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from xtrust.e2sim.node import KPM_FUNCTION_ID, MEAS_NAMES, E2Node, _Report
from xtrust.ric import mtypes
from xtrust.ric.asn1 import _spec, kpm
from xtrust.ric.asn1.e2ap_messages import (
    RicAction,
    RicIndication,
    RicRequestId,
    RicSubscriptionRequest,
)
from xtrust.ric.rmr import Endpoint, Message

NAMES20 = MEAS_NAMES[:20]


def generation(count: int) -> dict[str, float]:
    node = E2Node(1, "127.0.0.1", 1, ues_per_cell=10, seed=1, start_time=1.7e9)
    report = _Report(RicRequestId(123, 1), 1, 0.1, NAMES20, 100, None)
    t = node.sim_t0 + 0.1
    node.advance_to(t)
    t0 = time.perf_counter()
    for _ in range(count):  # build and encode from the current model state
        node.indication_pdu(report, t)
    fast = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(count):  # the same, with one model step (1 cell, 10 UEs) before each
        t += 0.1
        node.indication_pdu(report, t)
    with_step = count / (time.perf_counter() - t0)

    spec = _spec.load("e2sm-kpm")
    n = max(200, count // 20)
    t0 = time.perf_counter()
    for _ in range(n):
        values = node.report_values(report)
        header = kpm.KpmIndicationHeader.at(t, sender_name="gnb", vendor_name="XTRUST e2sim")
        message = kpm.KpmIndicationMessageFormat1(
            records=(tuple(values.get(m) for m in NAMES20),), meas_names=NAMES20,
            granul_period_ms=100,
        )  # fmt: skip
        h = spec.encode("E2SM-KPM-IndicationHeader", header.to_asn1(), check_constraints=True)
        m = spec.encode("E2SM-KPM-IndicationMessage", message.to_asn1(), check_constraints=True)
        RicIndication(RicRequestId(123, 1), KPM_FUNCTION_ID, 1, h, m, sn=1).encode()
    generic = n / (time.perf_counter() - t0)
    return {"fast": fast, "generic": generic, "ratio": fast / generic, "with_step": with_step}


def memory_per_ue(cells: int, ues: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    nodes = [E2Node(i, "127.0.0.1", 1, n_cells=10, ues_per_cell=ues, seed=1)
             for i in range(cells // 10)]  # fmt: skip
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert nodes
    return size / (cells * ues)


async def child_ric() -> None:
    from xtrust.ric.platform import RicLite, RicLiteConfig

    cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                        e2_transport="tcp", xapp_queue=100_000)  # fmt: skip
    async with RicLite(cfg) as ric:
        print(f"READY {ric.e2_port} {ric.rmr_port}", flush=True)
        await ric.wait_closed()


async def realtime(
    e2_port: int, rmr_port: int, cells: int, ues: int, seconds: float
) -> dict[str, Any]:
    nodes = [E2Node(0x100 + i, "127.0.0.1", e2_port, n_cells=10, ues_per_cell=ues, seed=1,
                    transport="tcp", step_ms=1000)
             for i in range(cells // 10)]  # fmt: skip
    tasks = [asyncio.create_task(n.run()) for n in nodes]
    xapp = Endpoint(0, host="127.0.0.1", use_env=False, queue_size=200_000)
    await xapp.start()
    deadline = time.monotonic() + 60
    while not all(n.connected.is_set() for n in nodes):
        if time.monotonic() > deadline:
            raise SystemExit("nodes did not all connect")
        await asyncio.sleep(0.1)
    names = ("DRB.UEThpDl", "RRU.PrbTotDl", "RRC.ConnMean")
    instance = 0
    for n in nodes:
        for cell in n.cells:
            instance += 1
            action = kpm.KpmActionDefinitionFormat1(
                tuple(kpm.MeasInfo(m) for m in names), 1000, kpm.NrCgi(n.plmn_id, cell.cell_id)
            ).encode()
            req = RicSubscriptionRequest(RicRequestId(9, instance), KPM_FUNCTION_ID,
                                         (kpm.KpmEventTrigger(1000).encode(),
                                          [RicAction(1, "report", action)]))  # fmt: skip
            await xapp.send(Message(mtypes.RIC_SUB_REQ, req.encode(), meid=n.ran_name),
                            to=f"127.0.0.1:{rmr_port}", wait=2)  # fmt: skip
    ok = 0
    while ok < instance:
        msg = await xapp.recv(timeout=30)
        ok += msg.mtype == mtypes.RIC_SUB_RESP
    await asyncio.sleep(2.0)  # let the reports settle into their periods
    with contextlib.suppress(TimeoutError):
        while True:  # drain what arrived while settling: count only the window
            await xapp.recv(timeout=0.05)
    received = 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    end = wall0 + seconds
    while time.monotonic() < end:
        try:
            msg = await xapp.recv(timeout=max(0.01, end - time.monotonic()))
        except TimeoutError:
            break
        received += msg.mtype == mtypes.RIC_INDICATION
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await xapp.close()
    return {"subscriptions": instance, "indications_per_s": received / wall,
            "expected_per_s": float(instance), "cpu_per_wall_s": cpu / wall}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--ues-per-cell", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.child:
        asyncio.run(child_ric())
        return 0
    gen = generation(args.count)
    print(f"generation, one core: {gen['fast']:,.0f} indications/s with the fast paths, "
          f"{gen['generic']:,.0f}/s with asn1tools (x{gen['ratio']:.1f}); goal 20,000/s: "
          f"{'met' if gen['fast'] >= 20000 else 'NOT met'}; with a model step before each: "
          f"{gen['with_step']:,.0f}/s")  # fmt: skip
    per_ue = memory_per_ue(args.cells, args.ues_per_cell)
    print(f"memory: {per_ue:,.0f} bytes per UE ({args.cells} cells x {args.ues_per_cell} UEs)")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    try:
        rt = asyncio.run(realtime(int(line[1]), int(line[2]), args.cells, args.ues_per_cell,
                                  args.seconds))  # fmt: skip
    finally:
        proc.kill()
        proc.wait()
    print(f"real time, {args.cells} cells x {args.ues_per_cell} UEs, 1 s reports: "
          f"{rt['indications_per_s']:,.0f} indications/s received of {rt['expected_per_s']:,.0f} "
          f"expected; simulator + xApp process CPU {rt['cpu_per_wall_s']:.2f} s per s "
          f"({'keeps up' if rt['cpu_per_wall_s'] < 1 and rt['indications_per_s'] >= 0.95 * rt['expected_per_s'] else 'falls behind'})")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"generation": gen, "bytes_per_ue": per_ue, "realtime": rt}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
