"""The rules on traces the twin's MobiFlow writer produces (no real data needed)."""

from __future__ import annotations

from xtrust.xapps.anomaly import MobiflowDetector, run_rules
from xtrust.xapps.anomaly.mobiflow_rules import BLIND_DOS_TMSI, NULL_CIPHER_INTEGRITY

from .helpers import simulate

T0 = 1_700_000_000.0


def test_simulated_benign_traffic_fires_no_rule() -> None:
    for seed in range(3):
        records = simulate(seed, 400)
        assert len(records) > 1000
        assert run_rules(records) == []


def test_simulated_attacks_fire_their_rules() -> None:
    spoofed = simulate(7, 60, spoof_at=30)
    assert [h.attack_class for h in run_rules(spoofed)] == [BLIND_DOS_TMSI]
    downgraded = simulate(8, 60, downgrade=1.0)
    classes = {h.attack_class for h in run_rules(downgraded)}
    assert classes == {NULL_CIPHER_INTEGRITY}


def test_detector_trained_on_simulated_benign_traffic() -> None:
    det = MobiflowDetector().fit([simulate(seed, 150) for seed in range(4)])
    assert det.detect(simulate(11, 150)).verdict == "benign"
    v = det.detect(simulate(12, 60, spoof_at=30))
    assert (v.verdict, v.attack_class) == ("attack", BLIND_DOS_TMSI)
