"""A small, deterministic RAN model behind the simulated E2 nodes.

Cells have PRBs; UEs have a slowly fading SINR, a bursty traffic demand that
follows a daily profile, and an RRC connection that starts with an RRC setup
and ends with a release, a handover to another cell of the node, or a radio
link failure. Each step turns SINR into CQI and spectral efficiency (TS 38.214
Table 5.2.2.1-2, the 4-bit CQI table), demand into PRBs, and the PRBs a cell
has into the throughput its UEs get (equal-share scheduling when the cell is
full). The outputs are the TS 28.552 measurements a gNB reports over E2SM-KPM,
per cell (:meth:`Cell.measurements`) and per UE (:meth:`Cell.ue_measurements`).

Everything random comes from the cell's ``random.Random``: the same seed and
the same calls give the same numbers, whether or not a MobiFlow writer or a
scenario engine watches the cell (they never draw from the cell's generator
unless they change the cell).

The parameters live in a :class:`Profile`. Those marked *calibrated* were
fitted to the ColO-RAN traces (srsRAN, Colosseum; see
``bench/calibrate_coloran.py``); the others describe a deployment (how far UEs
are from the site, how much traffic they offer) and are meant to be set.

Measurement names (cell level, :data:`CELL_MEAS_NAMES`), from TS 28.552:

==================================== =========================================================
``DRB.UEThpDl`` / ``DRB.UEThpUl``     5.1.1.3.1/3: mean throughput of the UEs with data, kbit/s
``RRU.PrbUsedDl`` / ``...Ul``         5.1.1.2.5/7: PRBs used (mean)
``RRU.PrbAvailDl`` / ``...Ul``        5.1.1.2.6/8: PRBs available
``RRU.PrbTotDl`` / ``...Ul``          5.1.1.2.1/2: PRB usage, %
``RRC.ConnEstabAtt``                  5.1.1.15.1: RRC setup attempts (counter)
``RRC.ConnEstabSucc``                 5.1.1.15.2: RRC setups completed (counter)
``RRC.ConnEstabFailCause.*``          5.1.1.15.3: failed setups by cause: ``NetworkReject``
                                      (RRCReject: the cell is full), ``NoReply`` (no
                                      RRCSetupComplete) (counters)
``RRC.ConnMean`` / ``RRC.ConnMax``    5.1.1.4.1/2: RRC-connected UEs
``MM.HoExeIntraReq`` / ``...Succ``    5.1.1.6.2.1/2: intra-gNB handover executions (counters)
``DRB.RlcSduDelayDl``                 5.1.3.3: average DL delay in the gNB-DU, ms
``CARR.WBCQIDist.BinX.BinY.BinZ``     5.1.1.11.1: wideband CQI reports per CQI value X (0..15),
                                      rank Y (always 1) and CQI table Z (always 1) (counters)
``MR.NRScSSSINR.BinX``                5.1.1.32.1: SS-SINR reports per bin X (bins of
                                      :data:`SINR_BIN_EDGES_DB`, -23..40 dB) (counters)
==================================== =========================================================

Counters count since the last :meth:`Cell.measurements` call; the rest are
the state of the last step. The flat distribution names spell the bins into
the name (E2SM-KPM carries them as the ``distBinX/Y/Z`` labels of
``CARR.WBCQIDist`` and ``MR.NRScSSSINR``).

UE level (:meth:`Cell.ue_measurements`, for KPM action format 4, names in
:data:`UE_MEAS_NAMES`): ``DRB.UEThpDl``, ``DRB.UEThpUl``, ``RRU.PrbUsedDl``,
``RRU.PrbUsedUl`` (28.552, UE level as E2SM-KPM v3 allows), ``L1M.DL-SS-SINR``
and ``L1M.DL-SS-RSRP`` (the O-RAN-specific SS-SINR / SS-RSRP measurements of
E2SM-KPM v3 clause 7.10, dB and dBm), and ``CQI``, the last wideband CQI (not
a 28.552 name: the vendor name srsRAN's gNB reports; 28.552 only has the CQI
distribution). The names and clause numbers were checked against srsRAN's
table of the TS 28.552 V18 and E2SM-KPM v3 measurements, not the specifications
themselves.

Procedures: each step, UEs arrive (Poisson, so that the population follows
:func:`daily_load` around its starting level) with an RRC setup that can fail
(RRCReject when the cell is full, no RRCSetupComplete when the UE is out of
sync), leave after an exponential session, hand over to the node's other cells
(:func:`connect_cells`), or lose the radio link and come back later. A
:class:`ProcedureSink` set as :attr:`Cell.mobiflow` hears about each procedure
(:class:`~xtrust.e2sim.mobiflow.MobiflowWriter` turns them into MobiFlow
records). The attack fields of :class:`Cell` (``jam_db``, ``storm_rate``,
``fake_rate``, ``lure_rate``, ``downgrade``, ``flood_target``) and
:meth:`Cell.spoof_tmsi` are what :mod:`xtrust.e2sim.scenarios` turns on and off.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Protocol

__all__ = [
    "CELL_MEAS_NAMES",
    "CQI_DIST_NAMES",
    "CQI_EFFICIENCY",
    "DEFAULT_PROFILE",
    "MCS_EFFICIENCY",
    "SINR_BIN_EDGES_DB",
    "SINR_DIST_NAMES",
    "UE_MEAS_NAMES",
    "Cell",
    "ProcedureSink",
    "Profile",
    "Ue",
    "connect_cells",
    "cqi_of_sinr",
    "daily_load",
    "mcs_of_cqi",
]

#: TS 38.214 Table 5.2.2.1-2 (CQI table 1): spectral efficiency, bit/s/Hz, CQI 0..15
CQI_EFFICIENCY = (
    0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766,
    1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547,
)  # fmt: skip

#: TS 38.214 Table 5.1.3.1-1 (MCS table 1, up to 64QAM): spectral efficiency, MCS 0..28
MCS_EFFICIENCY = (
    0.2344, 0.3066, 0.3770, 0.4902, 0.6016, 0.7402, 0.8770, 1.0273, 1.1758, 1.3262,
    1.3281, 1.4766, 1.6953, 1.9141, 2.1602, 2.4063, 2.5703, 2.5664, 2.7305, 3.0293,
    3.3223, 3.6094, 3.9023, 4.2129, 4.5234, 4.8164, 5.1152, 5.3320, 5.5547,
)  # fmt: skip

#: standard normal deviates at 4096 equally likely levels: ``_NORMAL[int(random() * 4096)]``
#: is a normal draw at a fifth of ``random.gauss``'s cost (tails cut at +-3.7)
_NORMAL = tuple(NormalDist().inv_cdf((i + 0.5) / 4096) for i in range(4096))

SUBCARRIERS_PER_PRB = 12
OVERHEAD = 0.14  # control channels and reference signals (TS 38.306's usual figure)
UL_EFFICIENCY = 0.6  # UL: fewer layers, lower modulation order than DL
THERMAL_DBM_PER_HZ = -174.0
NOISE_FIGURE_DB = 7.0
QOUT_DB = -8.0  # SINR below which a UE is out of sync (radio link failure, no RRC setup)
#: what the scheduler gets out of a CQI-0 UE: MCS 0 at high BLER
CQI0_EFFICIENCY = MCS_EFFICIENCY[0] / 2

#: SS-SINR bins of ``MR.NRScSSSINR.BinX``: bin X is [edge X, edge X+1) dB (the first and
#: last bins also take everything below / above)
SINR_BIN_EDGES_DB = (*range(-23, 41, 5), 40)  # -23, -18, ..., 37, 40
_SINR_BINS = len(SINR_BIN_EDGES_DB) - 1  # 13

CQI_DIST_NAMES = tuple(f"CARR.WBCQIDist.Bin{x}.Bin1.Bin1" for x in range(16))
SINR_DIST_NAMES = tuple(f"MR.NRScSSSINR.Bin{x}" for x in range(_SINR_BINS))

#: every name :meth:`Cell.measurements` returns, in order
CELL_MEAS_NAMES = (
    "DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "RRU.PrbUsedUl", "RRU.PrbAvailDl",
    "RRU.PrbAvailUl", "RRU.PrbTotDl", "RRU.PrbTotUl", "RRC.ConnEstabAtt", "RRC.ConnEstabSucc",
    "RRC.ConnEstabFailCause.NetworkReject", "RRC.ConnEstabFailCause.NoReply",
    "RRC.ConnMean", "RRC.ConnMax", "MM.HoExeIntraReq", "MM.HoExeIntraSucc",
    "DRB.RlcSduDelayDl", "DRB.MeanActiveUeDl", *CQI_DIST_NAMES, *SINR_DIST_NAMES,
)  # fmt: skip

#: every name :meth:`Cell.ue_measurements` returns per UE, in order
UE_MEAS_NAMES = (
    "DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "RRU.PrbUsedUl", "CQI",
    "L1M.DL-SS-SINR", "L1M.DL-SS-RSRP",
)  # fmt: skip

# UE flags
STORM = 1  # a short-lived connection of a signalling storm (no traffic)
FLOOD = 2  # a UE of a UE flood (heavy traffic)
NULL_CIPHER = 4  # its security mode command selected NEA0 (ciphering off)
NULL_INTEGRITY = 8  # ... and NIA0 (integrity off): the UE refuses (SecurityModeFailure)
RETURNING = 16  # attaching again after a radio link failure or a torn-down session
DOS_VICTIM = 32  # its session was torn down by a spoofed RRCSetupRequest
TMSI_ON_AIR = 64  # its connection began with an RRCSetupRequest presenting its 5G-S-TMSI


def mix32(x: int) -> int:
    """A fixed 32-bit hash: a UE's looks must not depend on any generator's state."""
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return x ^ (x >> 16)


def presents_tmsi(ue: Ue) -> bool:
    """Whether ``ue`` would present its 5G-S-TMSI in an RRCSetupRequest now.

    A UE that comes back (and, for half the UEs, one that kept a 5G-GUTI from
    an earlier registration) presents it; a first registration does not: the
    5G-GUTI then travels only inside the ciphered Registration Accept. A
    connection that began with it on the air carries :data:`TMSI_ON_AIR`.
    """
    if ue.flags & STORM:
        return False
    return bool(ue.flags & RETURNING) or (mix32(ue.ue_id) >> 8) % 2 == 0


# procedures a :class:`ProcedureSink` is told about
ATTACH = "attach"  # RRC setup + registration (the UE's flags tell the variant)
RELEASE = "release"  # RRCRelease from the gNB
REJECT = "reject"  # RRCSetupRequest answered with RRCReject (cell full)
SETUP_ONLY = "setup-only"  # RRCSetupRequest, RRCSetup and no RRCSetupComplete
STORM_ATTACH = "storm-attach"  # RRC setup + registration request, never authenticated
SPOOF = "spoof"  # RRCSetupRequest from an attacker with a victim's 5G-S-TMSI
HO_OUT = "ho-out"  # RRCReconfiguration with sync, at the source cell
HO_IN = "ho-in"  # RRCReconfigurationComplete, at the target cell
RLF = "rlf"  # radio link failure: the context goes away without a message
_ENDS = frozenset((RELEASE, HO_OUT, RLF, SPOOF))  # procedures that end a connection


def cqi_of_sinr(sinr_db: float) -> int:
    """CQI a UE reports at ``sinr_db`` (about 10 % BLER: CQI 1 near -6 dB, +2 dB per step)."""
    return max(0, min(15, math.floor((sinr_db + 8.0) / 2.0)))


def mcs_of_cqi(cqi: int) -> int:
    """The highest MCS (table 1) whose efficiency does not exceed CQI ``cqi``'s (0 for CQI 0)."""
    eff = CQI_EFFICIENCY[max(0, min(15, cqi))]
    best = 0
    for mcs, e in enumerate(MCS_EFFICIENCY):
        if e <= eff + 1e-9:
            best = mcs
    return best


