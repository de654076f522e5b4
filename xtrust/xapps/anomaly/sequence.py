"""An unsupervised model of benign UE control-plane procedures (MobiFlow v2).

The model is trained on benign traces only. It reads every UE context of a
trace (:func:`ue_contexts`: one RNTI in one cell from an RRCSetupRequest on,
as :func:`~xtrust.xapps.anomaly.mobiflow_rules.contexts` groups them, also
split where the CU's UE F1AP ID changes: an RNTI freed by a release and given
to a UE that arrived by handover) as a small state machine, and turns each
record into observations on a few *channels*, each a categorical variable
whose distribution, given a condition, is learnt from benign records:

================ ======================================== ===========================
channel           value                                    given
================ ======================================== ===========================
``next``          the message ``rrc_msg/nas_msg``          the context's previous
                                                           message
``release``       the record is an RRCRelease or not       the context's previous
                                                           message
``state``         ``rrc_state/nas_state``                  previous state and message;
                                                           backs off to the message
                                                           and to the previous state
``state:sec``     ``rrc_sec_state`` is 0 or not            the message
``sec:<alg>``     the algorithm field is null (0) or set   whether the context's RRC
                  (one channel per algorithm field)        (NAS) security mode has
                                                           completed
``delta:algs``    how the algorithms changed since the     whether RRC security has
                  context's last record carrying them      completed
                  (same, set, nulled, changed)
``delta:s_tmsi``  how the S-TMSI changed since the         whether RRC security has
                  previous record (same, gained, lost,     completed
                  changed)
``identity``      an RRCSetupRequest presents an S-TMSI    -
                  whose latest holder, another context,
                  is still active: ``conflict`` or
                  ``clear``
================ ======================================== ===========================

Each distribution is Witten-Bell interpolated towards the channel's marginal,
itself add-one smoothed with one slot for values never seen: a value never
seen after a frequent condition costs about ``log2`` of how often that
condition was seen; a value seen elsewhere costs less. ``next`` and
``release`` back off to Kneser-Ney's continuation distribution instead (a
value's share of the distinct conditions it followed): a message that follows
many different ones is cheap after a new one, a message only ever seen after
one other is not. The surprisal of an observation is ``-log2 P(value | given)``.

Two channels count instead of reading single records: ``novel`` (below) and
``burst``, the largest number of contexts in one cell, starting within
:data:`BURST_WINDOW` seconds, that never reach RRCSetupComplete (scored as
``log2(1 + n)``).

What the 3GPP procedures and the capture allow, the model allows:

* The network may release a connection at any point (TS 38.331 5.3.8): an
  RRCRelease is scored by ``release`` (where benign contexts get released),
  not by ``next``; a message the capture shows after the release is a
  straggler, scored by ``next`` without an order. The first message of a
  context is not scored by ``next`` (captures start contexts mid-way).
* ``UL/DLInformationTransfer`` (any RRC message seen carrying NAS) shown with
  no NAS message: MobiFlow could not decode the NAS part (ciphered), so
  ``next`` reads it as that RRC message with any NAS message. A record with no
  message at all is skipped by ``next``.
* A message shown twice in a row (retransmitted, or captured twice) is a
  mixture component of ``next`` with the rate at which benign messages repeat.
* A message no two training traces carry (a new phone's or core's message
  type, or one only one trace has) is not scored by ``next``/``state``; such
  messages are counted instead, per context (the ``novel`` channel).
* A record with all four algorithms 0 carries no security information
  (MobiFlow writes zeros where it has none): ``sec`` and ``delta:algs`` skip it.
* Identity conflicts follow the *latest* holder of an S-TMSI, and a context is
  over once released or once a new RRCSetupRequest starts over on its RNTI. A
  capture can miss the message that moved a UE to a new RNTI (that RNTI then
  shows up with the S-TMSI and an RRCRelease); a later RRCSetupRequest with the
  S-TMSI is an ordinary reconnection, not a conflict.

**Scores and thresholds.** A trace's score on a channel is its most surprising
observation there (``novel``: the largest number of distinct novel messages in
one context). Each channel's threshold comes from leave-one-out over the
training traces: each training trace is scored by the model of the others, and
the threshold is the largest held-out score plus ``margin`` bits
(``volume_margin`` for ``burst``: volumes differ more between deployments than
orders do; 2 bits is four times the largest benign burst; ``novel``: the
largest held-out count, more is anomalous). A trace's ``ratio`` is the largest
of its channel scores over their thresholds; at or above 1 it is anomalous. A
channel on which benign traces never vary (no benign context presents a
conflicting S-TMSI) gets a tight threshold; one on which every benign trace
shows something of its own (a rare transition) gets the loose one it needs.

Nothing here reads ``mobile_id``, ``msg_id``, absolute timestamps or
identifier values, or the record layout: the same records in the 22- and
23-field layouts give the same scores.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from xtrust.e2sim.mobiflow import UeRecord
from xtrust.errors import InputError

from .mobiflow_rules import (
    NAS_SMC_COMPLETE,
    RELEASE,
    RRC_SMC_COMPLETE,
    SETUP_COMPLETE,
    SETUP_REQUEST,
    Context,
    contexts,
)

__all__ = ["BOS", "CHANNELS", "NOVEL", "Observation", "Score", "SequenceModel", "Step",
           "observations", "token_of", "tokens_of", "ue_contexts"]  # fmt: skip

BOS = "<s>"
RELEASED = "<released>"
NOVEL = "novel"
#: the channel families scored by default (a family names its channels ``family:...``:
#: ``sec`` one per algorithm field, ``delta`` algorithms and S-TMSI, ``state`` and ``state:sec``)
CHANNELS = ("next", "release", "state", "sec", "delta", "identity", "burst")
#: the window (s) of the ``burst`` channel
BURST_WINDOW = 10.0
_CONTINUATION = ("next", "release")  # channels that back off to the continuation distribution
EMPTY = "/"  # a record with neither an RRC nor a NAS message name
_ALGS = ("rrc_cipher_alg", "rrc_integrity_alg", "nas_cipher_alg", "nas_integrity_alg")


def token_of(rec: UeRecord) -> str:
    """A record's message: ``rrc_msg/nas_msg``."""
    return f"{rec.rrc_msg}/{rec.nas_msg}"


