"""Fixtures for the QKD tests: a test PKI and two simulated KMEs on loopback (mutual TLS).

The KMEs run on an asyncio loop in a background thread so that the synchronous
client under test can run in the test's own thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from xtrust.crypto.qkd.certs import CertPaths, generate_pki
from xtrust.crypto.qkd.client import KmeClient
from xtrust.crypto.qkd.kme import KmeConfig, KmeServer

T = TypeVar("T")

SAES = ("alice", "bob", "carol")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Pki:
    root: Path
    paths: dict[str, CertPaths]
    foreign: dict[str, CertPaths]

    @property
    def ca(self) -> Path:
        return self.paths["ca"].cert


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("qkd-pki")
    paths = generate_pki(root, kmes=["kmeA", "kmeB"], saes=[*SAES, "mallory"])
    other = tmp_path_factory.mktemp("qkd-foreign")
    foreign = generate_pki(other, kmes=[], saes=["alice"])
    return Pki(root, paths, foreign)


@pytest.fixture()
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@dataclass
class KmePair:
    pki: Pki
    lt: LoopThread
    a: KmeServer
    b: KmeServer
    clients: list[KmeClient] = field(default_factory=list)

    def client(self, sae: str, kme: KmeServer, **kwargs: Any) -> KmeClient:
        p = self.pki.paths[sae]
        kwargs.setdefault("retries", 0)
        c = KmeClient(kme.url, cert=p.cert, key=p.key, ca=self.pki.ca, **kwargs)
        self.clients.append(c)
        return c


def start_pair(
    pki: Pki, lt: LoopThread, secret_b: bytes | None = None, **overrides: Any
) -> tuple[KmeServer, KmeServer]:
    secret = os.urandom(32)
    servers = []
    for name, link in (("kmeA", secret), ("kmeB", secret_b or secret)):
        cfg = KmeConfig(
            kme_id=name,
            cert=pki.paths[name].cert,
            key=pki.paths[name].key,
            ca=pki.ca,
            link_secret=link,
            saes=frozenset(SAES),
            **overrides,
        )
        server = KmeServer(cfg)
        lt.run(server.start("127.0.0.1", 0))
        servers.append(server)
    a, b = servers
    a.set_peer(b.url, "kmeB")
    b.set_peer(a.url, "kmeA")
    return a, b


@pytest.fixture()
def kmes(pki: Pki, loop_thread: LoopThread, request: pytest.FixtureRequest) -> Iterator[KmePair]:
    """Two linked KMEs; parametrise overrides with ``@pytest.mark.kme(max_key_count=4)``-like
    indirect use: ``request.param`` may be a dict of KmeConfig overrides."""
    overrides = getattr(request, "param", None) or {}
    a, b = start_pair(pki, loop_thread, **overrides)
    pair = KmePair(pki, loop_thread, a, b)
    yield pair
    for c in pair.clients:
        c.close()
    loop_thread.run(a.stop())
    loop_thread.run(b.stop())
