"""A1 policies over RMR: validation, on_policy, 20011 replies, queries at start."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xtrust.errors import ConfigError
from xtrust.ric import mtypes
from xtrust.ric.a1 import A1Handler, PolicyType
from xtrust.ric.rmr import Message
from xtrust.ric.xapp import Policy, PolicyRejected, XApp

from .conftest import RicPeer, descriptor, make_app, metric, run

QOS_TYPE = 20008
QOS_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "threshold": {"type": "integer", "minimum": 0, "maximum": 100},
        "mode": {"enum": ["strict", "lenient"]},
    },
    "required": ["threshold"],
    "additionalProperties": False,
}
BLOCK_TYPE = 30001  # declared in code


class _PolicyApp(XApp):
    policy_types = {BLOCK_TYPE: {"type": "object", "required": ["ue"]}}
    received: list[Policy]

    async def on_policy(self, policy: Policy) -> None:
        self.received.append(policy)
        if policy.payload.get("mode") == "lenient":
            raise PolicyRejected("lenient mode is not supported here")


def _app(ric: RicPeer) -> _PolicyApp:
    doc = descriptor(
        policyTypes=[
            {
                "policy_type_id": QOS_TYPE,
                "name": "qos",
                "description": "QoS guard",
                "create_schema": QOS_SCHEMA,
            }
        ]
    )
    doc["messaging"]["ports"][1]["policies"] = [QOS_TYPE, 20009]
    app = make_app(ric, _PolicyApp, config=doc, instance_name="guard-0")
    assert isinstance(app, _PolicyApp)
    app.received = []
    return app


async def _request(
    ric: RicPeer, app: XApp, operation: str, type_id: int, instance: str, payload: Any
) -> dict[str, Any]:
    body = {
        "operation": operation,
        "policy_type_id": type_id,
        "policy_instance_id": instance,
        "payload": payload,
    }
    await ric.send_to_app(
        Message(mtypes.A1_POLICY_REQ, json.dumps(body).encode()), f"127.0.0.1:{app.rmr_port}"
    )
    reply = await ric.expect(mtypes.A1_POLICY_RESP)
    doc = json.loads(reply.payload)
    assert isinstance(doc, dict)
    return doc


def test_create_update_delete_with_schema_validation() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = _app(ric)
            await app.start()

            ok = await _request(ric, app, "CREATE", QOS_TYPE, "p1", {"threshold": 10})
            assert ok == {
                "policy_type_id": QOS_TYPE,
                "policy_instance_id": "p1",
                "handler_id": "guard-0",
                "status": "OK",
            }
            assert app.received[-1] == Policy("CREATE", QOS_TYPE, "p1", {"threshold": 10})

            upd = await _request(ric, app, "UPDATE", QOS_TYPE, "p1", {"threshold": 20})
            assert upd["status"] == "OK" and app.received[-1].payload == {"threshold": 20}

            bad = await _request(ric, app, "CREATE", QOS_TYPE, "p2", {"threshold": 500})
            assert bad["status"] == "ERROR"
            assert bad["message"] == "threshold: 500 is greater than the maximum of 100"
            extra = await _request(ric, app, "CREATE", QOS_TYPE, "p3", {"threshold": 1, "x": 1})
            assert extra["status"] == "ERROR" and "'x' was unexpected" in extra["message"]
            assert len(app.received) == 2  # invalid policies never reach the app

            refused = await _request(
                ric, app, "CREATE", QOS_TYPE, "p4", {"threshold": 1, "mode": "lenient"}
            )
            assert refused["status"] == "ERROR"
            assert refused["message"] == "lenient mode is not supported here"

            code = await _request(ric, app, "CREATE", BLOCK_TYPE, "b1", {"ue": 5})
            assert code["status"] == "OK"
            code_bad = await _request(ric, app, "CREATE", BLOCK_TYPE, "b2", {})
            assert code_bad["status"] == "ERROR" and "'ue' is a required" in code_bad["message"]
            no_schema = await _request(ric, app, "CREATE", 20009, "n1", {"anything": [1]})
            assert no_schema["status"] == "OK"

            deleted = await _request(ric, app, "DELETE", QOS_TYPE, "p1", {})
            assert deleted["status"] == "DELETED"
            assert app.received[-1].deleted
            unknown = await _request(ric, app, "CREATE", 777, "u1", {"a": 1})
            assert unknown["status"] == "ERROR" and "777 is not handled" in unknown["message"]
            read = await _request(ric, app, "READ", BLOCK_TYPE, "b1", {})
            assert read["status"] == "OK"

            requests = "xapp_a1_policy_requests_total"
            assert metric(app, requests, operation="CREATE", status="OK") == 3
            assert metric(app, requests, operation="CREATE", status="ERROR") == 5
            assert metric(app, requests, operation="READ", status="OK") == 1
            assert metric(app, requests, operation="DELETE", status="DELETED") == 1
            assert metric(app, "xapp_a1_policies", policy_type_id=str(QOS_TYPE)) == 0
            assert metric(app, "xapp_a1_policies", policy_type_id=str(BLOCK_TYPE)) == 1
            await app.stop()

    run(main())


def test_queries_at_start_for_every_declared_type() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = _app(ric)
            await app.start()
            queried = set()
            for _ in range(3):
                msg = await ric.expect(mtypes.A1_POLICY_QUERY)
                queried.add(json.loads(msg.payload)["policy_type_id"])
            assert queried == {QOS_TYPE, 20009, BLOCK_TYPE}
            app.register_policy_type(40000, {"type": "object"})
            late = await ric.expect(mtypes.A1_POLICY_QUERY)
            assert json.loads(late.payload) == {"policy_type_id": 40000}
            await app.stop()

    run(main())


def test_queries_wait_for_a_route(peer_port: int) -> None:
    """When A1 is not reachable yet, the query goes out once it is (with backoff)."""

    async def main() -> None:
        app = make_app(None, ric=f"127.0.0.1:{peer_port}", config=descriptor())
        app.register_policy_type(QOS_TYPE, QOS_SCHEMA)
        await app.start()
        async with RicPeer(peer_port) as ric:
            msg = await ric.expect(mtypes.A1_POLICY_QUERY, timeout=3)
            assert json.loads(msg.payload) == {"policy_type_id": QOS_TYPE}
            await app.stop()

    run(main())


def test_malformed_requests_do_not_break_the_app() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = _app(ric)
            await app.start()
            address = f"127.0.0.1:{app.rmr_port}"
            for junk in (b"not json", b"[1]", b'{"operation": "CREATE"}'):
                await ric.send_to_app(Message(mtypes.A1_POLICY_REQ, junk), address)
            bad_op = await _request(ric, app, "PATCH", QOS_TYPE, "p", {})
            assert bad_op["status"] == "ERROR" and "unknown operation" in bad_op["message"]
            assert len(ric.of(mtypes.A1_POLICY_RESP)) == 1  # nothing answered the junk
            await app.stop()

    run(main())


def test_policy_type_needs_a_valid_schema_and_reply_without_message() -> None:
    with pytest.raises(ConfigError, match="policy type 5: not a valid JSON schema"):
        PolicyType(5, {"type": "no-such-type"})
    handler = A1Handler("h", reply_message=False)
    handler.register(PolicyType(5, {"type": "object", "required": ["a"]}))
    request = handler.read(json.dumps({
        "operation": "CREATE", "policy_type_id": 5, "policy_instance_id": "i", "payload": {},
    }).encode())  # fmt: skip
    assert request.reply == {
        "policy_type_id": 5,
        "policy_instance_id": "i",
        "handler_id": "h",
        "status": "ERROR",
    }
