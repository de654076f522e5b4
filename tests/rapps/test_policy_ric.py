"""Enforcement on RIC-lite: the control admission hook and A1-P v2 policy pushes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.ric.platform.test_ric_lite import Env, config, control, register
from xtrust.errors import ExternalToolError
from xtrust.rapps.policy import (
    POLICY_TYPE_ID,
    A1Pusher,
    DictLedgerState,
    Pdp,
    RiskAdmission,
    RiskEngine,
    Subject,
)
from xtrust.rapps.policy.alerts import Alert
from xtrust.ric import mtypes
from xtrust.ric.platform import ControlRequestInfo, RicLite, SenderInfo

SUBJECTS = [
    Subject("kpimon", "xapp", zone="ric", ran_functions=(3,)),
    Subject("tsapp", "xapp", zone="ric", ran_functions=(2,)),
]


def make_pdp() -> Pdp:
    ledger = DictLedgerState({"kpimon": "approved", "tsapp": "approved"})
    return Pdp(risk=RiskEngine(ledger=ledger), subjects=SUBJECTS)


def descriptor(name: str, policies: list[int]) -> str:
    ports = [{
        "name": "rmr-data", "port": 4560,
        "rxMessages": ["RIC_CONTROL_ACK", "RIC_CONTROL_FAILURE", "A1_POLICY_REQ"],
        "txMessages": ["RIC_CONTROL_REQ", "A1_POLICY_RESP", "A1_POLICY_QUERY"],
        "policies": policies,
    }]  # fmt: skip
    return json.dumps({"name": name, "version": "1.0.0", "messaging": {"ports": ports}})


def critical(subject: str) -> Alert:
    import time

    return Alert("alert--x", time.time(), "test", "xapp", subject, None, "rogue-control", 2.0,
                 "critical")  # fmt: skip


def info(xapp: str | None, fid: int = 3) -> ControlRequestInfo:
    return ControlRequestInfo(SenderInfo("127.0.0.1:4561", xapp), "gnb_001", fid, None, b"", b"")


def test_admission_maps_the_control_request() -> None:
    pdp = make_pdp()
    hook = RiskAdmission(pdp)

    async def main() -> None:
        d = await hook.admit(info("kpimon"))
        assert d.allowed and "xapp-declared-ran-function" in d.reason
        assert hook.last is not None and hook.last.resource == "ran_function:gnb_001/3"
        d = await hook.admit(info("kpimon", fid=2))
        assert not d.allowed and "default deny" in d.reason
        d = await hook.admit(info(None))
        assert not d.allowed and "unregistered sender 127.0.0.1:4561" in d.reason
        d = await hook.admit(info("ghost"))
        assert not d.allowed and "unknown subject" in d.reason

    asyncio.run(main())


def test_control_admission_on_ric_lite() -> None:
    pdp = make_pdp()

    async def main() -> None:
        async with RicLite(config(), admission=RiskAdmission(pdp)) as ric:
            env = Env(ric)
            try:
                node = await env.node()
                xapp = await env.xapp()
                await register(env, xapp, "kpimon", descriptor("kpimon", []))
                await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(1).encode(), node.ran_name)
                reply = await xapp.recv(timeout=3)
                assert reply.mtype == mtypes.RIC_CONTROL_ACK
                # an attack is detected: the next control is refused automatically
                pdp.risk.behaviour.add(critical("kpimon"))
                await env.send(xapp, mtypes.RIC_CONTROL_REQ, control(2).encode(), node.ran_name)
                reply = await xapp.recv(timeout=3)
                assert reply.mtype == mtypes.RIC_CONTROL_FAILURE
                assert pdp.counters == {"allow": 1, "deny": 1, "error": 0}
            finally:
                await env.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a1_push_reaches_the_segmentation_xapp() -> None:
    pdp = make_pdp()

    async def main() -> None:
        async with RicLite(config()) as ric:
            env = Env(ric)
            try:
                seg = await env.xapp()
                await register(env, seg, "segmentation", descriptor("segmentation",
                                                                    [POLICY_TYPE_ID]))  # fmt: skip
                pusher = A1Pusher(f"http://127.0.0.1:{ric.http_port}")
                assert await pusher.push_pdp(pdp) is True  # creates the type, then the policy
                msg = await seg.recv(timeout=3)
                assert msg.mtype == mtypes.A1_POLICY_REQ
                doc: dict[str, Any] = json.loads(msg.payload)
                assert doc["operation"] == "CREATE" and doc["policy_type_id"] == POLICY_TYPE_ID
                assert doc["payload"]["risk_threshold"] == 70
                assert doc["payload"]["quarantine"] == []
                assert await pusher.push_pdp(pdp) is False  # unchanged: nothing sent

                pdp.risk.behaviour.add(critical("tsapp"))
                assert await pusher.push_pdp(pdp) is True
                msg = await seg.recv(timeout=3)
                doc = json.loads(msg.payload)
                assert doc["operation"] == "UPDATE" and doc["payload"]["quarantine"] == ["tsapp"]
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(pusher.policy_url) as r,
                ):
                    stored = await r.json()
                assert stored["quarantine"] == ["tsapp"] and stored["risk_threshold"] == 70

                # the RIC's schema refuses a bad instance: the pusher reports it
                with pytest.raises(ExternalToolError, match="HTTP 400"):
                    await pusher.push({"risk_threshold": 500, "quarantine": []})
            finally:
                await env.close()
        with pytest.raises(ExternalToolError):
            await A1Pusher(f"http://127.0.0.1:{ric.http_port}").push_pdp(pdp)

    asyncio.run(asyncio.wait_for(main(), 20))


def test_service_pushes_to_the_ric_from_its_configuration() -> None:
    from xtrust.rapps.policy.config import config_from_dict
    from xtrust.rapps.policy.service import build_service

    async def main() -> None:
        async with RicLite(config()) as ric:
            cfg = config_from_dict(
                {
                    "threshold": 60,
                    "subjects": [{"id": "kpimon", "kind": "xapp", "ran_functions": [3]}],
                    "ledger": {"kpimon": "revoked"},
                    "a1": {"url": f"http://127.0.0.1:{ric.http_port}", "interval": 0.1},
                }
            )
            service = build_service(cfg)
            await service.start()
            try:
                assert service.pusher is not None
                for _ in range(100):
                    if service.pusher.pushes:
                        break
                    await asyncio.sleep(0.05)
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(service.pusher.policy_url) as r,
                ):
                    stored = await r.json()
                assert stored["risk_threshold"] == 60 and stored["quarantine"] == ["kpimon"]
            finally:
                await service.stop()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a1_type_command_prints_a_valid_policy_type() -> None:
    import jsonschema
    from click.testing import CliRunner

    from xtrust.rapps.policy.cli import policy

    res = CliRunner().invoke(policy, ["a1-type"])
    assert res.exit_code == 0
    body = json.loads(res.output)
    assert body["policy_type_id"] == POLICY_TYPE_ID and body["name"] == "xtrust-risk-v1"
    schema = body["create_schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate({"risk_threshold": 70, "quarantine": ["kpimon"]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"risk_threshold": 70, "quarantine": ["a", "a"]}, schema)


def test_subscription_admission_on_ric_lite() -> None:
    """The PDP at RIC-lite's subscription admission: a declared RAN function is
    allowed, an undeclared one and anything after a critical alert are refused."""
    from tests.ric.platform.test_ric_lite import sub_request

    pdp = Pdp(risk=RiskEngine(ledger=DictLedgerState({"tsapp": "approved"})),
              subjects=[Subject("tsapp", "xapp", zone="ric", ran_functions=(2,))])  # fmt: skip

    async def main() -> None:
        async with RicLite(config(), subscription_admission=RiskAdmission(pdp)) as ric:
            env = Env(ric)
            try:
                node = await env.node()
                xapp = await env.xapp()
                desc = json.dumps({"name": "tsapp", "version": "1.0.0", "messaging": {"ports": [{
                    "name": "rmr-data", "port": 4560,
                    "rxMessages": ["RIC_SUB_RESP", "RIC_SUB_FAILURE"],
                    "txMessages": ["RIC_SUB_REQ"]}]}})  # fmt: skip
                await register(env, xapp, "tsapp", desc)

                async def subscribe(n: int, fid: int) -> int:
                    req = sub_request(n, fid=fid, trigger=bytes([n]))
                    await env.send(xapp, mtypes.RIC_SUB_REQ, req.encode(), node.ran_name)
                    return (await xapp.recv(timeout=3)).mtype

                assert await subscribe(1, 2) == mtypes.RIC_SUB_RESP
                pdp.risk.behaviour.add(critical("tsapp"))
                assert await subscribe(2, 2) == mtypes.RIC_SUB_FAILURE
                assert ric.submgr.counters["subscriptions_denied"] == 1
            finally:
                await env.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_subscription_admission_refuses_undeclared_functions_and_unknown_senders() -> None:
    from xtrust.ric.platform import SubscriptionRequestInfo

    pdp = Pdp(risk=RiskEngine(ledger=DictLedgerState({"tsapp": "approved"})),
              subjects=[Subject("tsapp", "xapp", zone="ric", ran_functions=(2,))])  # fmt: skip
    adm = RiskAdmission(pdp)

    def req(xapp: str | None, fid: int) -> SubscriptionRequestInfo:
        return SubscriptionRequestInfo(SenderInfo("127.0.0.1:4561", xapp), "gnb_001", fid, None)

    assert asyncio.run(adm.admit_subscription(req("tsapp", 2))).allowed
    assert not asyncio.run(adm.admit_subscription(req("tsapp", 3))).allowed
    assert not asyncio.run(adm.admit_subscription(req(None, 2))).allowed
