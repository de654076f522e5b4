"""HTTP API of the policy service (aiohttp, JSON in and out).

* ``POST /v1/authorize`` - body: an access request
  (``{"subject", "action", "resource": {"kind", "id"}, "context": {...}}``);
  answer: the decision with reasons, risk, factors, policy ids, errors (200
  for allow and deny alike; 400 with ``{"error": ...}`` for bad JSON or a bad
  request).
* ``POST /v1/alerts`` - XTRUST alerts (one object, a list, JSON lines) or a
  STIX 2.1 bundle of sightings; ``{"accepted", "malformed", "subjects"}``.
* ``POST /v1/ti/bundles`` - a STIX 2.1 bundle of indicators; load statistics.
* ``GET /v1/risk/{subject}``, ``GET /v1/subjects``, ``GET /v1/quarantine``,
  ``GET /v1/ti/status``.
* ``POST /v1/quarantine`` - ``{"add": [ids], "remove": [ids]}``: manual
  quarantine (logged); answers the resulting quarantine list.
* ``GET /ric/v1/health/alive``, ``GET /ric/v1/health/ready``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from xtrust.errors import InputError
from xtrust.log import get_logger

from .alerts import parse_alerts
from .model import AccessRequest
from .service import PolicyService

__all__ = ["make_app"]

log = get_logger("rapps.policy.http")

SERVICE: web.AppKey[PolicyService] = web.AppKey("service", PolicyService)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {exc}"}), content_type="application/json"
        ) from None


async def authorize(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    doc = await _json_body(request)
    try:
        access = AccessRequest.from_json(doc)
    except InputError as exc:
        return _error(400, str(exc))
    return web.json_response(svc.pdp.authorize(access).to_json())


async def alerts(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    raw = await request.read()
    got, bad = parse_alerts(raw)
    if not got and bad == 0:
        return _error(400, "no alerts in the body")
    subjects: set[str] = set()
    for alert in got:
        s = svc.pdp.risk.behaviour.add(alert)
        if s is not None:
            subjects.add(s)
    return web.json_response(
        {"accepted": len(got), "malformed": bad, "subjects": sorted(subjects)},
        status=202 if got else 400,
    )


async def ti_bundle(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    doc = await _json_body(request)
    try:
        stats = svc.store.load_document(doc, source="request")
    except InputError as exc:
        return _error(400, str(exc))
    return web.json_response(stats.to_json())


async def ti_status(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    return web.json_response(
        {
            "indicators": len(svc.store),
            "version": svc.store.version,
            "totals": svc.store.totals.to_json(),
            "taxii": svc.poller.status() if svc.poller is not None else {},
        }
    )


async def risk(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    try:
        return web.json_response(svc.pdp.risk_of(request.match_info["subject"]))
    except InputError as exc:
        return _error(404, str(exc))


async def subjects(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    return web.json_response(
        [{"id": s.id, "kind": s.kind, "zone": s.zone} for s in svc.pdp.subjects.values()]
    )


async def quarantine(request: web.Request) -> web.Response:
    svc = request.app[SERVICE]
    return web.json_response(
        {"risk_threshold": svc.pdp.threshold, "quarantine": svc.pdp.quarantine_list()}
    )


async def set_quarantine(request: web.Request) -> web.Response:
    """``{"add": [ids], "remove": [ids]}``: quarantine subjects by hand (or release them)."""
    svc = request.app[SERVICE]
    doc = await _json_body(request)
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k, []), list) and all(isinstance(x, str) for x in doc.get(k, []))
        for k in ("add", "remove")
    ):
        return _error(400, 'expected {"add": [subject ids], "remove": [subject ids]}')
    unknown = sorted(set(doc.get("add", [])) - set(svc.pdp.subjects))
    if unknown:
        return _error(400, f"unknown subjects: {', '.join(unknown)}")
    svc.pdp.quarantined |= set(doc.get("add", []))
    svc.pdp.quarantined -= set(doc.get("remove", []))
    log.warning(
        "manual quarantine change: add=%s remove=%s", doc.get("add", []), doc.get("remove", [])
    )
    return web.json_response(
        {"risk_threshold": svc.pdp.threshold, "quarantine": svc.pdp.quarantine_list()}
    )


async def alive(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def make_app(service: PolicyService) -> web.Application:
    app = web.Application(client_max_size=16 << 20)
    app[SERVICE] = service
    app.add_routes(
        [
            web.post("/v1/authorize", authorize),
            web.post("/v1/alerts", alerts),
            web.post("/v1/ti/bundles", ti_bundle),
            web.get("/v1/ti/status", ti_status),
            web.get("/v1/risk/{subject}", risk),
            web.get("/v1/subjects", subjects),
            web.get("/v1/quarantine", quarantine),
            web.post("/v1/quarantine", set_quarantine),
            web.get("/ric/v1/health/alive", alive),
            web.get("/ric/v1/health/ready", ready),
        ]
    )
    return app
