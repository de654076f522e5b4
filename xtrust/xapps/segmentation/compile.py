"""Compile a segmentation policy to every enforcement point.

* RMR route table (librmr text format) with sender-qualified entries: each
  xApp only reaches the receivers its flows allow, for the listed types only
  (several receivers of one type from one sender are fan-out groups: each
  gets a copy);
* per-sender RMR type sets, E2 control grants and A1 grants, read by the
  RIC-lite hooks in :mod:`.enforce`;
* Kubernetes NetworkPolicies (networking.k8s.io/v1), per zone;
* SDL namespace rules ``{namespace: {"read": [...], "write": [...]}}``.

Quarantine: every flow to or from an asset in a quarantine zone is
suspended, except that a quarantined app keeps *read* access to the SDL
namespace it owns (so that it can still start); it cannot write there.
``intra: allow`` zones open the network and SDL inside the zone; RMR routes
and E2 control always need listed flows (they carry typed messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .policy import APP_KINDS, POD_KINDS, Asset, Flow, Policy

__all__ = [
    "LABEL_ASSET",
    "CompiledPolicy",
    "compile_policy",
    "effective_flows",
    "k8s_name",
]

#: pod label that names the asset a pod is (set it in each app's Deployment / Helm chart)
LABEL_ASSET = "xtrust.io/asset"

_K8S_BAD = re.compile(r"[^a-z0-9-]+")


def k8s_name(text: str) -> str:
    """A DNS-1123 label made from ``text`` (lowercase, ``-`` for the rest, <= 63 chars)."""
    name = _K8S_BAD.sub("-", text.lower()).strip("-") or "x"
    return name[:63].rstrip("-") or "x"


def effective_flows(policy: Policy) -> list[Flow]:
    """The flows in force: listed flows minus those suspended by quarantine."""
    quarantined = {a for a in policy.assets if policy.trust_of(a) == "quarantine"}
    if not quarantined:
        return list(policy.flows)
    out = []
    for f in policy.flows:
        if f.src in quarantined or f.dst in quarantined:
            own_read = (
                f.type == "sdl"
                and f.op == "read"
                and f.dst not in quarantined
                and policy.assets[f.dst].owner == f.src
            )
            if not own_read:
                continue
        out.append(f)
    return out


#: the command categories an SDL client needs (ricsdl, sdlgo, xtrust.ric.sdl)
SDL_REDIS_COMMANDS = ["+@read", "+@write", "+@pubsub", "+@scripting", "+@connection",
                      "-@dangerous"]  # fmt: skip


@dataclass(slots=True)
class CompiledPolicy:
    policy: Policy
    flows: list[Flow]
    table_id: str = "xtrust-segmentation"
    quarantined: frozenset[str] = frozenset()
    #: sender asset -> mtype -> receiver assets (in flow order)
    rmr: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    #: (xapp, e2node) -> RAN function ids
    control: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)
    #: receiver -> policy type id -> senders
    a1: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    #: namespace -> {"read": set, "write": set}
    sdl: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    #: rmr endpoint -> asset
    by_endpoint: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------ lookups
    def rmr_allowed(self, sender: str, mtype: int, to_kind: str | None = None) -> bool:
        receivers = self.rmr.get(sender, {}).get(mtype)
        if not receivers:
            return False
        if to_kind is None:
            return True
        return any(self.policy.assets[r].kind == to_kind for r in receivers)

    def a1_allowed(self, sender: str, receiver: str, policy_type: int) -> bool:
        return sender in self.a1.get(receiver, {}).get(policy_type, ())

    def sdl_allowed(self, app: str, namespace: str, op: str) -> bool:
        rule = self.sdl.get(namespace)
        return rule is not None and app in rule.get(op, ())

    # ------------------------------------------------------------ outputs
    def route_table(self) -> str:
        """The librmr route table: one sender-qualified ``mse`` line per (type, sender)."""
        assets = self.policy.assets
        lines = [f"newrt|start|{self.table_id}"]
        count = 0
        for sender in sorted(self.rmr):
            src_ep = assets[sender].rmr
            for mt in sorted(self.rmr[sender]):
                eps = [assets[r].rmr for r in self.rmr[sender][mt]]
                groups = ";".join(e for e in eps if e)
                lines.append(f"mse|{mt},{src_ep}|-1|{groups}")
                count += 1
        lines.append(f"newrt|end|{count}")
        return "\n".join(lines) + "\n"

    def redis_acl(self) -> list[list[str]]:
        """``ACL SETUSER`` arguments enforcing the SDL rules in Redis (the DBaaS).

        One Redis user per app asset (xApps, rApps), named like the asset: key
        patterns ``{<namespace>},*`` (the SDL key format of O-RAN SC) read-only
        (``%R~``), write-only (``%W~``) or both (``~``) as the flows say, the
        namespace's pub/sub channels, and the commands an SDL client uses
        (reads, writes, pub/sub, scripts; nothing ``@dangerous``). Keys,
        channels and commands are reset first, the password is left alone (set
        it with ``ACL SETUSER <app> >secret``); an app with no SDL flow is
        left with no key at all.
        """
        grants: dict[str, dict[str, set[str]]] = {}
        for ns, rule in self.sdl.items():
            for op in ("read", "write"):
                for app in rule[op]:
                    grants.setdefault(app, {}).setdefault(ns, set()).add(op)
        out = []
        for name in sorted(self.policy.assets):
            if self.policy.assets[name].kind not in ("xapp", "rapp"):
                continue
            args = [name, "on", "resetkeys", "resetchannels", "-@all"]
            for ns, ops in sorted(grants.get(name, {}).items()):
                prefix = "~" if ops == {"read", "write"} else ("%R~" if "read" in ops else "%W~")
                args += [prefix + "{" + ns + "},*", "&{" + ns + "},*"]
            if name in grants:
                args += SDL_REDIS_COMMANDS
            out.append(args)
        return out

    def sdl_rules(self) -> dict[str, dict[str, list[str]]]:
        return {
            ns: {"read": sorted(rule["read"]), "write": sorted(rule["write"])}
            for ns, rule in sorted(self.sdl.items())
        }

    def network_policies(self) -> dict[str, list[dict[str, Any]]]:
        """NetworkPolicy manifests by zone: one default-deny per (zone, namespace) and
        one allow policy per pod asset with the peers and ports its flows need."""
        return _network_policies(self)


def compile_policy(policy: Policy, table_id: str = "xtrust-segmentation") -> CompiledPolicy:
    flows = effective_flows(policy)
    assets = policy.assets
    quarantined = frozenset(a for a in assets if policy.trust_of(a) == "quarantine")
    out = CompiledPolicy(policy, flows, table_id, quarantined)
    rmr: dict[str, dict[int, list[str]]] = {}
    control: dict[tuple[str, str], set[int]] = {}
    sdl: dict[str, dict[str, set[str]]] = {
        a.name: {"read": set(), "write": set()}
        for a in assets.values()
        if a.kind == "sdl-namespace"
    }
    for f in flows:
        if f.type == "rmr":
            per = rmr.setdefault(f.src, {})
            for mt in f.mtypes:
                recv = per.setdefault(mt, [])
                if f.dst not in recv:
                    recv.append(f.dst)
        elif f.type == "e2-control":
            control.setdefault((f.src, f.dst), set()).update(f.ran_functions)
        elif f.type == "a1":
            per_a1 = out.a1.setdefault(f.dst, {})
            for pt in f.policy_types:
                per_a1.setdefault(pt, set()).add(f.src)
        elif f.type == "sdl":
            sdl[f.dst][f.op].add(f.src)
    # intra: allow zones open SDL inside the zone
    members: dict[str, list[Asset]] = {}
    for a in assets.values():
        members.setdefault(a.zone, []).append(a)
    for zname, zone in policy.zones.items():
        if zone.intra != "allow":
            continue
        apps = [a.name for a in members.get(zname, []) if a.kind in APP_KINDS | {"rapp"}]
        for a in members.get(zname, []):
            if a.kind == "sdl-namespace":
                sdl[a.name]["read"].update(apps)
                sdl[a.name]["write"].update(apps)
    out.rmr = rmr
    out.control = {k: frozenset(v) for k, v in control.items()}
    out.sdl = sdl
    out.by_endpoint = {a.rmr: a.name for a in assets.values() if a.rmr}
    return out


# --------------------------------------------------------------------------- k8s


def _peer(asset: Asset) -> dict[str, Any] | None:
    if asset.kind in POD_KINDS:
        peer: dict[str, Any] = {"podSelector": {"matchLabels": {LABEL_ASSET: k8s_name(asset.name)}}}
        if asset.k8s_namespace:
            peer["namespaceSelector"] = {
                "matchLabels": {"kubernetes.io/metadata.name": asset.k8s_namespace}
            }
        else:
            peer["namespaceSelector"] = {}
        return peer
    if asset.cidr:
        return {"ipBlock": {"cidr": asset.cidr}}
    return None


def _flow_ports(flow: Flow, policy: Policy) -> tuple[tuple[int, str], ...] | None:
    """Ports a flow opens at the network level, None when it opens nothing."""
    if flow.ports:
        return flow.ports
    if flow.type == "rmr":
        ep = policy.assets[flow.dst].rmr
        if ep:
            return ((int(ep.rpartition(":")[2]), "TCP"),)
    return None


def _rule_key(peer: dict[str, Any]) -> str:
    return repr(sorted(peer.items(), key=lambda kv: kv[0]))


def _network_policies(compiled: CompiledPolicy) -> dict[str, list[dict[str, Any]]]:
    policy = compiled.policy
    assets = policy.assets
    ingress: dict[str, dict[str, tuple[dict[str, Any], set[tuple[int, str]]]]] = {}
    egress: dict[str, dict[str, tuple[dict[str, Any], set[tuple[int, str]]]]] = {}
    for f in compiled.flows:
        ports = _flow_ports(f, policy)
        if ports is None:
            continue
        src, dst = assets[f.src], assets[f.dst]
        if src.kind in POD_KINDS and (peer := _peer(dst)) is not None:
            slot = egress.setdefault(src.name, {}).setdefault(_rule_key(peer), (peer, set()))
            slot[1].update(ports)
        if dst.kind in POD_KINDS and (peer := _peer(src)) is not None:
            slot = ingress.setdefault(dst.name, {}).setdefault(_rule_key(peer), (peer, set()))
            slot[1].update(ports)

    def rules(slots: dict[str, tuple[dict[str, Any], set[tuple[int, str]]]], key: str) -> list[Any]:
        out = []
        for _, (peer, ports) in sorted(slots.items()):
            out.append(
                {
                    key: [peer],
                    "ports": [{"protocol": pr, "port": p} for p, pr in sorted(ports)],
                }
            )
        return out

    by_zone: dict[str, list[dict[str, Any]]] = {}
    for zname, zone in sorted(policy.zones.items()):
        pods = sorted(
            (a for a in assets.values() if a.zone == zname and a.kind in POD_KINDS),
            key=lambda a: a.name,
        )
        docs: list[dict[str, Any]] = []
        namespaces = sorted({a.k8s_namespace or "default" for a in pods})
        member_sel = {
            "matchExpressions": [
                {
                    "key": LABEL_ASSET,
                    "operator": "In",
                    "values": sorted(k8s_name(a.name) for a in pods),
                }
            ]
        }
        for ns in namespaces:
            deny: dict[str, Any] = {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {
                    "name": k8s_name(f"xtrust-zone-{zname}"),
                    "namespace": ns,
                    "labels": {"xtrust.io/zone": k8s_name(zname)},
                },
                "spec": {
                    "podSelector": member_sel,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [],
                    "egress": [],
                },
            }
            if zone.intra == "allow" and zone.trust != "quarantine":
                peer = {"podSelector": member_sel, "namespaceSelector": {}}
                deny["spec"]["ingress"] = [{"from": [peer]}]
                deny["spec"]["egress"] = [{"to": [peer]}]
            docs.append(deny)
        for a in pods:
            ing = rules(ingress.get(a.name, {}), "from")
            egr = rules(egress.get(a.name, {}), "to")
            if not ing and not egr:
                continue
            docs.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {
                        "name": k8s_name(f"xtrust-{a.name}"),
                        "namespace": a.k8s_namespace or "default",
                        "labels": {"xtrust.io/zone": k8s_name(zname)},
                    },
                    "spec": {
                        "podSelector": {"matchLabels": {LABEL_ASSET: k8s_name(a.name)}},
                        "policyTypes": ["Ingress", "Egress"],
                        "ingress": ing,
                        "egress": egr,
                    },
                }
            )
        if docs:
            by_zone[zname] = docs
    return by_zone
