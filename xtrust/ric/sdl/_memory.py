"""In-process SDL back end: the default, no server needed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._glob import glob_match
from ._interface import Notification, Sdl, SdlError, Subscription, split_events

__all__ = ["MemorySdl"]

_Entry = bytes | set[bytes]


class MemorySdl(Sdl):
    """SDL kept in a dict, with the semantics of the Redis back end.

    Safe for any number of asyncio tasks: every operation yields to the event
    loop once *before* it runs, then runs to completion without awaiting, so
    it is atomic (``set_if`` and friends need no lock). Not for threads.
    Two instances share nothing; give the same instance to the components
    (RIC-lite, xApps) that must see the same data.
    """

    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._spaces: dict[str, dict[str, _Entry]] = {}
        self._listeners: dict[tuple[str, str], set[Subscription]] = {}

    # ------------------------------------------------------------- helpers
    def _space(self, ns: str) -> dict[str, _Entry]:
        return self._spaces.setdefault(ns, {})

    def _value(self, ns: str, key: str) -> bytes | None:
        """The value of ``key``; SdlError if it is a group (as Redis GET)."""
        entry = self._spaces.get(ns, {}).get(key)
        if isinstance(entry, set):
            raise SdlError(f"SDL key {key!r} in namespace {ns!r} holds a group, not a value")
        return entry

    def _group(self, ns: str, group: str) -> set[bytes] | None:
        entry = self._spaces.get(ns, {}).get(group)
        if isinstance(entry, bytes):
            raise SdlError(f"SDL key {group!r} in namespace {ns!r} holds a value, not a group")
        return entry

    def _drop(self, ns: str, key: str) -> bool:
        space = self._spaces.get(ns)
        if space is None or key not in space:
            return False
        del space[key]
        if not space:
            del self._spaces[ns]
        return True

    def _publish(self, ns: str, publish: list[tuple[str, str]]) -> None:
        for channel, payload in publish:
            note = Notification(channel, split_events(payload))
            for subscription in list(self._listeners.get((ns, channel), ())):
                subscription._deliver(note)

    # ------------------------------------------------------------- values
    async def _set(self, ns: str, data: dict[str, bytes], publish: list[tuple[str, str]]) -> None:
        await asyncio.sleep(0)
        if data:
            self._space(ns).update(data)
        self._publish(ns, publish)

    async def _set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        await asyncio.sleep(0)
        if self._value(ns, key) != old:
            return False
        self._space(ns)[key] = new
        return True

    async def _set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool:
        await asyncio.sleep(0)
        space = self._space(ns)
        if key in space:
            return False
        space[key] = value
        return True

    async def _get(self, ns: str, keys: list[str]) -> dict[str, bytes]:
        await asyncio.sleep(0)
        space = self._spaces.get(ns, {})
        found = {key: space.get(key) for key in keys}
        return {key: value for key, value in found.items() if isinstance(value, bytes)}

    async def _find_keys(self, ns: str, pattern: str) -> list[str]:
        await asyncio.sleep(0)
        wanted = pattern.encode()
        return [key for key in self._spaces.get(ns, {}) if glob_match(wanted, key.encode())]

    async def _remove(self, ns: str, keys: list[str], publish: list[tuple[str, str]]) -> None:
        await asyncio.sleep(0)
        removed = [self._drop(ns, key) for key in keys]
        if any(removed):
            self._publish(ns, publish)

    async def _remove_if(self, ns: str, key: str, value: bytes) -> bool:
        await asyncio.sleep(0)
        if self._value(ns, key) != value:
            return False
        return self._drop(ns, key)

    async def _remove_all(self, ns: str) -> None:
        await asyncio.sleep(0)
        self._spaces.pop(ns, None)

    # ------------------------------------------------------------- groups
    async def _add_member(self, ns: str, group: str, members: set[bytes]) -> None:
        await asyncio.sleep(0)
        existing = self._group(ns, group)
        if existing is None:
            self._space(ns)[group] = set(members)
        else:
            existing.update(members)

    async def _remove_member(self, ns: str, group: str, members: set[bytes]) -> None:
        await asyncio.sleep(0)
        existing = self._group(ns, group)
        if existing is not None:
            existing.difference_update(members)
            if not existing:
                self._drop(ns, group)

    async def _get_members(self, ns: str, group: str) -> set[bytes]:
        await asyncio.sleep(0)
        return set(self._group(ns, group) or ())

    async def _is_member(self, ns: str, group: str, member: bytes) -> bool:
        await asyncio.sleep(0)
        return member in (self._group(ns, group) or ())

    async def _group_size(self, ns: str, group: str) -> int:
        await asyncio.sleep(0)
        return len(self._group(ns, group) or ())

    # ------------------------------------------------------ notifications
    async def ping(self) -> None:
        if self._closed:
            raise SdlError("this in-memory SDL is closed")

    async def _subscribe(self, subscription: Subscription) -> Callable[[], Awaitable[None]]:
        await asyncio.sleep(0)
        slots = [(subscription.namespace, channel) for channel in subscription.channels]
        for slot in slots:
            self._listeners.setdefault(slot, set()).add(subscription)

        async def close() -> None:
            for slot in slots:
                listeners = self._listeners.get(slot)
                if listeners is not None:
                    listeners.discard(subscription)
                    if not listeners:
                        del self._listeners[slot]

        return close
