"""``xtrust rmr``: argument errors, and two OS processes exchanging messages."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import pytest

from tests.ric.rmr.helpers import run
from xtrust.ric.rmr import Endpoint, Message
from xtrust.ric.rmr.cli import main, message_json

CLI = [sys.executable, "-m", "xtrust.ric.rmr.cli"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--to", "127.0.0.1:4560", "--mtype", "1", "--payload", "zz"],
            "--payload is not hexadecimal",
        ),
        (["--to", "nohost", "--mtype", "1", "--payload", "00"], "is not HOST:PORT"),
        (["--to", "h:70000", "--mtype", "1", "--payload", "00"], "out of range (1..65535)"),
        (["--to", "h:x", "--mtype", "1", "--payload", "00"], "port 'x' is not a number"),
        (
            ["--to", "h:1", "--mtype", "1", "--payload", "00", "--meid", "m" * 40],
            "--meid is longer than 31 bytes",
        ),
        (["--to", "h:1", "--mtype", "x", "--payload", "00"], "'x' is not a valid integer"),
    ],
)
def test_send_input_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_send_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    assert main(["send", "--to", f"127.0.0.1:{port}", "--mtype", "1", "--payload", ""]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to 127.0.0.1:{port}: Connection refused" in err
    assert err.count("\n") == 1
    holder.close()


def test_listen_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["listen", "--port", "70000"]) == 2
    assert "70000 is not in the range" in capsys.readouterr().err


def test_message_json() -> None:
    line = message_json(Message(5, b"\x01\xff", 3, "gnb1", b"x\x80", "h:1", "1.2.3.4:1"))
    assert json.loads(line) == {
        "mtype": 5,
        "sub_id": 3,
        "meid": "gnb1",
        "xid": "x\\x80",
        "src": "h:1",
        "srcip": "1.2.3.4:1",
        "payload": "01ff",
    }


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


def test_listen_process_returns_to_sender_and_answers_health() -> None:
    async def main_() -> None:
        proc = await _spawn("listen", "--port", "0", "--count", "2", "--rts")
        assert proc.stderr is not None and proc.stdout is not None
        first = (await asyncio.wait_for(proc.stderr.readline(), 5)).decode()
        port = int(first.split("listening on 127.0.0.1:")[1].split()[0])
        async with Endpoint(0, host="127.0.0.1", use_env=False) as me:
            target = f"127.0.0.1:{port}"
            health = await me.call(Message(100), to=target, timeout=3)
            assert (health.mtype, health.payload) == (101, b"OK\n")
            reply = await me.call(Message(12010, b"\x01\x02", 9, "gnb1"), to=target, timeout=3)
            assert (reply.mtype, reply.payload, reply.sub_id, reply.meid) == (
                12010,
                b"\x01\x02",
                9,
                "gnb1",
            )
            await me.send(Message(7, b"bye"), to=target)
            out, err = await asyncio.wait_for(proc.communicate(), 5)
        assert proc.returncode == 0, err
        lines = [json.loads(line) for line in out.decode().splitlines()]
        assert [(d["mtype"], d["payload"], d["meid"], d["sub_id"]) for d in lines] == [
            (12010, "0102", "gnb1", 9),
            (7, "627965", "", -1),
        ]
        assert lines[0]["src"] == me.name and lines[0]["xid"] == reply.xid.decode()

    run(main_(), timeout=15)


def test_send_process_plain_call_and_timeout() -> None:
    async def main_() -> None:
        async with Endpoint(0, host="127.0.0.1", use_env=False) as me:
            target = f"127.0.0.1:{me.port}"
            proc = await _spawn(
                "send",
                "--to",
                target,
                "--mtype",
                "5",
                "--meid",
                "gnb1",
                "--sub-id",
                "4",
                "--payload",
                "0a0b",
                "--count",
                "3",
            )
            out, err = await asyncio.wait_for(proc.communicate(), 10)
            assert proc.returncode == 0 and out == b"", err
            got = [await me.recv(2) for _ in range(3)]
            assert {(m.mtype, m.payload, m.meid, m.sub_id) for m in got} == {
                (5, b"\n\x0b", "gnb1", 4)
            }

            async def answer() -> None:
                async for m in me.receive():
                    if m.payload != b"\x00":
                        await me.rts(m, payload=b"pong", mtype=m.mtype + 1)

            task = asyncio.create_task(answer())
            proc = await _spawn(
                "send",
                "--to",
                target,
                "--mtype",
                "20012",
                "--payload",
                "70",
                "--call",
                "--timeout",
                "2000",
            )
            out, err = await asyncio.wait_for(proc.communicate(), 10)
            assert proc.returncode == 0, err
            doc = json.loads(out)
            assert (doc["mtype"], doc["payload"], doc["src"]) == (20013, b"pong".hex(), me.name)

            proc = await _spawn(
                "send",
                "--to",
                target,
                "--mtype",
                "1",
                "--payload",
                "00",
                "--call",
                "--timeout",
                "100",
            )
            out, err = await asyncio.wait_for(proc.communicate(), 10)
            assert proc.returncode == 1 and out == b""
            assert b"no reply to mtype 1" in err and b"within 100 ms" in err
            task.cancel()

    run(main_(), timeout=20)
