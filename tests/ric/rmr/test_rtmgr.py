"""Route-manager exchange: request (21), table data (20), table state acks (22)."""

from __future__ import annotations

import asyncio

from tests.ric.rmr.helpers import run, until
from xtrust.ric.rmr import Endpoint, Message, RouteManager, TableAck, split_table


def table_for(port: int | None, table_id: str = "rt-1") -> str:
    return (
        f"newrt|start|{table_id}\n"
        f"mse|12010|-1|127.0.0.1:{port}\n"
        f"mse|12011|7|127.0.0.1:{port}\n"
        "newrt|end|2\n"
    )


def test_request_mode_table_split_over_messages_and_acked() -> None:
    async def main() -> None:
        async with Endpoint(0, host="127.0.0.1", use_env=False) as target:
            text = table_for(target.port)
            assert len(split_table(text, 30)) == 4  # one record per message
            async with RouteManager(text, chunk_size=30) as rm:
                app = Endpoint(
                    0, host="127.0.0.1", use_env=False, rtg=f"127.0.0.1:{rm.port}", ctl_port=0
                )
                async with app:
                    assert not app.ready
                    ack = await asyncio.wait_for(rm.acks.get(), 3)
                    assert ack == TableAck(True, "rt-1", "", ack.src)
                    assert ack.src == app.collector.control.name
                    assert app.ready and app.routes is not None and app.routes.table_id == "rt-1"
                    assert rm.requests >= 1
                    assert app.collector.control.counters["received"] >= 4  # 4 messages
                    await app.send(Message(12011, b"routed", sub_id=7))
                    assert (await target.recv(2)).payload == b"routed"
                    # the control port is not the data port
                    assert app.collector.control.port != app.port

    run(main())


def test_push_mode_refused_table_keeps_the_old_one() -> None:
    async def main() -> None:
        async with Endpoint(0, host="127.0.0.1", use_env=False) as target:
            app = Endpoint(0, host="127.0.0.1", use_env=False, ctl_port=0)
            async with app, RouteManager(table_for(target.port, "good")) as rm:
                ctl = f"127.0.0.1:{app.collector.control.port}"
                await rm.push(ctl)
                ack = await asyncio.wait_for(rm.acks.get(), 3)
                assert (ack.ok, ack.table_id) == (True, "good")
                first = app.routes
                # a table whose count is wrong is refused with librmr's reason
                rm.table = "newrt|start|bad\nmse|1|-1|127.0.0.1:9\nnewrt|end|5\n"
                await rm.push(ctl)
                ack = await asyncio.wait_for(rm.acks.get(), 3)
                assert (ack.ok, ack.table_id) == (False, "bad")
                assert ack.reason == "missing table records: expected 5 got 1"
                assert app.routes is first
                # a malformed record refuses the table too
                rm.table = "newrt|start|worse\nmse|x|-1|127.0.0.1:9\nnewrt|end\n"
                await rm.push(ctl)
                ack = await asyncio.wait_for(rm.acks.get(), 3)
                assert (ack.ok, ack.table_id) == (False, "worse")
                assert "message type 'x' is not an integer" in ack.reason
                assert app.routes is first
                # an incremental update changes the live table
                rm.table = (
                    f"updatert|start|u2\nmse|555|-1|127.0.0.1:{target.port}\nupdatert|end|1\n"
                )
                await rm.push(ctl)
                ack = await asyncio.wait_for(rm.acks.get(), 3)
                assert (ack.ok, ack.table_id) == (True, "u2")
                assert app.routes is not None and app.routes.targets(12010) == [
                    f"127.0.0.1:{target.port}"
                ]
                await app.send(Message(555, b"updated"))
                assert (await target.recv(2)).payload == b"updated"
                assert app.collector.tables == 2 and app.collector.refused == 2

    run(main())


def test_meid_map_from_route_manager() -> None:
    async def main() -> None:
        async with Endpoint(0, host="127.0.0.1", use_env=False) as owner:
            text = (
                "newrt|start|r\nmse|12040|-1|%meid\nnewrt|end|1\n"
                f"meid_map|start|m1\nmme_ar|127.0.0.1:{owner.port}|gnb7\nmeid_map|end|1\n"
            )
            app = Endpoint(0, host="127.0.0.1", use_env=False, ctl_port=0)
            async with app, RouteManager(text) as rm:
                await rm.push(f"127.0.0.1:{app.collector.control.port}")
                acks = [await asyncio.wait_for(rm.acks.get(), 3) for _ in range(2)]
                assert [(a.ok, a.table_id) for a in acks] == [(True, "r"), (True, "m1")]
                await app.send(Message(12040, b"ctl", meid="gnb7"))
                assert (await owner.recv(2)).meid == "gnb7"

    run(main())


def test_request_keeps_retrying_until_a_route_manager_appears() -> None:
    async def main() -> None:
        async with RouteManager("newrt|start|late\nnewrt|end\n") as rm:
            port = rm.port
        # the manager is gone; the app keeps asking (with backoff), then one comes up
        app = Endpoint(0, host="127.0.0.1", use_env=False, rtg=f"127.0.0.1:{port}", ctl_port=0)
        async with app:
            app.collector.request_interval = 0.05
            await until(
                lambda: app.collector.control.counters["errors"].get("connect", 0) >= 1,
                what="a failed request",
            )
            async with RouteManager("newrt|start|late\nnewrt|end\n", port=port or 0) as rm2:
                ack = await asyncio.wait_for(rm2.acks.get(), 5)
                assert ack.ok and ack.table_id == "late" and app.ready

    run(main())
