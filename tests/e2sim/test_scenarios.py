"""Attack scenarios: loading and validation, the engine's ground truth, each attack's signature,
and the rogue xApp against RIC-lite."""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from xtrust.e2sim.mobiflow import MobiflowWriter, UeRecord, records_of, tmsi_of
from xtrust.e2sim.model import CQI_DIST_NAMES, SINR_DIST_NAMES, Cell, connect_cells
from xtrust.e2sim.rogue import RogueXApp
from xtrust.e2sim.scenarios import (
    ATTACK_TYPES,
    BUILTIN,
    RogueOrder,
    ScenarioEngine,
    load_scenario,
    parse_scenario,
)
from xtrust.errors import ConfigError, InputError

T0 = 1_700_000_000 - 1_700_000_000 % 86400 + 17 * 3600  # 17:00 UTC, busy hour
NODES = ("gnb_001_01_00000001", "gnb_001_01_00000002")


def twin(seed: int = 1, ues: int = 10) -> dict[str, list[Cell]]:
    nodes = {}
    for n, name in enumerate(NODES):
        cells = [Cell(((n + 1) << 4) | (i + 1), i, random.Random(f"{seed}:{n}:{i}"))
                 for i in range(2)]  # fmt: skip
        for c in cells:
            for _ in range(ues):
                c.add_ue()
        connect_cells(cells)
        nodes[name] = cells
    return nodes


class Run:
    """A scenario on the small twin, a step a second: measurements, MobiFlow, ground truth."""

    def __init__(self, scenario: Any, *, seed: int = 1, steps: int | None = None,
                 tmp: Path | None = None, **engine_kw: Any) -> None:  # fmt: skip
        self.nodes = twin(seed)
        self.cells = [c for cs in self.nodes.values() for c in cs]
        self.out = io.StringIO()
        writer = MobiflowWriter(self.out, seed=seed)
        writer.watch(self.cells)
        gt = tmp / "truth.jsonl" if tmp is not None else None
        self.engine = ScenarioEngine(scenario, self.nodes, ground_truth=gt, seed=seed,
                                     **engine_kw)  # fmt: skip
        self.m: dict[int, list[dict[str, float | int]]] = {c.cell_id: [] for c in self.cells}
        self.conn: dict[int, list[set[int]]] = {c.cell_id: [] for c in self.cells}
        n = int(scenario.duration) if steps is None else steps
        with self.engine:
            for k in range(n):
                t = T0 + k + 1
                self.engine.tick(t)
                for c in self.cells:
                    c.step(t, 1.0)
                    self.m[c.cell_id].append(c.measurements())
                    self.conn[c.cell_id].append(set(c.ues))
        writer.close()
        self.records = records_of(self.out.getvalue())
        self.truth = self.engine.events
        self.gt_file = gt

    def mean(self, cell: int, name: str, a: int, b: int) -> float:
        vals = [float(m[name]) for m in self.m[cell][a:b]]
        return sum(vals) / len(vals)

    def cqi(self, cell: int, a: int, b: int) -> float:
        ms = self.m[cell][a:b]
        n = sum(int(m[k]) for m in ms for k in CQI_DIST_NAMES)
        return sum(i * int(m[k]) for m in ms for i, k in enumerate(CQI_DIST_NAMES)) / n

    def sinr_bin(self, cell: int, a: int, b: int) -> float:
        ms = self.m[cell][a:b]
        n = sum(int(m[k]) for m in ms for k in SINR_DIST_NAMES)
        return sum(i * int(m[k]) for m in ms for i, k in enumerate(SINR_DIST_NAMES)) / n

    def in_window(self, a: int, b: int) -> list[UeRecord]:
        return [r for r in self.records if T0 + a < r.timestamp <= T0 + b]


def attack(kind: str, **kw: Any) -> Any:
    doc = {"attacks": [{"type": kind, "onset": 60, "duration": 60,
                        "targets": [{"node": 0, "cell": 0}], **kw}], "duration": 180}  # fmt: skip
    return parse_scenario(doc, source="test")


TARGET = (1 << 4) | 1  # node 0, cell 0
OTHER = (2 << 4) | 1