def tokens_of(records: Sequence[UeRecord]) -> list[list[UeRecord]]:
    """The records of each UE context of a trace (the sequences the model reads)."""
    return [c.records for c in ue_contexts(records)]


@dataclass(frozen=True)
class Observation:
    """One value of one channel at one record, and what it is conditioned on.

    ``given`` lists the conditions from the most specific to the coarsest; the
    model backs off along it to the channel's marginal.
    """

    channel: str
    given: tuple[str, ...]
    value: str
    rec: UeRecord
    context: int  # index of the UE context in the trace

    def describe(self) -> str:
        cond = f" | {self.given[0]}" if self.given else ""
        return f"{self.channel}: {self.value}{cond}"


def _alg_delta(prev: UeRecord, rec: UeRecord) -> str:
    a = [getattr(prev, n) for n in _ALGS]
    b = [getattr(rec, n) for n in _ALGS]
    if a == b:
        return "same"
    if any(x and not y for x, y in zip(a, b, strict=True)):
        return "nulled"  # an algorithm went from set to null (0)
    if any(x and y and x != y for x, y in zip(a, b, strict=True)):
        return "changed"  # an algorithm changed to another non-null one
    return "set"  # algorithms appeared


def _tmsi_delta(prev: UeRecord, rec: UeRecord) -> str:
    if prev.s_tmsi == rec.s_tmsi:
        return "same"
    if not prev.s_tmsi:
        return "gained"
    if not rec.s_tmsi:
        return "lost"
    return "changed"


