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
XAPPS = {
    "kpmmon": "KPM monitor (xtrust.xapps.kpmmon): KPM from every node, A1 PRB limit",
    "anomaly": "anomaly and intrusion detection (xtrust.xapps.anomaly): KPM, MobiFlow, "
    "RIC control; alerts over RMR",
    "segmentation": "micro-segmentation (xtrust.xapps.segmentation): RIC-lite's routing and "
    "control admission; quarantine on alerts",
}
#: rApps the twin can run beside the xApps
RAPPS = {
    "policy": "risk-based PDP (xtrust.rapps.policy): alerts raise risk, RIC control admission",
    "xdr": "XDR (xtrust.rapps.xdr): alerts correlated into incidents, a playbook quarantines "
    "the offending xApp through the segmentation",
}


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
    rapps: tuple[str, ...] = ()
    report: str | None = None
    ground_truth: str | None = None
    #: write the MobiFlow v2 control-plane records of every cell here
    mobiflow: str | None = None
    #: record every KPM report the anomaly xApp scores here (JSON lines)
    record_kpm: str | None = None
    start_time: float | None = None
    #: the anomaly xApp's UE-level KPM and per-UE detector (controls.kpm_ue.enabled);
    #: None: as its descriptor says
    ue_kpm: bool | None = None
    #: learn the anomaly xApp's MobiFlow sequence model from benign captures of the
    #: simulator (other seeds, written beside the report) before the run
    mobiflow_model: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        unknown = [x for x in self.xapps if x not in XAPPS]
        for name in unknown:
            raise InputError(f"--xapps: unknown xApp {name!r}; available: {', '.join(XAPPS)}")
        for name in self.rapps:
            if name not in RAPPS:
                raise InputError(f"--rapps: unknown rApp {name!r}; available: {', '.join(RAPPS)}")
        if self.rapps and "anomaly" not in self.xapps:
            raise InputError(
                "--rapps needs the anomaly xApp (--xapps anomaly,...): its alerts feed them"
            )
        if "xdr" in self.rapps and "segmentation" not in self.xapps:
            raise InputError("--rapps xdr needs the segmentation xApp: its playbook quarantines")
        if self.record_kpm and "anomaly" not in self.xapps:
            raise InputError("--record-kpm needs the anomaly xApp (--xapps anomaly,...)")
        if self.mobiflow_model and "anomaly" not in self.xapps:
            raise InputError("--mobiflow-model needs the anomaly xApp (--xapps anomaly,...)")
        if self.nodes < 1 or self.cells_per_node < 1 or self.ues_per_cell < 0:
            raise InputError("nodes and cells per node must be at least 1, UEs at least 0")
        if self.duration is not None and self.duration <= 0:
            raise InputError("--duration must be positive")
        if not 0.1 <= self.speed <= 1000:
            raise InputError("--speed must be between 0.1 and 1000")


