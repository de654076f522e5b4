"""Detection against ground truth: which attack episodes the security xApps caught.

The ground truth (JSON lines written by :class:`~.scenarios.ScenarioEngine`)
has ``start``/``end`` events per attacked cell (and per UE for control-plane
attacks). :func:`episodes` groups them into episodes:

* cell-level attacks (jamming, signalling storm, UE flood, fake base station):
  one episode per attacked cell;
* control-plane attacks on UEs (blind DoS, null cipher): one per cell, all its
  attacked UEs together; it starts when the attack first acts on a UE (the
  first spoofed setup, the first downgraded attach), not when the attacker
  was switched on: until then there is nothing in the network to detect
  (``armed`` keeps the switch-on time);
* a rogue xApp: one per attacked E2 node; where the ground truth has its
  ``act`` event (the first control it sent, written by the twin), it starts
  there, not when the app was launched: its start-up (registration, looking up
  the E2 nodes) is no attack yet (``armed`` keeps the launch time).

:func:`evaluate` matches alerts (the JSON alert format of
:mod:`xtrust.xapps.anomaly.alerts`) to episodes: an alert *matches* an
episode when its entity is the episode's cell (``node/cell``), a UE of its cell
(``cell/ue``) or, for a rogue xApp, any xApp, and its time is within
[start, end + ``grace_s``]. An episode is *detected* by its first matching
alert, *classified* when that alert names the episode's attack, and its delay
is counted in reporting periods from the onset (0 for an alert stamped
before it). An alert that matches no
episode is a false alarm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["LABEL_OF_CLASS", "Episode", "episodes", "evaluate"]

#: alert attack class -> ground-truth label, where they differ
LABEL_OF_CLASS = {"rogue-control": "rogue-xapp"}
_UE_LABELS = {"blind-dos", "null-cipher"}


@dataclass
class Episode:
    label: str
    node: str
    cell: int | None
    start: float
    end: float | None = None
    armed: float | None = None  # UE-level attacks, rogue xApps: when it was switched on
    acted: bool = True  # UE-level attacks: whether it acted on a UE at all

    def key(self) -> tuple[str, str, int | None, float]:
        return (self.label, self.node, self.cell, self.start)


def episodes(ground_truth: Iterable[Mapping[str, Any]]) -> list[Episode]:
    """Episodes from ground-truth events (see the module documentation)."""
    open_: dict[tuple[str, str, int | None], Episode] = {}
    done: dict[tuple[str, str, int | None, float], Episode] = {}
    for ev in sorted(ground_truth, key=lambda e: (float(e["time"]), e.get("event") != "end")):
        label, node = str(ev["label"]), str(ev["node"])
        cell = None if label == "rogue-xapp" else ev.get("cell")
        k = (label, node, cell)
        t = float(ev["time"])
        if ev.get("event") == "start":
            ue_level = label in _UE_LABELS
            if k not in open_:
                ep = open_[k] = Episode(label, node, cell, t)
                if ue_level:
                    ep.armed, ep.acted = t, ev.get("ue") is not None
            elif ue_level and ev.get("ue") is not None and not open_[k].acted:
                open_[k].start, open_[k].acted = t, True
        elif ev.get("event") == "act" and k in open_:
            ep = open_[k]
            if ep.armed is None:  # its first move: the onset
                ep.armed, ep.start = ep.start, max(ep.start, t)
        elif ev.get("event") == "end" and k in open_:
            ep = open_[k]
            # the UEs of one cell end one by one: the episode lasts until the last
            ep.end = t if ep.end is None else max(ep.end, t)
            if label not in _UE_LABELS:
                done[ep.key()] = open_.pop(k)
    for ep in open_.values():
        done[ep.key()] = ep
    return sorted(done.values(), key=lambda e: (e.start, e.node, e.cell or 0))


def _time(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _matches(ep: Episode, alert: Mapping[str, Any], t: float, grace_s: float) -> bool:
    end = ep.end if ep.end is not None else float("inf")
    # from the switch-on, in whole seconds: MobiFlow stamps whole seconds (it drops
    # the fraction), so the record of the first action may carry a time before the
    # step that made it, and before the switch-on when both fall in one second
    begin = math.floor(ep.armed) if ep.armed is not None else ep.start
    if not begin <= t <= end + grace_s:
        return False
    ent = alert.get("entity") or {}
    kind, ident = ent.get("kind"), str(ent.get("id", ""))
    if ep.label == "rogue-xapp":
        return kind == "xapp"
    if kind == "cell":
        return ident == f"{ep.node}/{ep.cell}"
    if kind == "ue":
        return ident.partition("/")[0] == str(ep.cell)
    if kind == "e2node":
        return ident == ep.node
    return False


def evaluate(
    ground_truth: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    *,
    reports: int,
    period_s: float,
    grace_s: float = 30.0,
) -> dict[str, Any]:
    """Per-episode outcome, detection and classification rates, false alarms."""
    eps = episodes(ground_truth)
    timed = sorted(((_time(a["time"]), a) for a in alerts), key=lambda x: x[0])
    used: set[int] = set()
    rows = []
    for ep in eps:
        first = None
        for i, (t, a) in enumerate(timed):
            if _matches(ep, a, t, grace_s):
                used.add(i)
                if first is None:
                    first = (t, a)
        row: dict[str, Any] = {"label": ep.label, "node": ep.node, "cell": ep.cell,
                               "start": ep.start, "end": ep.end, "detected": first is not None}  # fmt: skip
        if ep.armed is not None:
            row.update(armed=ep.armed, acted=ep.acted)
        if first is not None:
            t, a = first
            cls = a.get("attack_class")
            row.update(
                detected_at=t,
                alert_class=cls,
                classified=LABEL_OF_CLASS.get(str(cls), cls) == ep.label,
                delay_s=round(max(0.0, t - ep.start), 3),
                delay_periods=round(max(0.0, t - ep.start) / period_s, 2),
                alert_id=a.get("id"),
            )
        rows.append(row)
    false_alarms = [a for i, (_, a) in enumerate(timed) if i not in used]
    n = len(rows)
    detected = sum(r["detected"] for r in rows)
    classified = sum(bool(r.get("classified")) for r in rows)
    return {
        "evaluated": True,
        "episodes": rows,
        "episodes_total": n,
        "detected": detected,
        "classified": classified,
        "detection_rate": round(detected / n, 4) if n else None,
        "classification_rate": round(classified / n, 4) if n else None,
        "max_delay_periods": max((r["delay_periods"] for r in rows if r["detected"]), default=None),
        "false_alarms": len(false_alarms),
        "cell_reports": reports,
        "false_alarms_per_10k_reports": round(len(false_alarms) * 10_000 / reports, 3)
        if reports
        else None,
        "false_alarm_alerts": [
            {
                "time": a.get("time"),
                "entity": a.get("entity"),
                "attack_class": a.get("attack_class"),
            }
            for a in false_alarms[:50]
        ],
    }
