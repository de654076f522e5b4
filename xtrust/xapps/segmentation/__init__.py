"""Micro-segmentation for the near-RT RIC: policy model, compiler, verifier, enforcement.

Public API::

    policy = load_policy("policy.yaml")          # ConfigError naming the field
    violations = verify(policy)                  # untrusted/quarantined -> critical paths
    compiled = compile_policy(policy)            # route table, NetworkPolicies, SDL rules
    seg = Segmentation(policy, audit_log="audit.jsonl")
    ric = RicLite(..., routing=SegmentationRouting(seg), admission=SegmentationAdmission(seg))
    seg.quarantine("kpimon", "anomaly score 0.97")   # takes effect on the next message
    seg.release("kpimon", by="operator@noc")
"""

from .compile import LABEL_ASSET, CompiledPolicy, compile_policy, effective_flows
from .enforce import Segmentation, SegmentationAdmission, SegmentationRouting
from .policy import (
    ASSET_KINDS,
    FLOW_TYPES,
    TRUST_LEVELS,
    Asset,
    Flow,
    Policy,
    Zone,
    load_policy,
    parse_policy,
)
from .schema import NETWORK_POLICY_SCHEMA, validate_network_policy
from .verify import Violation, verify

__all__ = [
    "ASSET_KINDS",
    "FLOW_TYPES",
    "LABEL_ASSET",
    "NETWORK_POLICY_SCHEMA",
    "TRUST_LEVELS",
    "Asset",
    "CompiledPolicy",
    "Flow",
    "Policy",
    "Segmentation",
    "SegmentationAdmission",
    "SegmentationRouting",
    "Violation",
    "Zone",
    "compile_policy",
    "effective_flows",
    "load_policy",
    "parse_policy",
    "validate_network_policy",
    "verify",
]
