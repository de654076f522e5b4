"""`xtrust admit serve` as a real process over HTTPS, following an embedded writer."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.ledger.conftest import free_port
from tests.ledger.test_webhook import review, self_signed
from xtrust.crypto import HybridSigningKey, in_toto_statement, sign_statement
from xtrust.ledger.attestation import PREDICATE_TYPE
from xtrust.ledger.cli import ledger

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "6e" * 32


def cli(*args: str) -> None:
    result = CliRunner().invoke(ledger, list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def post(url: str, body: dict[str, Any], ctx: ssl.SSLContext) -> dict[str, Any]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer


@pytest.mark.slow
def test_serve_denies_after_a_revoke_from_another_process(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "ledger")]
    key = HybridSigningKey.generate()
    key.public_key().save(tmp_path / "c.pub")
    att = tmp_path / "att.json"
    stmt = in_toto_statement([("kpm", DIGEST)], PREDICATE_TYPE, {"verdict": "passed"})
    att.write_text(json.dumps(sign_statement(stmt, key)))
    cli("init", *data, "--kdf-n", "16")
    cli("keys", "register", "--key", str(tmp_path / "c.pub"), *data)
    cli("submit", "--name", "kpm", "--version", "1", "--artifact", DIGEST, *data)
    cli("certify", "--name", "kpm", "--version", "1", "--attestation", str(att), *data)
    cli("approve", "--name", "kpm", "--version", "1", *data)

    cert, tls_key = self_signed(tmp_path)
    port = free_port()
    code = "import sys; from xtrust.ledger.cli import admit; admit(sys.argv[1:])"
    args = [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--tls-cert",
        cert,
        "--tls-key",
        tls_key,
        "--max-staleness",
        "0.5",
        *data,
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", context=ctx, timeout=2) as r:
                    assert r.read() == b"ok"
                break
            except OSError:
                assert proc.poll() is None, "admit serve exited"
                assert time.monotonic() < deadline, "admit serve did not start"
                time.sleep(0.1)
        assert post(f"{url}/validate", review([f"reg/kpm@{DIGEST}"]), ctx)["response"]["allowed"]
        # the server reads the embedded store without locking it: the CLI can still write
        cli("revoke", "--name", "kpm", "--version", "1", "--reason", "pulled", *data)
        time.sleep(0.6)  # past the staleness bound
        answer = post(f"{url}/validate", review([f"reg/kpm@{DIGEST}"]), ctx)["response"]
        assert answer["allowed"] is False and "Revoked" in answer["status"]["message"]
    finally:
        proc.terminate()
        proc.wait(10)
