"""A simulated gNB that a real near-RT RIC accepts: E2 Setup, KPM reports, RC control.

:class:`E2Node` connects to a RIC over SCTP or the TCP fallback, runs E2
Setup offering E2SM-KPM (RAN function 2) and E2SM-RC (RAN function 3),
accepts E2SM-KPM report subscriptions (event trigger format 1, action
definition format 1, cell or node level) and sends a RIC Indication every
reporting period with the measurements of its :class:`~xtrust.e2sim.model.Cell`
models, applies RC handover and UE-release control and acknowledges it, and
reconnects with backoff (running E2 Setup again) when the RIC goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import DecodeError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import e2
from xtrust.ric.asn1 import kpm, rc
from xtrust.ric.asn1.common import plmn_from_mcc_mnc
from xtrust.ric.asn1.e2ap_fast import encode_indication
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    E2apMessage,
    E2SetupRequest,
    E2SetupResponse,
    RanFunction,
    ResetRequest,
    ResetResponse,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicIndication,
    RicRequestId,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    global_gnb_id,
    parse,
)

from .model import CELL_MEAS_NAMES, UE_MEAS_NAMES, Cell, connect_cells

__all__ = ["KPM_FUNCTION_ID", "MEAS_NAMES", "RC_FUNCTION_ID", "E2Node"]

log = get_logger("e2sim")

KPM_FUNCTION_ID = 2
RC_FUNCTION_ID = 3

#: the TS 28.552 measurements the simulated cells report
MEAS_NAMES = CELL_MEAS_NAMES
_MEAN = {"DRB.UEThpDl", "DRB.UEThpUl", "DRB.RlcSduDelayDl", "RRU.PrbTotDl", "RRU.PrbTotUl"}
#: gauges TS 28.552 defines as the mean over the measurement period: a report gives
#: the mean of the model's steps since the report before, not the last step's value
_PERIOD_MEAN = frozenset({
    "DRB.UEThpDl", "DRB.UEThpUl", "DRB.RlcSduDelayDl", "RRU.PrbTotDl", "RRU.PrbTotUl",
    "RRU.PrbUsedDl", "RRU.PrbUsedUl", "RRC.ConnMean", "DRB.MeanActiveUeDl",
})  # fmt: skip
_STEPS = "#steps"  # the steps counted into a cell's running totals
#: of those, means over the steps that had a sample (a UE with data): an idle step
#: has no throughput or delay, it is not a throughput of 0 (TS 28.552 5.1.1.3)
_ACTIVE_MEAN = frozenset({"DRB.UEThpDl", "DRB.UEThpUl", "DRB.RlcSduDelayDl"})

#: E2SM-KPM test condition types the model can evaluate -> the UE measurement they test
UE_TEST_KEYS = {"cQI": "CQI"}


@functools.lru_cache(maxsize=4096)
def _is_counter(name: str) -> bool:
    """Counters are reported as the change since the last report; the rest are gauges."""
    return name.startswith(("RRC.ConnEstab", "MM.Ho", "RACH.", "CARR.WBCQIDist", "MR.NRScSSSINR"))


def _matches(conditions: Sequence[kpm.TestCondition], values: dict[str, float | int]) -> bool:
    """Matching UE conditions of format 4: AND, except where ``logical_or`` joins two."""
    if not conditions:
        return True
    result: bool | None = None
    join_or = False
    for cond in conditions:
        actual = values.get(UE_TEST_KEYS[cond.test_type])
        wanted = cond.value[1] if cond.value is not None else None
        if cond.expression in (None, "present"):
            ok = actual is not None
        elif actual is None or not isinstance(wanted, int | float):
            ok = False
        elif cond.expression == "equal":
            ok = actual == wanted
        elif cond.expression == "greaterthan":
            ok = actual > wanted
        elif cond.expression == "lessthan":
            ok = actual < wanted
        else:
            ok = False
        result = ok if result is None else (result or ok) if join_or else (result and ok)
        join_or = cond.logical_or
    return bool(result)


COMPONENT = {
    "e2nodeComponentInterfaceType": "ng",
    "e2nodeComponentID": ("e2nodeComponentInterfaceTypeNG", {"amf-name": "amf1"}),
    "e2nodeComponentConfiguration": {
        "e2nodeComponentRequestPart": b"\x00",
        "e2nodeComponentResponsePart": b"\x00",
    },
}


def ran_functions() -> list[RanFunction]:
    # style 1: cell (or node) level, the cell measurements; style 4: condition-based
    # UE-level, the per-UE measurements (TS 28.552 names, E2SM-KPM v3)
    cell = kpm.KpmRanFunctionDefinition.standard(MEAS_NAMES, styles=(1,))
    ue = kpm.KpmRanFunctionDefinition.standard(UE_MEAS_NAMES, styles=(4,))
    kpm_def = dataclasses.replace(cell, report_styles=cell.report_styles + ue.report_styles)
    rc_def = rc.RcRanFunctionDefinition(
        kpm.RanFunctionName(rc.SHORT_NAME, rc.OID, "RAN Control"),
        control_styles=(
            rc.ControlStyle(
                rc.STYLE_CONNECTED_MODE_MOBILITY,
                "Connected Mode Mobility Control",
                (rc.ControlAction(rc.ACTION_HANDOVER, "Handover Control"),),
            ),
            rc.ControlStyle(
                rc.STYLE_RADIO_ACCESS,
                "Radio Access Control",
                (rc.ControlAction(rc.ACTION_RRC_CONNECTION_RELEASE, "RRC Connection Release"),),
            ),
        ),
    )
    return [
        RanFunction(KPM_FUNCTION_ID, kpm_def.encode(), 1, kpm.OID),
        RanFunction(RC_FUNCTION_ID, rc_def.encode(), 1, rc.OID),
    ]


@dataclass
class _Report:
    request_id: RicRequestId
    action_id: int
    period: float
    meas: tuple[str, ...]
    granul_ms: int
    cell: int | None  # NR cell identity, None for the node level
    ue_level: bool = False  # action definition format 4: one format-1 report per UE
    conditions: tuple[kpm.TestCondition, ...] = ()
    task: asyncio.Task[None] | None = None
    sn: int = 0
    #: (cell, counter) -> the cell's running total when this report last read it
    seen: dict[tuple[int, str], float] = field(default_factory=dict)
    #: UE-level reports: the simulated time of the next period end (None: not started)
    #: and the UE values taken at period ends the report has not sent yet
    due: float | None = None
    snaps: deque[tuple[float, list[tuple[int, dict[str, float | int]]]]] = field(
        default_factory=lambda: deque(maxlen=8)
    )

    def __post_init__(self) -> None:
        #: (name, is a counter) of each distinct measurement
        self.kinds = tuple((n, _is_counter(n)) for n in dict.fromkeys(self.meas))


@dataclass
class E2Node:
    """One simulated gNB with its cells; ``run()`` until cancelled."""

    gnb_id: int
    ric_host: str
    ric_port: int
    plmn: str = "001-01"
    n_cells: int = 1
    ues_per_cell: int = 10
    seed: int = 0
    transport: str = "tcp"
    backoff_max: float = 5.0
    #: model step; reporting periods are rounded to whole steps
    step_ms: int = 100
    #: simulated time of the first step (default: now); fix it for repeatable runs
    start_time: float | None = None
    #: simulated seconds per wall-clock second (the twin runs scenarios faster than life)
    speed: float = 1.0
    #: called with the simulated time before each model step (the scenario engine)
    on_step: Callable[[float], None] | None = None
    cells: list[Cell] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mcc, _, mnc = self.plmn.partition("-")
        self.plmn_id = plmn_from_mcc_mnc(mcc, mnc)
        rng = random.Random(f"{self.seed}:{self.gnb_id}")
        if not self.cells:
            for i in range(self.n_cells):
                cell = Cell((self.gnb_id << 4) | (i + 1), pci=(self.gnb_id * 3 + i) % 1008,
                            rng=random.Random(rng.random()))  # fmt: skip
                for _ in range(self.ues_per_cell):
                    cell.add_ue()
                self.cells.append(cell)
        connect_cells(self.cells)  # UEs move between the cells of a node
        self.ran_name = f"gnb_{mcc}_{mnc}_{self.gnb_id:08x}"
        self.reports: dict[tuple[int, int], _Report] = {}
        self.conn: e2.E2Connection | None = None
        self.connected = asyncio.Event()
        self.step_s = self.step_ms / 1000.0
        self.sim_t0 = time.time() if self.start_time is None else self.start_time
        self.sim_now = self.sim_t0
        self.snapshot: dict[int, dict[str, float | int]] = {}
        self.totals: dict[int, dict[str, float]] = {}
        #: per cell: the measurements summed each step, and (measurement, its sample counter)
        self._summed: dict[int, tuple[list[str], list[tuple[str, str]]]] = {}

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def run(self) -> None:
        """Connect, set up, serve; reconnect with exponential backoff forever."""
        delay = 0.1
        while True:
            try:
                await self._session()
                delay = 0.1
            except (OSError, XTrustError) as exc:
                log.info("%s: RIC at %s:%d unavailable (%s); retrying in %.1f s",
                         self.ran_name, self.ric_host, self.ric_port, exc, delay)  # fmt: skip
            finally:
                self.connected.clear()
                await self._stop_reports()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> None:
        conn = await e2.connect(self.ric_host, self.ric_port, transport=self.transport)  # type: ignore[arg-type]
        self.conn = conn
        try:
            setup = E2SetupRequest(1, global_gnb_id(self.plmn_id, self.gnb_id, 32),
                                   ran_functions(), [COMPONENT])  # fmt: skip
            await conn.send(setup.encode())
            reply = parse(await conn.recv())
            if not isinstance(reply, E2SetupResponse):
                raise XTrustError(f"E2 Setup refused: {reply}")
            self.count("setups")
            self.connected.set()
            log.info("%s: E2 Setup done with %s:%d", self.ran_name, self.ric_host, self.ric_port)
            async for pdu in conn:
                try:
                    await self._on_message(parse(pdu))
                except DecodeError as exc:
                    self.count("malformed")
                    log.warning("%s: cannot decode a PDU from the RIC: %s", self.ran_name, exc)
        except e2.E2ConnectionClosed:
            pass
        finally:
            conn.abort()
            self.conn = None

    async def _send(self, msg: E2apMessage | bytes) -> None:
        if self.conn is not None:
            await self.conn.send(msg if isinstance(msg, bytes) else msg.encode())

    async def _on_message(self, msg: E2apMessage) -> None:
        if isinstance(msg, RicSubscriptionRequest):
            await self._subscribe(msg)
        elif isinstance(msg, RicSubscriptionDeleteRequest):
            key = (msg.request_id.requestor_id, msg.request_id.instance_id)
            report = self.reports.pop(key, None)
            if report is not None and report.task is not None:
                report.task.cancel()
            await self._send(RicSubscriptionDeleteResponse(msg.request_id, msg.ran_function_id))
        elif isinstance(msg, RicControlRequest):
            await self._control(msg)
        elif isinstance(msg, ResetRequest):
            await self._stop_reports()
            await self._send(ResetResponse(msg.transaction_id))
        else:
            self.count("ignored")

    async def _subscribe(self, req: RicSubscriptionRequest) -> None:
        key = (req.request_id.requestor_id, req.request_id.instance_id)

        def refuse(cause: Cause) -> E2apMessage:
            self.count("subscriptions_refused")
            return RicSubscriptionFailure(req.request_id, req.ran_function_id, cause)

        if req.ran_function_id != KPM_FUNCTION_ID:
            await self._send(refuse(Cause("ricRequest", "ran-function-id-invalid")))
            return
        try:
            period_ms = kpm.KpmEventTrigger.decode(req.event_trigger).period_ms
        except (DecodeError, XTrustError):
            await self._send(refuse(Cause("ricRequest", "eventTriggerNotSupported")))
            return
        admitted: list[int] = []
        not_admitted: list[tuple[int, Cause]] = []
        new: list[_Report] = []
        for action in req.actions:
            definition = None
            if action.type == "report" and action.definition:
                with contextlib.suppress(DecodeError, XTrustError):
                    definition = kpm.decode_action_definition(action.definition)
            conditions: tuple[kpm.TestCondition, ...] = ()
            if isinstance(definition, kpm.KpmActionDefinitionFormat4):
                conditions = definition.matching_ue_conditions
                if any(c.test_type not in UE_TEST_KEYS for c in conditions):
                    definition = None  # a condition the model cannot evaluate
                else:
                    definition = definition.subscription
                    ue_level = True
            else:
                ue_level = False
            if not isinstance(definition, kpm.KpmActionDefinitionFormat1):
                not_admitted.append((action.id, Cause("ricRequest", "action-not-supported")))
                continue
            names = tuple(str(m.meas_type) for m in definition.meas)
            cell = getattr(definition.cell_global_id, "nr_cell_id", None)
            period = max(self.step_s, round(period_ms / self.step_ms) * self.step_s)
            new.append(_Report(req.request_id, action.id, period, names,
                               definition.granul_period_ms, cell, ue_level, conditions))  # fmt: skip
            admitted.append(action.id)
        if not admitted:
            await self._send(refuse(Cause("ricRequest", "action-not-supported")))
            return
        old = self.reports.pop(key, None)
        if old is not None and old.task is not None:
            old.task.cancel()
        await self._send(RicSubscriptionResponse(req.request_id, req.ran_function_id, admitted,
                                                 not_admitted or None))  # fmt: skip
        report = new[0]  # one report per subscription: the first admitted action
        report.task = asyncio.get_running_loop().create_task(self._report_loop(report))
        self.reports[key] = report
        self.count("subscriptions")

    async def _report_loop(self, report: _Report) -> None:
        try:
            await self._reports(report)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.count("report_errors")
            log.exception("%s: reporting for subscription %s stopped", self.ran_name,
                          report.request_id)  # fmt: skip

    async def _reports(self, report: _Report) -> None:
        loop = asyncio.get_running_loop()
        wall_period = report.period / self.speed
        next_at = loop.time() + wall_period
        # the report's own simulated clock: deterministic whatever the wall clock does
        sim_t = self._grid(self.sim_now) + report.period
        if report.ue_level:
            report.due = sim_t
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += wall_period
            pdu = self.indication_pdu(report, sim_t)
            sim_t += report.period
            if pdu is None:
                continue  # format 4 and no UE matches: nothing to report this period
            try:
                await self._send(pdu)
            except XTrustError:
                return
            self.count("indications")

    def indication_pdu(self, report: _Report, sim_t: float) -> bytes | None:
        """The RIC Indication of ``report`` at simulated time ``sim_t`` (None: nothing to say)."""
        self.advance_to(sim_t)
        header = kpm.KpmIndicationHeader.at(sim_t, sender_name=self.ran_name.replace("_", "-"),
                                            vendor_name="XTRUST e2sim")  # fmt: skip
        message: Any
        if report.ue_level:
            message = kpm.KpmIndicationMessageFormat3(tuple(
                kpm.UeMeasReport(self.ue_id(ue), kpm.KpmIndicationMessageFormat1(
                    records=(tuple(values.get(n) for n in report.meas),),
                    meas_names=report.meas, granul_period_ms=report.granul_ms,
                ))
                for ue, values in self._ue_values_at(report, sim_t)
            ))  # fmt: skip
            if not message.reports:
                return None
        else:
            values = self.report_values(report)
            message = kpm.KpmIndicationMessageFormat1(
                records=(tuple(values.get(n) for n in report.meas),),
                meas_names=report.meas, granul_period_ms=report.granul_ms,
            )  # fmt: skip
        report.sn = (report.sn + 1) % 65536
        ind = RicIndication(report.request_id, KPM_FUNCTION_ID, report.action_id,
                            header.encode(), message.encode(), sn=report.sn)  # fmt: skip
        return encode_indication(ind)

    def _grid(self, t: float) -> float:
        steps = round((t - self.sim_t0) / self.step_s)
        return self.sim_t0 + steps * self.step_s

    def advance_to(self, t: float) -> None:
        """Step every cell in fixed ``step_ms`` steps up to simulated time ``t``."""
        while self.sim_now + self.step_s <= t + 1e-9:
            self.sim_now += self.step_s
            if self.on_step is not None:
                self.on_step(self.sim_now)
            for cell in self.cells:
                cell.step(self.sim_now, self.step_s)
                snap = cell.measurements()
                totals = self.totals.get(cell.cell_id)
                if totals is None:
                    names = [n for n in snap if _is_counter(n) or n in _PERIOD_MEAN]
                    pairs = [(n, "#" + n) for n in names if n in _ACTIVE_MEAN]
                    self._summed[cell.cell_id] = (names, pairs)
                    totals = self.totals[cell.cell_id] = dict.fromkeys(names, 0)
                    totals[_STEPS] = 0
                    for _, count in pairs:
                        totals[count] = 0
                summed, sampled = self._summed[cell.cell_id]
                get = snap.get
                for name in summed:
                    totals[name] += get(name, 0)
                for name, count in sampled:  # steps with a sample of that measurement
                    if get(name, 0) > 0:
                        totals[count] += 1
                totals[_STEPS] += 1
                self.snapshot[cell.cell_id] = snap
            for report in self.reports.values():
                # a UE-level report reads its UEs at its own period end, even when the
                # model has run past it for another subscription's report meanwhile
                due = report.due
                if due is not None and due <= self.sim_now + 0.5 * self.step_s:
                    report.snaps.append((due, self.ue_values(report)))
                    report.due = due + report.period

    def report_values(self, report: _Report) -> dict[str, float | int]:
        """Cell (or node) values for a report: gauges now, counters since its last report."""
        ids = [c.cell_id for c in self.cells if report.cell is None or c.cell_id == report.cell]
        if len(ids) == 1:  # the usual cell-level report: no aggregation
            cid = ids[0]
            snap, totals, seen = self.snapshot.get(cid, {}), self.totals.get(cid, {}), report.seen
            single: dict[str, float | int] = {}
            for name, counter in report.kinds:
                if counter:
                    total = totals.get(name, 0)
                    single[name] = total - seen.get((cid, name), 0)
                    seen[(cid, name)] = total
                elif name in _PERIOD_MEAN:
                    v = self._period_mean(cid, name, report)
                    if v is not None:
                        single[name] = v
                elif name in snap:
                    single[name] = snap[name]
            self._mark_steps(ids, report)
            return single
        out: dict[str, float | int] = {}
        for name, counter in report.kinds:
            vals: list[float] = []
            for cid in ids:
                if counter:
                    total = self.totals.get(cid, {}).get(name, 0)
                    key = (cid, name)
                    vals.append(total - report.seen.get(key, 0))
                    report.seen[key] = total
                elif name in _PERIOD_MEAN:
                    pm = self._period_mean(cid, name, report)
                    if pm is not None:
                        vals.append(pm)
                else:
                    v = self.snapshot.get(cid, {}).get(name)
                    if v is not None:
                        vals.append(v)
            if vals:
                out[name] = round(sum(vals) / len(vals), 2) if name in _MEAN else sum(vals)
        self._mark_steps(ids, report)
        return out

    def _period_mean(self, cid: int, name: str, report: _Report) -> float | None:
        """Mean of ``name`` over the steps since ``report`` last read cell ``cid``."""
        totals = self.totals.get(cid)
        if not totals or name not in totals:
            v = self.snapshot.get(cid, {}).get(name)
            return None if v is None else float(v)
        if name in _ACTIVE_MEAN:
            n_key = "#" + name
            steps = totals[n_key] - report.seen.get((cid, n_key), 0)
            report.seen[(cid, n_key)] = totals[n_key]
            if steps <= 0:  # no UE had data in the whole period
                report.seen[(cid, name)] = totals[name]
                return 0.0
        else:
            steps = totals[_STEPS] - report.seen.get((cid, _STEPS), 0)
        total = totals[name]
        key = (cid, name)
        delta = total - report.seen.get(key, 0)
        report.seen[key] = total
        if steps <= 0:
            v = self.snapshot.get(cid, {}).get(name)
            return None if v is None else float(v)
        return round(delta / steps, 2)

    def _mark_steps(self, ids: list[int], report: _Report) -> None:
        for cid in ids:
            totals = self.totals.get(cid)
            if totals is not None:
                report.seen[(cid, _STEPS)] = totals[_STEPS]

    def _ue_values_at(self, report: _Report, sim_t: float
                      ) -> list[tuple[int, dict[str, float | int]]]:  # fmt: skip
        """The UE values of ``report`` taken at its period end ``sim_t`` (now if none was)."""
        snaps = report.snaps
        found = None
        while snaps and snaps[0][0] <= sim_t + 1e-6:
            found = snaps.popleft()
        if found is not None and abs(found[0] - sim_t) <= 1e-6:
            return found[1]
        return self.ue_values(report)

    def ue_values(self, report: _Report) -> list[tuple[int, dict[str, float | int]]]:
        """(UE, values) of every UE that matches the report's conditions (format 4)."""
        out = []
        for c in self.cells:
            if report.cell is not None and c.cell_id != report.cell:
                continue
            for ue, values in sorted(c.ue_measurements().items()):
                if _matches(report.conditions, values):
                    out.append((ue, values))
        return out

    def ue_id(self, ue: int) -> kpm.GnbUeId:
        return kpm.GnbUeId(ue, kpm.Guami(self.plmn_id, amf_region_id=1, amf_set_id=1,
                                         amf_pointer=0))  # fmt: skip

    async def _control(self, req: RicControlRequest) -> None:
        def failure(cause: Cause) -> E2apMessage:
            self.count("controls_failed")
            return RicControlFailure(req.request_id, req.ran_function_id, cause)

        if req.ran_function_id != RC_FUNCTION_ID:
            await self._send(failure(Cause("ricRequest", "ran-function-id-invalid")))
            return
        try:
            header = rc.RcControlHeader.decode(req.header)
            message = rc.RcControlMessage.decode(req.message)
        except (DecodeError, XTrustError):
            await self._send(failure(Cause("ricRequest", "control-message-invalid")))
            return
        ue = getattr(header.ue_id, "amf_ue_ngap_id", None)
        owner = next((c for c in self.cells if ue in c.ues), None)
        if owner is None or not isinstance(ue, int):
            await self._send(failure(Cause("ricRequest", "control-failed-to-execute")))
            return
        action = (header.style, header.action_id)
        if action == (rc.STYLE_RADIO_ACCESS, rc.ACTION_RRC_CONNECTION_RELEASE):
            owner.release(ue)
        elif action == (rc.STYLE_CONNECTED_MODE_MOBILITY, rc.ACTION_HANDOVER):
            try:
                target = rc.handover_target(message)
            except DecodeError:
                await self._send(failure(Cause("ricRequest", "control-message-invalid")))
                return
            dest = next(
                (c for c in self.cells if c.cell_id == getattr(target, "nr_cell_id", -1)), None
            )
            owner.handover(ue, dest)
        else:
            await self._send(failure(Cause("ricRequest", "action-not-supported")))
            return
        self.count("controls")
        if req.ack_request != "noAck":
            await self._send(RicControlAcknowledge(req.request_id, req.ran_function_id,
                                                   call_process_id=req.call_process_id))  # fmt: skip

    async def _stop_reports(self) -> None:
        for report in self.reports.values():
            if report.task is not None:
                report.task.cancel()
        self.reports.clear()


async def run_nodes(nodes: Sequence[E2Node]) -> None:
    """Run several simulated nodes in this process until cancelled."""
    await asyncio.gather(*(n.run() for n in nodes))
