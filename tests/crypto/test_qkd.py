"""The ETSI GS QKD 014 client against the KME simulator, over mutual TLS on loopback."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509

from tests.crypto.qkd_fixtures import *  # noqa: F403 - the pytest fixtures
from tests.crypto.qkd_fixtures import KmePair, LoopThread, Pki, start_pair
from xtrust.crypto.qkd import (
    KmeClient,
    QkdAuthError,
    QkdConnectionError,
    QkdError,
    QkdProtocolError,
    QkdRequestError,
    QkdUnavailableError,
)
from xtrust.crypto.qkd.certs import common_name, generate_pki
from xtrust.crypto.qkd.kme import PEER_RESERVE_PATH, derive_stream_key
from xtrust.crypto.qkd.tls import client_context, server_context
from xtrust.errors import ConfigError, InputError

# -- the happy paths ---------------------------------------------------------------------------


def test_status_reports_the_etsi_fields(kmes: KmePair) -> None:
    st = kmes.client("alice", kmes.a).status("bob")
    assert st.source_KME_ID == "kmeA"
    assert st.target_KME_ID == "kmeB"
    assert st.master_SAE_ID == "alice"  # from the client certificate
    assert st.slave_SAE_ID == "bob"
    assert (st.key_size, st.max_key_count, st.stored_key_count) == (256, 1000, 1000)
    assert (st.min_key_size, st.max_key_size, st.max_key_per_request) == (64, 1024, 128)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_master_and_slave_get_the_same_key_once(kmes: KmePair, method: str) -> None:
    alice, bob = kmes.client("alice", kmes.a), kmes.client("bob", kmes.b)
    keys = alice.get_key("bob", number=3, size=512, method=method)
    assert len(keys) == 3 and all(len(k.key) == 64 for k in keys)
    assert len({k.key for k in keys}) == 3
    if method == "GET":
        got = [bob.get_key_with_id("alice", [k.key_id], method="GET")[0] for k in keys]
    else:
        got = bob.get_key_with_id("alice", [k.key_id for k in keys])
    assert got == keys
    # gone after retrieval: a second fetch is refused
    with pytest.raises(QkdRequestError) as err:
        bob.get_key_with_id("alice", [keys[0].key_id])
    assert err.value.status == 400
    assert err.value.details == [{"key_ID": keys[0].key_id}]
    assert kmes.client("alice", kmes.a).status("bob").stored_key_count == 1000 - 6


def test_key_comes_from_the_shared_stream_not_the_wire(pki: Pki, loop_thread: LoopThread) -> None:
    a, b = start_pair(pki, loop_thread, secret_b=b"\x01" * 32)  # a broken link
    pair = KmePair(pki, loop_thread, a, b)
    try:
        key = pair.client("alice", a).get_key("bob")[0]
        got = pair.client("bob", b).get_key_with_id("alice", [key.key_id])[0]
        assert got.key_id == key.key_id and got.key != key.key
        assert got.key == derive_stream_key(b"\x01" * 32, "kmeA", 0, 256)
    finally:
        for c in pair.clients:
            c.close()
        loop_thread.run(a.stop())
        loop_thread.run(b.stop())


def test_additional_slaves_each_get_the_key_once(kmes: KmePair) -> None:
    key = kmes.client("alice", kmes.a).get_key("bob", additional_slave_sae_ids=["carol"])[0]
    bob, carol = kmes.client("bob", kmes.b), kmes.client("carol", kmes.b)
    assert bob.get_key_with_id("alice", [key.key_id]) == [key]
    assert carol.get_key_with_id("alice", [key.key_id]) == [key]
    with pytest.raises(QkdRequestError):
        carol.get_key_with_id("alice", [key.key_id])


# -- errors ------------------------------------------------------------------------------------


def test_unknown_key_id_is_400(kmes: KmePair) -> None:
    with pytest.raises(QkdRequestError, match="unknown or already delivered"):
        kmes.client("bob", kmes.b).get_key_with_id(
            "alice", ["0" * 8 + "-0000-4000-8000-" + "0" * 12]
        )


def test_key_for_another_sae_is_401_and_not_consumed(kmes: KmePair) -> None:
    key = kmes.client("alice", kmes.a).get_key("bob")[0]
    with pytest.raises(QkdAuthError) as err:
        kmes.client("carol", kmes.b).get_key_with_id("alice", [key.key_id])
    assert err.value.status == 401
    assert kmes.client("bob", kmes.b).get_key_with_id("alice", [key.key_id]) == [key]


def test_wrong_master_in_path_is_400(kmes: KmePair) -> None:
    key = kmes.client("alice", kmes.a).get_key("bob")[0]
    with pytest.raises(QkdRequestError):
        kmes.client("bob", kmes.b).get_key_with_id("carol", [key.key_id])


def test_sae_not_served_is_401(kmes: KmePair) -> None:
    with pytest.raises(QkdAuthError) as err:
        kmes.client("mallory", kmes.a).status("bob")
    assert err.value.status == 401
    assert "mallory" in str(err.value)


def test_client_certificate_of_another_ca_is_refused(kmes: KmePair) -> None:
    p = kmes.pki.foreign["alice"]  # same CN, foreign CA
    with (
        KmeClient(kmes.a.url, cert=p.cert, key=p.key, ca=kmes.pki.ca) as c,
        pytest.raises((QkdAuthError, QkdConnectionError)),
    ):
        c.status("bob")


def test_kme_certificate_cannot_act_as_sae_and_sae_cannot_reserve(kmes: KmePair) -> None:
    with pytest.raises(QkdAuthError):
        kmes.client("kmeB", kmes.a).status("bob")
    status, body = raw_request(kmes, "alice", kmes.b, "POST", PEER_RESERVE_PATH, b"{}")
    assert status == 401 and "peer KME" in body["message"]


@pytest.mark.parametrize("kmes", [{"max_key_count": 4}], indirect=True)
def test_exhausted_key_store_is_503_after_retries(kmes: KmePair) -> None:
    alice = kmes.client("alice", kmes.a, retries=2, backoff=0.001)
    assert len(alice.get_key("bob", number=2, size=512)) == 2  # 2 * 2 stored keys
    assert alice.status("bob").stored_key_count == 0
    with pytest.raises(QkdUnavailableError) as err:
        alice.get_key("bob")
    assert err.value.status == 503 and "after 3 attempts" in str(err.value)


@pytest.mark.parametrize("kmes", [{"max_key_count": 1, "key_rate": 40.0}], indirect=True)
def test_503_is_retried_until_the_store_refills(kmes: KmePair) -> None:
    alice = kmes.client("alice", kmes.a, retries=8, backoff=0.02, max_backoff=0.1)
    first = alice.get_key("bob")
    second = alice.get_key("bob")  # store empty now; refills 1 key per 25 ms
    assert first[0].key_id != second[0].key_id


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 2048}, "size must be"),
        ({"size": 32}, "size must be"),
        ({"number": 129}, "number must be"),
        ({"additional_slave_sae_ids": ["carol", "alice", "x"]}, "additional slave"),
        ({"extension_mandatory": [{"abc": 1}]}, "mandatory extensions"),
    ],
)
def test_limits_of_the_status_object_are_enforced(
    kmes: KmePair, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(QkdRequestError, match=match) as err:
        kmes.client("alice", kmes.a).get_key("bob", **kwargs)
    assert err.value.status == 400


def test_client_side_checks_send_nothing(kmes: KmePair) -> None:
    alice = kmes.client("alice", kmes.a)
    for kwargs in ({"size": 12}, {"number": 0}):
        with pytest.raises(QkdRequestError):
            alice.get_key("bob", **kwargs)
    with pytest.raises(QkdRequestError):
        alice.get_key("bob/../x")
    assert alice.status("bob").stored_key_count == 1000


def raw_request(
    kmes: KmePair, sae: str, server: Any, method: str, path: str, body: bytes | None
) -> tuple[int, Any]:
    p = kmes.pki.paths[sae]
    ctx = client_context(p.cert, p.key, kmes.pki.ca)
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"number": "x"}', b'{"number": true}', b'{"bogus": 1}', b"\xff"],
)
def test_malformed_json_is_400_with_an_error_body(kmes: KmePair, body: bytes) -> None:
    status, doc = raw_request(kmes, "alice", kmes.a, "POST", "/api/v1/keys/bob/enc_keys", body)
    assert status == 400
    assert isinstance(doc["message"], str) and doc["message"]


def test_oversized_body_is_400(kmes: KmePair) -> None:
    body = b'{"number": 1, "pad": "' + b"x" * 70000 + b'"}'
    status, doc = raw_request(kmes, "alice", kmes.a, "POST", "/api/v1/keys/bob/enc_keys", body)
    assert status == 400 and "too large" in doc["message"]


@pytest.mark.parametrize("kmes", [{"max_key_count": 2, "key_rate": 0.5}], indirect=True)
def test_exhausted_store_with_refill_sends_retry_after(kmes: KmePair) -> None:
    kmes.client("alice", kmes.a).get_key("bob", number=2)
    p = kmes.pki.paths["alice"]
    ctx = client_context(p.cert, p.key, kmes.pki.ca)
    conn = http.client.HTTPSConnection("127.0.0.1", kmes.a.port, context=ctx, timeout=10)
    try:
        conn.request("GET", "/api/v1/keys/bob/enc_keys?number=1")
        resp = conn.getresponse()
        assert resp.status == 503
        assert resp.getheader("Retry-After") == "2"
        assert json.loads(resp.read())["message"] == "key store exhausted"
    finally:
        conn.close()


def test_missing_client_certificate_file_is_a_config_error(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load"):
        KmeClient(
            "https://127.0.0.1:1", cert=tmp_path / "no.pem", key=tmp_path / "no.key", ca=pki.ca
        )
    with pytest.raises(ConfigError, match="https"):
        KmeClient("http://127.0.0.1:1", cert=pki.ca, key=pki.ca, ca=pki.ca)


def test_malformed_dec_keys_requests_are_400(kmes: KmePair) -> None:
    for body in (b"{}", b'{"key_IDs": []}', b'{"key_IDs": ["a"]}', b'{"key_IDs": [{"key_ID": 1}]}'):
        status, _ = raw_request(kmes, "bob", kmes.b, "POST", "/api/v1/keys/alice/dec_keys", body)
        assert status == 400, body
    status, _ = raw_request(kmes, "bob", kmes.b, "GET", "/api/v1/keys/alice/dec_keys", None)
    assert status == 400


def test_peer_kme_down_fails_closed(kmes: KmePair) -> None:
    kmes.lt.run(kmes.b.stop())
    alice = kmes.client("alice", kmes.a)
    with pytest.raises(QkdUnavailableError, match="peer KME unreachable"):
        alice.get_key("bob")
    assert alice.status("bob").stored_key_count == 1000  # nothing consumed


def test_unreachable_kme_is_a_connection_error(pki: Pki) -> None:
    p = pki.paths["alice"]
    with (
        KmeClient("https://127.0.0.1:9", cert=p.cert, key=p.key, ca=pki.ca) as c,
        pytest.raises(QkdConnectionError),
    ):
        c.status("bob")


# -- a KME answering with garbage --------------------------------------------------------------


GARBAGE: list[tuple[int, bytes, type[QkdError]]] = [
    (200, b"<html>hello</html>", QkdProtocolError),
    (200, b'{"keys": "nope"}', QkdProtocolError),
    (200, b'{"keys": [{"key_ID": "not-a-uuid", "key": "AAAA"}]}', QkdProtocolError),
    (
        200,
        b'{"keys": [{"key_ID": "9e4fbd9a-7b5c-4a8e-9e0b-1f3a5c7d9e0b", "key": "!!"}]}',
        QkdProtocolError,
    ),
    # a key of the wrong size (asked for 256 bits)
    (
        200,
        json.dumps(
            {
                "keys": [
                    {
                        "key_ID": "9e4fbd9a-7b5c-4a8e-9e0b-1f3a5c7d9e0b",
                        "key": base64.b64encode(b"k" * 16).decode(),
                    }
                ]
            }
        ).encode(),
        QkdProtocolError,
    ),
    (500, b"Internal Server Error", QkdProtocolError),
    (400, b"plain text", QkdRequestError),
    (401, b'{"message": 5}', QkdAuthError),
]


@pytest.mark.parametrize(("status", "body", "error"), GARBAGE)
def test_garbage_answers_are_one_clear_error(
    pki: Pki, loop_thread: LoopThread, status: int, body: bytes, error: type[QkdError]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    kp = pki.paths["kmeA"]
    ctx = server_context(kp.cert, kp.key, pki.ca)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = loop_thread.run(start())
    p = pki.paths["alice"]
    try:
        with KmeClient(f"https://127.0.0.1:{port}", cert=p.cert, key=p.key, ca=pki.ca) as c:
            with pytest.raises(error) as err:
                c.get_key("bob", size=256)
            assert "\n" not in str(err.value)
            with pytest.raises(QkdError):
                c.status("bob")
    finally:
        loop_thread.run(runner.cleanup())


# -- certificates ------------------------------------------------------------------------------


def test_generated_pki(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    paths = generate_pki(out, kmes=["k1"], saes=["s1"])
    cert = x509.load_pem_x509_certificate(paths["s1"].cert.read_bytes())
    assert common_name(cert) == "s1"
    assert stat.S_IMODE(paths["s1"].key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths["ca"].key.stat().st_mode) == 0o600
    ca_before = paths["ca"].cert.read_bytes()
    again = generate_pki(out, kmes=[], saes=["s2"])  # adds a leaf, keeps the CA
    assert again["ca"].cert.read_bytes() == ca_before
    ctx = ssl.create_default_context(cafile=str(paths["ca"].cert))
    assert ctx.cert_store_stats()["x509_ca"] == 1
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("kmes_", "saes"), [(["ok"], ["bad name"]), (["a"], ["a"]), ([], []), (["ca"], [])]
)
def test_bad_names_write_nothing(tmp_path: Path, kmes_: list[str], saes: list[str]) -> None:
    out = tmp_path / "pki"
    with pytest.raises(InputError):
        generate_pki(out, kmes=kmes_, saes=saes)
    assert not out.exists() or not any(out.iterdir())
