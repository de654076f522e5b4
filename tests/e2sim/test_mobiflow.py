"""MobiFlow v2: the real traces and the simulator's records parse into one record type, and the
simulator's procedures look like the real ones."""

from __future__ import annotations

import asyncio
import io
import itertools
import random
from collections import defaultdict
from pathlib import Path

import pytest

from xtrust.e2sim import model
from xtrust.e2sim.mobiflow import (
    UE_FIELDS,
    BsRecord,
    MobiflowWriter,
    UeRecord,
    iter_trace,
    parse_line,
    read_trace,
    records_of,
    tmsi_of,
)
from xtrust.e2sim.model import Cell
from xtrust.errors import DecodeError, InputError
from xtrust.ric.sdl import MemorySdl

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mobiflow"
needs_data = pytest.mark.skipif(
    not (DATA / "benign").is_dir(),
    reason=f"MobiFlow traces not found at {DATA} (public data set, not shipped with XTRUST)",
)
T0 = 1_700_000_000.0

ATTACH_END = ("SecurityModeComplete", "SecurityModeFailure")


def simulate(seed: int = 1, steps: int = 300, **writer_kw: object) -> tuple[str, list[Cell]]:
    out = io.StringIO()
    writer = MobiflowWriter(out, seed=seed, **writer_kw)  # type: ignore[arg-type]
    cells = [Cell(0x1A0 + i, i, random.Random(f"{seed}:{i}")) for i in range(2)]
    for c in cells:
        for _ in range(10):
            c.add_ue()
    model.connect_cells(cells)
    writer.watch(cells)
    for k in range(steps):
        for c in cells:
            c.step(T0 + k + 1, 1.0)
            c.measurements()
    writer.close()
    return out.getvalue(), cells


def sequences(records: list[UeRecord]) -> dict[tuple[int, int], list[UeRecord]]:
    """Records per connection (cell, RNTI), in order."""
    out: dict[tuple[int, int], list[UeRecord]] = defaultdict(list)
    for r in records:
        out[(r.nr_cell_id, r.rnti)].append(r)
    return out


def attach_sequences(records: list[UeRecord]) -> set[tuple[tuple[str, str], ...]]:
    """(rrc, nas) message sequences from RRCSetupRequest to the end of the security mode."""
    found = set()
    for recs in sequences(records).values():
        seq: list[tuple[str, str]] = []
        for r in recs:
            if r.rrc_msg == "RRCSetupRequest":
                seq = []
            seq.append((r.rrc_msg, r.nas_msg))
            if r.rrc_msg in ATTACH_END and seq[0][0] == "RRCSetupRequest":
                found.add(tuple(seq))
                seq = [("", "")]  # ignore what follows until the next setup
    return found


def real(kind: str) -> list[UeRecord]:
    return [r for p in sorted((DATA / kind).glob("*.csv")) for r in read_trace(p)]


# --------------------------------------------------------------------------- parsing
@needs_data
def test_real_traces_of_both_layouts_parse_into_one_record_type() -> None:
    layouts = {}
    for kind in ("benign", "attack"):
        for path in sorted((DATA / kind).glob("*.csv")):
            records = list(iter_trace(path, bs=True))
            ue = [r for r in records if isinstance(r, UeRecord)]
            assert ue, path
            assert all(isinstance(r, UeRecord | BsRecord) for r in records)
            layouts[path.name] = {r.mobile_id is None for r in ue}
            raw = [ln for ln in path.read_text().splitlines() if ln.startswith("UE;")]
            assert len(raw) == len(ue)
    # benign traces carry no mobile_id (22 fields), attack traces do (23): one record type
    assert all(v == {True} for k, v in layouts.items() if not k.startswith(("blind", "null")))
    assert all(v == {False} for k, v in layouts.items() if k.startswith(("blind", "null")))


