"""``xtrust e2sim run``: many simulated gNBs from one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any

import click

from xtrust.errors import InputError

__all__ = ["e2sim", "twin"]


def parse_hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--ric {text!r}: expected HOST:PORT with a port from 1 to 65535")
    return host, int(port)


@click.group()
def e2sim() -> None:
    """E2 node simulator: gNBs with E2SM-KPM and E2SM-RC, driven by a RAN model."""


@e2sim.command()
@click.option("--ric", required=True, help="The RIC's E2 address, HOST:PORT.")
@click.option("--nodes", type=click.IntRange(1, 10000), default=1, show_default=True)
@click.option("--cells-per-node", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--ues-per-cell", type=click.IntRange(0, 10000), default=10, show_default=True)
@click.option(
    "--period-ms",
    type=click.IntRange(10, 60000),
    default=100,
    show_default=True,
    help="Model step; KPM reports follow each subscription's period, in whole steps.",
)
@click.option("--scenario", help="Built-in scenario name or a scenario YAML file.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--duration", type=click.FloatRange(min=0.0), help="Seconds to run (default: forever)."
)
@click.option(
    "--transport", type=click.Choice(["auto", "sctp", "tcp"]), default="auto", show_default=True
)
@click.option("--plmn", default="001-01", show_default=True, help="MCC-MNC of the gNBs.")
@click.option(
    "--gnb-id-base",
    type=click.IntRange(0, 0xFFFFFF00),
    default=0x100,
    show_default=True,
    help="gNB ID of the first node (the others follow).",
)
@click.option(
    "--ground-truth",
    type=click.Path(dir_okay=False),
    help="Write the scenario's ground truth here (JSON lines).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: only the final summary, as JSON.",
)
def run(
    ric: str, nodes: int, cells_per_node: int, ues_per_cell: int, period_ms: int,
    scenario: str | None, seed: int, duration: float | None, transport: str, plmn: str,
    gnb_id_base: int, ground_truth: str | None, fmt: str,
) -> None:  # fmt: skip
    """Run simulated gNBs against a near-RT RIC until --duration or Ctrl-C."""
    from xtrust.e2sim.node import E2Node

    host, port = parse_hostport(ric)
    mcc, _, mnc = plmn.partition("-")
    if not (mcc.isdigit() and len(mcc) == 3 and mnc.isdigit() and len(mnc) in (2, 3)):
        raise InputError(f"--plmn {plmn!r}: expected MCC-MNC, e.g. 001-01")
    engine = None
    sims = [
        E2Node(gnb_id_base + i, host, port, plmn=plmn, n_cells=cells_per_node,
               ues_per_cell=ues_per_cell, seed=seed, transport=transport, step_ms=period_ms)
        for i in range(nodes)
    ]  # fmt: skip
    if scenario is not None:
        from xtrust.e2sim.scenarios import ScenarioEngine, load_scenario

        loaded = load_scenario(scenario)  # validated before anything starts
        engine = ScenarioEngine(
            loaded, {n.ran_name: n.cells for n in sims}, ground_truth=ground_truth, seed=seed
        )
        for n in sims:
            n.on_step = engine.tick  # the engine ignores a time it has already seen
    elif ground_truth is not None:
        raise InputError("--ground-truth needs --scenario")
    try:
        summary = asyncio.run(_run(sims, duration, progress=fmt == "text" and sys.stderr.isatty()))
    finally:
        if engine is not None:
            engine.close()  # end the open episodes in the ground truth and close the file
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"e2sim: {summary['nodes']} node(s), {summary['cells']} cell(s): "
            f"{summary['setups']} E2 setup(s), {summary['subscriptions']} subscription(s), "
            f"{summary['indications']} indication(s), {summary['controls']} control(s) "
            f"in {summary['seconds']:.1f} s",
            err=True,
        )


async def _run(sims: list[Any], duration: float | None, progress: bool) -> dict[str, Any]:
    start = time.monotonic()
    tasks = [asyncio.create_task(n.run()) for n in sims]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)

    def totals() -> dict[str, Any]:
        def total(key: str) -> int:
            return sum(n.counters.get(key, 0) for n in sims)

        return {
            "nodes": len(sims),
            "cells": sum(len(n.cells) for n in sims),
            "connected": sum(n.connected.is_set() for n in sims),
            "setups": total("setups"),
            "subscriptions": total("subscriptions"),
            "indications": total("indications"),
            "controls": total("controls"),
            "seconds": time.monotonic() - start,
        }

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 2.0)
        if progress:
            t = totals()
            click.echo(
                f"\re2sim: {t['connected']}/{t['nodes']} connected, {t['indications']} "
                f"indications, {t['controls']} controls",
                err=True,
                nl=False,
            )
    if progress:
        click.echo("", err=True)
    summary = totals()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summary


@click.group()
def twin() -> None:
    """Digital twin: RIC-lite, simulated gNBs, a scenario and xApps in one process."""


@twin.command("run")
@click.option(
    "--scenario",
    default="benign",
    show_default=True,
    help="Built-in scenario name or a scenario YAML file.",
)
@click.option(
    "--xapps", default="kpmmon", show_default=True, help="Comma-separated xApps to run in the twin."
)
@click.option(
    "--rapps",
    default="",
    help="Comma-separated rApps beside the xApps: policy (risk PDP as control admission), "
    "xdr (playbook quarantine); both need --xapps anomaly,segmentation.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    help="Wall-clock seconds (default: the scenario's length at --speed).",
)
@click.option(
    "--speed",
    type=click.FloatRange(0.1, 1000),
    default=10.0,
    show_default=True,
    help="Simulated seconds per wall-clock second.",
)
@click.option("--nodes", type=click.IntRange(1, 1000), default=2, show_default=True)
@click.option("--cells-per-node", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--ues-per-cell", type=click.IntRange(0, 10000), default=10, show_default=True)
@click.option(
    "--period-ms",
    type=click.IntRange(100, 60000),
    default=1000,
    show_default=True,
    help="KPM reporting period the xApps subscribe with.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report", type=click.Path(dir_okay=False), help="Write the run report (JSON) here.")
@click.option(
    "--ground-truth",
    type=click.Path(dir_okay=False),
    help="Write the ground truth (JSON lines) here (default: a temporary file).",
)
@click.option(
    "--mobiflow",
    type=click.Path(dir_okay=False),
    help="Write the MobiFlow v2 control-plane records of every cell here.",
)
@click.option(
    "--record-kpm",
    type=click.Path(dir_okay=False),
    help="Record every KPM report the anomaly xApp scores here (JSON lines, for xtrust detect kpm).",
)
@click.option(
    "--ue-kpm/--no-ue-kpm",
    default=None,
    help="The anomaly xApp's UE-level KPM subscriptions and per-UE detector on or off "
    "(default: as its descriptor says, controls.kpm_ue.enabled).",
)
@click.option(
    "--mobiflow-model",
    is_flag=True,
    help="Learn the anomaly xApp's MobiFlow sequence model from benign captures of the "
    "simulator (other seeds) before the run; without it the xApp runs the rules only.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def twin_run(
    scenario: str, xapps: str, rapps: str, duration: float | None, speed: float, nodes: int, cells_per_node: int,
    ues_per_cell: int, period_ms: int, seed: int, report: str | None,
    ground_truth: str | None, mobiflow: str | None, record_kpm: str | None, ue_kpm: bool | None,
    mobiflow_model: bool, fmt: str,
) -> None:  # fmt: skip
    """Run the twin and print (and write) its report."""
    from xtrust.e2sim.twin import TwinConfig, run_twin

    cfg = TwinConfig(
        scenario=scenario, nodes=nodes, cells_per_node=cells_per_node,
        ues_per_cell=ues_per_cell, period_ms=period_ms, duration=duration, speed=speed, seed=seed,
        xapps=tuple(x.strip() for x in xapps.split(",") if x.strip()), report=report,
        rapps=tuple(x.strip() for x in rapps.split(",") if x.strip()),
        ground_truth=ground_truth, mobiflow=mobiflow, record_kpm=record_kpm, ue_kpm=ue_kpm,
        mobiflow_model=mobiflow_model,
    )  # fmt: skip
    show = fmt == "text" and sys.stderr.isatty()
    result = asyncio.run(
        run_twin(cfg, (lambda t: click.echo(f"twin: {t}", err=True)) if show else None)
    )
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    sent = sum(v.get("indications", 0) for v in result["traffic"].values())
    click.echo(
        f"twin: scenario {result['scenario']}, {result['network']['nodes']} node(s), "
        f"{result['network']['cells']} cell(s), {result['simulated_s']} s simulated in "
        f"{result['duration_s']} s"
    )
    click.echo(f"twin: {sent} KPM indications sent; RIC: {result['ric']['submgr']}")
    for name, figures in result["xapps"].items():
        click.echo(f"twin: {name}: {figures}")
    det = result["detection"]
    # an episode per attacked cell, node (a rogue xApp) or cell's UEs (evaluate.episodes)
    n_eps = (len(det["episodes"]) if det["evaluated"]
             else sum(1 for g in result["ground_truth"] if g.get("event") == "start"))  # fmt: skip
    click.echo(
        f"twin: {n_eps} attack episode(s) in the ground truth ({result['ground_truth_file']})"
    )
    if not det["evaluated"]:
        click.echo(f"twin: detection not evaluated: {det['reason']}")
    else:
        t0 = result["start_time"]
        for ep in det["episodes"]:
            where = ep["node"] + (f"/{ep['cell']}" if ep["cell"] is not None else "")
            line = f"twin: {ep['label']} on {where} from +{ep['start'] - t0:.1f} s"
            armed = ep.get("armed")
            if armed is not None and ep["start"] - armed >= 0.05:  # first move after switch-on
                line += f" (switched on +{armed - t0:.1f} s)"
            line += ": "
            if ep["detected"]:
                line += (f"detected +{ep['delay_s']:.1f} s later ({ep['delay_periods']} "
                         f"reporting periods) as {ep['alert_class']}")  # fmt: skip
                if "quarantined_at" in ep:
                    line += f", quarantined +{ep['quarantine_delay_s']:.1f} s after onset"
            else:
                line += "NOT detected"
            click.echo(line)
        for move in det.get("quarantine", []):
            click.echo(f"twin: segmentation: {move['action']} {move['asset']} at "
                       f"+{move['time'] - t0:.1f} s ({move['reason']}, by {move['actor']})")  # fmt: skip
        for step in result.get("response", {}).get("steps", []):
            what = {k: v for k, v in step.items() if k not in ("step", "time")}
            click.echo(f"twin: response +{step['time'] - t0:.1f} s {step['step']}: "
                       + ", ".join(f"{k}={v}" for k, v in what.items()))  # fmt: skip
        click.echo(
            f"twin: {det['detected']}/{det['episodes_total']} episode(s) detected, "
            f"{det['classified']} classified; {det['false_alarms']} false alarm(s) in "
            f"{det['cell_reports']} cell reports; alerts in {det['alerts_file']}"
        )
    if report:
        click.echo(f"twin: report written to {report}")
