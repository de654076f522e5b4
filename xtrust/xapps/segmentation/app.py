"""The micro-segmentation xApp: the policy in force, moved by alerts and operators.

:class:`SegmentationXApp` loads a segmentation policy (refusing one that fails
verification), keeps it in a :class:`~.enforce.Segmentation` and enforces it:

* in the same process as RIC-lite (``ric_lite=`` a :class:`~xtrust.ric.platform.RicLite`,
  as the digital twin runs it), by installing :class:`~.enforce.SegmentationRouting`
  and :class:`~.enforce.SegmentationAdmission` as RIC-lite's routing and
  control-admission hooks: a move takes effect on the next message;
* on any RIC, by writing the compiled enforcement points (RMR route table,
  NetworkPolicies, SDL rules, E2 control grants) into ``controls.output_dir``
  after every move (atomically, as ``xtrust segment compile`` does), for the
  platform's route manager and the cluster to pick up.

It quarantines an asset on an ``XTRUST_ALERT`` whose entity is an asset of the
policy and whose severity and kind pass ``controls.quarantine`` (default:
xApps, severity high or above), and on an ``XTRUST_QUARANTINE_REQ``
(``{"asset", "action": "quarantine"|"release", "reason"}``). The same
requests are served over HTTP: ``POST /v1/alerts`` (an alert),
``POST /v1/quarantine`` and ``POST /v1/release`` (``{"asset", "by", "reason"}``),
``GET /v1/segmentation`` (zones, quarantined assets, audit). Every move is
audited (JSON lines in ``controls.audit_log``) and listed in :attr:`moves`
with its time. Assets in ``controls.protected`` (and platform assets) are
never quarantined automatically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web

from xtrust.errors import ConfigError, InputError, XTrustError
from xtrust.ric import mtypes
from xtrust.ric.a1 import Policy as A1Policy
from xtrust.ric.xapp import Message, XApp, handles
from xtrust.xapps.anomaly.alerts import SEVERITIES, AlertRecord, parse_alert

from .enforce import Segmentation, SegmentationAdmission, SegmentationRouting
from .policy import Policy, load_policy

__all__ = ["DESCRIPTOR", "RISK_POLICY_SCHEMA", "RISK_POLICY_TYPE", "SegmentationXApp"]

DESCRIPTOR = Path(__file__).with_name("config-file.json")

#: A1 policy type of the risk engine rApp (``xtrust-risk-v1``, :mod:`xtrust.rapps.policy.a1`):
#: the subjects to quarantine; the segmentation quarantines the listed assets and
#: releases those a later instance no longer lists
RISK_POLICY_TYPE = 20100
RISK_POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "risk_threshold": {"type": "integer", "minimum": 0, "maximum": 100},
        "quarantine": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "generated_at": {"type": "string"},
        "source": {"type": "string"},
    },
    "required": ["risk_threshold", "quarantine"],
    "additionalProperties": False,
}


class SegmentationXApp(XApp):
    """The micro-segmentation xApp (see the module documentation)."""

    name = "xtrust-segmentation"
    policy_types: ClassVar[dict[int, dict[str, Any] | None]] = {
        RISK_POLICY_TYPE: RISK_POLICY_SCHEMA
    }

    def __init__(
        self,
        *args: Any,
        policy: Policy | str | Path | None = None,
        ric_lite: Any = None,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("config", str(DESCRIPTOR))
        super().__init__(*args, **kwargs)
        ctl = self.controls
        source = policy if policy is not None else ctl.get("policy")
        if source is None:
            raise ConfigError("a segmentation policy file is required", field="controls.policy",
                              source="segmentation xApp")  # fmt: skip
        loaded = source if isinstance(source, Policy) else load_policy(str(source))
        # refuses a policy that fails verification (PolicyViolation)
        self.segmentation = Segmentation(loaded, audit_log=ctl.get("audit_log"), clock=clock)
        q = dict(ctl.get("quarantine") or {})
        self.min_severity = str(q.get("min_severity", "high"))
        if self.min_severity not in SEVERITIES:
            raise ConfigError(f"must be one of {', '.join(SEVERITIES)}",
                              field="controls.quarantine.min_severity", source="segmentation xApp")  # fmt: skip
        self.kinds = set(q.get("kinds") or ["xapp"])
        self.protected = set(ctl.get("protected") or ())
        self.output_dir = Path(ctl["output_dir"]) if ctl.get("output_dir") else None
        #: Redis (the DBaaS) whose ACLs enforce the SDL rules, updated after every move
        self.sdl_acl_url: str | None = ctl.get("sdl_acl_url") or None
        self.moves: list[dict[str, Any]] = []
        #: assets quarantined because an A1 risk policy listed them
        self.a1_quarantined: set[str] = set()
        self.counters: dict[str, int] = {}
        self._clock = clock
        self._moves_metric = self.metrics.counter(
            "xtrust_segmentation_moves", "assets moved into or out of quarantine", ["action"]
        )
        self._enforce_metric = self.metrics.histogram(
            "xtrust_segmentation_enforce_seconds",
            "from a quarantine or release decision until every enforcement point has it",
            (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        if ric_lite is not None:
            ric_lite.routing = SegmentationRouting(self.segmentation)
            ric_lite.submgr.admission = SegmentationAdmission(self.segmentation)
        if self._http is not None:
            self._http.add_route("POST", "/v1/alerts", self._http_alert)
            self._http.add_route("POST", "/v1/quarantine", self._http_quarantine)
            self._http.add_route("POST", "/v1/release", self._http_release)
            self._http.add_route("GET", "/v1/segmentation", self._http_state)

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def on_start(self) -> None:
        self._publish()
        if self.sdl_acl_url and not self._apply_acl():
            raise ConfigError(f"cannot apply the SDL ACLs to {self.sdl_acl_url}",
                              field="controls.sdl_acl_url", source="segmentation xApp")  # fmt: skip

    # ------------------------------------------------------------ decisions
    def on_alert(self, alert: AlertRecord) -> bool:
        """Quarantine the alert's entity if the rules say so; True if it was moved."""
        self.count("alerts")
        asset = alert.entity_id
        policy = self.segmentation.policy
        if alert.entity_kind not in self.kinds or asset not in policy.assets:
            self.count("alerts_not_actionable")
            return False
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            self.count("alerts_below_severity")
            return False
        reason = f"alert {alert.id}: {alert.attack_class} (score {alert.score:.2f})"
        return self.quarantine(asset, reason, actor=alert.source)

    def quarantine(self, asset: str, reason: str, actor: str = "segmentation") -> bool:
        policy = self.segmentation.policy
        if asset in self.protected or (
            asset in policy.assets and policy.assets[asset].kind == "ric-platform"
        ):
            self.count("protected")
            self.log.warning("not quarantining protected asset %s (%s)", asset, reason)
            return False
        if asset in self.segmentation.compiled.quarantined:
            self.count("already_quarantined")
            return False
        start = time.perf_counter()
        self.segmentation.quarantine(asset, reason, actor=actor)
        self._moved(asset, "quarantine", reason, actor, start)
        return True

    def release(self, asset: str, by: str, reason: str = "released") -> None:
        start = time.perf_counter()
        self.segmentation.release(asset, by, reason)
        self._moved(asset, "release", reason, by, start)

    def _moved(self, asset: str, action: str, reason: str, actor: str, start: float) -> None:
        move: dict[str, Any] = {"time": self._clock(), "asset": asset, "action": action,
                                "reason": reason, "actor": actor}  # fmt: skip
        self.moves.append(move)
        self._moves_metric.labels(action).inc()
        self.count(action)
        self._publish()
        # from the decision until every enforcement point has the new policy: RIC-lite's
        # hooks (at once), the compiled files and the Redis ACLs (when configured)
        move["enforced_s"] = round(time.perf_counter() - start, 4)
        self._enforce_metric.observe(move["enforced_s"])

    def _publish(self) -> None:
        if self.output_dir is not None:
            from .cli import render_outputs, write_outputs

            write_outputs(render_outputs(self.segmentation.compiled), self.output_dir)
        if self.sdl_acl_url and self.running:
            self._apply_acl()

    def _apply_acl(self) -> bool:
        """Apply the compiled SDL rules as Redis ACLs; False (logged, counted) on failure."""
        import redis

        try:
            client = redis.Redis.from_url(self.sdl_acl_url or "", socket_timeout=2.0,
                                          socket_connect_timeout=2.0)  # fmt: skip
            try:
                for args in self.segmentation.compiled.redis_acl():
                    client.execute_command("ACL", "SETUSER", *args)
            finally:
                client.close()
        except (redis.RedisError, ValueError) as exc:
            self.count("acl_errors")
            self.log.warning("SDL ACLs not applied to %s: %s", self.sdl_acl_url, exc)
            return False
        self.count("acl_updates")
        return True

    # ------------------------------------------------------------ A1
    async def on_policy(self, policy: A1Policy) -> None:
        """An ``xtrust-risk-v1`` instance: quarantine what it lists, release what it
        no longer lists (of the assets an A1 policy quarantined)."""
        if policy.policy_type_id != RISK_POLICY_TYPE:
            return
        listed = set() if policy.deleted else {str(a) for a in policy.payload["quarantine"]}
        actor = f"a1:{policy.policy_instance_id}"
        assets = self.segmentation.policy.assets
        for asset in sorted(listed - self.a1_quarantined):
            if asset not in assets:
                self.count("a1_unknown_assets")
                continue
            if self.quarantine(asset, "risk engine: listed for quarantine", actor=actor):
                self.a1_quarantined.add(asset)
        for asset in sorted(self.a1_quarantined - listed):
            self.a1_quarantined.discard(asset)
            try:
                self.release(asset, by=actor, reason="risk engine: cleared")
            except XTrustError as exc:
                self.count("refused_moves")
                self.log.warning("release of %s refused: %s", asset, exc)

    # ------------------------------------------------------------ RMR
    @handles(mtypes.XTRUST_ALERT)
    async def on_alert_message(self, msg: Message) -> None:
        try:
            alert = parse_alert(msg.payload)
        except InputError as exc:
            self.count("malformed_alerts")
            self.log.warning("malformed alert skipped: %s", exc)
            return
        self._safe(lambda: self.on_alert(alert))

    @handles(mtypes.XTRUST_QUARANTINE_REQ)
    async def on_quarantine_request(self, msg: Message) -> None:
        try:
            doc = json.loads(msg.payload)
            asset, action = doc["asset"], doc.get("action", "quarantine")
            if not isinstance(asset, str) or action not in ("quarantine", "release"):
                raise ValueError("asset must be a string, action quarantine or release")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self.count("malformed_requests")
            self.log.warning("malformed quarantine request skipped: %s", exc)
            return
        reason = str(doc.get("reason") or "requested")
        if action == "quarantine":
            self._safe(lambda: self.quarantine(asset, reason, actor="rmr-request"))
        else:
            self._safe(lambda: self.release(asset, by=str(doc.get("by") or "rmr-request"),
                                            reason=reason))  # fmt: skip

    def _safe(self, move: Callable[[], Any]) -> None:
        try:
            move()
        except XTrustError as exc:
            self.count("refused_moves")
            self.log.warning("move refused: %s", exc)

    # ------------------------------------------------------------ HTTP
    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            doc = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="body is not JSON") from None
        if not isinstance(doc, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return doc

    async def _http_alert(self, request: web.Request) -> web.Response:
        try:
            alert = parse_alert(await self._json(request))
            moved = self.on_alert(alert)
        except XTrustError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"quarantined": moved})

    async def _http_quarantine(self, request: web.Request) -> web.Response:
        doc = await self._json(request)
        try:
            moved = self.quarantine(str(doc.get("asset")), str(doc.get("reason") or "operator"),
                                    actor=str(doc.get("by") or "http"))  # fmt: skip
        except XTrustError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"quarantined": moved})

    async def _http_release(self, request: web.Request) -> web.Response:
        doc = await self._json(request)
        if not doc.get("by"):
            return web.json_response({"error": "by (who releases) is required"}, status=400)
        try:
            self.release(str(doc.get("asset")), by=str(doc["by"]),
                         reason=str(doc.get("reason") or "released"))  # fmt: skip
        except XTrustError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"released": True})

    async def _http_state(self, request: web.Request) -> web.Response:
        seg = self.segmentation
        return web.json_response({
            "assets": {n: a.zone for n, a in sorted(seg.policy.assets.items())},
            "quarantined": sorted(seg.compiled.quarantined),
            "audit": seg.audit[-100:],
        })  # fmt: skip
