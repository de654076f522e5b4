"""Ledger benchmarks: anchoring gas, admit latency, embedded write throughput.

    .venv/bin/python bench/bench_ledger.py [--reports 100] [--admits 300] [--txs 120]

Needs node_modules/.bin/anvil (started on a free loopback port, stopped after).
Every figure comes with the reference it is compared with, measured in the same run:

* gas per anchored report in one ``anchorBatch`` of N reports vs one record per
  report (N separate ``anchorBatch`` calls of one leaf); target <= 1,000 gas/report;
* ``admit`` decision latency against anvil, warm cache vs cold (fresh caches, two
  eth_calls + hybrid signature check), with a bare ``eth_chainId`` round trip as
  the floor; targets p99 < 5 ms warm and < 50 ms cold;
* state-changing transactions per second on the embedded back end (lifecycle mix:
  submit, certify, approve, deploy, fsync'd journal) vs the same client on anvil;
  target >= 30 tx/s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xtrust.crypto import HybridSigningKey, in_toto_statement, sign_statement
from xtrust.ledger import (
    PREDICATE_TYPE,
    Admission,
    Attestation,
    AttestationStore,
    EmbeddedBackend,
    JsonRpcBackend,
    LedgerClient,
    merkle_root,
)
from xtrust.ledger.backends.base import Backend

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


def start_anvil() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(ANVIL),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--silent",
            "--hardfork",
            "shanghai",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            rpc(url, "eth_chainId", [])
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("anvil did not start")


def rpc(url: str, method: str, params: list[object]) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())["result"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_anchor(client: LedgerClient, n: int) -> dict[str, float]:
    reports = [json.dumps({"report": i, "verdict": "passed"}).encode() for i in range(n)]
    batch = client.anchor_batch(merkle_root(reports), n, "https://reports.example/batch")
    single = 0
    for r in reports:
        single += client.anchor_batch(merkle_root([r]), 1, "https://reports.example/one").gas_used
    return {"batch_per_report": batch.gas_used / n, "single_per_report": single / n}


def approved_app(client: LedgerClient, store: AttestationStore, digest: str) -> None:
    key = HybridSigningKey.generate()
    client.submit("bench", digest[-8:], digest)
    store.put_key(key.public_key())
    client.register_certifier_key(client.account.address, key.public_key().key_id)  # type: ignore[union-attr]
    stmt = in_toto_statement([("bench", digest)], PREDICATE_TYPE, {"verdict": "passed"})
    att = Attestation.from_bytes(json.dumps(sign_statement(stmt, key)).encode())
    store.put(att)
    client.certify("bench", digest[-8:], att.digest)
    client.approve("bench", digest[-8:])


def bench_admit(
    client: LedgerClient, store: AttestationStore, url: str, n: int
) -> dict[str, float]:
    digest = "sha256:" + hashlib.sha256(b"bench-admit").hexdigest()
    approved_app(client, store, digest)
    warm = Admission(client, store, max_staleness=3600)
    assert warm.decide(digest).allowed
    warm_ms, cold_ms, floor_ms = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        assert warm.decide(digest).allowed
        warm_ms.append((time.perf_counter() - t) * 1e3)
    for _ in range(n):
        t = time.perf_counter()
        assert Admission(client, store, max_staleness=0).decide(digest).allowed
        cold_ms.append((time.perf_counter() - t) * 1e3)
    backend = client.backend
    assert isinstance(backend, JsonRpcBackend)
    for _ in range(n):
        t = time.perf_counter()
        backend.request("eth_blockNumber", [])
        floor_ms.append((time.perf_counter() - t) * 1e3)
    return {
        "warm_p50": statistics.median(warm_ms),
        "warm_p99": pct(warm_ms, 99),
        "cold_p50": statistics.median(cold_ms),
        "cold_p99": pct(cold_ms, 99),
        "rpc_p50": statistics.median(floor_ms),
    }


def bench_writes(backend: Backend, admin: object, n_apps: int) -> float:
    client = LedgerClient.deploy(backend, admin)  # type: ignore[arg-type]
    client.register_certifier_key(client.account.address, "sha256:" + "11" * 32)  # type: ignore[union-attr]
    txs = 0
    t = time.perf_counter()
    for i in range(n_apps):
        name, version = "app", str(i)
        client.submit(name, version, f"sha256:{i + 1:064x}")
        client.certify(name, version, f"sha256:{i + 10**6:064x}")
        client.approve(name, version)
        client.deploy_app(name, version)
        txs += 4
    return txs / (time.perf_counter() - t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--admits", type=int, default=300)
    parser.add_argument("--txs", type=int, default=120, help="embedded transactions (x4 mix)")
    args = parser.parse_args()
    if not ANVIL.exists():
        raise SystemExit(f"{ANVIL} missing: run `make node`")
    proc, url = start_anvil()
    try:
        admin = Account.create()
        rpc(url, "anvil_setBalance", [admin.address, hex(10**24)])
        anvil_backend = JsonRpcBackend(url)
        client = LedgerClient.deploy(anvil_backend, admin)
        with tempfile.TemporaryDirectory() as tmp:
            store = AttestationStore(Path(tmp))
            gas = bench_anchor(client, args.reports)
            lat = bench_admit(client, store, url, args.admits)
        n_apps = max(1, args.txs // 4)
        anvil_tps = bench_writes(anvil_backend, admin, n_apps)
        with tempfile.TemporaryDirectory() as tmp:
            with EmbeddedBackend(Path(tmp), fund=[admin.address]) as emb:
                emb_tps = bench_writes(emb, admin, n_apps)
            t = time.perf_counter()
            with EmbeddedBackend(Path(tmp)) as emb:
                applied = emb.applied
            snap_s = time.perf_counter() - t
            (Path(tmp) / "chain" / "snapshot").unlink()
            t = time.perf_counter()
            with EmbeddedBackend(Path(tmp)) as emb:
                replayed = emb.replayed
            replay_s = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(10)

    n = args.reports
    print(f"anchoring, {n} reports (anvil):")
    print(f"  one batch          {gas['batch_per_report']:8.0f} gas/report  (target <= 1000)")
    print(f"  one record each    {gas['single_per_report']:8.0f} gas/report")
    print(
        f"  ratio batch/single {gas['batch_per_report'] / gas['single_per_report']:8.4f} "
        f"({gas['single_per_report'] / gas['batch_per_report']:.0f}x cheaper)"
    )
    print(f"admit decision latency, {args.admits} decisions (anvil):")
    print(
        f"  warm cache  p50 {lat['warm_p50']:7.3f} ms  p99 {lat['warm_p99']:7.3f} ms (target < 5)"
    )
    print(
        f"  cold        p50 {lat['cold_p50']:7.3f} ms  p99 {lat['cold_p99']:7.3f} ms (target < 50)"
    )
    print(
        f"  reference: eth_blockNumber round trip p50 {lat['rpc_p50']:.3f} ms; "
        f"cold p50 / round trip = {lat['cold_p50'] / lat['rpc_p50']:.1f}"
    )
    print(f"state-changing transactions ({n_apps * 4}, lifecycle mix):")
    print(f"  embedded  {emb_tps:7.1f} tx/s (target >= 30)")
    print(f"  anvil     {anvil_tps:7.1f} tx/s (same client, reference)")
    print(f"  ratio embedded/anvil {emb_tps / anvil_tps:.2f}")
    print(
        f"  embedded reopen of {applied} tx: from the snapshot {snap_s * 1e3:.0f} ms, "
        f"full journal replay {replay_s:.2f} s ({replayed / replay_s:.0f} tx/s)"
    )
    ok = (
        gas["batch_per_report"] <= 1000
        and lat["warm_p99"] < 5
        and lat["cold_p99"] < 50
        and emb_tps >= 30
    )
    print("targets:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
