"""The validating admission webhook over HTTPS (AdmissionReview v1)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from eth_account import Account

from tests.ledger.conftest import free_port
from tests.ledger.test_admit import approved
from xtrust.crypto import HybridSigningKey
from xtrust.ledger.admit import Admission
from xtrust.ledger.attestation import AttestationStore
from xtrust.ledger.backends.embedded import EmbeddedBackend
from xtrust.ledger.client import LedgerClient
from xtrust.ledger.webhook import image_digest, make_app, pod_images, ssl_context

GOOD = "sha256:" + "5a" * 32


def self_signed(tmp_path: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def review(images: list[str], kind: str = "Pod") -> dict[str, Any]:
    containers = [{"name": f"c{i}", "image": img} for i, img in enumerate(images)]
    spec: dict[str, Any] = {"containers": containers}
    obj: dict[str, Any] = {"kind": kind, "spec": spec}
    if kind == "Deployment":
        obj["spec"] = {"template": {"spec": spec}}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u-1", "operation": "CREATE", "object": obj},
    }


def test_image_parsing() -> None:
    assert image_digest(f"reg.example/kpm@{GOOD}") == GOOD
    assert image_digest("reg.example/kpm:1.0") is None
    pod = {
        "kind": "Pod",
        "spec": {"initContainers": [{"image": "a"}], "containers": [{"image": "b"}]},
    }
    assert pod_images(pod) == ["a", "b"]
    cron = {
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "c"}]}}}}},
    }
    assert pod_images(cron) == ["c"]


@pytest.fixture
def admission(tmp_path: Path) -> Admission:
    admin = Account.create()
    backend = EmbeddedBackend(tmp_path / "ledger", fund=[admin.address])
    registry = LedgerClient.deploy(backend, admin)
    store = AttestationStore(tmp_path / "ledger")
    approved(registry, store, HybridSigningKey.generate(), GOOD)
    return Admission(registry, store, max_staleness=5.0)


def test_webhook_over_https(admission: Admission, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)

    async def scenario() -> list[dict[str, Any]]:
        runner = web.AppRunner(make_app(admission))
        await runner.setup()
        port = free_port()
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context(cert, key))
        await site.start()
        client_ctx = ssl.create_default_context(cafile=cert)
        client_ctx.check_hostname = False
        answers = []
        try:
            async with aiohttp.ClientSession() as session:
                url = f"https://127.0.0.1:{port}/validate"
                for body in (
                    review([f"reg/kpm@{GOOD}"]),
                    review([f"reg/kpm@{GOOD}", "reg/other:latest"]),
                    review([f"reg/x@sha256:{'00' * 32}"], kind="Deployment"),
                ):
                    async with session.post(url, json=body, ssl=client_ctx) as resp:
                        assert resp.status == 200
                        answers.append(await resp.json())
                async with session.post(url, json={"kind": "x"}, ssl=client_ctx) as resp:
                    assert resp.status == 400
        finally:
            await runner.cleanup()
        return answers

    allow, unpinned, unknown = asyncio.run(scenario())
    assert allow["response"] == {"uid": "u-1", "allowed": True}
    assert allow["kind"] == "AdmissionReview"
    assert unpinned["response"]["allowed"] is False
    assert "not pinned by digest" in unpinned["response"]["status"]["message"]
    assert unknown["response"]["allowed"] is False
    assert "not registered" in unknown["response"]["status"]["message"]
