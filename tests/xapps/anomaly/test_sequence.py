"""The benign sequence model: what it learns, what it flags, what it lets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtrust.e2sim.mobiflow import UeRecord, records_of
from xtrust.errors import InputError
from xtrust.xapps.anomaly.detector import UNKNOWN_ANOMALY, MobiflowDetector, load_trace
from xtrust.xapps.anomaly.sequence import NOVEL, SequenceModel, observations

from .helpers import ATTACH, NONE, RELEASE, Builder, simulate, to_text

DATA = Path(__file__).parents[3] / ".." / "shared" / "data" / "mobiflow"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"MobiFlow data set not found at {DATA} (a shared/ beside the repo)"
)

T0 = 1_700_000_000.0
SHORT = [*ATTACH[:3], RELEASE]
SMC_COMPLETE = ATTACH[8]
UL_UNDECODED = ("ULInformationTransfer", "", 2, 1, 0)


def benign_trace(k: int) -> list[UeRecord]:
    """A benign-looking trace; ``k`` varies RNTIs, identities and the detours benign traces take."""
    b = Builder()
    b.attach(100 + k, t=0, s_tmsi=0 if k % 3 else 7000 + k)
    if k % 2:
        b.attach(200 + k, t=5, msgs=SHORT)  # a registration the network releases
    if k % 3 == 1:
        b.add(100 + k, SMC_COMPLETE, t=6)  # a repeated SecurityModeComplete
    if k % 4 == 2:
        b.attach(300 + k, t=8, msgs=[*ATTACH[:2], RELEASE])  # released right after RRCSetup
    return b.records


def training(n: int = 8) -> list[list[UeRecord]]:
    return [benign_trace(k) for k in range(n)]


@pytest.fixture(scope="module")
def model() -> SequenceModel:
    return SequenceModel().fit(training())


def test_training_traces_are_not_flagged(model: SequenceModel) -> None:
    assert len(model.training_scores) == 8
    for t in training():
        assert model.score(t).ratio < 1.0
    assert set(model.thresholds) >= {"next", "release", "state", "identity", "sec:rrc_cipher_alg"}


def test_held_out_benign_like_traces_are_not_flagged() -> None:
    traces = training(12)
    for i, held in enumerate(traces):
        m = SequenceModel().fit(traces[:i] + traces[i + 1 :])
        assert not m.is_anomalous(held), (i, m.score(held).over())
    fresh = benign_trace(40)  # new RNTIs, a new S-TMSI, a repeat and a release
    assert not SequenceModel().fit(traces).is_anomalous(fresh)


def test_learns_only_from_what_it_is_given() -> None:
    """A detour is anomalous until benign traces show it."""
    detour = Builder()
    detour.attach(500, msgs=[*ATTACH[:7], ("SecurityModeCommand", "", 2, 1, 0),
                             ("SecurityModeFailure", "", 2, 1, 0)])  # fmt: skip
    strict = SequenceModel().fit(training())
    assert strict.is_anomalous(detour.records)
    shown = []
    for k in range(3):  # benign traces with the detour: part of benign behaviour now
        b = Builder()
        b.records.extend(benign_trace(k))
        b.attach(600 + k, t=9, msgs=detour_msgs())
        shown.append(b.records)
    tolerant = SequenceModel().fit([*training(), *shown])
    assert not tolerant.is_anomalous(detour.records)


def detour_msgs() -> list[tuple[str, str, int, int, int]]:
    return [*ATTACH[:7], ("SecurityModeCommand", "", 2, 1, 0), ("SecurityModeFailure", "", 2, 1, 0)]


def test_unseen_order_of_known_messages_is_flagged(model: SequenceModel) -> None:
    b = Builder()  # known messages, order never seen: RRC security before authentication
    b.attach(300, msgs=[ATTACH[0], ATTACH[1], ATTACH[2], ATTACH[7], ATTACH[8], ATTACH[3]])
    score = model.score(b.records)
    assert score.over() == ["next"]
    assert score.channels["next"].transition.startswith("next: SecurityModeCommand/ | ")
    assert score.channels["next"].rnti == 300


def test_null_algorithm_after_security_is_flagged(model: SequenceModel) -> None:
    b = Builder()  # the same messages; RRC ciphering NEA0 once security is on
    b.attach(300, algs=(0, 2, 0, 2))
    score = model.score(b.records)
    assert "next" not in score.over()  # the order is normal
    assert "sec:rrc_cipher_alg" in score.over()
    assert score.channels["sec:rrc_cipher_alg"].transition.startswith("sec:rrc_cipher_alg: null")


def test_algorithms_nulled_within_a_context_are_flagged(model: SequenceModel) -> None:
    b = Builder()
    b.attach(300, msgs=ATTACH[:8])
    b.add(300, SMC_COMPLETE, algs=(2, 0, 0, 2))  # integrity dropped mid-context
    assert "delta:algs" in model.score(b.records).over()


def test_all_zero_algorithms_carry_no_security_information(model: SequenceModel) -> None:
    b = Builder()
    b.attach(300)
    b.add(300, RELEASE, algs=NONE)  # MobiFlow lost the security context: zeros
    assert not model.is_anomalous(b.records)


def test_s_tmsi_of_an_active_context_presented_again_is_flagged(model: SequenceModel) -> None:
    b = Builder()
    b.attach(100, s_tmsi=4242)
    b.add(9, ATTACH[0], t=14, algs=NONE, s_tmsi=4242, cu=0)  # another RNTI, same S-TMSI
    score = model.score(b.records)
    assert score.over() == ["identity"]
    step = score.channels["identity"]
    assert (step.transition, step.rnti, step.context) == ("identity: conflict", 9, 1)


@pytest.mark.parametrize("case", ["released", "same_rnti", "moved_then_released"])
def test_ordinary_reconnections_are_no_conflict(model: SequenceModel, case: str) -> None:
    b = Builder()
    b.attach(100, s_tmsi=4242)
    if case == "released":
        b.add(100, RELEASE, t=5, s_tmsi=4242)
        b.attach(9, t=14, s_tmsi=4242)
    elif case == "same_rnti":  # radio link failure: the UE starts over on its RNTI
        b.attach(100, t=14, s_tmsi=4242)
    else:  # the capture missed a move to RNTI 9, then sees its release and a new setup
        b.add(9, RELEASE, t=10, s_tmsi=4242, algs=NONE)
        b.attach(9, t=14, s_tmsi=4242)
    score = model.score(b.records)
    conflicts = [o for o in observations(b.records) if o.value == "conflict"]
    assert conflicts == []
    assert "identity" not in score.over()


def test_release_is_scored_by_where_it_comes(model: SequenceModel) -> None:
    """A release is not an order anomaly for ``next``; ``release`` learns where benign ones come."""
    usual = Builder()  # benign traces release right after RRCSetup and after the registration
    usual.attach(300, msgs=[*ATTACH[:2], RELEASE])
    usual.attach(301, msgs=[*ATTACH[:3], RELEASE])
    assert not model.is_anomalous(usual.records)
    storm = Builder()  # released while the authentication request waits for an answer
    for k in range(3):
        storm.attach(400 + k, t=k, msgs=[*ATTACH[:4], RELEASE])
    score = model.score(storm.records)
    assert score.over() == ["release"]
    assert score.channels["release"].transition == (
        "release: release | DLInformationTransfer/Authenticationrequest"
    )


def test_burst_of_setups_that_never_complete_is_flagged(model: SequenceModel) -> None:
    few = Builder()
    few.records.extend(benign_trace(0))
    for k in range(2):  # as many as benign traces show
        few.attach(500 + k, t=k, msgs=ATTACH[:2])
    assert "burst" not in model.score(few.records).over()
    many = Builder()
    many.records.extend(benign_trace(0))
    for k in range(40):  # 40 setups in 4 s, none completed, each context well-formed
        many.attach(500 + k, t=k / 10, msgs=ATTACH[:2])
    score = model.score(many.records)
    assert score.over() == ["burst"]
    assert score.channels["burst"].transition.startswith("burst: 40 RRC setups never completed")


def test_a_freed_rnti_given_to_another_ue_starts_a_new_context(model: SequenceModel) -> None:
    b = Builder()
    b.attach(300, msgs=[*ATTACH[:2], RELEASE])
    # another UE (another CU UE F1AP ID) arrives by handover on the freed RNTI
    b.add(300, ("RRCReconfigurationComplete", "", 2, 2, 1), t=30, s_tmsi=77, cu=9000)
    deltas = [o.value for o in observations(b.records) if o.channel == "delta:s_tmsi"]
    assert deltas == ["same", "same"]  # within each context; no S-TMSI "gained"
    assert {o.context for o in observations(b.records)} == {0, 1}


def test_undecoded_nas_counts_as_its_rrc_message(model: SequenceModel) -> None:
    b = Builder()  # NAS Securitymodecomplete ciphered: the capture shows no NAS message
    b.attach(300, msgs=[*ATTACH[:6], UL_UNDECODED, *ATTACH[7:]])
    assert not model.is_anomalous(b.records)


def test_novel_messages_are_counted_per_context() -> None:
    traces = training()
    for k in (0, 1):  # one odd message each, in two traces (each is novel when held out)
        traces[k] = [*traces[k], Builder().add(100 + k, (f"Odd{k}", "", 2, 1, 0))]
    m = SequenceModel().fit(traces)
    assert m.novel_threshold == 1
    one = Builder()
    one.attach(300, msgs=[*ATTACH, ("NewThing", "", 2, 1, 0)])
    assert not m.is_anomalous(one.records)
    two = Builder()
    two.attach(300, msgs=[*ATTACH, ("NewThing", "", 2, 1, 0), ("Other", "", 2, 1, 0)])
    score = m.score(two.records)
    assert score.over() == [NOVEL]
    assert [s.transition for s in score.unseen] == [
        "message NewThing/ never seen in benign",
        "message Other/ never seen in benign",
    ]


def test_layout_does_not_change_the_score(model: SequenceModel) -> None:
    b = Builder()
    b.attach(100, s_tmsi=4242)
    b.add(9, ATTACH[0], t=14, algs=NONE, s_tmsi=4242, cu=0, mobile_id="001010000000042")
    b.attach(300, algs=(0, 2, 0, 2))
    wide = records_of(to_text(b.records, with_mobile_id=True))
    narrow = records_of(to_text(b.records, with_mobile_id=False))
    assert {r.mobile_id for r in narrow} == {None} and None not in {r.mobile_id for r in wide}
    a, n = model.score(wide), model.score(narrow)
    assert a.ratio == n.ratio and a.ratios == n.ratios and a.channels == n.channels
    trained_wide = SequenceModel().fit([records_of(to_text(t, with_mobile_id=True))
                                        for t in training()])  # fmt: skip
    assert trained_wide.thresholds == model.thresholds


def test_threshold_comes_from_leave_one_out() -> None:
    traces = training()
    b = Builder()  # one training trace with a rare, benign detour
    b.attach(400, msgs=[*ATTACH, ("SecurityModeFailure", "", 2, 1, 0), ("UECapabilityEnquiry",
                                                                     "", 2, 1, 0)])  # fmt: skip
    strict = SequenceModel().fit(traces)
    tolerant = SequenceModel().fit([*traces, b.records])
    assert tolerant.thresholds["next"] > strict.thresholds["next"]
    assert strict.is_anomalous(b.records)


def test_margin_is_added_in_bits() -> None:
    a = SequenceModel(margin=1.0).fit(training())
    b = SequenceModel(margin=3.0).fit(training())
    for ch, thr in a.thresholds.items():
        assert b.thresholds[ch] == pytest.approx(thr + (0.0 if ch == "burst" else 2.0)), ch


def test_needs_benign_records_and_known_channels() -> None:
    with pytest.raises(InputError):
        SequenceModel().fit([])
    with pytest.raises(InputError):
        SequenceModel().fit([[]])
    with pytest.raises(InputError, match="unknown sequence-model channel"):
        SequenceModel(channels=["next", "colour"])


def test_channels_can_be_switched_off() -> None:
    b = Builder()
    b.attach(100, s_tmsi=4242)
    b.add(9, ATTACH[0], t=14, algs=NONE, s_tmsi=4242, cu=0)
    m = SequenceModel(channels=["next", "state"]).fit(training())
    assert "identity" not in m.score(b.records).channels
    assert not m.is_anomalous(b.records)


def test_detector_reports_model_hits_as_unknown_anomaly() -> None:
    det = MobiflowDetector().fit(training())
    b = Builder()  # no rule covers this: RRC security before authentication
    b.attach(300, msgs=[ATTACH[0], ATTACH[1], ATTACH[2], ATTACH[7], ATTACH[8], ATTACH[3]])
    v = det.detect(b.records, trace="x.csv")
    assert (v.verdict, v.attack_class) == ("attack", UNKNOWN_ANOMALY)
    ev = v.evidence[-1]
    assert ev["attack_class"] == UNKNOWN_ANOMALY and ev["channels"].keys() == {"next"}
    assert ev["reason"].startswith("sequence model: next: ")
    assert ev["records"][0]["rnti"] == 300 and ev["records"][0]["channel"] == "next"
    assert v.score >= 1.0


# --------------------------------------------------------------------------- real traces
@pytest.fixture(scope="module")
def real() -> dict[str, list[UeRecord]]:
    return {
        f"{p.parent.name}/{p.name}": load_trace(p).records
        for p in sorted(DATA.glob("*/*.csv"))
        if p.parent.name in ("benign", "attack")
    }


@needs_data
def test_real_benign_traces_show_no_identity_conflict(real: dict[str, list[UeRecord]]) -> None:
    """The Pixel5 trace presents an S-TMSI again after a move the capture missed: no conflict."""
    for name, records in real.items():
        conflicts = [o for o in observations(records) if o.value == "conflict"]
        assert bool(conflicts) == name.startswith("attack/blind_dos"), name


@needs_data
def test_real_attacks_flagged_by_the_model_alone(real: dict[str, list[UeRecord]]) -> None:
    benign = [r for n, r in real.items() if n.startswith("benign/")]
    m = SequenceModel().fit(benign)
    for name, records in real.items():
        if not name.startswith("attack/"):
            continue
        score = m.score(records)
        expected = {"blind_dos": "identity", "null_cipher_integ_1": "next",
                    "null_cipher_integ_2": "sec:rrc_cipher_alg"}  # fmt: skip
        channel = next(v for k, v in expected.items() if k in name)
        assert channel in score.over(), (name, score.ratios)


# --------------------------------------------------------------------------- simulated traces


@pytest.fixture(scope="module")
def sim_model() -> SequenceModel:
    return SequenceModel().fit([simulate(seed, 150) for seed in range(4)])


def test_simulated_benign_is_not_flagged(sim_model: SequenceModel) -> None:
    assert not sim_model.is_anomalous(simulate(21, 150))


def test_simulated_attacks_are_flagged(sim_model: SequenceModel) -> None:
    spoofed = sim_model.score(simulate(22, 60, spoof_at=30))
    assert "identity" in spoofed.over()
    downgraded = sim_model.score(simulate(23, 60, downgrade=1.0))
    assert {"sec:rrc_cipher_alg", "sec:rrc_integrity_alg"} & set(downgraded.over())
