"""E2 subscriptions over RMR (the direct back end) against a RIC peer on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest

from xtrust.ric import mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1.e2ap_messages import (
    RicAction,
    RicRequestId,
    RicSubscriptionDeleteRequest,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    parse,
)
from xtrust.ric.rmr import Message
from xtrust.ric.rnib import ConnectionStatus, GlobalNbId, Gnb, Node, NodebInfo, RnibWriter
from xtrust.ric.xapp import (
    Indication,
    SubscriptionFailure,
    SubscriptionTimeout,
    XApp,
    XAppError,
)

from ..conftest import SdlFactory
from .conftest import KPM_FUNCTION, RAN, RicPeer, kpm_indication, make_app, metric, run, until


def test_subscribe_indications_unsubscribe_on_stop() -> None:
    """The whole life of a KPM subscription, checked on the wire at every step."""

    async def main() -> None:
        got: list[Indication] = []
        async with RicPeer() as ric:
            app = make_app(ric, requestor_id=77)
            await app.start()
            sub = await app.subscribe_kpm(
                RAN, KPM_FUNCTION, ["DRB.UEThpDl", "RRU.PrbUsedDl"], period_ms=500,
                handler=got.append,
            )  # fmt: skip
            msg = await ric.expect(mtypes.RIC_SUB_REQ)
            assert (msg.meid, msg.sub_id) == (RAN, -1)
            req = parse(msg.payload)
            assert isinstance(req, RicSubscriptionRequest)
            assert req.request_id.requestor_id == 77
            assert req.ran_function_id == KPM_FUNCTION
            assert kpm.KpmEventTrigger.decode(req.event_trigger).period_ms == 500
            action = req.actions[0]
            assert (action.id, action.type) == (1, "report")
            assert action.definition is not None
            definition = kpm.decode_action_definition(action.definition)
            assert isinstance(definition, kpm.KpmActionDefinitionFormat1)
            assert definition.meas_names == ("DRB.UEThpDl", "RRU.PrbUsedDl")

            await ric.accept_subscription(msg, sub_id=4242)  # routed, not return-to-sender
            await sub.wait_active(2)
            assert (sub.sub_id, sub.request_id, sub.admitted) == (4242, req.request_id, [1])

            await ric.indicate(kpm_indication(4242, (12.5, 3.0), sn=1), 4242)
            await ric.indicate(kpm_indication(4242, (13.0, 4.0), sn=2), 4242)
            await until(lambda: len(got) == 2, what="two indications")
            first = got[0]
            assert (first.meid, first.sub_id, first.subscription) == (RAN, 4242, sub)
            assert first.e2.request_id == RicRequestId(123, 4242)  # the RIC's, as sent
            assert first.sn == 1 and first.action_id == 1
            assert isinstance(first.header, kpm.KpmIndicationHeader)
            assert first.header.unix_time == pytest.approx(1_700_000_000.25)
            assert isinstance(first.message, kpm.KpmIndicationMessageFormat1)
            assert first.message.rows() == [{"DRB.UEThpDl": 12.5, "RRU.PrbUsedDl": 3.0}]
            assert got[1].message.rows()[0]["DRB.UEThpDl"] == 13.0

            stopping = asyncio.get_running_loop().create_task(app.stop())
            delete = await ric.expect(mtypes.RIC_SUB_DEL_REQ)
            assert (delete.sub_id, delete.meid) == (4242, RAN)
            dreq = await ric.answer_delete(delete)
            assert isinstance(dreq, RicSubscriptionDeleteRequest)
            assert (dreq.request_id, dreq.ran_function_id) == (req.request_id, KPM_FUNCTION)
            started = time.monotonic()
            await stopping
            assert time.monotonic() - started < 0.5
            assert sub.state == "deleted"

    run(main())


def test_indications_of_unknown_or_broken_subscriptions_are_dropped_and_counted() -> None:
    async def main() -> None:
        got: list[Indication] = []
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            ric.auto_delete()
            await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], handler=got.append)
            await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=7)
            await until(lambda: app.subscriptions.by_sub_id.get(7) is not None)
            await ric.indicate(kpm_indication(8), 8)  # nobody subscribed to 8
            await ric.send_to_app(Message(mtypes.RIC_INDICATION, b"\x00\x05junk", sub_id=7))
            broken = kpm_indication(7)
            await ric.indicate(
                type(broken)(broken.request_id, KPM_FUNCTION, 1, b"\xff", b"\xff\xff"), 7
            )
            await ric.indicate(kpm_indication(7, (1.0, 2.0)), 7)
            await until(lambda: len(got) == 1, what="the good indication")
            errors = "xapp_e2_indication_errors_total"
            assert metric(app, errors, reason="unknown_subscription") == 1
            assert metric(app, errors, reason="e2ap") == 1
            assert metric(app, errors, reason="kpm") == 1
            assert metric(app, "xapp_e2_indications_total", meid=RAN) == 1
            await app.stop()

    run(main())


def test_failure_is_retried_with_backoff_until_the_ric_accepts() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, backoff=(0.1, 0.4))
            await app.start()
            ric.auto_delete()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
            first = await ric.expect(mtypes.RIC_SUB_REQ)
            refused = await ric.refuse_subscription(first)
            failed_at = time.monotonic()
            second = await ric.expect(mtypes.RIC_SUB_REQ)
            waited = time.monotonic() - failed_at
            assert 0.05 < waited < 0.5  # the backoff, not a busy retry
            again = await ric.refuse_subscription(second)
            assert again.request_id != refused.request_id  # a new RICrequestID each attempt
            third = await ric.expect(mtypes.RIC_SUB_REQ)
            await ric.accept_subscription(third, sub_id=99)
            await sub.wait_active(2)
            assert sub.attempts == 3 and sub.last_error is None
            attempts = "xapp_e2_subscription_attempts_total"
            assert metric(app, attempts, outcome="failure") == 2
            assert metric(app, attempts, outcome="success") == 1
            assert metric(app, "xapp_e2_subscriptions", state="active") == 1
            await app.stop()

    run(main())


def test_without_retry_the_first_failure_is_final() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], retry=False)
            await ric.refuse_subscription(await ric.expect(mtypes.RIC_SUB_REQ))
            with pytest.raises(SubscriptionFailure, match="action-not-supported") as info:
                await sub.wait_active(2)
            assert info.value.cause == "ricRequest/action-not-supported"
            assert sub.state == "failed"
            await ric.nothing(mtypes.RIC_SUB_REQ, within=0.3)
            await app.stop()
            await ric.nothing(mtypes.RIC_SUB_DEL_REQ, within=0.05)  # nothing to delete

    run(main())


def test_timeout_retry_and_late_answer_is_deleted() -> None:
    """An unanswered request is retried; its late answer makes the app delete the orphan."""

    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, subscription_timeout=0.2)
            await app.start()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
            with pytest.raises(SubscriptionTimeout, match=r"not active after 0\.1 s"):
                await sub.wait_active(0.1)
            silent = await ric.expect(mtypes.RIC_SUB_REQ)
            retry = await ric.expect(mtypes.RIC_SUB_REQ, timeout=2)
            await ric.accept_subscription(retry, sub_id=11)
            await sub.wait_active(2)
            # now the first request's answer arrives, too late
            await ric.accept_subscription(silent, sub_id=10)
            orphan = await ric.expect(mtypes.RIC_SUB_DEL_REQ)
            assert orphan.sub_id == 10
            first = parse(silent.payload)
            assert isinstance(first, RicSubscriptionRequest)
            assert parse(orphan.payload).request_id == first.request_id  # type: ignore[attr-defined]
            assert sub.sub_id == 11 and sub.active
            ric.auto_delete()
            await app.stop()

    run(main())


def test_resubscribe_after_the_ric_restarts(peer_port: int) -> None:
    """The RIC goes away and a new one comes up on the same port; when it reports the
    node connected (RAN_CONNECTED), the app subscribes again and indications flow."""

    async def main() -> None:
        got: list[Indication] = []
        ric = await RicPeer(peer_port).start()
        app = make_app(ric, subscription_timeout=0.3)
        await app.start()
        sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], handler=got.append)
        await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=5)
        await sub.wait_active(2)
        app_address = ric.app_address
        await ric.indicate(kpm_indication(5), 5)
        await until(lambda: len(got) == 1)
        await ric.close()

        ric2 = await RicPeer(peer_port).start()
        try:
            await ric2.send_to_app(Message(mtypes.RAN_CONNECTED, b"", meid=RAN), app_address)
            # the app deletes what the new RIC might hold (it knows nothing) ...
            stale = await ric2.expect(mtypes.RIC_SUB_DEL_REQ)
            assert stale.sub_id == 5
            await ric2.answer_delete(stale, ok=False)
            # ... and subscribes again
            again = await ric2.expect(mtypes.RIC_SUB_REQ)
            await ric2.accept_subscription(again, sub_id=6)
            await until(lambda: sub.sub_id == 6 and sub.active, what="the new subscription")
            await ric2.indicate(kpm_indication(6, (7.0, 8.0)), 6)
            await until(lambda: len(got) == 2)
            assert got[1].sub_id == 6 and got[1].message.rows()[0]["DRB.UEThpDl"] == 7.0
            ric2.auto_delete()
            await app.stop()
        finally:
            await ric2.close()

    run(main())


def _gnb(status: int) -> NodebInfo:
    return NodebInfo(
        ran_name=RAN,
        connection_status=status,  # type: ignore[arg-type]
        global_nb_id=GlobalNbId(plmn_id="13f184", nb_id="0000019b"),
        node_type=Node.GNB,
        gnb=Gnb(),
    )


def test_resubscribe_when_the_rnib_reports_the_node_connected(sdl_factory: SdlFactory) -> None:
    """With an SDL configured, the app watches E2 Manager's connection events (both SDL
    back ends) and renews the node's subscriptions when it reconnects."""

    async def main() -> None:
        writer_sdl = sdl_factory()
        writer = RnibWriter(writer_sdl)
        await writer.save_nodeb(_gnb(ConnectionStatus.CONNECTED))
        async with RicPeer() as ric:
            app = make_app(ric, sdl=sdl_factory())
            await app.start()
            nodes = await app.rnib.list_nodebs()
            assert [n.inventory_name for n in nodes] == [RAN]
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
            await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=21)
            await sub.wait_active(2)
            ric.auto_delete()
            await writer.update_connection_status(RAN, ConnectionStatus.DISCONNECTED)
            await ric.nothing(mtypes.RIC_SUB_REQ, within=0.1)
            await writer.update_connection_status(RAN, ConnectionStatus.CONNECTED)
            again = await ric.expect(mtypes.RIC_SUB_REQ)
            await ric.accept_subscription(again, sub_id=22)
            await until(lambda: sub.sub_id == 22 and sub.active)
            await app.stop()
        await writer_sdl.close()

    run(main())


