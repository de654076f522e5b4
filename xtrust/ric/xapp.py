"""The xApp SDK: subclass :class:`XApp`, declare handlers, run.

::

    from xtrust.ric.xapp import XApp, handles, mtypes

    class KpiMon(XApp):
        async def on_start(self) -> None:
            for node in await self.rnib.list_nodebs():
                await self.subscribe_kpm(node.inventory_name, 2, ["DRB.UEThpDl"])

        async def on_indication(self, ind) -> None:
            for row in ind.message.rows():
                await self.sdl.set("kpimon", {ind.meid: repr(row).encode()})

        @handles(30000)                      # any RMR message type, by number or name
        async def on_custom(self, msg) -> None:
            await self.rts(msg, payload=b"ok")

    KpiMon().main()                          # until SIGTERM; CONFIG_FILE names the descriptor

What an :class:`XApp` does for the app:

* **RMR**: listens on the descriptor's ``rmr-data`` port; routes come from
  ``RMR_SEED_RT`` or a route manager (``RMR_RTG_SVC``, ``RMR_CTL_PORT``) as
  with librmr, or from ``ric="host:port"``, which routes every message type
  the app sends (descriptor ``txMessages`` and the SDK's own) to that
  address. Handlers run one at a time, in arrival order, in a task of their
  own, so a handler may await RIC answers (control, subscriptions).
  :meth:`XApp.send` / :meth:`XApp.rts` raise on failure; ``rmr_send`` /
  ``rmr_rts`` return a bool as in ricxappframe. Nothing retries in a busy loop.
* **Configuration**: the O-RAN SC descriptor named by ``CONFIG_FILE`` (or
  ``config=``), validated (:mod:`.descriptor`); changes are picked up while
  running and passed to :meth:`XApp.on_config_change`.
* **E2**: :meth:`XApp.subscribe` / :meth:`XApp.subscribe_kpm` (direct over
  RMR, or through submgr's REST API with ``subscriptions="rest"``), decoded
  indications to the subscription's handler or :meth:`XApp.on_indication`,
  renewal when a node reconnects (RNIB ``<ran>_CONNECTED`` events when an
  SDL is configured, or RMR ``RAN_CONNECTED`` / ``RAN_RESTARTED`` from the
  RIC), deletion at stop; :meth:`XApp.control`, :meth:`XApp.handover`,
  :meth:`XApp.release_ue`.
* **A1**: policy requests checked against the policy types' schemas and
  handed to :meth:`XApp.on_policy`, replies sent; at start a query per policy
  type re-delivers the policies in force.
* **SDL / RNIB**: :attr:`XApp.sdl` (memory, or Redis from ``DBAAS_SERVICE_HOST``
  or ``sdl=``) and :attr:`XApp.rnib`.
* **Observability**: ``/ric/v1/health/alive``, ``/ric/v1/health/ready``,
  ``/metrics`` on the descriptor's ``http`` port; logs through ``xtrust.log``.
* **appmgr**: registration when inside Kubernetes or configured (:mod:`.appmgr`).

Stopping (:meth:`XApp.stop`, SIGTERM under :meth:`XApp.run`) takes well under
a second: subscriptions are deleted with a short deadline, then everything
closes; it is safe to call twice and from a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from xtrust.errors import ConfigError, InputError, XTrustError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.a1 import A1Handler, Policy, PolicyRejected, PolicyType
from xtrust.ric.appmgr import AppmgrClient, Registration, RegistrationInfo, appmgr_url
from xtrust.ric.asn1 import kpm
from xtrust.ric.asn1.e2ap_messages import RicAction
from xtrust.ric.asn1.kpm import EutraCgi, NrCgi, UeId
from xtrust.ric.control import (
    ControlAck,
    ControlClient,
    ControlError,
    ControlFailure,
    ControlTimeout,
)
from xtrust.ric.descriptor import (
    DEFAULT_HTTP_PORT,
    DEFAULT_RMR_PORT,
    ConfigWatcher,
    Descriptor,
    default_descriptor,
    load_descriptor,
    parse_descriptor,
)
from xtrust.ric.observability import HttpServer, XAppMetrics
from xtrust.ric.rmr import Endpoint, Message, RouteEntry, RouteTable, SendError
from xtrust.ric.rnib import RnibReader
from xtrust.ric.sdl import MemorySdl, Notification, Sdl, open_sdl
from xtrust.ric.sdl import Subscription as SdlSubscription
from xtrust.ric.subscriptions import (
    DirectBackend,
    Indication,
    IndicationHandler,
    RequestIds,
    RestBackend,
    ServiceModel,
    Subscription,
    SubscriptionBackend,
    SubscriptionError,
    SubscriptionFailure,
    SubscriptionManager,
    SubscriptionTimeout,
    _model,
    _octets,
    as_actions,
    call_handler,
)

__all__ = [
    "ControlAck",
    "ControlError",
    "ControlFailure",
    "ControlTimeout",
    "Descriptor",
    "Indication",
    "Message",
    "Policy",
    "PolicyRejected",
    "PolicyType",
    "RicAction",
    "Subscription",
    "SubscriptionError",
    "SubscriptionFailure",
    "SubscriptionTimeout",
    "XApp",
    "XAppError",
    "handles",
    "mtypes",
]

log = get_logger("ric.xapp")

F = TypeVar("F", bound=Callable[..., Any])
MessageHandler = Callable[[Message], Awaitable[None] | None]

#: message types the SDK itself sends (routed to ``ric=`` besides the descriptor's)
SDK_TX = frozenset(
    {
        mtypes.RIC_SUB_REQ,
        mtypes.RIC_SUB_DEL_REQ,
        mtypes.RIC_CONTROL_REQ,
        mtypes.A1_POLICY_RESP,
        mtypes.A1_POLICY_QUERY,
    }
)
_RENEW = (mtypes.RAN_CONNECTED, mtypes.RAN_RESTARTED)


class XAppError(XTrustError):
    """The app is used in a way its state does not allow (e.g. started twice)."""


def handles(*types: int | str) -> Callable[[F], F]:
    """Mark a method of an :class:`XApp` subclass as the handler of RMR message ``types``.

    The method is called as ``method(self, msg)``; it may be a coroutine.
    Types are numbers or O-RAN SC names (``"RIC_INDICATION"``).
    """
    if not types:
        raise InputError("@handles needs at least one message type")
    numbers = tuple(mtypes.mtype(t) for t in types)

    def mark(fn: F) -> F:
        fn.__xtrust_mtypes__ = numbers  # type: ignore[attr-defined]
        return fn

    return mark


async def _nothing() -> None:
    return None


def _requestor_id(name: str) -> int:
    return zlib.crc32(name.encode()) % 0xFFFF + 1


class XApp:
    """An xApp: RMR messaging, configuration, E2, A1, SDL, health and metrics.

    Everything is optional and has a default that works on a laptop:

    ``config``
        the descriptor: a path, a parsed document, a :class:`Descriptor`, or
        None for ``CONFIG_FILE`` (none: a built-in one named after the class).
        ``config_poll`` is how often (s) the file is checked for changes.
    ``rmr_port``, ``http_port``, ``host``
        ports to listen on (default: the descriptor's ``rmr-data`` and
        ``http`` ports, else 4560 and 8080; 0 picks free ones) and interface
        (``RMR_BIND_IF`` or all). ``http=False`` serves no HTTP.
        ``max_size`` is the largest RMR payload (default: the descriptor's
        ``maxSize``, else 64 KiB).
    ``ric``
        ``host:port`` that every message the app sends goes to (tests,
        RIC-lite); otherwise ``routes`` or the environment (``RMR_SEED_RT``,
        ``RMR_RTG_SVC``, ``RMR_CTL_PORT``) decide.
    ``sdl``
        an :class:`~xtrust.ric.sdl.Sdl` or SDL URL; default from the
        environment (memory unless ``DBAAS_SERVICE_HOST``). When given or set
        by the environment, the app watches RNIB connection events.
    ``subscriptions``
        ``"direct"`` (E2AP over RMR), ``"rest"`` (submgr at ``submgr_url``,
        calling back ``callback_host``), or a :class:`SubscriptionBackend`.
        ``subscription_timeout`` bounds each attempt; ``requestor_id`` is the
        RICrequestorID of the app's requests (default: from its name).
    ``control_timeout``
        default wait for a RIC control answer (s).
    ``backoff``
        (first, longest) delay of every retry: subscriptions, A1 queries,
        appmgr registration.
    ``appmgr``
        True/False/URL; default: register inside Kubernetes only.
    ``instance_name``
        the A1 ``handler_id`` (default ``HOSTNAME``, else the app name).
    ``stop_timeout``
        the budget of :meth:`stop` (s); ``queue_size`` bounds the messages
        waiting for handlers (more are dropped and counted).
    ``env``
        the environment to read (default ``os.environ``).
    """

    #: app name when there is no descriptor (default: the class name in lower case)
    name: ClassVar[str] = ""
    #: policy types declared in code: id -> JSON schema of its instances (or None)
    policy_types: ClassVar[Mapping[int, Mapping[str, Any] | None]] = {}

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any] | Descriptor | None = None,
        *,
        rmr_port: int | None = None,
        http_port: int | None = None,
        http: bool = True,
        host: str | None = None,
        ric: str | None = None,
        routes: RouteTable | None = None,
        sdl: Sdl | str | None = None,
        subscriptions: Literal["direct", "rest"] | SubscriptionBackend = "direct",
        submgr_url: str | None = None,
        callback_host: str | None = None,
        appmgr: bool | str | None = None,
        requestor_id: int | None = None,
        instance_name: str | None = None,
        config_poll: float = 1.0,
        control_timeout: float = 1.0,
        subscription_timeout: float = 2.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        stop_timeout: float = 0.5,
        queue_size: int = 10_000,
        max_size: int | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.env: Mapping[str, str] = os.environ if env is None else env
        # lifecycle (first: everything below may look at it)
        self._state = "new"
        self._tasks: list[asyncio.Task[Any]] = []
        self._queue: asyncio.Queue[tuple[Any, ...]] | None = None
        self._watcher: ConfigWatcher | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stop_wanted: asyncio.Event | None = None
        self._a1_pending: set[int] = set()
        self._a1_wake: asyncio.Event | None = None
        self._config_path: Path | None = None
        self._config = self._load_config(config)
        self.instance_name = (
            instance_name or self.env.get("HOSTNAME", "").strip() or self._config.name
        )
        self.metrics = XAppMetrics(self._config.name)
        #: the app's logger: records carry ``mdc`` {xapp, instance} (JSON logs show them)
        self.log = logging.LoggerAdapter(
            get_logger(f"ric.xapp.{self._config.name}"),
            {"mdc": {"xapp": self._config.name, "instance": self.instance_name}},
        )
        self.logger = self.log  # ricxappframe's name for it
        self.stop_timeout = stop_timeout
        self._backoff = backoff
        self.subscription_timeout = subscription_timeout
        self._config_poll = config_poll
        self._queue_size = queue_size
        if queue_size < 1:
            raise InputError(f"queue_size must be at least 1, got {queue_size}")

        # RMR
        self._rmr_port = self._port(rmr_port, self._config.rmr_port, DEFAULT_RMR_PORT, "rmr_port")
        self._host = host or self.env.get("RMR_BIND_IF", "").strip() or "0.0.0.0"
        self._ric = ric
        self._routes = routes
        self._max_size = max_size or self._config.max_size or 65536
        self.rmr: Endpoint | None = None

        # HTTP
        self._http: HttpServer | None = None
        if http:
            port = self._port(http_port, self._config.http_port, DEFAULT_HTTP_PORT, "http_port")
            self._http = HttpServer(
                self.metrics, self.ready_reasons, host=self._host, port=port,
                config=lambda: self._config.to_json(),
            )  # fmt: skip

        # SDL, RNIB
        self._sdl_owned = not isinstance(sdl, Sdl)
        self._watch_rnib = sdl is not None or bool(self.env.get("DBAAS_SERVICE_HOST", "").strip())
        self.sdl: Sdl = self._open_sdl(sdl)
        self.rnib = RnibReader(self.sdl)
        self._rnib_sub: SdlSubscription | None = None

        # E2
        self.request_ids = RequestIds(
            requestor_id if requestor_id is not None else _requestor_id(self._config.name)
        )
        self.subscriptions = SubscriptionManager(
            self._backend(subscriptions, submgr_url, callback_host),
            self.metrics,
            backoff_initial=backoff[0],
            backoff_max=backoff[1],
            delete_timeout=min(0.25, stop_timeout / 2),
        )
        self.controller = ControlClient(
            self._send_internal, self.request_ids, self.metrics, timeout=control_timeout
        )

        # A1
        self.a1 = A1Handler(self.instance_name)
        self._code_policy_types: dict[int, PolicyType] = {}
        for type_id, schema in type(self).policy_types.items():
            self.register_policy_type(type_id, dict(schema) if schema is not None else None)

        # handlers
        self._handlers: dict[int, MessageHandler] = {}
        for cls in reversed(type(self).__mro__):
            for attr, value in vars(cls).items():
                numbers = getattr(value, "__xtrust_mtypes__", None)
                if numbers:
                    bound = getattr(self, attr)
                    for number in numbers:
                        self._handlers[number] = bound

        # appmgr
        self._appmgr_url = appmgr_url(appmgr, self.env)
        self.registration: Registration | None = None

    # ===================================================================== configuration
    def _load_config(
        self, config: str | os.PathLike[str] | Mapping[str, Any] | Descriptor | None
    ) -> Descriptor:
        if isinstance(config, Descriptor):
            return config
        if isinstance(config, Mapping):
            return parse_descriptor(dict(config), source="(config)")
        if config is None:
            path = self.env.get("CONFIG_FILE", "").strip()
            if not path:
                name = type(self).name or type(self).__name__.lower()
                log.info("xapp: CONFIG_FILE is not set; running with a built-in descriptor")
                return default_descriptor(name[:63])
            if not Path(path).is_file():
                raise ConfigError(
                    f"names {path!r}, which is not a readable file",
                    field="CONFIG_FILE",
                    source="environment",
                )
            config = path
        self._config_path = Path(config)
        return load_descriptor(config)

    @staticmethod
    def _port(given: int | None, described: int | None, default: int, what: str) -> int:
        port = given if given is not None else described if described is not None else default
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise InputError(f"{what} must be a TCP port 0..65535, got {port!r}")
        return port

    def _open_sdl(self, sdl: Sdl | str | None) -> Sdl:
        if isinstance(sdl, Sdl):
            return sdl
        if isinstance(sdl, str):
            return open_sdl(sdl)
        if self.env is os.environ:
            return open_sdl()
        host = self.env.get("DBAAS_SERVICE_HOST", "").strip()
        if not host:
            return MemorySdl()
        port = self.env.get("DBAAS_SERVICE_PORT", "").strip() or "6379"
        if not port.isdigit():
            raise ConfigError(
                f"not a TCP port: {port!r}", field="DBAAS_SERVICE_PORT", source="environment"
            )
        return open_sdl(f"redis://{host}:{port}/0")

    def _backend(
        self,
        kind: Literal["direct", "rest"] | SubscriptionBackend,
        submgr_url: str | None,
        callback_host: str | None,
    ) -> SubscriptionBackend:
        if isinstance(kind, SubscriptionBackend):
            return kind
        if kind == "direct":
            return DirectBackend(self._send_internal, self.request_ids)
        if kind != "rest":
            raise InputError(f"subscriptions must be 'direct' or 'rest', got {kind!r}")
        if self._http is None:
            raise InputError("subscriptions='rest' needs the HTTP server (submgr calls back)")
        plt = self.env.get("PLT_NAMESPACE", "").strip() or "ricplt"
        app_ns = self.env.get("APP_NAMESPACE", "").strip() or "ricxapp"
        url = submgr_url or f"http://service-{plt}-submgr-http.{plt}:8088/ric/v1"
        if callback_host is None:
            in_cluster = bool(self.env.get("KUBERNETES_SERVICE_HOST", "").strip())
            callback_host = (
                f"service-{app_ns}-{self._config.name}-http.{app_ns}"
                if in_cluster
                else self.env.get("HOSTNAME", "").strip() or "127.0.0.1"
            )
        backend = RestBackend(
            url,
            host=callback_host,
            http_port=lambda: self.http_port,
            rmr_port=lambda: self.rmr_port,
            request_timeout=self.subscription_timeout,
        )
        backend.attach(self._http)
        return backend

    @property
    def config(self) -> Descriptor:
        """The descriptor in force (replaced when the file changes)."""
        return self._config

    @property
    def controls(self) -> dict[str, Any]:
        """The descriptor's ``controls`` section: the app's own settings."""
        return self._config.controls

    # ============================================================================ handlers
    def handler(self, *types: int | str) -> Callable[[F], F]:
        """Register a function as the handler of RMR message ``types``: ``fn(msg)``.

        ``@app.handler(30000)`` or ``@app.handler("RIC_INDICATION")``. It
        replaces a handler declared for the same type.
        """
        if not types:
            raise InputError("handler() needs at least one message type")
        numbers = [mtypes.mtype(t) for t in types]

        def register(fn: F) -> F:
            if not callable(fn):
                raise InputError(f"a handler must be callable, got {fn!r}")
            for number in numbers:
                self._handlers[number] = fn
            return fn

        return register

    async def on_start(self) -> None:
        """Called once the app runs (RMR, HTTP, SDL up). Subscribe here."""

    async def on_stop(self) -> None:
        """Called first when the app stops (keep it short: the whole stop is bounded)."""

    async def on_config_change(self, old: Descriptor, new: Descriptor) -> None:
        """Called after a changed descriptor was validated and put in force."""

    async def on_indication(self, ind: Indication) -> None:
        """Indications of subscriptions made without their own handler."""
        log.debug("xapp: indication on %s sub_id %d (no handler)", ind.meid, ind.sub_id)

    async def on_policy(self, policy: Policy) -> None:
        """An A1 policy create/update/delete, already validated.

        Return to answer OK (DELETED for a delete); raise
        :class:`PolicyRejected` to answer ERROR with its message.
        """
        log.info("xapp: policy %s %d/%s (no on_policy)", policy.operation,
                 policy.policy_type_id, policy.policy_instance_id)  # fmt: skip

    async def default_handler(self, msg: Message) -> None:
        """Messages of a type without a handler."""
        log.debug("xapp: no handler for %s from %s", mtypes.name(msg.mtype), msg.src)

    # ============================================================================== policies
    def register_policy_type(
        self, policy_type_id: int, schema: Mapping[str, Any] | None = None, *, name: str = ""
    ) -> PolicyType:
        """Declare an A1 policy type the app handles, with the JSON schema of its instances.

        A schema in the descriptor's ``policyTypes`` for the same id wins.
        Registered after start, the type is queried at once.
        """
        ptype = PolicyType(policy_type_id, dict(schema) if schema is not None else None, name)
        self._code_policy_types[policy_type_id] = ptype
        new = self._sync_policy_types()
        if self._state == "running" and new:
            self._query_policies(new)
        return ptype

    def _sync_policy_types(self) -> set[int]:
        """Rebuild the A1 handler's types; the ids that are new."""
        desc = self._config
        before = set(self.a1.types)
        ids = set(desc.policies) | set(desc.policy_types) | set(self._code_policy_types)
        types: dict[int, PolicyType] = {}
        for type_id in sorted(ids):
            body = desc.policy_types.get(type_id)
            if body is not None:
                types[type_id] = PolicyType(
                    type_id,
                    dict(body["create_schema"]),
                    str(body.get("name", "")),
                    str(body.get("description", "")),
                )
            elif type_id in self._code_policy_types:
                types[type_id] = self._code_policy_types[type_id]
            else:
                types[type_id] = PolicyType(type_id)
        self.a1.types = types
        return set(types) - before

    # ============================================================================= lifecycle
    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def rmr_port(self) -> int | None:
        """The RMR port listened on (None before start)."""
        return self.rmr.port if self.rmr is not None else None

    @property
    def http_port(self) -> int | None:
        """The HTTP port listened on (None before start or without HTTP)."""
        return self._http.port if self._http is not None else None

    def ready_reasons(self) -> list[str]:
        """Why the app is not ready (empty: ready)."""
        if self._state != "running":
            return [f"app is {self._state}"]
        reasons = []
        if self.rmr is None or not self.rmr.ready:
            reasons.append("RMR has no route table yet")
        if self.registration is not None and not self.registration.registered:
            reasons.append("not registered with appmgr")
        return reasons

    @property
    def ready(self) -> bool:
        return not self.ready_reasons()

    async def __aenter__(self) -> XApp:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _route_table(self) -> RouteTable | None:
        if self._ric is None:
            return self._routes
        from xtrust.ric.rmr import parse_target

        host, port = parse_target(self._ric)
        target = f"{host}:{port}"
        entries = {
            (mt, -1): RouteEntry(mt, -1, ((target,),))
            for mt in sorted(set(self._config.tx_messages) | SDK_TX)
        }
        return RouteTable(entries, table_id=f"xapp-ric-{target}")

    def _endpoint(self) -> Endpoint:
        env = self.env
        ctl = env.get("RMR_CTL_PORT", "").strip()
        if ctl and not ctl.isdigit():
            raise ConfigError(f"not a port number: {ctl!r}", field="RMR_CTL_PORT",
                              source="environment")  # fmt: skip
        routes = self._route_table()
        use_env_routes = routes is None
        return Endpoint(
            self._rmr_port,
            host=self._host,
            name=env.get("RMR_SRC_ID", "").split(":")[0].strip() or None,
            routes=routes,
            seed=(env.get("RMR_SEED_RT", "").strip() or None) if use_env_routes else None,
            rtg=(env.get("RMR_RTG_SVC", "").strip() or None) if use_env_routes else None,
            ctl_port=int(ctl) if ctl and use_env_routes else None,
            use_env=False,
            max_size=self._max_size,
        )

    async def start(self) -> None:
        """Start RMR, HTTP, the background tasks, then call :meth:`on_start`.

        Raises on a bad configuration or a port in use, after undoing what
        was started. An app starts once.
        """
        if self._state == "running":
            return
        if self._state != "new":
            raise XAppError(f"this app is {self._state}; create a new XApp to start again")
        self._state = "starting"
        loop = asyncio.get_running_loop()
        self._stop_wanted = asyncio.Event()
        self._queue = asyncio.Queue(self._queue_size)
        self._a1_wake = asyncio.Event()
        try:
            self.rmr = self._endpoint()
            await self.rmr.start()
            if self._http is not None:
                await self._http.start()
            await self.subscriptions.start()
            self._tasks.append(loop.create_task(self._receive(), name="xapp-receive"))
            self._tasks.append(loop.create_task(self._work(), name="xapp-handlers"))
            self._sync_policy_types()
            self._tasks.append(loop.create_task(self._a1_queries(), name="xapp-a1-query"))
            self._query_policies(set(self.a1.types))
            if self._config_path is not None:
                self._watcher = ConfigWatcher(
                    self._config_path,
                    self._config_changed,
                    interval=self._config_poll,
                    digest=self._config.digest,
                    on_error=lambda _exc: self.metrics.config_reloads.labels(
                        self.metrics.app, "rejected"
                    ).inc(),
                )
                self._watcher.start()
            if self._watch_rnib:
                await self._start_rnib_watch()
            if self._appmgr_url is not None:
                info = RegistrationInfo.build(
                    instance_name=self._config.name,
                    version=self._config.version,
                    descriptor=self._config.raw,
                    http_port=self.http_port,
                    rmr_port=self.rmr_port,
                    env=self.env,
                    bind_host=self._host,
                )
                self.registration = Registration(
                    AppmgrClient(self._appmgr_url),
                    info,
                    backoff_initial=self._backoff[0],
                    backoff_max=self._backoff[1],
                )
                self.registration.start()
                self._tasks.append(loop.create_task(self._registered_gauge(), name="xapp-reg"))
            self._state = "running"
            self.log.info("xapp: %s %s running (RMR %s, HTTP %s)", self._config.name,
                          self._config.version, self.rmr_port, self.http_port)  # fmt: skip
            await call_handler(self.on_start)
        except BaseException:
            self._state = "stopping"
            with contextlib.suppress(Exception):
                await self._teardown()
            self._state = "stopped"
            raise

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop (safe from signal handlers and handlers)."""
        if self._stop_wanted is not None:
            self._stop_wanted.set()

    async def stop(self) -> None:
        """Stop: :meth:`on_stop`, delete subscriptions, deregister, close. Idempotent."""
        if self._state in ("new", "stopped") and self._stop_task is None:
            self._state = "stopped"
            return
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(self._stop(), name="xapp-stop")
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        self._state = "stopping"
        self.request_stop()
        if self._http is not None:
            self._http.alive = False
        try:
            async with asyncio.timeout(max(0.05, self.stop_timeout / 4)):
                await call_handler(self.on_stop)
        except TimeoutError:
            log.warning("xapp: on_stop took too long; stopping anyway")
        except Exception:
            log.exception("xapp: on_stop failed")
        await self._teardown()
        self._state = "stopped"
        self.log.info("xapp: %s stopped", self._config.name)

    async def _teardown(self) -> None:
        """Release everything, each step on its own: one failing step never keeps the
        next from running (ports are always closed)."""
        budget = self.stop_timeout
        rmr_open = self.rmr is not None and not self.rmr.closed
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("subscriptions", lambda: self.subscriptions.stop(
                timeout=max(0.05, budget / 2) if rmr_open else 0.0)),
            ("registration", lambda: self.registration.stop(timeout=max(0.05, budget / 4))
             if self.registration is not None else _nothing()),
            ("config watcher", lambda: self._watcher.stop()
             if self._watcher is not None else _nothing()),
            ("RNIB watch", lambda: self._rnib_sub.close()
             if self._rnib_sub is not None else _nothing()),
            ("tasks", self._cancel_tasks),
            ("RMR", lambda: self.rmr.close(timeout=0.05) if self.rmr is not None else _nothing()),
            ("HTTP", lambda: self._http.stop() if self._http is not None else _nothing()),
            ("SDL", lambda: self.sdl.close() if self._sdl_owned else _nothing()),
        ]  # fmt: skip
        for what, step in steps:
            try:
                await step()
            except Exception:
                log.exception("xapp: stopping the %s failed", what)
        self._rnib_sub = None
        self.controller.cancel_all()

    async def _cancel_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        current = asyncio.current_task()
        others = [t for t in tasks if t is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def run(self) -> None:
        """Start, run until :meth:`request_stop`, :meth:`stop` or SIGTERM/SIGINT, then stop."""
        loop = asyncio.get_running_loop()
        installed: list[tuple[signal.Signals, Any]] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, self.request_stop)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append((sig, previous))
        try:
            await self.start()
            assert self._stop_wanted is not None
            await self._stop_wanted.wait()
        finally:
            for sig, previous in installed:
                loop.remove_signal_handler(sig)
                with contextlib.suppress(Exception):
                    signal.signal(sig, previous)
            await self.stop()

    def main(self) -> None:
        """Run the app in a new event loop until it stops (``KpiMon().main()``)."""
        asyncio.run(self.run())

    # ============================================================================ messaging
    async def _send_internal(self, msg: Message) -> int:
        if self.rmr is None:
            raise SendError("the app is not started")
        label = str(msg.mtype)
        try:
            n = await self.rmr.send(msg)
        except SendError:
            self.metrics.tx_errors.labels(self.metrics.app, label).inc()
            raise
        self.metrics.tx.labels(self.metrics.app, label).inc()
        return n

    async def send(
        self,
        msg: Message | int | str,
        payload: bytes = b"",
        *,
        sub_id: int = -1,
        meid: str = "",
        to: str | None = None,
        wait: float = 0.0,
    ) -> int:
        """Send a message by the route table (or to ``to``); copies sent.

        ``msg`` is a :class:`Message` or a message type (number or name) with
        ``payload``. ``wait`` is how long to keep trying to connect (the
        endpoint's backoff applies). Raises :class:`~xtrust.ric.rmr.SendError`.
        """
        if not isinstance(msg, Message):
            msg = Message(mtypes.mtype(msg), bytes(payload), sub_id=sub_id, meid=meid)
        if self.rmr is None:
            raise SendError("the app is not started")
        if to is None:
            return await self._send_internal(msg)
        label = str(msg.mtype)
        try:
            n = await self.rmr.send(msg, to=to, wait=wait)
        except SendError:
            self.metrics.tx_errors.labels(self.metrics.app, label).inc()
            raise
        self.metrics.tx.labels(self.metrics.app, label).inc()
        return n

    async def rts(
        self,
        msg: Message,
        *,
        payload: bytes | None = None,
        mtype: int | str | None = None,
        sub_id: int | None = None,
    ) -> None:
        """Return ``msg`` to its sender, optionally with a new payload, type and sub id."""
        if self.rmr is None:
            raise SendError("the app is not started")
        number = msg.mtype if mtype is None else mtypes.mtype(mtype)
        try:
            await self.rmr.rts(msg, payload=payload, mtype=number, sub_id=sub_id)
        except SendError:
            self.metrics.tx_errors.labels(self.metrics.app, str(number)).inc()
            raise
        self.metrics.tx.labels(self.metrics.app, str(number)).inc()

    async def rmr_send(
        self, payload: bytes, mtype: int | str, *, sub_id: int = -1, meid: str = "",
        wait: float = 0.0,
    ) -> bool:  # fmt: skip
        """ricxappframe's ``rmr_send``: True when sent, False (logged) when not."""
        try:
            await self.send(mtype, payload, sub_id=sub_id, meid=meid, wait=wait)
        except SendError as exc:
            log.warning("xapp: rmr_send of %s failed: %s", mtypes.name(mtypes.mtype(mtype)), exc)
            return False
        return True

    async def rmr_rts(
        self, msg: Message, new_payload: bytes | None = None, new_mtype: int | str | None = None
    ) -> bool:
        """ricxappframe's ``rmr_rts``: True when returned, False (logged) when not."""
        try:
            await self.rts(msg, payload=new_payload, mtype=new_mtype)
        except SendError as exc:
            log.warning("xapp: rmr_rts failed: %s", exc)
            return False
        return True

    # ====================================================================== receive, dispatch
    def _enqueue(self, item: tuple[Any, ...]) -> None:
        assert self._queue is not None
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.metrics.dropped.labels(self.metrics.app).inc()
            log.warning("xapp: handler queue full (%d); dropped a %s", self._queue_size,
                        mtypes.name(item[-1].mtype))  # fmt: skip

    async def _receive(self) -> None:
        assert self.rmr is not None
        rx = self.metrics.rx
        app = self.metrics.app
        async for msg in self.rmr.receive():
            mt = msg.mtype
            rx.labels(app, str(mt)).inc()
            try:
                if self.controller.on_message(msg) or self.subscriptions.backend.on_message(msg):
                    continue
            except Exception:
                log.exception("xapp: failed to process a %s", mtypes.name(mt))
                continue
            if mt == mtypes.RIC_INDICATION:
                sub = self.subscriptions.lookup(msg)
                if sub is not None:
                    self._enqueue(("indication", sub, msg))
                elif mt in self._handlers:
                    self._enqueue(("message", self._handlers[mt], msg))
                else:
                    self.metrics.indication_errors.labels(app, "unknown_subscription").inc()
                    log.debug("xapp: indication for unknown sub_id %d from %s",
                              msg.sub_id, msg.meid)  # fmt: skip
                continue
            if mt == mtypes.A1_POLICY_REQ and mt not in self._handlers:
                self._enqueue(("policy", msg))
                continue
            if mt in _RENEW and msg.meid:
                self.subscriptions.resubscribe(msg.meid)
                if mt not in self._handlers:
                    continue
            self._enqueue(("message", self._handlers.get(mt, self.default_handler), msg))

    async def _work(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            item = await queue.get()
            kind = item[0]
            msg: Message = item[-1]
            try:
                if kind == "indication":
                    sub: Subscription = item[1]
                    ind = self.subscriptions.decode(sub, msg)
                    if ind is not None and sub.state != "deleted":
                        await call_handler(sub.handler or self.on_indication, ind)
                elif kind == "policy":
                    await self._policy(msg)
                else:
                    await call_handler(item[1], msg)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.metrics.handler_errors.labels(self.metrics.app, str(msg.mtype)).inc()
                log.exception("xapp: handler of %s failed", mtypes.name(msg.mtype))

    # ===================================================================================== A1
    async def _policy(self, msg: Message) -> None:
        request = self.a1.read(msg.payload)
        reply = request.reply
        policy = request.policy
        if policy is not None:
            try:
                await call_handler(self.on_policy, policy)
            except PolicyRejected as exc:
                reply = self.a1.failed(policy, str(exc))
            except Exception as exc:
                log.exception("xapp: on_policy failed on %d/%s", policy.policy_type_id,
                              policy.policy_instance_id)  # fmt: skip
                reply = self.a1.failed(policy, f"the app failed: {type(exc).__name__}: {exc}")
            else:
                reply = self.a1.applied(policy)
            type_id = policy.policy_type_id
            self.metrics.a1_policies.labels(self.metrics.app, str(type_id)).set(
                self.a1.count(type_id)
            )
        if reply is None:
            return
        operation = request.operation or "INVALID"
        self.metrics.a1_requests.labels(self.metrics.app, operation, reply["status"]).inc()
        await self._a1_reply(msg, reply)

    async def _a1_reply(self, msg: Message, reply: dict[str, Any]) -> None:
        payload = self.a1.encode(reply)
        try:
            await self.rts(msg, payload=payload, mtype=mtypes.A1_POLICY_RESP)
            return
        except SendError as exc:
            log.info("xapp: A1 reply by return-to-sender failed (%s); sending by route", exc)
        try:
            await self.send(mtypes.A1_POLICY_RESP, payload)
        except SendError as exc:
            log.warning("xapp: cannot send the A1 reply for %s/%s: %s",
                        reply["policy_type_id"], reply["policy_instance_id"], exc)  # fmt: skip

    def _query_policies(self, type_ids: Iterable[int]) -> None:
        self._a1_pending |= set(type_ids)
        if self._a1_wake is not None:
            self._a1_wake.set()

    async def _a1_queries(self) -> None:
        """Send A1_POLICY_QUERY for each pending policy type until each one went out."""
        assert self._a1_wake is not None
        delay = self._backoff[0]
        while True:
            await self._a1_wake.wait()
            self._a1_wake.clear()
            while self._a1_pending:
                for type_id in sorted(self._a1_pending):
                    try:
                        await self.send(mtypes.A1_POLICY_QUERY, self.a1.query(type_id))
                    except SendError as exc:
                        log.info("xapp: A1 query for type %d not sent (%s); retry in %.1f s",
                                 type_id, exc, delay)  # fmt: skip
                        continue
                    self._a1_pending.discard(type_id)
                    log.info("xapp: asked A1 for the policies of type %d", type_id)
                if self._a1_pending:
                    await asyncio.sleep(delay)
                    delay = min(self._backoff[1], delay * 2)
            delay = self._backoff[0]

    # ==================================================================== config, RNIB, appmgr
    async def _config_changed(self, new: Descriptor) -> None:
        old = self._config
        self._config = new
        self.metrics.config_reloads.labels(self.metrics.app, "applied").inc()
        for what in ("rmr_port", "http_port", "route_port"):
            if getattr(old, what) != getattr(new, what):
                log.warning("xapp: %s changed in the descriptor; it takes effect at restart", what)
        added = self._sync_policy_types()
        if added:
            self._query_policies(added)
        self.log.info("xapp: configuration reloaded from %s", new.source)
        try:
            await call_handler(self.on_config_change, old, new)
        except Exception:
            log.exception("xapp: on_config_change failed")

    async def _start_rnib_watch(self) -> None:
        try:
            self._rnib_sub = await self.rnib.watch_connection_status(self._rnib_event)
        except Exception as exc:
            log.warning("xapp: cannot watch RNIB connection events (%s); "
                        "subscriptions renew on RIC messages only", exc)  # fmt: skip

    def _rnib_event(self, note: Notification) -> None:
        for event in note.events:
            ran, _, status = event.rpartition("_")
            if status == "CONNECTED" and ran:
                self.subscriptions.resubscribe(ran)

    async def _registered_gauge(self) -> None:
        assert self.registration is not None
        await self.registration.wait()
        self.metrics.registered.labels(self.metrics.app).set(1)

    # ==================================================================================== E2
    async def subscribe(
        self,
        meid: str,
        ran_function_id: int,
        event_trigger: bytes | Any,
        actions: Sequence[RicAction] | RicAction | bytes | Any,
        *,
        handler: IndicationHandler | None = None,
        model: str | ServiceModel = "kpm",
        retry: bool = True,
        timeout: float | None = None,
        wait: float | None = None,
    ) -> Subscription:
        """Subscribe to RAN function ``ran_function_id`` of E2 node ``meid``.

        ``event_trigger`` and action definitions are bytes or E2SM objects
        with ``encode()``; ``actions`` is a list of
        :class:`~xtrust.ric.asn1.e2ap_messages.RicAction` or one action
        definition (report action 1). Indications go to ``handler`` (else
        :meth:`on_indication`), decoded by ``model`` (``kpm``, ``rc``, ``raw``).
        Returns at once with the handle (the SDK subscribes and keeps it
        alive; ``retry=False`` makes the first failure final); ``wait`` seconds
        waits until active, raising :class:`SubscriptionFailure` /
        :class:`SubscriptionTimeout`.
        """
        sub = Subscription(
            meid,
            ran_function_id,
            _octets(event_trigger, "event trigger"),
            as_actions(actions),
            model=_model(model),
            handler=handler,
            retry=retry,
            timeout=self.subscription_timeout if timeout is None else timeout,
        )
        if self._state != "running":
            raise XAppError("subscribe() needs a running app; call it from on_start or later")
        self.subscriptions.add(sub)
        if wait is not None:
            await sub.wait_active(wait)
        return sub

    async def subscribe_kpm(
        self,
        meid: str,
        ran_function_id: int,
        meas: Sequence[str],
        *,
        period_ms: int = 1000,
        granularity_ms: int | None = None,
        handler: IndicationHandler | None = None,
        retry: bool = True,
        timeout: float | None = None,
        wait: float | None = None,
    ) -> Subscription:
        """E2SM-KPM report subscription (style 1) of ``meas`` every ``period_ms``."""
        trigger = kpm.KpmEventTrigger(period_ms)
        action = kpm.KpmActionDefinitionFormat1(
            tuple(kpm.MeasInfo(m) for m in meas), granularity_ms or period_ms
        )
        return await self.subscribe(
            meid, ran_function_id, trigger, action, handler=handler, model="kpm",
            retry=retry, timeout=timeout, wait=wait,
        )  # fmt: skip

    async def unsubscribe(self, sub: Subscription) -> None:
        """Delete ``sub`` at the RIC and stop its indications."""
        await self.subscriptions.remove(sub)

    def resubscribe(self, meid: str | None = None) -> int:
        """Renew the subscriptions of node ``meid`` (all when None) now."""
        return self.subscriptions.resubscribe(meid)

    async def control(
        self,
        meid: str,
        ran_function_id: int,
        header: bytes | Any,
        message: bytes | Any,
        *,
        timeout: float | None = None,
        call_process_id: bytes | None = None,
    ) -> ControlAck:
        """Send a RIC control request and wait for the acknowledgement.

        Raises :class:`ControlFailure` (RIC_CONTROL_FAILURE, with the cause),
        :class:`ControlTimeout`, or :class:`ControlError` (not sent).
        """
        result = await self.controller.control(
            meid, ran_function_id, header, message, timeout=timeout,
            call_process_id=call_process_id,
        )  # fmt: skip
        assert result is not None
        return result

    async def handover(
        self,
        meid: str,
        ran_function_id: int,
        ue_id: UeId,
        target: NrCgi | EutraCgi,
        *,
        timeout: float | None = None,
    ) -> ControlAck:
        """E2SM-RC handover of ``ue_id`` to cell ``target``."""
        return await self.controller.handover(meid, ran_function_id, ue_id, target, timeout=timeout)

    async def release_ue(
        self, meid: str, ran_function_id: int, ue_id: UeId, *, timeout: float | None = None
    ) -> ControlAck:
        """E2SM-RC release of ``ue_id`` (RRC connection release)."""
        return await self.controller.release_ue(meid, ran_function_id, ue_id, timeout=timeout)
