"""Redis SDL back end (redis.asyncio): the same data layout as O-RAN SC DBaaS.

Keys are ``{<namespace>},<key>`` and channels ``{<namespace>},<channel>``, so
ricsdl/sdlgo clients and this one share data. The conditional and
publishing writes run as Lua scripts (atomic on any Redis, with or without
the DBaaS module); every key of one call lives in the namespace's hash slot,
so they also work on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from xtrust.errors import InputError

from ._glob import escape_glob
from ._interface import Notification, Sdl, SdlError, Subscription, redis_key, split_events

__all__ = ["RedisSdl"]

DEFAULT_PORT = 6379

# KEYS[1]: key. ARGV: old, new. 1 if replaced.
_SET_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS[1]: key. ARGV[1]: expected value. 1 if removed.
_REMOVE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: keys to set. ARGV: one value per key, then channel, payload pairs.
_SET_AND_PUBLISH = """
local n = #KEYS
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[i])
end
for i = n + 1, #ARGV, 2 do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
end
return n
"""

# KEYS: keys to delete. ARGV: channel, payload pairs, published if any key existed.
_REMOVE_AND_PUBLISH = """
local removed = redis.call('DEL', unpack(KEYS))
if removed > 0 then
  for i = 1, #ARGV, 2 do
    redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  end
