"""Shared Data Layer (SDL): the key-value store xApps and the RIC platform share.

The API and the data layout are O-RAN SC's (ricsdl / sdlgo ``SyncStorage``),
made asyncio-native::

    sdl = open_sdl()                        # memory, or Redis from the environment
    await sdl.set("myapp", {"cfg": b"..."})
    await sdl.set_if("myapp", "leader", b"", b"pod-1")       # atomic
    await sdl.add_member("myapp", "cells", {b"c1", b"c2"})
    async with await sdl.subscribe("myapp", "changes") as sub:
        async for note in sub:
            ...

Two back ends behind :class:`Sdl`:

* :class:`MemorySdl` - in-process, the default; nothing to install.
* :class:`RedisSdl` - Redis (the O-RAN SC DBaaS). A value ``v`` of key ``k`` in
  namespace ``ns`` is the Redis string ``{ns},k``, a group the Redis set
  ``{ns},group``, a channel ``{ns},channel``; several events published on one
  channel in one call travel as one message joined with ``___``. So an xApp
  using this module and one using ricsdl or sdlgo see the same data.

Which back end :func:`open_sdl` picks:

=============================== ==========================================
``open_sdl("memory://")``       :class:`MemorySdl`
``open_sdl("redis://h:p/db")``  :class:`RedisSdl` (also ``rediss://``, ``unix://``)
``open_sdl()``                  Redis at ``DBAAS_SERVICE_HOST``:``DBAAS_SERVICE_PORT``
                                (port 6379 if unset) when ``DBAAS_SERVICE_HOST``
                                is set - the variables O-RAN SC sets in every
                                xApp pod - else :class:`MemorySdl`
=============================== ==========================================

Not supported (yet): Redis Sentinel (``DBAAS_SERVICE_SENTINEL_PORT``,
``DBAAS_MASTER_NAME``) and several DBaaS instances
(``DBAAS_CLUSTER_ADDR_LIST``); with those set, :func:`open_sdl` logs a
warning and connects to ``DBAAS_SERVICE_HOST`` directly.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from xtrust.errors import ConfigError, InputError
from xtrust.log import get_logger

from ._glob import escape_glob, glob_match
from ._interface import (
    EVENT_SEPARATOR,
    ChannelsAndEvents,
    Notification,
    NotificationCallback,
    Sdl,
    SdlError,
    Subscription,
    redis_key,
)
from ._memory import MemorySdl
from ._redis import DEFAULT_PORT, RedisSdl

__all__ = [
    "EVENT_SEPARATOR",
    "ChannelsAndEvents",
    "MemorySdl",
    "Notification",
    "NotificationCallback",
    "RedisSdl",
    "Sdl",
    "SdlError",
    "Subscription",
    "escape_glob",
    "glob_match",
    "open_sdl",
    "redis_key",
]

log = get_logger("ric.sdl")

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def open_sdl(url: str | None = None) -> Sdl:
    """An SDL for ``url`` (see the module documentation); no I/O happens here.

    Raises :class:`~xtrust.errors.InputError` for a URL it does not know and
    :class:`~xtrust.errors.ConfigError` for a bad ``DBAAS_SERVICE_PORT``.
    """
    if url is None:
        return _from_environment()
    if not isinstance(url, str):
        raise InputError(f"SDL URL must be a string, got {url!r}")
    scheme = urlsplit(url).scheme.lower() if "://" in url else url.rstrip(":").lower()
    if scheme == "memory":
        return MemorySdl()
    if scheme in _REDIS_SCHEMES:
        return RedisSdl(url)
    raise InputError(
        f"unknown SDL URL {url!r}",
        hint="use memory:// or redis://HOST:PORT/DB (also rediss://, unix://)",
    )


def _from_environment() -> Sdl:
    host = os.environ.get("DBAAS_SERVICE_HOST", "").strip()
    if not host:
        return MemorySdl()
    raw_port = os.environ.get("DBAAS_SERVICE_PORT", "").strip()
    try:
        port = int(raw_port) if raw_port else DEFAULT_PORT
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"not a TCP port: {raw_port!r}", field="DBAAS_SERVICE_PORT", source="environment"
        ) from None
    for name in ("DBAAS_SERVICE_SENTINEL_PORT", "DBAAS_MASTER_NAME", "DBAAS_CLUSTER_ADDR_LIST"):
        if os.environ.get(name):
            log.warning("%s is set but not supported; using Redis at %s:%d", name, host, port)
    return RedisSdl(host=host, port=port)