def test_the_ric_reestablishing_a_subscription_moves_its_sub_id() -> None:
    """RIC-lite re-subscribes on its own when a node comes back and answers the app again
    with RIC_SUB_RESP for the same RICrequestID: the app follows the new sub_id."""

    async def main() -> None:
        got: list[Indication] = []
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            sub = await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"], handler=got.append)
            msg = await ric.expect(mtypes.RIC_SUB_REQ)
            req = await ric.accept_subscription(msg, sub_id=30)
            await sub.wait_active(2)
            resp = RicSubscriptionResponse(req.request_id, KPM_FUNCTION, [1])
            await ric.reply(msg, mtypes.RIC_SUB_RESP, resp, sub_id=31)
            await until(lambda: sub.sub_id == 31)
            await ric.indicate(kpm_indication(31), 31)
            await until(lambda: len(got) == 1)
            await ric.nothing(mtypes.RIC_SUB_REQ, within=0.05)
            ric.auto_delete()
            await app.stop()

    run(main())


def test_explicit_unsubscribe_and_answers_by_return_to_sender() -> None:
    async def main() -> None:
        got: list[Indication] = []
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            trigger = kpm.KpmEventTrigger(1000)
            action = RicAction(
                3,
                "report",
                kpm.KpmActionDefinitionFormat1((kpm.MeasInfo("DRB.UEThpDl"),), 1000).encode(),
            )
            sub = await app.subscribe(
                RAN, KPM_FUNCTION, trigger, [action], handler=got.append, model="raw"
            )
            await ric.accept_subscription(
                await ric.expect(mtypes.RIC_SUB_REQ), sub_id=40, routed=False
            )
            await sub.wait_active(2)
            await ric.indicate(kpm_indication(40), 40)
            await until(lambda: len(got) == 1)
            assert isinstance(got[0].header, bytes)  # raw: undecoded E2SM
            removing = asyncio.get_running_loop().create_task(sub.unsubscribe())
            delete = await ric.expect(mtypes.RIC_SUB_DEL_REQ)
            await ric.answer_delete(delete)
            await removing
            assert sub.state == "deleted" and 40 not in app.subscriptions.by_sub_id
            await ric.indicate(kpm_indication(40), 40)
            await asyncio.sleep(0.05)
            assert len(got) == 1
            await app.stop()
            await ric.nothing(mtypes.RIC_SUB_DEL_REQ, within=0.05)

    run(main())


