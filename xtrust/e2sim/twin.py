"""The digital twin: RIC-lite, simulated gNBs, a scenario and xApps in one process.

``xtrust twin run --scenario NAME`` starts everything on loopback (over the
real protocols: E2AP on the E2 TCP transport, RMR, A1), runs the scenario's
timeline against the RAN model, and writes a run report: the network, the
traffic, the RIC's counters, the ground truth of every attack episode and,
when security xApps take part, what they detected against that ground truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtrust.errors import InputError
from xtrust.log import get_logger

from .node import E2Node

__all__ = ["XAPPS", "TwinConfig", "run_twin"]

log = get_logger("e2sim.twin")

#: xApps the twin can run, and what each is
XAPPS = {"kpmmon": "KPM monitor (xtrust.xapps.kpmmon): KPM from every node, A1 PRB limit"}
#: security xApps that the twin will evaluate once they exist (issue 6)
PLANNED = {"anomaly", "segmentation"}


@dataclass
class TwinConfig:
    scenario: str = "benign"
    nodes: int = 2
    cells_per_node: int = 2
    ues_per_cell: int = 10
    period_ms: int = 1000  # KPM reporting period the xApps ask for
    step_ms: int = 100  # model step
    #: wall-clock seconds to run; None: the scenario's duration at ``speed``
    duration: float | None = None
    #: simulated seconds per wall second
    speed: float = 10.0
    seed: int = 0
    xapps: tuple[str, ...] = ("kpmmon",)
    report: str | None = None
    ground_truth: str | None = None
    #: write the MobiFlow v2 control-plane records of every cell here
    mobiflow: str | None = None
    start_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        unknown = [x for x in self.xapps if x not in XAPPS]
        for name in unknown:
            if name in PLANNED:
                raise InputError(
                    f"--xapps: {name!r} is not available yet (the security xApps land with "
                    f"issue 6); available: {', '.join(XAPPS)}"
                )
            raise InputError(f"--xapps: unknown xApp {name!r}; available: {', '.join(XAPPS)}")
        if self.nodes < 1 or self.cells_per_node < 1 or self.ues_per_cell < 0:
            raise InputError("nodes and cells per node must be at least 1, UEs at least 0")
        if self.duration is not None and self.duration <= 0:
            raise InputError("--duration must be positive")
        if not 0.1 <= self.speed <= 1000:
            raise InputError("--speed must be between 0.1 and 1000")


async def run_twin(
    cfg: TwinConfig, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run the twin for ``cfg.duration`` seconds and return (and write) the report."""
    from xtrust.ric.platform import RicLite, RicLiteConfig
    from xtrust.ric.sdl import MemorySdl

    from .scenarios import ScenarioEngine, load_scenario

    cfg.validate()
    scenario = load_scenario(cfg.scenario)  # validated before anything starts
    if cfg.report:
        try:  # fail now, not after the run
            Path(cfg.report).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--report {cfg.report}: {exc.strerror or exc}") from None
    say = progress or (lambda _text: None)
    gt_path = (
        Path(cfg.ground_truth)
        if cfg.ground_truth
        else Path(tempfile.mkdtemp(prefix="xtrust-twin-")) / "ground-truth.jsonl"
    )
    start_time = cfg.start_time if cfg.start_time is not None else time.time()
    sdl = MemorySdl()
    ric_cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None, e2_transport="tcp")
    wall0 = time.monotonic()
    async with RicLite(ric_cfg, sdl=sdl) as ric:
        nodes = [
            E2Node(
                0x100 + i,
                "127.0.0.1",
                ric.e2_port,
                n_cells=cfg.cells_per_node,
                ues_per_cell=cfg.ues_per_cell,
                seed=cfg.seed,
                transport="tcp",
                step_ms=cfg.step_ms,
                start_time=start_time,
                backoff_max=0.5,
                speed=cfg.speed,
            )
            for i in range(cfg.nodes)
        ]
        by_name = {n.ran_name: n for n in nodes}
        apps: list[Any] = []
        launches: list[asyncio.Task[None]] = []

        async def launch_rogue(order: Any) -> None:
            from .rogue import RogueXApp

            rogue = RogueXApp(
                count=order.count,
                rate=order.rate,
                nodes=order.nodes,
                cells=order.cells,
                seed=order.seed,
                ues=lambda meid: [u for c in by_name[meid].cells for u in c.ues],
                ric=ric.rmr_address,
                sdl=sdl,
                rmr_port=0,
                http_port=0,
                host="127.0.0.1",
                env={},
            )
            apps.append(rogue)
            await rogue.start()
            say(f"rogue xApp started: {order.count} controls at {order.rate:.0f}/s")

        engine = ScenarioEngine(
            scenario,
            {n.ran_name: n.cells for n in nodes},
            ground_truth=gt_path,
            seed=cfg.seed,
            rogue_launcher=lambda order: launches.append(
                asyncio.get_running_loop().create_task(launch_rogue(order))
            ),
        )
        writer = None
        if cfg.mobiflow:
            from .mobiflow import MobiflowWriter

            writer = MobiflowWriter(cfg.mobiflow, plmn="00101", seed=cfg.seed)
            writer.watch([c for n in nodes for c in n.cells])
        for n in nodes:
            n.on_step = engine.tick  # the engine ignores a time it has already seen
        tasks = [asyncio.create_task(n.run()) for n in nodes]
        try:
            say(f"RIC-lite up; {cfg.nodes} gNB(s) x {cfg.cells_per_node} cell(s) connecting")
            if "kpmmon" in cfg.xapps:
                from xtrust.xapps.kpmmon import KpmMonitor

                mon = KpmMonitor.attached_to(ric, sdl, live=False, quiet=True)
                mon.controls["period_ms"] = cfg.period_ms
                await mon.start()
                apps.append(mon)
            duration = cfg.duration if cfg.duration is not None else scenario.duration / cfg.speed
            end = time.monotonic() + duration
            while time.monotonic() < end:
                await asyncio.sleep(min(1.0, end - time.monotonic()))
                sent = sum(n.counters.get("indications", 0) for n in nodes)
                say(f"t={time.monotonic() - wall0:5.1f}s indications sent {sent}")
        finally:
            await asyncio.gather(*launches, return_exceptions=True)
            for app in apps:
                with contextlib.suppress(Exception):
                    await app.stop()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            engine.close()
            if writer is not None:
                writer.close()
        report = {
            "scenario": scenario.name if hasattr(scenario, "name") else cfg.scenario,
            "seed": cfg.seed,
            "speed": cfg.speed,
            "simulated_s": round(max(n.sim_now for n in nodes) - start_time, 1),
            "duration_s": round(time.monotonic() - wall0, 2),
            "network": {
                "nodes": cfg.nodes,
                "cells": cfg.nodes * cfg.cells_per_node,
                "ues_at_start": cfg.nodes * cfg.cells_per_node * cfg.ues_per_cell,
            },
            "traffic": {n.ran_name: {k: v for k, v in sorted(n.counters.items())} for n in nodes},
            "ric": {
                "e2t": dict(ric.e2t.counters),
                "submgr": dict(ric.submgr.counters),
                "a1": dict(ric.a1.counters),
            },
            "xapps": {type(a).__name__: _xapp_figures(a) for a in apps},
            "ground_truth_file": str(gt_path),
            "mobiflow_file": cfg.mobiflow,
            "ground_truth": _read_jsonl(gt_path),
            "detection": {
                "evaluated": False,
                "reason": "no security xApp took part (the anomaly and segmentation xApps "
                "are issue 6): this run reports traffic figures only",
            },
        }
    if cfg.report:
        _write_json(Path(cfg.report), report)
    return report


def _xapp_figures(app: Any) -> dict[str, Any]:
    rows = getattr(app, "rows", None)
    if isinstance(rows, dict):
        return {
            "nodes_reporting": len(rows),
            "indications": sum(getattr(r, "reports", 0) for r in rows.values()),
        }
    counters = getattr(app, "counters", None)
    return dict(counters) if isinstance(counters, dict) else {}


def _read_jsonl(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically: a report is either whole or absent."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, indent=2, default=str))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
