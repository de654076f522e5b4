"""MobiFlow v2: per-UE control-plane telemetry, read from real traces and written by the model.

MobiFlow (5G-Spector / MobiWatch) describes every RRC and NAS message of a UE
as one ``;``-separated ``UE`` record. This module parses the two v2 layouts
that occur in the public traces into one :class:`UeRecord`, and
:class:`MobiflowWriter` turns the procedures of :class:`~xtrust.e2sim.model.Cell`
into records of the 23-field layout (or the 22-field one), one per message::

    msg_type (UE); msg_id; mobiflow_ver; generator_name; timestamp (s);
    nr_cell_id; gnb_cu_ue_f1ap_id; gnb_du_ue_f1ap_id; rnti; s_tmsi; mobile_id;
    rrc_cipher_alg; rrc_integrity_alg; nas_cipher_alg; nas_integrity_alg;
    rrc_msg; nas_msg (a single space when empty); rrc_state; nas_state;
    rrc_sec_state; reserved_1; reserved_2; reserved_3

The 22-field layout has no ``mobile_id``; ``BS`` lines (base-station
records) are returned as :class:`BsRecord` or skipped. A layout never changes
what a record means: both parse into :class:`UeRecord`, with ``mobile_id``
None when the trace does not carry it.

What the writer produces follows the real traces (MobiWatch ``mobiflow_v2``,
OAI and commercial phones): message names and their order, the state fields
each message carries, the security algorithms (NEA2/NIA2 for RRC, NAS
ciphering NEA0 and NAS integrity NIA2 as the OAI core selects; a phone-like
share of UEs shows zeros until the security mode completes, then NIA1 for
NAS). ``reserved_1`` carries what the traces carry there: 3 on
RRCSetupRequest (the establishment cause mo-Signalling, as we read it) and
the registration type on RRCSetupComplete/Registrationrequest (1 initial,
2 mobility). Timestamps are whole seconds, as in the traces. The writer's own
choices (which UEs look like phones, an occasional repeated
SecurityModeComplete) come from its own seeded generator and never touch the
model's.

``gnb_cu_ue_f1ap_id`` is the UE's AMF UE NGAP ID in the model, modulo 2**32
(0 for an attacker that has no context), so ground truth that names a UE
(:mod:`xtrust.e2sim.scenarios`) maps onto records.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from xtrust.errors import DecodeError, InputError
from xtrust.ric.sdl import Sdl

from . import model
from .model import Cell, Ue

__all__ = [
    "UE_FIELDS",
    "BsRecord",
    "MobiflowWriter",
    "UeRecord",
    "benign_captures",
    "iter_trace",
    "parse_line",
    "read_trace",
    "records_of",
    "tmsi_of",
]

#: field names of a UE record, in file order (the 22-field layout drops ``mobile_id``)
UE_FIELDS = (
    "msg_type", "msg_id", "mobiflow_ver", "generator_name", "timestamp", "nr_cell_id",
    "gnb_cu_ue_f1ap_id", "gnb_du_ue_f1ap_id", "rnti", "s_tmsi", "mobile_id",
    "rrc_cipher_alg", "rrc_integrity_alg", "nas_cipher_alg", "nas_integrity_alg",
    "rrc_msg", "nas_msg", "rrc_state", "nas_state", "rrc_sec_state",
    "reserved_1", "reserved_2", "reserved_3",
)  # fmt: skip

SDL_NAMESPACE = "mobiflow"
SDL_CHANNEL = "mobiflow"


@dataclass(frozen=True, slots=True)
class UeRecord:
    """One UE record (one RRC/NAS message), whichever layout it came from."""

    msg_id: int
    version: str
    generator: str
    timestamp: float
    nr_cell_id: int
    gnb_cu_ue_f1ap_id: int
    gnb_du_ue_f1ap_id: int
    rnti: int
    s_tmsi: int
    mobile_id: str | None  # None: the trace's layout has no mobile_id
    rrc_cipher_alg: int
    rrc_integrity_alg: int
    nas_cipher_alg: int
    nas_integrity_alg: int
    rrc_msg: str
    nas_msg: str  # "" when the record carries no NAS message
    rrc_state: int
    nas_state: int
    rrc_sec_state: int
    reserved_1: int
    reserved_2: int
    reserved_3: int

    def to_line(self, *, with_mobile_id: bool = True) -> str:
        """The record in the 23-field layout (22 without ``mobile_id``), no newline."""
        ts = int(self.timestamp) if self.timestamp == int(self.timestamp) else self.timestamp
        parts = [
            "UE", self.msg_id, self.version, self.generator, ts, self.nr_cell_id,
            self.gnb_cu_ue_f1ap_id, self.gnb_du_ue_f1ap_id, self.rnti, self.s_tmsi,
        ]  # fmt: skip
        if with_mobile_id:
            parts.append(self.mobile_id if self.mobile_id is not None else "0")
        parts += [
            self.rrc_cipher_alg, self.rrc_integrity_alg, self.nas_cipher_alg,
            self.nas_integrity_alg, self.rrc_msg or " ", self.nas_msg or " ", self.rrc_state,
            self.nas_state, self.rrc_sec_state, self.reserved_1, self.reserved_2, self.reserved_3,
        ]  # fmt: skip
        return ";".join(str(p) for p in parts)


@dataclass(frozen=True, slots=True)
class BsRecord:
    """A base-station record: its id, time, version, generator and cell; the rest as read."""

    msg_id: int
    timestamp: float
    version: str
    generator: str
    nr_cell_id: int
    fields: tuple[str, ...]


def parse_line(line: str, *, where: str = "MobiFlow") -> UeRecord | BsRecord | None:
    """One trace line: a :class:`UeRecord`, a :class:`BsRecord`, or None for a blank line.

    Raises :class:`~xtrust.errors.DecodeError` (naming ``where``) for anything else.
    """
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    parts = text.split(";")
    kind = parts[0].strip()
    try:
        if kind == "BS":
            if len(parts) < 6:
                raise DecodeError(f"{where}: a BS record has at least 6 fields, got {len(parts)}")
            return BsRecord(int(parts[1]), float(parts[2]), parts[3], parts[4], int(parts[5]),
                            tuple(parts))  # fmt: skip
        if kind != "UE":
            raise DecodeError(f"{where}: not a MobiFlow record (starts with {kind[:20]!r})")
        if len(parts) == 23:
            mobile_id: str | None = parts[10].strip()
            rest = parts[11:]
        elif len(parts) == 22:
            mobile_id = None
            rest = parts[10:]
        else:
            raise DecodeError(f"{where}: a MobiFlow v2 UE record has 22 or 23 fields, "
                              f"got {len(parts)}")  # fmt: skip
        if not parts[2].startswith("v2"):
            raise DecodeError(f"{where}: MobiFlow version {parts[2][:20]!r} is not v2")
        return UeRecord(
            msg_id=int(parts[1]), version=parts[2], generator=parts[3],
            timestamp=float(parts[4]), nr_cell_id=int(parts[5]),
            gnb_cu_ue_f1ap_id=int(parts[6]), gnb_du_ue_f1ap_id=int(parts[7]), rnti=int(parts[8]),
            s_tmsi=int(parts[9]), mobile_id=mobile_id,
            rrc_cipher_alg=int(rest[0]), rrc_integrity_alg=int(rest[1]),
            nas_cipher_alg=int(rest[2]), nas_integrity_alg=int(rest[3]),
            rrc_msg=rest[4].strip(), nas_msg=rest[5].strip(), rrc_state=int(rest[6]),
            nas_state=int(rest[7]), rrc_sec_state=int(rest[8]), reserved_1=int(rest[9]),
            reserved_2=int(rest[10]), reserved_3=int(rest[11]),
        )  # fmt: skip
    except ValueError as exc:
        raise DecodeError(f"{where}: a number field does not parse ({exc})") from None


def iter_trace(path: str | Path, *, bs: bool = False) -> Iterator[UeRecord | BsRecord]:
    """The records of a trace file, in order (``BS`` records only when ``bs``)."""
    p = Path(path)
    try:
        handle = p.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{p}: cannot read the MobiFlow trace ({exc.strerror})") from None
    with handle:
        for lineno, line in enumerate(handle, 1):
            rec = parse_line(line, where=f"{p}:{lineno}")
            if rec is None or (isinstance(rec, BsRecord) and not bs):
                continue
            yield rec


def read_trace(path: str | Path) -> list[UeRecord]:
    """The UE records of a trace file, in order."""
    return [r for r in iter_trace(path) if isinstance(r, UeRecord)]


# --------------------------------------------------------------------------- writer
# one message: (rrc_msg, nas_msg, rrc_state, nas_state, rrc_sec_state, reserved_1)
_Msg = tuple[str, str, int, int, int, int]
_SETUP_REQUEST: _Msg = ("RRCSetupRequest", "", 0, 0, 0, 3)
_SETUP: _Msg = ("RRCSetup", "", 2, 0, 0, 0)
_AUTH: tuple[_Msg, ...] = (
    ("DLInformationTransfer", "Authenticationrequest", 2, 1, 0, 0),
    ("ULInformationTransfer", "Authenticationresponse", 2, 1, 0, 0),
    ("DLInformationTransfer", "Securitymodecommand", 2, 1, 0, 0),
    ("ULInformationTransfer", "Securitymodecomplete", 2, 1, 0, 0),
)
_IDENTITY: tuple[_Msg, ...] = (
    ("DLInformationTransfer", "Identityrequest", 2, 1, 0, 0),
    ("ULInformationTransfer", "Identityresponse", 2, 1, 0, 0),
)
_SMC: _Msg = ("SecurityModeCommand", "", 2, 1, 0, 0)
_SMC_COMPLETE: _Msg = ("SecurityModeComplete", "", 2, 1, 3, 0)
_SMC_FAILURE: _Msg = ("SecurityModeFailure", "", 2, 1, 0, 0)
_CAP_ENQUIRY: _Msg = ("UECapabilityEnquiry", "", 2, 1, 0, 0)
#: what follows a completed security mode when ``full_registration`` (as in v2.1 traces)
_REGISTERED: tuple[_Msg, ...] = (
    ("RRCReconfiguration", "", 2, 1, 1, 0),
    ("RRCReconfigurationComplete", "", 2, 1, 1, 0),
    ("UECapabilityEnquiry", "", 2, 1, 1, 0),
    ("UECapabilityInformation", "", 2, 1, 1, 0),
    ("ULInformationTransfer", "Registrationcomplete", 2, 2, 1, 0),
    ("ULInformationTransfer", "ULNAStransport", 2, 2, 1, 0),
    ("RRCReconfiguration", "", 2, 2, 1, 0),
    ("RRCReconfigurationComplete", "", 2, 2, 1, 0),
)
_RELEASE: _Msg = ("RRCRelease", "", 1, 0, 0, 0)
_REJECT: _Msg = ("RRCReject", "", 1, 0, 0, 0)
_HO_OUT: _Msg = ("RRCReconfiguration", "", 2, 2, 1, 0)
_HO_IN: _Msg = ("RRCReconfigurationComplete", "", 2, 2, 1, 0)

_OAI_ALGS = (2, 2, 0, 2)  # NEA2, NIA2 on RRC; NEA0, NIA2 on NAS
_PHONE_ALGS = (2, 2, 0, 1)
_NO_ALGS = (0, 0, 0, 0)


_mix = model.mix32


def tmsi_of(ue_id: int) -> int:
    """The 5G-TMSI the model's UE ``ue_id`` holds (stable: a returning UE shows the same)."""
    return _mix(ue_id ^ 0x5A5A5A5A) or 1


