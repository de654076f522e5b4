"""Wiring: configuration -> PDP, threat-intelligence poller, A1 pusher, audit log."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xtrust.errors import ConfigError
from xtrust.log import get_logger
from xtrust.rapps.ti.store import IndicatorStore
from xtrust.rapps.ti.taxii import TaxiiPoller

from .a1 import A1Pusher
from .alerts import BehaviourTracker
from .cedar import (
    PolicyBundle,
    default_bundle,
    default_policies_text,
    default_schema_text,
    load_bundle,
    parse_schema,
    read_policies_text,
    read_schema,
)
from .config import ServiceConfig
from .model import Decision
from .pdp import Pdp
from .risk import DictLedgerState, LedgerState, RiskEngine, read_certify_report

__all__ = ["JsonlAudit", "PolicyService", "build_bundle", "build_service"]

log = get_logger("rapps.policy.service")


class JsonlAudit:
    """Appends every decision as one JSON line (time + decision) to a file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._fh: IO[str] = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot open audit log: {exc.strerror}", source=str(path)) from None
        self._lock = threading.Lock()

    def __call__(self, decision: Decision) -> None:
        line = json.dumps({"time": time.time(), **decision.to_json()}, separators=(",", ":"))
        with self._lock:
            self._fh.write(line + "\n")

    def close(self) -> None:
        self._fh.close()


def build_bundle(schema: Path | None, policies: Path | None) -> PolicyBundle:
    """Load and validate; ConfigError when anything is invalid (nothing starts)."""
    if schema is None and policies is None:
        return default_bundle()
    if schema is not None:
        sch, _ = read_schema(schema)
    else:
        sch = parse_schema(default_schema_text(), source="default_schema.json", json_format=True)
    if policies is not None:
        text, src = read_policies_text(policies), str(policies)
    else:
        text, src = default_policies_text(), "default_policies.yaml"
    return load_bundle(text, sch, source=src)


@dataclass
class PolicyService:
    config: ServiceConfig
    pdp: Pdp
    store: IndicatorStore
    poller: TaxiiPoller | None
    pusher: A1Pusher | None
    audit: JsonlAudit | None

    async def start(self) -> None:
        if self.poller is not None:
            self.poller.start()
        if self.pusher is not None:
            self.pusher.start(self.pdp, self.config.a1_interval)

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.pusher is not None:
            await self.pusher.stop()
        if self.audit is not None:
            self.audit.close()


def build_service(config: ServiceConfig, *, ledger: LedgerState | None = None) -> PolicyService:
    bundle = build_bundle(config.schema, config.policies)
    store = IndicatorStore()
    for f in config.stix_files:
        stats = store.load_file(f)
        log.info("loaded %s: %s", f, stats.to_json())
    if ledger is None and config.ledger is not None:
        ledger = DictLedgerState(config.ledger)
    engine = RiskEngine(
        config.risk,
        store=store,
        ledger=ledger,
        behaviour=BehaviourTracker(half_life=config.risk.half_life),
    )
    for subject_id, report in config.reports.items():
        engine.set_vulns(subject_id, read_certify_report(report))
    pdp = Pdp(bundle, risk=engine, subjects=config.subjects, threshold=config.threshold)
    audit = JsonlAudit(config.audit) if config.audit is not None else None
    pdp.audit = audit
    poller = (
        TaxiiPoller(store, config.taxii, interval=config.taxii_interval) if config.taxii else None
    )
    pusher = A1Pusher(config.a1_url, policy_id=config.a1_policy_id) if config.a1_url else None
    return PolicyService(config, pdp, store, poller, pusher, audit)
