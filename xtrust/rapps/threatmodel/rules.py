"""Exploit rules of the attack graph: a built-in O-RAN set, and rules derived from MITRE FiGHT.

A rule is one MulVAL-style derivation (an AND node)::

    priv(pre) on S  AND  reach(S -> D over an interface of ``types``)  AND  facts about D
        => priv(post) on D            with probability ``probability``

``S`` is the attacker's side and ``D`` the victim's. ``reverse`` rules use the
interface backwards (an SDL reader is attacked through the namespace it
reads). A ``local`` rule needs no interface: it turns one privilege into
another on the same asset (local privilege escalation).

Privileges (the OR nodes): ``execCode`` (runs code there / full control),
``control`` (steers its behaviour: policies, configuration, RAN control),
``dataAccess`` (reads its data), ``dos`` (takes it down).

FiGHT techniques carry free-text pre- and postconditions. :func:`load_fight`
classifies them with keyword tables (documented in docs/threatmodel.md) into a
precondition privilege, postcondition privileges and the asset kinds the
technique targets (from its architecture segments and critical assets); the
probability comes from the technique's status (observed > proof of concept >
theoretical). Techniques that do not classify are counted, not guessed.
Data: MITRE FiGHT(TM), https://fight.mitre.org (Apache-2.0 / ATT&CK terms of use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from xtrust.errors import ConfigError

__all__ = ["BUILTIN_RULES", "FightData", "Rule", "load_fight", "rules_from_fight"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    pre: str
    post: str
    probability: float
    #: interface types the rule uses; None: any type; empty: local rule (no interface)
    types: frozenset[str] | None = None
    src_kinds: frozenset[str] | None = None  # kinds of the attacker's side (None: any)
    dst_kinds: frozenset[str] | None = None  # kinds of the victim (None: any)
    op: str | None = None  # sdl interfaces: read / write only
    reverse: bool = False
    needs_weak_auth: bool = False
    techniques: tuple[str, ...] = ()  # FiGHT technique ids
    tactics: tuple[str, ...] = ()
    source: str = "builtin"
    also: tuple[str, ...] = field(default=(), compare=False)  # other techniques, same effect

    @property
    def local(self) -> bool:
        return self.types is not None and not self.types


def _fs(*items: str) -> frozenset[str]:
    return frozenset(items)


_APPS = _fs("xapp", "rapp", "ric-platform")
_RAN = _fs("e2node", "ru", "du", "cu")

#: Our O-RAN rule set (works without fight.yaml); FiGHT ids where a technique fits.
BUILTIN_RULES: tuple[Rule, ...] = (
    Rule(
        "XT-LOCAL-01",
        "Code execution implies control",
        "execCode",
        "control",
        1.0,
        types=frozenset(),
    ),
    Rule(
        "XT-LOCAL-02",
        "Code execution implies data access",
        "execCode",
        "dataAccess",
        1.0,
        types=frozenset(),
    ),
    Rule(
        "XT-XAPP-01",
        "Rogue xApp sends RIC control to an E2 node",
        "control",
        "control",
        0.9,
        types=_fs("e2-control"),
        src_kinds=_fs("xapp"),
        dst_kinds=_RAN,
        techniques=("FGT5034",),
    ),
    Rule(
        "XT-E2-01",
        "Compromised RIC platform (E2 termination) controls E2 nodes",
        "execCode",
        "control",
        0.9,
        types=_fs("e2", "rmr", "network"),
        src_kinds=_fs("ric-platform"),
        dst_kinds=_RAN,
        techniques=("FGT5032.001",),
    ),
    Rule(
        "XT-E2-02",
        "E2 interface adversary-in-the-middle (ARP cache poisoning)",
        "execCode",
        "dataAccess",
        0.5,
        types=_fs("e2"),
        techniques=("FGT1557.002",),
    ),
    Rule(
        "XT-E2-03",
        "Unauthorised access to E2 manager / RIC platform API over RMR",
        "execCode",
        "execCode",
        0.6,
        types=_fs("rmr", "network"),
        src_kinds=_fs("xapp"),
        dst_kinds=_fs("ric-platform"),
        needs_weak_auth=True,
        techniques=("FGT5034.001",),
    ),
    Rule(
        "XT-A1-01",
        "A1 policy abuse from a compromised SMO / rApp steers an xApp",
        "control",
        "control",
        0.7,
        types=_fs("a1"),
        src_kinds=_fs("smo", "rapp"),
        techniques=("FGT5032.003",),
    ),
    Rule(
        "XT-O1-01",
        "O1 configuration abuse from a compromised SMO",
        "execCode",
        "control",
        0.8,
        types=_fs("o1"),
        src_kinds=_fs("smo"),
        techniques=("FGT5032",),
    ),
    Rule(
        "XT-SDL-01",
        "RIC database (SDL) read of a namespace",
        "execCode",
        "dataAccess",
        0.9,
        types=_fs("sdl"),
        dst_kinds=_fs("sdl-namespace"),
        techniques=("FGT1565",),
    ),
    Rule(
        "XT-SDL-02",
        "RIC database (SDL) tampering: write to a namespace",
        "execCode",
        "control",
        0.9,
        types=_fs("sdl"),
        dst_kinds=_fs("sdl-namespace"),
        op="write",
        techniques=("FGT1565",),
    ),
    Rule(
        "XT-SDL-03",
        "Poisoned SDL data steers the apps that read it",
        "control",
        "control",
        0.5,
        types=_fs("sdl"),
        src_kinds=_fs("sdl-namespace"),
        dst_kinds=_APPS,
        op="read",
        reverse=True,
        techniques=("FGT5036",),
    ),
    Rule(
        "XT-FH-01",
        "Fronthaul U-plane eavesdropping",
        "execCode",
        "dataAccess",
        0.7,
        types=_fs("fronthaul"),
        techniques=("FGT1040.502",),
    ),
    Rule(
        "XT-FH-02",
        "Fronthaul synchronisation (PTP) manipulation",
        "execCode",
        "dos",
        0.5,
        types=_fs("fronthaul"),
        dst_kinds=_RAN,
        techniques=("FGT1498.504",),
    ),
    Rule(
        "XT-FH-03",
        "Unauthenticated fronthaul M-plane: configuration takeover",
        "execCode",
        "control",
        0.6,
        types=_fs("fronthaul"),
        dst_kinds=_RAN,
        needs_weak_auth=True,
        techniques=("FGT1200",),
    ),
    Rule(
        "XT-AUTH-01",
        "Weak or default credentials on a reachable service",
        "execCode",
        "execCode",
        0.6,
        types=_fs("network", "o1", "a1", "rmr"),
        needs_weak_auth=True,
        techniques=("FGT1078",),
    ),
    Rule(
        "XT-RADIO-01",
        "Radio-side denial of service (jamming, signalling storm)",
        "execCode",
        "dos",
        0.8,
        types=_fs("radio"),
        dst_kinds=_RAN,
        techniques=("FGT1499.002",),
    ),
)


# --------------------------------------------------------------------------- FiGHT

#: status -> probability of the technique succeeding where its preconditions hold
_STATUS_P = (("observed", 0.6), ("proof of concept", 0.45), ("poc", 0.45), ("theoretical", 0.25))

#: precondition keywords -> where the attacker must stand
_PRE_PROXIMITY = (
    "vicinity",
    "false base station",
    "sniffer",
    "airlink",
    "over the air",
    "transmit",
    "same area",
    "radio",
)
_PRE_FRONTHAUL = ("fronthaul", "fh interface", "physical access")
_PRE_ACCESS = (
    "access",
    "compromis",
    "control",
    "malware",
    "install",
    "implant",
    "privileg",
    "credential",
    "malicious",
    "rogue",
    "insider",
)
#: precondition words naming the asset the attacker must already hold (whole words) -> its
#: kinds. Only for the generic "access / compromise" class: a technique whose precondition is
#: "an onboarded malicious rApp" starts from an rApp, not from any compromised asset. ("UE"
#: is not a subject word: preconditions name the victim UE's identifiers, not a position.)
_PRE_SUBJECTS = (
    (re.compile(r"\brapps?\b"), ("rapp",)),
    (re.compile(r"\bxapps?\b"), ("xapp",)),
    (re.compile(r"\bnear-rt ric\b"), ("ric-platform", "xapp")),
    (re.compile(r"\bgnbs?\b"), ("e2node", "du", "cu")),
    (re.compile(r"\bsmo\b"), ("smo",)),
    (re.compile(r"\bo-du\b"), ("du",)),
    (re.compile(r"\bo-cu\b"), ("cu",)),
    (re.compile(r"\bo-ru\b"), ("ru",)),
)
#: tactics that keep a foothold without moving: a technique with only these tactics whose
#: postcondition is its precondition's privilege gains nothing on another asset
_STAY_TACTICS = frozenset({"TA0003", "TA0005"})  # persistence, defense evasion
#: postcondition keywords -> privilege gained (first table that matches wins for one text)
_POST = (
    (
        "execCode",
        (
            "execute",
            "foothold",
            "persistence",
            "backdoor",
            "malicious code",
            "compromised network function",
            "breach",
        ),
    ),
    (
        "control",
        (
            "control",
            "configuration",
            "manipulat",
            "tamper",
            "tricked",
            "redirect",
            "spoof",
            "masquerad",
            "affected",
        ),
    ),
    (
        "dos",
        ("outage", "denial", "denied", "unavailable", "degrad", "exhaust", "disrupt", "impacted"),
    ),
    (
        "dataAccess",
        (
            "data",
            "exposed",
            "leak",
            "confidential",
            "eavesdrop",
            "identifier",
            "imsi",
            "supi",
            "credential",
            "known",
            "privacy",
            "intercept",
            "reveal",
        ),
    ),
)
#: segment / critical-asset keywords -> asset kinds of our topology
_KINDS = (
    ("o-ran", ("xapp", "rapp", "ric-platform", "e2node", "du", "cu", "ru", "smo")),
    ("ran", ("e2node", "du", "cu", "ru")),
    ("xapp", ("xapp",)),
    ("rapp", ("rapp",)),
    ("ric", ("ric-platform",)),
    ("smo", ("smo",)),
    ("o-ru", ("ru",)),
    ("o-du", ("du",)),
    ("o-cu", ("cu",)),
    ("gnb", ("e2node", "du", "cu")),
    ("fronthaul", ("ru", "du")),
    ("virtualization", ("ocloud-node", "host")),
    ("host server", ("host", "ocloud-node")),
    ("container", ("ocloud-node",)),
    ("oa&m", ("smo", "host")),
    ("ue", ("ue",)),
)


#: FiGHT/ATT&CK tactic -> privileges a technique of that tactic can yield
_TACTIC_POSTS = {
    "TA0043": {"dataAccess"},  # reconnaissance
    "TA0007": {"dataAccess"},  # discovery
    "TA0009": {"dataAccess"},  # collection
    "TA0006": {"dataAccess"},  # credential access
    "TA0010": {"dataAccess"},  # exfiltration
    "TA0040": {"dos", "control"},  # impact
    "TA0001": {"execCode", "control"},  # initial access
    "TA0002": {"execCode", "control"},  # execution
    "TA0003": {"execCode", "control"},  # persistence
    "TA0004": {"execCode", "control"},  # privilege escalation
    "TA0008": {"execCode", "control"},  # lateral movement
    "TA0005": {"control"},  # defense evasion
    "TA0011": {"control"},  # command and control
}


@dataclass(slots=True)
class FightData:
    """Technique id -> (name, tactics) and the rules derived from the file."""

    path: str
    techniques: dict[str, tuple[str, tuple[str, ...]]]
    rules: list[Rule]
    skipped: dict[str, str]  # technique id -> why no rule was derived


def _status_p(status: str) -> float:
    text = status.lower()
    for key, p in _STATUS_P:
        if key in text:
            return p
    return 0.25


def _texts(conds: Any) -> list[str]:
    out: list[str] = []
    if isinstance(conds, list):
        for c in conds:
            if isinstance(c, dict):
                out.append(f"{c.get('name', '')} {c.get('description', '')}".lower())
    return out


def _pre_class(texts: list[str]) -> tuple[str, frozenset[str] | None] | None:
    """(pre privilege, interface types or None) for a technique's preconditions."""
    joined = " ".join(texts)
    if any(k in joined for k in _PRE_PROXIMITY):
        return "execCode", _fs("radio")
    if any(k in joined for k in _PRE_FRONTHAUL):
        return "execCode", _fs("fronthaul", "e2")
    if any(k in joined for k in _PRE_ACCESS):
        return "execCode", None
    return None