def daily_load(t: float) -> float:
    """Relative traffic demand (0.15..1.0) at Unix time ``t``: quiet at 04:00, busy at 20:00."""
    hour = (t / 3600.0) % 24.0
    return 0.15 + 0.85 * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 4.0) / 24.0)) ** 1.5


@dataclass(frozen=True, slots=True)
class Profile:
    """The model's parameters (deployment ones, and *calibrated* ones).

    Deployment: where UEs are (``sinr_*``, ``shadow_*``), what they offer
    (``demand_*``, ``daily``), how long they stay (``session_s``), how they move
    (``handover_rate``), and the cell's limits (``max_ues``).
    Calibrated on ColO-RAN (``bench/calibrate_coloran.py``): ``la_backoff_db``,
    ``fast_fading_db``, ``burst_*``.
    """

    sinr_mean_db: float = 15.0  # mean over UEs of their long-term (reported) SINR
    sinr_spread_db: float = 6.0  # its spread over UEs (distance from the site)
    shadow_std_db: float = 1.4  # slow fading around a UE's mean (stationary std)
    shadow_tau_s: float = 2.8  # ... and its correlation time
    #: calibrated: CQI follows the SINR minus this (effective SINR of the data channel)
    la_backoff_db: float = 7.5
    #: calibrated: per-report jitter of the effective SINR (selective fading, link adaptation)
    fast_fading_db: float = 3.75
    demand_dl_kbps: tuple[float, float] = (200.0, 5_000.0)  # log-uniform, busy-hour mean
    ul_ratio: tuple[float, float] = (0.1, 0.3)  # UL demand / DL demand, uniform
    #: calibrated: log-normal burstiness of a UE's demand (total sigma of log demand)
    burst_sigma: float = 0.25
    #: calibrated: the share of that variance in a slow (correlated) component
    burst_slow_share: float = 0.0
    #: correlation time of the slow component (ColO-RAN's traffic has none: share 0)
    burst_tau_s: float = 30.0
    daily: bool = True  # demand and population follow :func:`daily_load`
    session_s: float = 20.0  # mean RRC connection time (inf: nobody leaves or arrives)
    attach_success: float = 0.995  # RRC setups that complete in good radio conditions
    handover_rate: float = 1 / 120  # handovers per UE and second (with neighbour cells)
    handover_success: float = 0.98
    max_ues: int = 512  # RRC connections (and pending setups) before RRCReject


