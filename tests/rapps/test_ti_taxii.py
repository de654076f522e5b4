"""TAXII 2.1 polling against a real medallion server on loopback."""

from __future__ import annotations

import asyncio

import pytest

from xtrust.errors import ExternalToolError
from xtrust.rapps.ti import IndicatorStore, TaxiiPoller, TaxiiSource, parse_time

from .taxii_fixtures import (
    COLLECTION,
    PASSWORD,
    USER,
    Medallion,
    indicator,
    medallion_server,
    revoke,
)

__all__ = ["medallion_server"]

NOW = parse_time("2026-11-26T10:00:00Z") or 0.0


def obs(i: int) -> dict[str, list[dict[str, str]]]:
    return {"ipv4-addr": [{"value": f"10.9.0.{i}"}]}


def test_poll_pages_revocation_and_feed_down(medallion_server: Medallion) -> None:
    inds = [indicator(f"[ipv4-addr:value = '10.9.0.{i}']") for i in range(5)]
    medallion_server.add(inds)
    store = IndicatorStore()
    source = TaxiiSource(medallion_server.api_root, COLLECTION, USER, PASSWORD)
    poller = TaxiiPoller(store, [source], backoff_min=0.5, backoff_max=4)

    async def main() -> None:
        try:
            stats = await poller.poll_once(source)  # page size is 2: three pages
            assert stats.updated == 5 and len(store) == 5
            state = poller.state[source.name]
            assert state.added_after is not None and state.failures == 0
            assert store.match(obs(3), NOW)

            medallion_server.add([revoke(inds[3]), indicator("[ipv4-addr:value = '10.9.0.77']")])
            stats = await poller.poll_once(source)  # incremental: only the two new objects
            assert stats.objects == 2 and stats.revoked == 1
            assert store.match(obs(3), NOW) == [] and store.match(obs(77), NOW)
            assert len(store) == 5

            medallion_server.stop()  # the feed goes down: the last good state stays
            for expected_delay in (0.5, 1.0, 2.0, 4.0, 4.0):
                with pytest.raises(ExternalToolError):
                    await poller.poll_once(source)
                assert poller.delay(source) == expected_delay
            assert len(store) == 5 and store.match(obs(77), NOW)
            assert poller.state[source.name].last_error

            medallion_server.start()  # back (empty after restart): polling recovers
            await poller.poll_once(source)
            assert poller.state[source.name].failures == 0
            assert poller.delay(source) == poller.interval
            assert len(store) == 5
        finally:
            await poller.stop()

    asyncio.run(main())


def test_bad_credentials_fail_without_touching_the_store(medallion_server: Medallion) -> None:
    medallion_server.add([indicator("[ipv4-addr:value = '10.9.0.1']")])
    store = IndicatorStore()
    store.add_objects([indicator("[ipv4-addr:value = '10.9.0.2']")])
    source = TaxiiSource(medallion_server.api_root, COLLECTION, USER, "wrong")
    poller = TaxiiPoller(store, [source])

    async def main() -> None:
        try:
            with pytest.raises(ExternalToolError, match="HTTP 401"):
                await poller.poll_once(source)
            assert len(store) == 1 and store.match(obs(2), NOW)
        finally:
            await poller.stop()

    asyncio.run(main())


def test_background_polling_task(medallion_server: Medallion) -> None:
    medallion_server.add([indicator("[ipv4-addr:value = '10.9.0.1']")])
    store = IndicatorStore()
    source = TaxiiSource(medallion_server.api_root, COLLECTION, USER, PASSWORD)
    poller = TaxiiPoller(store, [source], interval=0.2)

    async def main() -> None:
        poller.start()
        try:
            await asyncio.wait_for(poller.polled.wait(), 10)
            assert len(store) == 1
            medallion_server.add([indicator("[ipv4-addr:value = '10.9.0.2']")])
            for _ in range(100):
                if len(store) == 2:
                    break
                await asyncio.sleep(0.05)
            assert len(store) == 2
            assert poller.status()[source.name]["polls"] >= 2
        finally:
            await poller.stop()

    asyncio.run(main())
