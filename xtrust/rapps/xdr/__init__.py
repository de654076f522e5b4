"""XDR for O-RAN: correlate security-xApp alerts and platform events into incidents, respond
with audited idempotent playbooks, and share indicators between RIC sites (STIX 2.1).

Public API::

    xdr = Xdr("site-a", window=300, adjacency=adjacency_from_topology(topo))
    xdr.ingest_many(read_jsonl("alerts.jsonl"))       # or await xdr.ingest_stream(aiter)
    incidents = xdr.incidents()                        # scored, highest first
    engine = ResponseEngine(load_playbooks("pb.yaml"), segmentation=seg, ledger=ledger,
                            state_path="xdr-state.json", audit_path="xdr-audit.jsonl")
    await engine.respond(incidents)
    bundle = xdr.export_stix(); other_site.ingest_shared(bundle)
"""

from .core import Xdr
from .correlate import (
    Correlator,
    Incident,
    adjacency_from_topology,
    asset_entity,
    naive_correlate,
    severity_of,
)
from .events import (
    ATTACK_CLASSES,
    SEVERITIES,
    Event,
    aiter_events,
    alert_to_stix,
    from_alert,
    normalize,
    read_jsonl,
)
from .playbook import Ledger, Playbook, ResponseEngine, load_playbooks, parse_playbooks
from .share import export_bundle, indicator_keys, parse_bundle

__all__ = [
    "ATTACK_CLASSES",
    "SEVERITIES",
    "Correlator",
    "Event",
    "Incident",
    "Ledger",
    "Playbook",
    "ResponseEngine",
    "Xdr",
    "adjacency_from_topology",
    "aiter_events",
    "alert_to_stix",
    "asset_entity",
    "export_bundle",
    "from_alert",
    "indicator_keys",
    "load_playbooks",
    "naive_correlate",
    "normalize",
    "parse_bundle",
    "parse_playbooks",
    "read_jsonl",
    "severity_of",
]
