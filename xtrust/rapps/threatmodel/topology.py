"""Deployment topology for the threat model: assets, zones, interfaces, software, vulnerabilities.

A topology file::

    version: 1
    zones:
      internet: {trust: untrusted}
      ran:      {trust: critical}
      apps:     {trust: trusted}
    assets:
      attacker:  {kind: external, zone: internet}           # entry point (untrusted zone)
      smo:       {kind: smo, zone: mgmt, auth: weak,
                  software: [{name: onap-policy, version: "1.2",
                              vulns: [{id: CVE-2099-0001, cvss: 9.8}]}]}
      gnb-1:     {kind: e2node, zone: ran}                   # critical (critical zone)
      kpm:       {kind: sdl-namespace, zone: apps}
    interfaces:
      - {from: attacker, to: smo, type: network, ports: [443]}
      - {from: smo, to: kpimon, type: a1}
      - {from: kpimon, to: kpm, type: sdl, op: write}
      - {from: du-1, to: ru-1, type: fronthaul, essential: true}

Entry points are the assets with ``entry: true``, or, when no asset says so,
every asset in a zone of trust ``untrusted``. Critical assets are those with
``critical: true`` (or a list of the privileges that count: ``critical: [dos]``)
or in a zone of trust ``critical``.

Reachability: with a segmentation policy (:func:`merge_segmentation`), the
flows that the policy keeps in force replace the topology's interfaces
between assets the policy knows; interfaces that touch other assets (radio,
fronthaul, the internet side) stay as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xtrust._fields import FieldChecker, type_name
from xtrust.errors import ConfigError

__all__ = [
    "ASSET_KINDS",
    "BIDIRECTIONAL",
    "INTERFACE_TYPES",
    "PRIVILEGES",
    "Asset",
    "Interface",
    "Topology",
    "Vulnerability",
    "load_topology",
    "merge_segmentation",
    "parse_topology",
]

ASSET_KINDS = (
    "ric-platform",
    "xapp",
    "rapp",
    "e2node",
    "smo",
    "sdl-namespace",
    "ocloud-node",
    "ru",
    "du",
    "cu",
    "ue",
    "host",
    "external",
)
TRUST_LEVELS = ("critical", "platform", "trusted", "untrusted", "quarantine")
INTERFACE_TYPES = ("rmr", "e2-control", "a1", "sdl", "network", "e2", "o1", "fronthaul", "radio")
#: interface types that carry attacks in both directions (a connection, a shared medium)
BIDIRECTIONAL = frozenset({"network", "e2", "fronthaul", "radio"})
#: privileges an attacker can hold on an asset (OR nodes of the attack graph)
PRIVILEGES = ("execCode", "control", "dataAccess", "dos")
DEFAULT_GOALS = ("execCode", "control", "dataAccess")
ACCESS = ("network", "adjacent", "local")
GIVES = ("execCode", "control", "dataAccess", "dos")


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    software: str
    probability: float  # chance that one exploit attempt succeeds
    access: str = "network"  # network | adjacent | local
    gives: str = "execCode"
    cvss: float | None = None


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    kind: str
    zone: str
    entry: bool = False
    goals: tuple[str, ...] = ()  # privileges that make this asset lost (empty: not critical)
    weak_auth: bool = False
    vulns: tuple[Vulnerability, ...] = ()


@dataclass(frozen=True, slots=True)
class Interface:
    index: int
    src: str
    dst: str
    type: str
    op: str = ""  # sdl: read | write
    essential: bool = False  # never recommended for removal
    #: the segmentation flow this interface came from (its position in flows[]), if any
    policy_index: int | None = None
    #: extra fields in the segmentation vocabulary (mtypes, ran_functions, ports, ...)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Topology:
    zones: dict[str, str]  # name -> trust
    assets: dict[str, Asset]
    interfaces: list[Interface]
    source: str = "<topology>"

    @property
    def entries(self) -> list[str]:
        return [a.name for a in self.assets.values() if a.entry]

    @property
    def critical(self) -> list[str]:
        return [a.name for a in self.assets.values() if a.goals]


# --------------------------------------------------------------------------- parsing


_ASSET_KEYS = {"kind", "zone", "entry", "critical", "auth", "software", "description"}
_SOFT_KEYS = {"name", "version", "vulns"}
_VULN_KEYS = {"id", "cvss", "exploitability", "likelihood", "access", "gives", "description"}
_IFACE_KEYS = {
    "from",
    "to",
    "type",
    "op",
    "essential",
    "ports",
    "mtypes",
    "ran_functions",
    "policy_types",
    "description",
}


def vuln_probability(
    cvss: float | None, exploitability: float | None, likelihood: float | None
) -> float:
    """Success probability of one exploit: an explicit likelihood wins; then the CVSS v3
    exploitability sub-score (0-3.9, scaled to 0-1); then the base score / 10; else 0.5."""
    if likelihood is not None:
        return likelihood
    if exploitability is not None:
        return min(1.0, exploitability / 3.9)
    if cvss is not None:
        return cvss / 10.0
    return 0.5


def _parse_vuln(ctx: FieldChecker, doc: Any, where: str, software: str) -> Vulnerability:
    v = ctx.mapping(doc, where)
    ctx.unknown_keys(v, where, _VULN_KEYS)
    if "id" not in v:
        raise ctx.err(f"{where}.id", "is required")
    vid = ctx.string(v["id"], f"{where}.id")
    cvss = ctx.number(v["cvss"], f"{where}.cvss", 0, 10) if "cvss" in v else None
    expl = (
        ctx.number(v["exploitability"], f"{where}.exploitability", 0, 3.9)
        if "exploitability" in v
        else None
    )
    lik = ctx.number(v["likelihood"], f"{where}.likelihood", 0, 1) if "likelihood" in v else None
    access = ctx.choice(v.get("access", "network"), f"{where}.access", ACCESS)
    gives = ctx.choice(v.get("gives", "execCode"), f"{where}.gives", GIVES)
    p = vuln_probability(cvss, expl, lik)
    return Vulnerability(vid, software, p, access, gives, cvss)


def parse_topology(doc: Any, source: str = "<topology>") -> Topology:
    """Validate a parsed YAML/JSON topology; raise ConfigError naming the bad field."""
    ctx = FieldChecker(source)
    top = ctx.mapping(doc, "topology")
    ctx.unknown_keys(top, "", {"version", "zones", "assets", "interfaces", "description"})
    if top.get("version", 1) != 1:
        raise ctx.err("version", f"unsupported version {top.get('version')!r} (expected 1)")
    zones: dict[str, str] = {}
    for name, zdoc in ctx.mapping(top.get("zones", {}), "zones").items():
        where = f"zones.{name}"
        z = ctx.mapping(zdoc if zdoc is not None else {}, where)
        ctx.unknown_keys(z, where, {"trust", "intra", "description"})
        zones[ctx.string(name, where)] = ctx.choice(
            z.get("trust", "trusted"), f"{where}.trust", TRUST_LEVELS
        )
    raw_assets = ctx.mapping(top.get("assets"), "assets")
    explicit_entry = any(
        isinstance(a, Mapping) and a.get("entry") is True for a in raw_assets.values()
    )
    assets: dict[str, Asset] = {}
    for name, adoc in raw_assets.items():
        where = f"assets.{name}"
        name = ctx.string(name, where)
        a = ctx.mapping(adoc, where)
        ctx.unknown_keys(a, where, _ASSET_KEYS)
        if "kind" not in a:
            raise ctx.err(f"{where}.kind", "is required")
        kind = ctx.choice(a["kind"], f"{where}.kind", ASSET_KINDS)
        zone = ctx.string(a.get("zone", "default"), f"{where}.zone")
        if zone not in zones:
            if "zone" in a and zones:
                raise ctx.err(f"{where}.zone", f"unknown zone {zone!r}")
            zones[zone] = "trusted"
        trust = zones[zone]
        entry = ctx.boolean(a["entry"], f"{where}.entry") if "entry" in a else False
        if not explicit_entry and trust == "untrusted":
            entry = True
        crit = a.get("critical")
        goals: tuple[str, ...] = ()
        if crit is None:
            goals = DEFAULT_GOALS if trust == "critical" else ()
        elif isinstance(crit, bool):
            goals = DEFAULT_GOALS if crit else ()
        elif isinstance(crit, list) and crit:
            goals = tuple(
                dict.fromkeys(
                    ctx.choice(g, f"{where}.critical[{i}]", PRIVILEGES) for i, g in enumerate(crit)
                )
            )
        else:
            raise ctx.err(f"{where}.critical", "must be true, false or a list of privileges")
        auth = ctx.choice(a.get("auth", "strong"), f"{where}.auth", ("strong", "weak"))
        vulns: list[Vulnerability] = []
        soft = a.get("software", [])
        if not isinstance(soft, list):
            raise ctx.err(f"{where}.software", f"must be a list, not {type_name(soft)}")
        for i, sdoc in enumerate(soft):
            sw = f"{where}.software[{i}]"
            s = ctx.mapping(sdoc, sw)
            ctx.unknown_keys(s, sw, _SOFT_KEYS)
            sname = ctx.string(s.get("name"), f"{sw}.name")
            if "version" in s:
                sname += f"@{s['version']}"
            raw_v = s.get("vulns", [])
            if not isinstance(raw_v, list):
                raise ctx.err(f"{sw}.vulns", f"must be a list, not {type_name(raw_v)}")
            vulns.extend(
                _parse_vuln(ctx, v, f"{sw}.vulns[{j}]", sname) for j, v in enumerate(raw_v)
            )
        assets[name] = Asset(name, kind, zone, entry, goals, auth == "weak", tuple(vulns))

    raw_if = top.get("interfaces", [])
    if not isinstance(raw_if, list):
        raise ctx.err("interfaces", f"must be a list, not {type_name(raw_if)}")
    interfaces = [_parse_iface(ctx, d, i, assets) for i, d in enumerate(raw_if)]
    return Topology(zones, assets, interfaces, source)


_TYPE_SET = frozenset(INTERFACE_TYPES)
_EXTRA_KEYS = ("ports", "mtypes", "ran_functions", "policy_types")


def _parse_iface(ctx: FieldChecker, doc: Any, i: int, assets: Mapping[str, Asset]) -> Interface:
    """Fast path for a well-formed interface; anything unusual goes through the checks
    of :func:`_parse_iface_checked` (which names the bad field)."""
    if type(doc) is dict and doc.keys() <= _IFACE_KEYS:
        src, dst, itype = doc.get("from"), doc.get("to"), doc.get("type")
        if (
            type(src) is str
            and type(dst) is str
            and src != dst
            and src in assets
            and dst in assets
            and itype in _TYPE_SET
            and type(doc.get("essential", False)) is bool
        ):
            op = doc.get("op")
            if itype == "sdl" and op in (None, "read", "write"):
                op = op or "read"
            elif itype != "sdl" and op is None:
                op = ""
            else:
                op = None
            if op is not None:
                extra = {k: doc[k] for k in _EXTRA_KEYS if k in doc} if len(doc) > 3 else {}
                return Interface(i, src, dst, itype, op, doc.get("essential", False), None, extra)
    return _parse_iface_checked(ctx, doc, i, assets)


def _parse_iface_checked(
    ctx: FieldChecker, doc: Any, i: int, assets: Mapping[str, Asset]
) -> Interface:
    where = f"interfaces[{i}]"
    f = ctx.mapping(doc, where)
    ctx.unknown_keys(f, where, _IFACE_KEYS)
    ends: list[str] = []
    for key in ("from", "to"):
        if key not in f:
            raise ctx.err(f"{where}.{key}", "is required")
        name = ctx.string(f[key], f"{where}.{key}")
        if name not in assets:
            raise ctx.err(f"{where}.{key}", f"unknown asset {name!r}")
        ends.append(name)
    if ends[0] == ends[1]:
        raise ctx.err(f"{where}.to", "an interface needs two different assets")
    if "type" not in f:
        raise ctx.err(f"{where}.type", "is required")
    itype = ctx.choice(f["type"], f"{where}.type", INTERFACE_TYPES)
    op = ""
    if itype == "sdl":
        op = ctx.choice(f.get("op", "read"), f"{where}.op", ("read", "write"))
    elif "op" in f:
        raise ctx.err(f"{where}.op", f"not a field of a {itype} interface")
    essential = ctx.boolean(f["essential"], f"{where}.essential") if "essential" in f else False
    extra = {k: f[k] for k in ("ports", "mtypes", "ran_functions", "policy_types") if k in f}
    return Interface(i, ends[0], ends[1], itype, op, essential, None, extra)


def load_topology(path: str | Path) -> Topology:
    """Read and validate a YAML (or JSON) topology file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(p)) from None
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{line}not valid YAML", source=p.name) from None
    return parse_topology(doc, source=p.name)


