"""A1 mediator of RIC-lite: the A1-P v2 REST API turned into RMR for xApps.

REST (``/A1-P/v2``, JSON; errors as ``application/problem+json``):

* ``GET /policytypes``; ``GET|PUT|DELETE /policytypes/{type}`` (PUT body:
  ``{"name", "description", "policy_type_id", "create_schema"}``)
* ``GET /policytypes/{type}/policies``;
  ``GET|PUT|DELETE /policytypes/{type}/policies/{id}`` (PUT body: the policy,
  validated against the type's ``create_schema``)
* ``GET /policytypes/{type}/policies/{id}/status`` ->
  ``{"enforceStatus": "ENFORCED"|"NOT_ENFORCED", "handlers": {...}}``

Each create/update/delete goes as A1_POLICY_REQ (20010) to every registered
xApp whose descriptor lists the policy type; their A1_POLICY_RESP (20011)
sets the status; an A1_POLICY_QUERY (20012) re-delivers every instance of a
type to the asking xApp. Payloads follow O-RAN SC's a1 mediator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.rmr import Message

from .hooks import SenderInfo
from .outbox import Outboxes
from .registry import Registry

__all__ = ["A1Mediator"]

log = get_logger("ric.platform.a1")


@dataclass
class PolicyType:
    type_id: int
    body: dict[str, Any]
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    # instance id -> handler (xApp) -> status
    status: dict[str, dict[str, str]] = field(default_factory=dict)


def _problem(status: int, title: str, detail: str = "") -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"title": title, "status": status, "detail": detail}),
        content_type="application/problem+json",
    )


class A1Mediator:
    def __init__(self, registry: Registry, out: Outboxes):
        self.registry = registry
        self.out = out
        self.types: dict[int, PolicyType] = {}
        self.counters: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    def routes(self) -> list[web.RouteDef]:
        base = "/A1-P/v2/policytypes"
        return [
            web.get(base, self.list_types),
            web.get(base + "/{type}", self.get_type),
            web.put(base + "/{type}", self.put_type),
            web.delete(base + "/{type}", self.delete_type),
            web.get(base + "/{type}/policies", self.list_policies),
            web.get(base + "/{type}/policies/{id}", self.get_policy),
            web.put(base + "/{type}/policies/{id}", self.put_policy),
            web.delete(base + "/{type}/policies/{id}", self.delete_policy),
            web.get(base + "/{type}/policies/{id}/status", self.policy_status),
        ]

    def _type(self, request: web.Request) -> PolicyType | web.Response:
        raw = request.match_info["type"]
        if not raw.isdigit():
            return _problem(400, "bad policy type id", f"{raw!r} is not a non-negative integer")
        ptype = self.types.get(int(raw))
        if ptype is None:
            return _problem(404, "policy type not found", raw)
        return ptype

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"title": "body is not JSON", "status": 400, "detail": str(exc)}),
                content_type="application/problem+json",
            ) from None

    async def list_types(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(self.types))

    async def get_type(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        return web.json_response(ptype.body)

    async def put_type(self, request: web.Request) -> web.Response:
        raw = request.match_info["type"]
        if not raw.isdigit():
            return _problem(400, "bad policy type id", f"{raw!r} is not a non-negative integer")
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("create_schema"), dict):
            return _problem(400, "bad policy type", "create_schema (an object) is required")
        try:
            jsonschema.validators.validator_for(body["create_schema"]).check_schema(
                body["create_schema"]
            )
        except jsonschema.SchemaError as exc:
            return _problem(400, "create_schema is not a valid JSON schema", exc.message)
        type_id = int(raw)
        if "policy_type_id" in body and body["policy_type_id"] != type_id:
            return _problem(400, "policy_type_id does not match the URL")
        existing = self.types.get(type_id)
        if existing is not None and existing.instances:
            return _problem(400, "policy type has instances", "delete them first")
        self.types[type_id] = PolicyType(type_id, body)
        self.count("types_created")
        return web.Response(status=201)

    async def delete_type(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        if ptype.instances:
            return _problem(400, "policy type has instances", "delete them first")
        del self.types[ptype.type_id]
        return web.Response(status=204)

    async def list_policies(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        return web.json_response(sorted(ptype.instances))

    async def get_policy(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        body = ptype.instances.get(request.match_info["id"])
        if body is None:
            return _problem(404, "policy instance not found", request.match_info["id"])
        return web.json_response(body)

    async def put_policy(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        pid = request.match_info["id"]
        body = await self._json(request)
        try:
            jsonschema.validate(body, ptype.body["create_schema"])
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            return _problem(
                400, "policy does not match the type's create_schema", f"{where}: {exc.message}"
            )
        update = pid in ptype.instances
        ptype.instances[pid] = body
        ptype.status[pid] = {}
        self._notify(ptype, pid, "UPDATE" if update else "CREATE", body)
        self.count("policies_updated" if update else "policies_created")
        return web.Response(status=200 if update else 201)

    async def delete_policy(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        pid = request.match_info["id"]
        body = ptype.instances.pop(pid, None)
        if body is None:
            return _problem(404, "policy instance not found", pid)
        ptype.status.pop(pid, None)
        self._notify(ptype, pid, "DELETE", body)
        self.count("policies_deleted")
        return web.Response(status=204)

    async def policy_status(self, request: web.Request) -> web.Response:
        ptype = self._type(request)
        if isinstance(ptype, web.Response):
            return ptype
        pid = request.match_info["id"]
        if pid not in ptype.instances:
            return _problem(404, "policy instance not found", pid)
        handlers = ptype.status.get(pid, {})
        enforced = bool(handlers) and all(s == "OK" for s in handlers.values())
        return web.json_response(
            {"enforceStatus": "ENFORCED" if enforced else "NOT_ENFORCED", "handlers": handlers}
        )

    # ------------------------------------------------------------ RMR side

    def _message(self, ptype: PolicyType, pid: str, op: str, body: Any) -> Message:
        payload = {
            "operation": op,
            "policy_type_id": ptype.type_id,
            "policy_instance_id": pid,
            "payload": body,
        }
        return Message(mtypes.A1_POLICY_REQ, json.dumps(payload).encode())

    def _notify(self, ptype: PolicyType, pid: str, op: str, body: Any) -> None:
        for record in self.registry.subscribers_of_policy(ptype.type_id):
            self.out.put(record.address, self._message(ptype, pid, op, body))

    async def on_response(self, msg: Message, sender: SenderInfo) -> None:
        try:
            doc = json.loads(msg.payload)
            ptype = self.types[int(doc["policy_type_id"])]
            pid = str(doc["policy_instance_id"])
            status = str(doc["status"])
        except (ValueError, KeyError, TypeError):
            self.count("malformed_from_xapp")
            return
        handler = str(doc.get("handler_id") or sender.xapp or sender.endpoint)
        if pid in ptype.instances:
            ptype.status.setdefault(pid, {})[handler] = status

    async def on_query(self, msg: Message, sender: SenderInfo) -> None:
        try:
            type_id = int(json.loads(msg.payload)["policy_type_id"])
        except (ValueError, KeyError, TypeError):
            self.count("malformed_from_xapp")
            return
        ptype = self.types.get(type_id)
        if ptype is None:
            return
        for pid, body in ptype.instances.items():
            self.out.put(sender.endpoint, self._message(ptype, pid, "CREATE", body))
