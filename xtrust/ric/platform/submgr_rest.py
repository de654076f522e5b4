"""The O-RAN SC subscription manager REST API, served by RIC-lite.

``POST /ric/v1/subscriptions`` takes SubscriptionParams (ClientEndpoint
{Host, HTTPPort, RMRPort}, Meid, RANFunctionID, SubscriptionDetails[]
{XappEventInstanceId, EventTriggers, ActionToBeSetupList[] {ActionID,
ActionType, ActionDefinition, SubsequentAction}}; E2SM octet strings as arrays
of byte values) and answers 201 ``{"SubscriptionId": id, "SubscriptionInstances":
null}`` at once; the outcome of each E2 subscription is POSTed to the xApp at
``http://Host:HTTPPort/ric/v1/subscriptions/response`` with
``{"SubscriptionId", "SubscriptionInstances": [{"XappEventInstanceId",
"E2EventInstanceId", "ErrorCause", "ErrorSource", "TimeoutType"}]}``.
Indications then go to ``Host:RMRPort`` over RMR with the E2EventInstanceId
as sub_id, as for the RMR-based subscriptions. ``DELETE
/ric/v1/subscriptions/{id}`` answers 204 (404 when unknown). A resent POST with
a known SubscriptionId is idempotent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from xtrust.errors import InputError
from xtrust.log import get_logger
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    RicAction,
    RicRequestId,
    RicSubscriptionRequest,
)

from .registry import _resolve
from .submgr import Subscriber, SubscriptionManager

__all__ = ["SubmgrRest"]

log = get_logger("ric.platform.submgr_rest")

_TIME_TO_WAIT = {
    "zero": "w1ms",
    "w1ms": "w1ms",
    "w2ms": "w2ms",
    "w5ms": "w5ms",
    "w10ms": "w10ms",
    "w20ms": "w20ms",
    "w30ms": "w30ms",
    "w40ms": "w40ms",
    "w50ms": "w50ms",
    "w100ms": "w100ms",
    "w200ms": "w200ms",
    "w500ms": "w500ms",
    "w1s": "w1s",
    "w2s": "w2s",
    "w5s": "w5s",
    "w10s": "w10s",
    "w20s": "w20s",
    "w60s": "w60s",
}


@dataclass
class RestSubscription:
    rest_id: str
    endpoint: str  # ip:port of the xApp's RMR listener
    notify_url: str
    e2_ids: dict[int, int] = field(default_factory=dict)  # xApp event id -> E2 sub id


def _octets(value: Any, where: str) -> bytes:
    if not isinstance(value, list) or not all(isinstance(b, int) and 0 <= b < 256 for b in value):
        raise InputError(f"{where}: an array of byte values (0..255) is expected")
    return bytes(value)


def parse_params(doc: Any) -> tuple[str, str, int, str, list[tuple[int, RicSubscriptionRequest]]]:
    """(RMR endpoint, notification URL, RAN function, meid, [(xApp event id, request)])."""
    if not isinstance(doc, dict):
        raise InputError("the body must be a SubscriptionParams object")
    client = doc.get("ClientEndpoint")
    if not isinstance(client, dict) or not isinstance(client.get("Host"), str):
        raise InputError("ClientEndpoint.Host is required")
    http_port, rmr_port = client.get("HTTPPort"), client.get("RMRPort")
    if not isinstance(http_port, int) or not isinstance(rmr_port, int):
        raise InputError("ClientEndpoint.HTTPPort and RMRPort must be integers")
    meid, fid = doc.get("Meid"), doc.get("RANFunctionID")
    if not isinstance(meid, str) or not meid:
        raise InputError("Meid is required")
    if not isinstance(fid, int) or not 0 <= fid <= 4095:
        raise InputError("RANFunctionID must be 0..4095")
    details = doc.get("SubscriptionDetails")
    if not isinstance(details, list) or not details:
        raise InputError("SubscriptionDetails must be a non-empty array")
    host = client["Host"]
    requests = []
    for i, d in enumerate(details):
        where = f"SubscriptionDetails[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("XappEventInstanceId"), int):
            raise InputError(f"{where}.XappEventInstanceId must be an integer")
        actions = []
        for j, a in enumerate(d.get("ActionToBeSetupList") or []):
            aw = f"{where}.ActionToBeSetupList[{j}]"
            if not isinstance(a, dict) or not isinstance(a.get("ActionID"), int):
                raise InputError(f"{aw}.ActionID must be an integer")
            sub = a.get("SubsequentAction")
            actions.append(
                RicAction(
                    a["ActionID"],
                    str(a.get("ActionType", "report")),
                    _octets(a["ActionDefinition"], f"{aw}.ActionDefinition")
                    if a.get("ActionDefinition") is not None
                    else None,
                    sub.get("SubsequentActionType") if isinstance(sub, dict) else None,
                    _TIME_TO_WAIT.get(str(sub.get("TimeToWait")))
                    if isinstance(sub, dict)
                    else None,
                )
            )
        if not actions:
            raise InputError(f"{where}.ActionToBeSetupList must not be empty")
        trigger = _octets(d.get("EventTriggers"), f"{where}.EventTriggers")
        event_id = d["XappEventInstanceId"]
        requests.append(
            (
                event_id,
                RicSubscriptionRequest(RicRequestId(0, event_id & 0xFFFF), fid, (trigger, actions)),
            )
        )
    endpoint = _resolve(f"{host}:{rmr_port}")
    return endpoint, f"http://{host}:{http_port}/ric/v1/subscriptions/response", fid, meid, requests


class SubmgrRest:
    def __init__(self, submgr: SubscriptionManager):
        self.submgr = submgr
        self.subs: dict[str, RestSubscription] = {}
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/ric/v1/subscriptions", self.post),
            web.delete("/ric/v1/subscriptions/{id}", self.delete),
            web.get("/ric/v1/subscriptions", self.list),
        ]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def post(self, request: web.Request) -> web.Response:
        try:
            doc = await request.json()
            endpoint, url, _fid, meid, reqs = parse_params(doc)
        except (InputError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        rest_id = doc.get("SubscriptionId") if isinstance(doc.get("SubscriptionId"), str) else ""
        rest = self.subs.get(rest_id) if rest_id else None
        if rest is None:
            rest_id = f"xtrust-{next(self._ids)}"
            rest = self.subs[rest_id] = RestSubscription(rest_id, endpoint, url)
        for event_id, req in reqs:
            if event_id in rest.e2_ids:  # a resend: tell the outcome again
                self._notify(rest, event_id, rest.e2_ids[event_id], None)
                continue
            subscriber = Subscriber(
                endpoint,
                req.request_id,
                notify=self._notifier(rest, event_id),
            )
            await self.submgr.subscribe(meid, req, subscriber)
        return web.json_response(
            {"SubscriptionId": rest_id, "SubscriptionInstances": None}, status=201
        )

    def _notifier(
        self, rest: RestSubscription, event_id: int
    ) -> Callable[[int, Cause | None], None]:
        def notify(sub_id: int, cause: Cause | None) -> None:
            self._outcome(rest, event_id, sub_id, cause)

        return notify

    def _outcome(
        self, rest: RestSubscription, event_id: int, sub_id: int, cause: Cause | None
    ) -> None:
        if cause is None:
            rest.e2_ids[event_id] = sub_id
        self._notify(rest, event_id, sub_id, cause)

    def _notify(
        self, rest: RestSubscription, event_id: int, sub_id: int, cause: Cause | None
    ) -> None:
        body = {
            "SubscriptionId": rest.rest_id,
            "SubscriptionInstances": [
                {
                    "XappEventInstanceId": event_id,
                    "E2EventInstanceId": sub_id if cause is None else 0,
                    "ErrorCause": "" if cause is None else str(cause),
                    "ErrorSource": "" if cause is None else "SUBMGR",
                    "TimeoutType": "",
                }
            ],
        }
        task = asyncio.get_running_loop().create_task(self._post(rest.notify_url, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        for attempt in range(3):
            try:
                async with self._session.post(url, json=body) as resp:
                    if resp.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.info("cannot notify %s (attempt %d): %s", url, attempt + 1, exc)
            await asyncio.sleep(0.2 * (attempt + 1))
        self.submgr.count("rest_notifications_lost")

    async def delete(self, request: web.Request) -> web.Response:
        rest = self.subs.pop(request.match_info["id"], None)
        if rest is None:
            return web.json_response({"error": "no such subscription"}, status=404)
        for sub_id in rest.e2_ids.values():
            await self.submgr.remove(sub_id, rest.endpoint)
        return web.Response(status=204)

    async def list(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "SubscriptionId": r.rest_id,
                    "ClientEndpoint": r.endpoint,
                    "E2EventInstanceIds": sorted(r.e2_ids.values()),
                }
                for r in self.subs.values()
            ]
        )
