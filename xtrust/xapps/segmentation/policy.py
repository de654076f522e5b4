"""The micro-segmentation policy model: assets, zones, flows; loaded from YAML and validated.

A policy file::

    version: 1
    zones:
      ran:       {trust: critical}
      platform:  {trust: platform, intra: allow}
      apps:      {trust: trusted}
      guest:     {trust: untrusted}
      quarantine: {trust: quarantine}
    assets:
      e2term:  {kind: ric-platform, zone: platform, rmr: "e2term:38000"}
      kpimon:  {kind: xapp, zone: apps, rmr: "kpimon:4560", k8s_namespace: ricxapp}
      gnb-1:   {kind: e2node, zone: ran, cidr: 10.0.5.0/24}
      kpm-data: {kind: sdl-namespace, zone: apps, owner: kpimon}
    flows:
      - {from: kpimon, to: e2term, type: rmr, mtypes: [RIC_SUB_REQ, 12040]}
      - {from: kpimon, to: gnb-1, type: e2-control, ran_functions: [2, 3]}
      - {from: smo, to: kpimon, type: a1, policy_types: [20008]}
      - {from: kpimon, to: kpm-data, type: sdl, op: write}
      - {from: kpimon, to: prom, type: network, ports: [{port: 9090, protocol: TCP}]}

Everything between zones is denied unless a flow allows it; inside a zone too
(zero trust), unless the zone says ``intra: allow``. Every error is one
:class:`~xtrust.errors.ConfigError` naming the field (``flows[3].to: unknown
asset 'kpimon'``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xtrust._fields import FieldChecker, show, type_name
from xtrust.errors import ConfigError, InputError
from xtrust.ric import mtypes

__all__ = [
    "ASSET_KINDS",
    "FLOW_TYPES",
    "TRUST_LEVELS",
    "Asset",
    "Flow",
    "Policy",
    "Zone",
    "load_policy",
    "parse_policy",
]

ASSET_KINDS = (
    "ric-platform",
    "xapp",
    "rapp",
    "e2node",
    "smo",
    "sdl-namespace",
    "ocloud-node",
)
TRUST_LEVELS = ("critical", "platform", "trusted", "untrusted", "quarantine")
FLOW_TYPES = ("rmr", "e2-control", "a1", "sdl", "network")
PROTOCOLS = ("TCP", "UDP", "SCTP")

#: kinds that run as pods (get a NetworkPolicy); the others are external or logical
POD_KINDS = frozenset({"ric-platform", "xapp", "rapp", "smo"})
#: kinds that may originate an RMR / E2 control / SDL flow
APP_KINDS = frozenset({"ric-platform", "xapp"})


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    trust: str
    intra: str = "deny"  # "allow": members may talk to each other without listed flows


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    kind: str
    zone: str
    rmr: str | None = None  # RMR endpoint host:port
    k8s_namespace: str | None = None
    cidr: str | None = None  # external assets (E2 nodes, O-Cloud nodes): address block
    owner: str | None = None  # sdl-namespace: the app whose namespace it is


@dataclass(frozen=True, slots=True)
class Flow:
    index: int  # position in flows[] (for messages)
    src: str
    dst: str
    type: str
    mtypes: tuple[int, ...] = ()  # rmr
    ran_functions: tuple[int, ...] = ()  # e2-control
    policy_types: tuple[int, ...] = ()  # a1
    op: str = ""  # sdl: read | write
    ports: tuple[tuple[int, str], ...] = ()  # (port, protocol)

    def label(self) -> str:
        """Short description of what the flow allows (used in violation paths)."""
        if self.type == "rmr":
            return "rmr:" + ",".join(mtypes.name(m) for m in self.mtypes)
        if self.type == "e2-control":
            return "e2-control:" + ",".join(str(f) for f in self.ran_functions)
        if self.type == "a1":
            return "a1:" + ",".join(str(p) for p in self.policy_types)
        if self.type == "sdl":
            return f"sdl:{self.op}"
        return "network:" + ",".join(f"{p}/{proto}" for p, proto in self.ports)


@dataclass(slots=True)
class Policy:
    zones: dict[str, Zone]
    assets: dict[str, Asset]
    flows: list[Flow]
    source: str = "<policy>"
    #: assets moved by quarantine(): name -> zone they came from
    moved: dict[str, str] = field(default_factory=dict)

    def zone_of(self, asset: str) -> Zone:
        return self.zones[self.assets[asset].zone]

    def trust_of(self, asset: str) -> str:
        return self.zones[self.assets[asset].zone].trust

    def quarantine_zone(self) -> str:
        for zone in self.zones.values():
            if zone.trust == "quarantine":
                return zone.name
        raise InputError(f"{self.source}: no zone with trust 'quarantine'")

    def with_zone(self, asset: str, zone: str) -> Policy:
        """A copy with ``asset`` moved to ``zone`` (flows unchanged)."""
        assets = dict(self.assets)
        old = assets[asset]
        assets[asset] = Asset(
            old.name, old.kind, zone, old.rmr, old.k8s_namespace, old.cidr, old.owner
        )
        return Policy(dict(self.zones), assets, self.flows, self.source, dict(self.moved))


# --------------------------------------------------------------------------- parsing


def _endpoint(ctx: FieldChecker, value: Any, where: str) -> str:
    text = ctx.string(value, where)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "|" in text:
        raise ctx.err(where, f"{text!r} is not host:port")
    return text


_ZONE_KEYS = {"trust", "intra", "description"}
_ASSET_KEYS = {"kind", "zone", "rmr", "k8s_namespace", "cidr", "owner", "description"}
_FLOW_KEYS = {
    "from",
    "to",
    "type",
    "mtypes",
    "ran_functions",
    "policy_types",
    "op",
    "ports",
    "description",
}


def parse_policy(doc: Any, source: str = "<policy>") -> Policy:
    """Validate a parsed YAML/JSON document; raise ConfigError naming the bad field."""
    ctx = FieldChecker(source)
    top = ctx.mapping(doc, "policy")
    ctx.unknown_keys(top, "", {"version", "zones", "assets", "flows", "description"})
    version = top.get("version", 1)
    if version != 1:
        raise ctx.err("version", f"unsupported version {show(version)} (expected 1)")

    zones: dict[str, Zone] = {}
    for name, zdoc in ctx.mapping(top.get("zones"), "zones").items():
        where = f"zones.{name}"
        name = ctx.string(name, where)
        z = ctx.mapping(zdoc if zdoc is not None else {}, where)
        ctx.unknown_keys(z, where, _ZONE_KEYS)
        if "trust" not in z:
            raise ctx.err(f"{where}.trust", "is required")
        trust = ctx.choice(z["trust"], f"{where}.trust", TRUST_LEVELS)
        intra = ctx.choice(z.get("intra", "deny"), f"{where}.intra", ("allow", "deny"))
        if trust == "quarantine" and intra == "allow":
            raise ctx.err(f"{where}.intra", "a quarantine zone cannot allow intra-zone traffic")
        zones[name] = Zone(name, trust, intra)
    if not any(z.trust == "quarantine" for z in zones.values()):
        zones.setdefault("quarantine", Zone("quarantine", "quarantine"))
        if zones["quarantine"].trust != "quarantine":
            raise ctx.err("zones.quarantine", "must have trust 'quarantine'")

    assets: dict[str, Asset] = {}
    rmr_seen: dict[str, str] = {}
    raw_assets = ctx.mapping(top.get("assets"), "assets")
    for name, adoc in raw_assets.items():
        where = f"assets.{name}"
        name = ctx.string(name, where)
        a = ctx.mapping(adoc, where)
        ctx.unknown_keys(a, where, _ASSET_KEYS)
        for req in ("kind", "zone"):
            if req not in a:
                raise ctx.err(f"{where}.{req}", "is required")
        kind = ctx.choice(a["kind"], f"{where}.kind", ASSET_KINDS)
        zone = ctx.string(a["zone"], f"{where}.zone")
        if zone not in zones:
            raise ctx.err(f"{where}.zone", f"unknown zone {zone!r}")
        rmr = None
        if a.get("rmr") is not None:
            if kind not in APP_KINDS:
                raise ctx.err(f"{where}.rmr", f"a {kind} has no RMR endpoint")
            rmr = _endpoint(ctx, a["rmr"], f"{where}.rmr")
            if rmr in rmr_seen:
                raise ctx.err(f"{where}.rmr", f"{rmr} is also the endpoint of {rmr_seen[rmr]}")
            rmr_seen[rmr] = name
        ns = a.get("k8s_namespace")
        if ns is not None:
            ns = ctx.string(ns, f"{where}.k8s_namespace")
        cidr = a.get("cidr")
        if cidr is not None:
            cidr = ctx.string(cidr, f"{where}.cidr")
            try:
                cidr = str(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise ctx.err(f"{where}.cidr", f"{cidr!r} is not an IP network") from None
        owner = a.get("owner")
        if owner is not None:
            if kind != "sdl-namespace":
                raise ctx.err(f"{where}.owner", "only an sdl-namespace has an owner")
            owner = ctx.string(owner, f"{where}.owner")
            if owner not in raw_assets:
                raise ctx.err(f"{where}.owner", f"unknown asset {owner!r}")
        assets[name] = Asset(name, kind, zone, rmr, ns, cidr, owner)

    flows: list[Flow] = []
    raw_flows = top.get("flows", [])
    if not isinstance(raw_flows, list):
        raise ctx.err("flows", f"must be a list, not {type_name(raw_flows)}")
    for i, fdoc in enumerate(raw_flows):
        flows.append(_parse_flow(ctx, fdoc, i, assets))
    return Policy(zones, assets, flows, source)


def _parse_flow(ctx: FieldChecker, fdoc: Any, i: int, assets: dict[str, Asset]) -> Flow:
    where = f"flows[{i}]"
    f = ctx.mapping(fdoc, where)
    ctx.unknown_keys(f, where, _FLOW_KEYS)
    ends: list[Asset] = []
    for key in ("from", "to"):
        if key not in f:
            raise ctx.err(f"{where}.{key}", "is required")
        name = ctx.string(f[key], f"{where}.{key}")
        if name not in assets:
            raise ctx.err(f"{where}.{key}", f"unknown asset {name!r}")
        ends.append(assets[name])
    src, dst = ends
    if src.name == dst.name:
        raise ctx.err(f"{where}.to", "a flow needs two different assets")
    if "type" not in f:
        raise ctx.err(f"{where}.type", "is required")
    ftype = ctx.choice(f["type"], f"{where}.type", FLOW_TYPES)
    allowed_extra = {
        "rmr": {"mtypes", "ports"},
        "e2-control": {"ran_functions"},
        "a1": {"policy_types", "ports"},
        "sdl": {"op"},
        "network": {"ports"},
    }[ftype]
    for key in ("mtypes", "ran_functions", "policy_types", "op", "ports"):
        if key in f and key not in allowed_extra:
            raise ctx.err(f"{where}.{key}", f"not a field of a {ftype} flow")

    def need_kind(end: Asset, key: str, kinds: frozenset[str] | set[str]) -> None:
        if end.kind not in kinds:
            raise ctx.err(
                f"{where}.{key}",
                f"{end.name!r} is a {end.kind}; a {ftype} flow needs {' or '.join(sorted(kinds))}",
            )

    ports = _parse_ports(ctx, f.get("ports"), f"{where}.ports") if "ports" in f else ()
    if ftype == "rmr":
        need_kind(src, "from", APP_KINDS)
        need_kind(dst, "to", APP_KINDS)
        for key, end in (("from", src), ("to", dst)):
            if end.rmr is None:
                raise ctx.err(f"{where}.{key}", f"asset {end.name!r} has no rmr endpoint")
        raw = f.get("mtypes")
        if not isinstance(raw, list) or not raw:
            raise ctx.err(f"{where}.mtypes", "must be a non-empty list of RMR message types")
        mts: list[int] = []
        for j, m in enumerate(raw):
            try:
                mts.append(mtypes.mtype(m))
            except InputError as exc:
                raise ctx.err(f"{where}.mtypes[{j}]", exc.message) from None
        return Flow(i, src.name, dst.name, ftype, mtypes=tuple(dict.fromkeys(mts)), ports=ports)
    if ftype == "e2-control":
        need_kind(src, "from", {"xapp"})
        need_kind(dst, "to", {"e2node"})
        funcs = ctx.int_list(f.get("ran_functions"), f"{where}.ran_functions", 0, 4095)
        return Flow(i, src.name, dst.name, ftype, ran_functions=funcs)
    if ftype == "a1":
        need_kind(src, "from", {"smo", "rapp"})
        need_kind(dst, "to", {"xapp", "ric-platform"})
        pts = ctx.int_list(f.get("policy_types"), f"{where}.policy_types", 0, 2**31 - 1)
        return Flow(i, src.name, dst.name, ftype, policy_types=pts, ports=ports)
    if ftype == "sdl":
        need_kind(src, "from", {"xapp", "rapp", "ric-platform"})
        need_kind(dst, "to", {"sdl-namespace"})
        if "op" not in f:
            raise ctx.err(f"{where}.op", "is required (read or write)")
        op = ctx.choice(f["op"], f"{where}.op", ("read", "write"))
        return Flow(i, src.name, dst.name, ftype, op=op)
    # network
    if src.kind == "sdl-namespace" or dst.kind == "sdl-namespace":
        raise ctx.err(f"{where}.type", "an sdl-namespace is reached with an sdl flow")
    if not ports:
        raise ctx.err(f"{where}.ports", "is required for a network flow")
    return Flow(i, src.name, dst.name, ftype, ports=ports)


def _parse_ports(ctx: FieldChecker, value: Any, where: str) -> tuple[tuple[int, str], ...]:
    if not isinstance(value, list) or not value:
        raise ctx.err(where, "must be a non-empty list of {port, protocol}")
    out: list[tuple[int, str]] = []
    for j, p in enumerate(value):
        pw = f"{where}[{j}]"
        if isinstance(p, int) and not isinstance(p, bool):
            out.append((ctx.integer(p, pw, 1, 65535), "TCP"))
            continue
        pd = ctx.mapping(p, pw)
        ctx.unknown_keys(pd, pw, {"port", "protocol"})
        if "port" not in pd:
            raise ctx.err(f"{pw}.port", "is required")
        port = ctx.integer(pd["port"], f"{pw}.port", 1, 65535)
        proto = ctx.choice(pd.get("protocol", "TCP"), f"{pw}.protocol", PROTOCOLS)
        out.append((port, proto))
    return tuple(dict.fromkeys(out))


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int):
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int) and key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key if isinstance(key, str | int) else id(key_node))
        return super().construct_mapping(node, deep=deep)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a YAML (or JSON) policy file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(p)) from None
    try:
        loader = _StrictLoader(text)  # a SafeLoader subclass that refuses duplicate keys
        try:
            doc = loader.get_single_data()
        finally:
            loader.dispose()
    except _DuplicateKey as exc:
        raise ConfigError(f"line {exc.line}: duplicate key {exc.key!r}", source=p.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{line}not valid YAML: {problem}", source=p.name) from None
    return parse_policy(doc, source=p.name)