def test_subscribe_needs_a_running_app_and_valid_arguments() -> None:
    async def main() -> None:
        app = make_app(None)
        with pytest.raises(XAppError, match="running app"):
            await app.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
        await app.start()
        with pytest.raises(Exception, match="RAN function id 5000"):
            await app.subscribe_kpm(RAN, 5000, ["DRB.UEThpDl"])
        with pytest.raises(Exception, match="meid"):
            await app.subscribe_kpm("x" * 40, KPM_FUNCTION, ["DRB.UEThpDl"])
        with pytest.raises(Exception, match="unknown service model"):
            await app.subscribe(RAN, 1, b"\x00", b"\x00", model="nope")
        await app.stop()

    run(main())


def test_stop_is_bounded_when_the_ric_does_not_answer_deletes() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, stop_timeout=0.3)
            await app.start()
            subs = [
                await app.subscribe_kpm(f"gnb_{i}", KPM_FUNCTION, ["DRB.UEThpDl"]) for i in range(3)
            ]
            for i in range(3):
                await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=50 + i)
            for s in subs:
                await s.wait_active(2)
            started = time.monotonic()
            await app.stop()
            assert time.monotonic() - started < 0.5
            assert len(ric.of(mtypes.RIC_SUB_DEL_REQ)) == 3
            assert all(s.state == "deleted" for s in subs)

    run(main())


class _Counter(XApp):
    seen: list[Indication]

    async def on_start(self) -> None:
        self.seen = []
        await self.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])

    async def on_indication(self, ind: Indication) -> None:
        self.seen.append(ind)


def test_on_indication_receives_subscriptions_without_handler() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, _Counter)
            assert isinstance(app, _Counter)
            await app.start()
            await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=60)
            await until(lambda: 60 in app.subscriptions.by_sub_id)
            await ric.indicate(kpm_indication(60), 60)
            await until(lambda: len(app.seen) == 1)
            ric.auto_delete()
            await app.stop()

    run(main())
