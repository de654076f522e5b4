"""Attack scenarios for the RAN model, with ground truth.

A scenario is a timeline of attacks, each on some cells, written in YAML::

    name: jamming
    description: a jammer next to one cell for a minute
    duration: 180            # seconds the scenario runs (default: last attack end + 60)
    attacks:
      - type: jamming        # one of ATTACK_TYPES
        onset: 60            # seconds from the start
        duration: 60         # seconds
        targets:             # cells: {node: index or RAN name, cell: index}, a cell
          - {node: 0, cell: 0}   # left out means every cell of the node; "random" is
        intensity: 0.6       # one random cell, {random: n} n of them, "all" every cell
      - type: rogue-xapp     # rogue-xapp also takes count (controls) and rate (per second)
        onset: 90
        duration: 10
        targets: [{node: 1}]
        count: 100
        rate: 20

:func:`load_scenario` takes a built-in name (:data:`BUILTIN`, files in
``scenarios/``) or a path, and checks everything before anything runs: an
unknown type or field, a bad time or intensity, a malformed target raise
:class:`~xtrust.errors.ConfigError` naming the field
(``scenario.yaml: attacks[1].onset: must be a non-negative number``).
:class:`ScenarioEngine` resolves the targets against the simulated nodes
(an unknown node or cell is a ConfigError too) and then, called once per
model step before the cells step, applies and removes the attacks' effects
and writes the ground truth.

What each attack does to a target cell (``intensity`` scales it; its value at 1):

==================== ====================================================================
``jamming``           interference: every UE's SINR drops by 20 dB; CQI and throughput
                      fall, PRB use rises, UEs out of coverage drop and retry
``signalling-storm``  200 extra RRC setups/s, each released after 0.5-2 s without
                      authenticating: RRC.ConnEstabAtt and Succ soar, MobiFlow floods
                      of RRCSetupRequest
``ue-flood``          up to 100 extra UEs attach (20/s) with heavy traffic and stay for
                      the episode: PRBs saturate, per-UE throughput falls, RRCReject
                      once the cell is full
``blind-dos``         1 victim/s: an RRCSetupRequest carrying a connected victim's
                      5G-S-TMSI (no identity, no context) tears the victim's session
                      down; the victim attaches again 5-20 s later. The attacker
                      knows only S-TMSIs it heard on the air: victims are UEs whose
                      connection began with theirs in the RRCSetupRequest
                      (``TMSI_ON_AIR``; a first registration never shows it)
``null-cipher``       every attach is downgraded to NEA0 (half of them to NIA0 too,
                      which the UE refuses: SecurityModeFailure)
``fake-bs``           a rogue base station: 100 RRC setups/s that never complete
                      (RRC.ConnEstabFailCause.NoReply, contexts held until they time
                      out, RRCReject for real UEs once the cell is full) and 5 % of the
                      UEs per second lured away (radio link failure, back 10-30 s later)
``rogue-xapp``        a misbehaving xApp sends ``count`` E2SM-RC controls at ``rate``
                      per second (default: 40 x intensity per second for the whole
                      duration), handovers and releases of random UEs of the targets'
                      nodes; without a RIC (no ``rogue_launcher``) the engine applies
                      them to the model itself
==================== ====================================================================

``intensity`` is in (0, 1] (default 0.5). Overlapping attacks on one cell add up.
Episodes start at the first step at or after ``onset`` and end at the first step
at or after ``onset + duration``; time is counted from the first :meth:`tick`.

Ground truth (``ground_truth=`` path): JSON lines, in time order, one per
episode start and end::

    {"time": 1700000060.0, "node": "gnb_001_01_00000001", "cell": 17, "ue": null,
     "label": "jamming", "event": "start"}

``time`` is the simulated time of the step, ``cell`` the NR cell identity,
``ue`` null for a cell-wide episode or the UE's AMF UE NGAP ID (which is also
its ``gnb_cu_ue_f1ap_id`` in MobiFlow) for a UE-level one: blind-DoS victims
(from the spoofed setup until the victim is back) and downgraded connections
of null-cipher (from the attach until the release or the attack's end).
A rogue xApp's episode also has an ``act`` event per node when its first
control goes out (:meth:`ScenarioEngine.acted`: the app's own start-up comes
before). The same events are in :attr:`ScenarioEngine.events`.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

import yaml

from xtrust.errors import ConfigError, InputError

from .model import TMSI_ON_AIR, Cell

__all__ = [
    "ATTACK_TYPES",
    "BUILTIN",
    "Attack",
    "RogueOrder",
    "Scenario",
    "ScenarioEngine",
    "Target",
    "builtin_path",
    "load_scenario",
    "parse_scenario",
]

ATTACK_TYPES = (
    "jamming", "signalling-storm", "ue-flood", "blind-dos", "null-cipher", "fake-bs",
    "rogue-xapp",
)  # fmt: skip
BUILTIN = ("benign", *ATTACK_TYPES, "mixed")

JAM_DB = 20.0
STORM_RATE = 200.0
FLOOD_UES = 100
SPOOF_RATE = 1.0
FAKE_RATE = 100.0
LURE_RATE = 0.05

_TOP = {"name", "description", "duration", "attacks"}
_ATTACK = {"type", "onset", "duration", "targets", "intensity", "count", "rate"}
_ROGUE_ONLY = {"count", "rate"}


@dataclass(frozen=True)
class Target:
    """Which cells: ``node`` (index or RAN name; None: any) and ``cell`` (index; None: all).

    ``random`` > 0 picks that many cells at random (of ``node`` if given).
    """

    node: int | str | None = None
    cell: int | None = None
    random: int = 0


@dataclass(frozen=True)
class Attack:
    type: str
    onset: float
    duration: float
    targets: tuple[Target, ...]
    intensity: float = 0.5
    count: int | None = None  # rogue-xapp: controls to send
    rate: float | None = None  # rogue-xapp: controls per second
    index: int = 0  # position in the scenario's list (for messages)

    @property
    def end(self) -> float:
        return self.onset + self.duration

    @property
    def controls(self) -> tuple[int, float]:
        """rogue-xapp: (count, rate) with their defaults."""
        rate = self.rate if self.rate is not None else max(1.0, 40.0 * self.intensity)
        count = self.count if self.count is not None else round(rate * self.duration)
        return count, rate


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    duration: float
    attacks: tuple[Attack, ...]
    source: str = ""


@dataclass(frozen=True)
class RogueOrder:
    """What a rogue xApp is to do (given to the engine's ``rogue_launcher``)."""

    nodes: tuple[str, ...]  # RAN names
    cells: tuple[int, ...]  # NR cell identities it may hand UEs over to
    count: int
    rate: float
    seed: int


# --------------------------------------------------------------------------- loading
def builtin_path(name: str) -> Path:
    """The file of built-in scenario ``name``."""
    return Path(str(resources.files("xtrust.e2sim").joinpath("scenarios").joinpath(f"{name}.yaml")))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or one from a YAML (or JSON) file, validated."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in BUILTIN:
        path = builtin_path(text)
        source = f"{text}.yaml"
    else:
        path = Path(name_or_path)
        source = text
        if not path.is_file():
            raise InputError(
                f"no scenario {text!r}: give a YAML file or one of {', '.join(BUILTIN)}"
            )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{source}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{problem}{where}", source=source) from None
    return parse_scenario(doc, source=source, default_name=path.stem)


def _number(value: Any, where: str, source: str, *, positive: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        what = "a positive number" if positive else "a non-negative number"
        raise ConfigError(f"must be {what}", field=where, source=source)
    return float(value)


def _target(value: Any, where: str, source: str) -> Target:
    if value == "random":
        return Target(random=1)
    if value == "all":
        return Target()
    if not isinstance(value, Mapping):
        raise ConfigError("must be 'random', 'all' or a mapping {node, cell} or {random: n}",
                          field=where, source=source)  # fmt: skip
    extra = set(value) - {"node", "cell", "random"}
    if extra:
        raise ConfigError(f"unknown field {sorted(extra)[0]!r} (use node, cell, random)",
                          field=where, source=source)  # fmt: skip
    node = value.get("node")
    if node is not None and (isinstance(node, bool) or not isinstance(node, int | str)):
        raise ConfigError("must be a node index or a RAN name", field=f"{where}.node",
                          source=source)  # fmt: skip
    if isinstance(node, int) and node < 0:
        raise ConfigError("must be a non-negative index", field=f"{where}.node", source=source)
    cell = value.get("cell")
    if (
        cell is not None
        and cell != "all"
        and (isinstance(cell, bool) or not isinstance(cell, int) or cell < 0)
    ):
        raise ConfigError("must be a cell index (0, 1, ...) or 'all'", field=f"{where}.cell",
                          source=source)  # fmt: skip
    rnd = value.get("random", 0)
    if isinstance(rnd, bool) or not isinstance(rnd, int) or rnd < 0:
        raise ConfigError("must be a number of cells", field=f"{where}.random", source=source)
    if rnd and cell not in (None, "all"):
        raise ConfigError("random and cell exclude each other", field=where, source=source)
    return Target(node, None if cell in (None, "all") else cell, rnd)


def parse_scenario(doc: Any, *, source: str = "scenario", default_name: str = "") -> Scenario:
    """A :class:`Scenario` from a parsed YAML/JSON document (ConfigError if it is wrong)."""
    if doc is None:
        doc = {}
    if not isinstance(doc, Mapping):
        raise ConfigError("must be a mapping with an 'attacks' list", source=source)
    extra = set(doc) - _TOP
    if extra:
        raise ConfigError(f"unknown field (use {', '.join(sorted(_TOP))})",
                          field=str(sorted(extra, key=str)[0]), source=source)  # fmt: skip
    name = doc.get("name", default_name or "scenario")
    description = doc.get("description", "")
    if not isinstance(name, str) or not name:
        raise ConfigError("must be a non-empty string", field="name", source=source)
    if not isinstance(description, str):
        raise ConfigError("must be a string", field="description", source=source)
    raw = doc.get("attacks", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ConfigError("must be a list of attacks", field="attacks", source=source)
    attacks = []
    for i, item in enumerate(raw):
        at = f"attacks[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError("must be a mapping (type, onset, duration, targets, ...)",
                              field=at, source=source)  # fmt: skip
        unknown = set(item) - _ATTACK
        if unknown:
            bad = str(sorted(unknown, key=str)[0])
            raise ConfigError(f"unknown field (use {', '.join(sorted(_ATTACK))})",
                              field=f"{at}.{bad}", source=source)  # fmt: skip
        kind = item.get("type")
        if kind not in ATTACK_TYPES:
            raise ConfigError(f"unknown attack type {kind!r} (use {', '.join(ATTACK_TYPES)})",
                              field=f"{at}.type", source=source)  # fmt: skip
        for key in ("onset", "duration"):
            if key not in item:
                raise ConfigError("is required", field=f"{at}.{key}", source=source)
        onset = _number(item["onset"], f"{at}.onset", source)
        duration = _number(item["duration"], f"{at}.duration", source, positive=True)
        intensity = _number(item.get("intensity", 0.5), f"{at}.intensity", source, positive=True)
        if intensity > 1.0:
            raise ConfigError("must be in (0, 1]", field=f"{at}.intensity", source=source)
        if kind != "rogue-xapp":
            for key in sorted(_ROGUE_ONLY & set(item)):
                raise ConfigError("is only for rogue-xapp", field=f"{at}.{key}", source=source)
        count = item.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or count < 1):  # fmt: skip
            raise ConfigError("must be a positive integer", field=f"{at}.count", source=source)
        rate = item.get("rate")
        if rate is not None:
            rate = _number(rate, f"{at}.rate", source, positive=True)
        targets_raw = item.get("targets", "random")
        if not isinstance(targets_raw, list):
            targets_raw = [targets_raw]
        if not targets_raw:
            raise ConfigError("must name at least one target", field=f"{at}.targets",
                              source=source)  # fmt: skip
        targets = tuple(_target(t, f"{at}.targets[{j}]", source) for j, t in enumerate(targets_raw))
        attacks.append(Attack(kind, onset, duration, targets, intensity, count, rate, i))
    last = max((a.end for a in attacks), default=0.0)
    given = doc.get("duration")
    total = (last + 60.0 if given is None
             else _number(given, "duration", source, positive=True))  # fmt: skip
    for a in attacks:
        if a.onset >= total:
            raise ConfigError(f"starts at or after the end of the scenario ({total:g} s)",
                              field=f"attacks[{a.index}].onset", source=source)  # fmt: skip
    return Scenario(name, description, total, tuple(attacks), source)


# --------------------------------------------------------------------------- engine
@dataclass
class _Run:
    attack: Attack
    cells: list[tuple[str, Cell]]
    state: str = "pending"  # active, done
    started: float = 0.0
    sent: int = 0  # rogue-xapp controls applied (direct mode)
    spoofs: float = 0.0  # blind-dos: fractional spoofs carried to the next step
    open_ues: set[tuple[str, int, int]] = field(default_factory=set)


class ScenarioEngine:
    """Applies a :class:`Scenario` to the cells of simulated nodes, writing ground truth.

    ``cells_by_node`` maps each node's RAN name to its cells (in order: a
    target's ``node: 0`` is the first node, ``cell: 1`` a node's second cell).
    Call :meth:`tick` with the simulated time once per model step, before the
    cells step; :meth:`close` at the end (or use ``with``). ``rogue_launcher``
    is called with a :class:`RogueOrder` when a rogue-xapp attack starts (start
    a :class:`~xtrust.e2sim.rogue.RogueXApp` there); without one, the engine
    applies the controls to the model itself. Deterministic for a given ``seed``.
    """

    def __init__(
        self,
        scenario: Scenario,
        cells_by_node: Mapping[str, list[Cell]],
        *,
        ground_truth: str | Path | None = None,
        seed: int = 0,
        rogue_launcher: Callable[[RogueOrder], object] | None = None,
    ) -> None:
        self.scenario = scenario
        self.nodes = {name: list(cells) for name, cells in cells_by_node.items()}
        self.seed = seed
        self.rng = random.Random(f"scenario:{seed}")
        self.rogue_launcher = rogue_launcher
        self.runs = [_Run(a, self._resolve(a)) for a in scenario.attacks]
        self.events: list[dict[str, Any]] = []
        self.t0: float | None = None
        self.last: float | None = None
        self._logged: list[Cell] = []
        for run in self.runs:
            for _, cell in run.cells:
                if cell.attack_log is None:
                    cell.attack_log = []
                    self._logged.append(cell)
        self._out: IO[str] | None = None
        if ground_truth is not None:
            try:
                self._out = Path(ground_truth).open("w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise InputError(f"{ground_truth}: cannot write the ground truth "
                                 f"({exc.strerror})") from None  # fmt: skip

    # ------------------------------------------------------------------ targets
    def _resolve(self, attack: Attack) -> list[tuple[str, Cell]]:
        names = list(self.nodes)
        src = self.scenario.source or self.scenario.name
        out: list[tuple[str, Cell]] = []
        for j, target in enumerate(attack.targets):
            where = f"attacks[{attack.index}].targets[{j}]"
            if target.node is None:
                pool = [(n, c) for n in names for c in self.nodes[n]]
            else:
                if isinstance(target.node, int):
                    if target.node >= len(names):
                        raise ConfigError(f"no node {target.node} (the simulation has "
                                          f"{len(names)})", field=f"{where}.node", source=src)  # fmt: skip
                    node = names[target.node]
                else:
                    if target.node not in self.nodes:
                        raise ConfigError(f"no node named {target.node!r}",
                                          field=f"{where}.node", source=src)  # fmt: skip
                    node = target.node
                cells = self.nodes[node]
                if target.cell is not None:
                    if target.cell >= len(cells):
                        raise ConfigError(f"node {node} has {len(cells)} cells",
                                          field=f"{where}.cell", source=src)  # fmt: skip
                    cells = [cells[target.cell]]
                pool = [(node, c) for c in cells]
            if not pool:
                raise ConfigError("matches no cell", field=where, source=src)
            if target.random:
                if target.random > len(pool):
                    raise ConfigError(f"asks for {target.random} random cells of {len(pool)}",
                                      field=f"{where}.random", source=src)  # fmt: skip
                pool = self.rng.sample(pool, target.random)
            for item in pool:
                if all(item[1] is not c for _, c in out):
                    out.append(item)
        return out

    # ------------------------------------------------------------------ output
    def _event(self, t: float, node: str, cell: Cell, ue: int | None, label: str,
               event: str) -> None:  # fmt: skip
        rec = {"time": round(t, 3), "node": node, "cell": cell.cell_id, "ue": ue,
               "label": label, "event": event}  # fmt: skip
        self.events.append(rec)
        if self._out is not None:
            self._out.write(json.dumps(rec) + "\n")

    def acted(self, t: float, label: str, nodes: Sequence[str]) -> None:
        """An attack started elsewhere (a rogue xApp) made its first move at ``t``: an
        ``act`` event per node, the onset its episode is timed from (``start`` stays
        the moment it was switched on)."""
        for node in nodes:
            cells = self.nodes.get(node)
            if cells:
                self._event(t, node, cells[0], None, label, "act")

    def __enter__(self) -> ScenarioEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, t: float | None = None) -> None:
        """End the attacks still running (at ``t``, default the last tick) and close the file."""
        if t is None:
            t = self.last if self.last is not None else 0.0
        self._drain(t)
        for run in self.runs:
            if run.state == "active":
                self._stop(run, t)
            for node, cell_id, ue in sorted(run.open_ues):
                cell = next(c for c in self.nodes[node] if c.cell_id == cell_id)
                self._event(t, node, cell, ue, run.attack.type, "end")
            run.open_ues.clear()
        for cell in self._logged:
            cell.attack_log = None
        self._logged = []
        if self._out is not None:
            self._out.close()
            self._out = None

    # ------------------------------------------------------------------ time
    def tick(self, t: float) -> None:
        """Simulated time ``t`` (once per model step, before the cells step).

        A time already seen (several nodes each calling it for the same step) or an
        earlier one changes nothing: the engine's clock is the latest time it saw.
        """
        if self.t0 is None:
            self.t0 = self.last = t
        elif self.last is not None and t <= self.last:
            return
        dt = max(0.0, t - (self.last if self.last is not None else t))
        self._drain(t)
        rel = t - self.t0
        for run in self.runs:
            a = run.attack
            if run.state == "pending" and rel >= a.onset - 1e-3:
                self._start(run, t)
            if run.state == "active" and rel >= a.end - 1e-3:
                self._stop(run, t)
            elif run.state == "active":
                self._during(run, t, dt)
        self.last = t

    def _drain(self, t: float) -> None:
        """UE-level episode starts and ends the cells logged since the last tick."""
        for run in self.runs:
            label = run.attack.type
            if label not in ("blind-dos", "null-cipher"):
                continue
            for node, cell in run.cells:
                log = cell.attack_log
                if not log:
                    continue
                keep = []
                for when, what, ue, event in log:
                    if what != label:
                        keep.append((when, what, ue, event))
                        continue
                    key = (node, cell.cell_id, ue)
                    if event == "start" and run.state == "active" and key not in run.open_ues:
                        run.open_ues.add(key)
                        self._event(when, node, cell, ue, label, "start")
                    elif event == "end" and key in run.open_ues:
                        run.open_ues.discard(key)
                        self._event(when, node, cell, ue, label, "end")
                log[:] = keep
        # entries no running attack claims are dropped (e.g. a UE handed over elsewhere)
        for cell in self._logged:
            if cell.attack_log:
                cell.attack_log[:] = [e for e in cell.attack_log if e[0] > t]

    def _start(self, run: _Run, t: float) -> None:
        run.state = "active"
        run.started = t
        a = run.attack
        k = a.intensity
        for node, cell in run.cells:
            self._event(t, node, cell, None, a.type, "start")
            if a.type == "jamming":
                cell.jam_db += JAM_DB * k
            elif a.type == "signalling-storm":
                cell.storm_rate += STORM_RATE * k
            elif a.type == "ue-flood":
                cell.flood_target += max(1, round(FLOOD_UES * k))
            elif a.type == "null-cipher":
                cell.downgrade = min(1.0, cell.downgrade + k)
            elif a.type == "fake-bs":
                cell.fake_rate += FAKE_RATE * k
                cell.lure_rate += LURE_RATE * k
        if a.type == "rogue-xapp" and self.rogue_launcher is not None:
            count, rate = a.controls
            nodes = tuple(dict.fromkeys(node for node, _ in run.cells))
            cells = tuple(c.cell_id for n in nodes for c in self.nodes[n])
            self.rogue_launcher(RogueOrder(nodes, cells, count, rate, self.rng.randrange(2**31)))

    def _stop(self, run: _Run, t: float) -> None:
        run.state = "done"
        a = run.attack
        k = a.intensity
        for node, cell in run.cells:
            if a.type == "jamming":
                cell.jam_db = _down(cell.jam_db, JAM_DB * k)
            elif a.type == "signalling-storm":
                cell.storm_rate = _down(cell.storm_rate, STORM_RATE * k)
            elif a.type == "ue-flood":
                cell.flood_target = max(0, cell.flood_target - max(1, round(FLOOD_UES * k)))
            elif a.type == "null-cipher":
                cell.downgrade = _down(cell.downgrade, k)
            elif a.type == "fake-bs":
                cell.fake_rate = _down(cell.fake_rate, FAKE_RATE * k)
                cell.lure_rate = _down(cell.lure_rate, LURE_RATE * k)
            self._event(t, node, cell, None, a.type, "end")
        if a.type == "null-cipher":  # the downgraded connections' episodes end with the attack
            for node, cell_id, ue in sorted(run.open_ues):
                cell = next(c for c in self.nodes[node] if c.cell_id == cell_id)
                self._event(t, node, cell, ue, a.type, "end")
            run.open_ues.clear()

    def _during(self, run: _Run, t: float, dt: float) -> None:
        a = run.attack
        if a.type == "blind-dos":
            run.spoofs += SPOOF_RATE * a.intensity * dt * len(run.cells)
            while run.spoofs >= 1.0:
                run.spoofs -= 1.0
                node, cell = run.cells[self.rng.randrange(len(run.cells))]
                # the attacker knows the S-TMSIs it heard on the air
                victims = sorted(u for u, ue in cell.ues.items() if ue.flags & TMSI_ON_AIR)
                if not victims:
                    continue
                victim = victims[self.rng.randrange(len(victims))]
                if cell.spoof_tmsi(t, victim, self.rng.uniform(5.0, 20.0)):
                    run.open_ues.add((node, cell.cell_id, victim))
                    self._event(t, node, cell, victim, a.type, "start")
        elif a.type == "rogue-xapp" and self.rogue_launcher is None:
            count, rate = a.controls
            due = min(count, math.floor(rate * (t - run.started) + 1e-9))
            while run.sent < due:
                run.sent += 1
                node, cell = run.cells[self.rng.randrange(len(run.cells))]
                if not cell.ues:
                    continue
                ues = sorted(cell.ues)
                ue = ues[self.rng.randrange(len(ues))]
                others = [c for c in self.nodes[node] if c is not cell]
                if others and self.rng.random() < 0.5:
                    cell.handover(ue, others[self.rng.randrange(len(others))], t)
                else:
                    cell.release(ue, t)


def _down(value: float, amount: float) -> float:
    left = value - amount
    return 0.0 if left < 1e-9 else left
