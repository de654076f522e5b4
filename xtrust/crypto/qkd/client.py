"""ETSI GS QKD 014 V1.1.1 key delivery client over mutual TLS.

:class:`AsyncKmeClient` is the asyncio client (aiohttp, one connection pool, so
repeated calls reuse the TLS connection); :class:`KmeClient` wraps it for
synchronous code with its own event loop.

Errors: HTTP 400 -> :class:`QkdRequestError`, 401 -> :class:`QkdAuthError`,
503 -> retried with exponential backoff and jitter (``retries`` times, honouring
``Retry-After`` up to ``max_backoff``), then :class:`QkdUnavailableError`; an
answer that is not ETSI 014 JSON -> :class:`QkdProtocolError`; connection or
TLS failure -> :class:`QkdConnectionError`. Nothing is returned on any error.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from xtrust.crypto.qkd.errors import (
    QkdAuthError,
    QkdConnectionError,
    QkdError,
    QkdProtocolError,
    QkdRequestError,
    QkdUnavailableError,
)
from xtrust.crypto.qkd.models import (
    API_PREFIX,
    QkdKey,
    Status,
    check_sae_id,
    decode_key_container,
)
from xtrust.crypto.qkd.tls import client_context
from xtrust.errors import ConfigError

__all__ = ["AsyncKmeClient", "KmeClient"]

_MAX_ANSWER = 1 << 20
_JITTER = random.SystemRandom()


class AsyncKmeClient:
    """Client of one KME for one SAE (the SAE is whoever the client certificate names)."""

    def __init__(
        self,
        url: str,
        *,
        cert: Path | str | None = None,
        key: Path | str | None = None,
        ca: Path | str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
    ):
        if not url.startswith("https://"):
            raise ConfigError("the KME URL must start with https://", field="kme", source=url)
        if ssl_context is None:
            if cert is None or key is None or ca is None:
                raise ConfigError("give --cert, --key and --ca (mutual TLS)", field="cert")
            ssl_context = client_context(Path(cert), Path(key), Path(ca))
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ConfigError("retries/backoff must be >= 0 and timeout > 0", field="retries")
        self.url = url.rstrip("/")
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AsyncKmeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the three ETSI 014 methods ------------------------------------------------------------

    async def status(self, slave_sae_id: str) -> Status:
        """``GET /api/v1/keys/{slave_SAE_ID}/status``."""
        doc = await self._call("GET", self._path(slave_sae_id, "status"))
        return Status.from_json(doc)

    async def get_key(
        self,
        slave_sae_id: str,
        *,
        number: int = 1,
        size: int | None = None,
        additional_slave_sae_ids: Sequence[str] = (),
        extension_mandatory: list[Any] | None = None,
        extension_optional: list[Any] | None = None,
        method: str = "POST",
    ) -> list[QkdKey]:
        """``enc_keys``: ``number`` new keys of ``size`` bits (default: the KME's key_size)."""
        if number < 1:
            raise QkdRequestError("number must be at least 1")
        if size is not None and (size <= 0 or size % 8):
            raise QkdRequestError("size must be a positive multiple of 8 bits")
        extra = [
            check_sae_id(s, "additional slave SAE ID", QkdRequestError)
            for s in additional_slave_sae_ids
        ]
        path = self._path(slave_sae_id, "enc_keys")
        if method.upper() == "GET":
            if extra or extension_mandatory or extension_optional:
                raise QkdRequestError("GET enc_keys takes only number and size; use POST")
            params = {"number": str(number)}
            if size is not None:
                params["size"] = str(size)
            doc = await self._call("GET", path, params=params)
        else:
            body: dict[str, Any] = {"number": number}
            if size is not None:
                body["size"] = size
            if extra:
                body["additional_slave_SAE_IDs"] = extra
            if extension_mandatory:
                body["extension_mandatory"] = extension_mandatory
            if extension_optional:
                body["extension_optional"] = extension_optional
            doc = await self._call("POST", path, json_body=body)
        keys = decode_key_container(doc, size_bits=size)
        if len(keys) != number:
            raise QkdProtocolError(f"asked for {number} keys, the KME returned {len(keys)}")
        return keys

    async def get_key_with_id(
        self, master_sae_id: str, key_ids: Sequence[str], *, method: str = "POST"
    ) -> list[QkdKey]:
        """``dec_keys``: the keys the master SAE obtained, by key ID, in the order asked."""
        ids = list(key_ids)
        if not ids:
            raise QkdRequestError("give at least one key ID")
        path = self._path(master_sae_id, "dec_keys")
        if method.upper() == "GET":
            if len(ids) != 1:
                raise QkdRequestError("GET dec_keys takes one key ID; use POST for more")
            doc = await self._call("GET", path, params={"key_ID": ids[0]})
        else:
            body = {"key_IDs": [{"key_ID": k} for k in ids]}
            doc = await self._call("POST", path, json_body=body)
        keys = decode_key_container(doc)
        if [k.key_id for k in keys] != [k.lower() for k in ids]:
            raise QkdProtocolError("the KME returned other key IDs than asked for")
        return keys

    # -- transport ---------------------------------------------------------------------------

    @staticmethod
    def _path(sae_id: str, method: str) -> str:
        check_sae_id(sae_id, "SAE ID", QkdRequestError)
        return f"{API_PREFIX}/{quote(sae_id, safe='')}/{method}"

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base / 2 + _JITTER.uniform(0, base / 2)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.url + path
        data = json.dumps(json_body).encode() if json_body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                async with self._session.request(
                    method, url, params=params, data=data, headers=headers, ssl=self._ssl
                ) as resp:
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
                    raw = await resp.content.read(_MAX_ANSWER + 1)
            except aiohttp.ClientSSLError as exc:
                raise QkdAuthError(
                    f"TLS with {self.url} failed: {exc}",
                    hint="check that --cert/--key are signed by the CA the KME trusts, and --ca",
                ) from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                msg = str(exc) or type(exc).__name__
                raise QkdConnectionError(
                    f"cannot reach KME {self.url}: {msg}",
                    hint="is the KME running, and does it accept this client certificate?",
                ) from None
            if len(raw) > _MAX_ANSWER:
                raise QkdProtocolError(f"answer from {url} is larger than {_MAX_ANSWER} bytes")
            if status == 503 and attempt < self.retries:
                await asyncio.sleep(self._delay(attempt, retry_after))
                attempt += 1
                continue
            return self._answer(status, raw, url, attempt)

    @staticmethod
    def _answer(status: int, raw: bytes, url: str, attempt: int) -> Any:
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if status == 200:
            if doc is None:
                raise QkdProtocolError(f"answer from {url} is not JSON")
            return doc
        message, details = "", []
        if isinstance(doc, dict):
            if isinstance(doc.get("message"), str):
                message = doc["message"]
            if isinstance(doc.get("details"), list):
                details = doc["details"]
        message = message or f"HTTP {status} without an ETSI 014 error body"
        cls: type[QkdError]
        if status == 400:
            cls = QkdRequestError
        elif status == 401:
            cls = QkdAuthError
        elif status == 503:
            cls = QkdUnavailableError
            message += f" (after {attempt + 1} attempts)"
        else:
            cls = QkdProtocolError
            message = f"unexpected HTTP {status} from the KME: {message}"
        suffix = f": {json.dumps(details)[:300]}" if details else ""
        raise cls(f"KME: {message}{suffix}", status=status, details=details)


class KmeClient:
    """Synchronous wrapper of :class:`AsyncKmeClient` (its own event loop; not thread-safe)."""

    def __init__(self, url: str, **kwargs: Any):
        self._client = AsyncKmeClient(url, **kwargs)
        self._runner = asyncio.Runner()

    def __enter__(self) -> KmeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self._client.close())
        self._runner.close()

    def status(self, slave_sae_id: str) -> Status:
        return self._runner.run(self._client.status(slave_sae_id))

    def get_key(self, slave_sae_id: str, **kwargs: Any) -> list[QkdKey]:
        return self._runner.run(self._client.get_key(slave_sae_id, **kwargs))

    def get_key_with_id(
        self, master_sae_id: str, key_ids: Sequence[str], *, method: str = "POST"
    ) -> list[QkdKey]:
        return self._runner.run(self._client.get_key_with_id(master_sae_id, key_ids, method=method))
