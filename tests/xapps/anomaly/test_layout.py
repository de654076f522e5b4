"""No decision depends on the record layout (22 or 23 fields) or on mobile_id."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtrust.e2sim.mobiflow import records_of
from xtrust.xapps.anomaly.detector import MobiflowDetector, load_trace

from .helpers import Builder, benign_attach, to_text

DATA = Path(__file__).parents[3] / ".." / "shared" / "data" / "mobiflow"


def _assert_same(det: MobiflowDetector, records: list) -> None:  # type: ignore[type-arg]
    with_id = records_of(to_text(records, with_mobile_id=True))
    without = records_of(to_text(records, with_mobile_id=False))
    assert {r.mobile_id is None for r in without} == {True}
    assert {r.mobile_id is None for r in with_id} == {False}
    a, b = det.detect(with_id), det.detect(without)
    assert (a.verdict, a.score, a.attack_class, a.evidence) == (
        b.verdict, b.score, b.attack_class, b.evidence)  # fmt: skip


def test_hand_built_traces_either_layout() -> None:
    det = MobiflowDetector().fit([benign_attach(100 + k) for k in range(4)])
    spoof = Builder()
    spoof.attach(100, s_tmsi=77)
    spoof.add(9, ("RRCSetupRequest", "", 0, 0, 0), t=3, algs=(0, 0, 0, 0), s_tmsi=77, cu=0,
              mobile_id="00101000000000")  # fmt: skip
    for records in (benign_attach(500), spoof.records):
        _assert_same(det, records)
    assert det.detect(spoof.records).verdict == "attack"


@pytest.mark.skipif(not DATA.is_dir(), reason=f"MobiFlow data set not found at {DATA}")
def test_real_traces_converted_to_the_other_layout(tmp_path: Path) -> None:
    benign = sorted((DATA / "benign").glob("*.csv"))
    det = MobiflowDetector().fit([load_trace(p).records for p in benign])
    for path in [*sorted((DATA / "attack").glob("*.csv")), benign[0], benign[5]]:
        records = load_trace(path).records
        has_id = records[0].mobile_id is not None
        other = tmp_path / path.name
        other.write_text(to_text(records, with_mobile_id=not has_id))
        a, b = det.detect_file(path), det.detect_file(other)
        assert (a.verdict, a.score, a.attack_class, a.evidence) == (
            b.verdict, b.score, b.attack_class, b.evidence)  # fmt: skip
