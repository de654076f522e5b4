"""Response playbooks: YAML, matched against incidents, each step audited and idempotent.

A playbook file::

    version: 1
    playbooks:
      - name: contain-rogue-xapp
        match:                          # every condition given must hold
          attack_class: [rogue-control] # any of these among the incident's classes
          severity: high                # incident severity at least this
          min_score: 0.6
          entity_kind: [xapp]           # the incident names an entity of one of these kinds
        steps:
          - {action: quarantine, reason: "XDR {incident}: {classes}"}
          - {action: suspend, reason: "XDR {incident}"}          # ledger.suspend(name, version, reason)
          - {action: revoke, version: "1.2.0"}                   # ledger.revoke(name, version, reason)
          - action: a1-policy                                    # HTTP PUT, A1-P v2
            url: http://nonrtric:9000
            policy_type: 20008
            policy_id: "xdr-{incident}"
            body: {scope: {cellId: "{entity}"}, action: "block"}
          - {action: notify, webhook: "http://soc.example/hook"} # or file: incidents.jsonl

Targets: quarantine / suspend / revoke act on each entity of the incident
whose kind is in the step's ``entity_kind`` (default ``[xapp]``), by its id;
a1-policy and notify act once per incident. ``{incident}``, ``{entity}``,
``{score}``, ``{severity}`` and ``{classes}`` are substituted in strings.

Idempotence: a step done for (incident, playbook, step, target) is recorded
in the state file and never repeated; a failed step is not recorded (it is
retried next time) and stops the rest of that playbook for that incident.
Every step is appended to the audit log (JSON lines: time, incident,
playbook, step, action, target, outcome, detail, dry_run). Dry run: nothing
is called and nothing is recorded as done; the audit says ``would-run``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from xtrust.errors import ConfigError, InputError, XTrustError
from xtrust.log import get_logger

from .correlate import Incident
from .events import ATTACK_CLASSES, SEVERITIES, severity_rank

__all__ = [
    "ACTIONS",
    "Ledger",
    "Match",
    "Playbook",
    "ResponseEngine",
    "Step",
    "load_playbooks",
    "parse_playbooks",
]

log = get_logger("rapps.xdr")

ACTIONS = ("quarantine", "suspend", "revoke", "a1-policy", "notify")
ENTITY_KINDS = ("xapp", "rapp", "e2node", "cell", "ue", "ric-platform", "app")


class Ledger(Protocol):
    def suspend(self, name: str, version: str, reason: str) -> Any: ...

    def revoke(self, name: str, version: str, reason: str) -> Any: ...


#: HTTP sender: (method, url, json body) -> status code
HttpSender = Callable[[str, str, Any], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Match:
    attack_class: tuple[str, ...] = ()
    severity: str | None = None
    min_score: float | None = None
    entity_kind: tuple[str, ...] = ()

    def matches(self, inc: Incident) -> bool:
        if self.attack_class and not set(self.attack_class) & set(inc.attack_classes):
            return False
        if self.severity is not None and severity_rank(inc.severity) < severity_rank(self.severity):
            return False
        if self.min_score is not None and inc.score < self.min_score:
            return False
        if self.entity_kind:
            kinds = {e.partition(":")[0] for e in inc.entities}
            if not kinds & set(self.entity_kind):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    entity_kind: tuple[str, ...] = ("xapp",)


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    match: Match
    steps: tuple[Step, ...]


# --------------------------------------------------------------------------- parsing

_STEP_KEYS = {
    "quarantine": {"reason", "entity_kind"},
    "suspend": {"reason", "version", "entity_kind"},
    "revoke": {"reason", "version", "entity_kind"},
    "a1-policy": {"url", "policy_type", "policy_id", "body"},
    "notify": {"webhook", "file"},
}


def _err(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(message, field=where, source=source)


def _str_list(source: str, value: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _err(source, where, "must be a string or a non-empty list of strings")
    for i, v in enumerate(items):
        if v not in allowed:
            raise _err(source, f"{where}[{i}]", f"{v!r} is not one of {', '.join(allowed)}")
    return tuple(items)


def parse_playbooks(doc: Any, source: str = "<playbooks>") -> list[Playbook]:
    """Validate a parsed playbook document; ConfigError names the bad field."""
    if not isinstance(doc, Mapping):
        raise _err(source, "playbooks", "the file must be a mapping with a playbooks list")
    for key in doc:
        if key not in ("version", "playbooks", "description"):
            raise _err(source, str(key), "unknown field (expected version, playbooks)")
    if doc.get("version", 1) != 1:
        raise _err(source, "version", f"unsupported version {doc.get('version')!r}")
    raw = doc.get("playbooks")
    if not isinstance(raw, list) or not raw:
        raise _err(source, "playbooks", "must be a non-empty list")
    out: list[Playbook] = []
    names: set[str] = set()
    for i, pdoc in enumerate(raw):
        where = f"playbooks[{i}]"
        if not isinstance(pdoc, Mapping):
            raise _err(source, where, "must be a mapping")
        for key in pdoc:
            if key not in ("name", "match", "steps", "description"):
                raise _err(source, f"{where}.{key}", "unknown field (expected name, match, steps)")
        name = pdoc.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _err(source, f"{where}.name", "must be a non-empty string")
        if name in names:
            raise _err(source, f"{where}.name", f"duplicate playbook name {name!r}")
        names.add(name)
        match = _parse_match(source, pdoc.get("match", {}), f"{where}.match")
        raw_steps = pdoc.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise _err(source, f"{where}.steps", "must be a non-empty list")
        steps = tuple(
            _parse_step(source, s, f"{where}.steps[{j}]", match) for j, s in enumerate(raw_steps)
        )
        out.append(Playbook(name, match, steps))
    return out


def _parse_match(source: str, value: Any, where: str) -> Match:
    if value is None:
        return Match()
    if not isinstance(value, Mapping):
        raise _err(source, where, "must be a mapping")
    for key in value:
        if key not in ("attack_class", "severity", "min_score", "entity_kind"):
            raise _err(
                source,
                f"{where}.{key}",
                "unknown field (expected attack_class, severity, min_score, entity_kind)",
            )
    classes = (
        _str_list(source, value["attack_class"], f"{where}.attack_class", ATTACK_CLASSES)
        if "attack_class" in value
        else ()
    )
    severity = value.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise _err(
            source, f"{where}.severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}"
        )
    min_score = value.get("min_score")
    if min_score is not None and (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not 0 <= min_score <= 1
    ):
        raise _err(source, f"{where}.min_score", "must be a number from 0 to 1")
    kinds = (
        _str_list(source, value["entity_kind"], f"{where}.entity_kind", ENTITY_KINDS)
        if "entity_kind" in value
        else ()
    )
    return Match(classes, severity, float(min_score) if min_score is not None else None, kinds)


def _parse_step(source: str, value: Any, where: str, match: Match) -> Step:
    if not isinstance(value, Mapping):
        raise _err(source, where, "must be a mapping")
    action = value.get("action")
    if action not in ACTIONS:
        raise _err(source, f"{where}.action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    allowed = _STEP_KEYS[action] | {"action", "description"}
    for key in value:
        if key not in allowed:
            raise _err(
                source,
                f"{where}.{key}",
                f"not a field of a {action} step (expected {', '.join(sorted(allowed))})",
            )
    params = {k: v for k, v in value.items() if k not in ("action", "description", "entity_kind")}
    kinds: tuple[str, ...] = ("xapp",)
    if "entity_kind" in value:
        kinds = _str_list(source, value["entity_kind"], f"{where}.entity_kind", ENTITY_KINDS)
    for key in ("reason", "version", "policy_id", "webhook", "file", "url"):
        if key in params and (not isinstance(params[key], str) or not params[key]):
            raise _err(source, f"{where}.{key}", "must be a non-empty string")
    if action == "a1-policy":
        for key in ("url", "policy_type", "body"):
            if key not in params:
                raise _err(source, f"{where}.{key}", "is required for an a1-policy step")
        pt = params["policy_type"]
        if isinstance(pt, bool) or not isinstance(pt, int | str) or str(pt) == "":
            raise _err(source, f"{where}.policy_type", "must be an integer or a string id")
        if not str(params["url"]).startswith(("http://", "https://")):
            raise _err(source, f"{where}.url", "must be an http(s) URL")
        if not isinstance(params["body"], Mapping):
            raise _err(source, f"{where}.body", "must be a mapping (the policy JSON)")
    if action == "notify":
        if ("webhook" in params) == ("file" in params):
            raise _err(source, f"{where}.webhook", "give exactly one of webhook or file")
        if "webhook" in params and not str(params["webhook"]).startswith(("http://", "https://")):
            raise _err(source, f"{where}.webhook", "must be an http(s) URL")
    return Step(action, params, kinds)


def load_playbooks(path: str | Path) -> list[Playbook]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(p)) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{line}not valid YAML", source=p.name) from None
    return parse_playbooks(doc, p.name)


# --------------------------------------------------------------------------- execution


def _subst(value: Any, ctx: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        out = value
        for k, v in ctx.items():
            out = out.replace("{" + k + "}", v)
        return out
    if isinstance(value, Mapping):
        return {k: _subst(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, ctx) for v in value]
    return value


async def _aiohttp_send(method: str, url: str, body: Any) -> int:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, url, json=body) as resp,
    ):
        await resp.read()
        return resp.status


class ResponseEngine:
    """Run matching playbooks for incidents.

    ``segmentation``: an object with ``quarantine(asset, reason, actor=...)``
    (:class:`xtrust.xapps.segmentation.Segmentation`); ``ledger``: an object with
    ``suspend(name, version, reason)`` / ``revoke(name, version, reason)``;
    ``state_path``: JSON file of the steps done (kept in memory when None);
    ``audit_path``: JSON-lines audit log (kept in memory in :attr:`audit` too).
    """

    def __init__(
        self,
        playbooks: list[Playbook],
        *,
        segmentation: Any = None,
        ledger: Ledger | None = None,
        state_path: str | Path | None = None,
        audit_path: str | Path | None = None,
        dry_run: bool = False,
        http: HttpSender | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.playbooks = playbooks
        self.segmentation = segmentation
        self.ledger = ledger
        self.state_path = Path(state_path) if state_path is not None else None
        self.audit_path = Path(audit_path) if audit_path is not None else None
        self.dry_run = dry_run
        self.http = http or _aiohttp_send
        self.clock = clock
        self.audit: list[dict[str, Any]] = []
        self.done: dict[str, dict[str, Any]] = self._load_state()

    def _load_state(self) -> dict[str, dict[str, Any]]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            doc = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{self.state_path}: unreadable response state: {exc}") from None
        if not isinstance(doc, dict):
            raise InputError(f"{self.state_path}: response state must be a JSON object")
        return doc

    def _save_state(self) -> None:
        if self.state_path is None:
            return
        parent = self.state_path.parent if str(self.state_path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.state_path.name}.", dir=parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.done, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _audit(self, entry: dict[str, Any]) -> None:
        self.audit.append(entry)
        if self.audit_path is not None:
            line = json.dumps(entry, separators=(",", ":"), sort_keys=True, default=str) + "\n"
            fd = os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds")

    async def respond(self, incidents: list[Incident]) -> list[dict[str, Any]]:
        """Run every matching playbook on every incident; return this run's audit entries."""
        start = len(self.audit)
        for inc in incidents:
            for pb in self.playbooks:
                if pb.match.matches(inc):
                    await self._run(pb, inc)
        return self.audit[start:]

    async def _run(self, pb: Playbook, inc: Incident) -> None:
        for index, step in enumerate(pb.steps):
            if step.action in ("quarantine", "suspend", "revoke"):
                targets = [e for e in inc.entities if e.partition(":")[0] in step.entity_kind]
            else:
                targets = ["*"]
            for target in targets:
                ok = await self._one(pb, inc, index, step, target)
                if not ok:
                    return

    async def _one(self, pb: Playbook, inc: Incident, index: int, step: Step, target: str) -> bool:
        key = f"{inc.id}|{pb.name}|{index}|{step.action}|{target}"
        entry: dict[str, Any] = {
            "time": self._now(),
            "incident": inc.id,
            "playbook": pb.name,
            "step": index,
            "action": step.action,
            "target": target,
            "dry_run": self.dry_run,
        }
        if key in self.done:
            entry.update(outcome="skipped", detail=f"already done at {self.done[key]['time']}")
            self._audit(entry)
            return True
        ctx = {
            "incident": inc.id,
            "entity": target.partition(":")[2] if target != "*" else ",".join(inc.entities),
            "score": f"{inc.score:.2f}",
            "severity": inc.severity,
            "classes": ",".join(inc.attack_classes) or "none",
        }
        params = _subst(dict(step.params), ctx)
        if self.dry_run:
            entry.update(outcome="would-run", detail=json.dumps(params, sort_keys=True))
            self._audit(entry)
            return True
        try:
            detail = await self._execute(step.action, params, inc, target)
        except XTrustError as exc:
            entry.update(outcome="failed", detail=str(exc))
            self._audit(entry)
            log.warning("xdr step failed: %s %s: %s", step.action, target, exc)
            return False
        except Exception as exc:  # a responder's own error (HTTP, ledger backend, ...)
            entry.update(outcome="failed", detail=f"{type(exc).__name__}: {exc}")
            self._audit(entry)
            log.warning("xdr step failed: %s %s: %s", step.action, target, exc)
            return False
        entry.update(outcome="done", detail=detail)
        self._audit(entry)
        self.done[key] = {"time": entry["time"], "outcome": "done"}
        self._save_state()
        return True

    async def _execute(
        self, action: str, params: Mapping[str, Any], inc: Incident, target: str
    ) -> str:
        name = target.partition(":")[2]
        reason = str(params.get("reason") or f"XDR incident {inc.id} ({inc.severity})")
        if action == "quarantine":
            if self.segmentation is None:
                raise InputError("no segmentation configured")
            try:
                self.segmentation.quarantine(name, reason=reason, actor="xdr")
            except InputError as exc:
                if "already in quarantine" in str(exc):
                    return f"{name} was already in quarantine"
                raise
            return f"quarantined {name}"
        if action in ("suspend", "revoke"):
            if self.ledger is None:
                raise InputError("no ledger configured")
            version = params.get("version") or inc.attr_of(target, "version")
            if not version:
                raise InputError(f"version of {name} unknown (set the step's version)")
            getattr(self.ledger, action)(name, str(version), reason)
            return f"{action} {name} {version}"
        if action == "a1-policy":
            base = str(params["url"]).rstrip("/")
            pid = str(params.get("policy_id") or f"xdr-{inc.id}")
            url = f"{base}/A1-P/v2/policytypes/{params['policy_type']}/policies/{pid}"
            status = await self.http("PUT", url, params["body"])
            if status not in (200, 201, 202, 204):
                raise InputError(f"A1 PUT {url} returned HTTP {status}")
            return f"PUT {url} -> {status}"
        # notify
        doc = {"time": self._now(), "incident": inc.to_json()}
        if "file" in params:
            line = json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n"
            fd = os.open(str(params["file"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
            return f"appended to {params['file']}"
        status = await self.http("POST", str(params["webhook"]), doc)
        if not 200 <= status < 300:
            raise InputError(f"webhook {params['webhook']} returned HTTP {status}")
        return f"POST {params['webhook']} -> {status}"