class MobiflowWriter:
    """Writes a MobiFlow v2 ``UE`` record for every message of the watched cells' procedures.

    ``out`` is a path (opened for writing) or a text stream. ``plmn`` is the
    MCC+MNC digits that start every ``mobile_id`` (MSIN: 8 digits, as in the
    traces; an unknown identity is all zeros). ``with_mobile_id=False`` writes
    the 22-field layout. ``full_registration`` continues each attach past the
    security mode (reconfiguration, capabilities, registration complete) as the
    v2.1 traces do; off by default, as most traces stop there.
    ``keep_for_sdl`` keeps records for :meth:`publish`.
    """

    def __init__(
        self,
        out: str | Path | TextIO,
        *,
        plmn: str = "00101",
        generator: str = "SECSM",
        version: str = "v2.0",
        with_mobile_id: bool = True,
        full_registration: bool = False,
        seed: int = 0,
        keep_for_sdl: bool = False,
    ) -> None:
        if not plmn.isdigit() or len(plmn) not in (5, 6):
            raise InputError(f"plmn must be the 5 or 6 MCC+MNC digits, got {plmn!r}")
        if isinstance(out, str | Path):
            self._stream: TextIO = Path(out).open("w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._stream = out
            self._owned = False
        self.plmn = plmn
        self.generator = generator
        self.version = version
        self.with_mobile_id = with_mobile_id
        self.full_registration = full_registration
        self.keep_for_sdl = keep_for_sdl
        self.rng = random.Random(f"mobiflow:{seed}")
        self.next_id = 0
        #: records written, by RRC message
        self.counts: Counter[str] = Counter()
        self._pending: list[tuple[int, str]] = []
        self._later: list[tuple[float, Cell, Ue, _Msg]] = []

    # ------------------------------------------------------------------ wiring
    def watch(self, cells: Iterable[Cell]) -> None:
        """Write the procedures of ``cells`` from now on."""
        for cell in cells:
            cell.mobiflow = self

    def close(self) -> None:
        """Flush (and close the file it opened). Idempotent."""
        self._flush_later(float("inf"))
        if self._owned and not self._stream.closed:
            self._stream.close()
        elif not self._stream.closed:
            self._stream.flush()

    def __enter__(self) -> MobiflowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def publish(self, sdl: Sdl, ns: str = SDL_NAMESPACE) -> int:
        """Write the records kept since the last call to SDL namespace ``ns``.

        Key ``ue:<msg_id>`` (12 digits) holds the record's line; one event
        ``ue:<first>-<last>`` is published on channel ``mobiflow``. Returns the
        number of records written. Needs ``keep_for_sdl=True``.
        """
        if not self.keep_for_sdl:
            raise InputError("publish() needs a MobiflowWriter made with keep_for_sdl=True")
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        data = {f"ue:{msg_id:012d}": line.encode() for msg_id, line in batch}
        event = f"ue:{batch[0][0]:012d}-{batch[-1][0]:012d}"
        await sdl.set_and_publish(ns, {SDL_CHANNEL: event}, data)
        return len(batch)

    # ------------------------------------------------------------------ records
    def _emit(self, t: float, cell: Cell, ue: Ue, msg: _Msg, algs: tuple[int, int, int, int],
              *, s_tmsi: int, mobile_id: str, cu_id: int) -> None:  # fmt: skip
        # the line of UeRecord.to_line(), built directly: this runs for every message
        rrc, nas, rrc_state, nas_state, sec, r1 = msg
        a, b, c, d = algs
        ident = f";{mobile_id}" if self.with_mobile_id else ""
        line = (
            f"UE;{self.next_id};{self.version};{self.generator};{int(t)};{cell.cell_id};{cu_id};"
            f"{ue.rnti};{ue.rnti};{s_tmsi}{ident};{a};{b};{c};{d};{rrc or ' '};{nas or ' '};"
            f"{rrc_state};{nas_state};{sec};{r1};0;0"
        )
        self._stream.write(line + "\n")
        if self.keep_for_sdl:
            self._pending.append((self.next_id, line))
        self.next_id += 1
        self.counts[rrc] += 1

    def _flush_later(self, t: float) -> None:
        if not self._later:
            return
        due = [x for x in self._later if x[0] <= t]
        self._later = [x for x in self._later if x[0] > t]
        for when, cell, ue, msg in sorted(due, key=lambda x: x[0]):
            if cell.ues.get(ue.ue_id) is ue:  # not for a connection released meanwhile
                self._ue_messages(when, cell, ue, [msg])

    def _ue_messages(self, t: float, cell: Cell, ue: Ue, msgs: Iterable[_Msg],
                     *, step: float = 0.05) -> None:  # fmt: skip
        """Records of a known UE: its identities and algorithms, message by message."""
        h = _mix(ue.ue_id)
        phone = h % 10 < 3
        # a connection shows the S-TMSI it began with; a UE not connected, what it would present
        shows = ue.flags & model.TMSI_ON_AIR or model.presents_tmsi(ue)
        s_tmsi = tmsi_of(ue.ue_id) if shows and not ue.flags & model.STORM else 0
        known = not ue.flags & model.STORM
        mobile_id = self.plmn + (f"{ue.ue_id % 100_000_000:08d}" if known else "00000000")
        cu_id = ue.ue_id & 0xFFFFFFFF
        secure = False
        for k, msg in enumerate(msgs):
            if phone:
                algs = _PHONE_ALGS if secure or msg[1] == "Securitymodecomplete" else _NO_ALGS
                secure = secure or msg[1] == "Securitymodecomplete"
                if ue.flags & model.NULL_CIPHER and secure:
                    algs = (0, 0 if ue.flags & model.NULL_INTEGRITY else algs[1], *algs[2:])
            else:
                algs = _OAI_ALGS
                if ue.flags & model.NULL_CIPHER:
                    algs = (0, 0 if ue.flags & model.NULL_INTEGRITY else 2, 0, 2)
            self._emit(t + k * step, cell, ue, msg, algs, s_tmsi=s_tmsi, mobile_id=mobile_id,
                       cu_id=cu_id)  # fmt: skip

    def procedure(self, t: float, cell: Cell, proc: str, ue: Ue) -> None:
        """Records of one procedure of ``cell`` (called by the model)."""
        self._flush_later(t)
        if proc in (model.ATTACH, model.STORM_ATTACH):
            self._attach(t, cell, proc, ue)
        elif proc == model.RELEASE:
            self._ue_messages(t, cell, ue, [_RELEASE])
        elif proc == model.HO_OUT:
            self._ue_messages(t, cell, ue, [_HO_OUT])
        elif proc == model.HO_IN:
            self._ue_messages(t, cell, ue, [_HO_IN])
        elif proc in (model.SETUP_ONLY, model.REJECT):
            second = _SETUP if proc == model.SETUP_ONLY else _REJECT
            if ue.ue_id:
                self._ue_messages(t, cell, ue, [_SETUP_REQUEST, second])
            else:
                self._anonymous(t, cell, ue, [_SETUP_REQUEST, second], s_tmsi=0)
        elif proc == model.SPOOF:
            # the attacker: a context of its own, the victim's 5G-S-TMSI, no identity
            attacker = Ue(0, 0.0, 0.0, 0.0, 0.0)
            attacker.rnti = 1 + (_mix(ue.ue_id ^ self.next_id) % 65519)
            self._anonymous(t, cell, attacker, [_SETUP_REQUEST], s_tmsi=tmsi_of(ue.ue_id))
        # RLF: the context disappears without a message

    def _anonymous(self, t: float, cell: Cell, ue: Ue, msgs: list[_Msg], *, s_tmsi: int) -> None:
        for k, msg in enumerate(msgs):
            self._emit(t + k * 0.05, cell, ue, msg, _NO_ALGS, s_tmsi=s_tmsi,
                       mobile_id=self.plmn + "00000000", cu_id=0)  # fmt: skip

    def _attach(self, t: float, cell: Cell, proc: str, ue: Ue) -> None:
        h = _mix(ue.ue_id)
        phone = h % 10 < 3
        registration = ("RRCSetupComplete", "Registrationrequest", 2, 1, 0,
                        2 if phone and ue.flags & model.RETURNING else 1)  # fmt: skip
        msgs: list[_Msg] = [_SETUP_REQUEST, _SETUP, registration]
        if proc == model.STORM_ATTACH:
            msgs.append(_AUTH[0])  # never answered: the connection is released soon after
            self._ue_messages(t, cell, ue, msgs)
            return
        if phone and (h >> 12) % 2 == 0:
            msgs += _IDENTITY
        msgs += _AUTH
        msgs.append(_SMC)
        if ue.flags & model.NULL_INTEGRITY:
            msgs += [_SMC_FAILURE, _CAP_ENQUIRY]  # the UE refuses NIA0
        else:
            msgs.append(_SMC_COMPLETE)
            if self.full_registration:
                msgs += _REGISTERED
            elif self.rng.random() < 0.02:
                msgs.append(_SMC_FAILURE)  # seen in benign traces too
        self._ue_messages(t, cell, ue, msgs)
        if _SMC_FAILURE not in msgs and self.rng.random() < 0.1:
            # a repeated SecurityModeComplete a second or two later, as in the traces
            self._later.append((t + self.rng.uniform(1.0, 2.0), cell, ue, _SMC_COMPLETE))


def benign_captures(directory: str | Path, *, traces: int = 4, seconds: int = 900,
                    nodes: int = 1, cells_per_node: int = 2, ues_per_cell: int = 10,
                    seed: int = 0, plmn: str = "00101") -> list[Path]:  # fmt: skip
    """Write ``traces`` benign MobiFlow traces of the model (no attack) into ``directory``.

    Each trace is ``seconds`` of ``nodes`` x ``cells_per_node`` cells stepped at
    1 s (UEs hand over between the cells of a node), with its own seed
    (``seed``, ``seed + 1``, ...): what an operator captures of a network known
    to be clean, to learn the sequence model from. Returns the files written.
    """
    out_dir = Path(directory)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the directory ({exc.strerror})") from None
    paths = []
    t0 = 1_700_000_000.0
    for k in range(traces):
        s = seed + k
        path = out_dir / f"benign-{s}.csv"
        cells: list[Cell] = []
        with MobiflowWriter(path, plmn=plmn, seed=s) as writer:
            for n in range(nodes):
                node_cells = [Cell(((n + 1) << 4) | (i + 1), (n * 3 + i) % 1008,
                                   random.Random(f"benign:{s}:{n}:{i}"))
                              for i in range(cells_per_node)]  # fmt: skip
                for cell in node_cells:
                    for _ in range(ues_per_cell):
                        cell.add_ue()
                model.connect_cells(node_cells)
                cells += node_cells
            writer.watch(cells)
            for step in range(seconds):
                for cell in cells:
                    cell.step(t0 + step + 1, 1.0)
        paths.append(path)
    return paths


def records_of(text: str) -> list[UeRecord]:
    """The UE records in ``text`` (a whole trace in memory)."""
    out = []
    for lineno, line in enumerate(io.StringIO(text), 1):
        rec = parse_line(line, where=f"<text>:{lineno}")
        if isinstance(rec, UeRecord):
            out.append(rec)
    return out
