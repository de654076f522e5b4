"""The xApp's live MobiFlow view: window, memory, settling, de-duplication, the model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xtrust.e2sim.mobiflow import UeRecord
from xtrust.errors import ConfigError
from xtrust.xapps.anomaly.alerts import AlertRecord
from xtrust.xapps.anomaly.app import DESCRIPTOR, AnomalyXApp, mobiflow_config
from xtrust.xapps.anomaly.detector import UNKNOWN_ANOMALY
from xtrust.xapps.anomaly.mobiflow_rules import (
    BLIND_DOS_TMSI,
    IDENTITY_EXTRACTION,
    RuleHit,
    run_rules,
)
from xtrust.xapps.anomaly.sequence import SequenceModel
from xtrust.xapps.anomaly.watch import MobiflowWatch, model_hits

from .helpers import ATTACH, NONE, RELEASE, Builder, to_text
from .test_sequence import training

IDENTITY = [("DLInformationTransfer", "Identityrequest", 2, 1, 0),
            ("ULInformationTransfer", "Identityresponse", 2, 1, 0)]  # fmt: skip


def feed(watch: MobiflowWatch, records: list[UeRecord]) -> list[str]:
    for rec in records:
        watch.add(rec)
    return [h.attack_class for h in watch.scan()]


def test_blind_dos_on_a_ue_that_attached_long_ago() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    for k in range(20):  # other UEs come and go: the victim's records leave the window
        b.attach(200 + k, t=1 + k)
        b.add(200 + k, RELEASE, t=1 + k)
    b.add(555, ATTACH[0], t=30, algs=NONE, s_tmsi=123456, cu=0)
    watch = MobiflowWatch(window=20)
    assert feed(watch, b.records) == [BLIND_DOS_TMSI]
    assert not any(r.rnti == 100 for r in watch.records)  # known from the memory only
    (hit,) = run_rules(list(watch.records), memory=watch.memory)
    held = watch.record(hit.evidence[0])  # the holder's record, found in the memory
    assert held is not None and (held.rnti, held.s_tmsi) == (100, 123456)
    assert feed(watch, []) == []  # reported once


def test_absence_rules_wait_for_the_stream_to_settle() -> None:
    b = Builder()
    b.attach(100, t=0, algs=NONE, msgs=[*ATTACH[:3], *IDENTITY])
    watch = MobiflowWatch()
    assert feed(watch, b.records) == []  # authentication may still come
    b.attach(300, t=3)
    assert feed(watch, b.records[-len(ATTACH) :]) == []  # 3 s later: still waiting
    b.attach(400, t=6)
    assert feed(watch, b.records[-len(ATTACH) :]) == [IDENTITY_EXTRACTION]


def test_the_model_scores_snapshots_every_so_often() -> None:
    model = SequenceModel().fit(training())
    watch = MobiflowWatch(window=40, model=model, model_every_s=10.0)
    b = Builder()
    b.attach(100, t=0)
    feed(watch, b.records)
    snap = watch.model_due()
    assert snap is not None and len(snap) == len(ATTACH)
    assert watch.model_due() is None  # not again within 10 s of stream
    assert model_hits(model, snap) == []  # an ordinary attach
    b.add(100, ATTACH[8], t=11)  # a repeated SecurityModeComplete, as benign traces show
    feed(watch, b.records[-1:])
    assert watch.model_due() is None  # 11 s on, but 1 new record: not a quarter window
    # a context that identifies itself after security: an order no rule is about
    b.attach(300, t=12, msgs=[*ATTACH, *IDENTITY])
    feed(watch, b.records[-10:])
    snap = watch.model_due()
    assert snap is not None
    hits = model_hits(model, snap)
    assert [h.attack_class for h in hits] == [UNKNOWN_ANOMALY]
    assert "sequence model" in hits[0].reason and hits[0].evidence[0]["rnti"] == 300
    assert watch.accept(hits) == []  # its record is the newest: wait for the stream
    b.attach(400, t=20)
    feed(watch, b.records[-len(ATTACH) :])
    assert [h.attack_class for h in watch.accept(hits)] == [UNKNOWN_ANOMALY]
    assert watch.accept(hits) == []  # once


def test_without_a_model_nothing_is_due() -> None:
    watch = MobiflowWatch()
    b = Builder()
    b.attach(100, t=0)
    feed(watch, b.records)
    assert watch.model_due() is None
    with pytest.raises(ValueError):
        MobiflowWatch(window=0)


# ------------------------------------------------------------------ in the xApp
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"bogus": 1}, "controls.mobiflow.bogus"),
        ({"window": 0}, "controls.mobiflow.window"),
        ({"window": 2.5}, "controls.mobiflow.window"),
        ({"model_margin": -1}, "controls.mobiflow.model_margin"),
        ({"model_every_s": "often"}, "controls.mobiflow.model_every_s"),
        ({"benign": 7}, "controls.mobiflow.benign"),
        ({"benign": ["/nonexistent/benign"]}, "controls.mobiflow.benign"),
        ([1], "controls.mobiflow"),
    ],
)
def test_bad_mobiflow_controls_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        mobiflow_config(raw)
    assert err.value.field == field


def _benign_dir(tmp_path: Path) -> Path:
    d = tmp_path / "benign"
    d.mkdir()
    for k, trace in enumerate(training()):
        (d / f"b{k}.csv").write_text(to_text(trace, with_mobile_id=k % 2 == 0))
    return d


def test_the_xapp_learns_from_benign_captures_and_alerts_unknown_sequences(
    tmp_path: Path,
) -> None:
    doc = json.loads(DESCRIPTOR.read_text())
    doc["controls"]["mobiflow"] = {"benign": [str(_benign_dir(tmp_path))], "model_margin": 1.0,
                                   "window": 40, "model_every_s": 5.0}  # fmt: skip
    cfg = tmp_path / "config-file.json"
    cfg.write_text(json.dumps(doc))

    async def main() -> list[AlertRecord]:
        app = AnomalyXApp(config=str(cfg), rmr_port=0, http_port=0, host="127.0.0.1", env={})
        assert app.mobiflow.model is None  # learnt at start, off the event loop
        app.mobiflow.model = await asyncio.to_thread(app._learn, app._benign)
        b = Builder()
        # an identity exchange after security: no rule is about that order
        b.attach(300, t=0, msgs=[*ATTACH, *IDENTITY])
        app.on_mobiflow([r.to_line() for r in b.records])
        for k in range(3):  # the stream goes on past the settle time
            b.attach(400 + k, t=6 + 3 * k)
            app.on_mobiflow([r.to_line() for r in b.records[-len(ATTACH) :]])
            if app._model_task is not None:
                await app._model_task
        # scored in a process of its own (the event loop keeps the GIL), closed at stop
        assert app._model_worker is not None and not app._model_in_thread
        await app.on_stop()
        assert app._model_worker is None
        return list(app.alerts)

    alerts = asyncio.run(main())
    # the model flags the order it never saw in benign; no rule names it
    assert [a.attack_class for a in alerts] == ["unknown-sequence"]
    seq = next(a for a in alerts if a.attack_class == "unknown-sequence")
    assert seq.entity_id.endswith("/300") and "sequence model" in seq.evidence[0]
    # raised once the stream had moved 5 s past the evidence, and timed so; the onset
    # is the evidence's own time
    assert seq.onset is not None and seq.onset < 1.0 and seq.time >= seq.onset + 5.0


def test_the_xapp_cli_refuses_benign_captures_it_cannot_read(tmp_path: Path) -> None:
    doc = json.loads(DESCRIPTOR.read_text())
    empty = tmp_path / "empty.csv"
    empty.write_text("not a trace\n")
    doc["controls"]["mobiflow"] = {"benign": [str(empty)]}
    cfg = tmp_path / "config-file.json"
    cfg.write_text(json.dumps(doc))
    r = subprocess.run([sys.executable, "-m", "xtrust", "xapp", "run", "anomaly", "--config",
                        str(cfg), "--duration", "0.3", "--ric", "127.0.0.1:9"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "controls.mobiflow.benign" in r.stderr and "Traceback" not in r.stderr


def test_a_model_hit_on_a_ue_a_rule_named_is_dropped() -> None:
    model = SequenceModel().fit(training())
    watch = MobiflowWatch(model=model)
    b = Builder()
    b.attach(300, t=0, algs=(0, 2, 0, 2))  # NEA0 after security: the rule names it
    b.attach(400, t=10)
    assert feed(watch, b.records) == ["null_cipher_integrity"]
    hits = model_hits(model, watch.model_due() or [])
    assert [h.attack_class for h in hits] == [UNKNOWN_ANOMALY]
    assert hits[0].evidence[0]["rnti"] == 300
    assert watch.accept(hits) == []  # the rule said it already


def test_a_model_hit_names_its_ue_after_the_record_left_the_window() -> None:
    """The model judges a snapshot seconds later; a storm may have pushed the record out
    of the window meanwhile: the alert still names the cell and UE (from the evidence),
    not cell 0 / -1, which matches no episode and tells an operator nothing."""
    model = SequenceModel().fit(training())
    watch = MobiflowWatch(window=40, model=model, model_every_s=1.0)
    b = Builder()
    b.attach(300, t=0, msgs=[*ATTACH, *IDENTITY])
    feed(watch, b.records)
    hits = model_hits(model, watch.model_due() or [])
    assert [h.attack_class for h in hits] == [UNKNOWN_ANOMALY]
    ev = hits[0].evidence[0]
    rec = next(r for r in b.records if r.msg_id == ev["msg_id"])
    for k in range(8):  # 80 records: the flagged context is gone from the window
        b.attach(400 + k, t=6 + k)
        feed(watch, b.records[-len(ATTACH) :])
    assert watch.record(ev) is None
    assert watch.entity(ev) == (rec.nr_cell_id, rec.gnb_cu_ue_f1ap_id or rec.rnti)
    assert rec.nr_cell_id > 0
    assert [h.attack_class for h in watch.accept(hits)] == [UNKNOWN_ANOMALY]


def test_hits_without_a_ue_id_are_one_finding_per_cell() -> None:
    """A fake base station's setups never complete: no F1AP UE id, a new RNTI each. Its
    hits are one finding per cell, not one alert per RNTI."""

    def hit(cell: int, rnti: int) -> RuleHit:
        ev = {"msg_id": 10_000 + rnti, "timestamp": 1.0, "nr_cell_id": cell, "ue": 0,
              "rnti": rnti}  # fmt: skip
        return RuleHit("fake_bs", "setups never completed", (ev,))

    watch = MobiflowWatch()
    got = watch.accept([hit(7, 101), hit(7, 202), hit(8, 303)])
    assert [watch.entity(h.evidence[0]) for h in got] == [(7, 101), (8, 303)]