def _learn_benign(directory: Path, cfg: TwinConfig) -> Any:
    """The sequence model from 4 x 900 s benign captures of a network like the twin's."""
    from xtrust.xapps.anomaly.sequence import SequenceModel

    from .mobiflow import benign_captures, read_trace

    paths = benign_captures(directory, nodes=cfg.nodes, cells_per_node=cfg.cells_per_node,
                            ues_per_cell=cfg.ues_per_cell, seed=cfg.seed + 1000)  # fmt: skip
    return SequenceModel(margin=2.0).fit([read_trace(p) for p in paths])


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
        appmgr = f"http://127.0.0.1:{ric.http_port}/ric/v1"

        def sim_now() -> float:
            return max(n.sim_now for n in nodes)

        segmentation: Any = None
        anomaly: Any = None
        loop_steps: list[dict[str, Any]] = []
        rogues: list[Any] = []

        async def launch_rogue(order: Any) -> None:
            from .rogue import RogueXApp

            rogue = RogueXApp(
                count=order.count,
                rate=order.rate * cfg.speed,  # the scenario's rate is per simulated second
                nodes=order.nodes,
                cells=order.cells,
                seed=order.seed,
                on_first=lambda: engine.acted(sim_now(), "rogue-xapp", order.nodes),
                ues=lambda meid: [u for c in by_name[meid].cells for u in c.ues],
                ric=ric.rmr_address,
                sdl=sdl,
                rmr_port=0,
                http_port=0,
                host="127.0.0.1",
                env={},
                # registered (so known by name) when the segmentation decides who may send
                appmgr=appmgr if segmentation is not None else None,
            )
            apps.append(rogue)
            rogues.append(rogue)
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
        mobiflow = cfg.mobiflow
        if mobiflow is None and "anomaly" in cfg.xapps:
            mobiflow = str(gt_path.with_name("mobiflow.txt"))
        if mobiflow:
            from .mobiflow import MobiflowWriter

            # with the anomaly xApp, records also go to the SDL stream it reads
            writer = MobiflowWriter(mobiflow, plmn="00101", seed=cfg.seed,
                                    keep_for_sdl="anomaly" in cfg.xapps)  # fmt: skip
            writer.watch([c for n in nodes for c in n.cells])
        seq_model: Any = None
        if cfg.mobiflow_model and "anomaly" in cfg.xapps:
            # before the nodes start: simulated time must not run while it learns
            say("learning the MobiFlow sequence model from benign captures")
            seq_model = await asyncio.to_thread(
                _learn_benign, gt_path.parent / "mobiflow-benign", cfg
            )
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
            if "segmentation" in cfg.xapps:
                from xtrust.xapps.segmentation import parse_policy
                from xtrust.xapps.segmentation.app import DESCRIPTOR as SEG_DESCRIPTOR
                from xtrust.xapps.segmentation.app import SegmentationXApp

                seg_config = _descriptor(SEG_DESCRIPTOR, gt_path.parent, {
                    "policy": None, "output_dir": None,
                    "audit_log": str(gt_path.with_name("segmentation-audit.jsonl")),
                })  # fmt: skip
                segmentation = SegmentationXApp(
                    config=seg_config, policy=parse_policy(twin_policy(list(by_name)), "<twin>"),
                    ric_lite=ric, ric=ric.rmr_address, sdl=sdl, rmr_port=0, http_port=0,
                    host="127.0.0.1", env={}, appmgr=appmgr, clock=sim_now,
                )  # fmt: skip
                await segmentation.start()
                apps.append(segmentation)
            on_alert = None
            if cfg.rapps:
                on_alert = await _start_rapps(cfg, ric, segmentation, sim_now, gt_path,
                                              loop_steps, tasks)  # fmt: skip
            if "anomaly" in cfg.xapps:
                from xtrust.xapps.anomaly.app import DESCRIPTOR as ANOMALY_DESCRIPTOR
                from xtrust.xapps.anomaly.app import AnomalyXApp

                an_controls: dict[str, Any] = {
                    "period_ms": cfg.period_ms,
                    "record_kpm": cfg.record_kpm,
                    # with the rApps, the response goes through the PDP and the XDR playbook
                    "response": {"quarantine": not cfg.rapps},
                    "mobiflow": {"file": None, "sdl": True, "window": 5000},
                    "alerts": {"jsonl": str(gt_path.with_name("alerts.jsonl")),
                               "stix": str(gt_path.with_name("alerts.stix.jsonl")), "rmr": True},
                }  # fmt: skip
                if cfg.ue_kpm is not None:
                    ue_doc = json.loads(ANOMALY_DESCRIPTOR.read_text())["controls"].get("kpm_ue")
                    an_controls["kpm_ue"] = {**(ue_doc or {}), "enabled": cfg.ue_kpm}
                an_config = _descriptor(ANOMALY_DESCRIPTOR, gt_path.parent, an_controls)
                anomaly = AnomalyXApp(
                    config=an_config, ric=ric.rmr_address, sdl=sdl, rmr_port=0, http_port=0,
                    host="127.0.0.1", env={}, appmgr=appmgr, clock=sim_now,
                    cells={n.ran_name: [c.cell_id for c in n.cells] for n in nodes},
                    on_alert=on_alert,
                )  # fmt: skip
                anomaly.mobiflow.model = seq_model
                await anomaly.start()
                apps.append(anomaly)
                if writer is not None:
                    tasks.append(asyncio.create_task(_publish_mobiflow(writer, sdl)))
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
            "start_time": start_time,
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
            "detection": _detection(cfg, gt_path, anomaly, segmentation, rogues),
        }
        if cfg.rapps:
            report["response"] = {"rapps": list(cfg.rapps), "steps": loop_steps}
    if cfg.report:
        _write_json(Path(cfg.report), report)
    return report


#: the XDR playbook of the twin: contain an xApp that controls the RAN like a rogue
TWIN_PLAYBOOK = {
    "version": 1,
    "playbooks": [{
        "name": "contain-rogue-xapp",
        "match": {"attack_class": ["rogue-control"], "entity_kind": ["xapp"]},
        "steps": [{"action": "quarantine", "reason": "XDR {incident}: {classes}"}],
    }],
}  # fmt: skip

