"""E2 termination of RIC-lite: E2 nodes connect here.

One :class:`NodeSession` per connected E2 node. The termination answers E2
Setup (accepting the RAN functions whose service model it knows, by OID),
RIC Service Update, E2 Node Configuration Update and Reset; hands
indications, subscription and control outcomes to the subscription manager
and the control path; answers a PDU it cannot decode with an Error
Indication and keeps the connection up; and throttles a node that sends
faster than ``node_pdu_rate`` (by reading slower: TCP/SCTP flow control does
the rest, nothing is dropped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import DecodeError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import e2
from xtrust.ric.asn1 import e2ap_fast
from xtrust.ric.asn1.common import bits_to_int, plmn_to_mcc_mnc
from xtrust.ric.asn1.e2ap import decode_pdu
from xtrust.ric.asn1.e2ap_messages import (
    Cause,
    E2nodeConfigurationUpdate,
    E2nodeConfigurationUpdateAcknowledge,
    E2SetupFailure,
    E2SetupRequest,
    E2SetupResponse,
    ErrorIndication,
    RanFunction,
    ResetRequest,
    ResetResponse,
    RicServiceUpdate,
    RicServiceUpdateAcknowledge,
    error_indication_for,
    global_ric_id,
    parse,
    plmn_identity,
)

__all__ = ["E2Termination", "NodeSession", "ran_name_of"]

log = get_logger("ric.platform.e2t")

_TYPE_PREFIX = {"gNB": "gnb", "en-gNB": "en_gnb", "ng-eNB": "ng_enb", "eNB": "enb"}


def ran_name_of(global_e2node_id: Any) -> tuple[str, str, str]:
    """(RAN name, PLMN id hex, NB id hex) of a GlobalE2node-ID, E2 Manager style:
    ``gnb_<mcc>_<mnc>_<gnb id as 8 hex digits>``."""
    kind, value = global_e2node_id
    prefix = _TYPE_PREFIX.get(kind)
    if prefix is None:
        raise DecodeError(f"unsupported GlobalE2node-ID alternative {kind!r}")
    if kind == "gNB":
        g = value["global-gNB-ID"]
        plmn, nb = g["plmn-id"], g["gnb-id"][1]
    elif kind == "en-gNB":
        g = value["global-en-gNB-ID"]
        plmn, nb = g["pLMN-Identity"], g["gNB-ID"][1]
    elif kind == "ng-eNB":
        g = value["global-ng-eNB-ID"]
        plmn, nb = g["plmn-id"], g["enb-id"][1]
    else:
        g = value["global-eNB-ID"]
        plmn, nb = g["pLMN-Identity"], g["eNB-ID"][1]
    mcc, mnc = plmn_to_mcc_mnc(plmn)
    nb_id = bits_to_int(nb)
    return f"{prefix}_{mcc}_{mnc}_{nb_id:08x}", plmn.hex(), f"{nb_id:x}"


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``burst``; ``take`` waits for one."""

    __slots__ = ("burst", "rate", "stamp", "tokens", "waited")

    def __init__(self, rate: float, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate / 10, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.waited = 0

    async def take(self) -> bool:
        """Take one token, waiting for it if needed; True when it had to wait."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            self.waited += 1
            await asyncio.sleep((1.0 - self.tokens) / self.rate)
            self.tokens = 0.0
            self.stamp = time.monotonic()
            return True
        self.tokens -= 1.0
        return False


@dataclass
class NodeSession:
    """A connected (or once connected) E2 node."""

    ran_name: str
    plmn_id: str
    nb_id: str
    global_e2node_id: Any
    functions: dict[int, RanFunction]
    conn: e2.E2Connection | None
    connected: bool = True
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    def function_oid(self, ran_function_id: int) -> str | None:
        f = self.functions.get(ran_function_id)
        return f.oid if f else None

    async def send(self, pdu: bytes) -> None:
        if self.conn is None or not self.connected:
            raise XTrustError(f"E2 node {self.ran_name} is not connected")
        await self.conn.send(pdu)
        self.count("pdus_out")


#: Called with (session, pdu bytes, routing summary) for PDUs the termination
#: does not answer itself.
PduHandler = Callable[[NodeSession, bytes, e2ap_fast.PduSummary], Awaitable[None] | None]


class E2Termination:
    """Accepts E2 nodes and runs the node-side procedures."""

    def __init__(
        self,
        *,
        plmn: str,
        ric_id: int,
        known_oids: Callable[[str], bool],
        node_pdu_rate: float,
        on_indication: PduHandler,
        on_outcome: PduHandler,
        on_node_up: Callable[[NodeSession], Awaitable[None]],
        on_node_down: Callable[[NodeSession], Awaitable[None]],
        on_subscription_delete_required: PduHandler | None = None,
    ):
        mcc, _, mnc = plmn.partition("-")
        self.global_ric_id = global_ric_id(plmn_identity(mcc, mnc), ric_id)
        self.known_oids = known_oids
        self.node_pdu_rate = node_pdu_rate
        self.on_indication = on_indication
        self.on_outcome = on_outcome
        self.on_node_up = on_node_up
        self.on_node_down = on_node_down
        self.on_subscription_delete_required = on_subscription_delete_required
        self.nodes: dict[str, NodeSession] = {}
        self.counters: dict[str, int] = {}
        self.server: e2.E2Server | None = None

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    async def start(self, host: str, port: int, transport: str, max_pdu: int) -> int:
        self.server = await e2.serve(
            self.handle,
            host,
            port,
            transport=transport,  # type: ignore[arg-type]
            max_pdu=max_pdu,
            on_malformed=lambda prefix, reason: error_indication_for(prefix),
        )
        return self.server.port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    # ------------------------------------------------------------ per connection

    async def handle(self, conn: e2.E2Connection) -> None:
        session: NodeSession | None = None
        bucket = TokenBucket(self.node_pdu_rate)
        try:
            async for pdu in conn:
                if await bucket.take():
                    self.count("throttled")
                    if session is not None:
                        session.count("throttled")
                try:
                    session = await self._on_pdu(conn, session, pdu) or session
                except DecodeError as exc:
                    self.count("malformed")
                    log.warning("malformed PDU from %s: %s", conn.peer, exc)
                    reply = error_indication_for(pdu)
                    if reply is None:
                        reply = ErrorIndication(
                            cause=Cause("protocol", "transfer-syntax-error")
                        ).encode()
                    await conn.send(reply)
        except e2.E2ConnectionClosed:
            pass
        finally:
            if session is not None and self.nodes.get(session.ran_name) is session:
                session.connected = False
                session.conn = None
                log.info("E2 node %s disconnected", session.ran_name)
                await self.on_node_down(session)

    async def _on_pdu(
        self, conn: e2.E2Connection, session: NodeSession | None, pdu: bytes
    ) -> NodeSession | None:
        summary = e2ap_fast.peek(pdu)
        if summary is None:
            # not for the fast path: the generic decoder either decodes it or says why
            kind, value = decode_pdu(pdu)
            summary = e2ap_fast.PduSummary(
                kind, value["procedureCode"], value["criticality"], None, None, None
            )
        code, kind = summary.procedure_code, summary.kind
        if session is not None:
            session.count("pdus_in")
        if code == 5 and kind == "initiatingMessage":  # RIC Indication: the hot path
            if session is None:
                raise DecodeError("RIC Indication before E2 Setup")
            result = self.on_indication(session, pdu, summary)
            if result is not None:
                await result
            return None
        if code == 1 and kind == "initiatingMessage":
            return await self._setup(conn, session, pdu)
        if session is None:
            await conn.send(
                ErrorIndication(
                    transaction_id=summary.transaction_id,
                    cause=Cause("protocol", "message-not-compatible-with-receiver-state"),
                ).encode()
            )
            self.count("before_setup")
            return None
        if code in (4, 8, 9) and kind != "initiatingMessage":
            result = self.on_outcome(session, pdu, summary)
            if result is not None:
                await result
        elif code == 2:
            msg = parse(pdu)
            assert isinstance(msg, ErrorIndication)
            session.count("error_indications")
            log.warning("E2 node %s sent an Error Indication: %s", session.ran_name, msg.cause)
        elif code == 3 and kind == "initiatingMessage":
            req = parse(pdu)
            assert isinstance(req, ResetRequest)
            await conn.send(ResetResponse(req.transaction_id).encode())
            await self.on_node_down(session)
            await self.on_node_up(session)
        elif code == 7 and kind == "initiatingMessage":
            await self._service_update(conn, session, pdu)
        elif code == 10 and kind == "initiatingMessage":
            upd = parse(pdu)
            assert isinstance(upd, E2nodeConfigurationUpdate)
            await conn.send(
                E2nodeConfigurationUpdateAcknowledge(
                    upd.transaction_id,
                    addition_acks=_acks(upd.additions),
                    update_acks=_acks(upd.updates),
                    removal_acks=_acks(upd.removals),
                ).encode()
            )
        elif code == 12 and self.on_subscription_delete_required is not None:
            result = self.on_subscription_delete_required(session, pdu, summary)
            if result is not None:
                await result
        else:
            self.count("unexpected")
            await conn.send(
                ErrorIndication(
                    cause=Cause("protocol", "message-not-compatible-with-receiver-state"),
                    criticality_diagnostics={"procedureCode": code},
                ).encode()
            )
        return None

    async def _setup(
        self, conn: e2.E2Connection, session: NodeSession | None, pdu: bytes
    ) -> NodeSession | None:
        req = parse(pdu)
        assert isinstance(req, E2SetupRequest)
        try:
            ran_name, plmn_id, nb_id = ran_name_of(req.global_e2node_id)
        except (DecodeError, KeyError, TypeError) as exc:
            await conn.send(
                E2SetupFailure(req.transaction_id, Cause("protocol", "semantic-error")).encode()
            )
            self.count("setup_failed")
            log.warning("E2 Setup from %s refused: %s", conn.peer, exc)
            return None
        accepted = {f.id: f for f in req.ran_functions if self.known_oids(f.oid)}
        rejected = [
            (f.id, Cause("ricService", "ran-function-not-supported"))
            for f in req.ran_functions
            if f.id not in accepted
        ]
        old = self.nodes.get(ran_name)
        if old is not None and old.connected and old.conn is not conn and old.conn is not None:
            log.warning("E2 node %s connected again: closing its old connection", ran_name)
            old.conn.abort()
        new = NodeSession(ran_name, plmn_id, nb_id, req.global_e2node_id, accepted, conn)
        if old is not None:
            new.counters = old.counters
        self.nodes[ran_name] = new
        response = E2SetupResponse(
            transaction_id=req.transaction_id,
            global_ric_id=self.global_ric_id,
            component_config_acks=_acks(req.component_configs) or [],
            accepted=[(f.id, f.revision) for f in accepted.values()] or None,
            rejected=rejected or None,
        )
        await conn.send(response.encode())
        self.count("setups")
        log.info(
            "E2 node %s set up from %s: %d RAN function(s) accepted, %d rejected",
            ran_name,
            conn.peer,
            len(accepted),
            len(rejected),
        )
        await self.on_node_up(new)
        return new

    async def _service_update(
        self, conn: e2.E2Connection, session: NodeSession, pdu: bytes
    ) -> None:
        upd = parse(pdu)
        assert isinstance(upd, RicServiceUpdate)
        accepted: list[tuple[int, int]] = []
        rejected: list[tuple[int, Cause]] = []
        for f in (upd.added or []) + (upd.modified or []):
            if self.known_oids(f.oid):
                session.functions[f.id] = f
                accepted.append((f.id, f.revision))
            else:
                rejected.append((f.id, Cause("ricService", "ran-function-not-supported")))
        for fid, _rev in upd.deleted or []:
            session.functions.pop(fid, None)
        await conn.send(
            RicServiceUpdateAcknowledge(
                upd.transaction_id, accepted=accepted or None, rejected=rejected or None
            ).encode()
        )


def _acks(items: list[Any] | None) -> list[Any] | None:
    if not items:
        return None
    return [
        {
            "e2nodeComponentInterfaceType": item["e2nodeComponentInterfaceType"],
            "e2nodeComponentID": item["e2nodeComponentID"],
            "e2nodeComponentConfigurationAck": {"updateOutcome": "success"},
        }
        for item in items
    ]
