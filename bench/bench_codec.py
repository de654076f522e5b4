"""E2AP + E2SM-KPM codec speed: our fast paths against pycrate and asn1tools.

The message: a RIC Indication carrying an E2SM-KPM indication header and a
format-1 message with 20 measurement types (3GPP TS 28.552 names) and one
record of 20 integers, what an E2 node sends every reporting period.

* ours, fast: e2ap_fast.require_indication + kpm_fast header and message decode
  (the full nested decode, down to every measurement value);
* ours, generic: asn1tools at every level (e2ap.decode_pdu + E2SM-KPM decode);
* pycrate, full (the reference, same run): pycrate's E2AP module, plus an
  E2SM-KPM module that pycrate's own compiler builds from our e2sm_kpm.asn at
  start-up (pycrate ships none): the same nested decode, by another
  implementation;
* pycrate, E2AP only: for scale, the E2AP levels alone (the KPM bytes stay an
  octet string), less work than ours.

Encode likewise. Goal (issue 3): ours at least 3x faster than pycrate.

    .venv/bin/python bench/bench_codec.py [--repeat 5 --number 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from xtrust.ric.asn1 import _spec, e2ap, kpm_fast
from xtrust.ric.asn1.e2ap_fast import encode_indication, require_indication
from xtrust.ric.asn1.e2ap_messages import RicIndication, RicRequestId
from xtrust.ric.asn1.kpm import KpmIndicationHeader, KpmIndicationMessageFormat1

NAMES = [
    "DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "RRU.PrbUsedUl", "RRU.PrbTotDl",
    "RRU.PrbTotUl", "RRC.ConnEstabAtt", "RRC.ConnEstabSucc", "RRC.ConnMean", "RRC.ConnMax",
    "DRB.RlcSduDelayDl", "DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL", "DRB.AirIfDelayDl",
    "DRB.PacketSuccessRateUlgNBUu", "CARR.AverageLayersDl", "L1M.SS-RSRP", "RACH.PreambleDedCell",
    "MM.HoExeInterReq", "MM.HoExeInterSucc",
]  # fmt: skip


def build() -> tuple[RicIndication, dict[str, object], dict[str, object], bytes]:
    header = KpmIndicationHeader.at(1.7e9, sender_name="gnb-001", vendor_name="XTRUST")
    message = KpmIndicationMessageFormat1(
        records=[[1000 * i + 7 for i in range(20)]], meas_names=NAMES, granul_period_ms=1000
    )
    ind = RicIndication(RicRequestId(123, 1), 2, 1, header.encode(), message.encode(), sn=1)
    return ind, header.to_asn1(), message.to_asn1(), ind.encode()


def pycrate_kpm() -> ModuleType:
    """pycrate's compiler run on our E2SM-KPM module (in a child process: it keeps global state)."""
    asn = Path(_spec.__file__).with_name("e2sm_kpm.asn")
    out = Path(tempfile.mkdtemp()) / "pycrate_kpm.py"
    script = (
        "import sys\n"
        "from pycrate_asn1c.asnproc import compile_text, generate_modules, PycrateGenerator\n"
        "compile_text(open(sys.argv[1]).read())\n"
        "generate_modules(PycrateGenerator, sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(asn), str(out)], check=True, timeout=300)
    spec = importlib.util.spec_from_file_location("pycrate_kpm", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.E2SM_KPM_IEs  # type: ignore[no-any-return]


def us(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    try:
        from pycrate_asn1dir import E2AP
    except ImportError:
        print("pycrate is not installed (pip install pycrate): no reference to compare with")
        return 2
    ind, hval, mval, data = build()
    kpm_spec = _spec.load("e2sm-kpm")
    pdu = E2AP.E2AP_PDU_Descriptions.E2AP_PDU
    pdu.from_aper(data)
    pyval = pdu.get_val()

    def ours_decode() -> object:
        i = require_indication(data)
        return kpm_fast.decode_header(i.header), kpm_fast.decode_message(i.message)

    def generic_decode() -> object:
        _kind, msg = e2ap.decode_pdu(data)
        ies = {f["id"]: f["value"][1] for f in msg["value"][1]["protocolIEs"]}
        return (
            kpm_spec.decode("E2SM-KPM-IndicationHeader", ies[25]),
            kpm_spec.decode("E2SM-KPM-IndicationMessage", ies[26]),
        )

    def pycrate_decode() -> object:
        pdu.from_aper(data)
        return pdu.get_val()

    pk = pycrate_kpm()
    pk_hdr, pk_msg = pk.E2SM_KPM_IndicationHeader, pk.E2SM_KPM_IndicationMessage
    pk_hdr.from_aper(ind.header)
    pk_hval = pk_hdr.get_val()
    pk_msg.from_aper(ind.message)
    pk_mval = pk_msg.get_val()

    def pycrate_full_decode() -> object:
        pdu.from_aper(data)
        value: Any = pdu.get_val()
        ies = {f["id"]: f["value"][1] for f in value[1]["value"][1]["protocolIEs"]}
        pk_hdr.from_aper(ies[25])
        pk_msg.from_aper(ies[26])
        return value, pk_hdr.get_val(), pk_msg.get_val()

    def pycrate_full_encode() -> bytes:
        pk_hdr.set_val(pk_hval)
        pk_msg.set_val(pk_mval)
        h, m = pk_hdr.to_aper(), pk_msg.to_aper()
        v = pyval[1]["value"][1]["protocolIEs"]
        for f in v:
            if f["id"] == 25:
                f["value"] = ("RICindicationHeader", h)
            elif f["id"] == 26:
                f["value"] = ("RICindicationMessage", m)
        pdu.set_val(pyval)
        return bytes(pdu.to_aper())

    def ours_encode() -> bytes:
        h = kpm_fast.encode_header(hval)
        m = kpm_fast.encode_message(mval)
        return encode_indication(RicIndication(RicRequestId(123, 1), 2, 1, h, m, sn=1))

    def generic_encode() -> bytes:
        h = kpm_spec.encode("E2SM-KPM-IndicationHeader", hval, check_constraints=True)
        m = kpm_spec.encode("E2SM-KPM-IndicationMessage", mval, check_constraints=True)
        return RicIndication(RicRequestId(123, 1), 2, 1, h, m, sn=1).encode()

    def pycrate_encode() -> bytes:
        pdu.set_val(pyval)
        return bytes(pdu.to_aper())

    assert ours_encode() == generic_encode() == data == pycrate_encode() == pycrate_full_encode()
    rows = {}
    for name, fn in (
        ("decode, ours (fast paths, E2AP + KPM)", ours_decode),
        ("decode, ours (asn1tools, E2AP + KPM)", generic_decode),
        ("decode, pycrate full (reference)", pycrate_full_decode),
        ("decode, pycrate (E2AP only)", pycrate_decode),
        ("encode, ours (fast paths, E2AP + KPM)", ours_encode),
        ("encode, ours (asn1tools, E2AP + KPM)", generic_encode),
        ("encode, pycrate full (reference)", pycrate_full_encode),
        ("encode, pycrate (E2AP only)", pycrate_encode),
    ):
        rows[name] = us(fn, args.number, args.repeat)
    print(f"RIC Indication, KPM format 1, 20 measurements x 1 record: {len(data)} bytes")
    print(f"{'':42}{'us/msg':>9}{'msgs/s':>11}")
    for name, t in rows.items():
        print(f"{name:42}{t:>9.1f}{1e6 / t:>11,.0f}")
    ours_d = rows["decode, ours (fast paths, E2AP + KPM)"]
    ours_e = rows["encode, ours (fast paths, E2AP + KPM)"]
    dec = rows["decode, pycrate full (reference)"] / ours_d
    enc = rows["encode, pycrate full (reference)"] / ours_e
    verdict = "met" if min(dec, enc) >= 3 else "NOT met"
    print(
        f"ours vs pycrate, full nested: decode x{dec:.1f}, encode x{enc:.1f} (goal x3: {verdict})"
    )
    e2ap_d = rows["decode, pycrate (E2AP only)"] / ours_d
    e2ap_e = rows["encode, pycrate (E2AP only)"] / ours_e
    print(f"ours (E2AP + KPM) vs pycrate E2AP only: decode x{e2ap_d:.1f}, encode x{e2ap_e:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
