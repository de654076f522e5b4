"""Fixtures of the ledger tests: a real anvil node, and one client fixture over both back ends."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from xtrust.ledger.backends.base import Backend
from xtrust.ledger.backends.embedded import EmbeddedBackend
from xtrust.ledger.backends.jsonrpc import JsonRpcBackend
from xtrust.ledger.client import LedgerClient

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
HARDFORK = "shanghai"  # the contract's pinned evmVersion


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc(url: str, method: str, params: list[object]) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:
        return json.loads(resp.read())["result"]


@dataclass
class AnvilNode:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def fund(self, address: str, wei: int = 10**24) -> None:
        rpc(self.url, "anvil_setBalance", [address, hex(wei)])


def start_anvil() -> AnvilNode:
    if not ANVIL.exists():
        pytest.skip(f"{ANVIL} is missing (run `make node` / `npm ci`)")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(ANVIL),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--silent",
            "--hardfork",
            HARDFORK,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            rpc(url, "eth_chainId", [])
            return AnvilNode(url, proc)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"anvil did not start on {url}") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    node = start_anvil()
    yield node
    node.stop()


@dataclass
class Chain:
    kind: str
    backend: Backend
    admin: LocalAccount
    others: list[LocalAccount]
    anvil: AnvilNode | None = None

    def client(self, account: LocalAccount | None, address: str) -> LedgerClient:
        return LedgerClient(self.backend, address, account)


def _accounts() -> tuple[LocalAccount, list[LocalAccount]]:
    admin = Account.create()
    return admin, [Account.create() for _ in range(4)]


@pytest.fixture(params=["embedded", "anvil"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    admin, others = _accounts()
    everyone = [admin.address, *(a.address for a in others)]
    if request.param == "embedded":
        backend: Backend = EmbeddedBackend(tmp_path / "ledger", fund=everyone)
        yield Chain("embedded", backend, admin, others)
        backend.close()
    else:
        node: AnvilNode = request.getfixturevalue("anvil")
        for address in everyone:
            node.fund(address)
        backend = JsonRpcBackend(node.url)
        yield Chain("anvil", backend, admin, others, node)


@pytest.fixture
def registry(chain: Chain) -> LedgerClient:
    """A freshly deployed AppRegistry; chain.admin holds every role."""
    return LedgerClient.deploy(chain.backend, chain.admin)
