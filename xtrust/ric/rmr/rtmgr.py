"""Route-manager exchange: tables arrive as RMR messages, get acknowledged.

The protocol (librmr ``rtc_static.c`` / ``rt_generic_static.c``):

* The application has a control endpoint (port ``RMR_CTL_PORT``, 4561 in
  the RIC) separate from its data port.
* In request mode (``RMR_RTG_SVC=host:port``) it sends type 21 (request
  table) to the route manager, payload ``<name> ts=<epoch>\\n``, sub id 0,
  once a second until the first table data arrives. In push mode
  (``RMR_RTG_SVC=<port>``) it only listens.
* The route manager sends type 20 messages, each holding one or more
  newline-terminated records (a record is not split across messages; keep
  messages under 4 KiB for old applications). See :mod:`.routes`.
* At each ``newrt|end``, ``updatert|end`` or ``meid_map|end`` the
  application answers with type 22 by return-to-sender on the message that
  ended the section: ``OK <table-id> \\n`` or ``ERR <table-id> <reason>\\n``
  (NUL terminated; ``<id-missing>`` when the start record had no id). A table
  refused keeps the previous one in force.

:class:`RouteTableCollector` is the application side (started by
:class:`~xtrust.ric.rmr.endpoint.Endpoint` when ``rtg`` or ``ctl_port`` is
given); :class:`RouteManager` is a small route manager serving one table, for
tests, the RIC-lite and local development.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xtrust.errors import XTrustError
from xtrust.log import get_logger
from xtrust.ric.rmr.routes import RouteTable, RouteTableError, RouteTableParser, TableResult
from xtrust.ric.rmr.wire import RMRRM_REQ_TABLE, RMRRM_TABLE_DATA, RMRRM_TABLE_STATE, Message

if TYPE_CHECKING:
    from xtrust.ric.rmr.endpoint import Endpoint

__all__ = ["RouteManager", "RouteTableCollector", "TableAck", "split_table"]

log = get_logger("ric.rmr")

DEFAULT_CTL_PORT = 4561


class RouteTableCollector:
    """Receives route tables for an endpoint and acknowledges them (librmr's rtc thread).

    ``rtg`` is ``host:port`` of a route manager to request tables from, or a
    bare port to listen on for pushed tables (then ``ctl_port`` is ignored).
    ``ctl_port`` is the control port (default 4561; 0 picks a free one).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        rtg: str | None = None,
        ctl_port: int | None = None,
        host: str = "0.0.0.0",
        request_interval: float = 1.0,
    ):
        self.endpoint = endpoint
        self.rtg: str | None = None
        port = DEFAULT_CTL_PORT if ctl_port is None else ctl_port
        if rtg is not None:
            rtg = rtg.strip()
            if rtg.isdigit():  # push mode: listen there, never request
                port = int(rtg)
            elif rtg.startswith("tcp:") and rtg[4:].isdigit():
                port = int(rtg[4:])
            else:
                from xtrust.ric.rmr.endpoint import parse_target

                parse_target(rtg)
                self.rtg = rtg
        self.ctl_port = port
        self.host = host
        self.request_interval = request_interval
        self.tables = 0  #: tables (and updates) installed
        self.refused = 0  #: tables refused
        self.have_update = False  #: table data seen (requests stop)
        self._ctl: Endpoint | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._parser: RouteTableParser | None = None
        self.installed = asyncio.Event()

    @property
    def control(self) -> Endpoint:
        """The private control endpoint (its ``port`` is the control port in use)."""
        assert self._ctl is not None
        return self._ctl

    async def start(self) -> None:
        """Open the control endpoint and start collecting (and requesting) tables."""
        from xtrust.ric.rmr.endpoint import Endpoint

        ep = self.endpoint
        self._ctl = Endpoint(
            self.ctl_port,
            host=self.host,
            name=ep.name.rpartition(":")[0] or None,
            use_env=False,
            health=False,
            queue_size=1024,
        )
        await self._ctl.start()
        self._parser = RouteTableParser(ep.me, ep.routes)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run()))
        if self.rtg is not None:
            self._tasks.append(loop.create_task(self._request()))
        log.info(
            "rmr: route table collector on port %s (route manager %s)",
            self._ctl.port,
            self.rtg or "pushes",
        )

    async def close(self) -> None:
        """Stop the collector and its control endpoint."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._ctl is not None:
            await self._ctl.close()

    async def _request(self) -> None:
        assert self._ctl is not None and self.rtg is not None
        while not self.have_update:
            payload = f"{self.endpoint.name} ts={int(time.time())}\n".encode() + b"\0"
            try:
                await self._ctl.send(Message(RMRRM_REQ_TABLE, payload, 0), to=self.rtg)
                log.debug("rmr: requested a route table from %s", self.rtg)
            except XTrustError as exc:  # SendError and bad addresses
                log.info("rmr: route table request to %s failed: %s", self.rtg, exc)
            await asyncio.sleep(self.request_interval)

    async def _run(self) -> None:
        assert self._ctl is not None and self._parser is not None
        async for msg in self._ctl.receive():
            if msg.mtype != RMRRM_TABLE_DATA:
                log.warning("rmr: control port got message type %d; ignored", msg.mtype)
                continue
            self.have_update = True
            for result in self.feed(msg.payload):
                try:
                    await self._ctl.rts(
                        msg, payload=result.ack_payload(), mtype=RMRRM_TABLE_STATE, sub_id=-1
                    )
                except XTrustError as exc:
                    log.warning("rmr: cannot acknowledge table %s: %s", result.table_id, exc)

    def feed(self, payload: bytes) -> list[TableResult]:
        """Apply the records of one type-20 payload; the sections it closed."""
        parser = self._parser
        assert parser is not None
        text = payload.split(b"\0", 1)[0].decode("utf-8", "replace")
        results: list[TableResult] = []
        for record in text.replace("\r", "\n").split("\n"):
            if parser.in_progress is None:
                parser.current = self.endpoint.routes
            try:
                done = parser.feed(record)
            except RouteTableError as exc:
                log.warning("rmr: bad route table record %r: %s", record, exc)
                refused = parser.abandon(f"bad record: {exc}")
                done = [refused] if refused is not None else []
            for result in done:
                if result.ok and result.table is not None:
                    self.endpoint.routes = result.table
                    self.tables += 1
                    self.installed.set()
                    log.info(
                        "rmr: installed %s table %s (%d entries, %d meids)",
                        result.kind,
                        result.table_id,
                        len(result.table),
                        len(result.table.meids),
                    )
                else:
                    self.refused += 1
                    log.warning(
                        "rmr: refused %s table %s: %s", result.kind, result.table_id, result.reason
                    )
                results.append(result)
        return results


@dataclass(frozen=True, slots=True)
class TableAck:
    """A type-22 table state message received by a route manager."""

    ok: bool
    table_id: str
    reason: str
    src: str

    @classmethod
    def parse(cls, payload: bytes, src: str = "") -> TableAck:
        """Parse ``OK <id> ...`` / ``ERR <id> <reason>``."""
        text = payload.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
        state, _, rest = text.partition(" ")
        table_id, _, reason = rest.strip().partition(" ")
        return cls(state == "OK", table_id, reason.strip(), src)


def split_table(text: str, limit: int = 4096) -> list[bytes]:
    """Pack newline-terminated records into payloads of at most ``limit`` bytes.

    A record is never split (a longer record gets a payload of its own).
    """
    chunks: list[bytes] = []
    cur = bytearray()
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        rec = line.encode() + b"\n"
        if cur and len(cur) + len(rec) > limit:
            chunks.append(bytes(cur))
            cur.clear()
        cur += rec
    if cur:
        chunks.append(bytes(cur))
    return chunks


class RouteManager:
    """A minimal route manager serving one table over RMR.

    Answers type-21 requests by returning the table (type 20, ``chunk_size``
    bytes per message) on the requester's connection, and :meth:`push` sends
    it to an application's control port. Acknowledgements (type 22) land in
    :attr:`acks`.
    """

    def __init__(
        self,
        table: str | RouteTable,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        chunk_size: int = 4096,
    ):
        from xtrust.ric.rmr.endpoint import Endpoint

        self.table = table.to_text() if isinstance(table, RouteTable) else table
        self.chunk_size = chunk_size
        self.endpoint = Endpoint(port, host=host, name="rtmgr", use_env=False, health=True)
        self.acks: asyncio.Queue[TableAck] = asyncio.Queue()
        self.requests = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int | None:
        """The port the route manager listens on."""
        return self.endpoint.port

    async def __aenter__(self) -> RouteManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen and serve table requests."""
        await self.endpoint.start()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop serving and close the endpoint."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.endpoint.close()

    async def _run(self) -> None:
        async for msg in self.endpoint.receive():
            if msg.mtype == RMRRM_REQ_TABLE:
                self.requests += 1
                for chunk in split_table(self.table, self.chunk_size):
                    await self.endpoint.rts(msg, payload=chunk, mtype=RMRRM_TABLE_DATA, sub_id=-1)
            elif msg.mtype == RMRRM_TABLE_STATE:
                await self.acks.put(TableAck.parse(msg.payload, msg.src))
            else:
                log.info("rmr: route manager ignores message type %d", msg.mtype)

    async def push(self, target: str, *, wait: float = 1.0) -> int:
        """Send the table to ``target`` (an application's control ``host:port``)."""
        chunks = split_table(self.table, self.chunk_size)
        for chunk in chunks:
            await self.endpoint.send(Message(RMRRM_TABLE_DATA, chunk), to=target, wait=wait)
        return len(chunks)
