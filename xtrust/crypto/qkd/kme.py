"""A simulated KME (key management entity) serving the ETSI GS QKD 014 V1.1.1 REST API.

Two simulated KMEs stand for the two ends of a QKD link. Both are given the same
*link secret* at start, which plays the role of the key stream the quantum
link would deliver: the key with index ``i`` originated at KME ``K`` is
``HKDF-SHA-256(ikm=link_secret, info="xtrust-qkd-sim key v1" | K | i | size)``.
No key material ever crosses the classical link between the KMEs; only key IDs
and indices do, as with a real QKD link.

Methods (the SAE ID is the subject CN of the caller's client certificate):

* ``GET /api/v1/keys/{slave_SAE_ID}/status`` - the Status object.
* ``GET|POST /api/v1/keys/{slave_SAE_ID}/enc_keys`` - called by the master SAE;
  new keys for the slave (and ``additional_slave_SAE_IDs``).
* ``GET|POST /api/v1/keys/{master_SAE_ID}/dec_keys`` - called by a slave SAE; the
  keys with the given key IDs, once.

Before it answers ``enc_keys``, the master's KME tells its peer which key IDs
(with their stream indices and sizes) now belong to which slaves; that is our
own internal method, not part of ETSI 014:

* ``POST /xtrust/v1/peer/reserve`` ``{"source_KME_ID", "master_SAE_ID",
  "slave_SAE_IDs": [...], "keys": [{"key_ID", "index", "size"}]}`` - accepted
  only from the configured peer KME (its certificate CN).

A key handed to the master is forgotten by the master's KME; the slave's KME
keeps it until each named slave has fetched it once, then deletes it. Without a
peer KME the reservations stay local (both SAEs on one KME).

The key store holds ``max_key_count`` keys of ``key_size`` bits at start and
refills at ``key_rate`` keys per second; a request for more keys than stored
gets 503 (with ``Retry-After`` when the store refills). A key of ``size`` bits uses ``ceil(size / key_size)`` stored keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from xtrust.crypto.qkd.errors import QkdError
from xtrust.crypto.qkd.models import (
    API_PREFIX,
    QkdKey,
    Status,
    check_sae_id,
    encode_key_container,
    error_body,
    is_uuid,
)
from xtrust.crypto.qkd.tls import client_context, peer_common_name, server_context
from xtrust.errors import ConfigError

__all__ = ["PEER_RESERVE_PATH", "KmeConfig", "KmeServer", "derive_stream_key"]

log = logging.getLogger("xtrust.crypto.qkd.kme")

PEER_RESERVE_PATH = "/xtrust/v1/peer/reserve"
_MAX_BODY = 64 * 1024


def derive_stream_key(link_secret: bytes, source_kme_id: str, index: int, size_bits: int) -> bytes:
    """Key number ``index`` of the simulated stream originated at ``source_kme_id``."""
    info = (
        b"xtrust-qkd-sim key v1\x00"
        + source_kme_id.encode()
        + b"\x00"
        + index.to_bytes(8, "big")
        + size_bits.to_bytes(4, "big")
    )
    return HKDF(hashes.SHA256(), size_bits // 8, salt=None, info=info).derive(link_secret)


@dataclass
class KmeConfig:
    """Everything a simulated KME needs; defaults work for a loopback test."""

    kme_id: str
    cert: Path
    key: Path
    ca: Path
    link_secret: bytes
    peer_url: str | None = None
    peer_kme_id: str | None = None
    #: SAE IDs (client certificate CNs) this KME serves; empty: any certificate of the CA
    saes: frozenset[str] = field(default_factory=frozenset)
    key_size: int = 256
    min_key_size: int = 64
    max_key_size: int = 1024
    max_key_count: int = 1000
    max_key_per_request: int = 128
    max_sae_id_count: int = 2
    key_rate: float = 0.0

    def validate(self) -> None:
        check_sae_id(self.kme_id, "KME ID", QkdError)
        if len(self.link_secret) < 32:
            raise ConfigError("link secret must have at least 32 bytes", field="link_secret")
        if (self.peer_url is None) != (self.peer_kme_id is None):
            raise ConfigError("give both the peer KME URL and its KME ID, or neither", field="peer")
        if self.peer_url is not None and not self.peer_url.startswith("https://"):
            raise ConfigError("the peer KME URL must be https://", field="peer_url")
        for name in ("key_size", "min_key_size", "max_key_size"):
            value = getattr(self, name)
            if value <= 0 or value % 8:
                raise ConfigError("must be a positive multiple of 8 bits", field=name)
        if not self.min_key_size <= self.key_size <= self.max_key_size:
            raise ConfigError("need min_key_size <= key_size <= max_key_size", field="key_size")
        if self.max_key_count < 0 or self.max_key_per_request < 1 or self.max_sae_id_count < 0:
            raise ConfigError("key counts must be positive", field="max_key_count")
        if self.key_rate < 0:
            raise ConfigError("must not be negative", field="key_rate")


@dataclass
class _Reservation:
    source_kme_id: str
    index: int
    size: int
    master: str
    slaves: set[str]


class _HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        details: list[Any] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.retry_after = retry_after


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KmeServer:
    """One simulated KME. ``await start()``, then ``await stop()``."""

    def __init__(self, config: KmeConfig):
        config.validate()
        self.config = config
        self._next_index = 0
        self._stored = float(config.max_key_count)
        self._stamp = time.monotonic()
        self._reserved: dict[str, _Reservation] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ssl = server_context(config.cert, config.key, config.ca)
        # a KME is a TLS client of its peer KME, with its own certificate
        self._peer_ssl: ssl.SSLContext = client_context(config.cert, config.key, config.ca)
        self.port = 0
        self.host = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=_MAX_BODY)
        p = API_PREFIX
        app.router.add_get(p + "/{sae}/status", self._status)
        app.router.add_route("GET", p + "/{sae}/enc_keys", self._enc_keys)
        app.router.add_route("POST", p + "/{sae}/enc_keys", self._enc_keys)
        app.router.add_route("GET", p + "/{sae}/dec_keys", self._dec_keys)
        app.router.add_route("POST", p + "/{sae}/dec_keys", self._dec_keys)
        app.router.add_post(PEER_RESERVE_PATH, self._peer_reserve)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: an ephemeral port); returns the bound port."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=self._ssl)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc}", field="listen") from None
        bound = [a for a in self._runner.addresses if isinstance(a, tuple)]
        self.host, self.port = host, int(bound[0][1]) if bound else port
        log.info("KME %s listening on https://%s:%d", self.config.kme_id, host, self.port)
        return self.port

    def set_peer(self, url: str, kme_id: str) -> None:
        """Point this KME at its peer (for peers that got ephemeral ports after start)."""
        self.config.peer_url, self.config.peer_kme_id = url, kme_id
        self.config.validate()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- helpers -----------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except _HttpError as exc:
            log.info("%s %s -> %d %s", request.method, request.path, exc.status, exc.message)
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return web.json_response(
                error_body(exc.message, exc.details), status=exc.status, headers=headers
            )
        except web.HTTPException as exc:
            if exc.status == 413:
                return web.json_response(error_body("request body too large"), status=400)
            return web.json_response(error_body(exc.reason), status=exc.status)

    def _caller(self, request: web.Request) -> str:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        cn = peer_common_name(ssl_object.getpeercert() if ssl_object else None)
        if cn is None:
            raise _HttpError(401, "no client certificate with a subject CN")
        return cn

    def _sae(self, request: web.Request) -> str:
        caller = self._caller(request)
        if self.config.saes and caller not in self.config.saes:
            raise _HttpError(401, f"SAE {caller!r} is not served by KME {self.config.kme_id}")
        if caller == self.config.peer_kme_id:
            raise _HttpError(401, "a KME certificate cannot call the SAE interface")
        return caller

    def _path_sae(self, request: web.Request) -> str:
        value = request.match_info["sae"]
        try:
            return check_sae_id(value, "SAE ID in the path", QkdError)
        except QkdError as exc:
            raise _HttpError(400, exc.message) from None

    def _refill(self) -> None:
        now = time.monotonic()
        if self.config.key_rate:
            self._stored = min(
                float(self.config.max_key_count),
                self._stored + (now - self._stamp) * self.config.key_rate,
            )
        self._stamp = now

    def stored_key_count(self) -> int:
        self._refill()
        return int(self._stored)

    async def _json_body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _HttpError(400, "request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise _HttpError(400, "request body must be a JSON object")
        return doc

    # -- ETSI 014 methods --------------------------------------------------------------------

    def _status_object(self, master: str, slave: str) -> Status:
        c = self.config
        return Status(
            source_KME_ID=c.kme_id,
            target_KME_ID=c.peer_kme_id or c.kme_id,
            master_SAE_ID=master,
            slave_SAE_ID=slave,
            key_size=c.key_size,
            stored_key_count=self.stored_key_count(),
            max_key_count=c.max_key_count,
            max_key_per_request=c.max_key_per_request,
            max_key_size=c.max_key_size,
            min_key_size=c.min_key_size,
            max_SAE_ID_count=c.max_sae_id_count,
        )

    async def _status(self, request: web.Request) -> web.Response:
        master = self._sae(request)
        slave = self._path_sae(request)
        return web.json_response(self._status_object(master, slave).to_json())

    @staticmethod
    def _int(value: Any, name: str) -> int:
        if isinstance(value, str):
            try:
                value = int(value, 10)
            except ValueError:
                raise _HttpError(400, f"{name} must be an integer") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise _HttpError(400, f"{name} must be an integer")
        return value

    async def _enc_keys(self, request: web.Request) -> web.Response:
        c = self.config
        master = self._sae(request)
        slave = self._path_sae(request)
        if request.method == "POST":
            doc = await self._json_body(request)
        else:
            doc = dict(request.query)
        unknown = set(doc) - {
            "number",
            "size",
            "additional_slave_SAE_IDs",
            "extension_mandatory",
            "extension_optional",
        }
        if unknown:
            raise _HttpError(400, "unknown request fields", sorted(unknown))
        number = self._int(doc.get("number", 1), "number")
        size = self._int(doc.get("size", c.key_size), "size")
        extra = doc.get("additional_slave_SAE_IDs", [])
        if not isinstance(extra, list):
            raise _HttpError(400, "additional_slave_SAE_IDs must be a list")
        try:
            extra = [check_sae_id(s, "additional slave SAE ID", QkdError) for s in extra]
        except QkdError as exc:
            raise _HttpError(400, exc.message) from None
        mandatory = doc.get("extension_mandatory")
        if mandatory:
            raise _HttpError(
                400, "mandatory extensions are not supported", [{"extension_mandatory": mandatory}]
            )
        if not 1 <= number <= c.max_key_per_request:
            raise _HttpError(400, f"number must be between 1 and {c.max_key_per_request}")
        if size % 8 or not c.min_key_size <= size <= c.max_key_size:
            raise _HttpError(
                400,
                f"size must be a multiple of 8 between {c.min_key_size} and {c.max_key_size} bits",
            )
        if len(extra) > c.max_sae_id_count:
            raise _HttpError(400, f"at most {c.max_sae_id_count} additional slave SAE IDs")
        slaves = {slave, *extra}
        if master in slaves:
            raise _HttpError(400, "the master SAE cannot be its own slave")
        needed = number * math.ceil(size / c.key_size)
        self._refill()
        if needed > self._stored:
            retry_after = None
            if c.key_rate and needed <= c.max_key_count:
                retry_after = math.ceil((needed - self._stored) / c.key_rate)
            raise _HttpError(
                503,
                "key store exhausted",
                [{"stored_key_count": int(self._stored), "needed": needed}],
                retry_after=retry_after,
            )
        self._stored -= needed
        start = self._next_index
        self._next_index += number
        keys: list[dict[str, Any]] = []
        reservations = {}
        for index in range(start, start + number):
            key_id = str(uuid.uuid4())
            keys.append({"key_ID": key_id, "index": index, "size": size})
            reservations[key_id] = _Reservation(c.kme_id, index, size, master, set(slaves))
        if c.peer_url:
            try:
                await self._reserve_at_peer(master, sorted(slaves), keys)
            except _HttpError:
                self._stored += needed  # the indices stay burnt, the store gets its count back
                raise
        else:
            self._reserved.update(reservations)
        out = [
            QkdKey(k["key_ID"], derive_stream_key(c.link_secret, c.kme_id, k["index"], size))
            for k in keys
        ]
        log.info("enc_keys %s -> %s: %d keys of %d bits", master, sorted(slaves), number, size)
        return web.json_response(encode_key_container(out))

    async def _reserve_at_peer(self, master: str, slaves: list[str], keys: list[Any]) -> None:
        if self.config.peer_url is None:  # pragma: no cover - only called with a peer
            raise _HttpError(503, "no peer KME configured")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = {
            "source_KME_ID": self.config.kme_id,
            "master_SAE_ID": master,
            "slave_SAE_IDs": slaves,
            "keys": keys,
        }
        url = self.config.peer_url.rstrip("/") + PEER_RESERVE_PATH
        try:
            async with self._session.post(url, json=body, ssl=self._peer_ssl) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    raise _HttpError(503, f"peer KME refused the key reservation: {text}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _HttpError(503, f"peer KME unreachable: {type(exc).__name__}") from None

    async def _peer_reserve(self, request: web.Request) -> web.Response:
        c = self.config
        caller = self._caller(request)
        if c.peer_kme_id is None or caller != c.peer_kme_id:
            raise _HttpError(401, "only the peer KME may reserve keys")
        doc = await self._json_body(request)
        if doc.get("source_KME_ID") != c.peer_kme_id:
            raise _HttpError(400, "source_KME_ID is not the peer KME")
        master, slaves, keys = doc.get("master_SAE_ID"), doc.get("slave_SAE_IDs"), doc.get("keys")
        if not isinstance(master, str) or not isinstance(slaves, list) or not slaves:
            raise _HttpError(400, "master_SAE_ID and slave_SAE_IDs are required")
        if not all(isinstance(s, str) for s in slaves) or not isinstance(keys, list):
            raise _HttpError(400, "slave_SAE_IDs must be strings, keys a list")
        new: dict[str, _Reservation] = {}
        for item in keys:
            if not isinstance(item, dict) or not is_uuid(item.get("key_ID")):
                raise _HttpError(400, "each key needs a UUID key_ID")
            index, size = item.get("index"), item.get("size")
            if not isinstance(index, int) or index < 0 or not isinstance(size, int):
                raise _HttpError(400, "each key needs an integer index and size")
            if size % 8 or not 0 < size <= c.max_key_size:
                raise _HttpError(400, "bad key size")
            key_id = item["key_ID"]
            if key_id in self._reserved or key_id in new:
                raise _HttpError(400, "duplicate key_ID")
            new[key_id] = _Reservation(c.peer_kme_id, index, size, master, set(slaves))
        self._refill()
        self._stored = max(
            0.0, self._stored - sum(math.ceil(r.size / c.key_size) for r in new.values())
        )
        self._reserved.update(new)
        return web.json_response({"reserved": len(new)})

    async def _dec_keys(self, request: web.Request) -> web.Response:
        slave = self._sae(request)
        master = self._path_sae(request)
        if request.method == "POST":
            doc = await self._json_body(request)
            ids_doc = doc.get("key_IDs")
            if not isinstance(ids_doc, list) or not ids_doc:
                raise _HttpError(400, "key_IDs must be a non-empty list")
            key_ids = []
            for item in ids_doc:
                if not isinstance(item, dict) or not isinstance(item.get("key_ID"), str):
                    raise _HttpError(400, "each entry of key_IDs needs a key_ID string")
                key_ids.append(item["key_ID"])
        else:
            key_ids = request.query.getall("key_ID", [])
            if len(key_ids) != 1:
                raise _HttpError(400, "GET dec_keys takes exactly one key_ID parameter")
        if len(key_ids) > self.config.max_key_per_request:
            raise _HttpError(400, f"at most {self.config.max_key_per_request} key IDs per request")
        if len(set(key_ids)) != len(key_ids):
            raise _HttpError(400, "duplicate key IDs in the request")
        missing, foreign = [], []
        for key_id in key_ids:
            found = self._reserved.get(key_id)
            if found is None or found.master != master:
                missing.append({"key_ID": key_id})
            elif slave not in found.slaves:
                foreign.append({"key_ID": key_id})
        if missing:
            raise _HttpError(400, "key_ID unknown or already delivered", missing)
        if foreign:
            raise _HttpError(401, f"key_ID not reserved for SAE {slave!r}", foreign)
        out = []
        for key_id in key_ids:
            r = self._reserved[key_id]
            key = derive_stream_key(self.config.link_secret, r.source_kme_id, r.index, r.size)
            out.append(QkdKey(key_id, key))
            r.slaves.discard(slave)
            if not r.slaves:
                del self._reserved[key_id]
        log.info("dec_keys %s <- %s: %d keys", slave, master, len(out))
        return web.json_response(encode_key_container(out))


async def serve(config: KmeConfig, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Run a KME until cancelled; ``ready(url)`` is called once it listens."""
    server = KmeServer(config)
    await server.start(host, port)
    ready(server.url)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