def _identity_conflicts(ctxs: Sequence[Context], n: int) -> dict[int, bool]:
    """Trace position of each RRCSetupRequest -> whether it presents a conflicting S-TMSI.

    Conflicting: the S-TMSI's latest holder is another context still active. A
    context is over once released, or once a new RRCSetupRequest starts over on
    its RNTI (the radio link began again).
    """
    ctx_of: list[int] = [0] * n
    for k, ctx in enumerate(ctxs):
        for pos in ctx.positions:
            ctx_of[pos] = k
    recs: list[UeRecord | None] = [None] * n
    for ctx in ctxs:
        for r, pos in zip(ctx.records, ctx.positions, strict=True):
            recs[pos] = r
    holder: dict[int, int] = {}  # S-TMSI -> context that showed it last
    on_key: dict[tuple[int, int], int] = {}  # (cell, RNTI) -> its current context
    over: set[int] = set()
    out: dict[int, bool] = {}
    for pos, rec in enumerate(recs):
        if rec is None:
            continue
        k = ctx_of[pos]
        key = (rec.nr_cell_id, rec.rnti)
        before = on_key.get(key)
        if before is not None and before != k:
            over.add(before)  # superseded by a new context on the same RNTI
        on_key[key] = k
        if rec.rrc_msg == SETUP_REQUEST:
            h = holder.get(rec.s_tmsi) if rec.s_tmsi else None
            out[pos] = h is not None and h != k and h not in over
        if rec.s_tmsi:
            holder[rec.s_tmsi] = k
        if rec.rrc_msg == RELEASE:
            over.add(k)
    return out


def ue_contexts(records: Sequence[UeRecord]) -> list[Context]:
    """The UE contexts of a trace: :func:`contexts`, also split where the CU's UE F1AP ID
    changes (an RNTI freed by a release and given to another UE, who arrived by handover
    and so without an RRCSetupRequest)."""
    out: list[Context] = []
    for ctx in contexts(records):
        part = Context(ctx.cell, ctx.rnti, fresh=ctx.fresh)
        for rec, pos in zip(ctx.records, ctx.positions, strict=True):
            if part.records and rec.gnb_cu_ue_f1ap_id != part.records[-1].gnb_cu_ue_f1ap_id:
                out.append(part)
                part = Context(ctx.cell, ctx.rnti, fresh=False)
            part.records.append(rec)
            part.positions.append(pos)
        out.append(part)
    return out


def observations(records: Sequence[UeRecord]) -> Iterator[Observation]:
    """Every observation of a trace, context by context (see the module documentation)."""
    ctxs = ue_contexts(records)
    conflict = _identity_conflicts(ctxs, len(records))
    for k, ctx in enumerate(ctxs):
        prev: UeRecord | None = None
        informed: UeRecord | None = None  # the last record carrying security algorithms
        prev_tok = BOS  # the last decoded message of the context
        rrc_secured = nas_secured = False
        for rec, pos in zip(ctx.records, ctx.positions, strict=True):
            tok = token_of(rec)
            phase = "rrc secured" if rrc_secured else "open"
            if prev_tok != BOS:
                yield Observation("release", (prev_tok,),
                                  "release" if rec.rrc_msg == RELEASE else "no", rec, k)  # fmt: skip
            if tok != EMPTY:  # a record MobiFlow could not name carries no message
                # the first message is not scored (captures start contexts mid-way), nor an
                # RRCRelease (the network may release at any point: the release channel);
                # a message after the release is a straggler, scored without an order
                if prev_tok != BOS and rec.rrc_msg != RELEASE:
                    yield Observation("next", () if prev_tok == RELEASED else (prev_tok,), tok,
                                      rec, k)  # fmt: skip
                prev_tok = RELEASED if rec.rrc_msg == RELEASE else tok
            before = f"{prev.rrc_state}/{prev.nas_state}" if prev is not None else BOS
            yield Observation("state", (f"{before} {tok}", tok, before),
                              f"{rec.rrc_state}/{rec.nas_state}", rec, k)  # fmt: skip
            yield Observation(
                "state:sec", (tok,), "context" if rec.rrc_sec_state else "none", rec, k
            )
            if prev is not None:
                yield Observation("delta:s_tmsi", (phase,), _tmsi_delta(prev, rec), rec, k)
            rrc_secured = rrc_secured or rec.rrc_msg == RRC_SMC_COMPLETE
            nas_secured = nas_secured or rec.nas_msg == NAS_SMC_COMPLETE
            # all four algorithms 0: MobiFlow has no security information for this record
            if any(getattr(rec, name) for name in _ALGS):
                if informed is not None:
                    yield Observation("delta:algs", (phase,), _alg_delta(informed, rec), rec, k)
                for name in _ALGS:
                    secured = rrc_secured if name.startswith("rrc") else nas_secured
                    yield Observation(f"sec:{name}", ("secured" if secured else "open",),
                                      "null" if getattr(rec, name) == 0 else "set", rec, k)  # fmt: skip
                informed = rec
            if pos in conflict:
                yield Observation("identity", (), "conflict" if conflict[pos] else "clear", rec, k)
            prev = rec


