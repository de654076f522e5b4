from __future__ import annotations

import dataclasses

import pytest

from xtrust.xapps.anomaly.mobiflow_rules import (
    BLIND_DOS_TMSI,
    BTS_DEPLETION,
    IDENTITY_EXTRACTION,
    NULL_CIPHER_INTEGRITY,
    TmsiMemory,
    contexts,
    rule_bts_depletion,
    rule_null_security,
    run_rules,
)

from .helpers import ATTACH, NONE, OAI, RELEASE, Builder, benign_attach


def classes(records: list) -> list[str]:  # type: ignore[type-arg]
    return [h.attack_class for h in run_rules(records)]


def test_benign_attach_fires_no_rule() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=0xABC)
    b.add(100, RELEASE, t=5, s_tmsi=0xABC)
    b.attach(200, t=10, s_tmsi=0xABC)  # the same UE back after its release
    assert run_rules(b.records) == []


def test_contexts_split_on_a_new_setup_of_the_same_rnti() -> None:
    b = Builder()
    b.attach(7)
    b.attach(7)
    ctxs = contexts(b.records)
    assert [len(c.records) for c in ctxs] == [len(ATTACH), len(ATTACH)]
    assert [c.fresh for c in ctxs] == [True, False]


# ---------------------------------------------------------------- null cipher / integrity
def test_null_rrc_cipher_after_security_mode() -> None:
    b = Builder()
    b.attach(100, algs=(0, 2, 0, 2))
    b.add(100, ("RRCReconfiguration", "", 2, 1, 1), algs=(0, 2, 0, 2))
    hits = run_rules(b.records)
    assert [h.attack_class for h in hits] == [NULL_CIPHER_INTEGRITY]
    ids = [e["msg_id"] for e in hits[0].evidence]
    assert ids == [7, 8]  # the RRC SecurityModeCommand and SecurityModeComplete
    assert hits[0].evidence[0]["rrc_cipher_alg"] == 0
    assert "rrc_cipher_alg" in hits[0].reason


def test_null_integrity_on_nas_after_nas_security_mode() -> None:
    b = Builder()
    b.attach(100, algs=(2, 2, 0, 0))
    hits = run_rules(b.records)
    assert classes(b.records) == [NULL_CIPHER_INTEGRITY]
    assert "nas_integrity_alg" in hits[0].reason


def test_zero_algorithms_outside_the_security_mode_are_normal() -> None:
    b = Builder()
    for i, msg in enumerate(ATTACH):
        b.add(100, msg, algs=NONE if i < 6 else OAI)  # phones show 0 until security
    b.add(100, RELEASE, algs=NONE)  # a record without security information
    assert run_rules(b.records) == []


def test_nas_null_cipher_only_when_asked() -> None:
    ctxs = contexts(benign_attach())  # OAI: NAS NEA0
    assert rule_null_security(ctxs) == []
    assert [h.attack_class for h in rule_null_security(ctxs, nas_null_cipher=True)] == [
        NULL_CIPHER_INTEGRITY
    ]


def test_refused_security_mode_command() -> None:
    b = Builder()
    b.attach(100, msgs=[*ATTACH[:8], ("SecurityModeFailure", "", 2, 1, 0)])
    hits = run_rules(b.records)
    assert [h.attack_class for h in hits] == [NULL_CIPHER_INTEGRITY]
    assert [e["rrc_msg"] for e in hits[0].evidence] == ["SecurityModeCommand",
                                                         "SecurityModeFailure"]  # fmt: skip


def test_failure_after_a_completed_security_mode_is_not_a_refusal() -> None:
    b = Builder()
    b.attach(100, msgs=[*ATTACH, ("SecurityModeFailure", "", 2, 1, 0)])
    assert run_rules(b.records) == []


# ---------------------------------------------------------------- blind DoS
def test_spoofed_tmsi_from_a_new_context_while_victim_active() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    b.add(555, ATTACH[0], t=14, algs=NONE, s_tmsi=123456, cu=0)
    hits = run_rules(b.records)
    assert [h.attack_class for h in hits] == [BLIND_DOS_TMSI]
    assert [e["rnti"] for e in hits[0].evidence] == [100, 555]
    assert all(e["s_tmsi"] == 123456 for e in hits[0].evidence)


def test_tmsi_reuse_after_release_is_benign() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    b.add(100, RELEASE, t=10, s_tmsi=123456)
    b.add(555, ATTACH[0], t=14, s_tmsi=123456)
    assert BLIND_DOS_TMSI not in classes(b.records)


def test_tmsi_reuse_by_a_context_with_history_is_not_blind_dos() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=26)
    b.add(555, RELEASE, t=10, s_tmsi=26)  # the gNB knew RNTI 555 already
    b.add(555, ATTACH[0], t=10, s_tmsi=26)
    assert BLIND_DOS_TMSI not in classes(b.records)


def _window(records: list, memory: TmsiMemory, keep: int) -> list:  # type: ignore[type-arg]
    """The last ``keep`` records; the others leave through ``memory`` in order."""
    for rec in records[:-keep]:
        memory.forget(rec)
    return records[-keep:]


