"""Shared Data Layer: one contract, checked on the memory and on a real Redis back end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtrust.errors import ConfigError, InputError
from xtrust.ric.sdl import (
    MemorySdl,
    Notification,
    RedisSdl,
    Sdl,
    SdlError,
    escape_glob,
    glob_match,
    open_sdl,
    redis_key,
)

from .conftest import RedisServer, SdlFactory

T = TypeVar("T")


def run(factory: SdlFactory, body: Callable[[Sdl], Awaitable[T]]) -> T:
    """Run ``body(sdl)`` in a fresh event loop with a fresh SDL, then close it."""

    async def main() -> T:
        sdl = factory()
        try:
            return await body(sdl)
        finally:
            await sdl.close()

    return asyncio.run(main())


def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# =========================================================================
# The contract, on both back ends
# =========================================================================


class TestValues:
    def test_set_then_get_returns_only_existing_keys(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> dict[str, bytes]:
            await sdl.set("app", {"a": b"1", "b": b"\x00\xff", "empty": b""})
            return await sdl.get("app", ["a", "b", "empty", "missing"])

        assert run(sdl_factory, body) == {"a": b"1", "b": b"\x00\xff", "empty": b""}

    def test_get_with_one_key_string_and_overwrite(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> tuple[dict[str, bytes], dict[str, bytes]]:
            await sdl.set("app", {"key": b"old"})
            await sdl.set("app", {"key": b"new"})
            return await sdl.get("app", "key"), await sdl.get("app", [])

        assert run(sdl_factory, body) == ({"key": b"new"}, {})

    def test_set_if(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[object]:
            await sdl.set("app", {"k": b"v1"})
            return [
                await sdl.set_if("app", "k", b"wrong", b"v2"),
                await sdl.get("app", "k"),
                await sdl.set_if("app", "k", b"v1", b"v2"),
                await sdl.get("app", "k"),
                await sdl.set_if("app", "absent", b"", b"x"),
                await sdl.get("app", "absent"),
            ]

        assert run(sdl_factory, body) == [False, {"k": b"v1"}, True, {"k": b"v2"}, False, {}]

    def test_set_if_not_exists(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[object]:
            first = await sdl.set_if_not_exists("app", "k", b"first")
            second = await sdl.set_if_not_exists("app", "k", b"second")
            return [first, second, await sdl.get("app", "k")]

        assert run(sdl_factory, body) == [True, False, {"k": b"first"}]

    def test_remove_and_remove_if(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[object]:
            await sdl.set("app", {"a": b"1", "b": b"2", "c": b"3"})
            await sdl.remove("app", ["a", "never-there"])
            kept = await sdl.remove_if("app", "b", b"not-2")
            removed = await sdl.remove_if("app", "b", b"2")
            again = await sdl.remove_if("app", "b", b"2")
            return [kept, removed, again, await sdl.find_keys("app")]

        assert run(sdl_factory, body) == [False, True, False, ["c"]]

    def test_find_and_get_leaves_out_groups(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> tuple[list[str], dict[str, bytes]]:
            await sdl.set("app", {"cell:1": b"x", "cell:2": b"y", "other": b"z"})
            await sdl.add_member("app", "cell:group", b"m")
            return await sdl.find_keys("app", "cell:*"), await sdl.find_and_get("app", "cell:*")

        keys, values = run(sdl_factory, body)
        assert keys == ["cell:1", "cell:2", "cell:group"]
        assert values == {"cell:1": b"x", "cell:2": b"y"}

    def test_namespaces_are_isolated(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[object]:
            await sdl.set("one", {"k": b"1", "only-one": b"x"})
            await sdl.set("two", {"k": b"2"})
            await sdl.add_member("two", "g", b"m")
            before = [await sdl.get("one", "k"), await sdl.get("two", "k")]
            await sdl.remove_all("one")
            return [
                *before,
                await sdl.find_keys("one"),
                await sdl.find_keys("two"),
                await sdl.get_members("two", "g"),
            ]

        assert run(sdl_factory, body) == [{"k": b"1"}, {"k": b"2"}, [], ["g", "k"], {b"m"}]

    def test_namespace_with_glob_characters_does_not_leak(self, sdl_factory: SdlFactory) -> None:
        # ricsdl puts the namespace into the KEYS pattern unescaped, so the
        # namespace "a*" would also see "ab"'s keys; ours escapes it.
        namespaces = ["a*", "ab", "a?", "a[b]", "a\\", "a,b", "x"]

        async def body(sdl: Sdl) -> dict[str, list[str]]:
            for ns in namespaces:
                await sdl.set(ns, {f"key-of-{ns}": b"v"})
            await sdl.remove_all("a?")
            return {ns: await sdl.find_keys(ns) for ns in namespaces}

        found = run(sdl_factory, body)
        expected = {ns: [f"key-of-{ns}"] for ns in namespaces}
        expected["a?"] = []
        assert found == expected

    def test_keys_with_special_characters(self, sdl_factory: SdlFactory) -> None:
        keys = ["a*b", "a?b", "a[b]", "a\\b", "a{b}", "a,b", "a b", "ä:ß", "axb", "a]b", "a^b"]

        async def body(sdl: Sdl) -> dict[str, list[str]]:
            await sdl.set("app", {key: key.encode() for key in keys})
            found = {key: await sdl.find_keys("app", escape_glob(key)) for key in keys}
            values = await sdl.get("app", keys)
            assert values == {key: key.encode() for key in keys}
            return found

        assert run(sdl_factory, body) == {key: [key] for key in keys}

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("*", ["ab", "abc", "b", "bc", "c1", "c2", "ca"]),
            ("a*", ["ab", "abc"]),
            ("?", ["b"]),
            ("??", ["ab", "bc", "c1", "c2", "ca"]),
            ("c[0-9]", ["c1", "c2"]),
            ("c[^0-9]", ["ca"]),
            ("c[21]", ["c1", "c2"]),
            ("[ab]*c", ["abc", "bc"]),
            ("*c", ["abc", "bc"]),
            ("nothing*", []),
        ],
    )
    def test_find_keys_patterns(
        self, sdl_factory: SdlFactory, pattern: str, expected: list[str]
    ) -> None:
        async def body(sdl: Sdl) -> list[str]:
            await sdl.set("app", {k: b"" for k in ["ab", "abc", "b", "bc", "c1", "c2", "ca"]})
            return await sdl.find_keys("app", pattern)

        assert run(sdl_factory, body) == expected


class TestGroups:
    def test_group_lifecycle(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[object]:
            await sdl.add_member("app", "g", {b"a", b"b"})
            await sdl.add_member("app", "g", [b"b", b"c"])  # duplicate b ignored
            state = [
                await sdl.get_members("app", "g"),
                await sdl.group_size("app", "g"),
                await sdl.is_member("app", "g", b"a"),
                await sdl.is_member("app", "g", b"z"),
            ]
            await sdl.remove_member("app", "g", b"a")
            state.append(await sdl.get_members("app", "g"))
            await sdl.remove_member("app", "g", {b"b", b"c"})
            state += [await sdl.find_keys("app"), await sdl.group_size("app", "g")]
            await sdl.add_member("app", "h", b"x")
            await sdl.remove_group("app", "h")
            state += [await sdl.get_members("app", "h"), await sdl.is_member("app", "h", b"x")]
            return state

        assert run(sdl_factory, body) == [
            {b"a", b"b", b"c"},
            3,
            True,
            False,
            {b"b", b"c"},
            [],  # the group went away with its last member
            0,
            set(),
            False,
        ]

    def test_value_and_group_keys_do_not_mix(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[str]:
            await sdl.set("app", {"value": b"v"})
            await sdl.add_member("app", "group", b"m")
            failures = []
            for name, call in [
                ("add_member", sdl.add_member("app", "value", b"m")),
                ("get_members", sdl.get_members("app", "value")),
                ("is_member", sdl.is_member("app", "value", b"m")),
                ("group_size", sdl.group_size("app", "value")),
                ("set_if", sdl.set_if("app", "group", b"x", b"y")),
                ("remove_if", sdl.remove_if("app", "group", b"x")),
            ]:
                try:
                    await call
                except SdlError:
                    failures.append(name)
            assert await sdl.get("app", ["value", "group"]) == {"value": b"v"}
            assert not await sdl.set_if_not_exists("app", "group", b"x")
            return failures

        assert run(sdl_factory, body) == [
            "add_member",
            "get_members",
            "is_member",
            "group_size",
            "set_if",
            "remove_if",
        ]


class TestAtomicity:
    def test_concurrent_set_if_has_exactly_one_winner(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> tuple[list[bool], dict[str, bytes]]:
            await sdl.set("app", {"leader": b"none"})
            results = await asyncio.gather(
                *(sdl.set_if("app", "leader", b"none", f"task-{i}".encode()) for i in range(40))
            )
            return list(results), await sdl.get("app", "leader")

        results, final = run(sdl_factory, body)
        assert results.count(True) == 1
        assert final == {"leader": f"task-{results.index(True)}".encode()}

    def test_compare_and_set_counter_loses_no_update(self, sdl_factory: SdlFactory) -> None:
        tasks, rounds = 10, 5

        async def increment(sdl: Sdl) -> None:
            for _ in range(rounds):
                while True:
                    current = (await sdl.get("app", "n"))["n"]
                    if await sdl.set_if("app", "n", current, str(int(current) + 1).encode()):
                        break

        async def body(sdl: Sdl) -> dict[str, bytes]:
            await sdl.set("app", {"n": b"0"})
            await asyncio.gather(*(increment(sdl) for _ in range(tasks)))
            return await sdl.get("app", "n")

        assert run(sdl_factory, body) == {"n": str(tasks * rounds).encode()}

    def test_concurrent_set_if_not_exists_and_remove_if(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> tuple[list[bool], list[bool]]:
            created = await asyncio.gather(
                *(sdl.set_if_not_exists("app", "lock", f"{i}".encode()) for i in range(30))
            )
            owner = (await sdl.get("app", "lock"))["lock"]
            removed = await asyncio.gather(
                *(sdl.remove_if("app", "lock", owner) for _ in range(30))
            )
            return list(created), list(removed)

        created, removed = run(sdl_factory, body)
        assert created.count(True) == 1
        assert removed.count(True) == 1


class TestNotifications:
    def test_set_and_publish_reaches_a_subscriber_of_another_client(
        self, sdl_factory: SdlFactory
    ) -> None:
        async def body(sdl: Sdl) -> tuple[list[Notification], dict[str, bytes]]:
            publisher = sdl_factory()
            try:
                sub = await sdl.subscribe("app", ["changes", "other"])
                await publisher.set_and_publish(
                    "app", {"changes": ["cell1_UP", "cell2_UP"]}, {"cell1": b"up"}
                )
                await publisher.set_and_publish("app", {"other": "x"}, {})
                notes = [await sub.get(timeout=5), await sub.get(timeout=5)]
                return notes, await sdl.get("app", "cell1")
            finally:
                if publisher is not sdl:
                    await publisher.close()

        notes, data = run(sdl_factory, body)
        assert notes == [
            Notification("changes", ("cell1_UP", "cell2_UP")),
            Notification("other", ("x",)),
        ]
        assert data == {"cell1": b"up"}

    def test_channels_are_namespaced(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> Notification:
            async with await sdl.subscribe("mine", "ch") as sub:
                await sdl.set_and_publish("theirs", {"ch": "not-for-me"}, {})
                await sdl.set_and_publish("mine", {"ch": "for-me"}, {})
                return await sub.get(timeout=5)

        assert run(sdl_factory, body) == Notification("ch", ("for-me",))

    def test_remove_and_publish_only_when_something_was_removed(
        self, sdl_factory: SdlFactory
    ) -> None:
        async def body(sdl: Sdl) -> tuple[Notification, list[str]]:
            await sdl.set("app", {"k": b"v"})
            async with await sdl.subscribe("app", "ch") as sub:
                await sdl.remove_and_publish("app", {"ch": "ghost_DELETED"}, ["nope"])
                await sdl.remove_and_publish("app", {"ch": "k_DELETED"}, ["k", "nope"])
                return await sub.get(timeout=5), await sdl.find_keys("app")

        assert run(sdl_factory, body) == (Notification("ch", ("k_DELETED",)), [])

    def test_callbacks_sync_and_async_and_failing(
        self, sdl_factory: SdlFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def body(sdl: Sdl) -> tuple[list[str], list[str]]:
            sync_seen: list[str] = []
            async_seen: list[str] = []
            done = asyncio.Event()

            def on_sync(note: Notification) -> None:
                if note.events == ("boom",):
                    raise RuntimeError("callback bug")
                sync_seen.extend(note.events)

            async def on_async(note: Notification) -> None:
                await asyncio.sleep(0)
                async_seen.extend(note.events)
                if note.events == ("last",):
                    done.set()

            await sdl.subscribe("app", "ch", on_sync)
            await sdl.subscribe("app", "ch", on_async)
            for event in ["one", "boom", "last"]:
                await sdl.set_and_publish("app", {"ch": event}, {})
            await asyncio.wait_for(done.wait(), 5)
            for _ in range(20):  # let the sync subscriber drain too
                if sync_seen[-1:] == ["last"]:
                    break
                await asyncio.sleep(0.01)
            return sync_seen, async_seen

        with caplog.at_level(logging.ERROR, logger="xtrust.ric.sdl"):
            sync_seen, async_seen = run(sdl_factory, body)
        assert sync_seen == ["one", "last"]
        assert async_seen == ["one", "boom", "last"]
        assert "callback failed" in caplog.text

    def test_closed_subscription_stops_iteration(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[Notification]:
            sub = await sdl.subscribe("app", "ch")
            await sdl.set_and_publish("app", {"ch": "first"}, {})
            seen = [await sub.get(timeout=5)]
            await sub.close()
            await sdl.set_and_publish("app", {"ch": "after-close"}, {})
            seen += [note async for note in sub]
            with pytest.raises(EOFError):
                await sub.get(timeout=1)
            return seen

        assert run(sdl_factory, body) == [Notification("ch", ("first",))]

    def test_callback_subscription_cannot_be_iterated(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            sub = await sdl.subscribe("app", "ch", lambda note: None)
            with pytest.raises(InputError, match="callback"):
                await sub.get(timeout=1)

        run(sdl_factory, body)


class TestValidation:
    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda s: s.set("", {"k": b"v"}), "namespace"),
            (lambda s: s.set(None, {"k": b"v"}), "namespace"),
            (lambda s: s.set("a}b", {"k": b"v"}), "namespace"),
            (lambda s: s.set("ns", {"": b"v"}), "key"),
            (lambda s: s.set("ns", {1: b"v"}), "key"),
            (lambda s: s.set("ns", {"k": "text"}), "bytes"),
            (lambda s: s.set("ns", [("k", b"v")]), "mapping"),
            (lambda s: s.get("ns", b"k"), "keys"),
            (lambda s: s.get("ns", ["ok", ""]), "key"),
            (lambda s: s.set_if("ns", "k", "old", b"new"), "bytes"),
            (lambda s: s.find_keys("ns", None), "pattern"),
            (lambda s: s.add_member("ns", "g", "text"), "bytes"),
            (lambda s: s.add_member("ns", "g", [b"ok", "text"]), "bytes"),
            (lambda s: s.add_member("ns", "", b"m"), "group"),
            (lambda s: s.is_member("ns", "g", "m"), "bytes"),
            (lambda s: s.set_and_publish("ns", {"ch": "a___b"}, {}), "separator"),
            (lambda s: s.set_and_publish("ns", {"ch": []}, {}), "events"),
            (lambda s: s.set_and_publish("ns", {"": "e"}, {}), "channel"),
            (lambda s: s.subscribe("ns", []), "channel"),
            (lambda s: s.subscribe("ns", "ch", "not callable"), "callable"),
        ],
    )
    def test_bad_arguments_raise_input_error(
        self, sdl_factory: SdlFactory, call: Callable[[Sdl], Awaitable[object]], match: str
    ) -> None:
        async def body(sdl: Sdl) -> None:
            with pytest.raises(InputError, match=match):
                await call(sdl)

        run(sdl_factory, body)

    def test_empty_writes_are_no_ops(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[str]:
            await sdl.set("ns", {})
            await sdl.remove("ns", [])
            await sdl.add_member("ns", "g", set())
            await sdl.remove_member("ns", "g", [])
            return await sdl.find_keys("ns")

        assert run(sdl_factory, body) == []


# =========================================================================
# Glob matching (pure) and the memory matcher against real Redis
# =========================================================================


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        (b"", b"", True),
        (b"", b"a", False),
        (b"*", b"", False),  # Redis: an empty subject matches only an empty pattern
        (b"a*", b"a", True),
        (b"a**b", b"axxb", True),
        (b"?", b"", False),
        (b"[abc]", b"b", True),
        (b"[^abc]", b"b", False),
        (b"[z-a]", b"m", True),  # reversed range is the same range
        (b"[a-]", b"_", True),  # Redis quirk: "a-]" is the range ']'..'a'
        (b"[abc", b"c", True),  # unclosed set runs to the end of the pattern
        (b"[", b"[", False),
        (b"[^", b"x", True),
        (b"[\\]]", b"]", True),
        (b"\\*", b"*", True),
        (b"\\*", b"x", False),
        (b"a\\", b"a\\", True),  # trailing backslash is literal
        (b"*a*a*a*a*a*a*a*a*a*a*b", b"a" * 60, False),  # no exponential blow-up
    ],
)
def test_glob_match_cases(pattern: bytes, subject: bytes, expected: bool) -> None:
    assert glob_match(pattern, subject) is expected


@given(st.text(max_size=20), st.text(max_size=20))
def test_escape_glob_matches_exactly_the_text(text: str, other: str) -> None:
    pattern = escape_glob(text).encode()
    assert glob_match(pattern, text.encode())
    assert glob_match(pattern, other.encode()) is (other == text)


_ALPHABET = "ab-^]\\[*?"
_KEYS = sorted(
    {"a", "b", "ab", "ba", "aab", "a-b", "a^", "]", "a]", "[", "\\", "a\\b", "*", "?", "-", "^"}
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pattern=st.text(alphabet=_ALPHABET, max_size=7))
def test_memory_find_keys_agrees_with_redis(redis_url: str, pattern: str) -> None:
    async def both() -> tuple[list[str], list[str]]:
        memory, real = MemorySdl(), RedisSdl(redis_url)
        try:
            for sdl in (memory, real):
                await sdl.set("glob", {key: b"" for key in _KEYS})
            return await memory.find_keys("glob", pattern), await real.find_keys("glob", pattern)
        finally:
            await real.close()

    from_memory, from_redis = asyncio.run(both())
    assert from_memory == from_redis


# =========================================================================
# Redis back end: layout, interoperability, failures, factory
# =========================================================================


class TestRedisLayout:
    def test_keys_groups_and_channels_use_the_ricsdl_layout(self, redis_url: str) -> None:
        raw = redis.Redis.from_url(redis_url)

        async def body(sdl: Sdl) -> Notification:
            await sdl.set("e2Manager", {"RAN:gnb1": b"\x08\x01"})
            await sdl.add_member("e2Manager", "GNB", b"id1")
            assert raw.get("{e2Manager},RAN:gnb1") == b"\x08\x01"
            assert raw.smembers("{e2Manager},GNB") == {b"id1"}
            # written by another SDL client (ricsdl/sdlgo) ...
            raw.set("{e2Manager},from-go", b"go")
            raw.sadd("{e2Manager},ENB", b"id2")
            assert await sdl.get("e2Manager", "from-go") == {"from-go": b"go"}
            assert await sdl.get_members("e2Manager", "ENB") == {b"id2"}
            async with await sdl.subscribe("e2Manager", "RAN_CONNECTION_STATUS_CHANGE") as sub:
                raw.publish("{e2Manager},RAN_CONNECTION_STATUS_CHANGE", "gnb1_CONNECTED___x")
                return await sub.get(timeout=5)

        try:
            note = run(lambda: RedisSdl(redis_url), body)
        finally:
            raw.close()
        assert note == Notification("RAN_CONNECTION_STATUS_CHANGE", ("gnb1_CONNECTED", "x"))
        assert redis_key("ns", "k") == "{ns},k"

    def test_set_and_publish_is_one_message_per_channel(self, redis_url: str) -> None:
        raw = redis.Redis.from_url(redis_url)
        pubsub = raw.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe("{app},ch")
        pubsub.get_message(timeout=2)  # the subscribe confirmation

        async def body(sdl: Sdl) -> None:
            await sdl.set_and_publish("app", {"ch": ["e1", "e2"]}, {"k": b"v"})

        try:
            run(lambda: RedisSdl(redis_url), body)
            message = pubsub.get_message(timeout=5)
            assert message is not None
            assert (message["channel"], message["data"]) == (b"{app},ch", b"e1___e2")
            assert raw.get("{app},k") == b"v"
        finally:
            pubsub.close()
            raw.close()


class TestRedisFailures:
    def test_unreachable_server_raises_one_line_sdl_error(self) -> None:
        port = unused_port()

        async def body(sdl: Sdl) -> list[str]:
            messages = []
            for call in (sdl.get("ns", "k"), sdl.set("ns", {"k": b"v"}), sdl.ping()):
                with pytest.raises(SdlError) as info:
                    await call
                messages.append(str(info.value))
            assert not await sdl.is_connected()
            with pytest.raises(SdlError):
                await sdl.subscribe("ns", "ch")
            return messages

        messages = run(lambda: RedisSdl(f"redis://127.0.0.1:{port}/0", retries=0), body)
        for message in messages:
            assert f"redis://127.0.0.1:{port}/0" in message
            assert message.startswith("cannot reach Redis at")
            assert "\n" not in message and "Traceback" not in message

    def test_server_dying_under_a_subscription(self, disposable_redis: RedisServer) -> None:
        async def body(sdl: Sdl) -> str:
            sub = await sdl.subscribe("ns", "ch")
            await sdl.set_and_publish("ns", {"ch": "before"}, {})
            assert await sub.get(timeout=5) == Notification("ch", ("before",))
            disposable_redis.process.terminate()
            disposable_redis.process.wait(timeout=5)
            with pytest.raises(SdlError) as info:
                await sub.get(timeout=10)
            with pytest.raises(SdlError):  # and it stays failed
                await sub.get(timeout=1)
            return str(info.value)

        message = run(lambda: RedisSdl(disposable_redis.url, retries=1), body)
        assert disposable_redis.url in message

    def test_wrong_type_error_from_server_is_an_sdl_error(self, redis_url: str) -> None:
        async def body(sdl: Sdl) -> str:
            await sdl.set("ns", {"v": b"x"})
            with pytest.raises(SdlError) as info:
                await sdl.add_member("ns", "v", b"m")
            return str(info.value)

        assert "WRONGTYPE" in run(lambda: RedisSdl(redis_url), body)

    def test_password_is_not_shown(self) -> None:
        sdl = RedisSdl("redis://user:s3cret@127.0.0.1:1/2")
        assert "s3cret" not in sdl.describe()
        assert sdl.describe() == "redis://user:***@127.0.0.1:1/2"

    def test_bad_construction(self) -> None:
        with pytest.raises(InputError, match="port"):
            RedisSdl(host="localhost", port=70000)
        with pytest.raises(InputError, match="not both"):
            RedisSdl("redis://localhost", host="localhost")


class TestOpenSdl:
    def test_urls(self) -> None:
        assert isinstance(open_sdl("memory://"), MemorySdl)
        assert isinstance(open_sdl("memory"), MemorySdl)
        sdl = open_sdl("redis://127.0.0.1:6380/3")
        assert isinstance(sdl, RedisSdl)
        assert sdl.describe() == "redis://127.0.0.1:6380/3"
        with pytest.raises(InputError, match="unknown SDL URL"):
            open_sdl("mongodb://x")

    def test_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("DBAAS_SERVICE_HOST", "DBAAS_SERVICE_PORT", "DBAAS_SERVICE_SENTINEL_PORT"):
            monkeypatch.delenv(name, raising=False)
        assert isinstance(open_sdl(), MemorySdl)
        monkeypatch.setenv("DBAAS_SERVICE_HOST", "dbaas.ricplt")
        assert open_sdl().describe() == "redis://dbaas.ricplt:6379/0"
        monkeypatch.setenv("DBAAS_SERVICE_PORT", "16379")
        assert open_sdl().describe() == "redis://dbaas.ricplt:16379/0"
        monkeypatch.setenv("DBAAS_SERVICE_PORT", "redis")
        with pytest.raises(ConfigError, match="DBAAS_SERVICE_PORT"):
            open_sdl()

    def test_environment_reaches_the_test_server(
        self, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        redis_server.flush()
        monkeypatch.setenv("DBAAS_SERVICE_HOST", redis_server.host)
        monkeypatch.setenv("DBAAS_SERVICE_PORT", str(redis_server.port))

        async def body(sdl: Sdl) -> dict[str, bytes]:
            await sdl.ping()
            await sdl.set("ns", {"k": b"v"})
            return await sdl.get("ns", "k")

        assert run(open_sdl, body) == {"k": b"v"}
        assert redis_server.command("EXISTS", "{ns},k") == b":1"
