"""The normalised XDR event and the mapping from every source.

Every input becomes one :class:`Event` (or is dropped, for the reason given):

================  =========================================================================
source            mapping
================  =========================================================================
xtrust-alert      time, source, severity, score, attack_class and id as given; entity =
                  ``<entity.kind>:<entity.id>``; ``entity.node`` adds ``e2node:<node>`` to
                  ``related`` (unless the entity is that node); features/evidence -> attrs
STIX 2.1 bundle   each ``sighting`` -> its ``observed-data`` -> the ``x-xtrust-alert``
                  objects they reference, mapped as an xtrust-alert (see :func:`alert_to_stix`)
xtrust-certify    ``{"type": "xtrust-certify", "time", "app", "version", "digest",
                  "verdict": pass|fail, "findings": {"critical": n, "high": n, ...}}`` ->
                  entity ``xapp:<app>``; severity critical (critical findings), high (fail),
                  low (pass); attrs digest, version
xtrust-ledger     ``{"type": "xtrust-ledger", "event": AppRegistered|AppApproved|AppDeployed|
                  AppSuspended|AppRevoked, "name", "version", "digest", "time"}`` -> entity
                  ``xapp:<name>``; severity high (revoked), medium (suspended), low (others)
ledger contract   ``LedgerClient`` event dicts ``{"event", "args", "block", "tx"[, "time"]}``:
                  ``AppSubmitted`` (name, version, artifact digest) is context for
                  ``xapp:<name>`` and teaches the record key; ``StateChanged`` to
                  Suspended (5) / Revoked (6) is medium / high for the app of that key,
                  other states are context; no ``time``: the time of ingestion
policy decision   ``{"type": "xtrust-policy-decision", "time", "subject": {"kind", "id"},
                  "action", "decision": allow|deny|step-up, "risk": 0..1}`` -> entity
                  ``<kind>:<id>``; score = risk; severity high (deny, risk >= 0.8),
                  medium (deny / step-up), low (allow)
JSON-lines log    mdclogpy shape ``{"ts": ms, "crit", "id", "mdc", "msg"}``; kept from WARNING
                  up (WARNING medium, ERROR high, CRITICAL critical); entity from the first
                  mdc key of xapp, asset, e2node, cell, ue (else ``app:<id>``)
================  =========================================================================

Times are epoch seconds (floats); ISO 8601 strings (``Z`` or an offset) are accepted.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xtrust.errors import DecodeError, InputError

__all__ = [
    "ATTACK_CLASSES",
    "ENTITY_KINDS",
    "SEVERITIES",
    "Event",
    "aiter_events",
    "alert_to_stix",
    "entity_key",
    "from_alert",
    "from_stix_bundle",
    "iso",
    "normalize",
    "parse_time",
    "read_jsonl",
    "severity_rank",
    "sorted_events",
]

SEVERITIES = ("low", "medium", "high", "critical")
ENTITY_KINDS = ("cell", "ue", "xapp", "e2node")
ATTACK_CLASSES = (
    "jamming",
    "signalling-storm",
    "ue-flood",
    "fake-bs",
    "rogue-control",
    "null-cipher",
    "blind-dos",
    "identity-extraction",
    "unknown-kpm",
    "unknown-sequence",
)
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(slots=True)
class Event:
    time: float  # epoch seconds
    source: str  # emitting app or system
    kind: str  # alert | certify | ledger | policy | log
    entity: str  # "<kind>:<id>"
    severity: str
    id: str
    score: float | None = None
    attack_class: str | None = None
    related: tuple[str, ...] = ()  # further entity keys (the E2 node of a cell / UE)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.entity, *self.related)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": iso(self.time),
            "source": self.source,
            "kind": self.kind,
            "entity": self.entity,
            "related": list(self.related),
            "severity": self.severity,
            "score": self.score,
            "attack_class": self.attack_class,
        }


def entity_key(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


def parse_time(value: Any, where: str = "time") -> float:
    if isinstance(value, bool):
        raise InputError(f"{where}: not a time: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"{where}: not an ISO 8601 time: {value!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise InputError(f"{where}: not a time: {value!r}")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _str(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}.{key}: must be a non-empty string")
    return value


def from_alert(doc: Mapping[str, Any], where: str = "alert") -> Event:
    """An XTRUST alert (spec_version 1) -> Event."""
    ent = doc.get("entity")
    if not isinstance(ent, Mapping):
        raise InputError(f"{where}.entity: must be an object")
    kind = _str(ent, "kind", f"{where}.entity")
    if kind not in ENTITY_KINDS:
        raise InputError(f"{where}.entity.kind: {kind!r} is not one of {', '.join(ENTITY_KINDS)}")
    ident = ent.get("id")
    if not isinstance(ident, str | int) or ident == "":
        raise InputError(f"{where}.entity.id: must be a non-empty string")
    severity = doc.get("severity", "medium")
    if severity not in _SEV_RANK:
        raise InputError(f"{where}.severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    score = doc.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise InputError(f"{where}.score: must be a number")
    attack = doc.get("attack_class")
    if attack is not None and not isinstance(attack, str):
        raise InputError(f"{where}.attack_class: must be a string or null")
    node = ent.get("node")
    related: tuple[str, ...] = ()
    if node not in (None, "") and not (kind == "e2node" and str(node) == str(ident)):
        related = (entity_key("e2node", str(node)),)
    attrs: dict[str, Any] = {}
    if doc.get("features"):
        attrs["features"] = doc["features"]
    if doc.get("evidence"):
        attrs["evidence"] = doc["evidence"]
    return Event(
        parse_time(doc.get("time"), f"{where}.time"),
        str(doc.get("source") or "unknown"),
        "alert",
        entity_key(kind, str(ident)),
        severity,
        str(doc.get("id") or f"alert--{uuid.uuid4()}"),
        float(score) if score is not None else None,
        attack,
        related,
        attrs,
    )


def _from_certify(doc: Mapping[str, Any], where: str) -> Event:
    app = _str(doc, "app", where)
    verdict = doc.get("verdict", "pass")
    findings = doc.get("findings") or {}
    if verdict not in ("pass", "fail"):
        raise InputError(f"{where}.verdict: must be pass or fail")
    severity = "low"
    if verdict == "fail":
        severity = (
            "critical" if isinstance(findings, Mapping) and findings.get("critical") else "high"
        )
    attrs = {k: doc[k] for k in ("version", "digest") if doc.get(k)}
    ident = f"certify--{_digest(doc)}"
    return Event(
        parse_time(doc.get("time"), f"{where}.time"),
        str(doc.get("source") or "xtrust-certify"),
        "certify",
        entity_key("xapp", app),
        severity,
        str(doc.get("id") or ident),
        attrs=attrs | {"verdict": verdict},
    )


_LEDGER_SEV = {"AppRevoked": "high", "AppSuspended": "medium"}


def _from_ledger(doc: Mapping[str, Any], where: str) -> Event:
    name = _str(doc, "name", where)
    ev = _str(doc, "event", where)
    attrs = {k: doc[k] for k in ("version", "digest", "tx") if doc.get(k)}
    return Event(
        parse_time(doc.get("time"), f"{where}.time"),
        str(doc.get("source") or "xtrust-ledger"),
        "ledger",
        entity_key("xapp", name),
        _LEDGER_SEV.get(ev, "low"),
        str(doc.get("id") or f"ledger--{_digest(doc)}"),
        attrs=attrs | {"event": ev},
    )


def _from_policy(doc: Mapping[str, Any], where: str) -> Event:
    subj = doc.get("subject")
    if not isinstance(subj, Mapping):
        raise InputError(f"{where}.subject: must be an object")
    kind = _str(subj, "kind", f"{where}.subject")
    ident = str(subj.get("id", ""))
    if not ident:
        raise InputError(f"{where}.subject.id: must be a non-empty string")
    decision = str(doc.get("decision", "allow"))
    risk = doc.get("risk")
    risk_f = float(risk) if isinstance(risk, int | float) and not isinstance(risk, bool) else None
    if decision == "allow":
        severity = "low"
    elif decision == "deny" and risk_f is not None and risk_f >= 0.8:
        severity = "high"
    else:
        severity = "medium"
    return Event(
        parse_time(doc.get("time"), f"{where}.time"),
        str(doc.get("source") or "xtrust-policy"),
        "policy",
        entity_key(kind, ident),
        severity,
        str(doc.get("id") or f"policy--{_digest(doc)}"),
        score=risk_f,
        attrs={"decision": decision, "action": doc.get("action")},
    )


_LOG_SEV = {"WARNING": "medium", "WARN": "medium", "ERROR": "high", "CRITICAL": "critical"}
_LOG_KEYS = ("xapp", "asset", "e2node", "cell", "ue")


def _from_log(doc: Mapping[str, Any], where: str) -> Event | None:
    severity = _LOG_SEV.get(str(doc.get("crit", "")).upper())
    if severity is None:
        return None  # below WARNING: not a security signal
    mdc = doc.get("mdc") if isinstance(doc.get("mdc"), Mapping) else {}
    assert isinstance(mdc, Mapping)
    entity = None
    for key in _LOG_KEYS:
        if mdc.get(key) not in (None, ""):
            entity = entity_key("xapp" if key == "asset" else key, str(mdc[key]))
            break
    if entity is None:
        entity = entity_key("app", str(doc.get("id", "unknown")))
    ts = doc.get("ts")
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        raise InputError(f"{where}.ts: must be epoch milliseconds")
    return Event(
        ts / 1000.0,
        str(doc.get("id", "log")),
        "log",
        entity,
        severity,
        f"log--{_digest(doc)}",
        attrs={"msg": doc.get("msg")},
    )


def _digest(doc: Mapping[str, Any]) -> str:
    blob = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def from_stix_bundle(bundle: Mapping[str, Any], where: str = "bundle") -> list[Event]:
    """Alerts carried as STIX 2.1 sightings (see :func:`alert_to_stix`)."""
    objs = bundle.get("objects")
    if not isinstance(objs, list):
        raise InputError(f"{where}.objects: must be a list")
    by_id = {o.get("id"): o for o in objs if isinstance(o, Mapping)}
    out: list[Event] = []
    seen: set[str] = set()
    for o in objs:
        if not isinstance(o, Mapping) or o.get("type") != "sighting":
            continue
        for od_ref in o.get("observed_data_refs") or []:
            od = by_id.get(od_ref)
            if not isinstance(od, Mapping):
                continue
            for ref in od.get("object_refs") or []:
                alert = by_id.get(ref)
                if isinstance(alert, Mapping) and alert.get("type") == "x-xtrust-alert":
                    if ref in seen:
                        continue
                    seen.add(ref)
                    doc = dict(alert)
                    doc["id"] = doc.get("x_alert_id") or ref
                    out.append(from_alert(doc, f"{where}[{ref}]"))
    return out


#: AppRegistry State enum (contracts/AppRegistry.sol)
_STATES = ("None", "Submitted", "Certified", "Approved", "Deployed", "Suspended", "Revoked")


def _from_contract(
    doc: Mapping[str, Any], where: str, names: dict[str, tuple[str, str]]
) -> Event | None:
    """A ledger contract event (``LedgerClient`` ``Event.to_dict()`` shape)."""
    args = doc.get("args")
    if not isinstance(args, Mapping):
        raise InputError(f"{where}.args: must be an object")
    name = str(doc.get("event"))
    t = parse_time(doc["time"], f"{where}.time") if "time" in doc else time.time()
    key = str(args.get("key", "")).lower()
    base = {"tx": doc.get("tx"), "block": doc.get("block")}
    if name == "AppSubmitted":
        app, version = str(args.get("name", "")), str(args.get("version", ""))
        if not app:
            raise InputError(f"{where}.args.name: must be a non-empty string")
        if key:
            names[key] = (app, version)
        attrs: dict[str, Any] = {"event": name, "version": version, **base}
        artifact = str(args.get("artifact", "")).lower().removeprefix("0x")
        if len(artifact) == 64:
            attrs["digest"] = "sha256:" + artifact
        ident = f"ledger--{doc.get('tx')}-{doc.get('log_index', '')}-{name}"
        return Event(
            t, "xtrust-ledger", "ledger", entity_key("xapp", app), "low", ident, attrs=attrs
        )
    if name == "StateChanged":
        if key not in names:
            return None  # a record submitted before this stream: not attributable
        app, version = names[key]
        to = args.get("to")
        state = _STATES[to] if isinstance(to, int) and 0 <= to < len(_STATES) else str(to)
        severity = {"Suspended": "medium", "Revoked": "high"}.get(state, "low")
        ident = f"ledger--{doc.get('tx')}-{doc.get('log_index', '')}-{state}"
        return Event(
            t,
            "xtrust-ledger",
            "ledger",
            entity_key("xapp", app),
            severity,
            ident,
            attrs={
                "event": f"App{state}",
                "version": version,
                "reason": args.get("reason"),
                **base,
            },
        )
    return None  # other contract events (roles, anchors, approvals) carry no app signal


def normalize(
    doc: Any, where: str = "event", ledger_names: dict[str, tuple[str, str]] | None = None
) -> list[Event]:
    """Any supported input object -> events (empty when the object is dropped).

    ``ledger_names``: record key -> (name, version), learnt from ``AppSubmitted``
    contract events and used to attribute ``StateChanged`` (keep one per stream)."""
    if isinstance(doc, Event):
        return [doc]
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: must be a JSON object")
    if "event" in doc and "args" in doc and "type" not in doc:
        ev = _from_contract(doc, where, ledger_names if ledger_names is not None else {})
        return [ev] if ev is not None else []
    kind = doc.get("type")
    if kind == "xtrust-alert":
        return [from_alert(doc, where)]
    if kind == "bundle":
        return from_stix_bundle(doc, where)
    if kind == "xtrust-certify":
        return [_from_certify(doc, where)]
    if kind == "xtrust-ledger":
        return [_from_ledger(doc, where)]
    if kind == "xtrust-policy-decision":
        return [_from_policy(doc, where)]
    if "ts" in doc and "crit" in doc:
        ev = _from_log(doc, where)
        return [ev] if ev is not None else []
    raise InputError(f"{where}.type: unknown event type {kind!r}")


def read_jsonl(
    path: str | Path, ledger_names: dict[str, tuple[str, str]] | None = None
) -> Iterator[Event]:
    """Events of a JSON-lines file (one object per line). A ``.json`` file is one document
    instead: an object (an alert, a STIX bundle, ...) or a list of them."""
    p = Path(path)
    names = ledger_names if ledger_names is not None else {}
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise DecodeError(f"{p.name}:{exc.lineno}: not JSON: {exc.msg}") from None
        for n, item in enumerate(doc if isinstance(doc, list) else [doc]):
            yield from normalize(item, f"{p.name}[{n}]", names)
        return
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DecodeError(f"{p.name}:{n}: not JSON: {exc.msg}") from None
            yield from normalize(doc, f"{p.name}:{n}", names)


async def aiter_events(
    source: AsyncIterator[Any], ledger_names: dict[str, tuple[str, str]] | None = None
) -> AsyncIterator[Event]:
    """Normalise an async stream of objects (dicts, JSON strings or bytes, Events)."""
    n = 0
    names = ledger_names if ledger_names is not None else {}
    async for item in source:
        n += 1
        if isinstance(item, str | bytes):
            try:
                item = json.loads(item)
            except json.JSONDecodeError as exc:
                raise DecodeError(f"stream item {n}: not JSON: {exc.msg}") from None
        for ev in normalize(item, f"stream item {n}", names):
            yield ev


def alert_to_stix(alert: Mapping[str, Any], identity: str = "xtrust") -> dict[str, Any]:
    """An XTRUST alert as a STIX 2.1 bundle: identity, indicator, observed-data, sighting and the
    ``x-xtrust-alert`` SCO holding the alert's fields (the format :func:`from_stix_bundle` reads)."""
    ns = uuid.UUID("6f0c1a52-62a1-4d6e-9a53-0b0c2f6f7e11")
    aid = str(alert.get("id", ""))
    t = iso(parse_time(alert.get("time")))
    ent = alert.get("entity") or {}
    ident_id = f"identity--{uuid.uuid5(ns, 'identity:' + identity)}"
    sco_id = f"x-xtrust-alert--{uuid.uuid5(ns, 'alert:' + aid)}"
    ind_id = f"indicator--{uuid.uuid5(ns, 'ind:' + aid)}"
    od_id = f"observed-data--{uuid.uuid5(ns, 'od:' + aid)}"
    pattern = (
        f"[x-xtrust-entity:kind = '{ent.get('kind')}' AND "
        f"x-xtrust-entity:id = '{str(ent.get('id')).replace(chr(39), '')}']"
    )
    sco = {k: v for k, v in alert.items() if k not in ("type", "id", "spec_version")}
    sco.update({"type": "x-xtrust-alert", "spec_version": "2.1", "id": sco_id, "x_alert_id": aid})
    common = {"spec_version": "2.1", "created": t, "modified": t, "created_by_ref": ident_id}
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid5(ns, 'bundle:' + aid)}",
        "objects": [
            {
                "type": "identity",
                "id": ident_id,
                "name": identity,
                "identity_class": "system",
                "spec_version": "2.1",
                "created": t,
                "modified": t,
            },
            {
                "type": "indicator",
                "id": ind_id,
                **common,
                "name": f"xtrust {alert.get('attack_class') or 'anomaly'}",
                "indicator_types": ["anomalous-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": t,
            },
            {
                "type": "observed-data",
                "id": od_id,
                **common,
                "first_observed": t,
                "last_observed": t,
                "number_observed": 1,
                "object_refs": [sco_id],
            },
            sco,
            {
                "type": "sighting",
                "id": f"sighting--{uuid.uuid5(ns, 'sig:' + aid)}",
                **common,
                "sighting_of_ref": ind_id,
                "observed_data_refs": [od_id],
                "where_sighted_refs": [ident_id],
                "first_seen": t,
                "last_seen": t,
                "count": 1,
            },
        ],
    }


def severity_rank(severity: str) -> int:
    return _SEV_RANK.get(severity, 0)


def sorted_events(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.time, e.id))
