"""The anomaly and intrusion detection xApp: the detectors of this package, live.

:class:`AnomalyXApp` runs on the SDK (:class:`xtrust.ric.xapp.XApp`) against
RIC-lite or an O-RAN SC near-RT RIC:

* **KPM**: subscribes to E2SM-KPM on every E2 node as it appears in the RNIB,
  one cell-level subscription (action definition format 1 with the cell's
  NR CGI) per cell it knows of (``controls.cells``, the RNIB's served cells, or
  the ``cells`` argument), else one node-level subscription; every report goes
  to the per-cell :class:`~.kpm.KpmDetector`, timed by the indication header's
  collection start time (so a simulated clock stays simulated).
* **UE-level KPM** (``controls.kpm_ue.enabled``): per cell also a UE-level
  subscription (REPORT style 4: action definition format 4 whose matching-UE
  condition holds for every connected UE, answered with indication message
  format 3, one measurement report per UE) of the measurements the per-UE
  detector reads (:data:`~.ue.UE_MEASUREMENTS`, those the node offers in style 4
  of its RAN function definition when it lists that style); each period's UE
  reports go to :class:`~.ue.UeDetector`, whose alerts name the UE
  (``<cell>/<ue id>``, class ``ue-flood``).
* **RIC Control**: ``XTRUST_CONTROL_REPORT`` messages from RIC-lite (every
  control request it saw, allowed or not) feed :class:`ControlWatch`, which
  flags an xApp sending a burst of controls (``rogue-control``).
* **MobiFlow**: records from a file being written (followed like ``tail -f``)
  or from the SDL (namespace ``mobiflow``, channel events ``ue:<first>-<last>``,
  as :meth:`xtrust.e2sim.mobiflow.MobiflowWriter.publish` writes them) go to
  :class:`MobiflowWatch`, which runs the known-attack rules over a sliding
  window of records.

Each detection becomes one :class:`~.alerts.AlertRecord` per episode (an
entity and class that alerted within ``realert_s`` is not alerted again),
delivered to the configured sinks (JSON lines, STIX 2.1, webhook, RMR
``XTRUST_ALERT``) and counted in ``/metrics``. Response hooks: an
``XTRUST_QUARANTINE_REQ`` to the segmentation xApp for an xApp entity, and an
optional E2SM-RC UE release for an attacking UE (rate limited, allow list).

A malformed indication, control report or record is counted and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from xtrust._fields import FieldChecker
from xtrust.e2sim.mobiflow import SDL_CHANNEL, SDL_NAMESPACE, UeRecord, parse_line
from xtrust.errors import ConfigError, XTrustError
from xtrust.ric import mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.xapp import Indication, Message, XApp, handles

from .alerts import (
    AlertCounters,
    AlertRecord,
    EntityKind,
    EpisodeGate,
    Feature,
    JsonlSink,
    RmrSink,
    WebhookSink,
    close_sinks,
)
from .detector import UNKNOWN_ANOMALY, expand_paths, load_trace
from .kpm import Alert as KpmAlert
from .kpm import KpmConfig, KpmDetector
from .kpm_trace import KpmRecorder
from .mobiflow_rules import RuleHit
from .multivariate import BatchDetector, MvConfig
from .sequence import SequenceModel
from .ue import UE_MEASUREMENTS, UeAlert, UeConfig, UeDetector
from .watch import MobiflowWatch, ModelWorker, model_hits

__all__ = ["DESCRIPTOR", "AnomalyXApp", "ControlWatch", "MobiflowWatch", "ue_config"]

#: the descriptor shipped with the xApp (deploy/anomaly/config-file.json is the same file)
DESCRIPTOR = Path(__file__).with_name("config-file.json")

#: measurements the cell-level detector reads
KPM_MEASUREMENTS = (
    "DRB.UEThpDl", "RRU.PrbTotDl", "RRC.ConnEstabAtt", "RRC.ConnEstabSucc",
    "RRC.ConnEstabFailCause.NetworkReject", "RRC.ConnEstabFailCause.NoReply", "RRC.ConnMean",
    "DRB.MeanActiveUeDl",
    *(f"CARR.WBCQIDist.Bin{i}.Bin1.Bin1" for i in range(16)),
    *(f"MR.NRScSSSINR.Bin{i}" for i in range(1, 9)),
)  # fmt: skip


#: the matching-UE condition of the UE-level subscription: every connected UE has a
#: wideband CQI (0..15), so "CQI > -1" selects them all (format 4 needs at least one
#: condition: asking for every UE takes one that always holds)
ALL_UES = kpm.TestCondition("cQI", "greaterthan", ("valueInt", -1))
#: the REPORT style of common condition-based, UE-level measurement (E2SM-KPM v3)
UE_LEVEL_STYLE = 4


def _typed(ctx: FieldChecker, value: Any, want: type, where: str) -> Any:
    """``value`` checked as a value of ``want`` (bool, int, or any finite number)."""
    if want is bool:
        return ctx.boolean(value, where)
    if want is int:
        return ctx.integer(value, where, -sys.maxsize)
    return ctx.number(value, where, -math.inf)


def ue_config(raw: Any, source: str = "anomaly xApp") -> tuple[bool, UeConfig]:
    """``controls.kpm_ue``: (enabled, the detector's :class:`~.ue.UeConfig`).

    A mapping of ``enabled`` (bool, default false) and :class:`~.ue.UeConfig`
    fields; an unknown field, a value of the wrong type or out of range raises
    :class:`~xtrust.errors.ConfigError` naming ``controls.kpm_ue.<field>``.
    """
    base = "controls.kpm_ue"
    ctx = FieldChecker(source)
    doc = ctx.mapping({} if raw is None else raw, base)
    defaults = UeConfig()
    fields = {f.name for f in dataclasses.fields(UeConfig)}
    ctx.unknown_keys(doc, base, {"enabled", *fields})
    enabled = ctx.boolean(doc.get("enabled", False), f"{base}.enabled")
    values = {name: _typed(ctx, value, type(getattr(defaults, name)), f"{base}.{name}")
              for name, value in doc.items() if name != "enabled"}  # fmt: skip
    try:
        return enabled, UeConfig(**values)
    except ConfigError as exc:
        message = exc.message.removeprefix(f"{exc.source}: ").removeprefix(f"{exc.field}: ")
        raise ConfigError(message, field=f"{base}.{exc.field}", source=source) from None


def mobiflow_config(raw: Any, source: str = "anomaly xApp"
                    ) -> tuple[MobiflowWatch, list[Path], float]:  # fmt: skip
    """``controls.mobiflow``: the watch, the benign traces to learn from, the model margin.

    Fields: ``file`` (a trace to follow), ``sdl`` (read the SDL stream),
    ``namespace``, ``window`` (records the rules look at, 5000), ``memory``
    (S-TMSI holders remembered past the window, 100000), ``benign`` (files or
    directories of benign traces of this network: the sequence model is learnt
    from them at start; none: rules only), ``model_margin`` (bits over the
    benign leave-one-out scores, 2.0) and ``model_every_s`` (seconds of stream
    between model scans, 10). A bad value raises :class:`ConfigError` naming
    ``controls.mobiflow.<field>``.
    """
    base = "controls.mobiflow"
    ctx = FieldChecker(source)
    doc = ctx.mapping({} if raw is None else raw, base)
    ctx.unknown_keys(doc, base, {"file", "sdl", "namespace", "window", "memory", "benign",
                                 "model_margin", "model_every_s"})  # fmt: skip
    window = ctx.integer(doc.get("window", 5000), f"{base}.window", 1)
    memory = ctx.integer(doc.get("memory", 100_000), f"{base}.memory", 1)
    margin = ctx.number(doc.get("model_margin", 2.0), f"{base}.model_margin", 0.0)
    every = ctx.number(doc.get("model_every_s", 10.0), f"{base}.model_every_s", 0.1)
    benign = doc.get("benign") or []
    if isinstance(benign, str):
        benign = [benign]
    if not isinstance(benign, list) or not all(isinstance(b, str) for b in benign):
        raise ctx.err(f"{base}.benign", "must be a path or a list of paths")
    try:
        paths = expand_paths(benign)
    except XTrustError as exc:
        raise ctx.err(f"{base}.benign", exc.message) from None
    if benign and not paths:
        raise ctx.err(f"{base}.benign", "no trace files (*.csv) in the paths given")
    watch = MobiflowWatch(window, memory=memory, model_every_s=every)
    return watch, paths, margin


#: MobiFlow rule name -> attack class of the alert format
RULE_CLASSES = {
    "null_cipher_integrity": "null-cipher",
    "blind_dos_tmsi": "blind-dos",
    "bts_resource_depletion": "fake-bs",
    "identity_extraction": "identity-extraction",
    UNKNOWN_ANOMALY: "unknown-sequence",
}


@dataclass
class ControlWatch:
    """Rogue-control detection from RIC-lite's control reports.

    An xApp whose controls within ``window_s`` reach ``burst`` (or whose denied
    controls reach ``denied_burst``: an app probing what it may not do) is
    flagged ``rogue-control``; the score is the count over the limit.
    """

    window_s: float = 1.0
    burst: int = 5
    denied_burst: int = 3
    times: dict[str, deque[tuple[float, bool, str]]] = field(default_factory=dict)

    def update(self, doc: Mapping[str, Any], source: str) -> AlertRecord | None:
        sender = doc.get("sender") or doc.get("endpoint")
        t = doc.get("time")
        if not isinstance(sender, str) or not isinstance(t, int | float):
            raise ValueError("control report without sender or time")
        allowed = bool(doc.get("allowed", True))
        node = str(doc.get("node") or "")
        q = self.times.setdefault(sender, deque())
        q.append((float(t), allowed, node))
        while q and q[0][0] < t - self.window_s:
            q.popleft()
        n = len(q)
        denied = sum(1 for _, ok, _ in q if not ok)
        if n < self.burst and denied < self.denied_burst:
            return None
        score = max(n / self.burst, denied / self.denied_burst)
        nodes = sorted({x[2] for x in q if x[2]})
        return AlertRecord(
            "xapp", sender, "rogue-control", score, float(t), source=source,
            features=(Feature("controls_in_window", n, None, None),
                      Feature("denied_in_window", denied, None, None)),
            evidence=(f"{n} RIC control requests in {self.window_s:g} s "
                      f"({denied} denied) to {', '.join(nodes) or 'unknown nodes'}",),
            onset=q[0][0],
        )  # fmt: skip


class AnomalyXApp(XApp):
    """The anomaly and intrusion detection xApp (see the module documentation)."""

    name = "xtrust-anomaly"
    policy_types: ClassVar[dict[int, dict[str, Any] | None]] = {}

    def __init__(
        self,
        *args: Any,
        cells: Mapping[str, Iterable[int]] | None = None,
        on_alert: Callable[[AlertRecord], None] | None = None,
        clock: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("config", str(DESCRIPTOR))
        super().__init__(*args, **kwargs)
        ctl = self.controls
        try:
            self.kpm_config = KpmConfig(**dict(ctl.get("kpm") or {}))
        except TypeError as exc:
            raise ConfigError(str(exc), field="controls.kpm", source="anomaly xApp") from None
        cw = dict(ctl.get("control_watch") or {})
        self.control_watch = ControlWatch(
            window_s=float(cw.get("window_s", 1.0)), burst=int(cw.get("burst", 5)),
            denied_burst=int(cw.get("denied_burst", 3)),
        )  # fmt: skip
        self.detector = KpmDetector(self.kpm_config)
        # the multivariate batch detector (experimental, off by default): reports are
        # collected per reporting period and scored together when the next one starts
        mv = dict(ctl.get("kpm_multivariate") or {})
        self.mv: BatchDetector | None = None
        if mv.pop("enabled", False):
            try:
                self.mv = BatchDetector(MvConfig(**mv))
            except TypeError as exc:
                raise ConfigError(str(exc), field="controls.kpm_multivariate",
                                  source="anomaly xApp") from None  # fmt: skip
        self._batches: dict[float, list[tuple[tuple[str, int | None], dict[str, float]]]] = {}
        # the per-UE detector on UE-level KPM (controls.kpm_ue)
        self.ue_enabled, self.ue_config = ue_config(ctl.get("kpm_ue"))
        self.ue_detector: UeDetector | None = (
            UeDetector(self.ue_config) if self.ue_enabled else None
        )
        self.gate = EpisodeGate(float(ctl.get("realert_s", 30.0)))
        self.mobiflow, self._benign, self._margin = mobiflow_config(ctl.get("mobiflow"))
        self._model_task: asyncio.Task[None] | None = None
        self._model_worker: ModelWorker | None = None
        self._model_in_thread = False  # no worker process could be had
        self.cells: dict[str, list[int]] = {k: list(v) for k, v in (cells or {}).items()}
        for node, ids in (ctl.get("cells") or {}).items():
            self.cells.setdefault(str(node), [int(c) for c in ids])
        self.cell_node: dict[int, str] = {c: n for n, ids in self.cells.items() for c in ids}
        self.on_alert = on_alert
        #: time of control reports (default: the time RIC-lite stamped on them); the
        #: twin passes its simulated clock
        self.clock = clock
        self.alerts: deque[AlertRecord] = deque(maxlen=10_000)
        self.counters: dict[str, int] = {}
        self.subscribed: set[str] = set()
        self.sinks: list[Any] = []
        self.released: deque[float] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self.recorder: KpmRecorder | None = None
        if ctl.get("record_kpm"):
            self.recorder = KpmRecorder(str(ctl["record_kpm"]))
        self._alert_counters = AlertCounters(self.metrics)
        self._skipped = self.metrics.counter(
            "xtrust_anomaly_skipped", "malformed inputs counted and skipped", ["input"]
        )
        self._reports = self.metrics.counter(
            "xtrust_anomaly_reports", "reports and records scored", ["input"]
        )

    # ------------------------------------------------------------ lifecycle
    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    async def on_start(self) -> None:
        out = dict(self.controls.get("alerts") or {})
        if out.get("jsonl") or out.get("stix"):
            self.sinks.append(JsonlSink(out.get("jsonl") or "/dev/null", stix=out.get("stix")))
        if out.get("webhook"):
            self.sinks.append(WebhookSink(str(out["webhook"]), stix=bool(out.get("webhook_stix"))))
        if out.get("rmr", True):
            self.sinks.append(RmrSink(self.send))
        if self._benign:
            self.mobiflow.model = await asyncio.to_thread(self._learn, self._benign)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._discover()))
        mf = dict(self.controls.get("mobiflow") or {})
        if mf.get("file"):
            self._tasks.append(loop.create_task(self._follow(Path(str(mf["file"])))))
        if mf.get("sdl"):
            self._tasks.append(loop.create_task(self._sdl_records(str(mf.get("namespace")
                                                                      or SDL_NAMESPACE))))  # fmt: skip

    async def on_stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._model_task is not None and not self._model_task.done():
            self._model_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._model_task
        if self._model_worker is not None:
            self._model_worker.close()
            self._model_worker = None
        if self.mv is not None:
            self._flush_batches()
        await close_sinks(self.sinks)
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None

    # ------------------------------------------------------------ KPM
    async def _discover(self) -> None:
        """Subscribe to every E2 node in the RNIB, now and as nodes appear."""
        ctl = self.controls
        period = int(ctl.get("period_ms", 1000))
        function = int(ctl.get("ran_function", 2))
        meas = list(ctl.get("measurements") or KPM_MEASUREMENTS)
        while True:
            try:
                for node in await self.rnib.list_nodebs():
                    name = node.inventory_name
                    if name in self.subscribed:
                        continue
                    info = await self.rnib.get_nodeb(name)
                    cells = self.cells.get(name) or _served_cells(info)
                    plmn = _plmn(info)
                    self.subscribed.add(name)
                    ue_meas: tuple[str, ...] = ()
                    if self.ue_detector is not None:
                        ue_meas = _ue_measurements(info, function)
                        if not ue_meas:
                            self.count("ue_level_not_offered")
                            self.log.warning("%s offers none of %s at UE level: per-UE "
                                             "detection off there", name, UE_MEASUREMENTS)  # fmt: skip
                    cell_meas = _cell_measurements(info, function, meas)
                    for cell in cells or (None,):
                        await self._subscribe(name, function, cell_meas, period, plmn, cell)
                        if ue_meas:
                            await self._subscribe_ue(name, function, ue_meas, period, plmn, cell)
            except XTrustError as exc:
                self.log.warning("node discovery: %s", exc)
            await asyncio.sleep(1.0)

    async def _subscribe(self, node: str, function: int, meas: list[str], period: int,
                         plmn: bytes, cell: int | None) -> None:  # fmt: skip
        cgi = kpm.NrCgi(plmn, cell) if cell is not None else None
        action = kpm.KpmActionDefinitionFormat1(tuple(kpm.MeasInfo(m) for m in meas), period,
                                                cell_global_id=cgi)  # fmt: skip
        key = (node, cell)
        if cell is not None:
            self.cell_node[cell] = node

        async def on_report(ind: Indication) -> None:
            self.on_kpm(key, ind)

        await self.subscribe(node, function, kpm.KpmEventTrigger(period), action,
                             handler=on_report, model="kpm")  # fmt: skip
        self.count("subscriptions")

    async def _subscribe_ue(self, node: str, function: int, meas: tuple[str, ...], period: int,
                            plmn: bytes, cell: int | None) -> None:  # fmt: skip
        """The UE-level subscription of one cell: format 4, every connected UE."""
        cgi = kpm.NrCgi(plmn, cell) if cell is not None else None
        sub = kpm.KpmActionDefinitionFormat1(tuple(kpm.MeasInfo(m) for m in meas), period,
                                             cell_global_id=cgi)  # fmt: skip
        action = kpm.KpmActionDefinitionFormat4((ALL_UES,), sub, style=UE_LEVEL_STYLE)
        key = (node, cell)

        async def on_report(ind: Indication) -> None:
            self.on_kpm_ue(key, ind)

        await self.subscribe(node, function, kpm.KpmEventTrigger(period), action,
                             handler=on_report, model="kpm")  # fmt: skip
        self.count("subscriptions_ue")

    def on_kpm_ue(self, key: tuple[str, int | None], ind: Indication) -> None:
        """Score one UE-level KPM indication (message format 3) of cell ``key``.

        Every UE report is one entry of the period; a report that cannot be read
        (no measurement names, values not matching them, a UE ID without a number)
        is counted in ``malformed_ue_reports`` and skipped, the rest of the period
        is scored; an indication that is not format 3 at all is skipped whole.
        """
        if self.ue_detector is None:
            return
        try:
            t = float(ind.header.unix_time)
            reports = ind.message.reports
            if not math.isfinite(t) or not isinstance(reports, tuple | list):
                raise ValueError("not a UE-level report")
        except (AttributeError, XTrustError, TypeError, ValueError):
            self.count("malformed_ue_indications")
            self._skipped.labels("kpm_ue").inc()
            return
        period: dict[int, dict[str, float]] = {}
        for rep in reports:
            try:
                ue = _ue_number(rep.ue_id)
                rows = rep.report.rows()
                row = rows[-1]  # the latest record of the period
            except (AttributeError, IndexError, XTrustError, TypeError, ValueError):
                self.count("malformed_ue_reports")
                self._skipped.labels("kpm_ue").inc()
                continue
            period[ue] = {str(k): float(v) for k, v in row.items()
                          if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
        if not period:
            return
        skipped = self.ue_detector.skipped
        alerts = self.ue_detector.update(t, key, period)
        unusable = self.ue_detector.skipped - skipped
        if unusable:
            self.count("malformed_ue_reports", unusable)
            self._skipped.labels("kpm_ue").inc(unusable)
        scored = len(period) - unusable
        self.count("kpm_ue_reports", scored)
        self._reports.labels("kpm_ue").inc(scored)
        for alert in alerts:
            self._emit_ue(key, alert)

    def _emit_ue(self, key: tuple[str, int | None], alert: UeAlert) -> None:
        node, cell = key
        ident = f"{cell if cell is not None else node}/{alert.ue}"
        record = AlertRecord(
            "ue", ident, alert.attack_class, alert.score, alert.time, source=self.name,
            node=node,
            features=tuple(Feature(d.name, d.value, d.baseline, d.z) for d in alert.features),
            evidence=(f"UE {alert.ue} of cell {cell if cell is not None else node}: "
                      f"{len(alert.features)} UE-level KPM feature(s) deviated (per-UE "
                      "detector)",),
        )  # fmt: skip
        self.emit(record)

    def on_kpm(self, key: tuple[str, int | None], ind: Indication) -> None:
        """Score one KPM indication of cell ``key`` = (node, cell or None)."""
        try:
            t = float(ind.header.unix_time)
            rows = ind.message.rows()
        except (AttributeError, XTrustError, TypeError, ValueError):
            self.count("malformed_indications")
            self._skipped.labels("kpm").inc()
            return
        for row in rows:
            values = {str(k): v for k, v in row.items() if isinstance(v, int | float)}
            self.count("kpm_reports")
            self._reports.labels("kpm").inc()
            if self.recorder is not None:
                self.recorder.write(t, key[0], key[1], values)
            alert = self.detector.update(key, t, values)
            if alert is not None:
                self._emit_kpm(key, alert)
            if self.mv is not None:
                self._batches.setdefault(t, []).append((key, values))
        if self.mv is not None:
            self._flush_batches(before=t)

    def _flush_batches(self, before: float | None = None) -> None:
        """Score the collected periods older than ``before`` (all when None) as batches."""
        assert self.mv is not None
        for tp in sorted(self._batches):
            if before is not None and tp >= before:
                break
            batch = self._batches.pop(tp)
            for alert in self.mv.update(tp, [k for k, _ in batch], [v for _, v in batch]):
                key = alert.cell if isinstance(alert.cell, tuple) else (str(alert.cell), None)
                self._emit_kpm(key, alert, relative=True, source="multivariate")

    def _emit_kpm(self, key: tuple[str, int | None], alert: KpmAlert, *, relative: bool = False,
                  source: str = "univariate") -> None:  # fmt: skip
        node, cell = key
        kind: EntityKind = "cell" if cell is not None else "e2node"
        ident = f"{node}/{cell}" if cell is not None else node
        score = alert.score if relative else alert.score / self.kpm_config.threshold
        record = AlertRecord(
            kind, ident, alert.attack_class, score, alert.time, source=self.name, node=node,
            features=tuple(Feature(d.name, d.value, d.baseline, d.z) for d in alert.features),
            evidence=(f"{len(alert.features)} KPM feature(s) deviated ({source} detector)",),
        )  # fmt: skip
        self.emit(record)

    # ------------------------------------------------------------ RIC control
    @handles(mtypes.XTRUST_CONTROL_REPORT)
    async def on_control_report(self, msg: Message) -> None:
        try:
            doc = json.loads(msg.payload)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            self.count("malformed_control_reports")
            self._skipped.labels("control").inc()
            return
        self.on_control(doc)

    def on_control(self, doc: Mapping[str, Any]) -> None:
        """One control report (the JSON of ``XTRUST_CONTROL_REPORT``)."""
        if doc.get("sender") == self.name:
            return  # our own UE releases
        if self.clock is not None:
            doc = {**doc, "time": self.clock()}
        try:
            alert = self.control_watch.update(doc, self.name)
        except ValueError:
            self.count("malformed_control_reports")
            self._skipped.labels("control").inc()
            return
        self.count("control_reports")
        self._reports.labels("control").inc()
        if alert is not None:
            self.emit(alert)

    # ------------------------------------------------------------ MobiFlow
    def on_mobiflow(self, lines: Iterable[str]) -> None:
        """Feed MobiFlow lines (either layout); then run the rules."""
        for line in lines:
            try:
                rec = parse_line(line)
            except XTrustError:
                self.count("malformed_mobiflow")
                self._skipped.labels("mobiflow").inc()
                continue
            if isinstance(rec, UeRecord):
                self.mobiflow.add(rec)
                self.count("mobiflow_records")
                self._reports.labels("mobiflow").inc()
        for hit in self.mobiflow.scan():
            self._emit_mobiflow(hit)
        if self._model_task is None or self._model_task.done():
            snapshot = self.mobiflow.model_due()
            if snapshot is not None:
                self._model_task = asyncio.get_running_loop().create_task(
                    self._score_model(snapshot)
                )

    def _learn(self, paths: list[Path]) -> SequenceModel:
        """The sequence model from the benign traces of ``controls.mobiflow.benign``."""
        model = SequenceModel(margin=self._margin)
        try:
            traces = [load_trace(p).records for p in paths]
            model.fit(traces)
        except XTrustError as exc:
            raise ConfigError(exc.message, field="controls.mobiflow.benign",
                              source="anomaly xApp") from None  # fmt: skip
        self.log.info("sequence model learnt from %d benign trace(s), %d records", len(traces),
                      sum(len(t) for t in traces))  # fmt: skip
        return model

    async def _score_model(self, snapshot: list[UeRecord]) -> None:
        model = self.mobiflow.model
        if model is None:
            return
        hits: list[RuleHit] | None = None
        if self._model_worker is not None and self._model_worker.model is not model:
            self._model_worker.close()
            self._model_worker = None
        if self._model_worker is None and not self._model_in_thread:
            try:
                self._model_worker = ModelWorker(model)
            except (OSError, ValueError) as exc:  # no processes here: score in a thread
                self.log.warning("sequence model: no worker process (%s): scoring in a "
                                 "thread", exc)  # fmt: skip
                self._model_in_thread = True
        if self._model_worker is not None:
            try:
                hits = await self._model_worker.hits(snapshot)
            except (OSError, BrokenProcessPool) as exc:
                self.log.warning("sequence model worker failed (%s): scoring in a thread", exc)
                self._model_worker.close()
                self._model_worker = None
                self._model_in_thread = True
        if hits is None:
            hits = await asyncio.to_thread(model_hits, model, snapshot)
        self.count("model_scans")
        for hit in self.mobiflow.accept(hits):
            self._emit_mobiflow(hit)

    def _emit_mobiflow(self, hit: RuleHit) -> None:
        # the entity is the UE of the record that completed the pattern (for a blind
        # DoS: the new context presenting a stolen TMSI, not its victim); the alert is
        # timed by that record, its onset by the first evidence record
        cell, ue = self.mobiflow.entity(hit.evidence[-1] if hit.evidence else {})
        stamps = [float(e["timestamp"]) for e in hit.evidence if e.get("timestamp") is not None]
        t = max(stamps) if stamps else time.time()
        if hit.attack_class in MobiflowWatch.SETTLE_S:
            # judged only once the stream moved settle_s past its evidence: raised then,
            # not back-dated to the evidence (its onset says when that was)
            t = max(t, self.mobiflow.newest)
        record = AlertRecord(
            "ue", f"{cell}/{ue}", RULE_CLASSES.get(hit.attack_class, hit.attack_class),
            1.0 + len(hit.evidence) / 10, t, source=self.name, node=self.cell_node.get(cell),
            evidence=(hit.reason,), onset=min(stamps) if stamps else t,
        )  # fmt: skip
        self.emit(record)

    async def _follow(self, path: Path) -> None:
        """Read ``path`` as it grows (it may not exist yet)."""
        pos = 0
        partial = ""
        while True:
            try:
                with path.open("r", encoding="utf-8", errors="replace") as f:
                    f.seek(pos)
                    data = f.read()
                    pos = f.tell()
            except FileNotFoundError:
                data = ""
            if data:
                text = partial + data
                lines = text.split("\n")
                partial = lines.pop()
                self.on_mobiflow(lines)
            await asyncio.sleep(0.1)

    async def _sdl_records(self, ns: str) -> None:
        sub = await self.sdl.subscribe(ns, [SDL_CHANNEL])
        try:
            while True:
                note = await sub.get()
                for event in note.events:
                    first, _, last = event.removeprefix("ue:").partition("-")
                    if not (first.isdigit() and last.isdigit()):
                        self.count("malformed_mobiflow")
                        continue
                    keys = [f"ue:{i:012d}" for i in range(int(first), int(last) + 1)]
                    data = await self.sdl.get(ns, keys)
                    self.on_mobiflow(v.decode("utf-8", "replace") for _, v in sorted(data.items()))
        finally:
            with contextlib.suppress(Exception):
                await sub.close()

    # ------------------------------------------------------------ alerts and response
    def emit(self, alert: AlertRecord) -> bool:
        """Deliver ``alert`` unless its entity and class alerted in this episode."""
        if not self.gate.admit((alert.entity_kind, alert.entity_id, alert.attack_class),
                               alert.time):  # fmt: skip
            self.count("alerts_suppressed")
            return False
        self.alerts.append(alert)
        self.count("alerts")
        self._alert_counters.count(alert)
        self.log.warning("alert %s %s %s score %.2f", alert.attack_class, alert.entity_kind,
                         alert.entity_id, alert.score)  # fmt: skip
        if self.on_alert is not None:
            self.on_alert(alert)
        if self.running:
            loop = asyncio.get_running_loop()
            for sink in self.sinks:
                self._tasks.append(loop.create_task(self._deliver(sink, alert)))
            self._tasks.append(loop.create_task(self._respond(alert)))
            self._tasks = [t for t in self._tasks if not t.done()]
        return True

    async def _deliver(self, sink: Any, alert: AlertRecord) -> None:
        try:
            await sink.deliver(alert)
        except (OSError, XTrustError) as exc:
            self.count(f"delivery_errors_{sink.name}")
            self._alert_counters.delivery_errors.labels(sink.name).inc()
            self.log.warning("alert %s not delivered to %s: %s", alert.id, sink.name, exc)

    async def _respond(self, alert: AlertRecord) -> None:
        resp = dict(self.controls.get("response") or {})
        if alert.entity_kind == "xapp" and resp.get("quarantine", True):
            body = {"asset": alert.entity_id, "action": "quarantine",
                    "reason": f"{alert.attack_class} (score {alert.score:.2f})",
                    "alert": alert.to_json()}  # fmt: skip
            try:
                await self.send(mtypes.XTRUST_QUARANTINE_REQ, json.dumps(body).encode())
                self.count("quarantine_requests")
            except XTrustError as exc:
                self.log.warning("quarantine request for %s not sent: %s", alert.entity_id, exc)
        if alert.entity_kind == "ue" and resp.get("release_ue", False):
            await self._release(alert, resp)

    async def _release(self, alert: AlertRecord, resp: Mapping[str, Any]) -> None:
        _, _, ue_s = alert.entity_id.partition("/")
        allow = {str(x) for x in resp.get("allow_list") or ()}
        if alert.entity_id in allow or ue_s in allow:
            self.count("releases_allow_listed")
            return
        classes = resp.get("release_classes")
        if classes is not None and alert.attack_class not in classes:
            return
        limit = int(resp.get("max_releases_per_min", 10))
        now = time.monotonic()
        while self.released and self.released[0] < now - 60:
            self.released.popleft()
        if len(self.released) >= limit:
            self.count("releases_rate_limited")
            return
        node = alert.node
        if node is None or not ue_s.isdigit():
            self.count("releases_no_target")
            return
        self.released.append(now)
        plmn = _plmn(await self.rnib.get_nodeb(node))
        ue = kpm.GnbUeId(int(ue_s), kpm.Guami(plmn, amf_region_id=1, amf_set_id=1, amf_pointer=0))
        try:
            await self.release_ue(node, int(resp.get("rc_function", 3)), ue, timeout=2.0)
            self.count("ue_releases")
        except XTrustError as exc:
            self.count("ue_release_failures")
            self.log.warning("release of UE %s at %s failed: %s", ue_s, node, exc)


def _plmn(info: Any) -> bytes:
    """The node's PLMN identity (3 octets) from its RNIB entry (hex text), else 001-01."""
    with contextlib.suppress(AttributeError, ValueError):
        plmn = bytes.fromhex(info.global_nb_id.plmn_id)
        if len(plmn) == 3:
            return plmn
    return bytes.fromhex("00f110")


def _ue_number(ue_id: Any) -> int:
    """The number that names a UE in alerts: its AMF UE NGAP ID (the gNB-CU F1AP or
    E1AP ID of a DU / CU-UP UE ID)."""
    for attr in ("amf_ue_ngap_id", "gnb_cu_ue_f1ap_id", "gnb_cu_cp_ue_e1ap_id"):
        v = getattr(ue_id, attr, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    value = getattr(ue_id, "value", None)  # another UEID alternative (e.g. ng-eNB)
    if isinstance(value, Mapping) and isinstance(value.get("amf-UE-NGAP-ID"), int):
        return int(value["amf-UE-NGAP-ID"])
    raise ValueError(f"UE ID without a number: {ue_id!r}")


def _offered(info: Any, function: int, style: int, wanted: Iterable[str]) -> list[str] | None:
    """Of ``wanted``, the names ``info``'s node offers in REPORT ``style``; None when its
    RAN function definition does not list the style or cannot be read."""
    with contextlib.suppress(AttributeError, ValueError, TypeError, XTrustError):
        for f in info.gnb.ran_functions:
            if int(f.ran_function_id) != function:
                continue
            definition = kpm.KpmRanFunctionDefinition.decode(
                bytes.fromhex(f.ran_function_definition))  # fmt: skip
            found = definition.report_style(style)
            if found is None:
                break
            offered = {m.name for m in found.meas}
            return [m for m in wanted if m in offered]
    return None


def _cell_measurements(info: Any, function: int, wanted: list[str]) -> list[str]:
    """The cell-level names to ask for: those of ``wanted`` the node offers in style 1
    (a node asked for a name it does not measure may refuse the whole subscription);
    all of them when it does not say, or offers none (then it refuses, and says why)."""
    return _offered(info, function, 1, wanted) or wanted


def _ue_measurements(info: Any, function: int) -> tuple[str, ...]:
    """The per-UE detector's measurements to ask ``info``'s node for at UE level.

    When the node's KPM RAN function definition lists REPORT style 4, the names it
    offers there (in :data:`~.ue.UE_MEASUREMENTS` order; none: nothing to ask);
    when it does not list that style or cannot be read, all of them (a node that
    cannot serve the subscription refuses it).
    """
    offered = _offered(info, function, UE_LEVEL_STYLE, UE_MEASUREMENTS)
    return UE_MEASUREMENTS if offered is None else tuple(offered)


def _served_cells(info: Any) -> list[int]:
    if info is None:
        return []
    with contextlib.suppress(AttributeError):
        return [int(c.served_nr_cell_information.cell_id, 16) if isinstance(
            c.served_nr_cell_information.cell_id, str) else int(c.served_nr_cell_information.cell_id)
            for c in info.gnb.served_nr_cells]  # fmt: skip
    return []
