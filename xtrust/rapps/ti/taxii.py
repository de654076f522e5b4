"""A TAXII 2.1 collection poller (aiohttp) that feeds an :class:`IndicatorStore`.

Each source is one collection: ``GET {api_root}/collections/{id}/objects/``
with ``Accept: application/taxii+json;version=2.1``, HTTP basic auth, and
``added_after`` set from the ``X-TAXII-Date-Added-Last`` header of the last
successful poll, so that later polls fetch only what is new (new versions and
revocations included). Pages (``more`` / ``next``) are fetched completely
before anything is applied: a poll is all or nothing.

When the server is down or answers with an error, the store keeps its last
good state, the failure is recorded in :attr:`SourceState`, and the next
attempt waits ``backoff_min * 2**(failures-1)`` seconds (capped at
``backoff_max``) instead of the normal interval.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from xtrust.errors import ExternalToolError
from xtrust.log import get_logger

from .store import IndicatorStore, LoadStats

__all__ = ["SourceState", "TaxiiPoller", "TaxiiSource"]

log = get_logger("rapps.ti.taxii")

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class TaxiiSource:
    """One TAXII 2.1 collection: API root URL and collection id."""

    api_root: str
    collection: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def objects_url(self) -> str:
        return f"{self.api_root.rstrip('/')}/collections/{self.collection}/objects/"

    @property
    def name(self) -> str:
        return f"{self.api_root.rstrip('/')}#{self.collection}"


@dataclass
class SourceState:
    added_after: str | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    last_error: str | None = None
    failures: int = 0
    polls: int = 0
    stats: LoadStats = field(default_factory=LoadStats)

    def to_json(self) -> dict[str, Any]:
        return {
            "added_after": self.added_after,
            "last_success": self.last_success,
            "last_attempt": self.last_attempt,
            "last_error": self.last_error,
            "failures": self.failures,
            "polls": self.polls,
            "stats": self.stats.to_json(),
        }


class TaxiiPoller:
    def __init__(
        self,
        store: IndicatorStore,
        sources: list[TaxiiSource],
        *,
        interval: float = 60.0,
        backoff_min: float = 1.0,
        backoff_max: float = 300.0,
        timeout: float = 10.0,
        page_limit: int = 500,
    ):
        self.store = store
        self.sources = list(sources)
        self.interval = interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.page_limit = page_limit
        self.state: dict[str, SourceState] = {s.name: SourceState() for s in self.sources}
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.polled = asyncio.Event()

    def delay(self, source: TaxiiSource) -> float:
        """Seconds until the next poll of ``source`` (interval, or backoff after failures)."""
        st = self.state[source.name]
        if st.failures == 0:
            return self.interval
        return float(min(self.backoff_max, self.backoff_min * 2 ** (st.failures - 1)))

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _fetch(
        self, source: TaxiiSource, added_after: str | None
    ) -> tuple[list[Any], str | None]:
        session = await self._get_session()
        headers = {"Accept": TAXII_MEDIA_TYPE}
        if source.username is not None:
            headers["Authorization"] = _basic_auth(source.username, source.password or "")
        objects: list[Any] = []
        last_added: str | None = None
        next_token: str | None = None
        for _page in range(10_000):
            params: dict[str, str] = {"limit": str(self.page_limit)}
            if added_after:
                params["added_after"] = added_after
            if next_token:
                params["next"] = next_token
            async with session.get(
                source.objects_url,
                params=params,
                headers=headers,
            ) as resp:
                if resp.status != 200:
                    body = (await resp.text())[:200]
                    raise ExternalToolError(
                        f"HTTP {resp.status} from {source.objects_url}: {' '.join(body.split())}",
                        tool="taxii",
                    )
                doc = await resp.json(content_type=None)
                last_added = resp.headers.get("X-TAXII-Date-Added-Last", last_added)
            if not isinstance(doc, dict):
                raise ExternalToolError("TAXII envelope is not a JSON object", tool="taxii")
            page = doc.get("objects") or []
            if not isinstance(page, list):
                raise ExternalToolError("TAXII envelope 'objects' is not a list", tool="taxii")
            objects.extend(page)
            if doc.get("more") and doc.get("next"):
                next_token = str(doc["next"])
                continue
            break
        return objects, last_added

    async def poll_once(self, source: TaxiiSource) -> LoadStats:
        """Fetch new objects of ``source`` and apply them; raises on failure."""
        st = self.state[source.name]
        st.last_attempt = time.time()
        try:
            objects, last_added = await self._fetch(source, st.added_after)
        except (aiohttp.ClientError, TimeoutError, ValueError, ExternalToolError) as exc:
            st.failures += 1
            st.last_error = " ".join(str(exc).split()) or type(exc).__name__
            log.warning(
                "TAXII poll of %s failed (%d in a row): %s; keeping the last good state",
                source.name,
                st.failures,
                st.last_error,
            )
            if isinstance(exc, ExternalToolError):
                raise
            raise ExternalToolError(st.last_error, tool="taxii") from None
        stats = self.store.add_objects(objects)
        st.stats.add(stats)
        st.failures = 0
        st.last_error = None
        st.last_success = time.time()
        st.polls += 1
        if last_added:
            st.added_after = last_added
        log.info("TAXII poll of %s: %s", source.name, stats.to_json())
        return stats

    async def _run(self, source: TaxiiSource) -> None:
        while True:
            try:
                await self.poll_once(source)
            except ExternalToolError:
                pass  # recorded in the state; the store keeps its last good content
            except Exception as exc:  # a bug must not stop polling for good
                st = self.state[source.name]
                st.failures += 1
                st.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("TAXII poll of %s failed unexpectedly", source.name)
            self.polled.set()
            await asyncio.sleep(self.delay(source))

    def start(self) -> None:
        for source in self.sources:
            self._tasks.append(asyncio.create_task(self._run(source), name=f"taxii:{source.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def status(self) -> dict[str, Any]:
        return {name: st.to_json() for name, st in self.state.items()}