# --------------------------------------------------------------------------- loading
def test_every_builtin_scenario_loads() -> None:
    for name in BUILTIN:
        sc = load_scenario(name)
        assert sc.name == name and sc.duration > 0
        assert all(a.type in ATTACK_TYPES for a in sc.attacks)
        if name in ATTACK_TYPES:
            assert [a.type for a in sc.attacks] == [name]
    assert load_scenario("benign").attacks == ()
    assert len({a.type for a in load_scenario("mixed").attacks}) >= 5


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


GOOD = """
attacks:
  - {type: jamming, onset: 10, duration: 5, targets: [{node: 0, cell: 0}]}
  - {type: blind-dos, onset: 20, duration: 5, targets: random}
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("onset: 20", "onset: -1"), "scenario.yaml: attacks[1].onset: must be a non-negative number"),
        (("onset: 20", "onset: soon"), "scenario.yaml: attacks[1].onset: must be a non-negative number"),
        (("onset: 20", "onset: true"), "scenario.yaml: attacks[1].onset: must be a non-negative number"),
        (("duration: 5, targets: random", "duration: 0, targets: random"),
         "scenario.yaml: attacks[1].duration: must be a positive number"),
        (("type: blind-dos", "type: teleport"), "scenario.yaml: attacks[1].type: unknown attack type 'teleport'"),
        (("targets: random", "targets: random, speed: 3"), "scenario.yaml: attacks[1].speed: unknown field"),
        (("attacks:", "attackz: []\nattacks:"), "scenario.yaml: attackz: unknown field"),
        (("targets: random", "targets: random, intensity: 2"), "scenario.yaml: attacks[1].intensity: must be in (0, 1]"),
        (("targets: random", "targets: random, count: 5"), "scenario.yaml: attacks[1].count: is only for rogue-xapp"),
        (("targets: random", "targets: [{node: 0, cel: 1}]"), "scenario.yaml: attacks[1].targets[0]: unknown field 'cel'"),
        (("targets: random", "targets: [{node: -1}]"), "scenario.yaml: attacks[1].targets[0].node: must be a non-negative index"),
        (("targets: random", "targets: [7]"), "scenario.yaml: attacks[1].targets[0]: must be 'random', 'all'"),
        (("onset: 20, ", ""), "scenario.yaml: attacks[1].onset: is required"),
        (("attacks:", "duration: 20\nattacks:"),
         "scenario.yaml: attacks[1].onset: starts at or after the end of the scenario (20 s)"),
    ],
)  # fmt: skip
def test_bad_scenarios_name_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_scenario("scenario.yaml")
    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_good_file_bad_yaml_and_unknown_names(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, GOOD))
    assert [a.type for a in sc.attacks] == ["jamming", "blind-dos"]
    assert sc.duration == 25 + 60 and sc.attacks[1].targets[0].random == 1
    with pytest.raises(ConfigError, match=r"at line 2$"):
        load_scenario(write(tmp_path, "attacks:\n  - type: a: b\n"))
    with pytest.raises(InputError, match="no scenario 'nope'"):
        load_scenario("nope")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"node": 5}, "attacks[0].targets[0].node: no node 5 (the simulation has 2)"),
        ({"node": "gnb_x"}, "attacks[0].targets[0].node: no node named 'gnb_x'"),
        ({"node": 1, "cell": 4}, "attacks[0].targets[0].cell: node gnb_001_01_00000002 has 2"),
        ({"random": 9}, "attacks[0].targets[0].random: asks for 9 random cells of 4"),
    ],
)
def test_unknown_targets_are_refused_before_anything_runs(target: dict[str, Any],
                                                          message: str) -> None:  # fmt: skip
    sc = parse_scenario({"attacks": [{"type": "jamming", "onset": 0, "duration": 1,
                                      "targets": [target]}]}, source="s.yaml")  # fmt: skip
    nodes = twin()
    with pytest.raises(ConfigError, match="^" + re.escape("s.yaml: " + message)):
        ScenarioEngine(sc, nodes)
    assert all(c.attack_log is None for cs in nodes.values() for c in cs)


def test_targets_by_name_all_and_random_are_deterministic() -> None:
    doc = {"attacks": [{"type": "jamming", "onset": 0, "duration": 1, "targets": t}
                       for t in ([{"node": NODES[1]}], "all", [{"random": 2}])]}  # fmt: skip
    sc = parse_scenario(doc)

    def cells(seed: int) -> list[list[int]]:
        return [[c.cell_id for _, c in r.cells] for r in ScenarioEngine(sc, twin(), seed=seed).runs]

    by_name, everything, rnd = cells(1)
    assert by_name == [0x21, 0x22] and len(everything) == 4 and len(set(rnd)) == 2
    assert cells(1) == cells(1)
    assert any(cells(1)[2] != cells(s)[2] for s in range(2, 8))


# --------------------------------------------------------------------------- ground truth
def test_ground_truth_lines(tmp_path: Path) -> None:
    run = Run(load_scenario("mixed"), tmp=tmp_path)
    assert run.gt_file is not None
    lines = [json.loads(x) for x in run.gt_file.read_text().splitlines()]
    assert lines == run.truth and lines
    assert all(set(x) == {"time", "node", "cell", "ue", "label", "event"} for x in lines)
    times = [x["time"] for x in lines]
    assert times == sorted(times)
    # every episode that starts also ends, cell episodes exactly at onset and onset + duration
    opened: dict[tuple[Any, ...], float] = {}
    for x in lines:
        key = (x["node"], x["cell"], x["ue"], x["label"])
        if x["event"] == "start":
            assert key not in opened
            opened[key] = x["time"]
        else:
            assert x["time"] >= opened.pop(key)
    assert not opened
    for a in load_scenario("mixed").attacks:
        starts = [x for x in lines if x["label"] == a.type and x["ue"] is None]
        assert starts and starts[0]["time"] == T0 + 1 + a.onset
        assert starts[-1]["event"] == "end" and starts[-1]["time"] == T0 + 1 + a.end
    assert {x["label"] for x in lines if x["ue"] is not None} == {"blind-dos", "null-cipher"}


def test_same_seed_same_run() -> None:
    a, b = Run(load_scenario("mixed"), seed=4), Run(load_scenario("mixed"), seed=4)
    assert a.truth == b.truth and a.m == b.m and a.out.getvalue() == b.out.getvalue()
    c = Run(load_scenario("mixed"), seed=5)
    assert c.truth != a.truth


# --------------------------------------------------------------------------- signatures
def test_jamming() -> None:
    run = Run(attack("jamming", intensity=0.6))
    assert run.cqi(TARGET, 60, 120) < run.cqi(TARGET, 0, 60) - 3
    assert run.sinr_bin(TARGET, 60, 120) < run.sinr_bin(TARGET, 0, 60) - 1.5
    assert run.mean(TARGET, "RRU.PrbUsedDl", 60, 120) > 1.4 * run.mean(
        TARGET, "RRU.PrbUsedDl", 0, 60
    )
    assert run.mean(TARGET, "DRB.UEThpDl", 60, 120) < 0.8 * run.mean(TARGET, "DRB.UEThpDl", 0, 60)
    assert abs(run.cqi(OTHER, 60, 120) - run.cqi(OTHER, 0, 60)) < 1  # the other cells do not see it
    assert run.cqi(TARGET, 125, 180) > run.cqi(TARGET, 60, 120) + 3  # and it ends


def test_signalling_storm() -> None:
    run = Run(attack("signalling-storm", intensity=0.5))
    before = run.mean(TARGET, "RRC.ConnEstabAtt", 0, 60)
    during = run.mean(TARGET, "RRC.ConnEstabAtt", 60, 120)
    assert during > 50 * max(before, 0.5)
    assert run.mean(TARGET, "RRC.ConnEstabSucc", 60, 120) > 0.9 * during
    assert run.mean(TARGET, "RRC.ConnEstabAtt", 125, 180) < 5
    # short-lived: storm connections are gone two seconds later
    conn = run.conn[TARGET]
    new = conn[90] - conn[89]
    assert len(new) > 50 and not new & conn[92]
    flood = [r for r in run.in_window(60, 120) if r.rrc_msg == "RRCSetupRequest"]
    calm = [r for r in run.in_window(0, 60) if r.rrc_msg == "RRCSetupRequest"]
    assert len(flood) > 20 * len(calm)


def test_ue_flood() -> None:
    run = Run(attack("ue-flood", intensity=0.6))
    assert run.mean(TARGET, "RRC.ConnMean", 70, 120) > 4 * run.mean(TARGET, "RRC.ConnMean", 0, 60)
    assert run.mean(TARGET, "RRU.PrbTotDl", 70, 120) == 100
    assert run.mean(TARGET, "DRB.UEThpDl", 70, 120) < 0.75 * run.mean(TARGET, "DRB.UEThpDl", 0, 60)
    assert run.mean(TARGET, "RRC.ConnMean", 130, 180) < 30


def test_blind_dos() -> None:
    run = Run(attack("blind-dos", intensity=0.3))
    victims = [x for x in run.truth if x["ue"] is not None and x["event"] == "start"]
    assert len(victims) >= 10
    for v in victims:
        ue, t = v["ue"], v["time"]
        ends = [x["time"] for x in run.truth if x["ue"] == ue and x["event"] == "end"
                and x["time"] >= t]  # fmt: skip
        k = int(t - T0) - 1
        assert ue in run.conn[TARGET][k - 1] and ue not in run.conn[TARGET][k]  # torn down
        spoof = [r for r in run.records if r.s_tmsi == tmsi_of(ue) and r.gnb_cu_ue_f1ap_id == 0
                 and r.timestamp == int(t)]  # fmt: skip
        assert len(spoof) == 1 and spoof[0].rrc_msg == "RRCSetupRequest"
        # the attacker only knows S-TMSIs that were on the air: the victim's connection
        # began with an RRCSetupRequest that presented it
        heard = [r for r in run.records if r.gnb_cu_ue_f1ap_id == ue and r.timestamp <= int(t)
                 and r.rrc_msg == "RRCSetupRequest"]  # fmt: skip
        assert heard and heard[-1].s_tmsi == tmsi_of(ue)
        assert spoof[0].mobile_id == "0010100000000"
        back = ends[0]
        # back after the back-off (a failed attempt on the way back adds 5-15 s)
        assert t + 5 <= back <= t + 36
        again = [r for r in run.records if r.gnb_cu_ue_f1ap_id == ue and r.timestamp >= int(back)]
        assert again[0].rrc_msg == "RRCSetupRequest" and again[0].s_tmsi == tmsi_of(ue)


def test_null_cipher() -> None:
    run = Run(attack("null-cipher", intensity=1.0))
    attacked = {x["ue"] for x in run.truth if x["ue"] is not None}
    assert len(attacked) >= 10
    smc = [r for r in run.records if r.rrc_msg == "SecurityModeCommand"]
    null = {r.gnb_cu_ue_f1ap_id for r in smc if r.rrc_cipher_alg == 0}
    assert null == attacked  # exactly the UEs of the ground truth, nobody else
    assert {r.rrc_integrity_alg for r in smc if r.gnb_cu_ue_f1ap_id in attacked} == {0, 2}
    assert all(r.nr_cell_id == TARGET for r in smc if r.gnb_cu_ue_f1ap_id in attacked)
    refused = {r.gnb_cu_ue_f1ap_id for r in run.records if r.rrc_msg == "SecurityModeFailure"}
    assert {r.gnb_cu_ue_f1ap_id for r in smc if r.rrc_integrity_alg == 0} <= refused


def test_fake_base_station() -> None:
    run = Run(attack("fake-bs", intensity=0.5))
    att = run.mean(TARGET, "RRC.ConnEstabAtt", 60, 120)
    succ = run.mean(TARGET, "RRC.ConnEstabSucc", 60, 120)
    noreply = run.mean(TARGET, "RRC.ConnEstabFailCause.NoReply", 60, 120)
    assert att > 30 and succ < 0.05 * att and noreply > 0.9 * att
    # incomplete procedures: setups that never see an RRCSetupComplete
    window = run.in_window(60, 120)
    setups = {(r.nr_cell_id, r.rnti) for r in window if r.rrc_msg == "RRCSetup"}
    complete = {(r.nr_cell_id, r.rnti) for r in window if r.rrc_msg == "RRCSetupComplete"}
    assert len(setups - complete) > 20 * max(1, len(complete))


def test_rogue_xapp_without_a_ric_applies_the_controls() -> None:
    sc = parse_scenario({"attacks": [{"type": "rogue-xapp", "onset": 60, "duration": 10,
                                      "targets": [{"node": 0}], "count": 40, "rate": 4}],
                         "duration": 120})  # fmt: skip
    quiet = Run(load_scenario("benign"), steps=120)
    run = Run(sc)
    cells = [c.cell_id for c in run.nodes[NODES[0]]]

    def gone(r: Run, a: int, b: int) -> int:
        return sum(int(m["MM.HoExeIntraReq"]) for c in cells for m in r.m[c][a:b]) + sum(
            1 for x in r.in_window(a, b) if x.rrc_msg == "RRCRelease" and x.nr_cell_id in cells
        )

    assert gone(run, 60, 70) >= gone(quiet, 60, 70) + 30
    labels = [(x["cell"], x["event"]) for x in run.truth]
    assert sorted(labels) == sorted([(c, e) for c in cells for e in ("start", "end")])


def test_rogue_xapp_with_a_launcher_gets_an_order() -> None:
    orders: list[RogueOrder] = []
    sc = parse_scenario({"attacks": [{"type": "rogue-xapp", "onset": 5, "duration": 10,
                                      "targets": [{"node": 1}], "count": 7, "rate": 2}]})  # fmt: skip
    run = Run(sc, steps=20, rogue_launcher=orders.append)
    (order,) = orders
    assert order.nodes == (NODES[1],) and (order.count, order.rate) == (7, 2.0)
    assert set(order.cells) == {c.cell_id for c in run.nodes[NODES[1]]}


def test_rogue_xapp_against_ric_lite() -> None:
    from xtrust.e2sim.node import E2Node
    from xtrust.ric.platform import RicLite, RicLiteConfig
    from xtrust.ric.sdl import MemorySdl

    async def main() -> None:
        sdl = MemorySdl()
        cfg = RicLiteConfig(e2_port=0, rmr_port=0, http_port=0, rtmgr_port=None,
                            e2_transport="tcp")  # fmt: skip
        async with RicLite(cfg, sdl=sdl) as ric:
            node = E2Node(0x2A1, "127.0.0.1", ric.e2_port, n_cells=2, ues_per_cell=20, seed=3)
            task = asyncio.create_task(node.run())
            orders: list[RogueOrder] = []
            sc = parse_scenario({"attacks": [{"type": "rogue-xapp", "onset": 0, "duration": 1,
                                              "targets": [{"node": 0}], "count": 12,
                                              "rate": 40}]})  # fmt: skip
            engine = ScenarioEngine(sc, {node.ran_name: node.cells}, rogue_launcher=orders.append)
            before = sum(len(c.ues) for c in node.cells)
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                engine.tick(T0)
                (order,) = orders
                app = RogueXApp.from_order(
                    order, ric=ric.rmr_address, sdl=sdl, rmr_port=0, http=False,
                    host="127.0.0.1", env={}, release_share=1.0,
                    ues=lambda meid: sorted(u for c in node.cells for u in c.ues),
                )  # fmt: skip
                for _ in range(100):  # the RNIB entry lands just after E2 Setup
                    if await app.rnib.get_nodeb(node.ran_name) is not None:
                        break
                    await asyncio.sleep(0.02)
                results = await asyncio.wait_for(app.run_burst(), 10)
                assert app.sent == 12 and results["ack"] >= 10
                assert sum(len(c.ues) for c in node.cells) <= before - 10
                assert node.counters.get("controls", 0) >= 10
            finally:
                engine.close()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 30))


def test_ticks_from_several_nodes_and_late_ticks_change_nothing() -> None:
    sc = attack("blind-dos", intensity=1.0)

    def truth(times: list[float]) -> list[dict[str, Any]]:
        engine = ScenarioEngine(sc, twin(), seed=2)
        for t in times:
            engine.tick(T0 + t)
        engine.close()
        return engine.events

    once = truth([0, 59, 60, 61, 62, 130])
    assert truth([0, 59, 59, 60, 10, 60, 61, 61, 62, 62, 130, 130]) == once
    assert [x["event"] for x in once if x["ue"] is None] == ["start", "end"]
