"""The MobiFlow intrusion detector: known-attack rules plus a benign sequence model.

:func:`load_trace` reads a trace with the MobiFlow parser
(:func:`xtrust.e2sim.mobiflow.parse_line`), counting and skipping malformed
records. :class:`MobiflowDetector` learns the sequence model from benign
traces and gives a :class:`Verdict` per trace: ``attack`` when a rule fires
(its attack class is reported) or when the sequence score exceeds the
threshold (class ``unknown_anomaly``; the evidence names each channel over its
threshold, the context and record that decided it and the value never or
rarely seen in benign traces).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtrust.e2sim.mobiflow import UeRecord, parse_line
from xtrust.errors import DecodeError, InputError

from .mobiflow_rules import run_rules
from .sequence import NOVEL, Score, SequenceModel

__all__ = ["UNKNOWN_ANOMALY", "LoadedTrace", "MobiflowDetector", "Verdict", "expand_paths",
           "load_trace"]  # fmt: skip

UNKNOWN_ANOMALY = "unknown_anomaly"


@dataclass
class LoadedTrace:
    """The UE records of a trace and how many malformed records were skipped."""

    path: str
    records: list[UeRecord]
    skipped: int = 0


def load_trace(path: str | Path) -> LoadedTrace:
    """Read a trace; a malformed record is counted and skipped.

    Raises :class:`InputError` when the file cannot be read and
    :class:`DecodeError` when it holds no valid UE record.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{p}: cannot read the MobiFlow trace ({exc.strerror})") from None
    records: list[UeRecord] = []
    skipped = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            rec = parse_line(line, where=f"{p}:{lineno}")
        except DecodeError:
            skipped += 1
            continue
        if isinstance(rec, UeRecord):
            records.append(rec)
    if not records:
        raise DecodeError(f"{p}: no MobiFlow v2 UE record in the file "
                          f"({skipped} malformed line(s))")  # fmt: skip
    return LoadedTrace(str(p), records, skipped)


def expand_paths(paths: Iterable[str | Path], *, pattern: str = "*.csv") -> list[Path]:
    """Files as given, directories as their ``pattern`` files (sorted); missing -> InputError."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.glob(pattern) if f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


@dataclass
class Verdict:
    """The decision on one trace."""

    trace: str
    verdict: str  # "attack" | "benign"
    score: float
    attack_class: str | None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"trace": self.trace, "verdict": self.verdict, "score": round(self.score, 6),
                "attack_class": self.attack_class, "evidence": self.evidence,
                "skipped_records": self.skipped}  # fmt: skip


class MobiflowDetector:
    """Known-attack rules and a sequence model learnt from benign traces."""

    def __init__(self, *, margin: float = 1.0) -> None:
        self.model = SequenceModel(margin=margin)

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def fit(self, benign: Sequence[Sequence[UeRecord]]) -> MobiflowDetector:
        if not benign:
            raise InputError("no benign traces to learn from")
        self.model.fit(benign)
        return self

    def detect(self, records: Sequence[UeRecord], *, trace: str = "<trace>",
               skipped: int = 0) -> Verdict:  # fmt: skip
        """The verdict on one trace's records.

        ``score`` is the sequence model's score against its benign thresholds
        (:attr:`Score.ratio <xtrust.xapps.anomaly.sequence.Score.ratio>`):
        at or above 1 the model alone calls the trace anomalous.
        """
        hits = run_rules(records)
        sc = self.model.score(records)
        evidence: list[dict[str, Any]] = [h.as_dict() for h in hits]
        anomalous = sc.ratio >= 1.0
        if anomalous:
            evidence.append(self._model_evidence(sc))
        attack_class = hits[0].attack_class if hits else (UNKNOWN_ANOMALY if anomalous else None)
        return Verdict(trace, "attack" if attack_class else "benign", sc.ratio,
                       attack_class, evidence, skipped)  # fmt: skip

    def _model_evidence(self, sc: Score) -> dict[str, Any]:
        """What the sequence model saw: the channels over threshold, their records."""
        m = self.model
        parts: list[str] = []
        records: list[dict[str, object]] = []
        for ch in sc.over():
            if ch == NOVEL:
                parts.append(f"{len(sc.unseen)} message type(s) never seen in benign in one "
                             f"context (benign at most {m.novel_threshold})")  # fmt: skip
                records += [s.as_dict() for s in sc.unseen]
                continue
            step = sc.channels[ch]
            parts.append(f"{ch}: {step.surprisal:.2f} bits (threshold {m.thresholds[ch]:.2f})")
            records.append({"channel": ch, **step.as_dict()})
        return {"attack_class": UNKNOWN_ANOMALY,
                "reason": "sequence model: " + "; ".join(parts),
                "channels": {c: round(r, 3) for c, r in sc.ratios.items() if r >= 1.0},
                "records": records}  # fmt: skip

    def detect_file(self, path: str | Path) -> Verdict:
        loaded = load_trace(path)
        return self.detect(loaded.records, trace=loaded.path, skipped=loaded.skipped)