# --------------------------------------------------------------------------- segmentation


def merge_segmentation(topology: Topology, policy: Any) -> Topology:
    """Take reachability from a segmentation policy (:class:`xtrust.xapps.segmentation.Policy`).

    The flows the policy keeps in force (after quarantine) replace every
    interface whose two ends are both assets of the policy; assets only in the
    policy are added (kind and zone from the policy; untrusted/quarantine zones
    make entries, critical zones make critical assets).
    """
    from xtrust.xapps.segmentation import effective_flows

    zones = dict(topology.zones)
    for zname, zone in policy.zones.items():
        zones.setdefault(zname, zone.trust)
    explicit_entry = any(a.entry for a in topology.assets.values())
    assets = dict(topology.assets)
    for name, pa in policy.assets.items():
        if name in assets:
            continue
        trust = policy.zones[pa.zone].trust
        entry = trust in ("untrusted", "quarantine") and not explicit_entry
        goals = DEFAULT_GOALS if trust == "critical" else ()
        assets[name] = Asset(name, pa.kind, pa.zone, entry, goals)
    in_policy = set(policy.assets)
    kept = [i for i in topology.interfaces if not (i.src in in_policy and i.dst in in_policy)]
    out: list[Interface] = []
    for iface in kept:
        out.append(
            Interface(
                len(out),
                iface.src,
                iface.dst,
                iface.type,
                iface.op,
                iface.essential,
                None,
                iface.extra,
            )
        )
    for f in effective_flows(policy):
        extra: dict[str, Any] = {}
        if f.mtypes:
            extra["mtypes"] = list(f.mtypes)
        if f.ran_functions:
            extra["ran_functions"] = list(f.ran_functions)
        if f.policy_types:
            extra["policy_types"] = list(f.policy_types)
        if f.ports:
            extra["ports"] = [{"port": p, "protocol": proto} for p, proto in f.ports]
        out.append(Interface(len(out), f.src, f.dst, f.type, f.op, False, f.index, extra))
    return Topology(zones, assets, out, f"{topology.source}+{policy.source}")
