"""The HTTP API and the ``serve`` / ``decide`` commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from xtrust.rapps.policy.cli import policy
from xtrust.rapps.policy.config import load_config
from xtrust.rapps.policy.http import make_app
from xtrust.rapps.policy.service import build_service

from .taxii_fixtures import (
    COLLECTION,
    DIGEST,
    PASSWORD,
    USER,
    Medallion,
    free_port,
    indicator,
    medallion_server,
)

__all__ = ["medallion_server"]

CONFIG = {
    "threshold": 70,
    "subjects": [
        {"id": "kpimon", "kind": "xapp", "zone": "ric", "ran_functions": [2],
         "image_digest": f"sha256:{DIGEST}"},
        {"id": "olga", "kind": "operator", "role": "operator", "zone": "mgmt"},
    ],
    "ledger": {"kpimon": "approved", "olga": "approved"},
    "audit": "audit.jsonl",
}  # fmt: skip
REQ = {
    "subject": "kpimon",
    "action": "control",
    "resource": {"kind": "ran_function", "node": "gnb_001", "function_id": 2},
    "context": {"zone": "ric"},
}


def write_config(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(dict(CONFIG, **extra)))
    return path


def test_http_api(tmp_path: Path) -> None:
    service = build_service(load_config(write_config(tmp_path)))

    async def main() -> None:
        async with TestClient(TestServer(make_app(service))) as client:
            r = await client.post("/v1/authorize", json=REQ)
            assert r.status == 200
            doc = await r.json()
            assert doc["allowed"] is True and doc["policy_ids"] == ["xapp-declared-ran-function"]
            assert doc["factors"][0]["name"] == "threat_intel"

            r = await client.post("/v1/authorize", data=b"{not json")
            assert r.status == 400 and "not JSON" in (await r.json())["error"]
            r = await client.post("/v1/authorize", json={"subject": "kpimon", "action": "fly"})
            assert r.status == 400 and "action" in (await r.json())["error"]

            alert = {"type": "xtrust-alert", "spec_version": "1", "id": "alert--1",
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": "t",
                     "entity": {"kind": "xapp", "id": "kpimon", "node": None},
                     "attack_class": "rogue-control", "score": 2.5, "severity": "critical",
                     "features": [], "evidence": [], "onset": None}  # fmt: skip
            r = await client.post("/v1/alerts", data=json.dumps(alert) + "\n{bad\n")
            assert r.status == 202
            assert await r.json() == {"accepted": 1, "malformed": 1, "subjects": ["kpimon"]}
            r = await client.post("/v1/authorize", json=REQ)
            doc = await r.json()
            assert doc["allowed"] is False and "deny-high-risk" in doc["policy_ids"]

            r = await client.get("/v1/quarantine")
            assert (await r.json())["quarantine"] == ["kpimon"]
            r = await client.post("/v1/quarantine", json={"add": ["olga"]})
            assert (await r.json())["quarantine"] == ["kpimon", "olga"]
            r = await client.post("/v1/quarantine", json={"add": ["nobody"]})
            assert r.status == 400 and "unknown subjects: nobody" in (await r.json())["error"]
            r = await client.post("/v1/quarantine", json={"remove": ["olga"]})
            assert (await r.json())["quarantine"] == ["kpimon"]
            r = await client.post("/v1/ti/bundles", json={"type": "bundle", "id": "bundle--x",
                                  "objects": [indicator("[ipv4-addr:value = '10.1.1.1']")]})  # fmt: skip
            assert (await r.json())["updated"] == 1
            r = await client.get("/v1/ti/status")
            assert (await r.json())["indicators"] == 1
            r = await client.get("/v1/risk/kpimon")
            assert (await r.json())["risk"] >= 70
            r = await client.get("/v1/risk/nobody")
            assert r.status == 404
            r = await client.get("/ric/v1/health/alive")
            assert r.status == 200

    asyncio.run(main())
    if service.audit is not None:
        service.audit.close()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(x)["allowed"] for x in lines] == [True, False]


def test_decide_command(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQ))
    runner = CliRunner()
    res = runner.invoke(policy, ["decide", str(request), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ALLOW kpimon control ran_function:gnb_001/2 (risk 0)")
    assert "reason: permit xapp-declared-ran-function" in res.output
    # a threat-intel hit from a STIX file turns it into a deny (exit 1)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"type": "bundle", "id": "bundle--y", "objects": [
        indicator(f"[file:hashes.'SHA-256' = '{DIGEST}']", confidence=80)]}))  # fmt: skip
    cfg = write_config(tmp_path, stix_files=["feed.json"])
    res = runner.invoke(policy, ["decide", str(request), "--config", str(cfg), "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["allowed"] is False and doc["risk"] == 82
    request.write_text("{")
    res = runner.invoke(policy, ["decide", str(request)])
    assert res.exit_code != 0 and "not JSON" in str(res.exception)


def test_bad_config_is_refused(tmp_path: Path) -> None:
    from xtrust.errors import ConfigError

    path = tmp_path / "c.yaml"
    path.write_text("threshold: 170\n")
    with pytest.raises(ConfigError, match="threshold"):
        load_config(path)
    path.write_text("subjects: [{id: a, kind: robot}]\n")
    with pytest.raises(ConfigError, match=r"subjects\.0.*kind"):
        load_config(path)


@pytest.mark.slow
def test_serve_with_taxii(tmp_path: Path, medallion_server: Medallion) -> None:
    """The real ``serve`` process: polls TAXII, decides over HTTP, stops on SIGTERM."""
    medallion_server.add([indicator(f"[file:hashes.'SHA-256' = '{DIGEST}']", confidence=100)])
    cfg = write_config(tmp_path)
    port = free_port()
    env = dict(os.environ, XTRUST_TAXII_USER=USER, XTRUST_TAXII_PASSWORD=PASSWORD)
    code = (
        "import sys; from xtrust.rapps.policy.cli import policy; "
        "policy.main(sys.argv[1:], prog_name='policy')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--listen", f"127.0.0.1:{port}", "--config",
         str(cfg), "--taxii", medallion_server.api_root, "--collection", COLLECTION],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip

    async def main() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/v1/ti/status") as r:
                        status = await r.json()
                        if status["indicators"] == 1:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "serve did not poll the feed"
                await asyncio.sleep(0.1)
            async with http.post(f"http://127.0.0.1:{port}/v1/authorize", json=REQ) as r:
                doc: dict[str, Any] = await r.json()
                return doc

    try:
        doc = asyncio.run(main())
        assert doc["allowed"] is False and doc["factors"][0]["score"] == 90
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()


def test_serve_refuses_to_start_on_an_invalid_policy(tmp_path: Path) -> None:
    from xtrust.errors import ConfigError

    bad = tmp_path / "bad.cedar"
    bad.write_text("forbid(principal, action, resource) when { context.threat > 3 };")
    cfg = write_config(tmp_path, policies="bad.cedar")
    res = CliRunner().invoke(policy, ["serve", "--listen", "127.0.0.1:0", "--config", str(cfg)])
    assert isinstance(res.exception, ConfigError) and res.exception.exit_code == 2
    assert "do not validate" in str(res.exception) and "serving" not in res.output
