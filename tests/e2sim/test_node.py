"""The simulated gNB: its model, and the node against RIC-lite over the real protocols."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import pytest

from xtrust.e2sim.model import CQI_EFFICIENCY, Cell, cqi_of_sinr, daily_load
from xtrust.e2sim.node import KPM_FUNCTION_ID, MEAS_NAMES, E2Node
from xtrust.ric import mtypes
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1.e2ap_fast import require_indication
from xtrust.ric.asn1.e2ap_messages import (
    RicAction,
    RicRequestId,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    parse,
)
from xtrust.ric.platform import RicLite, RicLiteConfig
from xtrust.ric.rmr import Endpoint, Message


def test_cqi_mapping_is_monotonic_and_bounded() -> None:
    cqis = [cqi_of_sinr(s / 2) for s in range(-40, 80)]
    assert cqis == sorted(cqis)
    assert cqis[0] == 0 and cqis[-1] == 15
    assert len(CQI_EFFICIENCY) == 16 and CQI_EFFICIENCY[15] == 5.5547


def test_daily_profile_peaks_in_the_evening() -> None:
    day = 86400 * 20000
    assert daily_load(day + 4 * 3600) < 0.2 < 0.9 < daily_load(day + 16 * 3600)


def measurements_after(seed: int, steps: int) -> list[dict[str, float | int]]:
    cell = Cell(1, 1, random.Random(seed))
    for _ in range(5):
        cell.add_ue()
    out = []
    for i in range(steps):
        cell.step(1_700_000_000 + i, 1.0)
        out.append(cell.measurements())
    return out


def test_model_is_deterministic_per_seed() -> None:
    assert measurements_after(7, 20) == measurements_after(7, 20)
    assert measurements_after(7, 20) != measurements_after(8, 20)


def test_model_values_are_plausible() -> None:
    for m in measurements_after(3, 50):
        assert 0 <= m["RRU.PrbUsedDl"] <= m["RRU.PrbAvailDl"] == 106
        assert 0 <= m["RRU.PrbTotDl"] <= 100
        assert m["RRC.ConnEstabSucc"] <= m["RRC.ConnEstabAtt"]
        assert m["DRB.UEThpDl"] >= 0 and m["DRB.RlcSduDelayDl"] >= 1.0


def test_worse_radio_means_more_prbs_for_the_same_demand() -> None:
    def prbs(offset: float) -> float:
        cell = Cell(1, 1, random.Random(1))
        for _ in range(6):
            ue = cell.add_ue()
            ue.mean_sinr_db = ue.sinr_db = 15.0 + offset
        cell.rng = random.Random(2)
        cell.step(1_700_000_000 + 16 * 3600, 0.0)
        return cell.prb_dl

    assert prbs(-12.0) > prbs(0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cfg(port: int = 0) -> RicLiteConfig:
    return RicLiteConfig(e2_port=port, rmr_port=0, http_port=0, rtmgr_port=None,
                         e2_transport="tcp")  # fmt: skip


async def subscribe(ric: RicLite, xapp: Endpoint, node: E2Node, action: bytes) -> Message:
    req = RicSubscriptionRequest(
        RicRequestId(5, 1), KPM_FUNCTION_ID,
        (kpm.KpmEventTrigger(100).encode(), [RicAction(1, "report", action)]),
    )  # fmt: skip
    await xapp.send(Message(mtypes.RIC_SUB_REQ, req.encode(), meid=node.ran_name),
                    to=ric.rmr_address, wait=1)  # fmt: skip
    return await xapp.recv(timeout=5)


def test_node_reports_kpm_to_ric_lite() -> None:
    async def main() -> None:
        async with RicLite(cfg()) as ric:
            node = E2Node(0x19B, "127.0.0.1", ric.e2_port, seed=1)
            task = asyncio.create_task(node.run())
            xapp = Endpoint(0, host="127.0.0.1", use_env=False)
            await xapp.start()
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                names = ("DRB.UEThpDl", "RRU.PrbTotDl", "RRC.ConnMean")
                action = kpm.KpmActionDefinitionFormat1(
                    tuple(kpm.MeasInfo(n) for n in names), 100
                ).encode()
                reply = await subscribe(ric, xapp, node, action)
                assert reply.mtype == mtypes.RIC_SUB_RESP
                sns = []
                for _ in range(3):
                    msg = await xapp.recv(timeout=5)
                    assert msg.mtype == mtypes.RIC_INDICATION and msg.meid == node.ran_name
                    ind = require_indication(msg.payload)
                    sns.append(ind.sn)
                    header = kpm.KpmIndicationHeader.decode(ind.header)
                    assert abs(header.unix_time - time.time()) < 5
                    body = kpm.decode_indication_message(ind.message)
                    assert isinstance(body, kpm.KpmIndicationMessageFormat1)
                    (row,) = body.rows()
                    assert tuple(row) == names
                    assert 0 <= row["RRU.PrbTotDl"] <= 100 and row["RRC.ConnMean"] >= 0
                assert sns == sorted(sns) and len(set(sns)) == 3
            finally:
                task.cancel()
                await xapp.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_unsupported_action_format_is_refused() -> None:
    async def main() -> None:
        async with RicLite(cfg()) as ric:
            node = E2Node(0x19C, "127.0.0.1", ric.e2_port)
            task = asyncio.create_task(node.run())
            xapp = Endpoint(0, host="127.0.0.1", use_env=False)
            await xapp.start()
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                reply = await subscribe(ric, xapp, node, b"\xff\x00")
                assert reply.mtype == mtypes.RIC_SUB_FAILURE
                assert isinstance(parse(reply.payload), RicSubscriptionFailure)
                assert node.counters["subscriptions_refused"] == 1
            finally:
                task.cancel()
                await xapp.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_node_reconnects_and_sets_up_again_when_the_ric_comes_back() -> None:
    async def main() -> None:
        port = free_port()
        node = E2Node(0x19D, "127.0.0.1", port, backoff_max=0.2)
        task = asyncio.create_task(node.run())
        try:
            async with RicLite(cfg(port)):
                await asyncio.wait_for(node.connected.wait(), 5)
            await asyncio.sleep(0.3)
            assert not node.connected.is_set()
            async with RicLite(cfg(port)) as ric:
                await asyncio.wait_for(node.connected.wait(), 5)
                assert node.counters["setups"] == 2
                assert ric.e2t.nodes[node.ran_name].connected
        finally:
            task.cancel()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_meas_names_are_ts_28_552() -> None:
    assert {"DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "RRU.PrbUsedUl", "RRU.PrbTotDl",
            "RRC.ConnEstabAtt", "RRC.ConnEstabSucc", "RRC.ConnMean",
            "DRB.RlcSduDelayDl"} <= set(MEAS_NAMES)  # fmt: skip


def format4(names: tuple[str, ...], cond: kpm.TestCondition) -> bytes:
    sub = kpm.KpmActionDefinitionFormat1(tuple(kpm.MeasInfo(n) for n in names), 100)
    return kpm.KpmActionDefinitionFormat4((cond,), sub).encode()


def test_ue_level_reports_with_matching_conditions() -> None:
    names = ("DRB.UEThpDl", "CQI")

    async def main() -> None:
        async with RicLite(cfg()) as ric:
            node = E2Node(0x19E, "127.0.0.1", ric.e2_port, ues_per_cell=6, seed=2)
            task = asyncio.create_task(node.run())
            xapp = Endpoint(0, host="127.0.0.1", use_env=False)
            await xapp.start()
            try:
                await asyncio.wait_for(node.connected.wait(), 5)
                every = kpm.TestCondition("cQI", "greaterthan", ("valueInt", -1))
                reply = await subscribe(ric, xapp, node, format4(names, every))
                assert reply.mtype == mtypes.RIC_SUB_RESP
                msg = await xapp.recv(timeout=5)
                body = kpm.decode_indication_message(require_indication(msg.payload).message)
                assert isinstance(body, kpm.KpmIndicationMessageFormat3)
                ues = {r.ue_id.amf_ue_ngap_id for r in body.reports}  # type: ignore[union-attr]
                assert ues and len(ues) == len(body.reports)  # one report per UE
                for r in body.reports:
                    (row,) = r.report.rows()
                    assert tuple(row) == names and 0 <= row["CQI"] <= 15
                # a condition no UE meets: the node says nothing for that subscription
                none = kpm.TestCondition("cQI", "greaterthan", ("valueInt", 15))
                req = RicSubscriptionRequest(
                    RicRequestId(5, 2), KPM_FUNCTION_ID,
                    (kpm.KpmEventTrigger(100).encode(),
                     [RicAction(1, "report", format4(names, none))]),
                )  # fmt: skip
                await xapp.send(Message(mtypes.RIC_SUB_REQ, req.encode(), meid=node.ran_name),
                                to=ric.rmr_address, wait=1)  # fmt: skip
                got = None
                while got is None or got.mtype != mtypes.RIC_SUB_RESP:
                    got = await xapp.recv(timeout=5)
                quiet_sub = got.sub_id
                seen = set()
                for _ in range(8):
                    seen.add((await xapp.recv(timeout=5)).sub_id)
                assert quiet_sub not in seen
                # a test the model cannot evaluate is refused
                rsrp = kpm.TestCondition("rSRP", "greaterthan", ("valueInt", -100))
                reply = await subscribe(ric, xapp, node, format4(names, rsrp))
                while reply.mtype == mtypes.RIC_INDICATION:
                    reply = await xapp.recv(timeout=5)
                assert reply.mtype == mtypes.RIC_SUB_FAILURE
            finally:
                task.cancel()
                await xapp.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_period_means_follow_ts_28_552() -> None:
    """PRB usage and connected UEs are the mean over the reporting period, UE
    throughput the mean over the steps that had data, not the last step's value."""
    from xtrust.e2sim.node import E2Node as Node
    from xtrust.e2sim.node import _Report as Report
    from xtrust.ric.asn1.e2ap_messages import RicRequestId as Rid

    node = Node(7, "127.0.0.1", 1, n_cells=1, ues_per_cell=8, seed=5, start_time=1.7e9,
                step_ms=100)  # fmt: skip
    cid = node.cells[0].cell_id
    names = ("RRU.PrbTotDl", "RRC.ConnMean", "DRB.UEThpDl", "RRC.ConnEstabAtt")
    report = Report(Rid(1, 1), 1, 1.0, names, 1000, cid)
    node.report_values(report)  # start of the first period
    for period in range(3):
        prb, conn, thp, att = [], [], [], 0
        for k in range(1, 11):
            node.advance_to(1.7e9 + period + k / 10)
            snap = node.snapshot[cid]
            prb.append(snap["RRU.PrbTotDl"])
            conn.append(snap["RRC.ConnMean"])
            if snap["DRB.UEThpDl"] > 0:
                thp.append(snap["DRB.UEThpDl"])
            att += snap.get("RRC.ConnEstabAtt", 0)
        values = node.report_values(report)
        assert values["RRU.PrbTotDl"] == pytest.approx(sum(prb) / 10, abs=0.01)
        assert values["RRC.ConnMean"] == pytest.approx(sum(conn) / 10, abs=0.01)
        expected_thp = sum(thp) / len(thp) if thp else 0.0
        assert values["DRB.UEThpDl"] == pytest.approx(expected_thp, abs=0.01)
        assert values["RRC.ConnEstabAtt"] == att  # counters stay counts


