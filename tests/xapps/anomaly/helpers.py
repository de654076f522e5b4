"""Hand-built MobiFlow records for the anomaly tests."""

from __future__ import annotations

import io
import random

from xtrust.e2sim import model
from xtrust.e2sim.mobiflow import MobiflowWriter, UeRecord, records_of
from xtrust.e2sim.model import Cell

OAI = (2, 2, 0, 2)
NONE = (0, 0, 0, 0)

# (rrc_msg, nas_msg, rrc_state, nas_state, rrc_sec_state)
ATTACH = [
    ("RRCSetupRequest", "", 0, 0, 0),
    ("RRCSetup", "", 2, 0, 0),
    ("RRCSetupComplete", "Registrationrequest", 2, 1, 0),
    ("DLInformationTransfer", "Authenticationrequest", 2, 1, 0),
    ("ULInformationTransfer", "Authenticationresponse", 2, 1, 0),
    ("DLInformationTransfer", "Securitymodecommand", 2, 1, 0),
    ("ULInformationTransfer", "Securitymodecomplete", 2, 1, 0),
    ("SecurityModeCommand", "", 2, 1, 0),
    ("SecurityModeComplete", "", 2, 1, 3),
]
RELEASE = ("RRCRelease", "", 1, 0, 0)


class Builder:
    """Appends records with increasing msg_id; one call per message."""

    def __init__(self) -> None:
        self.records: list[UeRecord] = []

    def add(self, rnti: int, msg: tuple[str, str, int, int, int], *, t: float = 0.0,
            algs: tuple[int, int, int, int] = OAI, s_tmsi: int = 0, cu: int | None = None,
            mobile_id: str | None = None) -> UeRecord:  # fmt: skip
        rrc, nas, rrc_state, nas_state, sec = msg
        rec = UeRecord(
            msg_id=len(self.records), version="v2.0", generator="SECSM", timestamp=t,
            nr_cell_id=12345678, gnb_cu_ue_f1ap_id=rnti if cu is None else cu,
            gnb_du_ue_f1ap_id=rnti, rnti=rnti, s_tmsi=s_tmsi, mobile_id=mobile_id,
            rrc_cipher_alg=algs[0], rrc_integrity_alg=algs[1], nas_cipher_alg=algs[2],
            nas_integrity_alg=algs[3], rrc_msg=rrc, nas_msg=nas, rrc_state=rrc_state,
            nas_state=nas_state, rrc_sec_state=sec, reserved_1=3 if rrc == "RRCSetupRequest" else 0,
            reserved_2=0, reserved_3=0,
        )  # fmt: skip
        self.records.append(rec)
        return rec

    def attach(self, rnti: int, *, t: float = 0.0, algs: tuple[int, int, int, int] = OAI,
               s_tmsi: int = 0, msgs: list[tuple[str, str, int, int, int]] | None = None
               ) -> None:  # fmt: skip
        for msg in ATTACH if msgs is None else msgs:
            self.add(rnti, msg, t=t, algs=algs, s_tmsi=s_tmsi)


def benign_attach(rnti: int = 100, *, t: float = 0.0, s_tmsi: int = 0) -> list[UeRecord]:
    b = Builder()
    b.attach(rnti, t=t, s_tmsi=s_tmsi)
    return b.records


def to_text(records: list[UeRecord], *, with_mobile_id: bool) -> str:
    return "".join(r.to_line(with_mobile_id=with_mobile_id) + "\n" for r in records)


def simulate(seed: int, steps: int, *, spoof_at: int | None = None, downgrade: float = 0.0,
             t0: float = 1_700_000_000.0) -> list[UeRecord]:  # fmt: skip
    """Records of two neighbouring simulated cells of 10 UEs (the twin's model and writer)."""
    out = io.StringIO()
    writer = MobiflowWriter(out, seed=seed)
    cells = [Cell(0x1A0 + i, i, random.Random(f"{seed}:{i}")) for i in range(2)]
    for c in cells:
        c.downgrade = downgrade
        for _ in range(10):
            c.add_ue()
    model.connect_cells(cells)
    writer.watch(cells)
    for k in range(steps):
        if k == spoof_at:
            assert cells[0].spoof_tmsi(t0 + k, sorted(cells[0].ues)[0], back_off_s=3.0)
        for c in cells:
            c.step(t0 + k + 1, 1.0)
    writer.close()
    return records_of(out.getvalue())