def test_a_holder_that_left_the_window_is_remembered() -> None:
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    for k in range(5):  # other traffic pushes the victim's attach out of the window
        b.attach(200 + k, t=1 + k, s_tmsi=0)
    b.add(555, ATTACH[0], t=14, algs=NONE, s_tmsi=123456, cu=0)
    memory = TmsiMemory()
    window = _window(b.records, memory, 12)
    assert len(memory) == 1
    assert run_rules(window) == []  # the window alone cannot know the victim
    hits = run_rules(window, memory=memory)
    assert [h.attack_class for h in hits] == [BLIND_DOS_TMSI]
    assert [e["rnti"] for e in hits[0].evidence] == [100, 555]


def test_memory_drops_released_and_replaced_contexts() -> None:
    # released before it left the window: forgotten with it
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    b.add(100, RELEASE, t=5, s_tmsi=123456)
    b.attach(200, t=6)
    b.add(555, ATTACH[0], t=14, algs=NONE, s_tmsi=123456, cu=0)
    memory = TmsiMemory()
    window = _window(b.records, memory, 10)
    assert len(memory) == 0 and run_rules(window, memory=memory) == []
    # remembered, but its release is still in the window before the new setup
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    b.add(100, RELEASE, t=5, s_tmsi=123456)
    b.add(555, ATTACH[0], t=14, algs=NONE, s_tmsi=123456, cu=0)
    memory = TmsiMemory()
    window = _window(b.records, memory, 2)
    assert len(memory) == 1 and run_rules(window, memory=memory) == []
    # the RNTI started a new context (a new attach of the same cell and RNTI)
    b = Builder()
    b.attach(100, t=0, s_tmsi=123456)
    b.attach(100, t=5, s_tmsi=0)
    b.add(555, ATTACH[0], t=14, algs=NONE, s_tmsi=123456, cu=0)
    memory = TmsiMemory()
    window = _window(b.records, memory, 1)
    assert len(memory) == 0 and run_rules(window, memory=memory) == []


def test_memory_is_bounded() -> None:
    b = Builder()
    for k in range(10):
        b.attach(100 + k, t=k, s_tmsi=1000 + k)
    memory = TmsiMemory(limit=3)
    for rec in b.records:
        memory.forget(rec)
    assert sorted(memory.by_tmsi) == [1007, 1008, 1009]
    with pytest.raises(ValueError):
        TmsiMemory(limit=0)


# ---------------------------------------------------------------- BTS resource depletion
def test_burst_of_incomplete_setups() -> None:
    b = Builder()
    b.attach(100)
    for k in range(25):
        b.add(1000 + k, ATTACH[0], t=1 + k * 0.2, algs=NONE)
        b.add(1000 + k, ATTACH[1], t=1 + k * 0.2, algs=NONE)
    hits = run_rules(b.records)
    assert [h.attack_class for h in hits] == [BTS_DEPLETION]
    assert len(hits[0].evidence) == 25


@pytest.mark.parametrize("spacing", [1.0, 0.1])
def test_incomplete_setups_below_the_rate_are_benign(spacing: float) -> None:
    b = Builder()
    n = 25 if spacing == 1.0 else 10  # 25 over 24 s, or 10 in 1 s: both below 20 in 10 s
    for k in range(n):
        b.add(1000 + k, ATTACH[0], t=k * spacing, algs=NONE)
        b.add(1000 + k, ATTACH[1], t=k * spacing, algs=NONE)
        b.add(1000 + k, RELEASE, t=k * spacing + 2, algs=NONE)
    assert rule_bts_depletion(contexts(b.records)) == []


def test_completed_setups_do_not_count() -> None:
    b = Builder()
    for k in range(30):
        b.attach(1000 + k, t=k * 0.1)
    assert run_rules(b.records) == []


# ---------------------------------------------------------------- identity extraction
IDENTITY = [("DLInformationTransfer", "Identityrequest", 2, 1, 0),
            ("ULInformationTransfer", "Identityresponse", 2, 1, 0)]  # fmt: skip


def test_identity_disclosed_then_dropped() -> None:
    b = Builder()
    b.attach(100, algs=NONE, msgs=[*ATTACH[:3], *IDENTITY, RELEASE])
    hits = run_rules(b.records)
    assert [h.attack_class for h in hits] == [IDENTITY_EXTRACTION]
    assert [e["nas_msg"] for e in hits[0].evidence] == ["Identityrequest", "Identityresponse"]


def test_identity_request_followed_by_authentication_is_benign() -> None:
    b = Builder()
    b.attach(100, msgs=[*ATTACH[:3], *IDENTITY, *ATTACH[3:]])
    assert run_rules(b.records) == []


def test_memory_follows_a_ue_handed_over_and_released_elsewhere() -> None:
    """The holder is the latest context that showed the S-TMSI: a UE that moved to
    another cell and was released there holds nothing any more."""
    b = Builder()
    b.attach(100, t=0, s_tmsi=4242)
    b.add(100, ("RRCReconfiguration", "", 2, 2, 1), t=5, s_tmsi=4242)  # handover out
    there = len(b.records)
    b.add(100, ("RRCReconfigurationComplete", "", 2, 2, 1), t=5, s_tmsi=4242)
    b.add(100, RELEASE, t=9, s_tmsi=4242)
    for k in range(there, len(b.records)):  # ... in the neighbour cell
        b.records[k] = dataclasses.replace(b.records[k], nr_cell_id=87654321)
    b.attach(300, t=20, s_tmsi=4242)  # back later, presenting its S-TMSI
    for keep in range(1, len(b.records)):
        memory = TmsiMemory()
        window = _window(b.records, memory, keep)
        assert run_rules(window, memory=memory) == [], keep