end
return removed
"""

_SCAN_COUNT = 1000
_DELETE_BATCH = 500


class RedisSdl(Sdl):
    """SDL on a Redis server.

    ``RedisSdl("redis://host:6379/0")`` or ``RedisSdl(host=..., port=...)``.
    Connections are opened lazily; :meth:`ping` checks the server now. Any
    failure to reach the server raises :class:`SdlError` with a one-line
    message naming the address. ``retries`` reconnection attempts (with a
    short backoff) are made per command before giving up.
    """

    backend = "redis"

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        db: int = 0,
        password: str | None = None,
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        super().__init__()
        if url is not None and (host is not None or port is not None):
            raise InputError("give RedisSdl either a URL or host/port, not both")
        self._timeout = timeout
        options: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": timeout,
            "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), retries),
            "decode_responses": False,
        }
        if url is not None:
            self._address = _display_url(url)
            try:
                self._client = aioredis.Redis.from_url(url, **options)
            except ValueError as exc:
                raise InputError(f"bad Redis URL {self._address!r}: {exc}") from exc
        else:
            host = host or "localhost"
            port = DEFAULT_PORT if port is None else port
            if not isinstance(port, int) or not 0 < port < 65536:
                raise InputError(f"Redis port must be 1..65535, got {port!r}")
            self._address = f"redis://{_bracket_host(host)}:{port}/{db}"
            self._client = aioredis.Redis(host=host, port=port, db=db, password=password, **options)
        self._set_if_script = self._client.register_script(_SET_IF)
        self._remove_if_script = self._client.register_script(_REMOVE_IF)
        self._set_pub_script = self._client.register_script(_SET_AND_PUBLISH)
        self._remove_pub_script = self._client.register_script(_REMOVE_AND_PUBLISH)

    def describe(self) -> str:
        return self._address

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
            raise SdlError(
                f"cannot reach Redis at {self._address}: {_reason(exc)}",
                hint="start Redis there, or point the SDL elsewhere "
                "(URL, or DBAAS_SERVICE_HOST / DBAAS_SERVICE_PORT)",
            ) from exc
        except redis_errors.ResponseError as exc:
            raise SdlError(f"Redis at {self._address} refused {what}: {_reason(exc)}") from exc
        except redis_errors.RedisError as exc:
            raise SdlError(f"Redis at {self._address} failed {what}: {_reason(exc)}") from exc

    # ------------------------------------------------------------- values
    async def _set(self, ns: str, data: dict[str, bytes], publish: list[tuple[str, str]]) -> None:
        keys = [redis_key(ns, key) for key in data]
        with self._errors("SET"):
            if not publish:
                await self._client.mset(dict(zip(keys, data.values(), strict=True)))
                return
            args: list[bytes | str] = list(data.values())
            for channel, payload in publish:
                args += [redis_key(ns, channel), payload]
            await self._set_pub_script(keys=keys, args=args)

    async def _set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        with self._errors("SET IF"):
            return bool(await self._set_if_script(keys=[redis_key(ns, key)], args=[old, new]))

    async def _set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool:
        with self._errors("SET IF NOT EXISTS"):
            return bool(await self._client.set(redis_key(ns, key), value, nx=True))

    async def _get(self, ns: str, keys: list[str]) -> dict[str, bytes]:
        with self._errors("MGET"):
            values = cast(
                "list[bytes | None]", await self._client.mget([redis_key(ns, key) for key in keys])
            )
        return {key: value for key, value in zip(keys, values, strict=True) if value is not None}

    async def _scan(self, ns: str, pattern: str) -> AsyncIterator[bytes]:
        match = escape_glob(redis_key(ns, "")) + pattern
        with self._errors("SCAN"):
            async for raw in self._client.scan_iter(match=match, count=_SCAN_COUNT):
                yield raw

    async def _find_keys(self, ns: str, pattern: str) -> list[str]:
        prefix = redis_key(ns, "").encode()
        found: set[str] = set()
        async for raw in self._scan(ns, pattern):  # SCAN may repeat a key
            try:
                found.add(raw[len(prefix) :].decode())
            except UnicodeDecodeError:
                continue  # not written through an SDL; it cannot be addressed as str
        return list(found)

    async def _remove(self, ns: str, keys: list[str], publish: list[tuple[str, str]]) -> None:
        full = [redis_key(ns, key) for key in keys]
        with self._errors("DEL"):
            if not publish:
                await self._client.delete(*full)
                return
            args: list[str] = []
            for channel, payload in publish:
                args += [redis_key(ns, channel), payload]
            await self._remove_pub_script(keys=full, args=args)

    async def _remove_if(self, ns: str, key: str, value: bytes) -> bool:
        with self._errors("DEL IF"):
            return bool(await self._remove_if_script(keys=[redis_key(ns, key)], args=[value]))

    async def _remove_all(self, ns: str) -> None:
        batch: list[bytes] = []
        async for raw in self._scan(ns, "*"):
            batch.append(raw)
            if len(batch) >= _DELETE_BATCH:
                with self._errors("DEL"):
                    await self._client.delete(*batch)
                batch = []
        if batch:
            with self._errors("DEL"):
                await self._client.delete(*batch)

    # ------------------------------------------------------------- groups
    async def _add_member(self, ns: str, group: str, members: set[bytes]) -> None:
        with self._errors("SADD"):
            await self._client.sadd(redis_key(ns, group), *members)

    async def _remove_member(self, ns: str, group: str, members: set[bytes]) -> None:
        with self._errors("SREM"):
            await self._client.srem(redis_key(ns, group), *members)

    async def _get_members(self, ns: str, group: str) -> set[bytes]:
        with self._errors("SMEMBERS"):
            return cast("set[bytes]", await self._client.smembers(redis_key(ns, group)))

    async def _is_member(self, ns: str, group: str, member: bytes) -> bool:
        with self._errors("SISMEMBER"):
            found = self._client.sismember(redis_key(ns, group), cast(Any, member))
            return bool(await found)

    async def _group_size(self, ns: str, group: str) -> int:
        with self._errors("SCARD"):
            return int(await self._client.scard(redis_key(ns, group)))

    # ------------------------------------------------------ notifications
    async def _subscribe(self, subscription: Subscription) -> Callable[[], Awaitable[None]]:
        ns = subscription.namespace
        prefix = redis_key(ns, "").encode()
        channels = [redis_key(ns, channel).encode() for channel in subscription.channels]
        pubsub: PubSub = self._client.pubsub()

        def deliver(message: dict[str, Any]) -> None:
            if message.get("type") != "message":
                return
            channel, data = message["channel"], message["data"]
            subscription._deliver(
                Notification(
                    channel[len(prefix) :].decode(errors="replace"),
                    split_events(data.decode(errors="replace")),
                )
            )

        try:
            with self._errors("SUBSCRIBE"):
                await pubsub.subscribe(*channels)
                # Wait for the server's confirmations: after them, a publish
                # from any connection reaches this subscription.
                pending = set(channels)
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self._timeout
                while pending:
                    left = deadline - loop.time()
                    if left <= 0:
                        raise SdlError(f"Redis at {self._address} did not confirm SUBSCRIBE")
                    message = await pubsub.get_message(timeout=left)
                    if message is None:
                        continue
                    if message.get("type") == "subscribe":
                        pending.discard(message["channel"])
                    else:
                        deliver(message)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise

        async def pump() -> None:
            try:
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None:
                        deliver(message)
            except (redis_errors.RedisError, OSError) as exc:
                subscription._fail(
                    SdlError(
                        f"lost the notification connection to Redis at {self._address}: "
                        f"{_reason(exc)}"
                    )
                )

        task = asyncio.get_running_loop().create_task(pump(), name=f"sdl-redis-sub-{ns}")

        async def close() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            with contextlib.suppress(Exception):
                await pubsub.aclose()

        return close

    # -------------------------------------------------------- lifecycle
    async def ping(self) -> None:
        with self._errors("PING"):
            await self._client.ping()

    async def close(self) -> None:
        if self._closed:
            return
        await super().close()
        with contextlib.suppress(Exception):
            await self._client.aclose()


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.rstrip(".")


def _bracket_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _display_url(url: str) -> str:
    """``url`` without its password (for messages)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = unquote(parts.username or "")
        netloc = (f"{user}:***@" if user else ":***@") + (
            parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
        )
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<unparsable Redis URL>"
