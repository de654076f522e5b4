"""An unsupervised model of benign per-UE message sequences.

Every UE context (:func:`~xtrust.xapps.anomaly.mobiflow_rules.contexts`) is a
sequence of tokens ``rrc_msg/nas_msg`` that starts with a begin marker. The
model is a bigram model with Witten-Bell interpolation towards an add-one
unigram model that keeps mass for tokens never seen; a step's surprisal is
``-log2 P(token | previous)``. Beside the transitions, each record yields
categorical features that were all present in benign training data or not:
whether each security algorithm is null (0) before or after the context's
security mode completed, and the (rrc_state, nas_state, rrc_sec_state)
combination.

A trace has two scores: its most surprising step (bits) and how many distinct
features it shows that training never did. Both thresholds come from
leave-one-out over the training traces: each is scored by a model of the
others; the step threshold is the largest held-out score plus a margin and
the feature threshold the largest held-out count, so a benign trace with a
novelty of the size benign traces show is not flagged.

Nothing here reads ``mobile_id`` or depends on the record layout.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from xtrust.e2sim.mobiflow import UeRecord
from xtrust.errors import InputError

from .mobiflow_rules import NAS_SMC_COMPLETE, RRC_SMC_COMPLETE, contexts

__all__ = ["BOS", "Score", "SequenceModel", "Step", "features_of", "tokens_of"]

BOS = "<s>"
_ALGS = ("rrc_cipher_alg", "rrc_integrity_alg", "nas_cipher_alg", "nas_integrity_alg")


def token_of(rec: UeRecord) -> str:
    return f"{rec.rrc_msg}/{rec.nas_msg}"


def tokens_of(records: Sequence[UeRecord]) -> list[list[UeRecord]]:
    """The records of each UE context of a trace (the sequences the model reads)."""
    return [c.records for c in contexts(records)]


def features_of(seq: Sequence[UeRecord]) -> list[set[str]]:
    """The categorical features of each record of one context."""
    out: list[set[str]] = []
    rrc_secured = nas_secured = False
    for rec in seq:
        rrc_secured = rrc_secured or rec.rrc_msg == RRC_SMC_COMPLETE
        nas_secured = nas_secured or rec.nas_msg == NAS_SMC_COMPLETE
        feats = set()
        for name in _ALGS:
            phase = rrc_secured if name.startswith("rrc") else nas_secured
            null = "null" if getattr(rec, name) == 0 else "set"
            feats.add(f"{name}:{'secured' if phase else 'open'}:{null}")
        feats.add(f"state:{rec.rrc_state}/{rec.nas_state}/{rec.rrc_sec_state}")
        out.append(feats)
    return out


@dataclass(frozen=True)
class Step:
    """One surprising step: its record, the transition or feature and its surprisal."""

    surprisal: float
    msg_id: int
    transition: str  # "previous -> token", or "feature <name>" for an unseen feature

    def as_dict(self) -> dict[str, object]:
        return {"msg_id": self.msg_id, "transition": self.transition,
                "surprisal_bits": round(self.surprisal, 3)}  # fmt: skip


@dataclass(frozen=True)
class Score:
    """A trace's score: its most surprising transition and its features unseen in training.

    ``ratio`` puts both against their thresholds: at or above 1 the trace is anomalous.
    """

    worst: Step
    unseen: tuple[Step, ...]
    ratio: float

    @property
    def surprisal(self) -> float:
        return self.worst.surprisal


class SequenceModel:
    """A bigram model of benign UE contexts plus unseen-feature counts; :meth:`fit`, :meth:`score`.

    Two channels, each with a leave-one-out threshold: the most surprising
    transition (bits; threshold = largest held-out benign score + ``margin``)
    and the number of distinct features unseen in training (threshold = the
    largest number a held-out benign trace showed; more is anomalous).
    """

    def __init__(self, *, margin: float = 1.0) -> None:
        self.margin = margin
        self.bigrams: dict[str, Counter[str]] = defaultdict(Counter)
        self.unigrams: Counter[str] = Counter()
        self.features: set[str] = set()
        self.n_records = 0
        self.threshold = math.inf
        self.feature_threshold = 0
        self.training_scores: list[tuple[float, int]] = []

    # ------------------------------------------------------------------ training
    def _count(self, traces: Iterable[Sequence[UeRecord]]) -> None:
        self.bigrams = defaultdict(Counter)
        self.unigrams = Counter()
        self.features = set()
        self.n_records = 0
        for records in traces:
            for seq in tokens_of(records):
                prev = BOS
                for rec, feats in zip(seq, features_of(seq), strict=True):
                    tok = token_of(rec)
                    self.bigrams[prev][tok] += 1
                    self.unigrams[tok] += 1
                    self.features |= feats
                    self.n_records += 1
                    prev = tok

    def fit(self, traces: Sequence[Sequence[UeRecord]]) -> SequenceModel:
        """Learn from benign traces (each a list of records); thresholds by leave-one-out."""
        traces = [t for t in traces if t]
        if not traces:
            raise InputError("the sequence model needs at least one benign trace with UE records")
        loo: list[tuple[float, int]] = []
        if len(traces) >= 2:
            for i in range(len(traces)):
                self._count(traces[:i] + traces[i + 1 :])
                worst, unseen = self._raw(traces[i])
                loo.append((worst.surprisal, len(unseen)))
        self._count(traces)
        if not loo:  # one trace: its own score, so only what it never showed is anomalous
            worst, unseen = self._raw(traces[0])
            loo.append((worst.surprisal, len(unseen)))
        self.training_scores = loo
        self.threshold = max(s for s, _ in loo) + self.margin
        self.feature_threshold = max(n for _, n in loo)
        return self

    # ------------------------------------------------------------------ scoring
    def prob(self, prev: str, tok: str) -> float:
        """P(tok | prev): Witten-Bell interpolation of the bigram and an add-one unigram."""
        vocab = len(self.unigrams) + 1  # one slot for every token never seen
        p_uni = (self.unigrams.get(tok, 0) + 1) / (self.n_records + vocab)
        follow = self.bigrams.get(prev)
        if not follow:
            return p_uni
        total = sum(follow.values())
        kinds = len(follow)
        lam = total / (total + kinds)
        return lam * follow.get(tok, 0) / total + (1 - lam) * p_uni

    def _raw(self, records: Sequence[UeRecord]) -> tuple[Step, dict[str, Step]]:
        worst = Step(0.0, -1, "")
        unseen: dict[str, Step] = {}
        cost = math.log2(self.n_records + 2)  # an event never seen among the training records
        for seq in tokens_of(records):
            prev = BOS
            for rec, feats in zip(seq, features_of(seq), strict=True):
                tok = token_of(rec)
                s = -math.log2(self.prob(prev, tok))
                if s > worst.surprisal:
                    worst = Step(s, rec.msg_id, f"{prev} -> {tok}")
                for feat in sorted(feats - self.features):
                    unseen.setdefault(feat, Step(cost, rec.msg_id, f"feature {feat}"))
                prev = tok
        return worst, unseen

    def score(self, records: Sequence[UeRecord]) -> Score:
        """The score of a trace (ratio 0 for an empty trace)."""
        worst, unseen = self._raw(records)
        ratio = max(worst.surprisal / self.threshold if self.threshold > 0 else 0.0,
                    len(unseen) / (self.feature_threshold + 1))  # fmt: skip
        return Score(worst, tuple(unseen.values()), ratio)

    def is_anomalous(self, records: Sequence[UeRecord]) -> bool:
        return self.score(records).ratio >= 1.0
