"""RIC-lite: a small near-RT RIC in one asyncio process.

E2 termination (E2 nodes over SCTP or TCP), subscription manager, control
path with an admission hook, route manager, A1 mediator (A1-P v2 REST), an
appmgr-compatible registration API, the RNIB in SDL, health and Prometheus
metrics. xApps talk to it over RMR exactly as they would to an O-RAN SC RIC
(the conventions are in docs/ric-lite.md)::

    async with RicLite(RicLiteConfig(e2_port=0, rmr_port=0, http_port=0)) as ric:
        print(ric.e2_port, ric.rmr_port, ric.http_port)
        await ric.wait_closed()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from xtrust.errors import InputError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.asn1.common import by_oid
from xtrust.ric.rmr import Endpoint, Message, RouteManager
from xtrust.ric.sdl import Sdl, open_sdl

from .a1med import A1Mediator
from .config import RicLiteConfig
from .e2term import E2Termination, NodeSession
from .hooks import (
    AllowAllControl,
    ControlAdmission,
    ControlRequestInfo,
    Decision,
    RoutingPolicy,
    SenderInfo,
    SubscriptionAdmission,
)
from .outbox import Outboxes
from .registry import Registry, TableRoutingPolicy
from .submgr import SubscriptionManager
from .submgr_rest import SubmgrRest

__all__ = ["RicLite"]

log = get_logger("ric.platform")


def known_oid(oid: str) -> bool:
    return by_oid(oid) is not None


class _Metrics(Collector):
    def __init__(self, ric: RicLite):
        self.ric = ric

    def collect(self) -> Iterator[Any]:
        groups: list[tuple[str, dict[str, int]]] = [
            ("e2t", self.ric.e2t.counters),
            ("submgr", self.ric.submgr.counters),
            ("a1", self.ric.a1.counters),
            ("rmr_in", self.ric.counters),
        ]
        fam = CounterMetricFamily(
            "xtrust_ric_events",
            "RIC-lite events by component and kind",
            labels=["component", "event"],
        )
        for component, counters in groups:
            for event, n in counters.items():
                fam.add_metric([component, event], n)
        yield fam
        nodes = GaugeMetricFamily("xtrust_ric_e2_nodes_connected", "E2 nodes connected")
        nodes.add_metric([], sum(1 for n in self.ric.e2t.nodes.values() if n.connected))
        yield nodes
        subs = GaugeMetricFamily("xtrust_ric_subscriptions", "E2 subscriptions", labels=["state"])
        states: dict[str, int] = {}
        for s in self.ric.submgr.subs.values():
            states[s.state] = states.get(s.state, 0) + 1
        for state, n in states.items():
            subs.add_metric([state], n)
        yield subs
        drops = CounterMetricFamily(
            "xtrust_ric_xapp_dropped", "messages dropped toward slow xApps", labels=["endpoint"]
        )
        for target, st in self.ric.out.stats().items():
            drops.add_metric([target], st["dropped"])
        yield drops


class RicLite:
    def __init__(
        self,
        config: RicLiteConfig | None = None,
        *,
        routing: RoutingPolicy | None = None,
        admission: ControlAdmission | None = None,
        subscription_admission: SubscriptionAdmission | None = None,
        sdl: Sdl | None = None,
    ):
        self.config = config or RicLiteConfig()
        self.config.validate()
        self.registry = Registry()
        self.routing: RoutingPolicy = routing or TableRoutingPolicy(
            self.registry, self.config.require_registration
        )
        self.sdl = sdl
        self.ep = Endpoint(
            self.config.rmr_port,
            host=self.config.host,
            name="ric-lite",
            use_env=False,
            max_size=self.config.max_pdu,
            queue_size=65536,
        )
        self.out = Outboxes(self.ep, self.config.xapp_queue, self._xapp_gone)
        self.e2t = E2Termination(
            plmn=self.config.plmn,
            ric_id=self.config.ric_id,
            known_oids=known_oid,
            node_pdu_rate=self.config.node_pdu_rate,
            on_indication=self._on_indication,
            on_outcome=self._on_outcome,
            on_node_up=self._node_up,
            on_node_down=self._node_down,
        )
        self.submgr = SubscriptionManager(
            self.e2t,
            self.out,
            requestor_id=self.config.requestor_id,
            node_timeout=self.config.node_timeout,
            admission=admission or AllowAllControl(),
            subscription_admission=subscription_admission,
        )
        self.submgr.sender_at = self.registry.sender_at
        self.submgr.on_control_event = self._control_event
        #: in-process listeners of control reports (the JSON of XTRUST_CONTROL_REPORT)
        self.control_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.a1 = A1Mediator(self.registry, self.out)
        self.submgr_rest = SubmgrRest(self.submgr)
        self.rtmgr: RouteManager | None = None
        self.counters: dict[str, int] = {}
        self.e2_port = self.rmr_port = self.http_port = 0
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self._rnib: Any = None
        self.started_at = 0.0
        self._dispatch: dict[int, Callable[[Message, SenderInfo], Any]] = {
            mtypes.RIC_SUB_REQ: self.submgr.on_subscribe,
            mtypes.RIC_SUB_DEL_REQ: self.submgr.on_unsubscribe,
            mtypes.RIC_CONTROL_REQ: self.submgr.on_control,
            mtypes.A1_POLICY_RESP: self.a1.on_response,
            mtypes.A1_POLICY_QUERY: self.a1.on_query,
        }

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    @property
    def rmr_address(self) -> str:
        return f"{self.config.host}:{self.rmr_port}"

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> RicLite:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> RicLite:
        cfg = self.config
        if self.sdl is None:
            self.sdl = open_sdl(cfg.sdl_url)
        from xtrust.ric.rnib import RnibWriter

        self._rnib = RnibWriter(self.sdl)
        await self.ep.start()
        self.rmr_port = self.ep.port or 0
        self.e2_port = await self.e2t.start(cfg.host, cfg.e2_port, cfg.e2_transport, cfg.max_pdu)
        if cfg.rtmgr_port is not None:
            self.rtmgr = RouteManager(
                self.registry.route_table(self.rmr_address), port=cfg.rtmgr_port, host=cfg.host
            )
            await self.rtmgr.start()
        app = web.Application(client_max_size=1 << 20)
        app.add_routes(self.a1.routes())
        app.add_routes(self.submgr_rest.routes())
        app.add_routes(
            [
                web.post("/ric/v1/register", self._http_register),
                web.post("/ric/v1/deregister", self._http_deregister),
                web.get("/ric/v1/xapps", self._http_xapps),
                web.get("/ric/v1/nodes", self._http_nodes),
                web.get("/ric/v1/health/alive", self._http_alive),
                web.get("/ric/v1/health/ready", self._http_ready),
                web.get("/metrics", self._http_metrics),
            ]
        )
        self._metrics = CollectorRegistry()
        self._metrics.register(_Metrics(self))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.http_port)
        await site.start()
        self.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks.append(asyncio.get_running_loop().create_task(self._rmr_loop()))
        self.started_at = time.time()
        log.info(
            "RIC-lite up: E2 %s:%d (%s), RMR %s:%d, HTTP %s:%d, route manager %s",
            cfg.host,
            self.e2_port,
            cfg.e2_transport,
            cfg.host,
            self.rmr_port,
            cfg.host,
            self.http_port,
            self.rtmgr.port if self.rtmgr else "off",
        )
        return self

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.e2t.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.submgr_rest.close()
        if self.rtmgr is not None:
            await self.rtmgr.close()
        await self.out.close()
        await self.ep.close()
        if self.sdl is not None:
            await self.sdl.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------ RMR

    async def _rmr_loop(self) -> None:
        dispatch = self._dispatch
        async for msg in self.ep.receive():
            sender = self.registry.sender_of(msg)
            decision = self.routing.allow(sender, msg.mtype)
            if not decision.allowed:
                self.count("dropped_by_policy")
                log.info(
                    "dropped mtype %d from %s: %s", msg.mtype, sender.endpoint, decision.reason
                )
                continue
            handler = dispatch.get(msg.mtype)
            if handler is None:
                if not self._relay(msg, sender):
                    self.count("unexpected_mtype")
                continue
            self.count(f"mtype_{msg.mtype}")
            try:
                await handler(msg, sender)
            except XTrustError as exc:
                self.count("handler_errors")
                log.warning("cannot handle mtype %d from %s: %s", msg.mtype, sender.endpoint, exc)
            except Exception:
                self.count("handler_errors")
                log.exception("bug handling mtype %d from %s", msg.mtype, sender.endpoint)

    def _relay(self, msg: Message, sender: SenderInfo) -> bool:
        """Forward an xApp-to-xApp message (one the RIC does not handle itself) to
        every registered xApp that declares its type in ``rxMessages``: what
        rtmgr's route tables do on O-RAN SC, for xApps that route everything to
        the RIC (``ric=``). The routing policy above has already allowed it."""
        receivers = [
            r
            for r in self.registry.xapps.values()
            if msg.mtype in r.rx and r.name != sender.xapp and r.address != sender.endpoint
        ]
        for record in receivers:
            self.out.put(
                record.rmr_endpoint,
                Message(msg.mtype, msg.payload, sub_id=msg.sub_id, meid=msg.meid),
            )
            self.count("relayed")
        return bool(receivers)

    def _control_event(self, info: ControlRequestInfo, decision: Decision) -> None:
        """Report a RIC Control request (XTRUST_CONTROL_REPORT) to the xApps that
        declare that message type and to in-process listeners."""
        doc = {
            "time": time.time(),
            "sender": info.sender.xapp,
            "endpoint": info.sender.endpoint,
            "node": info.ran_name,
            "ran_function_id": info.ran_function_id,
            "oid": info.ran_function_oid,
            "allowed": decision.allowed,
            "reason": decision.reason,
            "header": info.header.hex(),
            "message": info.message.hex(),
        }
        for listener in self.control_listeners:
            listener(doc)
        receivers = [
            r for r in self.registry.xapps.values() if mtypes.XTRUST_CONTROL_REPORT in r.rx
        ]
        if receivers:
            payload = json.dumps(doc, separators=(",", ":")).encode()
            for record in receivers:
                self.out.put(
                    record.rmr_endpoint,
                    Message(mtypes.XTRUST_CONTROL_REPORT, payload, meid=info.ran_name),
                )
            self.count("control_reports")

    def _xapp_gone(self, endpoint: str) -> None:
        self.submgr.forget_endpoint(endpoint)

    # ------------------------------------------------------------ E2 events

    def _on_indication(self, node: NodeSession, pdu: bytes, summary: Any) -> None:
        self.submgr.on_indication(node, pdu, summary)

    async def _on_outcome(self, node: NodeSession, pdu: bytes, summary: Any) -> None:
        await self.submgr.on_outcome(node, pdu, summary)

    async def _node_up(self, node: NodeSession) -> None:
        await self._save_node(node, connected=True)
        await self.submgr.on_node_up(node)

    async def _node_down(self, node: NodeSession) -> None:
        await self._save_node(node, connected=False)
        await self.submgr.on_node_down(node)

    async def _save_node(self, node: NodeSession, connected: bool) -> None:
        from xtrust.ric import rnib

        info = rnib.NodebInfo(
            ran_name=node.ran_name,
            connection_status=rnib.ConnectionStatus.CONNECTED
            if connected
            else rnib.ConnectionStatus.DISCONNECTED,
            global_nb_id=rnib.GlobalNbId(plmn_id=node.plmn_id, nb_id=node.nb_id),
            node_type=rnib.Node.GNB if node.ran_name.startswith("gnb") else rnib.Node.ENB,
            associated_e2t_instance_address=f"{self.config.host}:{self.e2_port}",
            setup_from_network=True,
        )
        if node.conn is not None:
            info.ip, info.port = str(node.conn.peer[0]), int(node.conn.peer[1])
        if info.node_type == rnib.Node.GNB:
            info.gnb.ran_functions.extend(
                rnib.RanFunction(
                    ran_function_id=f.id,
                    ran_function_definition=f.definition.hex(),
                    ran_function_revision=f.revision,
                    ran_function_oid=f.oid,
                )
                for f in node.functions.values()
            )
        try:
            await self._rnib.save_nodeb(info)
        except XTrustError as exc:
            log.warning("cannot write RNIB entry of %s: %s", node.ran_name, exc)

    # ------------------------------------------------------------ HTTP

    async def _http_register(self, request: web.Request) -> web.Response:
        try:
            record = self.registry.register(await request.json())
        except (InputError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        await self._publish_routes(record.name)
        return web.json_response(record.to_json(), status=201)

    async def _http_deregister(self, request: web.Request) -> web.Response:
        try:
            doc = await request.json()
            name = doc.get("appInstanceName") or doc.get("appName")
        except (ValueError, AttributeError):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        record = self.registry.deregister(str(name))
        if record is None:
            return web.json_response({"error": f"no xApp {name!r}"}, status=404)
        self.submgr.forget_endpoint(record.address)
        await self._publish_routes(None)
        return web.Response(status=204)

    async def _publish_routes(self, new: str | None) -> None:
        if self.rtmgr is None:
            return
        self.rtmgr.table = self.registry.route_table(self.rmr_address)
        for record in self.registry.xapps.values():
            if record.route_port is None:
                continue
            host = record.rmr_endpoint.rpartition(":")[0]
            try:
                await self.rtmgr.push(f"{host}:{record.route_port}", wait=0.2)
            except XTrustError as exc:
                log.info("cannot push routes to %s: %s", record.name, exc)

    async def _http_xapps(self, request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in self.registry.xapps.values()])

    async def _http_nodes(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "ranName": n.ran_name,
                    "connected": n.connected,
                    "ranFunctions": [
                        {"id": f.id, "oid": f.oid, "revision": f.revision}
                        for f in n.functions.values()
                    ],
                    "counters": n.counters,
                }
                for n in self.e2t.nodes.values()
            ]
        )

    async def _http_alive(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _http_ready(self, request: web.Request) -> web.Response:
        ready = self.ep.port is not None and not self.ep.closed and self.e2t.server is not None
        return web.json_response(
            {"status": "ready" if ready else "not ready"}, status=200 if ready else 503
        )

    async def _http_metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._metrics),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )


def load_config(path: str) -> RicLiteConfig:
    """A RIC-lite configuration from a YAML or JSON file."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML/JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: the configuration must be a mapping")
    return RicLiteConfig.from_dict(doc, source=path)
