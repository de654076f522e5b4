"""Long fuzz run of every ASN.1 decoder: random and mutated inputs.

Each decoder must either decode or raise xtrust.errors.DecodeError; anything
else (another exception, a decode slower than --max-ms) is reported with the
input as hex. The suite runs a few thousand cases per decoder on every
`make test`; this script is for the long runs.

    .venv/bin/python bench/fuzz_codec.py --seconds 300 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from xtrust.errors import DecodeError
from xtrust.ric.asn1 import _spec, e2ap, e2ap_fast
from xtrust.ric.asn1.e2ap_messages import (
    E2SetupRequest,
    RanFunction,
    RicAction,
    RicControlRequest,
    RicIndication,
    RicRequestId,
    RicSubscriptionRequest,
    global_gnb_id,
    plmn_identity,
)


def seeds() -> list[bytes]:
    req = RicRequestId(1, 2)
    plmn = plmn_identity("001", "01")
    msgs = [
        RicIndication(req, 2, 1, b"h" * 20, b"m" * 300, sn=7),
        RicSubscriptionRequest(req, 2, (b"\x01\x02", [RicAction(1, "report", b"def")])),
        RicControlRequest(req, 3, b"hdr", b"msg", ack_request="ack"),
        E2SetupRequest(
            1,
            global_gnb_id(plmn, 7, 22),
            [RanFunction(2, b"def", 1, "1.3.6.1.4.1.53148.1.2.2.2")],
            [
                {
                    "e2nodeComponentInterfaceType": "ng",
                    "e2nodeComponentID": ("e2nodeComponentInterfaceTypeNG", {"amf-name": "amf"}),
                    "e2nodeComponentConfiguration": {
                        "e2nodeComponentRequestPart": b"a",
                        "e2nodeComponentResponsePart": b"b",
                    },
                }
            ],
        ),
    ]
    out = [m.encode() for m in msgs]
    out.append(e2ap.encode_open("Cause", ("misc", "unspecified")))
    return out


def decoders() -> list[tuple[str, Callable[[bytes], Any]]]:
    found: list[tuple[str, Callable[[bytes], Any]]] = [
        ("e2ap.decode_pdu", e2ap.decode_pdu),
        ("e2ap_fast.peek", e2ap_fast.peek),
        ("e2ap_fast.decode_indication", e2ap_fast.decode_indication),
    ]
    for spec in ("e2sm-kpm", "e2sm-rc"):
        try:
            names = _spec.type_names(spec)
        except Exception as exc:  # spec not present in this checkout
            print(f"skipping {spec}: {exc}", file=sys.stderr)
            continue
        tops = [n for n in names if n.startswith("E2SM-")]
        for name in tops:
            found.append((f"{spec}:{name}", lambda d, s=spec, n=name: _spec.decode(s, n, d)))
    return found


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        if op < 0.5 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op < 0.7 and buf:
            del buf[rng.randrange(len(buf)) :]
        elif op < 0.85:
            i = rng.randrange(len(buf) + 1)
            buf[i:i] = rng.randbytes(rng.randint(1, 8))
        elif buf:
            i = rng.randrange(len(buf))
            buf[i] = rng.choice([0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF])
    return bytes(buf)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-ms", type=float, default=200.0, help="slowest acceptable decode")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    corpus = seeds()
    decs = decoders()
    deadline = time.monotonic() + args.seconds
    cases = failures = 0
    slowest = 0.0
    while time.monotonic() < deadline:
        data = (
            rng.randbytes(rng.randint(0, 400))
            if rng.random() < 0.3
            else mutate(rng, rng.choice(corpus))
        )
        for name, dec in decs:
            t0 = time.perf_counter()
            try:
                dec(data)
            except DecodeError:
                pass
            except Exception as exc:
                failures += 1
                print(f"FAIL {name}: {type(exc).__name__}: {exc} input={data.hex()}")
            took = (time.perf_counter() - t0) * 1000
            slowest = max(slowest, took)
            if took > args.max_ms:
                failures += 1
                print(f"SLOW {name}: {took:.1f} ms input={data.hex()}")
            cases += 1
    print(
        f"{cases} decodes over {len(decs)} decoders, {failures} failures, slowest {slowest:.2f} ms"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