def _burst(obs: Iterable[Observation], window: float = BURST_WINDOW) -> Step:
    """The largest burst, in one cell within ``window`` seconds, of contexts that start with
    an RRCSetupRequest and never reach RRCSetupComplete; its size ``n`` as ``log2(1 + n)``."""
    first: dict[int, UeRecord] = {}
    completed: set[int] = set()
    for ob in obs:
        if ob.channel != "state":  # one per record
            continue
        first.setdefault(ob.context, ob.rec)
        if ob.rec.rrc_msg == SETUP_COMPLETE:
            completed.add(ob.context)
    by_cell: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for k, rec in first.items():
        if k not in completed and rec.rrc_msg == SETUP_REQUEST:
            by_cell[rec.nr_cell_id].append((rec.timestamp, k))
    best: list[tuple[float, int]] = []
    for starts in by_cell.values():
        starts.sort()
        lo = 0
        for hi in range(len(starts)):
            while starts[hi][0] - starts[lo][0] > window:
                lo += 1
            if hi - lo + 1 > len(best):
                best = starts[lo : hi + 1]
    if not best:
        return Step(0.0, -1, "burst: none")
    rec = first[best[0][1]]
    return Step(math.log2(1 + len(best)), rec.msg_id,
                f"burst: {len(best)} RRC setups never completed within {window:g} s",
                best[0][1], rec.rnti)  # fmt: skip


def _family(channel: str) -> str:
    return channel.split(":", 1)[0]


@dataclass(frozen=True)
class Step:
    """One surprising observation: its record, what was observed and its surprisal (bits)."""

    surprisal: float
    msg_id: int
    transition: str  # "channel: value | given"; "message M never seen in benign" (novel)
    context: int = -1
    rnti: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"msg_id": self.msg_id, "context": self.context, "rnti": self.rnti,
                "transition": self.transition,
                "surprisal_bits": round(self.surprisal, 3)}  # fmt: skip


@dataclass(frozen=True)
class Score:
    """A trace's score: its most surprising observation per channel and its novel messages.

    ``ratio`` is the largest channel score over its threshold (``novel``: the
    count over threshold + 1); at or above 1 the trace is anomalous.
    """

    worst: Step  # the observation that decided the ratio (the most surprising if none did)
    unseen: tuple[Step, ...]  # one per distinct message never seen in training
    ratio: float
    channels: dict[str, Step] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)

    @property
    def surprisal(self) -> float:
        return self.worst.surprisal

    def over(self) -> list[str]:
        """The channels at or above their thresholds, most anomalous first."""
        return [c for c, r in sorted(self.ratios.items(), key=lambda x: -x[1]) if r >= 1.0]


