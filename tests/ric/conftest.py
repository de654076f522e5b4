"""Fixtures shared by the tests of ``xtrust.ric``.

SDL back ends
-------------
``redis_server`` starts a real ``redis-server`` (Debian package; installed by
``scripts/ensure-system-deps.sh``) once per test session - that is, once per
xdist worker - on a free loopback port, without persistence, in a temporary
directory, and stops it at the end. Without ``redis-server`` on PATH the tests
that need it skip with the reason.

``sdl_factory`` is parametrized over the back ends (``memory``, ``redis``): it
returns a function that builds a fresh, empty :class:`~xtrust.ric.sdl.Sdl`.
Build the SDL inside the event loop of the test (``asyncio.run``), since a
Redis client belongs to the loop it first connects in.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xtrust.ric.sdl import MemorySdl, RedisSdl, Sdl

_START_ATTEMPTS = 5
_READY_TIMEOUT = 10.0


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self, *args: str) -> bytes:
        """Run one command over a raw socket (RESP); the reply's first line."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection((self.host, self.port), timeout=5) as conn:
            conn.sendall(request.encode())
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.strip()

    def flush(self) -> None:
        reply = self.command("FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(exe: str, workdir: Path) -> RedisServer:
    """Start redis-server on a free port; retry when another process grabs the port."""
    failures: list[str] = []
    for attempt in range(_START_ATTEMPTS):
        port = _free_port()
        log = workdir / f"redis-{port}.log"
        process = subprocess.Popen(
            [
                exe,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(workdir),
                "--daemonize", "no",
                "--logfile", str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        server = RedisServer("127.0.0.1", port, process)
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if server.command("PING") == b"+PONG":
                    return server
            except OSError:
                pass
            time.sleep(0.02)
        process.kill()
        process.wait()
        text = log.read_text(errors="replace") if log.exists() else ""
        failures.append(f"attempt {attempt + 1} on port {port}: {text.strip()[-300:]}")
    raise RuntimeError("redis-server did not start:\n" + "\n".join(failures))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(
            "redis-server is not on PATH; run scripts/ensure-system-deps.sh "
            "(Debian package redis-server) to test the Redis back end"
        )
    server = _start_redis(exe, tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def disposable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may stop or kill."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not on PATH; run scripts/ensure-system-deps.sh")
    server = _start_redis(exe, tmp_path)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of an empty Redis (flushed before the test)."""
    redis_server.flush()
    return redis_server.url


SdlFactory = Callable[[], Sdl]


@pytest.fixture(params=["memory", "redis"])
def sdl_factory(request: pytest.FixtureRequest) -> SdlFactory:
    """Builds fresh SDLs of one back end; all SDLs of a test share the data."""
    if request.param == "memory":
        shared = MemorySdl()
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    return lambda: RedisSdl(url)
