from __future__ import annotations

import pytest

from xtrust.errors import InputError
from xtrust.xapps.anomaly.sequence import SequenceModel

from .helpers import ATTACH, RELEASE, Builder

SHORT = [*ATTACH[:3], RELEASE]


def training() -> list[list]:  # type: ignore[type-arg]
    traces = []
    for k in range(6):
        b = Builder()
        b.attach(100 + k, t=0)
        if k % 2:
            b.attach(200 + k, t=5, msgs=SHORT)
        traces.append(b.records)
    return traces


def test_training_traces_are_not_flagged() -> None:
    traces = training()
    model = SequenceModel().fit(traces)
    assert len(model.training_scores) == len(traces)
    for t in traces:
        assert not model.is_anomalous(t)
        assert model.score(t).ratio < 1.0


def test_unseen_transition_is_flagged() -> None:
    model = SequenceModel().fit(training())
    b = Builder()  # known messages, order never seen: security before authentication
    b.attach(300, msgs=[ATTACH[0], ATTACH[1], ATTACH[2], ATTACH[7], ATTACH[8], ATTACH[3]])
    score = model.score(b.records)
    assert model.is_anomalous(b.records)
    assert score.worst.transition.startswith("RRCSetupComplete/Registrationrequest -> ")
    assert score.surprisal > model.threshold


def test_unseen_feature_is_flagged() -> None:
    model = SequenceModel().fit(training())
    b = Builder()  # the same messages; RRC ciphering NEA0 once security is on
    b.attach(300, algs=(0, 2, 0, 2))
    score = model.score(b.records)
    assert score.surprisal <= model.threshold  # the order is normal
    assert "feature rrc_cipher_alg:secured:null" in [s.transition for s in score.unseen]
    assert model.is_anomalous(b.records)


def test_threshold_comes_from_leave_one_out() -> None:
    traces = training()
    b = Builder()  # one training trace with a rare, benign detour
    b.attach(400, msgs=[*ATTACH, ("SecurityModeFailure", "", 2, 1, 0), RELEASE])
    strict = SequenceModel().fit(traces)
    tolerant = SequenceModel().fit([*traces, b.records])
    assert tolerant.threshold > strict.threshold
    assert strict.is_anomalous(b.records)


def test_needs_benign_records() -> None:
    with pytest.raises(InputError):
        SequenceModel().fit([])
    with pytest.raises(InputError):
        SequenceModel().fit([[]])