class _Counts:
    """Counts of one channel: per condition (each level of the back-off chain) and marginal.

    With ``continuation`` the back-off of the specific condition is Kneser-Ney's
    continuation distribution: a value's share of the distinct conditions it
    followed, not of the records. A message that follows many different ones
    (an RRCRelease can end a connection at any point) is then cheap after a
    new one, and a message seen often but only ever after one other is not.
    """

    __slots__ = ("by_given", "cont_total", "continuation", "given_total", "marginal", "total",
                 "use_continuation")  # fmt: skip

    def __init__(self, *, continuation: bool = False) -> None:
        self.by_given: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
        self.given_total: Counter[tuple[int, str]] = Counter()
        self.marginal: Counter[str] = Counter()
        self.continuation: Counter[str] = Counter()  # value -> distinct specific conditions
        self.cont_total = 0
        self.total = 0
        self.use_continuation = continuation

    def add(self, given: tuple[str, ...], value: str, n: int = 1) -> None:
        for level, cond in enumerate(given):
            follow = self.by_given[level, cond]
            if level == 0 and not follow[value]:
                self.continuation[value] += 1
                self.cont_total += 1
            follow[value] += n
            self.given_total[level, cond] += n
        self.marginal[value] += n
        self.total += n

    def _wb(self, level: int, cond: str, value: str, lower: float) -> float:
        follow = self.by_given.get((level, cond))
        if not follow:
            return lower
        n = self.given_total[level, cond]
        lam = n / (n + len(follow))
        return lam * follow.get(value, 0) / n + (1 - lam) * lower

    def prob(self, given: tuple[str, ...], value: str) -> float:
        """P(value | given): Witten-Bell back-off to the marginal (add-one, a slot for unseen).

        ``given[0]`` is the specific condition; ``given[1:]`` are alternative
        coarser ones, whose estimates are averaged to make its back-off.
        """
        if given and self.use_continuation and self.continuation:
            cont = self.continuation
            p = (cont.get(value, 0) + 1) / (self.cont_total + len(cont) + 1)
        else:
            p = (self.marginal.get(value, 0) + 1) / (self.total + len(self.marginal) + 1)
        if not given:
            return p
        if len(given) > 1:
            p = sum(self._wb(lv, c, value, p) for lv, c in enumerate(given) if lv) / (
                len(given) - 1
            )
        return self._wb(0, given[0], value, p)


@dataclass
class _Trace:
    """A training trace with what the model reads of it (computed once per fit)."""

    records: Sequence[UeRecord]
    obs: list[Observation]
    tokens: set[str] = field(init=False)
    nas_carriers: set[str] = field(init=False)
    counted: Counter[tuple[str, tuple[str, ...], str]] = field(init=False)

    def __post_init__(self) -> None:
        self.counted = Counter((ob.channel, ob.given, ob.value) for ob in self.obs)
        self.tokens = {token_of(r) for r in self.records}
        self.nas_carriers = {r.rrc_msg for r in self.records if r.nas_msg}


