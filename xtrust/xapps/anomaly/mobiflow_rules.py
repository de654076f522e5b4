"""Known-attack rules over the UE records of one MobiFlow trace.

Each rule looks at the records of a trace grouped into UE contexts (see
:func:`contexts`) and returns :class:`RuleHit` items: an attack class and
evidence (record ids and the fields that matter). The rules are generic
statements about the 3GPP procedures, not fingerprints of particular traces:

* ``null_cipher_integrity``: the RRC security mode procedure (command or
  complete) carries RRC ciphering or integrity algorithm 0 (NEA0/NIA0), the
  NAS Securitymodecomplete carries NAS integrity 0, or the UE answers an RRC
  SecurityModeCommand with SecurityModeFailure (it refused the algorithms
  offered, the bidding-down attempt a compliant UE rejects). NAS
  ciphering NEA0 alone is not flagged by default: cores such as OAI select it
  in normal operation (``nas_null_cipher=True`` flags it).
* ``blind_dos_tmsi``: an RRCSetupRequest from a fresh context (its RNTI has no
  earlier record) presents an S-TMSI that another context of the trace holds
  and that context is still active (not released).
* ``bts_resource_depletion``: many RRC setups that never reach
  RRCSetupComplete start within a short window.
* ``identity_extraction``: an Identity request/response exchange before
  security, after which the context never proceeds to authentication.
  MobiFlow does not carry the identity type, so the rule looks at what the
  network does with the answer rather than at the identity itself.

No rule reads ``mobile_id``: the two record layouts give the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xtrust.e2sim.mobiflow import UeRecord

__all__ = [
    "BLIND_DOS_TMSI",
    "BTS_DEPLETION",
    "IDENTITY_EXTRACTION",
    "NULL_CIPHER_INTEGRITY",
    "RULES",
    "Context",
    "RuleHit",
    "TmsiMemory",
    "contexts",
    "rule_blind_dos_tmsi",
    "rule_bts_depletion",
    "rule_identity_extraction",
    "rule_null_security",
    "run_rules",
]

NULL_CIPHER_INTEGRITY = "null_cipher_integrity"
BLIND_DOS_TMSI = "blind_dos_tmsi"
BTS_DEPLETION = "bts_resource_depletion"
IDENTITY_EXTRACTION = "identity_extraction"

SETUP_REQUEST = "RRCSetupRequest"
SETUP_COMPLETE = "RRCSetupComplete"
RELEASE = "RRCRelease"
RRC_SMC = "SecurityModeCommand"
RRC_SMC_COMPLETE = "SecurityModeComplete"
RRC_SMC_FAILURE = "SecurityModeFailure"
NAS_SMC_COMPLETE = "Securitymodecomplete"
NAS_IDENTITY = ("Identityrequest", "Identityresponse")
NAS_AUTH_REQUEST = "Authenticationrequest"


@dataclass
class Context:
    """The records of one UE context: one RNTI in one cell, from an RRCSetupRequest on."""

    cell: int
    rnti: int
    records: list[UeRecord] = field(default_factory=list)
    fresh: bool = True  # the RNTI had no record before this context started
    positions: list[int] = field(default_factory=list)  # of the records, in the trace


@dataclass(frozen=True)
class RuleHit:
    """One finding: the attack class, a one-line reason and the evidence records."""

    attack_class: str
    reason: str
    evidence: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"attack_class": self.attack_class, "reason": self.reason,
                "records": list(self.evidence)}  # fmt: skip


def evidence_of(rec: UeRecord, *fields: str) -> dict[str, Any]:
    """The evidence item of a record: its id, time, cell, UE (F1AP id and RNTI), messages
    and ``fields`` (self-contained: an alert names its cell and UE from it even when the
    record has since left the xApp's window)."""
    item: dict[str, Any] = {"msg_id": rec.msg_id, "timestamp": rec.timestamp,
                            "nr_cell_id": rec.nr_cell_id, "ue": rec.gnb_cu_ue_f1ap_id,
                            "rnti": rec.rnti, "rrc_msg": rec.rrc_msg, "nas_msg": rec.nas_msg}  # fmt: skip
    for name in fields:
        item[name] = getattr(rec, name)
    return item


def contexts(records: Sequence[UeRecord]) -> list[Context]:
    """Group records into UE contexts, in order of their first record.

    A context is keyed by (cell, RNTI); an RRCSetupRequest on a key that
    already has records starts a new context (the RNTI was reused).
    """
    out: list[Context] = []
    current: dict[tuple[int, int], Context] = {}
    for pos, rec in enumerate(records):
        key = (rec.nr_cell_id, rec.rnti)
        ctx = current.get(key)
        if ctx is None or (rec.rrc_msg == SETUP_REQUEST and ctx.records):
            ctx = Context(rec.nr_cell_id, rec.rnti, fresh=ctx is None)
            current[key] = ctx
            out.append(ctx)
        ctx.records.append(rec)
        ctx.positions.append(pos)
    return out


def _algs(rec: UeRecord) -> tuple[int, int, int, int]:
    return (rec.rrc_cipher_alg, rec.rrc_integrity_alg, rec.nas_cipher_alg, rec.nas_integrity_alg)


def rule_null_security(ctxs: Sequence[Context], *, nas_null_cipher: bool = False) -> list[RuleHit]:
    """Null algorithms negotiated by a security mode procedure, or a refused security mode.

    The algorithms are read where the procedure negotiates them: the RRC
    SecurityModeCommand/SecurityModeComplete records (RRC ciphering and
    integrity) and the NAS Securitymodecomplete record (NAS integrity; NAS
    ciphering too with ``nas_null_cipher``). Other records are not used, nor
    an RRC record with all four algorithms 0: MobiFlow writes zeros where it
    has no security information (before security, or for a context it lost).
    """
    hits: list[RuleHit] = []
    for ctx in ctxs:
        bad: list[dict[str, Any]] = []
        prev: UeRecord | None = None
        for rec in ctx.records:
            if rec.rrc_msg == RRC_SMC_FAILURE and prev is not None and prev.rrc_msg == RRC_SMC:
                hits.append(RuleHit(
                    NULL_CIPHER_INTEGRITY,
                    "the UE refused the RRC security mode command (SecurityModeFailure)",
                    (evidence_of(prev, "rrc_cipher_alg", "rrc_integrity_alg"),
                     evidence_of(rec, "rrc_cipher_alg", "rrc_integrity_alg")),
                ))  # fmt: skip
            fields: list[str] = []
            if rec.rrc_msg in (RRC_SMC, RRC_SMC_COMPLETE) and any(_algs(rec)):
                fields += [
                    f for f in ("rrc_cipher_alg", "rrc_integrity_alg") if not getattr(rec, f)
                ]
            if rec.nas_msg == NAS_SMC_COMPLETE:
                if not rec.nas_integrity_alg:
                    fields.append("nas_integrity_alg")
                if nas_null_cipher and not rec.nas_cipher_alg:
                    fields.append("nas_cipher_alg")
            if fields:
                bad.append(evidence_of(rec, *fields))
            prev = rec
        if bad:
            names = sorted({k for item in bad for k in item if k.endswith("_alg")})
            hits.append(RuleHit(
                NULL_CIPHER_INTEGRITY,
                f"null algorithm (0) negotiated by the security mode procedure: {', '.join(names)}",
                tuple(bad),
            ))  # fmt: skip
    return hits


def _released(ctx: Context, before: int) -> bool:
    """Whether the context was released before trace position ``before``."""
    return any(r.rrc_msg == RELEASE and pos < before
               for r, pos in zip(ctx.records, ctx.positions, strict=True))  # fmt: skip


class TmsiMemory:
    """S-TMSIs of contexts that have left a sliding window of records unreleased.

    A live monitor judges the latest records only; a UE that attached long
    ago still holds its S-TMSI, and a blind DoS against it is recognised only
    if that is remembered. :meth:`forget` is called with every record that
    leaves the window, in order; per S-TMSI the memory keeps the first record
    of the latest context that presented it, until that context's RRCRelease
    leaves the window or its cell and RNTI start a new context. At most ``limit``
    S-TMSIs are kept (the oldest go first).
    """

    def __init__(self, limit: int = 100_000) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = limit
        self.by_tmsi: dict[int, UeRecord] = {}
        self._by_key: dict[tuple[int, int], list[int]] = {}

    def __len__(self) -> int:
        return len(self.by_tmsi)

    def forget(self, rec: UeRecord) -> None:
        key = (rec.nr_cell_id, rec.rnti)
        if rec.rrc_msg in (RELEASE, SETUP_REQUEST):  # the context ends, or a new one starts
            for tmsi in self._by_key.pop(key, ()):
                held = self.by_tmsi.get(tmsi)
                if held is not None and (held.nr_cell_id, held.rnti) == key:
                    del self.by_tmsi[tmsi]
        if rec.rrc_msg == RELEASE or not rec.s_tmsi:
            return
        held = self.by_tmsi.get(rec.s_tmsi)
        if held is not None and (held.nr_cell_id, held.rnti) == key:
            return  # the same context again: keep its first record
        # the holder is the latest context that presented it (a UE handed over to
        # another cell shows it there; its release there ends it)
        self.by_tmsi.pop(rec.s_tmsi, None)
        self.by_tmsi[rec.s_tmsi] = rec
        self._by_key.setdefault(key, []).append(rec.s_tmsi)
        while len(self.by_tmsi) > self.limit:
            oldest = next(iter(self.by_tmsi))
            held = self.by_tmsi.pop(oldest)
            keyed = self._by_key.get((held.nr_cell_id, held.rnti))
            if keyed is not None and oldest in keyed:
                keyed.remove(oldest)


def rule_blind_dos_tmsi(ctxs: Sequence[Context],
                        memory: TmsiMemory | None = None) -> list[RuleHit]:  # fmt: skip
    """A fresh context's RRCSetupRequest presents the S-TMSI of another, still active context.

    The holder is a context of ``ctxs`` or, with ``memory``, one that started
    before them and has not been released or replaced in them since.
    """
    hits: list[RuleHit] = []
    holders: dict[int, Context] = {}
    # walk the records in trace order, whatever context they belong to
    order = sorted(((pos, r, c) for c in ctxs
                    for r, pos in zip(c.records, c.positions, strict=True)),
                   key=lambda x: x[0])  # fmt: skip
    # for remembered holders: where each (cell, RNTI) first ends or restarts in ``ctxs``
    ended: dict[tuple[int, int], int] = {}
    if memory is not None and memory.by_tmsi:
        for pos, rec, _ in order:
            if rec.rrc_msg in (RELEASE, SETUP_REQUEST):
                ended.setdefault((rec.nr_cell_id, rec.rnti), pos)
    for pos, rec, ctx in order:
        if not rec.s_tmsi:
            continue
        holder = holders.get(rec.s_tmsi)
        held: UeRecord | None = None  # the first record of the active context holding it
        if rec.rrc_msg == SETUP_REQUEST and ctx.fresh:
            if holder is not None:
                if holder is not ctx and not _released(holder, pos):
                    held = next(r for r in holder.records if r.s_tmsi == rec.s_tmsi)
            elif memory is not None and (anchor := memory.by_tmsi.get(rec.s_tmsi)):
                key = (anchor.nr_cell_id, anchor.rnti)
                if key != (ctx.cell, ctx.rnti) and ended.get(key, pos) >= pos:
                    held = anchor
        if held is not None:
            hits.append(RuleHit(
                BLIND_DOS_TMSI,
                f"S-TMSI {rec.s_tmsi} of the active context RNTI {held.rnti} presented by a "
                f"new context RNTI {rec.rnti}",
                (evidence_of(held, "s_tmsi", "gnb_cu_ue_f1ap_id"),
                 evidence_of(rec, "s_tmsi", "gnb_cu_ue_f1ap_id")),
            ))  # fmt: skip
            continue
        if holder is None or holder is not ctx:
            holders[rec.s_tmsi] = ctx
    return hits


def rule_bts_depletion(ctxs: Sequence[Context], *, window: float = 10.0,
                       min_incomplete: int = 20) -> list[RuleHit]:  # fmt: skip
    """At least ``min_incomplete`` setups that never complete, starting within ``window`` s."""
    starts = sorted(
        (c.records[0] for c in ctxs
         if c.records[0].rrc_msg == SETUP_REQUEST
         and not any(r.rrc_msg == SETUP_COMPLETE for r in c.records)),
        key=lambda r: (r.timestamp, r.msg_id),
    )  # fmt: skip
    lo = 0
    best: tuple[int, int] | None = None
    for hi in range(len(starts)):
        while starts[hi].timestamp - starts[lo].timestamp > window:
            lo += 1
        if hi - lo + 1 >= min_incomplete and (best is None or hi - lo > best[1] - best[0]):
            best = (lo, hi)
    if best is None:
        return []
    burst = starts[best[0] : best[1] + 1]
    return [RuleHit(
        BTS_DEPLETION,
        f"{len(burst)} RRC setups that never complete within {window:g} s",
        tuple(evidence_of(r) for r in burst),
    )]  # fmt: skip


def rule_identity_extraction(ctxs: Sequence[Context]) -> list[RuleHit]:
    """An identity exchange before security that the network never follows with authentication."""
    hits: list[RuleHit] = []
    for ctx in ctxs:
        secured = False
        exchange: list[UeRecord] = []
        authenticated = False
        for rec in ctx.records:
            if rec.rrc_msg == RRC_SMC_COMPLETE or rec.nas_msg == NAS_SMC_COMPLETE:
                secured = True
            if rec.nas_msg in NAS_IDENTITY and not secured:
                exchange.append(rec)
            elif exchange and rec.nas_msg == NAS_AUTH_REQUEST:
                authenticated = True
        if any(r.nas_msg == NAS_IDENTITY[1] for r in exchange) and not authenticated:
            hits.append(RuleHit(
                IDENTITY_EXTRACTION,
                f"identity disclosed before security by RNTI {ctx.rnti}, never authenticated",
                tuple(evidence_of(r, "rrc_sec_state") for r in exchange),
            ))  # fmt: skip
    return hits


RULES: dict[str, Callable[[Sequence[Context]], list[RuleHit]]] = {
    NULL_CIPHER_INTEGRITY: rule_null_security,
    BLIND_DOS_TMSI: rule_blind_dos_tmsi,
    BTS_DEPLETION: rule_bts_depletion,
    IDENTITY_EXTRACTION: rule_identity_extraction,
}


def run_rules(records: Sequence[UeRecord], *, memory: TmsiMemory | None = None
              ) -> list[RuleHit]:  # fmt: skip
    """Every rule over the records of one trace, in the order of :data:`RULES`.

    ``memory``: what a sliding window has forgotten (see :class:`TmsiMemory`).
    """
    ctxs = contexts(records)
    return [hit for name, rule in RULES.items()
            for hit in (rule_blind_dos_tmsi(ctxs, memory) if name == BLIND_DOS_TMSI
                        else rule(ctxs))]  # fmt: skip
