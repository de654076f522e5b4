"""Security alerts: one record type, JSON lines, STIX 2.1, and where they go.

The alert format (``spec_version`` 1) is what the security xApps emit and what
the segmentation xApp and the rApps consume, one JSON object per alert::

    {"type": "xtrust-alert", "spec_version": "1", "id": "alert--<uuid4>",
     "time": "2026-11-26T10:00:01.250Z", "source": "xtrust-anomaly",
     "entity": {"kind": "cell"|"ue"|"xapp"|"e2node", "id": "...", "node": "gnb_..."|null},
     "attack_class": "jamming"|... or null, "score": 3.2,
     "severity": "low"|"medium"|"high"|"critical",
     "features": [{"name": ..., "value": ..., "baseline": ..., "z": ...}],
     "evidence": ["..."], "onset": "<ISO time>"|null}

``score`` is relative to the detector's threshold (1.0 = at the threshold).
:func:`to_stix` turns an alert into a STIX 2.1 bundle: the detecting app
(``identity``), an ``indicator`` whose pattern names the entity, the
``observed-data`` of the entity (a ``software`` object for an xApp, custom
``x-oran-cell`` / ``x-oran-ue`` / ``x-oran-e2node`` objects otherwise) and a
``sighting`` of the indicator with the score and attack class as ``x_xtrust_*``
properties.

Sinks (:class:`JsonlSink`, :class:`WebhookSink`, :class:`RmrSink`) deliver
alerts; :class:`AlertCounters` counts them for Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from xtrust.errors import InputError
from xtrust.log import get_logger

__all__ = [
    "ENTITY_KINDS",
    "SEVERITIES",
    "AlertCounters",
    "AlertRecord",
    "EntityKind",
    "Feature",
    "JsonlSink",
    "RmrSink",
    "WebhookSink",
    "iso",
    "parse_alert",
    "severity_of",
    "to_stix",
]

log = get_logger("xapps.anomaly.alerts")

ENTITY_KINDS = ("cell", "ue", "xapp", "e2node")
SEVERITIES = ("low", "medium", "high", "critical")
EntityKind = Literal["cell", "ue", "xapp", "e2node"]
#: STIX 2.1 namespace for deterministic SCO identifiers (STIX 2.1 section 2.9)
_STIX_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
#: our namespace for the deterministic ids of the identity and indicator objects
_XTRUST_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://xtrust.dev/stix")


def iso(t: float) -> str:
    """A UNIX time as an RFC 3339 UTC timestamp with milliseconds (STIX style)."""
    return (
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(t * 1000) % 1000:03d}Z"
    )


def severity_of(score: float, attack_class: str | None) -> str:
    """Severity from the score relative to the threshold, and whether the class is known."""
    if attack_class is None or attack_class.startswith("unknown"):
        return "low" if score < 2 else "medium"
    if score >= 4:
        return "critical"
    if score >= 2:
        return "high"
    return "medium"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    value: float
    baseline: float | None = None
    z: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": _round(self.value)}
        if self.baseline is not None:
            out["baseline"] = _round(self.baseline)
        if self.z is not None:
            out["z"] = _round(self.z)
        return out


def _round(x: float) -> float:
    return round(float(x), 4)


@dataclass(frozen=True)
class AlertRecord:
    """One alert; :meth:`to_json` gives the wire format above."""

    entity_kind: EntityKind
    entity_id: str
    attack_class: str | None
    score: float
    time: float
    source: str = "xtrust-anomaly"
    node: str | None = None
    features: tuple[Feature, ...] = ()
    evidence: tuple[str, ...] = ()
    onset: float | None = None
    id: str = field(default_factory=lambda: f"alert--{uuid.uuid4()}")
    severity: str = ""

    def __post_init__(self) -> None:
        if self.entity_kind not in ENTITY_KINDS:
            raise InputError(f"alert entity kind {self.entity_kind!r} is not one of {ENTITY_KINDS}")
        if not self.severity:
            object.__setattr__(self, "severity", severity_of(self.score, self.attack_class))
        elif self.severity not in SEVERITIES:
            raise InputError(f"alert severity {self.severity!r} is not one of {SEVERITIES}")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "xtrust-alert",
            "spec_version": "1",
            "id": self.id,
            "time": iso(self.time),
            "source": self.source,
            "entity": {"kind": self.entity_kind, "id": self.entity_id, "node": self.node},
            "attack_class": self.attack_class,
            "score": _round(self.score),
            "severity": self.severity,
            "features": [f.to_json() for f in self.features],
            "evidence": list(self.evidence),
            "onset": iso(self.onset) if self.onset is not None else None,
        }

    def line(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))


def _parse_time(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected an RFC 3339 time string")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InputError(f"{where}: not an RFC 3339 time: {value!r}") from None


def parse_alert(doc: Any) -> AlertRecord:
    """An :class:`AlertRecord` from the JSON format (bytes, text or a parsed object).

    Raises :class:`~xtrust.errors.InputError` naming the field that is wrong.
    """
    if isinstance(doc, bytes | bytearray | str):
        try:
            doc = json.loads(doc)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"alert is not JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise InputError("alert must be a JSON object")
    if doc.get("type") != "xtrust-alert":
        raise InputError("alert: type must be 'xtrust-alert'")
    ent = doc.get("entity")
    if not isinstance(ent, Mapping):
        raise InputError("alert: entity must be an object")
    kind, eid = ent.get("kind"), ent.get("id")
    if kind not in ENTITY_KINDS:
        raise InputError(f"alert: entity.kind must be one of {', '.join(ENTITY_KINDS)}")
    if not isinstance(eid, str) or not eid:
        raise InputError("alert: entity.id must be a non-empty string")
    score = doc.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise InputError("alert: score must be a number")
    cls = doc.get("attack_class")
    if cls is not None and not isinstance(cls, str):
        raise InputError("alert: attack_class must be a string or null")
    feats = []
    for i, f in enumerate(doc.get("features") or []):
        if not isinstance(f, Mapping) or not isinstance(f.get("name"), str):
            raise InputError(f"alert: features[{i}] must be an object with a name")
        try:
            feats.append(Feature(f["name"], float(f.get("value", 0.0)),
                                 None if f.get("baseline") is None else float(f["baseline"]),
                                 None if f.get("z") is None else float(f["z"])))  # fmt: skip
        except (TypeError, ValueError):
            raise InputError(f"alert: features[{i}] has a non-numeric value") from None
    onset = doc.get("onset")
    node = ent.get("node")
    return AlertRecord(
        entity_kind=kind,
        entity_id=eid,
        attack_class=cls,
        score=float(score),
        time=_parse_time(doc.get("time"), "alert: time"),
        source=str(doc.get("source") or "unknown"),
        node=node if isinstance(node, str) else None,
        features=tuple(feats),
        evidence=tuple(str(e) for e in doc.get("evidence") or ()),
        onset=None if onset is None else _parse_time(onset, "alert: onset"),
        id=str(doc.get("id") or f"alert--{uuid.uuid4()}"),
        severity=str(doc.get("severity") or ""),
    )


class EpisodeGate:
    """One alert per episode: ``admit(key, t)`` is True unless ``key`` alerted
    within the last ``quiet_s`` seconds (each admitted or suppressed alert
    extends the episode)."""

    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self.last: dict[Any, float] = {}

    def admit(self, key: Any, t: float) -> bool:
        prev = self.last.get(key)
        self.last[key] = t
        return prev is None or t - prev > self.quiet_s


# ------------------------------------------------------------------------------------ STIX 2.1

_SCO_TYPES = {"cell": "x-oran-cell", "ue": "x-oran-ue", "e2node": "x-oran-e2node"}


def _sco(alert: AlertRecord) -> dict[str, Any]:
    if alert.entity_kind == "xapp":
        name = json.dumps({"name": alert.entity_id}, sort_keys=True)
        return {
            "type": "software",
            "spec_version": "2.1",
            "id": f"software--{uuid.uuid5(_STIX_NS, name)}",
            "name": alert.entity_id,
        }
    sco_type = _SCO_TYPES[alert.entity_kind]
    contrib: dict[str, str | None] = {"id": alert.entity_id, "node": alert.node}
    out: dict[str, Any] = {
        "type": sco_type,
        "spec_version": "2.1",
        "id": f"{sco_type}--{uuid.uuid5(_STIX_NS, json.dumps(contrib, sort_keys=True))}",
        "x_oran_id": alert.entity_id,
    }
    if alert.node:
        out["x_oran_node"] = alert.node
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_stix(alert: AlertRecord) -> dict[str, Any]:
    """The alert as a STIX 2.1 bundle (identity, indicator, observed-data, sighting)."""
    ts = iso(alert.time)
    first = iso(alert.onset if alert.onset is not None else alert.time)
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid5(_XTRUST_NS, alert.source)}",
        "created": ts,
        "modified": ts,
        "name": alert.source,
        "identity_class": "system",
    }
    sco = _sco(alert)
    if sco["type"] == "software":
        pattern = f"[software:name = {_quote(alert.entity_id)}]"
    else:
        pattern = f"[{sco['type']}:x_oran_id = {_quote(alert.entity_id)}]"
    label = alert.attack_class or "anomaly"
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(_XTRUST_NS, label + '|' + pattern)}",
        "created": ts,
        "modified": ts,
        "created_by_ref": identity["id"],
        "name": f"{label} by {alert.entity_kind} {alert.entity_id}",
        "indicator_types": ["malicious-activity" if alert.attack_class and
                            not alert.attack_class.startswith("unknown") else "anomalous-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": first,
        "labels": [label],
    }  # fmt: skip
    observed = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": f"observed-data--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "created_by_ref": identity["id"],
        "first_observed": first,
        "last_observed": ts,
        "number_observed": 1,
        "object_refs": [sco["id"]],
    }
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{uuid.uuid4()}",
        "created": ts,
        "modified": ts,
        "created_by_ref": identity["id"],
        "first_seen": first,
        "last_seen": ts,
        "count": 1,
        "sighting_of_ref": indicator["id"],
        "observed_data_refs": [observed["id"]],
        "where_sighted_refs": [identity["id"]],
        "x_xtrust_alert_id": alert.id,
        "x_xtrust_attack_class": alert.attack_class,
        "x_xtrust_score": _round(alert.score),
        "x_xtrust_severity": alert.severity,
        "x_xtrust_features": [f.to_json() for f in alert.features],
    }
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [identity, indicator, sco, observed, sighting],
    }


# ------------------------------------------------------------------------------------ sinks


class AlertCounters:
    """Prometheus counters of alerts: by entity kind, attack class and severity."""

    def __init__(self, metrics: Any) -> None:
        self.alerts = metrics.counter(
            "xtrust_alerts", "security alerts raised", ["kind", "attack_class", "severity"]
        )
        self.delivery_errors = metrics.counter(
            "xtrust_alert_delivery_errors", "alerts a sink could not deliver", ["sink"]
        )

    def count(self, alert: AlertRecord) -> None:
        self.alerts.labels(alert.entity_kind, alert.attack_class or "none", alert.severity).inc()


class JsonlSink:
    """Appends alerts to a JSON-lines file (and, with ``stix``, STIX bundles to another).

    Each line is written whole with one ``write`` on a file opened for append,
    so concurrent readers never see half an alert.
    """

    name = "jsonl"

    def __init__(self, path: str | Path, *, stix: str | Path | None = None) -> None:
        self.path = Path(path)
        self.stix = Path(stix) if stix else None
        for p in (self.path, self.stix):
            if p is None:
                continue
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                with p.open("a"):
                    pass
            except OSError as exc:
                raise InputError(f"cannot write alerts to {p}: {exc.strerror or exc}") from None

    async def deliver(self, alert: AlertRecord) -> None:
        _append(self.path, alert.line())
        if self.stix is not None:
            _append(self.stix, json.dumps(to_stix(alert), separators=(",", ":")))


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class WebhookSink:
    """POSTs each alert as JSON (or a STIX bundle with ``stix=True``) to ``url``.

    Delivery is bounded: ``timeout`` per attempt, ``retries`` attempts with a
    doubling pause; a failure is logged and counted, never raised into the
    detector's path.
    """

    name = "webhook"

    def __init__(self, url: str, *, stix: bool = False, timeout: float = 2.0, retries: int = 3):
        if not url.startswith(("http://", "https://")):
            raise InputError(f"webhook URL must be http(s)://...: {url!r}")
        self.url = url
        self.stix = stix
        self.timeout = timeout
        self.retries = max(1, retries)
        self._session: Any = None

    async def deliver(self, alert: AlertRecord) -> None:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        body = to_stix(alert) if self.stix else alert.to_json()
        pause = 0.1
        for attempt in range(1, self.retries + 1):
            try:
                async with self._session.post(self.url, json=body) as resp:
                    if resp.status < 300:
                        return
                    if resp.status < 500:
                        raise OSError(f"HTTP {resp.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == self.retries:
                    raise OSError(str(exc) or type(exc).__name__) from None
            if attempt < self.retries:
                await asyncio.sleep(pause)
                pause *= 2
        raise OSError(f"no success after {self.retries} attempts")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class RmrSink:
    """Sends each alert as an ``XTRUST_ALERT`` RMR message with ``send``
    (typically :meth:`xtrust.ric.xapp.XApp.send`)."""

    name = "rmr"

    def __init__(self, send: Callable[..., Awaitable[Any]]) -> None:
        self._send = send

    async def deliver(self, alert: AlertRecord) -> None:
        from xtrust.ric import mtypes

        await self._send(mtypes.XTRUST_ALERT, alert.line().encode(), meid=alert.node or "")


async def close_sinks(sinks: list[Any]) -> None:
    for sink in sinks:
        close = getattr(sink, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
