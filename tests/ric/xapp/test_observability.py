"""Health probes, /metrics and /ric/v1/config over HTTP (aiohttp client on loopback)."""

from __future__ import annotations

import json

import aiohttp

from xtrust.ric import mtypes
from xtrust.ric.rmr import Message

from .conftest import RicPeer, descriptor, make_app, run


def test_alive_ready_metrics_and_config() -> None:
    async def main() -> None:
        async with RicPeer() as ric, aiohttp.ClientSession() as http:
            app = make_app(ric, config=descriptor(controls={"mode": "test"}))
            await app.start()
            base = f"http://127.0.0.1:{app.http_port}"
            async with http.get(f"{base}/ric/v1/health/alive") as resp:
                assert resp.status == 200 and (await resp.json()) == {"status": "alive"}
            async with http.get(f"{base}/ric/v1/health/ready") as resp:
                assert resp.status == 200 and (await resp.json()) == {"status": "ready"}
            async with http.get(f"{base}/ric/v1/config") as resp:
                assert (await resp.json())["controls"] == {"mode": "test"}

            await ric.send_to_app(Message(30000, b"x"), f"127.0.0.1:{app.rmr_port}")
            await app.send(mtypes.A1_POLICY_RESP, b"{}")
            await ric.expect(mtypes.A1_POLICY_RESP)
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain")
                text = await resp.text()
            assert 'xapp_rmr_received_total{mtype="30000",xapp="xtrust-test"} 1.0' in text
            assert 'xapp_rmr_sent_total{mtype="20011",xapp="xtrust-test"} 1.0' in text
            assert 'xapp_e2_subscriptions{state="active",xapp="xtrust-test"} 0.0' in text
            assert "process_cpu_seconds_total" in text
            await app.stop()

    run(main())


def test_not_ready_without_routes_and_two_apps_keep_separate_metrics() -> None:
    async def main() -> None:
        async with RicPeer() as ric, aiohttp.ClientSession() as http:
            lonely = make_app(None)  # no route table: RMR is not ready
            routed = make_app(ric)
            await lonely.start()
            await routed.start()
            async with http.get(f"http://127.0.0.1:{lonely.http_port}/ric/v1/health/ready") as r:
                assert r.status == 503
                assert (await r.json())["reasons"] == ["RMR has no route table yet"]
            async with http.get(f"http://127.0.0.1:{lonely.http_port}/ric/v1/health/alive") as r:
                assert r.status == 200
            await routed.send(30001, b"only me")
            await ric.expect(30001)
            assert b'mtype="30001"' in routed.metrics.render()
            assert b'mtype="30001"' not in lonely.metrics.render()
            custom = routed.metrics.counter("alerts_total", "alerts raised", ["kind"])
            custom.labels("dos").inc()
            async with http.get(f"http://127.0.0.1:{routed.http_port}/metrics") as r:
                assert 'alerts_total{kind="dos"} 1.0' in await r.text()
            await lonely.stop()
            await routed.stop()

    run(main())


def test_http_can_be_turned_off() -> None:
    async def main() -> None:
        app = make_app(None, http=False)
        await app.start()
        assert app.http_port is None
        await app.stop()
        json.dumps(app.config.raw)

    run(main())
