"""Benchmark hybrid signatures and tree digests of ``xtrust.crypto``.

Measured in the same run:

* signatures per second and verifications per second of a 1 KiB message:
  the hybrid Ed25519 + ML-DSA-65 key (``HybridSigningKey.sign`` /
  ``HybridPublicKey.verify``) against its halves alone (Ed25519 only, ML-DSA-65
  only, both straight from ``cryptography``). The hybrid cost should be close
  to the sum of the two halves;
* ``tree_digest`` throughput (MB/s) on a generated source tree against two
  references over the same bytes: plain ``hashlib.sha256`` of the bytes in
  memory (the hash ceiling) and reading every file and hashing it with
  ``hashlib.sha256`` (read + hash, no tree structure).

    .venv/bin/python bench/bench_crypto_sign.py
    .venv/bin/python bench/bench_crypto_sign.py --seconds 4 --tree-mb 128 --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography

from xtrust.crypto import HybridSigningKey, tree_digest


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over at least ``seconds`` (after one warm-up call)."""
    fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(8):
            fn()
        n += 8
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def bench_signatures(seconds: float, rounds: int) -> dict[str, Any]:
    """Rates per operation; the ops are interleaved over ``rounds`` and the best round counts.

    Interleaving keeps a noisy (shared) machine from favouring whichever op ran
    in a quiet moment.
    """
    key = HybridSigningKey.generate()
    pub = key.public_key()
    msg = os.urandom(1024)
    hybrid_sig = key.sign(msg)
    ed_sig = key.ed25519.sign(msg)
    ml_sig = key.mldsa.sign(msg)
    ed_pub = key.ed25519.public_key()
    ml_pub = key.mldsa.public_key()
    ops: dict[str, dict[str, Callable[[], object]]] = {
        "sign_per_s": {
            "ed25519": lambda: key.ed25519.sign(msg),
            "ml-dsa-65": lambda: key.mldsa.sign(msg),
            "hybrid": lambda: key.sign(msg),
        },
        "verify_per_s": {
            "ed25519": lambda: ed_pub.verify(ed_sig, msg),
            "ml-dsa-65": lambda: ml_pub.verify(ml_sig, msg),
            "hybrid": lambda: pub.verify(msg, hybrid_sig),
        },
    }
    out: dict[str, Any] = {op: dict.fromkeys(fns, 0.0) for op, fns in ops.items()}
    for _ in range(rounds):
        for op, fns in ops.items():
            for name, fn in fns.items():
                out[op][name] = max(out[op][name], rate(fn, seconds / rounds))
    for op in ops:
        r = out[op]
        # time per op of the two halves added up, as a rate: the ideal hybrid rate
        r["sum_of_halves"] = 1.0 / (1.0 / r["ed25519"] + 1.0 / r["ml-dsa-65"])
    return out


def make_tree(root: Path, total_mb: int) -> int:
    """A source-like tree: half the bytes in many small files, half in a few large ones."""
    rnd = os.urandom(1 << 20)
    written = 0
    small = 16 * 1024
    n_small = (total_mb << 19) // small
    for i in range(n_small):
        d = root / f"pkg{i % 50:02d}" / f"mod{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        off = (i * 4099) % ((1 << 20) - small)
        (d / f"file{i}.py").write_bytes(rnd[off : off + small])
        written += small
    big_dir = root / "assets"
    big_dir.mkdir()
    i = 0
    while written < total_mb << 20:
        chunk = min(4 << 20, (total_mb << 20) - written)
        data = (rnd * ((chunk >> 20) + 1))[:chunk]
        (big_dir / f"blob{i}.bin").write_bytes(data)
        written += chunk
        i += 1
    return written


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_tree(total_mb: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="xtrust-bench-tree-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        size = make_tree(root, total_mb)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        blob = b"".join(p.read_bytes() for p in files)

        def read_and_hash() -> None:
            for p in files:
                hashlib.sha256(p.read_bytes()).digest()

        tree_digest(root)  # warm the page cache
        t_tree = best_of(lambda: tree_digest(root), repeat)
        t_mem = best_of(lambda: hashlib.sha256(blob).digest(), repeat)
        t_read = best_of(read_and_hash, repeat)
    mb = size / 1e6
    return {
        "bytes": size,
        "files": len(files),
        "tree_digest_mb_s": mb / t_tree,
        "sha256_memory_mb_s": mb / t_mem,
        "sha256_read_files_mb_s": mb / t_read,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per signature operation")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds; the best counts")
    ap.add_argument("--tree-mb", type=int, default=64, help="size of the generated tree")
    ap.add_argument("--repeat", type=int, default=3, help="tree runs; the best counts")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    sig = bench_signatures(args.seconds, args.rounds)
    tree = bench_tree(args.tree_mb, args.repeat)
    result = {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "machine": platform.machine(),
        "signatures": sig,
        "tree": tree,
    }

    print(f"python {result['python']}, cryptography {result['cryptography']}, 1 KiB message")
    print(f"{'op':8} {'ed25519/s':>11} {'ml-dsa-65/s':>12} {'hybrid/s':>10} "
          f"{'hybrid/ed25519':>15} {'hybrid/ml-dsa':>14} {'hybrid/sum':>11}")  # fmt: skip
    for op in ("sign", "verify"):
        r = sig[f"{op}_per_s"]
        print(
            f"{op:8} {r['ed25519']:11.0f} {r['ml-dsa-65']:12.0f} {r['hybrid']:10.0f} "
            f"{r['hybrid'] / r['ed25519']:15.3f} {r['hybrid'] / r['ml-dsa-65']:14.3f} "
            f"{r['hybrid'] / r['sum_of_halves']:11.3f}"
        )
    print(
        f"tree_digest: {tree['bytes'] / 1e6:.0f} MB in {tree['files']} files: "
        f"{tree['tree_digest_mb_s']:.0f} MB/s; "
        f"sha256 in memory {tree['sha256_memory_mb_s']:.0f} MB/s "
        f"(ratio {tree['tree_digest_mb_s'] / tree['sha256_memory_mb_s']:.3f}); "
        f"read+sha256 per file {tree['sha256_read_files_mb_s']:.0f} MB/s "
        f"(ratio {tree['tree_digest_mb_s'] / tree['sha256_read_files_mb_s']:.3f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