def _subject_kinds(texts: list[str]) -> frozenset[str] | None:
    """Kinds of the asset a precondition says the attacker holds (None: not named)."""
    joined = " ".join(texts)
    kinds = {k for rx, ks in _PRE_SUBJECTS if rx.search(joined) for k in ks}
    return frozenset(kinds) if kinds else None


#: phrases that contain a privilege keyword without meaning that privilege: the 3GPP
#: "control plane" / "CP" is a protocol plane, an "adversary-controlled host" is where the
#: attacker stands, not what the technique gains
_NOT_PRIVILEGE = re.compile(r"\bcontrol plane\b|\b(?:adversary[- ])?controlled\b")


def _post_class(texts: list[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        text = _NOT_PRIVILEGE.sub(" ", text)
        for priv, words in _POST:
            if any(w in text for w in words):
                if priv not in found:
                    found.append(priv)
                break
    return found


def _kinds(tech: dict[str, Any]) -> frozenset[str]:
    segs = str(tech.get("architecture-segment") or "").lower()
    assets = " ".join(
        str(c.get("name", "")).lower()
        for c in tech.get("criticalassets") or []
        if isinstance(c, dict)
    )
    kinds: set[str] = set()
    for text in (segs, assets):
        parts = [p.strip() for p in text.replace(";", ",").split(",")]
        for key, ks in _KINDS:
            if key in ("ran", "ue"):  # whole words only
                if any(key in p.replace("-", " ").replace("/", " ").split() for p in parts):
                    kinds.update(ks)
            elif key in text:
                kinds.update(ks)
    return frozenset(kinds)


def rules_from_fight(doc: Any, source: str = "fight.yaml") -> FightData:
    """Derive rules from a parsed FiGHT document (its ``techniques`` list)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("techniques"), list):
        raise ConfigError("not a FiGHT document (no techniques list)", source=source)
    techniques: dict[str, tuple[str, tuple[str, ...]]] = {}
    skipped: dict[str, str] = {}
    best: dict[tuple[Any, ...], Rule] = {}
    for tech in doc["techniques"]:
        if not isinstance(tech, dict) or not isinstance(tech.get("id"), str):
            continue
        tid = tech["id"]
        tactics = tuple(t for t in tech.get("tactics") or [] if isinstance(t, str))
        techniques[tid] = (str(tech.get("name", tid)), tactics)
        pre_texts = _texts(tech.get("preconditions"))
        pre = _pre_class(pre_texts)
        if pre is None:
            skipped[tid] = "preconditions not classified"
            continue
        allowed: set[str] = set()
        for t in tactics:
            allowed |= _TACTIC_POSTS.get(t, set())
        posts = [p for p in _post_class(_texts(tech.get("postconditions"))) if p in allowed]
        if not posts:
            skipped[tid] = "postconditions not classified (or not allowed by its tactics)"
            continue
        if tactics and set(tactics) <= _STAY_TACTICS:
            posts = [p for p in posts if p != pre[0]]
            if not posts:
                skipped[tid] = (
                    "persistence / defense evasion only: keeps the attacker's privilege, "
                    "gains none on another asset"
                )
                continue
        kinds = _kinds(tech)
        if not kinds:
            skipped[tid] = "no asset kind of the topology vocabulary in its segments"
            continue
        # the generic access class starts from the asset its precondition names, if any
        src_kinds = _subject_kinds(pre_texts) if pre[1] is None else None
        p = _status_p(str(tech.get("status", "")))
        for post in posts:
            rule = Rule(
                tid if len(posts) == 1 else f"{tid}:{post}",
                str(tech.get("name", tid)),
                pre[0],
                post,
                p,
                types=pre[1],
                src_kinds=src_kinds,
                dst_kinds=kinds,
                techniques=(tid,),
                tactics=tactics,
                source="fight",
            )
            key = (rule.pre, rule.post, rule.types, rule.src_kinds, rule.dst_kinds)
            old = best.get(key)
            if old is None or p > old.probability:
                also = (old.techniques + old.also) if old is not None else ()
                best[key] = replace(rule, also=also)
            else:
                best[key] = replace(old, also=(*old.also, tid))
    rules = sorted(best.values(), key=lambda r: r.id)
    return FightData(source, techniques, rules, skipped)


def load_fight(path: str | Path) -> FightData:
    """Load ``fight.yaml`` (MITRE FiGHT) and derive rules from it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(p)) from None
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        raise ConfigError("not valid YAML", source=p.name) from None
    return rules_from_fight(doc, source=str(p))


def name_builtins(rules: Iterable[Rule], fight: FightData | None) -> list[Rule]:
    """Built-in rules with the FiGHT technique names / tactics filled in when known."""
    out = []
    for r in rules:
        if fight is not None and r.techniques and r.techniques[0] in fight.techniques:
            out.append(replace(r, tactics=fight.techniques[r.techniques[0]][1]))
        else:
            out.append(r)
    return out
