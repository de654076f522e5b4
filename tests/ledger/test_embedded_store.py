"""The embedded store: reopen, torn tail, damage, locking and kill -9 during writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from eth_account import Account

from xtrust.ledger.backends.embedded import EmbeddedBackend
from xtrust.ledger.client import LedgerClient
from xtrust.ledger.errors import LedgerError, StoreCorrupt, StoreLocked

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Account.from_key(b"\x07" * 32)


def digest(i: int) -> str:
    return f"sha256:{i + 1:064x}"


def make(tmp_path: Path, n: int = 3, *, also_fund: str | None = None) -> tuple[Path, str]:
    fund = [ADMIN.address] + ([also_fund] if also_fund else [])
    with EmbeddedBackend(tmp_path, fund=fund) as backend:
        client = LedgerClient.deploy(backend, ADMIN)
        for i in range(n):
            client.submit("app", str(i), digest(i))
        return tmp_path, client.address


def test_reopen_shows_the_same_state(tmp_path: Path) -> None:
    data, address = make(tmp_path)
    with EmbeddedBackend(data) as backend:
        first_head = backend._evm.chain.get_canonical_head()
        client = LedgerClient(backend, address, ADMIN)
        assert [client.app("app", str(i)).artifact for i in range(3)] == [  # type: ignore[union-attr]
            digest(i) for i in range(3)
        ]
        client.submit("app", "3", digest(3))
    with EmbeddedBackend(data) as backend:
        # replay is deterministic: same blocks, same state root
        assert backend.replayed == 5
        client = LedgerClient(backend, address, ADMIN)
        assert client.app("app", "3") is not None
        block2 = backend._evm.chain.get_canonical_block_header_by_number(first_head.block_number)
        assert block2 == first_head


def test_torn_last_record_is_dropped(tmp_path: Path) -> None:
    data, address = make(tmp_path)
    journal = data / "chain" / "journal"
    size = journal.stat().st_size
    with open(journal, "ab") as fh:  # a write that died half way: header + part of payload
        fh.write(b"\x00\x00\x01\x00\x12\x34\x56\x78" + b"\xab" * 40)
    with EmbeddedBackend(data) as backend:
        assert backend.replayed == 4
        assert LedgerClient(backend, address).app("app", "2") is not None
    assert journal.stat().st_size == size


def test_torn_record_with_bad_checksum_at_the_end_is_dropped(tmp_path: Path) -> None:
    data, address = make(tmp_path)
    journal = data / "chain" / "journal"
    raw = bytearray(journal.read_bytes())
    raw[-1] ^= 0xFF  # the last record's last byte never reached the disk
    journal.write_bytes(bytes(raw))
    with EmbeddedBackend(data) as backend:
        client = LedgerClient(backend, address)
        assert client.app("app", "1") is not None
        assert client.app("app", "2") is None


def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    data, _ = make(tmp_path)
    journal = data / "chain" / "journal"
    raw = bytearray(journal.read_bytes())
    raw[200] ^= 0xFF
    journal.write_bytes(bytes(raw))
    with pytest.raises(StoreCorrupt, match="checksum"):
        EmbeddedBackend(data)


def test_second_opener_is_refused(tmp_path: Path) -> None:
    data, _ = make(tmp_path, 0)
    with EmbeddedBackend(data), pytest.raises(StoreLocked, match="another process"):
        EmbeddedBackend(data)


def test_missing_store_says_init(tmp_path: Path) -> None:
    with pytest.raises(StoreCorrupt, match="no ledger") as info:
        EmbeddedBackend(tmp_path / "none")
    assert "ledger init" in (info.value.hint or "")


CHILD = textwrap.dedent(
    """
    import sys
    from eth_account import Account
    from xtrust.ledger.backends.embedded import EmbeddedBackend
    from xtrust.ledger.client import LedgerClient
    admin = Account.from_key(b"\\x07" * 32)
    backend = EmbeddedBackend(sys.argv[1])
    client = LedgerClient(backend, sys.argv[2], admin)
    i = 100
    while True:
        client.submit("loop", str(i), "sha256:%064x" % (i + 1))
        print("ACK", i, flush=True)
        i += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("acks", [6])
def test_kill_9_never_loses_an_acknowledged_transaction(tmp_path: Path, acks: int) -> None:
    data, address = make(tmp_path, 0)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), address],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acked: list[int] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(acked) < acks and time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        acked.append(int(line.split()[1]))
    time.sleep(0.013 * acks)  # land somewhere inside a later write
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acked += [int(x.split()[1]) for x in proc.stdout.read().decode().split("\n") if x]
    assert len(acked) >= acks
    with EmbeddedBackend(data) as backend:
        client = LedgerClient(backend, address, ADMIN)
        for i in acked:
            assert client.app("loop", str(i)) is not None, f"acknowledged tx {i} was lost"
        # the store is consistent: the next write goes through
        client.submit("after", "1", digest(10_000))
        assert backend.nonce(ADMIN.address) == backend.applied  # every tx is ADMIN's


def test_readers_follow_the_writer_without_locking(tmp_path: Path) -> None:
    data, address = make(tmp_path, 1)
    with EmbeddedBackend(data) as writer, EmbeddedBackend(data, read_only=True) as reader:
        w = LedgerClient(writer, address, ADMIN)
        r = LedgerClient(reader, address)
        assert r.app("app", "0") is not None and r.app("app", "1") is None
        w.submit("app", "1", digest(1))
        w.revoke("app", "0", "gone")
        assert r.app("app", "1") is not None  # applied on the next read
        assert r.app("app", "0").state == "Revoked"  # type: ignore[union-attr]
        # a half-written record is not consumed by the reader
        with open(data / "chain" / "journal", "ab") as fh:
            fh.write(b"\x00\x00\x00\x40\x00")
        assert r.app("app", "1") is not None
        with pytest.raises(LedgerError, match="read-only"):
            LedgerClient(reader, address, ADMIN).submit("x", "1", digest(99))


def test_snapshot_skips_the_replay_and_is_only_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xtrust.ledger.backends import embedded

    monkeypatch.setattr(embedded, "SNAPSHOT_ON_CLOSE", 3)
    data, address = make(tmp_path / "a", 4)  # 5 transactions, snapshot on close
    assert (data / "chain" / "snapshot").exists()
    with EmbeddedBackend(data) as backend:
        assert (backend.replayed, backend.applied) == (0, 5)
        client = LedgerClient(backend, address, ADMIN)
        assert client.app("app", "3") is not None
        assert len(client.history("app")) == 8  # the log index came back too
        client.revoke("app", "3", "x")  # one more: below the threshold, no new snapshot
    with EmbeddedBackend(data) as backend:
        assert (backend.replayed, backend.applied) == (1, 6)
        assert LedgerClient(backend, address).app("app", "3").state == "Revoked"  # type: ignore[union-attr]
    # a damaged snapshot, or one made from another journal, is ignored: full replay
    snap = data / "chain" / "snapshot"
    other, _ = make(tmp_path / "b", 4, also_fund="0x" + "77" * 20)  # another genesis
    for bad in (snap.read_bytes()[:-3] + b"xyz", (other / "chain" / "snapshot").read_bytes()):
        snap.write_bytes(bad)
        with EmbeddedBackend(data) as backend:
            assert backend.replayed == 6
            assert LedgerClient(backend, address).app("app", "3").state == "Revoked"  # type: ignore[union-attr]
