"""Resident memory and CPU of the anomaly xApp at 1,000 cells, deployed as it would be.

Three processes on loopback: ``redis-server`` (the SDL, holding the RNIB),
RIC-lite with ``--cells`` simulated cells (10 per gNB, 1 s KPM reports) writing
its RNIB to Redis, and the anomaly xApp started with
``xtrust xapp run anomaly --sdl redis://... --ric ...``: it finds the nodes in
the RNIB and subscribes to every cell. After the reports have run for
``--seconds``, the xApp's resident set (VmRSS, VmHWM from /proc) and CPU are
read, and its ``/metrics`` give the reports it scored. Goal: under 200 MB.

    .venv/bin/python bench/bench_anomaly_xapp.py [--cells 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def child(redis_url: str, cells: int) -> None:
    from xtrust.e2sim.node import E2Node
    from xtrust.ric.platform import RicLite, RicLiteConfig
    from xtrust.ric.sdl import open_sdl

    cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                        e2_transport="tcp", xapp_queue=100_000)  # fmt: skip
    async with RicLite(cfg, sdl=open_sdl(redis_url)) as ric:
        nodes = [E2Node(0x100 + i, "127.0.0.1", ric.e2_port, n_cells=10, ues_per_cell=10,
                        seed=1, transport="tcp", step_ms=1000) for i in range(cells // 10)]  # fmt: skip
        tasks = [asyncio.create_task(n.run()) for n in nodes]
        while not all(n.connected.is_set() for n in nodes):
            await asyncio.sleep(0.1)
        layout = {n.ran_name: [c.cell_id for c in n.cells] for n in nodes}
        print("READY " + json.dumps({"rmr": ric.rmr_port, "http": ric.http_port,
                                     "cells": layout}), flush=True)  # fmt: skip
        await ric.wait_closed()
        for t in tasks:
            t.cancel()


def proc_status(pid: int) -> dict[str, float]:
    text = Path(f"/proc/{pid}/status").read_text()
    out = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M)}
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def scored(http_port: int, what: str = "kpm") -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^xtrust_anomaly_reports_total\{input="' + what + r'"\} ([0-9.e+]+)',
                  text, re.M)  # fmt: skip
    return float(m.group(1)) if m else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json")
    ap.add_argument(
        "--ue-kpm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the UE-level KPM path on or off (default: as the descriptor says)",
    )
    args = ap.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.cells))
        return 0
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (make test installs it)")
    work = Path(tempfile.mkdtemp(prefix="xtrust-bench-anomaly-"))
    rport = free_port()
    redis = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(rport), "--save", "",
                              "--appendonly", "no", "--dir", str(work)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    procs: list[subprocess.Popen[Any]] = [redis]
    try:
        time.sleep(0.5)
        url = f"redis://127.0.0.1:{rport}/0"
        ric = subprocess.Popen([sys.executable, __file__, "--child", url, "--cells",
                                str(args.cells)], stdout=subprocess.PIPE, text=True)  # fmt: skip
        procs.append(ric)
        assert ric.stdout is not None
        line = ric.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit("RIC-lite child did not start")
        info = json.loads(line[6:])
        from xtrust.xapps.anomaly.app import DESCRIPTOR

        desc = json.loads(DESCRIPTOR.read_text())
        http = free_port()
        for port in desc["messaging"]["ports"]:
            if port["name"] == "http":
                port["port"] = http
            elif port["name"] == "rmr-data" or port["name"] == "rmr-route":
                port["port"] = free_port()
        desc["controls"]["cells"] = info["cells"]
        desc["controls"]["alerts"] = {"rmr": False}
        if args.ue_kpm is not None:
            desc["controls"]["kpm_ue"] = {**desc["controls"].get("kpm_ue", {}),
                                          "enabled": args.ue_kpm}  # fmt: skip
        ue_on = bool(desc["controls"].get("kpm_ue", {}).get("enabled"))
        config = work / "config-file.json"
        config.write_text(json.dumps(desc))
        env = {**os.environ, "XTRUST_LOG_LEVEL": "ERROR"}
        xapp = subprocess.Popen([sys.executable, "-m", "xtrust", "xapp", "run", "anomaly",
                                 "--config", str(config), "--ric", f"127.0.0.1:{info['rmr']}",
                                 "--sdl", url], env=env, stderr=subprocess.DEVNULL)  # fmt: skip
        procs.append(xapp)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until every cell reports
            time.sleep(1.0)
            try:
                a = scored(http)
                time.sleep(2.0)
                if (scored(http) - a) / 2.0 >= 0.95 * args.cells:
                    break
            except OSError:
                continue
        s0, u0, p0, t0 = (
            scored(http),
            scored(http, "kpm_ue"),
            proc_status(xapp.pid),
            time.monotonic(),
        )
        time.sleep(args.seconds)
        s1, u1, p1, t1 = (
            scored(http),
            scored(http, "kpm_ue"),
            proc_status(xapp.pid),
            time.monotonic(),
        )
        rate = (s1 - s0) / (t1 - t0)
        ue_rate = (u1 - u0) / (t1 - t0)
        cpu = (p1["cpu_s"] - p0["cpu_s"]) / (t1 - t0)
        result = {"cells": args.cells, "reports_per_s": rate, "ue_reports_per_s": ue_rate,
                  "ue_kpm": ue_on, "cpu_per_s": cpu, "rss_mb": p1["VmRSS"],
                  "peak_rss_mb": p1["VmHWM"]}  # fmt: skip
        print(f"anomaly xApp, {args.cells} cells x 1 s KPM reports, UE-level "
              f"{'on' if ue_on else 'off'}: {rate:,.0f} cell reports/s and {ue_rate:,.0f} UE "
              f"reports/s scored, CPU {cpu:.2f} s/s, resident {p1['VmRSS']:.0f} MB "
              f"(peak {p1['VmHWM']:.0f} MB); goal < 200 MB: "
              f"{'met' if p1['VmHWM'] < 200 else 'NOT met'}")  # fmt: skip
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