def test_node_offers_cell_and_ue_level_reports() -> None:
    """Style 1 with the cell measurements, style 4 (condition-based, UE-level) with
    the per-UE ones: what an xApp reads before it subscribes."""
    from xtrust.e2sim.model import UE_MEAS_NAMES
    from xtrust.e2sim.node import ran_functions

    fn = next(f for f in ran_functions() if f.id == KPM_FUNCTION_ID)
    rfd = kpm.KpmRanFunctionDefinition.decode(fn.definition)
    assert [s.style for s in rfd.report_styles] == [1, 4]
    cell, ue = rfd.report_style(1), rfd.report_style(4)
    assert cell is not None and ue is not None
    assert [m.name for m in cell.meas] == list(MEAS_NAMES)
    assert [m.name for m in ue.meas] == list(UE_MEAS_NAMES)
    assert (cell.action_format, ue.action_format, ue.message_format) == (1, 4, 3)


def test_ue_level_report_reads_its_own_period_end() -> None:
    """When another subscription's report has run the model past a UE-level report's
    period end, the UE-level report still carries the UEs as they were at that end
    (a real gNB measures over its own granularity period): without it, two periods'
    arrivals could land in one report and none in the next."""
    from xtrust.e2sim.node import E2Node as Node
    from xtrust.e2sim.node import _Report as Report
    from xtrust.ric.asn1.e2ap_messages import RicRequestId as Rid

    def make() -> tuple[Node, Report]:
        node = Node(7, "127.0.0.1", 1, n_cells=1, ues_per_cell=8, seed=9, start_time=1.7e9,
                    step_ms=100)  # fmt: skip
        report = Report(Rid(1, 1), 1, 1.0, ("DRB.UEThpDl", "CQI"), 1000, node.cells[0].cell_id,
                        ue_level=True)  # fmt: skip
        node.reports[(1, 1)] = report
        report.due = 1.7e9 + 1.0
        return node, report

    ahead, report = make()
    ahead.advance_to(1.7e9 + 3.0)  # the cell-level report ran the model on
    steady, ref = make()
    seen = []
    for end in (1.0, 2.0, 3.0):
        steady.advance_to(1.7e9 + end)
        expected = steady._ue_values_at(ref, 1.7e9 + end)
        assert expected == steady.ue_values(ref)
        got = ahead._ue_values_at(report, 1.7e9 + end)
        assert got == expected
        seen.append(expected)
    assert seen[0] != seen[-1]  # the UEs did change meanwhile
    assert ahead.ue_values(report) == expected
    assert ahead._ue_values_at(report, 1.7e9 + 1.0) == ahead.ue_values(report)  # no snapshot