DEFAULT_PROFILE = Profile()


@dataclass(slots=True)
class Ue:
    """One RRC-connected UE (kept small: a cell holds many)."""

    ue_id: int  # AMF UE NGAP ID (also its gNB-CU UE F1AP ID in MobiFlow, modulo 2**32)
    mean_sinr_db: float
    sinr_db: float
    demand_dl_kbps: float
    demand_ul_kbps: float
    until: float = math.inf  # time it leaves (drawn at its first step with time passing)
    burst: float = 0.0  # slow component of its log demand
    cqi: int = 0
    rate: float = 0.0  # kbit/s one DL PRB carries for it
    thp_dl: float = 0.0
    thp_ul: float = 0.0
    prb_dl: float = 0.0
    prb_ul: float = 0.0
    flags: int = 0
    rnti: int = 0


class ProcedureSink(Protocol):
    """Told about every RRC/NAS procedure of a cell (a MobiFlow writer is one)."""

    def procedure(self, t: float, cell: Cell, proc: str, ue: Ue) -> None: ...


AttackLog = list[tuple[float, str, int, str]]


@dataclass(eq=False)
class Cell:
    """One NR cell: ``n_prb`` PRBs of ``scs_khz`` sub-carrier spacing (equal only to itself)."""

    cell_id: int  # 36-bit NR cell identity
    pci: int
    rng: random.Random
    n_prb: int = 106  # 40 MHz at 30 kHz
    scs_khz: int = 30
    profile: Profile = DEFAULT_PROFILE
    #: busy-hour population; None: the UEs present at the first step, at that hour's load
    mean_ues: float | None = None
    ues: dict[int, Ue] = field(default_factory=dict)
    #: cells a UE can hand over to (the node's other cells; see :func:`connect_cells`)
    neighbours: list[Cell] = field(default_factory=list, repr=False)
    #: told about RRC/NAS procedures (MobiFlow); None: nobody listens
    mobiflow: ProcedureSink | None = field(default=None, repr=False)
    #: attack bookkeeping for the scenario engine: (time, label, ue, "start"|"end")
    attack_log: AttackLog | None = field(default=None, repr=False)
    next_ue: int = 1
    # attack effects (set by the scenario engine; 0 = none)
    jam_db: float = 0.0  # interference: every UE's SINR drops by this
    storm_rate: float = 0.0  # extra RRC setups per second, short-lived, no traffic
    fake_rate: float = 0.0  # RRC setups per second that never complete
    lure_rate: float = 0.0  # per UE and second: lured away (radio link failure)
    downgrade: float = 0.0  # share of attaches whose security is downgraded to NEA0
    flood_target: int = 0  # flood UEs to keep attached (0: release them)
    flood_rate: float = 20.0  # flood UEs that attach per second
    # counters since the last report
    conn_attempts: int = 0
    conn_successes: int = 0
    fail_reject: int = 0
    fail_noreply: int = 0
    released: int = 0
    handed_over: int = 0  # handovers out (requested and executed)
    ho_failed: int = 0  # handovers out that failed
    # last step's state
    prb_dl: float = 0.0
    prb_ul: float = 0.0
    thp_dl_kbps: float = 0.0
    thp_ul_kbps: float = 0.0
    delay_dl_ms: float = 0.0
    active_dl: int = 0  # UEs with DL data in the last step
    now: float = 0.0  # time of the last step

    def __post_init__(self) -> None:
        self._cqi_hist = [0] * 16
        self._sinr_hist = [0] * _SINR_BINS
        self._conn_max = len(self.ues)
        self._fresh: list[Ue] = []
        self._returning: list[tuple[float, int, Ue]] = []
        self._pending = 0.0  # setups waiting for their RRCSetupComplete
        self._flood: set[int] = set()
        self._base: tuple[float, float] | None = None  # (population, load) it was set at
        self._seq = 0
        self._configure()

    def _configure(self) -> None:
        prb_hz = SUBCARRIERS_PER_PRB * self.scs_khz * 1e3
        effs = (CQI0_EFFICIENCY, *CQI_EFFICIENCY[1:])
        self._rate = tuple(e * (1 - OVERHEAD) * prb_hz / 1e3 for e in effs)
        bw = 10 * math.log10(self.scs_khz * 1e3)
        self._noise_dbm = THERMAL_DBM_PER_HZ + bw + NOISE_FIGURE_DB  # per resource element

    # ------------------------------------------------------------------ UEs
    def add_ue(
        self, ue_id: int | None = None, *, flags: int = 0, mean_sinr_db: float | None = None
    ) -> Ue:
        """Attach a UE now (no RRC procedure counted: for a model's initial population)."""
        if ue_id is None:
            ue_id = self.cell_id * 1000 + self.next_ue
            self.next_ue += 1
        p = self.profile
        rng = self.rng
        mean = self._draw_mean() if mean_sinr_db is None else mean_sinr_db
        lo, hi = p.demand_dl_kbps
        dl = lo * (hi / lo) ** rng.random() if hi > lo else lo
        ul = dl * rng.uniform(*p.ul_ratio)
        if flags & FLOOD:
            dl, ul = rng.uniform(5_000, 15_000), rng.uniform(1_000, 3_000)
        elif flags & STORM:
            dl = ul = 0.0
        ue = Ue(ue_id, mean, mean, dl, ul, flags=flags)
        self._seq += 1
        ue.rnti = 1 + (ue_id * 40503 + self._seq * 7919) % 65519
        self.ues[ue_id] = ue
        self._fresh.append(ue)
        return ue

    def _draw_mean(self) -> float:
        """A UE's long-term SINR: its distance from the site, in one number."""
        return self.rng.gauss(self.profile.sinr_mean_db, self.profile.sinr_spread_db)

    def release(self, ue_id: int, t: float | None = None) -> bool:
        """RRC release of ``ue_id`` (a departure, or a RAN control); False if not here."""
        ue = self.ues.pop(ue_id, None)
        if ue is None:
            return False
        self.released += 1
        self._flood.discard(ue_id)
        self._tell(self.now if t is None else t, RELEASE, ue)
        return True

    def handover(self, ue_id: int, dest: Cell | None, t: float | None = None) -> bool:
        """Hand ``ue_id`` over to ``dest`` (None: out of this node); False if not here.

        Counts ``MM.HoExeIntraReq`` and ``MM.HoExeIntraSucc`` here; the UE gets
        the target cell's radio conditions.
        """
        ue = self.ues.pop(ue_id, None)
        if ue is None:
            return False
        t = self.now if t is None else t
        self.handed_over += 1
        self._tell(t, HO_OUT, ue)
        self._flood.discard(ue_id)
        if dest is not None:
            ue.mean_sinr_db = ue.sinr_db = dest._draw_mean()
            if ue.flags & FLOOD:  # a flood UE moved away becomes an ordinary one
                ue.flags &= ~FLOOD
                ue.until = math.inf
                dest._fresh.append(ue)
            dest.ues[ue_id] = ue
            dest._tell(t, HO_IN, ue)
        return True

    def spoof_tmsi(self, t: float, victim: int, back_off_s: float) -> bool:
        """A blind DoS: an attacker's RRCSetupRequest carries ``victim``'s 5G-S-TMSI.

        The network drops the victim's context (no message reaches the victim);
        the victim attaches again ``back_off_s`` later. False if ``victim`` is not here.
        """
        ue = self.ues.pop(victim, None)
        if ue is None:
            return False
        self.conn_attempts += 1
        self.fail_noreply += 1
        self._tell(t, SPOOF, ue)
        ue.flags |= DOS_VICTIM
        self._flood.discard(victim)
        self._return_later(t + back_off_s, ue)
        return True

    def _return_later(self, when: float, ue: Ue) -> None:
        ue.flags |= RETURNING
        self._seq += 1
        heapq.heappush(self._returning, (when, self._seq, ue))

    def _tell(self, t: float, proc: str, ue: Ue) -> None:
        if self.mobiflow is not None:
            self.mobiflow.procedure(t, self, proc, ue)
        if self.attack_log is not None and ue.flags & NULL_CIPHER and proc in _ENDS:
            self.attack_log.append((t, "null-cipher", ue.ue_id, "end"))

    def _attacker(self) -> Ue:
        """A pseudo-UE for an attacker's messages (not connected, no id)."""
        self._seq += 1
        ue = Ue(0, 0.0, 0.0, 0.0, 0.0)
        ue.rnti = 1 + (self.cell_id * 31 + self._seq * 7919) % 65519
        return ue

    def _attempt(self, t: float, flags: int, ue: Ue | None = None) -> Ue | None:
        """An RRC setup attempt of a new (or returning) UE: the UE, or None if it failed."""
        p = self.profile
        rng = self.rng
        self.conn_attempts += 1
        if len(self.ues) + self._pending >= p.max_ues:
            self.fail_reject += 1
            if self.mobiflow is not None:
                self._tell(t, REJECT, ue if ue is not None else self._attacker())
            if ue is not None and flags & RETURNING:
                self._return_later(t + rng.uniform(5.0, 15.0), ue)
            return None
        mean = ue.mean_sinr_db if ue is not None else self._draw_mean()
        if mean - self.jam_db < QOUT_DB or rng.random() > p.attach_success:
            self.fail_noreply += 1
            if self.mobiflow is not None:
                self._tell(t, SETUP_ONLY, ue if ue is not None else self._attacker())
            if ue is not None and flags & RETURNING:
                self._return_later(t + rng.uniform(5.0, 15.0), ue)
            return None
        self.conn_successes += 1
        if ue is None:
            ue = self.add_ue(flags=flags, mean_sinr_db=mean)
        else:  # a new connection: the last one's security is gone with it
            ue.until = math.inf
            ue.flags = (ue.flags & ~(NULL_CIPHER | NULL_INTEGRITY)) | flags
            self.ues[ue.ue_id] = ue
            self._fresh.append(ue)
        if ue.flags & DOS_VICTIM and self.attack_log is not None:
            self.attack_log.append((t, "blind-dos", ue.ue_id, "end"))
        if self.downgrade > 0.0 and not ue.flags & STORM and rng.random() < self.downgrade:
            ue.flags |= NULL_CIPHER | (NULL_INTEGRITY if rng.random() < 0.5 else 0)
            if self.attack_log is not None:
                self.attack_log.append((t, "null-cipher", ue.ue_id, "start"))
        if presents_tmsi(ue):
            ue.flags |= TMSI_ON_AIR
        else:
            ue.flags &= ~TMSI_ON_AIR
        self._tell(t, STORM_ATTACH if ue.flags & STORM else ATTACH, ue)
        ue.flags &= ~(RETURNING | DOS_VICTIM)
        return ue

    # ------------------------------------------------------------------ step
    def step(self, t: float, dt: float) -> None:
        """Advance ``dt`` seconds ending at Unix time ``t``."""
        p = self.profile
        dt = max(0.0, dt)
        self.now = t
        load = daily_load(t) if p.daily else 1.0
        if self._base is None:
            if self.mean_ues is not None:
                self._base = (self.mean_ues, 1.0 if p.daily else load)
            else:
                self._base = (max(1.0, float(len(self.ues))), load)
        if dt > 0.0:
            self._sessions(t, dt, load)
        self._radio(t, dt, load)

    def _sessions(self, t: float, dt: float, load: float) -> None:
        """Arrivals, returns, attacks' connections, expiries, mobility."""
        rng = self.rng
        p = self.profile
        ues = self.ues
        # RRC setups pending their completion time out after about a second
        if self._pending:
            self._pending *= math.exp(-dt)
            if self._pending < 0.01:
                self._pending = 0.0
        while self._returning and self._returning[0][0] <= t:
            self._attempt(t, RETURNING, heapq.heappop(self._returning)[2])
        base, base_load = self._base  # type: ignore[misc]
        if p.session_s < math.inf:
            for _ in range(_poisson(rng, base * load / base_load / p.session_s * dt)):
                self._attempt(t, 0)
        if self.storm_rate:
            for _ in range(_poisson(rng, self.storm_rate * dt)):
                new = self._attempt(t, STORM)
                if new is not None:
                    new.until = t + rng.uniform(0.5, 2.0)
        if self.fake_rate:
            for _ in range(_poisson(rng, self.fake_rate * dt)):
                self.conn_attempts += 1
                self.fail_noreply += 1
                self._pending += 1.0
                if self.mobiflow is not None:
                    self._tell(t, SETUP_ONLY, self._attacker())
        if self.flood_target > len(self._flood):
            n = min(self.flood_target - len(self._flood), _poisson(rng, self.flood_rate * dt))
            for _ in range(n):
                new = self._attempt(t, FLOOD)
                if new is not None:
                    self._flood.add(new.ue_id)
        elif self.flood_target == 0 and self._flood:
            for ue_id in sorted(self._flood):
                self.release(ue_id, t)
        # departure times of UEs that arrived since the last step
        if self._fresh:
            if 0.0 < p.session_s < math.inf:
                rate = 1.0 / p.session_s
                for ue in self._fresh:
                    if ue.until == math.inf and not ue.flags & (STORM | FLOOD):
                        ue.until = t + rng.expovariate(rate)
            self._fresh.clear()
        if ues and (self.lure_rate or (self.neighbours and p.handover_rate)):
            ids = list(ues)
            for _ in range(_poisson(rng, len(ids) * self.lure_rate * dt)):
                ue_id = ids[rng.randrange(len(ids))]
                lured = ues.get(ue_id)
                if lured is not None and not lured.flags & (STORM | FLOOD):
                    del ues[ue_id]  # lured to a fake base station: radio link failure
                    self._flood.discard(ue_id)
                    self._tell(t, RLF, lured)
                    self._return_later(t + rng.uniform(10.0, 30.0), lured)
            if self.neighbours:
                for _ in range(_poisson(rng, len(ids) * p.handover_rate * dt)):
                    ue_id = ids[rng.randrange(len(ids))]
                    dest = self.neighbours[rng.randrange(len(self.neighbours))]
                    moving_ue = ues.get(ue_id)
                    if moving_ue is None or moving_ue.flags & (STORM | FLOOD):
                        continue
                    if rng.random() < p.handover_success:
                        self.handover(ue_id, dest, t)
                    else:  # the UE never reaches the target: re-establishment later
                        ue = ues.pop(ue_id)
                        self.handed_over += 1
                        self.ho_failed += 1
                        self._tell(t, RLF, ue)
                        self._return_later(t + rng.uniform(1.0, 5.0), ue)

    def _radio(self, t: float, dt: float, load: float) -> None:
        """Fading, CQI, demand, PRBs and throughput of every UE."""
        rng = self.rng
        rnd = rng.random
        normal = _NORMAL
        p = self.profile
        rate_of = self._rate
        cqi_hist = self._cqi_hist
        sinr_hist = self._sinr_hist
        jam = self.jam_db
        backoff = p.la_backoff_db
        ff = p.fast_fading_db
        moving = dt > 0.0
        a_sh = math.exp(-dt / p.shadow_tau_s) if p.shadow_tau_s > 0 else 0.0
        b_sh = p.shadow_std_db * math.sqrt(1.0 - a_sh * a_sh)
        var = p.burst_sigma * p.burst_sigma
        a_b = math.exp(-dt / p.burst_tau_s) if p.burst_tau_s > 0 else 0.0
        b_b = math.sqrt(var * p.burst_slow_share * (1.0 - a_b * a_b))
        white = math.sqrt(var * (1.0 - p.burst_slow_share))
        exp = math.exp
        gone: list[Ue] = []
        lost: list[Ue] = []
        need_dl = need_ul = thp_dl = thp_ul = 0.0
        active = 0
        for ue in self.ues.values():
            if ue.until <= t:
                gone.append(ue)
                continue
            if moving:
                m = ue.mean_sinr_db
                ue.sinr_db = m + a_sh * (ue.sinr_db - m) + b_sh * normal[int(rnd() * 4096)]
                if b_b:
                    ue.burst = a_b * ue.burst + b_b * normal[int(rnd() * 4096)]
            meas = ue.sinr_db - jam
            s = int(meas + 23.0) // 5
            sinr_hist[0 if s < 0 else s if s < _SINR_BINS else _SINR_BINS - 1] += 1
            jitter = ff * normal[int(rnd() * 4096)] if moving else 0.0
            c = int((meas - backoff + jitter + 8.0) * 0.5)
            cqi = 0 if c < 0 else c if c < 16 else 15
            ue.cqi = cqi
            cqi_hist[cqi] += 1
            rate = rate_of[cqi]
            ue.rate = rate
            if meas < QOUT_DB and moving and rnd() < 1.0 - exp(-dt):
                lost.append(ue)  # out of sync for about a second: radio link failure
            if ue.demand_dl_kbps == 0.0:
                ue.thp_dl = ue.thp_ul = ue.prb_dl = ue.prb_ul = 0.0
                continue
            if moving:
                mult = load * exp(ue.burst + white * normal[int(rnd() * 4096)])
            else:
                mult = load * exp(ue.burst)
            dl = ue.demand_dl_kbps * mult
            ul = ue.demand_ul_kbps * mult
            ue.thp_dl = dl
            ue.thp_ul = ul
            ue.prb_dl = n_dl = dl / rate
            ue.prb_ul = n_ul = ul / (rate * UL_EFFICIENCY)
            need_dl += n_dl
            need_ul += n_ul
            thp_dl += dl
            thp_ul += ul
            active += 1
        for ue in gone:
            self.release(ue.ue_id, t)
        for ue in lost:
            del self.ues[ue.ue_id]
            self._flood.discard(ue.ue_id)
            self._tell(t, RLF, ue)
            self._return_later(t + rng.uniform(5.0, 20.0), ue)
        n_prb = float(self.n_prb)
        if need_dl > n_prb:
            thp_dl = self._share_dl(n_prb)
            need_dl = n_prb
        if need_ul > n_prb:
            scale = n_prb / need_ul
            thp_ul = 0.0
            for ue in self.ues.values():
                ue.prb_ul *= scale
                ue.thp_ul *= scale
                thp_ul += ue.thp_ul
            need_ul = n_prb
        self.prb_dl = need_dl
        self.prb_ul = need_ul
        self.active_dl = active
        self.thp_dl_kbps = thp_dl / active if active else 0.0
        self.thp_ul_kbps = thp_ul / active if active else 0.0
        rho = min(0.98, need_dl / n_prb) if n_prb else 0.98
        self.delay_dl_ms = 1.0 / (1.0 - rho)  # queueing in the RLC buffer, M/M/1-like
        n = len(self.ues)
        if n > self._conn_max:
            self._conn_max = n

    def _share_dl(self, n_prb: float) -> float:
        """Equal shares of a full cell (water-filling); the total DL throughput."""
        wanting = sorted((ue for ue in self.ues.values() if ue.prb_dl > 0.0),
                         key=lambda ue: ue.prb_dl)  # fmt: skip
        left = n_prb
        total = 0.0
        k = len(wanting)
        for i, ue in enumerate(wanting):
            share = left / (k - i)
            if ue.prb_dl > share:
                ue.prb_dl = share
                ue.thp_dl = share * ue.rate
            left -= ue.prb_dl
            total += ue.thp_dl
        return total

    # ------------------------------------------------------------------ reports
    def measurements(self) -> dict[str, float | int]:
        """The TS 28.552 measurements of the last step (and the counters since the last call)."""
        n_prb = self.n_prb
        out: dict[str, float | int] = {
            "DRB.UEThpDl": round(self.thp_dl_kbps, 1),
            "DRB.UEThpUl": round(self.thp_ul_kbps, 1),
            "RRU.PrbUsedDl": round(self.prb_dl),
            "RRU.PrbUsedUl": round(self.prb_ul),
            "RRU.PrbAvailDl": n_prb,
            "RRU.PrbAvailUl": n_prb,
            "RRU.PrbTotDl": round(100.0 * self.prb_dl / n_prb),
            "RRU.PrbTotUl": round(100.0 * self.prb_ul / n_prb),
            "RRC.ConnEstabAtt": self.conn_attempts,
            "RRC.ConnEstabSucc": self.conn_successes,
            "RRC.ConnEstabFailCause.NetworkReject": self.fail_reject,
            "RRC.ConnEstabFailCause.NoReply": self.fail_noreply,
            "RRC.ConnMean": len(self.ues),
            "RRC.ConnMax": max(self._conn_max, len(self.ues)),
            "MM.HoExeIntraReq": self.handed_over,
            "MM.HoExeIntraSucc": self.handed_over - self.ho_failed,
            "DRB.RlcSduDelayDl": round(self.delay_dl_ms, 2),
            "DRB.MeanActiveUeDl": self.active_dl,
        }
        out.update(zip(CQI_DIST_NAMES, self._cqi_hist, strict=True))
        out.update(zip(SINR_DIST_NAMES, self._sinr_hist, strict=True))
        self.conn_attempts = self.conn_successes = self.fail_reject = self.fail_noreply = 0
        self.handed_over = self.ho_failed = 0
        self._conn_max = len(self.ues)
        self._cqi_hist = [0] * 16
        self._sinr_hist = [0] * _SINR_BINS
        return out

    def ue_measurements(self) -> dict[int, dict[str, float | int]]:
        """Per-UE measurements of the last step (KPM action format 4), by AMF UE NGAP ID."""
        jam = self.jam_db
        noise = self._noise_dbm
        return {
            ue_id: {
                "DRB.UEThpDl": round(ue.thp_dl, 1),
                "DRB.UEThpUl": round(ue.thp_ul, 1),
                "RRU.PrbUsedDl": round(ue.prb_dl, 2),
                "RRU.PrbUsedUl": round(ue.prb_ul, 2),
                "CQI": ue.cqi,
                "L1M.DL-SS-SINR": round(ue.sinr_db - jam, 1),
                "L1M.DL-SS-RSRP": round(noise + ue.sinr_db, 1),
            }
            for ue_id, ue in self.ues.items()
        }


def connect_cells(cells: list[Cell]) -> None:
    """Make the cells of one node each other's neighbours (UEs hand over between them)."""
    for cell in cells:
        cell.neighbours = [c for c in cells if c is not cell]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0.0:
        return 0
    if lam > 30.0:  # normal approximation for the big rates of attacks
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    # Knuth's method: fine for the small rates of one step
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
