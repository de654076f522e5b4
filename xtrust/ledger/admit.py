"""Admission decisions: may this artifact run?

An artifact is admitted when, on the ledger, its digest belongs to a record in
state Approved or Deployed, and the record's attestation (the envelope whose
SHA-256 the ledger holds) carries valid Ed25519 and ML-DSA-65 signatures by the
key the certifier registered, names the artifact as its subject, and says
``verdict: passed``. Anything else - including a ledger that cannot be reached -
is a deny with the reason (fail closed).

:class:`Admission` caches ledger lookups for ``max_staleness`` seconds (a revoke
takes effect within that bound) and verified attestations for good (they are
content-addressed and immutable).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtrust.crypto import HybridPublicKey
from xtrust.errors import InputError, XTrustError
from xtrust.ledger.attestation import (
    Attestation,
    AttestationStore,
    check_attestation,
    load_attestation,
)
from xtrust.ledger.client import AppRecord, LedgerClient
from xtrust.ledger.errors import AttestationError

__all__ = ["ADMITTED_STATES", "Admission", "Decision"]

ADMITTED_STATES = ("Approved", "Deployed")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    digest: str
    record: AppRecord | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "allow" if self.allowed else "deny",
            "digest": self.digest,
            "reason": self.reason,
            "record": self.record.to_dict() if self.record else None,
        }


@dataclass
class _Entry:
    at: float
    record: AppRecord | None
    certifier_key: str | None


@dataclass
class Admission:
    client: LedgerClient
    store: AttestationStore
    max_staleness: float = 5.0
    _records: dict[str, _Entry] = field(default_factory=dict)
    _verified: set[tuple[str, str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    max_entries: int = 10_000
    #: monotonic clock in seconds (tests replace it)
    clock: Callable[[], float] = time.monotonic

    def _lookup(self, digest: str) -> tuple[_Entry, bool]:
        now = self.clock()
        with self._lock:
            entry = self._records.get(digest)
        if entry is not None and now - entry.at <= self.max_staleness:
            return entry, True
        record = self.client.app_by_artifact(digest)
        key_id = None
        if record is not None and record.certifier is not None:
            key_id = self.client.certifier_key(record.certifier)
        entry = _Entry(now, record, key_id)
        with self._lock:
            if len(self._records) >= self.max_entries:
                self._records.clear()
            self._records[digest] = entry
        return entry, False

    def decide(
        self,
        digest: str,
        *,
        attestation: Path | None = None,
        key: HybridPublicKey | None = None,
    ) -> Decision:
        """Allow or deny ``digest`` ("sha256:<hex>"); never raises for a deny."""
        try:
            entry, cached = self._lookup(digest)
        except XTrustError as exc:
            return Decision(False, f"ledger unavailable, failing closed: {exc}", digest)
        record = entry.record
        if record is None:
            return Decision(False, "artifact is not registered on the ledger", digest, None, cached)
        where = f"{record.name}@{record.version}"
        if record.state not in ADMITTED_STATES:
            return Decision(False, f"{where} is {record.state}", digest, record, cached)
        try:
            self.check_record(record, entry.certifier_key, attestation=attestation, key=key)
        except (AttestationError, InputError) as exc:
            return Decision(False, f"{where}: {exc}", digest, record, cached)
        return Decision(
            True, f"{where} is {record.state} and its attestation verifies", digest, record, cached
        )

    def check_record(
        self,
        record: AppRecord,
        certifier_key: str | None,
        *,
        attestation: Path | None = None,
        key: HybridPublicKey | None = None,
    ) -> None:
        """Verify ``record``'s attestation whatever its state; raise AttestationError."""
        if record.attestation is None or record.certifier is None:
            raise AttestationError("not certified (no attestation on record)")
        if certifier_key is None:
            raise AttestationError(f"certifier {record.certifier} has no registered key")
        att = self._attestation(record, attestation)
        self._verify(att, record, certifier_key, key, record.artifact)

    def _attestation(self, record: AppRecord, given: Path | None) -> Attestation:
        if given is not None:
            att = load_attestation(given)
        else:
            found = self.store.get(record.attestation or "")
            if found is None:
                raise AttestationError(
                    f"attestation {record.attestation} not in the local store "
                    f"({self.store.att_dir}); pass --attestation FILE"
                )
            att = found
        if att.digest != record.attestation:
            raise AttestationError(
                f"the attestation ({att.digest}) is not the one recorded on the ledger "
                f"({record.attestation})"
            )
        return att

    def _verify(
        self,
        att: Attestation,
        record: AppRecord,
        key_id: str,
        key: HybridPublicKey | None,
        digest: str,
    ) -> None:
        marker = (att.digest, key_id, digest)
        with self._lock:
            if marker in self._verified:
                return
        if key is None:
            key = self.store.get_key(key_id)
            if key is None:
                raise AttestationError(
                    f"the certifier's public key {key_id} is not in {self.store.key_dir}; "
                    "pass --key PUB"
                )
        if key.key_id != key_id:
            raise AttestationError(
                f"key {key.key_id} is not the certifier's registered key {key_id}"
            )
        check_attestation(att, key, digest)
        with self._lock:
            self._verified.add(marker)
