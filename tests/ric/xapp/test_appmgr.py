"""Registration with appmgr: on/off rules, the register/deregister payloads, retries.

The appmgr stand-in is an aiohttp server in the test implementing appmgr's
documented ``POST /ric/v1/register`` (201) and ``POST /ric/v1/deregister`` (204).
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from xtrust.ric.appmgr import appmgr_url, service_endpoint

from .conftest import RicPeer, make_app, run, until


class _Appmgr:
    def __init__(self, fail_first: int = 0):
        self.registered: list[dict[str, Any]] = []
        self.deregistered: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> _Appmgr:
        app = web.Application()
        app.add_routes([web.post("/ric/v1/register", self._register),
                        web.post("/ric/v1/deregister", self._deregister)])  # fmt: skip
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/ric/v1"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _register(self, request: web.Request) -> web.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500, text="not yet")
        self.registered.append(await request.json())
        return web.Response(status=201)

    async def _deregister(self, request: web.Request) -> web.Response:
        self.deregistered.append(await request.json())
        return web.Response(status=204)


def test_registers_after_start_is_ready_then_and_deregisters_at_stop() -> None:
    async def main() -> None:
        mgr = await _Appmgr(fail_first=1).start()
        try:
            async with RicPeer() as ric, aiohttp.ClientSession() as http:
                env = {
                    "HOSTNAME": "xtrust-test-6cd577d9-4v255",
                    "SERVICE_RICXAPP_XTRUST_TEST_6CD577D9_4V255_HTTP_PORT": "tcp://10.0.0.7:8080",
                    "SERVICE_RICXAPP_XTRUST_TEST_6CD577D9_4V255_RMR_PORT": "tcp://10.0.0.7:4560",
                }
                app = make_app(ric, appmgr=mgr.url, env=env)
                await app.start()
                assert app.registration is not None
                ready = f"http://127.0.0.1:{app.http_port}/ric/v1/health/ready"
                async with http.get(ready) as resp:
                    assert resp.status == 503
                    assert "not registered with appmgr" in (await resp.json())["reasons"]
                await until(lambda: bool(mgr.registered), timeout=3, what="registration")
                body = mgr.registered[0]
                assert body == {
                    "appName": "xtrust-test-6cd577d9-4v255",
                    "appVersion": "1.0.0",
                    "configPath": "",
                    "appInstanceName": "xtrust-test",
                    "httpEndpoint": "10.0.0.7:8080",
                    "rmrEndpoint": "10.0.0.7:4560",
                    "config": json.dumps(app.config.raw),
                }
                await until(lambda: app.ready)
                async with http.get(ready) as resp:
                    assert resp.status == 200
                started = time.monotonic()
                await app.stop()
                assert time.monotonic() - started < 0.5
                assert mgr.deregistered == [
                    {"appName": "xtrust-test-6cd577d9-4v255", "appInstanceName": "xtrust-test"}
                ]
                assert app.registration.attempts == 2
        finally:
            await mgr.close()

    run(main())


def test_unreachable_appmgr_never_blocks_start_or_stop() -> None:
    async def main() -> None:
        app = make_app(None, appmgr="http://127.0.0.1:9/ric/v1")
        await app.start()
        assert "not registered with appmgr" in app.ready_reasons()
        started = time.monotonic()
        await app.stop()
        assert time.monotonic() - started < 0.5

    run(main())


def test_registration_is_off_outside_kubernetes_and_on_inside() -> None:
    assert appmgr_url(None, {}) is None
    assert appmgr_url(False, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}) is None
    assert appmgr_url(None, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}) == (
        "http://service-ricplt-appmgr-http.ricplt:8080/ric/v1"
    )
    assert appmgr_url(None, {"KUBERNETES_SERVICE_HOST": "x", "PLT_NAMESPACE": "plt"}) == (
        "http://service-plt-appmgr-http.plt:8080/ric/v1"
    )
    assert appmgr_url(None, {"XTRUST_APPMGR_URL": "http://am:8080/ric/v1/"}) == (
        "http://am:8080/ric/v1"
    )
    assert appmgr_url("http://x/ric/v1", {}) == "http://x/ric/v1"
    assert make_app(None).registration is None and make_app(None)._appmgr_url is None
    inside = make_app(None, env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert inside._appmgr_url == "http://service-ricplt-appmgr-http.ricplt:8080/ric/v1"


def test_service_endpoints_fall_back_when_variables_are_missing() -> None:
    env = {"HOSTNAME": "kpimon-abc", "APP_NAMESPACE": "apps",
           "SERVICE_APPS_KPIMON_ABC_RMR_PORT": "tcp://10.1.2.3:4560"}  # fmt: skip
    assert service_endpoint("RMR", 4560, env) == "10.1.2.3:4560"
    assert service_endpoint("HTTP", 8080, env) == "kpimon-abc:8080"
    assert service_endpoint("HTTP", None, {"HOSTNAME": "h"}) == "h:0"
