"""The SDL interface shared by every back end: :class:`Sdl`, notifications, errors.

Public methods validate their arguments here, once, and call the back end's
``_``-prefixed primitives with clean values; a back end never sees an empty
namespace, a non-bytes value or an ill-formed event.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from xtrust.errors import InputError, XTrustError
from xtrust.log import get_logger

__all__ = [
    "EVENT_SEPARATOR",
    "ChannelsAndEvents",
    "Notification",
    "NotificationCallback",
    "Sdl",
    "SdlError",
    "Subscription",
    "redis_key",
]

log = get_logger("ric.sdl")

EVENT_SEPARATOR = "___"
"""Joins several events published on one channel in one message (as sdlgo does)."""

ChannelsAndEvents = Mapping[str, str | Sequence[str]]
"""``{channel: event}`` or ``{channel: [event, ...]}`` for the ``*_and_publish`` calls."""


class SdlError(XTrustError):
    """The SDL back end failed: unreachable, refused the request, or a key of the wrong kind."""


@dataclass(frozen=True, slots=True)
class Notification:
    """Events published on a channel of a namespace (channel without the namespace)."""

    channel: str
    events: tuple[str, ...]


NotificationCallback = Callable[[Notification], Awaitable[None] | None]
"""Called (or awaited) once per :class:`Notification` of a subscription."""


def redis_key(namespace: str, key: str) -> str:
    """The Redis key of ``key`` in ``namespace``: ``{<namespace>},<key>``.

    This is the format of O-RAN SC's SDL libraries (ricsdl, sdlgo) and DBaaS;
    the braces are a Redis Cluster hash tag, so all keys of a namespace live in
    one slot and multi-key operations stay atomic. Channels use the same prefix.
    """
    return "{" + namespace + "}," + key


# ---------------------------------------------------------------- validation


def check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise InputError(f"SDL namespace must be a non-empty string, got {namespace!r}")
    if "{" in namespace or "}" in namespace:
        # "{a},{b},x" must decode one way only, or two namespaces could collide.
        raise InputError(f"SDL namespace must not contain '{{' or '}}': {namespace!r}")
    return namespace


def check_key(key: object, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InputError(f"SDL {what} must be a non-empty string, got {key!r}")
    return key


def check_keys(keys: str | Iterable[str]) -> list[str]:
    """A list of valid keys, without duplicates, in first-seen order (a str is one key)."""
    if isinstance(keys, str):
        return [check_key(keys)]
    if isinstance(keys, bytes | bytearray) or not isinstance(keys, Iterable):
        raise InputError(f"SDL keys must be a string or an iterable of strings, got {keys!r}")
    return list(dict.fromkeys(check_key(key) for key in keys))


def check_value(value: object, key: str) -> bytes:
    if not isinstance(value, bytes):
        raise InputError(
            f"SDL value of key {key!r} must be bytes, got {type(value).__name__}",
            hint="encode text with .encode() and structured data with JSON or protobuf",
        )
    return value


def check_data(data: object) -> dict[str, bytes]:
    if not isinstance(data, Mapping):
        raise InputError(f"SDL data must be a mapping of keys to bytes, got {type(data).__name__}")
    return {check_key(key): check_value(value, key) for key, value in data.items()}


def check_members(members: bytes | Iterable[bytes], group: str) -> set[bytes]:
    """A set of members (a single bytes value is one member)."""
    if isinstance(members, bytes):
        return {members}
    if not isinstance(members, Iterable) or isinstance(members, str | bytearray):
        raise InputError(f"members of SDL group {group!r} must be bytes, got {members!r}")
    result = set()
    for member in members:
        if not isinstance(member, bytes):
            raise InputError(
                f"members of SDL group {group!r} must be bytes, got {type(member).__name__}"
            )
        result.add(member)
    return result


def check_channels(channels: str | Iterable[str]) -> list[str]:
    if isinstance(channels, str):
        channels = [channels]
    if not isinstance(channels, Iterable) or isinstance(channels, bytes | bytearray):
        raise InputError(f"SDL channels must be strings, got {channels!r}")
    result = list(dict.fromkeys(check_key(channel, "channel") for channel in channels))
    if not result:
        raise InputError("subscribe needs at least one channel")
    return result


def check_channels_and_events(channels_and_events: object) -> list[tuple[str, str]]:
    """``[(channel, payload)]``: the events of each channel joined by ``___``."""
    if not isinstance(channels_and_events, Mapping):
        raise InputError(
            "channels_and_events must be a mapping of channel to event(s), "
            f"got {type(channels_and_events).__name__}"
        )
    result = []
    for channel, events in channels_and_events.items():
        check_key(channel, "channel")
        listed = [events] if isinstance(events, str) else events
        if not isinstance(listed, Sequence) or not listed:
            raise InputError(f"events of SDL channel {channel!r} must be a non-empty string list")
        for event in listed:
            if not isinstance(event, str) or not event:
                raise InputError(
                    f"an event of SDL channel {channel!r} must be a non-empty string, got {event!r}"
                )
            if EVENT_SEPARATOR in event:
                raise InputError(
                    f"SDL event {event!r} contains the reserved separator {EVENT_SEPARATOR!r}"
                )
        result.append((channel, EVENT_SEPARATOR.join(listed)))
    return result


def split_events(payload: str) -> tuple[str, ...]:
    return tuple(payload.split(EVENT_SEPARATOR))


# -------------------------------------------------------------- subscriptions

_END = object()


class Subscription:
    """Notifications on one or more channels of a namespace.

    Without a callback, iterate it (``async for note in sub``) or ``await
    sub.get()``; with a callback, a task calls the callback for each
    notification in order (an exception in the callback is logged, and the
    next notification still comes). The subscription is active on the server
    when :meth:`Sdl.subscribe` returns, so a later publish always reaches it.
    Close it (or the SDL, or leave an ``async with``) to stop.
    """

    def __init__(
        self, namespace: str, channels: Sequence[str], callback: NotificationCallback | None
    ) -> None:
        self.namespace = namespace
        self.channels = tuple(channels)
        self._callback = callback
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._closed = False
        self._closer: Callable[[], Awaitable[None]] | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    # -- back-end side
    def _start(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closer = closer
        if self._callback is not None:
            self._dispatcher = asyncio.get_running_loop().create_task(
                self._dispatch(self._callback), name=f"sdl-notify-{self.namespace}"
            )

    def _deliver(self, notification: Notification) -> None:
        if not self._closed:
            self._queue.put_nowait(notification)

    def _fail(self, error: SdlError) -> None:
        if not self._closed:
            self._queue.put_nowait(error)

    async def _dispatch(self, callback: NotificationCallback) -> None:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, SdlError):
                log.error("SDL subscription %s ended: %s", self.channels, item)
                return
            assert isinstance(item, Notification)
            try:
                result = callback(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("SDL notification callback failed on %s", item.channel)

    # -- user side
    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Notification:
        if self._callback is not None:
            raise InputError("this subscription delivers to its callback; it cannot be iterated")
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # later calls end too
            raise StopAsyncIteration
        if isinstance(item, SdlError):
            self._queue.put_nowait(item)
            raise item
        assert isinstance(item, Notification)
        return item

    async def get(self, timeout: float | None = None) -> Notification:
        """The next notification; ``TimeoutError`` after ``timeout`` seconds, ``SdlError``
        if the subscription failed, ``EOFError`` if it is closed."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except StopAsyncIteration:
            raise EOFError("the SDL subscription is closed") from None

    async def close(self) -> None:
        """Unsubscribe (idempotent). Pending iteration ends."""
        if self._closed:
            return
        self._closed = True
        closer, self._closer = self._closer, None
        try:
            if closer is not None:
                await closer()
        finally:
            self._queue.put_nowait(_END)
            if self._dispatcher is not None:
                self._dispatcher.cancel()
                await asyncio.gather(self._dispatcher, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


# -------------------------------------------------------------------- the ABC


class Sdl(ABC):
    """Shared Data Layer: namespaced bytes values, groups and notifications.

    Semantics are those of O-RAN SC's ricsdl/sdlgo ``SyncStorage``: every call
    names a namespace; keys are non-empty strings; values and group members
    are bytes. :meth:`get` returns only the keys that exist. Patterns of
    :meth:`find_keys` are Redis glob patterns (see :func:`escape_glob`).
    Groups and values share the key space of a namespace: a group operation on
    a value key (or the reverse) raises :class:`SdlError`, as in Redis.
    """

    backend: str = "abstract"

    def __init__(self) -> None:
        self._subscriptions: builtins.set[Subscription] = set()
        self._closed = False

    # ----------------------------------------------------------- values
    async def set(self, ns: str, data: Mapping[str, bytes]) -> None:
        """Write all key/value pairs atomically."""
        ns, items = check_namespace(ns), check_data(data)
        if items:
            await self._set(ns, items, [])

    async def set_and_publish(
        self, ns: str, channels_and_events: ChannelsAndEvents, data: Mapping[str, bytes]
    ) -> None:
        """Write ``data`` and publish the events, atomically (``data`` may be empty)."""
        ns, items = check_namespace(ns), check_data(data)
        publish = check_channels_and_events(channels_and_events)
        if items or publish:
            await self._set(ns, items, publish)

    async def set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        """Replace the value of ``key`` by ``new`` if it is ``old`` (atomic compare-and-set)."""
        ns, key = check_namespace(ns), check_key(key)
        return await self._set_if(ns, key, check_value(old, key), check_value(new, key))

    async def set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool:
        """Write ``key`` only if it does not exist (in any form); True if written."""
        ns, key = check_namespace(ns), check_key(key)
        return await self._set_if_not_exists(ns, key, check_value(value, key))

    async def get(self, ns: str, keys: str | Iterable[str]) -> dict[str, bytes]:
        """The values of those ``keys`` that hold a value (missing keys are left out)."""
        ns, names = check_namespace(ns), check_keys(keys)
        return await self._get(ns, names) if names else {}

    async def find_keys(self, ns: str, pattern: str = "*") -> list[str]:
        """Sorted keys of ``ns`` (values and groups) matching the glob ``pattern``."""
        ns = check_namespace(ns)
        if not isinstance(pattern, str):
            raise InputError(f"SDL key pattern must be a string, got {pattern!r}")
        return sorted(await self._find_keys(ns, pattern))

    async def find_and_get(self, ns: str, pattern: str = "*") -> dict[str, bytes]:
        """Values of the keys matching ``pattern`` (not atomic, as in ricsdl)."""
        keys = await self.find_keys(ns, pattern)
        return await self._get(ns, keys) if keys else {}

    async def remove(self, ns: str, keys: str | Iterable[str]) -> None:
        """Remove keys (values or groups); missing keys are not an error."""
        ns, names = check_namespace(ns), check_keys(keys)
        if names:
            await self._remove(ns, names, [])

    async def remove_and_publish(
        self, ns: str, channels_and_events: ChannelsAndEvents, keys: str | Iterable[str]
    ) -> None:
        """Remove keys and, if at least one existed, publish the events (atomic)."""
        ns, names = check_namespace(ns), check_keys(keys)
        publish = check_channels_and_events(channels_and_events)
        if names:
            await self._remove(ns, names, publish)

    async def remove_if(self, ns: str, key: str, value: bytes) -> bool:
        """Remove ``key`` if it holds ``value`` (atomic); True if removed."""
        ns, key = check_namespace(ns), check_key(key)
        return await self._remove_if(ns, key, check_value(value, key))

    async def remove_all(self, ns: str) -> None:
        """Remove every key of the namespace (not atomic, as in ricsdl)."""
        await self._remove_all(check_namespace(ns))

    # ----------------------------------------------------------- groups
    async def add_member(self, ns: str, group: str, members: bytes | Iterable[bytes]) -> None:
        """Add members to a group (created on demand); duplicates are ignored."""
        ns, group = check_namespace(ns), check_key(group, "group")
        found = check_members(members, group)
        if found:
            await self._add_member(ns, group, found)

    async def remove_member(self, ns: str, group: str, members: bytes | Iterable[bytes]) -> None:
        """Remove members; the group disappears with its last member."""
        ns, group = check_namespace(ns), check_key(group, "group")
        found = check_members(members, group)
        if found:
            await self._remove_member(ns, group, found)

    async def get_members(self, ns: str, group: str) -> builtins.set[bytes]:
        return await self._get_members(check_namespace(ns), check_key(group, "group"))

    async def is_member(self, ns: str, group: str, member: bytes) -> bool:
        ns, group = check_namespace(ns), check_key(group, "group")
        if not isinstance(member, bytes):
            raise InputError(f"a member of SDL group {group!r} must be bytes, got {member!r}")
        return await self._is_member(ns, group, member)

    async def group_size(self, ns: str, group: str) -> int:
        return await self._group_size(check_namespace(ns), check_key(group, "group"))

    async def remove_group(self, ns: str, group: str) -> None:
        ns, group = check_namespace(ns), check_key(group, "group")
        await self._remove(ns, [group], [])

    # ---------------------------------------------------- notifications
    async def subscribe(
        self,
        ns: str,
        channels: str | Iterable[str],
        callback: NotificationCallback | None = None,
    ) -> Subscription:
        """Subscribe to channels of ``ns``; see :class:`Subscription`."""
        ns, names = check_namespace(ns), check_channels(channels)
        if callback is not None and not callable(callback):
            raise InputError(f"SDL notification callback must be callable, got {callback!r}")
        if self._closed:
            raise SdlError(f"this SDL ({self.describe()}) is closed")
        subscription = Subscription(ns, names, callback)
        closer = await self._subscribe(subscription)

        async def close() -> None:
            self._subscriptions.discard(subscription)
            await closer()

        subscription._start(close)
        self._subscriptions.add(subscription)
        return subscription

    # -------------------------------------------------------- lifecycle
    @abstractmethod
    async def ping(self) -> None:
        """Check the back end answers; raises :class:`SdlError` if not."""

    async def is_connected(self) -> bool:
        try:
            await self.ping()
        except SdlError:
            return False
        return True

    def describe(self) -> str:
        """Where the data lives, for messages (never contains a password)."""
        return self.backend

    async def close(self) -> None:
        """Close subscriptions and connections (idempotent)."""
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    # ------------------------------------------- back-end primitives
    @abstractmethod
    async def _set(self, ns: str, data: dict[str, bytes], publish: list[tuple[str, str]]) -> None:
        """Write ``data`` and publish ``[(channel, payload)]`` atomically."""

    @abstractmethod
    async def _set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool: ...

    @abstractmethod
    async def _set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool: ...

    @abstractmethod
    async def _get(self, ns: str, keys: list[str]) -> dict[str, bytes]: ...

    @abstractmethod
    async def _find_keys(self, ns: str, pattern: str) -> list[str]: ...

    @abstractmethod
    async def _remove(self, ns: str, keys: list[str], publish: list[tuple[str, str]]) -> None:
        """Remove keys; publish only if at least one existed."""

    @abstractmethod
    async def _remove_if(self, ns: str, key: str, value: bytes) -> bool: ...

    @abstractmethod
    async def _remove_all(self, ns: str) -> None: ...

    @abstractmethod
    async def _add_member(self, ns: str, group: str, members: builtins.set[bytes]) -> None: ...

    @abstractmethod
    async def _remove_member(self, ns: str, group: str, members: builtins.set[bytes]) -> None: ...

    @abstractmethod
    async def _get_members(self, ns: str, group: str) -> builtins.set[bytes]: ...

    @abstractmethod
    async def _is_member(self, ns: str, group: str, member: bytes) -> bool: ...

    @abstractmethod
    async def _group_size(self, ns: str, group: str) -> int: ...

    @abstractmethod
    async def _subscribe(self, subscription: Subscription) -> Callable[[], Awaitable[None]]:
        """Make the subscription active, feed it via ``_deliver``/``_fail``; return its closer."""
