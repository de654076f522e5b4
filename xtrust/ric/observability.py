"""Health and metrics of an xApp over HTTP: ``/ric/v1/health/*``, ``/metrics``.

:class:`XAppMetrics` holds the Prometheus metrics of one app instance in a
registry of its own (so several apps run in one process, as tests do);
:class:`HttpServer` serves them with the health probes O-RAN SC uses:

=============================== ===============================================
``GET /ric/v1/health/alive``    200 while the app runs (liveness probe)
``GET /ric/v1/health/ready``    200 when ready, 503 with the reasons otherwise
``GET /metrics``                Prometheus text format of the app's registry
``GET /ric/v1/config``          the descriptor in force (as xapp-frame serves it)
=============================== ===============================================

Other parts add routes (the subscription manager's REST notification) with
:meth:`HttpServer.add_route` before :meth:`HttpServer.start`.

Metric names (all with the ``xapp_`` prefix and the ``xapp`` label set to
the app name; counters end in ``_total``):

* ``rmr_received_total{mtype}``, ``rmr_sent_total{mtype}``,
  ``rmr_send_errors_total{mtype}``, ``dispatch_dropped_total``,
  ``handler_errors_total{mtype}``
* ``e2_indications_total{meid}``, ``e2_indication_errors_total{reason}``
* ``e2_subscriptions{state}`` (gauge), ``e2_subscription_attempts_total{outcome}``
* ``ric_control_total{outcome}`` (ack, failure, timeout, send_error)
* ``a1_policy_requests_total{operation,status}``, ``a1_policies{policy_type_id}`` (gauge)
* ``config_reloads_total{result}`` (applied, rejected), ``registered`` (gauge)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from xtrust.errors import InputError
from xtrust.log import get_logger

__all__ = ["HttpServer", "XAppMetrics"]

log = get_logger("ric.xapp")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class XAppMetrics:
    """The Prometheus metrics of one xApp instance (a registry of its own).

    Apps add their own metrics to :attr:`registry`::

        self.metrics.counter("alerts_total", "alerts raised", ["kind"]).labels("dos").inc()
    """

    def __init__(self, app: str, *, process: bool = True):
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        if process:
            ProcessCollector(registry=self.registry)
        r = self.registry
        lbl = ["xapp"]
        self.rx = Counter("xapp_rmr_received", "RMR messages received", [*lbl, "mtype"], registry=r)
        self.tx = Counter("xapp_rmr_sent", "RMR messages sent", [*lbl, "mtype"], registry=r)
        self.tx_errors = Counter(
            "xapp_rmr_send_errors", "RMR messages that could not be sent", [*lbl, "mtype"],
            registry=r,
        )  # fmt: skip
        self.dropped = Counter(
            "xapp_dispatch_dropped", "messages dropped: the handler queue was full", lbl,
            registry=r,
        )  # fmt: skip
        self.handler_errors = Counter(
            "xapp_handler_errors", "exceptions raised by message handlers", [*lbl, "mtype"],
            registry=r,
        )  # fmt: skip
        self.indications = Counter(
            "xapp_e2_indications", "E2 indications delivered", [*lbl, "meid"], registry=r
        )
        self.indication_errors = Counter(
            "xapp_e2_indication_errors", "E2 indications not delivered", [*lbl, "reason"],
            registry=r,
        )  # fmt: skip
        self.subscriptions = Gauge(
            "xapp_e2_subscriptions", "E2 subscriptions by state", [*lbl, "state"], registry=r
        )
        self.subscription_attempts = Counter(
            "xapp_e2_subscription_attempts", "E2 subscription attempts by outcome",
            [*lbl, "outcome"], registry=r,
        )  # fmt: skip
        self.controls = Counter(
            "xapp_ric_control", "RIC control requests by outcome", [*lbl, "outcome"], registry=r
        )
        self.a1_requests = Counter(
            "xapp_a1_policy_requests", "A1 policy requests by operation and reply status",
            [*lbl, "operation", "status"], registry=r,
        )  # fmt: skip
        self.a1_policies = Gauge(
            "xapp_a1_policies", "A1 policy instances in force", [*lbl, "policy_type_id"],
            registry=r,
        )  # fmt: skip
        self.config_reloads = Counter(
            "xapp_config_reloads", "descriptor changes by result", [*lbl, "result"], registry=r
        )
        self.registered = Gauge(
            "xapp_registered", "1 while registered with appmgr", lbl, registry=r
        )

    def counter(self, name: str, doc: str, labels: list[str] | None = None) -> Counter:
        """A new counter of the app in its registry."""
        return Counter(name, doc, labels or [], registry=self.registry)

    def gauge(self, name: str, doc: str, labels: list[str] | None = None) -> Gauge:
        """A new gauge of the app in its registry."""
        return Gauge(name, doc, labels or [], registry=self.registry)

    def histogram(self, name: str, doc: str, buckets: tuple[float, ...],
                  labels: list[str] | None = None) -> Histogram:  # fmt: skip
        """A new histogram of the app in its registry."""
        return Histogram(name, doc, labels or [], buckets=buckets, registry=self.registry)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


ReadyCheck = Callable[[], list[str]]


class HttpServer:
    """The app's HTTP server: health probes, ``/metrics``, ``/ric/v1/config`` and extras.

    ``ready`` returns the reasons the app is not ready (empty list: ready).
    ``port`` 0 picks a free port (see :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        metrics: XAppMetrics,
        ready: ReadyCheck,
        *,
        host: str = "0.0.0.0",
        port: int = 8080,
        config: Callable[[], str] | None = None,
        shutdown_timeout: float = 0.1,
    ):
        if not 0 <= port < 65536:
            raise InputError(f"HTTP port {port} is out of range (0..65535)")
        self.metrics = metrics
        self.host = host
        self.listen_port = port
        self.port: int | None = None
        self._ready = ready
        self._config = config
        self._shutdown_timeout = shutdown_timeout
        self._routes: list[web.RouteDef] = []
        self._runner: web.AppRunner | None = None
        self.alive = True

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``handler`` at ``method path`` (call before :meth:`start`)."""
        if self._runner is not None:
            raise InputError("add routes before the HTTP server starts")
        self._routes.append(web.route(method, path, handler))

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/ric/v1/health/alive", self._alive),
                web.get("/ric/v1/health/ready", self._ready_handler),
                web.get("/metrics", self._metrics),
                web.get("/ric/v1/config", self._config_handler),
                *self._routes,
            ]
        )
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=self._shutdown_timeout
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.listen_port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise InputError(
                f"cannot serve HTTP on {self.host}:{self.listen_port}: {exc.strerror or exc}"
            ) from None
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.listen_port
        log.info("xapp: HTTP on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- handlers ----------------------------------------------------------------------------
    async def _alive(self, _request: web.Request) -> web.Response:
        if not self.alive:
            return web.json_response({"status": "stopping"}, status=503)
        return web.json_response({"status": "alive"})

    async def _ready_handler(self, _request: web.Request) -> web.Response:
        reasons = self._ready()
        if reasons:
            return web.json_response({"status": "not ready", "reasons": reasons}, status=503)
        return web.json_response({"status": "ready"})

    async def _metrics(self, _request: web.Request) -> web.Response:
        resp = web.Response(body=self.metrics.render())
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def _config_handler(self, _request: web.Request) -> web.Response:
        text = self._config() if self._config is not None else "{}"
        return web.Response(text=text, content_type="application/json")
