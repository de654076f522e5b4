"""E2 subscriptions through the O-RAN SC subscription manager's REST API.

The submgr here is an aiohttp server in the test that implements submgr's
documented API (xapp-frame ``xapp_rest_api.yaml`` and the submgr user guide):

* ``POST /ric/v1/subscriptions`` takes SubscriptionParams and answers 201
  ``{"SubscriptionId", "SubscriptionInstances": null}``; a request carrying a
  known ``SubscriptionId`` is a resend of that subscription, an unknown one 404;
* the outcome is a SubscriptionResponse POSTed afterwards to
  ``http://ClientEndpoint.Host:HTTPPort/ric/v1/subscriptions/response``
  (``XappEventInstanceId``, ``E2EventInstanceId`` - 0 on failure -,
  ``ErrorCause``, ``ErrorSource``, ``TimeoutType``);
* ``DELETE /ric/v1/subscriptions/{id}`` answers 204 (404 if unknown).

Indications then come over RMR from the RIC peer to ``Host:RMRPort`` with the
RMR sub_id set to the E2EventInstanceId. (RIC-lite will serve the same API;
this test is meant to be pointed at it then.)
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
from aiohttp import web

from xtrust.ric import mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.xapp import Indication

from .conftest import KPM_FUNCTION, RAN, RicPeer, kpm_indication, make_app, run, until


class _Submgr:
    def __init__(self, failures: int = 0):
        self.failures = failures
        self.requests: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.e2_ids = itertools.count(100)
        self.rest_ids = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> _Submgr:
        app = web.Application()
        app.add_routes(
            [
                web.post("/ric/v1/subscriptions", self._subscribe),
                web.delete("/ric/v1/subscriptions/{id}", self._delete),
            ]
        )
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/ric/v1"
        return self

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.runner is not None:
            await self.runner.cleanup()

    async def _subscribe(self, request: web.Request) -> web.Response:
        params = await request.json()
        for name in ("ClientEndpoint", "Meid", "RANFunctionID", "SubscriptionDetails"):
            if name not in params:
                return web.json_response({"error": f"{name} missing"}, status=400)
        self.requests.append(params)
        rest_id = params.get("SubscriptionId") or ""
        if rest_id and rest_id not in self.subscriptions:
            return web.Response(status=404)
        if not rest_id:
            rest_id = f"sub-{next(self.rest_ids)}"
        self.subscriptions[rest_id] = params
        task = asyncio.get_running_loop().create_task(self._notify(rest_id, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(
            {"SubscriptionId": rest_id, "SubscriptionInstances": None}, status=201
        )

    async def _notify(self, rest_id: str, params: dict[str, Any]) -> None:
        await asyncio.sleep(0.02)  # the E2 round trip
        instances = []
        for detail in params["SubscriptionDetails"]:
            if self.failures > 0:
                self.failures -= 1
                instances.append({
                    "XappEventInstanceId": detail["XappEventInstanceId"],
                    "E2EventInstanceId": 0,
                    "ErrorCause": "RICsubscriptionFailure: action-not-supported",
                    "ErrorSource": "E2Node",
                    "TimeoutType": "",
                })  # fmt: skip
            else:
                instances.append({
                    "XappEventInstanceId": detail["XappEventInstanceId"],
                    "E2EventInstanceId": next(self.e2_ids),
                    "ErrorCause": "",
                    "ErrorSource": "",
                    "TimeoutType": "",
                })  # fmt: skip
        endpoint = params["ClientEndpoint"]
        url = f"http://{endpoint['Host']}:{endpoint['HTTPPort']}/ric/v1/subscriptions/response"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                url, json={"SubscriptionId": rest_id, "SubscriptionInstances": instances}
            ) as resp,
        ):
            assert resp.status == 200

    async def _delete(self, request: web.Request) -> web.Response:
        rest_id = request.match_info["id"]
        if self.subscriptions.pop(rest_id, None) is None:
            return web.Response(status=404)
        self.deleted.append(rest_id)
        return web.Response(status=204)


def test_subscribe_via_submgr_receive_indications_delete_at_stop() -> None:
    async def main() -> None:
        got: list[Indication] = []
        submgr = await _Submgr().start()
        try:
            async with RicPeer() as ric:
                app = make_app(ric, subscriptions="rest", submgr_url=submgr.url,
                               callback_host="127.0.0.1")  # fmt: skip
                await app.start()
                sub = await app.subscribe_kpm(
                    RAN, KPM_FUNCTION, ["DRB.UEThpDl"], period_ms=250, handler=got.append,
                    wait=2,
                )  # fmt: skip
                params = submgr.requests[0]
                assert params["Meid"] == RAN and params["RANFunctionID"] == KPM_FUNCTION
                assert params["ClientEndpoint"] == {
                    "Host": "127.0.0.1", "HTTPPort": app.http_port, "RMRPort": app.rmr_port,
                }  # fmt: skip
                assert "SubscriptionId" not in params
                detail = params["SubscriptionDetails"][0]
                assert kpm.KpmEventTrigger.decode(bytes(detail["EventTriggers"])).period_ms == 250
                action = detail["ActionToBeSetupList"][0]
                assert (action["ActionID"], action["ActionType"]) == (1, "report")
                definition = kpm.decode_action_definition(bytes(action["ActionDefinition"]))
                assert isinstance(definition, kpm.KpmActionDefinitionFormat1)
                assert (sub.rest_id, sub.sub_id) == ("sub-1", 100)

                # indications arrive over RMR at ClientEndpoint Host:RMRPort, sub_id = E2 id
                ric.app_address = f"127.0.0.1:{params['ClientEndpoint']['RMRPort']}"
                await ric.indicate(kpm_indication(100, (5.0, 6.0)), 100)
                await until(lambda: len(got) == 1)
                assert got[0].message.rows()[0]["RRU.PrbUsedDl"] == 6.0

                await app.stop()
                assert submgr.deleted == ["sub-1"]
                assert not ric.of(mtypes.RIC_SUB_REQ)  # nothing went over RMR for it
        finally:
            await submgr.close()

    run(main())


def test_failure_notification_is_retried_with_the_same_subscription_id() -> None:
    async def main() -> None:
        submgr = await _Submgr(failures=1).start()
        try:
            app = make_app(None, subscriptions="rest", submgr_url=submgr.url,
                           callback_host="127.0.0.1", backoff=(0.05, 0.1))  # fmt: skip
            await app.start()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
            await sub.wait_active(3)
            assert sub.attempts == 2
            first, second = submgr.requests
            assert "SubscriptionId" not in first
            assert second["SubscriptionId"] == "sub-1"  # a resend, as submgr asks
            assert (
                second["SubscriptionDetails"][0]["XappEventInstanceId"]
                == first["SubscriptionDetails"][0]["XappEventInstanceId"]
            )
            assert sub.sub_id == 100
            await app.stop()
        finally:
            await submgr.close()

    run(main())


def test_submgr_down_is_retried_and_renewal_after_a_restart() -> None:
    async def main() -> None:
        submgr = await _Submgr().start()
        url = submgr.url
        await submgr.close()  # nobody listens there now
        app = make_app(None, subscriptions="rest", submgr_url=url,
                       callback_host="127.0.0.1", backoff=(0.05, 0.1))  # fmt: skip
        await app.start()
        sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], retry=False)
        try:
            await sub.wait_active(2)
        except Exception as exc:
            assert "cannot reach submgr" in str(exc)
        else:
            raise AssertionError("subscribed without a submgr")
        await app.stop()

        # a submgr that forgot everything (restarted): the resend gets 404, a fresh POST follows
        submgr = await _Submgr().start()
        try:
            app = make_app(None, subscriptions="rest", submgr_url=submgr.url,
                           callback_host="127.0.0.1", backoff=(0.05, 0.1))  # fmt: skip
            await app.start()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], wait=2)
            submgr.subscriptions.clear()
            assert app.resubscribe(RAN) == 1
            await until(lambda: sub.active and sub.sub_id == 101, what="renewed subscription")
            assert sub.rest_id == "sub-2"
            await app.stop()
        finally:
            await submgr.close()

    run(main())