#: the PDP's risk threshold in the twin, and how often (simulated s) the XDR responds
TWIN_RISK_THRESHOLD = 15
XDR_CYCLE_S = 2.0

#: what each xApp of the twin may control (RAN function ids), for the PDP
_SUBJECTS = {"kpm-monitor": (2,), "xtrust-anomaly": (2, 3), "rogue-xapp": (2, 3),
             "xtrust-segmentation": ()}  # fmt: skip


async def _start_rapps(cfg: TwinConfig, ric: Any, segmentation: Any, sim_now: Any,
                       gt_path: Path, steps: list[dict[str, Any]],
                       tasks: list[asyncio.Task[Any]]) -> Any:  # fmt: skip
    """Start the rApps of ``cfg.rapps``; the callback that hands them the anomaly alerts.

    Each step of the response (alert, risk raised, control denied, quarantine) is
    appended to ``steps`` with its simulated time."""
    from xtrust.ric.platform.hooks import AllOf
    from xtrust.xapps.anomaly.alerts import AlertRecord, iso

    pdp: Any = None
    if "policy" in cfg.rapps:
        from xtrust.rapps.policy import Pdp, RiskAdmission, Subject, parse_alerts

        # zero trust in the twin: one medium alert (risk 15) on an xApp blocks its controls
        pdp = Pdp(subjects=[Subject(name, "xapp", zone="ric", ran_functions=funcs)
                            for name, funcs in _SUBJECTS.items()], threshold=TWIN_RISK_THRESHOLD)  # fmt: skip
        risk_hook = RiskAdmission(pdp)
        ric.submgr.admission = AllOf(ric.submgr.admission, risk_hook)
        ric.submgr.subscription_admission = AllOf(ric.submgr.subscription_admission, risk_hook)

        def on_control(doc: dict[str, Any]) -> None:
            if not doc["allowed"] and "xtrust-policy" in str(doc.get("reason")):
                steps.append({"step": "control-denied", "time": sim_now(),
                              "subject": doc.get("sender"), "reason": doc.get("reason")})  # fmt: skip

        ric.control_listeners.append(on_control)
    engine: Any = None
    xdr: Any = None
    if "xdr" in cfg.rapps:
        from xtrust.rapps.xdr import ResponseEngine, Xdr, parse_playbooks

        xdr = Xdr("twin", window=300)
        engine = ResponseEngine(parse_playbooks(TWIN_PLAYBOOK, "<twin playbook>"),
                                segmentation=segmentation,
                                audit_path=gt_path.with_name("xdr-audit.jsonl"))  # fmt: skip

    async def respond_every(period_s: float) -> None:
        """The XDR's response cycle: every ``period_s`` simulated seconds."""
        while True:
            await asyncio.sleep(period_s / cfg.speed)
            for entry in await engine.respond(xdr.incidents()):
                steps.append(
                    {
                        **entry,
                        "playbook_step": entry.get("step"),
                        "step": "playbook",
                        "time": sim_now(),
                    }
                )

    if xdr is not None:
        tasks.append(asyncio.get_running_loop().create_task(respond_every(XDR_CYCLE_S)))

    def on_alert(alert: AlertRecord) -> None:
        steps.append({"step": "alert", "time": alert.time, "entity": alert.entity_id,
                      "attack_class": alert.attack_class, "score": alert.score})  # fmt: skip
        doc = alert.to_json()
        if pdp is not None and alert.entity_kind == "xapp" and alert.entity_id in pdp.subjects:
            # the PDP decays behaviour on the wall clock; the twin's clock runs ahead
            found, _ = parse_alerts({**doc, "time": iso(time.time())})
            for a in found:
                pdp.risk.behaviour.add(a)
            risk = pdp.risk_of(alert.entity_id)
            steps.append({"step": "risk", "time": sim_now(), "subject": alert.entity_id,
                          "risk": risk["risk"], "threshold": risk["threshold"]})  # fmt: skip
        if xdr is not None:
            xdr.ingest(doc)

    return on_alert


async def _publish_mobiflow(writer: Any, sdl: Any, every: float = 0.05) -> None:
    """Publish the MobiFlow records written since the last call to the SDL stream."""
    while True:
        await asyncio.sleep(every)
        await writer.publish(sdl)


