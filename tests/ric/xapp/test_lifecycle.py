"""XApp lifecycle: handler dispatch, start/stop timing, run and signals, config reload,
cancellation, and running with an empty environment."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from xtrust.errors import InputError
from xtrust.ric import mtypes
from xtrust.ric.descriptor import Descriptor
from xtrust.ric.rmr import Message, SendError
from xtrust.ric.xapp import XApp, XAppError, handles

from .conftest import (
    KPM_FUNCTION,
    RAN,
    RicPeer,
    descriptor,
    free_port,
    make_app,
    metric,
    run,
    until,
    write_descriptor,
)


class _Echo(XApp):
    """Handlers declared on methods, by number and by name."""

    seen: list[tuple[str, int, bytes]]

    @handles(30000)
    async def on_ping(self, msg: Message) -> None:
        self.seen.append(("ping", msg.mtype, msg.payload))
        await self.rts(msg, payload=b"pong:" + msg.payload, mtype=30001)

    @handles("RIC_SERVICE_QUERY", 30002)
    def on_sync(self, msg: Message) -> None:  # plain functions work too
        self.seen.append(("sync", msg.mtype, msg.payload))

    @handles(30003)
    async def on_boom(self, msg: Message) -> None:
        raise RuntimeError("handler bug")

    async def default_handler(self, msg: Message) -> None:
        self.seen.append(("default", msg.mtype, msg.payload))


def test_handlers_are_dispatched_in_order_by_type() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, _Echo)
            assert isinstance(app, _Echo)
            app.seen = []
            extra: list[Message] = []

            @app.handler(30004)
            async def on_extra(msg: Message) -> None:
                extra.append(msg)

            await app.start()
            address = f"127.0.0.1:{app.rmr_port}"
            for mtype, payload in [
                (30000, b"1"),
                (mtypes.RIC_SERVICE_QUERY, b"2"),
                (30003, b"3"),  # raises: logged, counted, the next still runs
                (30002, b"4"),
                (30004, b"5"),
                (31999, b"6"),
            ]:
                await ric.send_to_app(Message(mtype, payload), address)
            pong = await ric.expect(30001)
            assert pong.payload == b"pong:1"
            await until(lambda: len(app.seen) == 4 and len(extra) == 1, what="all handlers")
            assert app.seen == [
                ("ping", 30000, b"1"),
                ("sync", mtypes.RIC_SERVICE_QUERY, b"2"),
                ("sync", 30002, b"4"),
                ("default", 31999, b"6"),
            ]
            assert extra[0].payload == b"5"
            assert metric(app, "xapp_handler_errors_total", mtype="30003") == 1
            assert metric(app, "xapp_rmr_received_total", mtype="30000") == 1
            assert metric(app, "xapp_rmr_sent_total", mtype="30001") == 1
            await app.stop()

    run(main())


def test_send_rts_and_their_ricxappframe_forms() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric)
            await app.start()
            assert await app.send(30001, b"by name", meid="gnb_x") == 1
            got = await ric.expect(30001)
            assert (got.payload, got.meid) == (b"by name", "gnb_x")
            assert await app.rmr_send(b"bool form", "A1_POLICY_RESP") is True
            assert (await ric.expect(mtypes.A1_POLICY_RESP)).payload == b"bool form"
            # 31000 is not in txMessages: no route; rmr_send says False, send raises
            assert await app.rmr_send(b"x", 31000) is False
            with pytest.raises(SendError, match="no route for mtype 31000"):
                await app.send(31000, b"x")
            assert metric(app, "xapp_rmr_send_errors_total", mtype="31000") == 2
            await ric.send_to_app(Message(30009, b"q"), f"127.0.0.1:{app.rmr_port}")
            await app.stop()

    run(main())


def test_start_and_stop_are_fast_and_stop_is_idempotent() -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric)
            started = time.monotonic()
            await app.start()
            assert time.monotonic() - started < 0.5
            assert app.running and app.ready
            rmr_port, http_port = app.rmr_port, app.http_port
            assert rmr_port and http_port
            started = time.monotonic()
            await app.stop()
            await app.stop()
            assert time.monotonic() - started < 0.5
            assert not app.running
            for port in (rmr_port, http_port):
                with pytest.raises(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            with pytest.raises(XAppError, match="create a new XApp"):
                await app.start()
        never = make_app(None)
        await never.stop()  # stop before start: nothing to do

    run(main())


def test_run_until_request_stop_and_on_sigterm() -> None:
    class Stopper(XApp):
        @handles(30000)
        async def on_quit(self, msg: Message) -> None:
            await self.stop()  # stopping from inside a handler is fine

    async def main() -> None:
        async with RicPeer() as ric:
            app = make_app(ric, Stopper)
            task = asyncio.get_running_loop().create_task(app.run())
            await until(lambda: app.running)
            await ric.send_to_app(Message(30000, b""), f"127.0.0.1:{app.rmr_port}")
            async with asyncio.timeout(1):
                await task
            assert not app.running

            app2 = make_app(ric)
            before = signal.getsignal(signal.SIGTERM)
            task2 = asyncio.get_running_loop().create_task(app2.run())
            await until(lambda: app2.running)
            started = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            async with asyncio.timeout(1):
                await task2
            assert time.monotonic() - started < 0.5
            assert signal.getsignal(signal.SIGTERM) == before  # handler given back

    run(main())


def test_cancelling_run_stops_the_app() -> None:
    async def main() -> None:
        app = make_app(None)
        task = asyncio.get_running_loop().create_task(app.run())
        await until(lambda: app.running)
        port = app.http_port
        assert port is not None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert app._state == "stopped"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()

    run(main())


def test_start_and_stop_are_cancel_safe() -> None:
    """Cancelling start() (here: in on_start) undoes it; cancelling the caller of stop()
    does not interrupt the stop."""

    class Slow(XApp):
        async def on_start(self) -> None:
            await asyncio.sleep(3600)

    async def main() -> None:
        app = make_app(None, Slow)
        task = asyncio.get_running_loop().create_task(app.start())
        await until(lambda: app.http_port is not None and app.rmr_port is not None)
        ports = (app.http_port, app.rmr_port)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert app._state == "stopped"
        for port in ports:
            assert port is not None
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()

        async with RicPeer() as ric:
            app2 = make_app(ric)
            await app2.start()
            ric.auto_delete()
            sub = await app2.subscribe_kpm(RAN, KPM_FUNCTION, ["DRB.UEThpDl"])
            await ric.accept_subscription(await ric.expect(mtypes.RIC_SUB_REQ), sub_id=3)
            await sub.wait_active(2)
            stopping = asyncio.get_running_loop().create_task(app2.stop())
            await asyncio.sleep(0)
            stopping.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stopping
            await app2.stop()  # waits for the stop that kept going
            assert app2._state == "stopped" and sub.state == "deleted"
            assert len(ric.of(mtypes.RIC_SUB_DEL_REQ)) == 1

    run(main())


def test_a_failed_start_releases_what_it_opened() -> None:
    async def main() -> None:
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        rmr_port = free_port()
        app = make_app(None, rmr_port=rmr_port, http_port=taken)
        with pytest.raises(InputError, match=f"cannot serve HTTP on 127.0.0.1:{taken}"):
            await app.start()
        blocker.close()
        assert app._state == "stopped"
        # the RMR port opened before the failure is free again
        probe = socket.socket()
        probe.bind(("127.0.0.1", rmr_port))
        probe.close()

        class Broken(XApp):
            async def on_start(self) -> None:
                raise RuntimeError("on_start failed")

        broken = make_app(None, Broken)
        with pytest.raises(RuntimeError, match="on_start failed"):
            await broken.start()
        assert broken._state == "stopped"

    run(main())


class _Reloading(XApp):
    changes: list[tuple[Descriptor, Descriptor]]

    async def on_config_change(self, old: Descriptor, new: Descriptor) -> None:
        self.changes.append((old, new))


def test_config_reload_on_file_change(tmp_path: Path) -> None:
    async def main() -> None:
        path = write_descriptor(tmp_path / "config-file.json", descriptor())
        app = make_app(None, _Reloading, config=None,
                       env={"CONFIG_FILE": str(path)}, config_poll=0.02)  # fmt: skip
        assert isinstance(app, _Reloading)
        app.changes = []
        await app.start()
        assert app.controls == {"threshold": 10}

        write_descriptor(path, descriptor(controls={"threshold": 25}))
        await until(lambda: len(app.changes) == 1, what="the reload")
        old, new = app.changes[0]
        assert old.controls == {"threshold": 10} and new.controls == {"threshold": 25}
        assert app.controls == {"threshold": 25}

        # same content rewritten: no change reported
        write_descriptor(path, descriptor(controls={"threshold": 25}))
        os.utime(path, None)
        await asyncio.sleep(0.1)
        assert len(app.changes) == 1

        # an invalid change is refused: the previous configuration stays
        bad = copy.deepcopy(descriptor(controls={"threshold": 99}))
        bad["messaging"]["ports"][1]["port"] = 99999
        write_descriptor(path, bad)
        await until(lambda: metric(app, "xapp_config_reloads_total", result="rejected") == 1)
        assert app.controls == {"threshold": 25}

        # a policy type added by a reload is registered
        fixed = descriptor(controls={"threshold": 30})
        fixed["messaging"]["ports"][1]["policies"] = [20500]
        write_descriptor(path, fixed)
        await until(lambda: len(app.changes) == 2)
        assert 20500 in app.a1.types
        assert metric(app, "xapp_config_reloads_total", result="applied") == 2
        await app.stop()

    run(main())


def test_an_empty_environment_never_crashes() -> None:
    """No CONFIG_FILE, no RMR_*, no DBAAS_*, no KUBERNETES_*, no HOSTNAME."""

    async def main() -> None:
        app = XApp(env={}, rmr_port=0, http_port=0, host="127.0.0.1")
        assert app.registration is None and app._appmgr_url is None
        await app.start()
        assert app.ready_reasons() == ["RMR has no route table yet"]
        assert app.instance_name == app.config.name
        await app.sdl.set("ns", {"k": b"v"})
        assert await app.sdl.get("ns", "k") == {"k": b"v"}
        assert await app.rnib.list_nodebs() == []
        await app.stop()

    run(main())


def test_routes_from_rmr_seed_rt(tmp_path: Path) -> None:
    async def main() -> None:
        async with RicPeer() as ric:
            table = tmp_path / "routes.rt"
            table.write_text(f"newrt|start\nmse|30001|-1|{ric.address}\nnewrt|end|1\n")
            app = XApp(
                descriptor(), env={"RMR_SEED_RT": str(table), "RMR_SRC_ID": "myapp"},
                rmr_port=0, http_port=0, host="127.0.0.1",
            )  # fmt: skip
            await app.start()
            assert app.ready
            await app.send(30001, b"seeded")
            got = await ric.expect(30001)
            assert got.payload == b"seeded" and got.src.startswith("myapp:")
            await app.stop()

    run(main())


def test_bad_environment_values_are_config_errors() -> None:
    from xtrust.errors import ConfigError

    with pytest.raises(ConfigError, match="DBAAS_SERVICE_PORT"):
        XApp(env={"DBAAS_SERVICE_HOST": "db", "DBAAS_SERVICE_PORT": "six"})

    async def main() -> None:
        app = XApp(env={"RMR_CTL_PORT": "x"}, rmr_port=0, http_port=0, host="127.0.0.1")
        with pytest.raises(ConfigError, match="RMR_CTL_PORT"):
            await app.start()

    run(main())
