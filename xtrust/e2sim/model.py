"""A small, deterministic RAN model behind the simulated E2 nodes.

Cells have PRBs; UEs have a slowly fading SINR, a traffic demand that follows
a daily profile, and an RRC connection. Each step turns SINR into CQI and
spectral efficiency (3GPP TS 38.214, Table 5.2.2.1-2, the 4-bit CQI table),
demand into PRBs, and the PRBs a cell has into the throughput its UEs get.
The outputs are the TS 28.552 measurements a gNB reports over E2SM-KPM.

Everything random comes from one ``random.Random(seed)``: the same seed and
the same calls give the same numbers. Calibration against real traces and
attack scenarios are the simulator issue's remaining work.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

__all__ = ["CQI_EFFICIENCY", "Cell", "Ue", "cqi_of_sinr", "daily_load"]

#: TS 38.214 Table 5.2.2.1-2 (CQI table 1): spectral efficiency, bit/s/Hz, CQI 0..15
CQI_EFFICIENCY = (
    0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766,
    1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547,
)  # fmt: skip

SUBCARRIERS_PER_PRB = 12
OVERHEAD = 0.14  # control channels and reference signals (TS 38.306's usual figure)


def cqi_of_sinr(sinr_db: float) -> int:
    """CQI a UE reports at ``sinr_db`` (about 10 % BLER: CQI 1 near -6 dB, +2 dB per step)."""
    return max(0, min(15, math.floor((sinr_db + 8.0) / 2.0)))


def daily_load(t: float) -> float:
    """Relative traffic demand (0.15..1.0) at Unix time ``t``: quiet at 04:00, busy at 20:00."""
    hour = (t / 3600.0) % 24.0
    return 0.15 + 0.85 * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 4.0) / 24.0)) ** 1.5


@dataclass
class Ue:
    ue_id: int  # AMF UE NGAP ID
    mean_sinr_db: float
    sinr_db: float
    demand_dl_kbps: float
    demand_ul_kbps: float


@dataclass
class Cell:
    """One NR cell: ``n_prb`` PRBs of ``scs_khz`` sub-carrier spacing."""

    cell_id: int  # 36-bit NR cell identity
    pci: int
    rng: random.Random
    n_prb: int = 106  # 40 MHz at 30 kHz
    scs_khz: int = 30
    ues: dict[int, Ue] = field(default_factory=dict)
    next_ue: int = 1
    # counters since the last report
    conn_attempts: int = 0
    conn_successes: int = 0
    released: int = 0
    handed_over: int = 0
    # last step's state
    prb_dl: float = 0.0
    prb_ul: float = 0.0
    thp_dl_kbps: float = 0.0
    thp_ul_kbps: float = 0.0
    delay_dl_ms: float = 0.0

    def add_ue(self, ue_id: int | None = None) -> Ue:
        if ue_id is None:
            ue_id = self.cell_id * 1000 + self.next_ue
            self.next_ue += 1
        mean = self.rng.gauss(12.0, 6.0)  # distance from the site, in one number
        ue = Ue(ue_id, mean, mean, self.rng.uniform(2_000, 20_000), self.rng.uniform(300, 3_000))
        self.ues[ue_id] = ue
        return ue

    def release(self, ue_id: int) -> bool:
        if self.ues.pop(ue_id, None) is None:
            return False
        self.released += 1
        return True

    def step(self, t: float, dt: float) -> None:
        """Advance ``dt`` seconds ending at Unix time ``t``."""
        rng = self.rng
        # RRC arrivals (Poisson) and departures keep the population around its daily mean
        load = daily_load(t)
        target = max(1.0, 10.0 * load)
        arrivals = _poisson(rng, 0.2 * target * dt)
        for _ in range(arrivals):
            self.conn_attempts += 1
            if rng.random() < 0.995:
                self.conn_successes += 1
                self.add_ue()
        for ue_id in [u for u in self.ues if rng.random() < 0.2 * dt]:
            del self.ues[ue_id]
        prb_hz = SUBCARRIERS_PER_PRB * self.scs_khz * 1e3
        need_dl = need_ul = 0.0
        per_ue: list[tuple[Ue, float, float, float]] = []
        for ue in self.ues.values():
            # slow fading: a mean-reverting random walk around the UE's mean SINR
            ue.sinr_db += 0.3 * (ue.mean_sinr_db - ue.sinr_db) + rng.gauss(0.0, 1.0)
            eff = CQI_EFFICIENCY[cqi_of_sinr(ue.sinr_db)] * (1 - OVERHEAD)
            if eff <= 0:
                per_ue.append((ue, 0.0, 0.0, 0.0))
                continue
            dl = ue.demand_dl_kbps * load * rng.lognormvariate(0.0, 0.3)
            ul = ue.demand_ul_kbps * load * rng.lognormvariate(0.0, 0.3)
            per_prb_kbps = eff * prb_hz / 1e3
            need_dl += dl / per_prb_kbps
            need_ul += ul / (per_prb_kbps * 0.6)  # UL: fewer layers, lower order
            per_ue.append((ue, dl, ul, per_prb_kbps))
        share_dl = min(1.0, self.n_prb / need_dl) if need_dl else 1.0
        share_ul = min(1.0, self.n_prb / need_ul) if need_ul else 1.0
        self.prb_dl = min(float(self.n_prb), need_dl)
        self.prb_ul = min(float(self.n_prb), need_ul)
        active = [x for x in per_ue if x[1] > 0]
        self.thp_dl_kbps = sum(x[1] for x in active) * share_dl / len(active) if active else 0.0
        self.thp_ul_kbps = sum(x[2] for x in active) * share_ul / len(active) if active else 0.0
        rho = min(0.98, self.prb_dl / self.n_prb)
        self.delay_dl_ms = 1.0 / (1.0 - rho)  # queueing in the RLC buffer, M/M/1-like

    def measurements(self) -> dict[str, float | int]:
        """The TS 28.552 measurements of the last step (and the counters since the last call)."""
        out: dict[str, float | int] = {
            "DRB.UEThpDl": round(self.thp_dl_kbps, 1),
            "DRB.UEThpUl": round(self.thp_ul_kbps, 1),
            "RRU.PrbUsedDl": round(self.prb_dl),
            "RRU.PrbUsedUl": round(self.prb_ul),
            "RRU.PrbAvailDl": self.n_prb,
            "RRU.PrbAvailUl": self.n_prb,
            "RRU.PrbTotDl": round(100.0 * self.prb_dl / self.n_prb),
            "RRU.PrbTotUl": round(100.0 * self.prb_ul / self.n_prb),
            "RRC.ConnEstabAtt": self.conn_attempts,
            "RRC.ConnEstabSucc": self.conn_successes,
            "RRC.ConnMean": len(self.ues),
            "RRC.ConnMax": len(self.ues),
            "DRB.RlcSduDelayDl": round(self.delay_dl_ms, 2),
        }
        self.conn_attempts = self.conn_successes = 0
        return out


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates of one reporting period
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
