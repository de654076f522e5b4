"""Recorded KPM streams: the format, a recorder, and offline detection.

A KPM trace is JSON lines, one cell (or node) report per line, as the anomaly
xApp receives them::

    {"time": 1795687464.0, "node": "gnb_001_01_00000100", "cell": 4097,
     "measurements": {"DRB.UEThpDl": 41230.5, "RRC.ConnMean": 9, ...}}

``time`` is the report's collection start (UNIX seconds), ``cell`` the NR cell
identity or null for a node-level report. The twin writes one with
``xtrust twin run --xapps anomaly --record-kpm FILE``;
:func:`detect_kpm_trace` replays one through the same detector the xApp runs
(``xtrust detect kpm TRACE...``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from xtrust.errors import InputError

from .alerts import EpisodeGate
from .kpm import KpmConfig, KpmDetector

__all__ = ["KpmRecorder", "detect_kpm_trace", "read_kpm_trace"]


class KpmRecorder:
    """Appends KPM reports to a trace file (lines are written whole, flushed in batches)."""

    def __init__(self, path: str | Path, *, batch: int = 256) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot record KPM to {self.path}: {exc.strerror or exc}") from None
        self._buf: list[str] = []
        self._batch = batch
        self.written = 0

    def write(self, t: float, node: str, cell: int | None, values: Mapping[str, float]) -> None:
        self._buf.append(json.dumps({"time": t, "node": node, "cell": cell,
                                     "measurements": dict(values)}, separators=(",", ":")))  # fmt: skip
        if len(self._buf) >= self._batch:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            os.write(self._fd, ("\n".join(self._buf) + "\n").encode())
            self.written += len(self._buf)
            self._buf.clear()

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


def read_kpm_trace(
    path: str | Path, skipped: list[str] | None = None
) -> Iterator[tuple[float, tuple[str, int | None], dict[str, float]]]:
    """(time, (node, cell), measurements) per well-formed line; each malformed line is
    described in ``skipped`` (when given) and left out."""
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                t = float(doc["time"])
                node = str(doc["node"])
                cell = doc.get("cell")
                cell = None if cell is None else int(cell)
                meas = {str(k): float(v) for k, v in doc["measurements"].items()
                        if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if skipped is not None:
                    skipped.append(f"{p}:{lineno}: {type(exc).__name__}: {exc}"[:200])
                continue
            yield t, (node, cell), meas


def detect_kpm_trace(
    path: str | Path, config: KpmConfig | None = None, *, realert_s: float = 30.0
) -> dict[str, Any]:
    """Replay a KPM trace through a fresh detector; the verdict as the CLI prints it.

    As in the xApp, a cell and attack class alert once per episode (``realert_s``).
    """
    det = KpmDetector(config)
    gate = EpisodeGate(realert_s)
    threshold = det.config.threshold
    skipped: list[str] = []
    alerts: list[dict[str, Any]] = []
    reports = 0
    for t, key, meas in read_kpm_trace(path, skipped):
        reports += 1
        alert = det.update(key, t, meas)
        if alert is not None and gate.admit((key, alert.attack_class), t):
            node, cell = key
            alerts.append({
                "time": t, "entity": f"{node}/{cell}" if cell is not None else node,
                "attack_class": alert.attack_class, "score": round(alert.score / threshold, 3),
                "features": [{"name": d.name, "z": round(d.z, 2)} for d in alert.features[:4]],
            })  # fmt: skip
    if reports == 0:
        raise InputError(f"{path}: no KPM reports in this trace ({len(skipped)} malformed line(s))")
    top = max(alerts, key=lambda a: a["score"]) if alerts else None
    return {
        "trace": str(path),
        "verdict": "attack" if alerts else "benign",
        "score": top["score"] if top else 0.0,
        "attack_class": top["attack_class"] if top else None,
        "evidence": alerts[:20],
        "alerts": len(alerts),
        "reports": reports,
        "skipped": len(skipped),
    }
