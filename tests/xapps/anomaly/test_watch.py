"""The xApp's live MobiFlow view: window, memory, settling, de-duplication, the model."""

from __future__ import annotations

import pytest

from xtrust.e2sim.mobiflow import UeRecord
from xtrust.xapps.anomaly.detector import UNKNOWN_ANOMALY
from xtrust.xapps.anomaly.mobiflow_rules import BLIND_DOS_TMSI, IDENTITY_EXTRACTION
from xtrust.xapps.anomaly.sequence import SequenceModel
from xtrust.xapps.anomaly.watch import MobiflowWatch, model_hits

from .helpers import ATTACH, NONE, RELEASE, Builder
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
    watch = MobiflowWatch(model=model, model_every_s=10.0)
    b = Builder()
    b.attach(100, t=0)
    feed(watch, b.records)
    snap = watch.model_due()
    assert snap is not None and len(snap) == len(ATTACH)
    assert watch.model_due() is None  # not again within 10 s of stream
    assert model_hits(model, snap) == []  # an ordinary attach
    # a context that runs the security mode twice and then nulls RRC ciphering
    b.attach(300, t=12, msgs=[*ATTACH[:8], ATTACH[7], ATTACH[8]], algs=(0, 2, 0, 2))
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