def test_a_record_survives_both_layouts() -> None:
    line = ("UE;9;v2.0;SECSM;1746320775;12345678;0;53464;53464;123456;2089900000000;0;0;0;0;"
            "RRCSetupRequest; ;0;0;0;3;0;0")  # fmt: skip
    rec = parse_line(line)
    assert isinstance(rec, UeRecord)
    assert (rec.rrc_msg, rec.nas_msg, rec.s_tmsi, rec.mobile_id) == (
        "RRCSetupRequest", "", 123456, "2089900000000")  # fmt: skip
    assert rec.to_line() == line
    short = parse_line(rec.to_line(with_mobile_id=False))
    assert isinstance(short, UeRecord)
    assert short.mobile_id is None and short.to_line(with_mobile_id=False).count(";") == 21
    assert short == UeRecord(**{**{f: getattr(rec, f) for f in rec.__slots__}, "mobile_id": None})
    assert len(UE_FIELDS) == 23


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("UE;1;v2.0;SECSM;1;2;3", "22 or 23 fields"),
        ("UE;x;v2.0;SECSM;1;2;3;4;5;6;2;2;0;2;RRCSetup; ;2;0;0;0;0;0", "number"),
        ("XX;1;2", "not a MobiFlow record"),
        ("UE;1;v1.0;SECSM;1;2;3;4;5;6;2;2;0;2;RRCSetup; ;2;0;0;0;0;0", "not v2"),
    ],
)
def test_malformed_lines_raise_decode_errors_naming_the_place(line: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as err:
        parse_line(line, where="t.csv:3")
    assert str(err.value).startswith("t.csv:3: ")
    assert parse_line("\n") is None


def test_missing_trace_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_trace(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- writing
def test_generated_records_parse_with_the_same_parser() -> None:
    text, _ = simulate()
    lines = text.splitlines()
    assert len(lines) > 500
    assert all(ln.count(";") == 22 for ln in lines)  # 23 fields
    records = records_of(text)
    assert len(records) == len(lines)
    assert [r.to_line() for r in records] == lines  # the writer writes what to_line() would
    assert [r.msg_id for r in records] == list(range(len(records)))
    assert all(r.version == "v2.0" and r.mobile_id and r.mobile_id.startswith("00101")
               for r in records)  # fmt: skip
    times = [r.timestamp for r in records]
    # in order, but for a repeated SecurityModeComplete written up to 2 s late
    assert all(b >= a - 2 for a, b in itertools.pairwise(times))
    # the 22-field layout carries the same records without mobile_id
    short, _ = simulate(with_mobile_id=False)
    again = records_of(short)
    assert all(ln.count(";") == 21 for ln in short.splitlines())
    assert [r.mobile_id for r in again] == [None] * len(again)
    assert [(r.rrc_msg, r.rnti) for r in again] == [(r.rrc_msg, r.rnti) for r in records]
    assert [r.to_line(with_mobile_id=False) for r in again] == short.splitlines()


@needs_data
def test_benign_procedures_look_like_the_real_benign_traces() -> None:
    real_benign = real("benign")
    text, _ = simulate(steps=600)
    sim = records_of(text)
    real_seqs = attach_sequences(real_benign)
    sim_seqs = attach_sequences(sim)
    assert len(sim_seqs) >= 2  # OAI-like and phone-like attaches
    assert sim_seqs <= real_seqs, sim_seqs - real_seqs
    # every message carries the state fields the real traces show for it (handovers appear
    # only in the v2.1 trace, among the attack traces)
    states = defaultdict(set)
    for r in real_benign + real("attack"):
        states[(r.rrc_msg, r.nas_msg)].add((r.rrc_state, r.nas_state, r.rrc_sec_state,
                                            r.reserved_1, r.reserved_2, r.reserved_3))  # fmt: skip
    for r in sim:
        key = (r.rrc_msg, r.nas_msg)
        assert key in states, key
        assert (r.rrc_state, r.nas_state, r.rrc_sec_state, r.reserved_1, r.reserved_2,
                r.reserved_3) in states[key], r  # fmt: skip
    # security: the RRC security mode never selects a null algorithm for benign UEs,
    # as in the real benign traces
    for records in (real_benign, sim):
        smc = [r for r in records if r.rrc_msg == "SecurityModeCommand"]
        assert smc and all(r.rrc_cipher_alg != 0 and r.rrc_integrity_alg != 0 for r in smc)


def test_each_connection_has_one_identity() -> None:
    text, _ = simulate()
    for (cell, rnti), recs in sequences(records_of(text)).items():
        known = {r.gnb_cu_ue_f1ap_id for r in recs if r.gnb_cu_ue_f1ap_id}
        assert len(known) <= 1, (cell, rnti)
        assert all(r.gnb_du_ue_f1ap_id == rnti for r in recs)


def test_repeated_security_mode_complete_only_within_a_secured_connection() -> None:
    """The traces' occasional repeated SecurityModeComplete comes within the same
    connection: never after its release, never after a SecurityModeFailure."""
    repeats = 0
    for seed in range(1, 4):
        text, _ = simulate(seed=seed, steps=600)
        for recs in sequences(records_of(text)).values():
            state = ""  # "" / "secured" / "refused" / "released", per connection
            for r in recs:
                if r.rrc_msg == "RRCSetupRequest":
                    state = ""
                elif r.rrc_msg == "SecurityModeComplete":
                    assert state in ("", "secured"), (r.msg_id, state)
                    repeats += state == "secured"
                    state = "secured"
                elif r.rrc_msg == "SecurityModeFailure":
                    state = "refused"
                elif r.rrc_msg == "RRCRelease":
                    state = "released"
    assert repeats > 0  # they still occur


def test_writer_choices_never_touch_the_model() -> None:
    a, cells_a = simulate(seed=3)
    b, _ = simulate(seed=3)
    assert a == b
    c, cells_c = simulate(seed=3, full_registration=True)
    assert [len(x.ues) for x in cells_a] == [len(x.ues) for x in cells_c]
    msgs = {r.rrc_msg for r in records_of(c)}
    assert {"UECapabilityEnquiry", "RRCReconfigurationComplete"} <= msgs


def test_attack_procedures_look_like_the_real_attack_traces() -> None:
    out = io.StringIO()
    writer = MobiflowWriter(out)
    cell = Cell(0x1B1, 1, random.Random(4))
    for _ in range(10):
        cell.add_ue()
    writer.watch([cell])
    victim = sorted(cell.ues)[3]
    cell.step(T0 + 1, 1.0)
    assert cell.spoof_tmsi(T0 + 1, victim, back_off_s=3.0)
    assert victim not in cell.ues
    cell.downgrade = 1.0
    for k in range(2, 120):
        cell.step(T0 + k, 1.0)
    writer.close()
    records = records_of(out.getvalue())
    # blind DoS: one RRCSetupRequest without context or identity, with the victim's S-TMSI
    spoof = [r for r in records if r.s_tmsi == tmsi_of(victim) and r.gnb_cu_ue_f1ap_id == 0]
    assert len(spoof) == 1
    (s,) = spoof
    assert s.rrc_msg == "RRCSetupRequest" and s.mobile_id == "0010100000000"
    assert (s.rrc_cipher_alg, s.rrc_integrity_alg, s.nas_cipher_alg, s.nas_integrity_alg) == (
        0, 0, 0, 0)  # fmt: skip
    # ... and the victim comes back with its own identity and the same S-TMSI
    back = [r for r in records if r.gnb_cu_ue_f1ap_id == victim and r.timestamp >= s.timestamp]
    assert back and back[0].rrc_msg == "RRCSetupRequest" and back[0].s_tmsi == tmsi_of(victim)
    # null cipher: security mode commands with NEA0 (some also NIA0, refused by the UE)
    smc = [r for r in records if r.rrc_msg == "SecurityModeCommand"]
    assert smc and all(r.rrc_cipher_alg == 0 for r in smc)
    nia0 = {r.rnti for r in smc if r.rrc_integrity_alg == 0}
    failures = {r.rnti for r in records if r.rrc_msg == "SecurityModeFailure"}
    assert nia0 and nia0 <= failures


@needs_data
def test_simulated_attack_records_match_the_real_ones_field_by_field() -> None:
    real_attack = real("attack")
    spoofs = [r for r in real_attack if r.rrc_msg == "RRCSetupRequest" and r.gnb_cu_ue_f1ap_id == 0]
    assert spoofs
    out = io.StringIO()
    writer = MobiflowWriter(out)
    cell = Cell(0x1B2, 1, random.Random(5))
    cell.add_ue()
    writer.watch([cell])
    cell.spoof_tmsi(T0, next(iter(cell.ues)), 5.0)
    writer.close()
    (sim,) = records_of(out.getvalue())
    for r in spoofs:  # same message, states and (absent) security as the real attacker's
        assert (sim.rrc_msg, sim.nas_msg, sim.rrc_state, sim.nas_state, sim.rrc_sec_state,
                sim.reserved_1) == (r.rrc_msg, r.nas_msg, r.rrc_state, r.nas_state,
                                    r.rrc_sec_state, r.reserved_1)  # fmt: skip
        assert r.rrc_cipher_alg == r.rrc_integrity_alg == sim.rrc_cipher_alg == 0
        assert r.mobile_id is not None and r.mobile_id.endswith("00000000")
    # the real null-cipher traces: a SecurityModeCommand followed by a failure, or NEA0
    null = [r for r in real_attack if r.rrc_msg == "SecurityModeCommand"]
    assert any(r.rrc_cipher_alg == 0 for r in null)


def test_records_go_to_sdl() -> None:
    async def main() -> None:
        sdl = MemorySdl()
        out = io.StringIO()
        writer = MobiflowWriter(out, keep_for_sdl=True)
        cell = Cell(0x1B3, 1, random.Random(6))
        for _ in range(10):
            cell.add_ue()
        writer.watch([cell])
        for k in range(60):
            cell.step(T0 + k, 1.0)
        sub = await sdl.subscribe("mobiflow", "mobiflow")
        n = await writer.publish(sdl)
        assert n == len(out.getvalue().splitlines()) > 0
        stored = await sdl.find_and_get("mobiflow", "ue:*")
        assert len(stored) == n
        first = parse_line(stored["ue:000000000000"].decode())
        assert isinstance(first, UeRecord) and first.msg_id == 0
        note = await sub.get(timeout=2)
        assert note.events == (f"ue:000000000000-{n - 1:012d}",)
        assert await writer.publish(sdl) == 0
        await sub.close()
        await sdl.close()

    asyncio.run(main())
    with pytest.raises(InputError, match="keep_for_sdl"):
        asyncio.run(MobiflowWriter(io.StringIO()).publish(MemorySdl()))


def test_benign_captures_are_benign_traces_of_their_own_seeds(tmp_path: Path) -> None:
    from xtrust.e2sim.mobiflow import benign_captures
    from xtrust.xapps.anomaly.mobiflow_rules import run_rules

    paths = benign_captures(tmp_path / "b", traces=2, seconds=120, nodes=1, cells_per_node=2,
                            ues_per_cell=5, seed=7)  # fmt: skip
    assert [p.name for p in paths] == ["benign-7.csv", "benign-8.csv"]
    traces = [read_trace(p) for p in paths]
    assert all(len(t) > 50 for t in traces) and traces[0] != traces[1]
    assert len({r.nr_cell_id for r in traces[0]}) == 2
    assert all(run_rules(t) == [] for t in traces)  # no rule fires on them
    again = benign_captures(tmp_path / "c", traces=1, seconds=120, nodes=1, cells_per_node=2,
                            ues_per_cell=5, seed=7)  # fmt: skip
    assert again[0].read_text() == paths[0].read_text()  # deterministic per seed
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError):
        benign_captures(tmp_path / "file" / "sub", traces=1, seconds=1)