def twin_policy(node_names: list[str]) -> dict[str, Any]:
    """The segmentation policy of the twin: RIC-lite as the platform, the twin's xApps
    in a trusted zone (the rogue xApp too: a vetted app gone rogue), the security
    xApps in their own zone, the E2 nodes as the critical assets."""
    ctl_mtypes = ["RIC_CONTROL_REQ"]
    sub = ["RIC_SUB_REQ", "RIC_SUB_DEL_REQ"]
    a1 = ["A1_POLICY_RESP", "A1_POLICY_QUERY"]
    apps = {
        "kpm-monitor": sub + a1,
        "xtrust-anomaly": sub + ctl_mtypes + ["XTRUST_ALERT", "XTRUST_QUARANTINE_REQ"],
        "rogue-xapp": sub + ctl_mtypes + a1,
    }
    # service-style RMR endpoints, as on O-RAN SC; RIC-lite knows the apps by the
    # names they register with, whatever port they listen on
    assets: dict[str, Any] = {
        "ric-lite": {"kind": "ric-platform", "zone": "platform", "rmr": "ric-lite:4560"},
        "kpm-monitor": {"kind": "xapp", "zone": "apps", "rmr": "kpm-monitor:4560"},
        "rogue-xapp": {"kind": "xapp", "zone": "apps", "rmr": "rogue-xapp:4560"},
        "xtrust-anomaly": {"kind": "xapp", "zone": "security", "rmr": "xtrust-anomaly:4560"},
        "xtrust-segmentation": {
            "kind": "xapp",
            "zone": "security",
            "rmr": "xtrust-segmentation:4560",
        },
    }
    flows: list[dict[str, Any]] = [
        {"from": app, "to": "ric-lite", "type": "rmr", "mtypes": m} for app, m in apps.items()
    ]
    flows.append({"from": "ric-lite", "to": "xtrust-segmentation", "type": "rmr",
                  "mtypes": ["XTRUST_ALERT", "XTRUST_QUARANTINE_REQ"]})  # fmt: skip
    for asset in node_names:  # E2 nodes by RAN name: what control admission sees
        assets[asset] = {"kind": "e2node", "zone": "ran"}
        for app in ("rogue-xapp", "xtrust-anomaly"):
            flows.append({"from": app, "to": asset, "type": "e2-control", "ran_functions": [3]})
    return {
        "version": 1,
        "zones": {
            "ran": {"trust": "critical"},
            "platform": {"trust": "platform"},
            "security": {"trust": "trusted"},
            "apps": {"trust": "trusted"},
            "quarantine": {"trust": "quarantine"},
        },
        "assets": assets,
        "flows": flows,
    }


def _descriptor(path: Path, folder: Path, controls: dict[str, Any]) -> str:
    """A copy of the descriptor at ``path`` with ``controls`` updated, in ``folder``."""
    doc = json.loads(path.read_text())
    doc.setdefault("controls", {}).update(controls)
    out = folder / f"{doc['name']}.config-file.json"
    _write_json(out, doc)
    return str(out)


def _detection(cfg: TwinConfig, gt_path: Path, anomaly: Any, segmentation: Any,
               rogues: list[Any]) -> dict[str, Any]:  # fmt: skip
    if anomaly is None:
        return {"evaluated": False,
                "reason": "the anomaly xApp did not take part (--xapps anomaly[,segmentation])"}  # fmt: skip
    from .evaluate import evaluate

    result = evaluate(
        _read_jsonl(gt_path), [a.to_json() for a in anomaly.alerts],
        reports=anomaly.counters.get("kpm_reports", 0), period_s=cfg.period_ms / 1000,
    )  # fmt: skip
    result["alerts_file"] = str(gt_path.with_name("alerts.jsonl"))
    result["anomaly_counters"] = dict(anomaly.counters)
    model = anomaly.mobiflow.model
    if model is not None:
        result["mobiflow_model"] = {"training_traces": len(model.training_scores),
                                    "threshold_bits": round(model.threshold, 3)}  # fmt: skip
    if segmentation is not None:
        result["quarantine"] = [{**m, "time_iso": _iso(m["time"])} for m in segmentation.moves]
        result["segmentation_counters"] = dict(segmentation.counters)
        for row in result["episodes"]:
            if row["label"] != "rogue-xapp":
                continue
            # the first quarantine since the app was launched (the ground truth rounds
            # to the millisecond: a move in the same step as the onset may stamp before it)
            since = row.get("armed", row["start"])
            move = next((m for m in segmentation.moves if m["action"] == "quarantine"
                         and m["time"] >= since), None)  # fmt: skip
            if move is not None:
                row["quarantined_at"] = move["time"]
                row["quarantine_delay_s"] = round(max(0.0, move["time"] - row["start"]), 3)
    if rogues:
        result["rogue_controls"] = {
            k: sum(r.results.get(k, 0) for r in rogues)
            for k in ("ack", "failure", "timeout", "error")
        }
    return result


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


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
