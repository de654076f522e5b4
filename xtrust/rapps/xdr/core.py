"""The XDR of one RIC site: ingest, correlate, score, share indicators with other sites."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from .correlate import Correlator, Incident
from .events import Event, aiter_events, normalize, sorted_events
from .share import export_bundle, indicator_keys, parse_bundle

__all__ = ["Xdr"]


class Xdr:
    """One site's XDR.

    ``site``: this site's name (its STIX identity); ``federation_key``: the
    secret the federated sites share to hash UE identifiers and xApp names
    (HMAC-SHA256); ``adjacency`` / ``exposure`` come from the threat model
    (:func:`~xtrust.rapps.xdr.correlate.adjacency_from_topology`, the
    analysis' exposure keyed by entity).
    """

    def __init__(
        self,
        site: str = "site",
        *,
        window: float = 300.0,
        adjacency: Mapping[str, Iterable[str]] | None = None,
        exposure: Mapping[str, float] | None = None,
        federation_key: bytes = b"",
    ):
        self.site = site
        self.key = federation_key
        self.correlator = Correlator(window, adjacency, exposure)
        self.correlator.indicator_keys = self._keys
        self.ledger_names: dict[str, tuple[str, str]] = {}  # ledger record key -> app

    def _keys(self, entity: str, inc: Incident) -> list[str]:
        return indicator_keys(entity, inc, self.key)

    # ------------------------------------------------------------ ingest
    def ingest(self, item: Any) -> int:
        """One alert / bundle / certify / ledger / policy / log object (or Event); events added."""
        events = normalize(item, "event", self.ledger_names)
        for ev in events:
            self.correlator.add(ev)
        return len(events)

    def ingest_many(self, items: Iterable[Any]) -> int:
        """A batch (sorted by time before correlation)."""
        events: list[Event] = []
        for n, item in enumerate(items):
            events.extend(normalize(item, f"item {n}", self.ledger_names))
        for ev in sorted_events(events):
            self.correlator.add(ev)
        return len(events)

    async def ingest_stream(self, source: AsyncIterator[Any]) -> int:
        n = 0
        async for ev in aiter_events(source, self.ledger_names):
            self.correlator.add(ev)
            n += 1
        return n

    def incidents(self) -> list[Incident]:
        return self.correlator.incidents()

    # ------------------------------------------------------------ collaboration
    def export_stix(self, min_score: float = 0.0) -> dict[str, Any]:
        """STIX 2.1 indicators + sightings of this site's incidents (no raw data)."""
        return export_bundle(self.incidents(), self.site, self.key, min_score)

    def ingest_shared(self, bundle: Mapping[str, Any]) -> int:
        """Another site's bundle: remember which site sighted what; returns sightings kept."""
        n = 0
        for ikey, site in parse_bundle(bundle):
            if site == self.site:
                continue
            kind, _, value = ikey.partition(":")
            if kind == "attack-class":
                self.correlator.external_classes.setdefault(value, set()).add(site)
            else:
                self.correlator.external.setdefault(ikey, set()).add(site)
            n += 1
        return n

    def entity_risk(self, entity: str) -> float:
        """External risk of one entity from other sites' sightings (0: none; 1 - 0.6^sites)."""
        sites: set[str] = set()
        for key in indicator_keys(entity, None, self.key):
            sites |= self.correlator.external.get(key, set())
        return 1.0 - 0.6 ** len(sites)