class SequenceModel:
    """A per-channel model of benign UE contexts; :meth:`fit`, :meth:`score`.

    ``margin`` (bits) is added to each channel's largest leave-one-out benign
    score to make its threshold.
    """

    def __init__(self, *, margin: float = 1.0, volume_margin: float = 2.0,
                 channels: Iterable[str] = CHANNELS, min_traces: int = 2) -> None:  # fmt: skip
        self.margin = margin
        self.volume_margin = volume_margin
        self.min_traces = min_traces
        self.use = set(channels)
        unknown = self.use - set(CHANNELS)
        if unknown:
            raise InputError(f"unknown sequence-model channel(s): {', '.join(sorted(unknown))}")
        self.counts: dict[str, _Counts] = {}
        self.vocab: set[str] = set()
        self.nas_carriers: set[str] = set()  # RRC messages seen carrying a NAS message
        self.repeat_rate = 0.0  # share of benign messages that repeat the one before
        self.n_records = 0
        self.thresholds: dict[str, float] = {}
        self.novel_threshold = 0
        self.training_scores: list[dict[str, float]] = []

    # ------------------------------------------------------------------ training
    def _observed(self, records: Sequence[UeRecord]) -> list[Observation]:
        return [ob for ob in observations(records) if _family(ob.channel) in self.use]

    def _count(self, traces: Sequence[_Trace]) -> None:
        self.counts = {}
        self.nas_carriers = set()
        self.n_records = 0
        seen_in: Counter[str] = Counter()
        for tr in traces:
            self.n_records += len(tr.records)
            seen_in.update(tr.tokens)
            self.nas_carriers |= tr.nas_carriers
            for (channel, given, value), n in tr.counted.items():
                c = self.counts.get(channel)
                if c is None:
                    c = self.counts[channel] = _Counts(continuation=channel in _CONTINUATION)
                c.add(given, value, n)
        nxt = self.counts.get("next")
        repeats = sum(f[cond] for (lv, cond), f in nxt.by_given.items() if lv == 0) if nxt else 0
        self.repeat_rate = (repeats + 1) / ((nxt.total if nxt else 0) + 2)
        # a message one trace alone carries says more about that trace than about benign
        # traffic: it is treated as novel (unless there is only one training trace)
        least = min(self.min_traces, len(traces))
        self.vocab = {tok for tok, n in seen_in.items() if n >= least}

    def fit(self, traces: Sequence[Sequence[UeRecord]]) -> SequenceModel:
        """Learn from benign traces (each a list of records); thresholds by leave-one-out."""
        kept = [_Trace(t, self._observed(t)) for t in traces if t]
        if not kept:
            raise InputError("the sequence model needs at least one benign trace with UE records")
        loo: list[dict[str, float]] = []
        if len(kept) >= 2:
            for i in range(len(kept)):
                self._count(kept[:i] + kept[i + 1 :])
                loo.append(self._raw_scores(kept[i].obs))
        self._count(kept)
        if not loo:  # one trace: its own scores, so only what it never showed is anomalous
            loo.append(self._raw_scores(kept[0].obs))
        self.training_scores = loo
        names = {c for s in loo for c in s} | set(self.counts) | {NOVEL}
        self.thresholds = {
            c: max(s.get(c, 0.0) for s in loo) + (self.volume_margin if c == "burst" else self.margin)
            for c in names if c != NOVEL
        }  # fmt: skip
        self.novel_threshold = int(max(s.get(NOVEL, 0.0) for s in loo))
        return self

    @property
    def threshold(self) -> float:
        """The loosest channel threshold (bits), for display."""
        return max(self.thresholds.values(), default=math.inf)

    @property
    def feature_threshold(self) -> int:
        """How many distinct novel messages a benign trace may show (more is anomalous)."""
        return self.novel_threshold

    # ------------------------------------------------------------------ scoring
    def _undecoded(self, tok: str) -> str | None:
        """``"RRC/"`` for an RRC message that carries NAS shown without it, else None."""
        rrc, _, nas = tok.partition("/")
        return rrc + "/" if not nas and rrc in self.nas_carriers else None

    def _p_next(self, c: _Counts, given: tuple[str, ...], value: str) -> float:
        # an RRC message that carries NAS, shown without: MobiFlow could not decode the NAS
        # part (ciphered), so the record only says which RRC message it was; as a value it
        # stands for that RRC message with any NAS message, as a condition for their mix
        prefix = self._undecoded(given[0]) if given else None
        if prefix is not None and (0, given[0]) not in c.by_given:
            conds = [(cond, c.given_total[lv, cond]) for lv, cond in c.by_given
                     if lv == 0 and cond.startswith(prefix)]  # fmt: skip
            total = sum(n for _, n in conds)
            if total:
                return sum(n * self._p_next(c, (cond,), value) for cond, n in conds) / total
            given = ()
        p = c.prob(given, value)
        prefix = self._undecoded(value)
        if prefix is not None:
            p = max(p, sum(c.prob(given, v) for v in c.marginal if v.startswith(prefix)))
        return p

    def surprisal(self, ob: Observation) -> float:
        """``-log2 P(value | given)`` of one observation under the trained counts."""
        c = self.counts.get(ob.channel)
        if c is None:  # a channel never observed in training: every value unseen
            return math.log2(self.n_records + 2)
        if ob.channel != "next":
            return -math.log2(c.prob(ob.given, ob.value))
        p = self._p_next(c, ob.given, ob.value)
        # a message shown twice in a row (a retransmission, or captured twice): a mixture
        # with the rate at which benign messages repeat, whatever the message
        same = 1.0 if ob.given and ob.given[0] == ob.value else 0.0
        return -math.log2((1 - self.repeat_rate) * p + self.repeat_rate * same)

    def known(self, tok: str) -> bool:
        """Whether the model knows message ``tok`` (an RRC message that carries NAS, shown
        without its NAS part, is known when that RRC message is)."""
        return tok in self.vocab or tok == EMPTY or self._undecoded(tok) is not None

    def _steps(self, obs: Sequence[Observation]) -> tuple[dict[str, Step], list[Step]]:
        """The most surprising observation per channel, and the novel messages.

        Novel messages: one step per distinct message never seen in training, in
        the context with the most of them.
        """
        worst: dict[str, Step] = {}
        novel: dict[int, dict[str, Step]] = defaultdict(dict)
        cost = math.log2(self.n_records + 2)
        for ob in obs:
            tok = token_of(ob.rec)
            if not self.known(tok):
                if ob.channel == "state":  # one per record
                    novel[ob.context].setdefault(tok, Step(
                        cost, ob.rec.msg_id, f"message {tok} never seen in benign", ob.context,
                        ob.rec.rnti))  # fmt: skip
                if ob.channel in ("next", "state", "state:sec"):
                    continue  # about a message the model does not know: counted as novel
            if ob.channel == "next" and ob.given and not self.known(ob.given[0]):
                ob = Observation("next", (), ob.value, ob.rec, ob.context)  # after a novel one
            s = self.surprisal(ob)
            best = worst.get(ob.channel)
            if best is None or s > best.surprisal:
                worst[ob.channel] = Step(s, ob.rec.msg_id, ob.describe(), ob.context, ob.rec.rnti)
        if "burst" in self.use:
            worst["burst"] = _burst(obs)
        most = max(novel.values(), key=len, default={})
        return worst, list(most.values())

    def _raw_scores(self, obs: Sequence[Observation]) -> dict[str, float]:
        worst, novel = self._steps(obs)
        out = {c: s.surprisal for c, s in worst.items()}
        out[NOVEL] = float(len(novel))
        return out

    def score(self, records: Sequence[UeRecord]) -> Score:
        """The score of a trace (ratio 0 for an empty trace)."""
        worst, novel = self._steps(self._observed(records))
        ratios: dict[str, float] = {}
        for c, s in worst.items():
            thr = self.thresholds.get(c, self.margin)
            ratios[c] = s.surprisal / thr if thr > 0 else 0.0
        ratios[NOVEL] = len(novel) / (self.novel_threshold + 1)
        ratio = max(ratios.values(), default=0.0)
        top = max(ratios, key=lambda c: ratios[c]) if ratios else NOVEL
        if top == NOVEL:
            decisive = max(worst.values(), key=lambda s: s.surprisal, default=Step(0.0, -1, ""))
        else:
            decisive = worst[top]
        return Score(decisive, tuple(novel), ratio, worst, ratios)

    def is_anomalous(self, records: Sequence[UeRecord]) -> bool:
        return self.score(records).ratio >= 1.0
