"""A real TAXII 2.1 server (medallion, memory backend) on loopback for the TI tests,
and STIX objects for the TI and policy tests (built with the stix2 library).

Import the fixture in a test module: ``from .taxii_fixtures import medallion_server``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import stix2  # type: ignore[import-untyped]

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
API_ROOT = "trustfeed"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER = "xtrust"
PASSWORD = "feed-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _data(port: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    return {
        "/discovery": {
            "title": "XTRUST test TAXII server",
            "default": f"{base}/{API_ROOT}/",
            "api_roots": [f"{base}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "test feed",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10485760,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "RIC indicators",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }


@dataclass
class Medallion:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api_root(self) -> str:
        return f"http://127.0.0.1:{self.port}/{API_ROOT}/"

    @property
    def objects_url(self) -> str:
        return f"{self.api_root}collections/{COLLECTION}/objects/"

    def start(self) -> None:
        exe = Path(sys.executable).with_name("medallion")
        log = open(self.workdir / "medallion.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(exe),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "WARN",
                str(self.workdir / "config.json"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.workdir / "medallion.log").read_text())
            with contextlib.suppress(requests.RequestException):
                r = requests.get(
                    f"http://127.0.0.1:{self.port}/taxii2/",
                    auth=(USER, PASSWORD),
                    headers={"Accept": "application/taxii+json;version=2.1"},
                    timeout=1,
                )
                if r.status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("medallion did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def add(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        r = requests.post(
            self.objects_url,
            auth=(USER, PASSWORD),
            headers={
                "Accept": "application/taxii+json;version=2.1",
                "Content-Type": "application/taxii+json;version=2.1",
            },
            data=json.dumps({"objects": objects}),
            timeout=5,
        )
        assert r.status_code == 202, r.text
        status: dict[str, Any] = r.json()
        return status


@pytest.fixture
def medallion_server(tmp_path: Path) -> Iterator[Medallion]:
    if shutil.which("medallion", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("medallion is not installed in this virtualenv")
    port = free_port()
    (tmp_path / "data.json").write_text(json.dumps(_data(port)))
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(tmp_path / "data.json"),
                },
                "users": {USER: PASSWORD},
                "taxii": {"max_page_size": 2},
            }
        )
    )
    server = Medallion(port, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def indicator(pattern: str, **kw: Any) -> dict[str, Any]:
    """A STIX 2.1 indicator (as JSON) made and checked by the stix2 library."""
    kw.setdefault("valid_from", "2026-01-01T00:00:00Z")
    obj = stix2.Indicator(pattern=pattern, pattern_type="stix", **kw)
    doc: dict[str, Any] = json.loads(obj.serialize())
    return doc


def revoke(doc: dict[str, Any], modified: str = "2026-11-25T00:00:00.000Z") -> dict[str, Any]:
    return dict(doc, revoked=True, modified=modified)
