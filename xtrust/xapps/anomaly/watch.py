"""The anomaly xApp's live view of the MobiFlow stream: rules, memory and the sequence model.

:class:`MobiflowWatch` keeps a sliding window of the latest records and runs
the known-attack rules (:mod:`.mobiflow_rules`) over it; what leaves the
window goes through a :class:`~.mobiflow_rules.TmsiMemory`, so a blind DoS
against a UE that attached long ago is still recognised.

With a :class:`~.sequence.SequenceModel` learnt from benign traces (the
operator's own captures: ``controls.mobiflow.benign``), the window is also
scored by the model every ``model_every_s`` seconds of stream time (and a
quarter of a window of new records); a score
at or above its threshold is a hit of class ``unknown_anomaly`` on the UE of
the most surprising record. Scoring a 5,000-record window takes about 0.3 s,
so the xApp runs it in a worker process on a snapshot (:class:`ModelWorker`,
:meth:`model_due`, :func:`model_hits`, :meth:`accept`); the window itself is
touched only by the event loop.

A rule that judges an absence ("identity disclosed, *never* authenticated")
would fire on a procedure still under way, and so might the model, so
its hits count only once the stream has moved ``settle_s`` seconds past their
evidence (:attr:`MobiflowWatch.SETTLE_S`); the xApp's alert for such a hit is
timed when it settled (the stream's newest record then), its ``onset`` by the
evidence. Every hit is reported once per
(class, cell, UE), and a model hit not at all for a UE a rule has named.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

from xtrust.e2sim.mobiflow import UeRecord

from .detector import UNKNOWN_ANOMALY
from .mobiflow_rules import RuleHit, TmsiMemory, evidence_of, run_rules
from .sequence import SequenceModel

__all__ = ["MobiflowWatch", "ModelWorker", "model_hits"]


def model_hits(model: SequenceModel, records: Sequence[UeRecord]) -> list[RuleHit]:
    """The sequence model's verdict on ``records`` as hits (none below its threshold).

    Pure: safe to run in a worker (process or thread) on a snapshot of the window.
    """
    if not records:
        return []
    sc = model.score(records)
    if sc.ratio < 1.0:
        return []
    worst = sc.worst
    rec = next((r for r in reversed(records) if r.msg_id == worst.msg_id), None)
    evidence = (evidence_of(rec, "rrc_state", "nas_state", "rrc_sec_state"),) if rec else ()
    channels = ", ".join(sc.over()) or "-"
    return [RuleHit(
        UNKNOWN_ANOMALY,
        f"sequence model: {worst.transition} ({worst.surprisal:.1f} bits; "
        f"{sc.ratio:.2f} x its benign threshold; channels over: {channels})",
        evidence,
    )]  # fmt: skip


_WORKER_MODEL: SequenceModel | None = None


def _init_worker(model: SequenceModel) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _worker_hits(records: Sequence[UeRecord]) -> list[RuleHit]:
    if _WORKER_MODEL is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("model worker without a model")
    return model_hits(_WORKER_MODEL, records)


class ModelWorker:
    """The sequence model in a process of its own (spawned, holding the model).

    Scoring a 5,000-record window is pure-Python work of a few tenths of a second;
    in a thread of the xApp it holds the GIL that long, and the event loop (KPM
    reports, RIC control reports) waits: in the twin at 20x a rogue xApp was seen
    6 periods late. A separate process costs a pickled snapshot per scan (about
    15 ms for 5,000 records) and the worker's memory.
    """

    def __init__(self, model: SequenceModel) -> None:
        self.model = model
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(model,),
        )  # fmt: skip

    async def hits(self, records: Sequence[UeRecord]) -> list[RuleHit]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _worker_hits, list(records))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class MobiflowWatch:
    """The rules (and, with a model, the sequence model) over a window of the latest records."""

    #: class -> seconds of records after its evidence before a hit is final
    SETTLE_S: ClassVar[dict[str, float]] = {"identity_extraction": 5.0, UNKNOWN_ANOMALY: 5.0}

    def __init__(self, window: int = 5000, *, memory: int = 100_000,
                 model: SequenceModel | None = None, model_every_s: float = 10.0) -> None:  # fmt: skip
        if window < 1:
            raise ValueError("window must be positive")
        self.records: deque[UeRecord] = deque(maxlen=window)
        self.memory = TmsiMemory(memory)
        self.model = model
        self.model_every_s = model_every_s
        self.seen: set[tuple[str, int, int]] = set()
        self._named: set[tuple[int, int]] = set()  # (cell, UE) a rule has alerted
        self.new = 0
        self.pending = False
        self._model_at: float | None = None  # stream time of the last model snapshot
        self._since_model = 0  # records added since

    def add(self, rec: UeRecord) -> None:
        if len(self.records) == self.records.maxlen:
            self.memory.forget(self.records[0])
        self.records.append(rec)
        self.new += 1
        self._since_model += 1

    @property
    def newest(self) -> float:
        return self.records[-1].timestamp if self.records else 0.0

    def scan(self) -> list[RuleHit]:
        """Rule hits not reported before (by class and the cell and UE of their first evidence)."""
        if not self.new and not self.pending:
            return []
        self.new = 0
        self.pending = False
        return self.accept(run_rules(list(self.records), memory=self.memory))

    def model_due(self) -> list[UeRecord] | None:
        """A snapshot of the window when the model should score it now, else None.

        Due when ``model_every_s`` of stream have passed since the last snapshot
        and a quarter of the window is new: every record is scored about four
        times, and the cost (proportional to the window) stays bounded however
        fast records come.
        """
        if self.model is None or not self.records:
            return None
        now = self.newest
        if self._model_at is not None and (
            now - self._model_at < self.model_every_s
            or self._since_model < (self.records.maxlen or 1) // 4
        ):
            return None
        self._model_at = now
        self._since_model = 0
        return list(self.records)

    def accept(self, hits: Sequence[RuleHit]) -> list[RuleHit]:
        """The hits that are final (settled) and new, marked as reported."""
        newest = self.newest
        out = []
        for hit in hits:
            settle = self.SETTLE_S.get(hit.attack_class)
            if settle is not None:
                last = max((float(e.get("timestamp") or 0) for e in hit.evidence), default=0.0)
                if newest - last < settle:
                    self.pending = True  # judge again when more records have come
                    continue
            cell, f1ap, _ = self.ue_ids(hit.evidence[0] if hit.evidence else {})
            # by the UE's F1AP id: contexts without one (a fake base station's setups
            # that never complete, from ever new RNTIs) are one finding per cell
            key = (hit.attack_class, cell, f1ap)
            if key in self.seen:
                continue
            if hit.attack_class == UNKNOWN_ANOMALY and key[1:] in self._named:
                continue  # a rule has named what this UE does: the model adds nothing
            self.seen.add(key)
            if hit.attack_class != UNKNOWN_ANOMALY:
                self._named.add(key[1:])
            out.append(hit)
        return out

    def ue_ids(self, ev: Mapping[str, Any]) -> tuple[int, int, int]:
        """(cell, F1AP UE id, RNTI) of an evidence item (-1 where unknown): from the
        record if the window or memory still has it, else from the item itself (the
        model's hits are judged seconds after their snapshot, and a storm can push a
        5,000-record window through in that time)."""
        rec = self.record(ev)
        if rec is not None:
            return rec.nr_cell_id, rec.gnb_cu_ue_f1ap_id, rec.rnti

        def num(name: str) -> int:
            v = ev.get(name)
            return v if isinstance(v, int) else -1

        rnti = num("rnti")
        return num("nr_cell_id"), num("ue") if "ue" in ev else rnti, rnti

    def entity(self, ev: Mapping[str, Any]) -> tuple[int, int]:
        """(cell, UE) an alert names: the UE's F1AP id, else its RNTI."""
        cell, f1ap, rnti = self.ue_ids(ev)
        return cell, f1ap if f1ap > 0 else rnti

    def record(self, ev: Mapping[str, Any]) -> UeRecord | None:
        """The window's (or the memory's) record an evidence item names."""
        msg_id = ev.get("msg_id")
        found = next((r for r in reversed(self.records) if r.msg_id == msg_id), None)
        if found is None:  # a remembered holder: its evidence names its S-TMSI
            held = self.memory.by_tmsi.get(ev.get("s_tmsi", 0))
            found = held if held is not None and held.msg_id == msg_id else None
        return found
