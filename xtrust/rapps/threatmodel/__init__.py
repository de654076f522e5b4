"""Graph-based threat model of an O-RAN deployment (MulVAL-style attack graph, MITRE FiGHT rules).

Public API::

    topo = load_topology("deployment.yaml")            # ConfigError naming the field
    topo = merge_segmentation(topo, load_policy("policy.yaml"))   # optional
    fight = load_fight("fight.yaml")                   # optional: FiGHT-derived rules
    result = analyze(topo, fight, k=3)
    result.paths["gnb-1"][0].probability               # most likely path to a critical asset
    result.exposure["kpimon"]                          # 0..1, feeds the risk score
    to_json(result)["min_cut"]["remove_flows"]         # flows to remove (segmentation vocabulary)
"""

from .graph import Analysis, AttackGraph, AttackPath, Cut, Step, analyze, build_graph
from .render import removal, to_dot, to_html, to_json
from .rules import BUILTIN_RULES, FightData, Rule, load_fight, rules_from_fight
from .topology import (
    ASSET_KINDS,
    INTERFACE_TYPES,
    PRIVILEGES,
    Asset,
    Interface,
    Topology,
    Vulnerability,
    load_topology,
    merge_segmentation,
    parse_topology,
)

__all__ = [
    "ASSET_KINDS",
    "BUILTIN_RULES",
    "INTERFACE_TYPES",
    "PRIVILEGES",
    "Analysis",
    "Asset",
    "AttackGraph",
    "AttackPath",
    "Cut",
    "FightData",
    "Interface",
    "Rule",
    "Step",
    "Topology",
    "Vulnerability",
    "analyze",
    "build_graph",
    "load_fight",
    "load_topology",
    "merge_segmentation",
    "parse_topology",
    "removal",
    "rules_from_fight",
    "to_dot",
    "to_html",
    "to_json",
]
