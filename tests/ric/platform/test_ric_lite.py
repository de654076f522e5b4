"""RIC-lite end to end with real peers: a scripted E2 node over the E2 transport
and xApps as plain RMR endpoints speaking the O-RAN SC message types."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from xtrust.ric import mtypes
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    ErrorIndication,
    RicAction,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    parse,
)
from xtrust.ric.platform import ControlRequestInfo, Decision, RicLite, RicLiteConfig
from xtrust.ric.rmr import Endpoint, Message
from xtrust.ric.rnib import ConnectionStatus, RnibReader

from .nodes import TestNode, request_id


def config(**kw: Any) -> RicLiteConfig:
    base = dict(
        e2_port=0, rmr_port=0, http_port=0, rtmgr_port=0, e2_transport="tcp", node_timeout=0.5
    )
    base.update(kw)
    return RicLiteConfig(**base)  # type: ignore[arg-type]


class Env:
    def __init__(self, ric: RicLite):
        self.ric = ric
        self.nodes: list[TestNode] = []
        self.xapps: list[Endpoint] = []

    async def node(self, gnb_id: int = 0x19B, **kw: Any) -> TestNode:
        n = TestNode(self.ric.e2_port, gnb_id, **kw)
        await n.connect()
        self.nodes.append(n)
        return n

    async def xapp(self) -> Endpoint:
        ep = Endpoint(0, host="127.0.0.1", name="xapp", use_env=False)
        await ep.start()
        self.xapps.append(ep)
        return ep

    async def send(
        self, ep: Endpoint, mtype: int, payload: bytes, meid: str, sub_id: int = -1
    ) -> None:
        await ep.send(
            Message(mtype, payload, sub_id=sub_id, meid=meid), to=self.ric.rmr_address, wait=1.0
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ric.http_port}{path}"

    async def close(self) -> None:
        for n in self.nodes:
            await n.close()
        for x in self.xapps:
            await x.close()


async def with_env(test: Any, **cfg: Any) -> None:
    async with RicLite(config(**cfg)) as ric:
        env = Env(ric)
        try:
            await asyncio.wait_for(test(env), 20)
        finally:
            await env.close()


def run(test: Any, **cfg: Any) -> None:
    asyncio.run(with_env(test, **cfg))


def sub_request(n: int, fid: int = 2, trigger: bytes = b"\x01\x02") -> RicSubscriptionRequest:
    return RicSubscriptionRequest(request_id(n), fid, (trigger, [RicAction(1, "report", b"adef")]))


async def subscribe(env: Env, ep: Endpoint, node: TestNode, n: int = 1) -> Message:
    await env.send(ep, mtypes.RIC_SUB_REQ, sub_request(n).encode(), node.ran_name)
    reply = await ep.recv(timeout=3)
    return reply


def test_e2_setup_accepts_known_service_models_and_writes_rnib() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        assert node.setup is not None
        assert node.setup.accepted == [(2, 1), (3, 1)]
        assert node.setup.rejected == [(9, Cause("ricService", "ran-function-not-supported"))]
        info = await RnibReader(env.ric.sdl).get_nodeb(node.ran_name)  # type: ignore[arg-type]
        assert info is not None and info.connection_status == ConnectionStatus.CONNECTED
        assert [f.ran_function_oid for f in info.gnb.ran_functions] == [
            "1.3.6.1.4.1.53148.1.2.2.2",
            "1.3.6.1.4.1.53148.1.1.2.3",
        ]
        async with (
            aiohttp.ClientSession() as http,
            http.get(env.url("/ric/v1/nodes")) as r,
        ):
            nodes = await r.json()
        assert nodes[0]["ranName"] == node.ran_name and nodes[0]["connected"]
        await node.close()
        for _ in range(50):
            info = await RnibReader(env.ric.sdl).get_nodeb(node.ran_name)  # type: ignore[arg-type]
            if info is not None and info.connection_status == ConnectionStatus.DISCONNECTED:
                break
            await asyncio.sleep(0.02)
        assert info is not None and info.connection_status == ConnectionStatus.DISCONNECTED

    run(t)


def test_subscribe_indicate_unsubscribe() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        reply = await subscribe(env, xapp, node, 1)
        assert reply.mtype == mtypes.RIC_SUB_RESP
        resp = parse(reply.payload)
        assert isinstance(resp, RicSubscriptionResponse)
        assert resp.request_id == request_id(1)  # the xApp's own id is echoed
        assert resp.admitted == [1]
        sub_id = reply.sub_id
        assert sub_id > 0 and reply.meid == node.ran_name
        # toward the node the RIC used its own requestor id and the subscription id
        (req,) = await node.wait_for(RicSubscriptionRequest)
        assert req.request_id.requestor_id == env.ric.config.requestor_id
        assert req.request_id.instance_id == sub_id
        sent = await node.indication(sub_id)
        ind = await xapp.recv(timeout=3)
        assert (ind.mtype, ind.sub_id, ind.meid) == (mtypes.RIC_INDICATION, sub_id, node.ran_name)
        assert ind.payload == sent  # forwarded unchanged
        delete = RicSubscriptionDeleteRequest(request_id(1), 2)
        await env.send(xapp, mtypes.RIC_SUB_DEL_REQ, delete.encode(), node.ran_name, sub_id)
        reply = await xapp.recv(timeout=3)
        assert reply.mtype == mtypes.RIC_SUB_DEL_RESP
        assert parse(reply.payload) == RicSubscriptionDeleteResponse(request_id(1), 2)
        await node.wait_for(RicSubscriptionDeleteRequest)
        assert env.ric.submgr.subs == {}

    run(t)


def test_identical_subscriptions_are_merged_and_fanned_out() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        a, b = await env.xapp(), await env.xapp()
        ra = await subscribe(env, a, node, 1)
        rb = await subscribe(env, b, node, 5)
        assert ra.sub_id == rb.sub_id
        assert parse(rb.payload).request_id == request_id(5)  # type: ignore[attr-defined]
        assert len(await node.wait_for(RicSubscriptionRequest)) == 1
        assert sum(isinstance(m, RicSubscriptionRequest) for m in node.received) == 1
        sent = await node.indication(ra.sub_id)
        assert (await a.recv(timeout=3)).payload == sent
        assert (await b.recv(timeout=3)).payload == sent
        # the first to leave gets its answer at once; the node keeps the subscription
        delete = RicSubscriptionDeleteRequest(request_id(1), 2).encode()
        await env.send(a, mtypes.RIC_SUB_DEL_REQ, delete, node.ran_name, ra.sub_id)
        assert (await a.recv(timeout=3)).mtype == mtypes.RIC_SUB_DEL_RESP
        await asyncio.sleep(0.05)
        assert not any(isinstance(m, RicSubscriptionDeleteRequest) for m in node.received)
        sent = await node.indication(ra.sub_id, b"second")
        assert (await b.recv(timeout=3)).payload == sent

    run(t)


def test_subscription_to_unknown_node_or_function_fails() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        await env.send(xapp, mtypes.RIC_SUB_REQ, sub_request(1).encode(), "gnb_nowhere")
        reply = await xapp.recv(timeout=3)
        assert reply.mtype == mtypes.RIC_SUB_FAILURE
        fail = parse(reply.payload)
        assert isinstance(fail, RicSubscriptionFailure)
        assert fail.request_id == request_id(1)
        assert fail.cause == Cause("ricRequest", "system-not-ready")
        await env.send(xapp, mtypes.RIC_SUB_REQ, sub_request(2, fid=9).encode(), node.ran_name)
        reply = await xapp.recv(timeout=3)
        assert parse(reply.payload).cause == Cause("ricRequest", "ran-function-id-invalid")  # type: ignore[attr-defined]

    run(t)


def test_node_that_does_not_answer_gives_a_failure() -> None:
    async def t(env: Env) -> None:
        node = await env.node(auto_answer=False)
        xapp = await env.xapp()
        reply = await subscribe(env, xapp, node, 1)
        assert reply.mtype == mtypes.RIC_SUB_FAILURE
        assert env.ric.submgr.subs == {}

    run(t, node_timeout=0.2)


def test_node_restart_restores_subscriptions() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        reply = await subscribe(env, xapp, node, 1)
        await node.close()
        await asyncio.sleep(0.1)
        again = await env.node()  # same gNB id: the same RAN name
        (req,) = await again.wait_for(RicSubscriptionRequest)
        assert req.request_id.instance_id == reply.sub_id
        sent = await again.indication(reply.sub_id, b"after restart")
        ind = await xapp.recv(timeout=3)
        assert ind.payload == sent and ind.sub_id == reply.sub_id
        assert env.ric.submgr.counters.get("subscriptions_restored") == 1

    run(t)


def control(n: int) -> RicControlRequest:
    return RicControlRequest(request_id(n), 3, b"ctrl-header", b"ctrl-message", ack_request="ack")


def test_control_is_forwarded_and_acknowledged() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(1).encode(), node.ran_name)
        (got,) = await node.wait_for(RicControlRequest)
        assert got == control(1)
        reply = await xapp.recv(timeout=3)
        assert reply.mtype == mtypes.RIC_CONTROL_ACK
        ack = parse(reply.payload)
        assert isinstance(ack, RicControlAcknowledge) and ack.request_id == request_id(1)
        assert ack.outcome == b"done"

    run(t)


def test_control_times_out() -> None:
    async def t(env: Env) -> None:
        node = await env.node(auto_answer=False)
        xapp = await env.xapp()
        await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(1).encode(), node.ran_name)
        reply = await xapp.recv(timeout=3)
        assert reply.mtype == mtypes.RIC_CONTROL_FAILURE
        fail = parse(reply.payload)
        assert isinstance(fail, RicControlFailure)
        assert fail.cause == Cause("ricRequest", "control-timer-expired")

    run(t, node_timeout=0.2)


class DenyRc:
    def __init__(self) -> None:
        self.seen: list[ControlRequestInfo] = []

    async def admit(self, request: ControlRequestInfo) -> Decision:
        self.seen.append(request)
        return Decision.deny("quarantined")


def test_control_admission_hook_can_deny() -> None:
    hook = DenyRc()

    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(1).encode(), node.ran_name)
        reply = await xapp.recv(timeout=3)
        assert reply.mtype == mtypes.RIC_CONTROL_FAILURE
        await asyncio.sleep(0.05)
        assert not any(isinstance(m, RicControlRequest) for m in node.received)
        (seen,) = hook.seen
        assert seen.ran_name == node.ran_name and seen.ran_function_oid is not None
        assert seen.header == b"ctrl-header"

    async def main() -> None:
        async with RicLite(config(), admission=hook) as ric:
            env = Env(ric)
            try:
                await t(env)
            finally:
                await env.close()

    asyncio.run(main())


def test_malformed_pdu_gets_error_indication_and_connection_stays_up() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        await node.send(bytes.fromhex("000840ff0102"))  # a subscription request cut short
        (err,) = await node.wait_for(ErrorIndication)
        assert err.cause == Cause("protocol", "transfer-syntax-error")
        assert err.criticality_diagnostics["procedureCode"] == 8
        xapp = await env.xapp()
        reply = await subscribe(env, xapp, node, 1)  # still works on the same connection
        assert reply.mtype == mtypes.RIC_SUB_RESP
        assert env.ric.e2t.counters["malformed"] == 1

    run(t)


def test_flooding_node_is_throttled_not_disconnected() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        reply = await subscribe(env, xapp, node, 1)
        for _ in range(300):
            await node.indication(reply.sub_id)
        got = 0
        while got < 300:
            await xapp.recv(timeout=3)
            got += 1
        assert env.ric.e2t.counters.get("throttled", 0) > 0
        assert env.ric.e2t.nodes[node.ran_name].connected

    run(t, node_pdu_rate=2000.0)


def descriptor(policies: list[int], route_port: int | None = None) -> str:
    ports: list[dict[str, Any]] = [
        {
            "name": "rmr-data",
            "port": 4560,
            "rxMessages": ["RIC_SUB_RESP", "RIC_INDICATION", "A1_POLICY_REQ"],
            "txMessages": ["RIC_SUB_REQ", "A1_POLICY_RESP", "A1_POLICY_QUERY"],
            "policies": policies,
        }
    ]
    if route_port is not None:
        ports.append({"name": "rmr-route", "port": route_port})
    return json.dumps({"name": "kpimon", "version": "1.0.0", "messaging": {"ports": ports}})


async def register(env: Env, ep: Endpoint, name: str, desc: str) -> None:
    body = {
        "appName": name,
        "appVersion": "1.0.0",
        "appInstanceName": name,
        "httpEndpoint": "127.0.0.1:1",
        "rmrEndpoint": f"127.0.0.1:{ep.port}",
        "config": desc,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(env.url("/ric/v1/register"), json=body) as r,
    ):
        assert r.status == 201, await r.text()


def test_a1_policy_put_reaches_the_declaring_xapp() -> None:
    async def t(env: Env) -> None:
        xapp = await env.xapp()
        other = await env.xapp()
        await register(env, xapp, "kpimon", descriptor([20000]))
        await register(env, other, "other", descriptor([1]))
        schema = {
            "type": "object",
            "properties": {"threshold": {"type": "integer", "minimum": 0}},
            "required": ["threshold"],
            "additionalProperties": False,
        }
        base = env.url("/A1-P/v2/policytypes/20000")
        async with aiohttp.ClientSession() as http:
            async with http.put(
                base,
                json={
                    "name": "t",
                    "description": "d",
                    "policy_type_id": 20000,
                    "create_schema": schema,
                },
            ) as r:
                assert r.status == 201
            async with http.put(base + "/policies/p1", json={"threshold": 5}) as r:
                assert r.status == 201
            msg = await xapp.recv(timeout=3)
            assert msg.mtype == mtypes.A1_POLICY_REQ
            doc = json.loads(msg.payload)
            assert doc == {
                "operation": "CREATE",
                "policy_type_id": 20000,
                "policy_instance_id": "p1",
                "payload": {"threshold": 5},
            }
            async with http.get(base + "/policies/p1/status") as r:
                assert (await r.json())["enforceStatus"] == "NOT_ENFORCED"
            answer = {
                "policy_type_id": 20000,
                "policy_instance_id": "p1",
                "handler_id": "kpimon",
                "status": "OK",
            }
            await env.send(xapp, mtypes.A1_POLICY_RESP, json.dumps(answer).encode(), "")
            for _ in range(50):
                async with http.get(base + "/policies/p1/status") as r:
                    status = await r.json()
                if status["enforceStatus"] == "ENFORCED":
                    break
                await asyncio.sleep(0.02)
            assert status == {"enforceStatus": "ENFORCED", "handlers": {"kpimon": "OK"}}
            async with http.put(base + "/policies/p2", json={"threshold": -1}) as r:
                assert r.status == 400
                problem = await r.json()
                assert "threshold" in problem["detail"]
            async with http.delete(base + "/policies/p1") as r:
                assert r.status == 204
            msg = await xapp.recv(timeout=3)
            assert json.loads(msg.payload)["operation"] == "DELETE"
            # a query re-delivers the instances of a type
            async with http.put(base + "/policies/p3", json={"threshold": 1}) as r:
                assert r.status == 201
            await xapp.recv(timeout=3)
            await env.send(xapp, mtypes.A1_POLICY_QUERY, b'{"policy_type_id": 20000}', "")
            again = json.loads((await xapp.recv(timeout=3)).payload)
            assert (again["operation"], again["policy_instance_id"]) == ("CREATE", "p3")
        with pytest.raises(TimeoutError):
            await other.recv(timeout=0.2)

    run(t)


def test_registered_xapp_cannot_send_undeclared_types() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        xapp = await env.xapp()
        await register(env, xapp, "kpimon", descriptor([]))
        await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(1).encode(), node.ran_name)
        await asyncio.sleep(0.1)
        assert env.ric.counters.get("dropped_by_policy") == 1
        assert not any(isinstance(m, RicControlRequest) for m in node.received)

    run(t)


def test_route_table_is_pushed_to_registered_xapps() -> None:
    async def t(env: Env) -> None:
        ctl = Endpoint(0, host="127.0.0.1", name="xapp", use_env=False, ctl_port=0)
        await ctl.start()
        env.xapps.append(ctl)
        route_port = ctl.collector.control.port  # type: ignore[union-attr]
        await register(env, ctl, "kpimon", descriptor([], route_port))
        for _ in range(100):
            if ctl.routes is not None and ctl.routes.lookup(mtypes.RIC_SUB_REQ):
                break
            await asyncio.sleep(0.02)
        entry = ctl.routes.lookup(mtypes.RIC_SUB_REQ)  # type: ignore[union-attr]
        assert entry is not None
        assert ctl.routes.targets(mtypes.RIC_SUB_REQ, -1, "") == [env.ric.rmr_address]  # type: ignore[union-attr]

    run(t)


def test_health_and_metrics() -> None:
    async def t(env: Env) -> None:
        await env.node()
        async with aiohttp.ClientSession() as http:
            async with http.get(env.url("/ric/v1/health/alive")) as r:
                assert r.status == 200
            async with http.get(env.url("/ric/v1/health/ready")) as r:
                assert r.status == 200
            async with http.get(env.url("/metrics")) as r:
                text = await r.text()
        assert "xtrust_ric_e2_nodes_connected 1.0" in text
        assert 'xtrust_ric_events_total{component="e2t",event="setups"} 1.0' in text

    run(t)


def test_slow_xapp_gets_a_bounded_queue_and_drop_counters() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        slow, fast = await env.xapp(), await env.xapp()
        reply = await subscribe(env, slow, node, 1)
        await subscribe(env, fast, node, 2)
        # the slow xApp stops reading: its port now belongs to a socket that never reads
        port = slow.port
        await slow.close()
        env.xapps.remove(slow)
        stalled = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
        try:
            big = b"x" * 4000
            count = 3000
            for _ in range(count):
                await node.indication(reply.sub_id, big)
            got = 0
            while got < count:
                await fast.recv(timeout=5)
                got += 1
            stats = env.ric.out.stats()[f"127.0.0.1:{port}"]
            assert stats["dropped"] > 0
            assert stats["queued"] <= env.ric.config.xapp_queue
            assert env.ric.e2t.nodes[node.ran_name].connected
        finally:
            stalled.close()

    run(t, xapp_queue=200)


def test_killed_and_restarted_xapp_gets_its_indications_back() -> None:
    async def t(env: Env) -> None:
        node = await env.node()
        first = await env.xapp()
        reply = await subscribe(env, first, node, 1)
        await first.close()  # killed: no delete request
        env.xapps.remove(first)
        second = await env.xapp()  # the restarted xApp subscribes again, as it does at start
        again = await subscribe(env, second, node, 1)
        assert again.mtype == mtypes.RIC_SUB_RESP and again.sub_id == reply.sub_id
        sent = await node.indication(again.sub_id, b"after xApp restart")
        ind = await second.recv(timeout=3)
        assert ind.payload == sent

    run(t)
