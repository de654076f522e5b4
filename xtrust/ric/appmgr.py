"""Registration of an xApp with the O-RAN SC application manager (appmgr).

appmgr's REST API (``/ric/v1``, swagger ``appmgr_rest_api.yaml``):

* ``POST /register`` with ``{"appName", "appVersion", "configPath",
  "appInstanceName", "httpEndpoint", "rmrEndpoint", "config"}`` (``config``
  is the descriptor as a JSON *string*); 201 on success.
* ``POST /deregister`` with ``{"appName", "appInstanceName"}``; 204.

What goes in the fields, as ricxappframe fills them: ``appName`` is the pod
host name (``HOSTNAME``), ``appInstanceName`` the descriptor's ``name``,
``httpEndpoint`` / ``rmrEndpoint`` the ``ip:port`` of the app's Kubernetes
services, read from the service variables Kubernetes sets,
``SERVICE_<APP_NAMESPACE>_<HOSTNAME>_HTTP_PORT`` and ``..._RMR_PORT`` (value
``tcp://10.0.0.7:8080``; upper case, ``-`` -> ``_``; ``APP_NAMESPACE``
defaults to ``ricxapp``). appmgr is found at
``http://service-<PLT_NAMESPACE>-appmgr-http.<PLT_NAMESPACE>:8080``
(``PLT_NAMESPACE`` defaults to ``ricplt``).

When registration is on (:func:`appmgr_url`): when asked for explicitly
(``appmgr=`` or ``XTRUST_APPMGR_URL``), or inside Kubernetes
(``KUBERNETES_SERVICE_HOST`` set). Outside Kubernetes with nothing
configured it is off. A missing variable never raises: the service
variables fall back to ``<host name>:<port>`` with a warning.

Registration runs in the background with exponential backoff (0.5 s doubling
to 30 s) until appmgr accepts it; deregistration at stop is best effort with
a short timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from xtrust.errors import ExternalToolError
from xtrust.log import get_logger

__all__ = [
    "DEFAULT_APP_NAMESPACE",
    "DEFAULT_PLT_NAMESPACE",
    "AppmgrClient",
    "Registration",
    "RegistrationInfo",
    "appmgr_url",
    "service_endpoint",
]

log = get_logger("ric.xapp")

DEFAULT_PLT_NAMESPACE = "ricplt"
DEFAULT_APP_NAMESPACE = "ricxapp"
ENV_URL = "XTRUST_APPMGR_URL"


def appmgr_url(setting: str | bool | None, env: Mapping[str, str]) -> str | None:
    """The appmgr base URL (``.../ric/v1``) to register with, or None when registration is off.

    ``setting``: False turns it off, a string is the URL, True or None decide
    from the environment (``XTRUST_APPMGR_URL``; else the in-cluster service
    name when ``KUBERNETES_SERVICE_HOST`` is set, or when ``setting`` is True).
    """
    if setting is False:
        return None
    if isinstance(setting, str) and setting.strip():
        return setting.strip().rstrip("/")
    explicit = env.get(ENV_URL, "").strip()
    if explicit:
        return explicit.rstrip("/")
    if setting is True or env.get("KUBERNETES_SERVICE_HOST", "").strip():
        ns = env.get("PLT_NAMESPACE", "").strip() or DEFAULT_PLT_NAMESPACE
        return f"http://service-{ns}-appmgr-http.{ns}:8080/ric/v1"
    return None


def service_endpoint(
    kind: str, port: int | None, env: Mapping[str, str], bind_host: str | None = None
) -> str:
    """``ip:port`` of the app's ``kind`` (``HTTP`` or ``RMR``) service.

    Read from ``SERVICE_<APP_NAMESPACE>_<HOSTNAME>_<kind>_PORT`` (``tcp://ip:port``);
    when that is absent, ``<bind address>:<port>`` if the app listens on one
    address, else ``<host name>:<port>``.
    """
    host = env.get("HOSTNAME", "").strip() or socket.gethostname()
    app_ns = env.get("APP_NAMESPACE", "").strip() or DEFAULT_APP_NAMESPACE
    key = f"SERVICE_{app_ns}_{host}_{kind}_PORT".upper().replace("-", "_").replace(".", "_")
    value = env.get(key, "").strip()
    if value:
        return value.split("//", 1)[-1]
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        host = bind_host
    endpoint = f"{host}:{port if port is not None else 0}"
    log.warning("%s is not set; registering the %s endpoint as %s", key, kind, endpoint)
    return endpoint


@dataclass(frozen=True)
class RegistrationInfo:
    """What is sent to appmgr (see the module documentation)."""

    app_name: str
    instance_name: str
    version: str
    http_endpoint: str
    rmr_endpoint: str
    config: str

    def register_body(self) -> dict[str, Any]:
        return {
            "appName": self.app_name,
            "appVersion": self.version,
            "configPath": "",
            "appInstanceName": self.instance_name,
            "httpEndpoint": self.http_endpoint,
            "rmrEndpoint": self.rmr_endpoint,
            "config": self.config,
        }

    def deregister_body(self) -> dict[str, Any]:
        return {"appName": self.app_name, "appInstanceName": self.instance_name}

    @classmethod
    def build(
        cls,
        *,
        instance_name: str,
        version: str,
        descriptor: Mapping[str, Any],
        http_port: int | None,
        rmr_port: int | None,
        env: Mapping[str, str] | None = None,
        bind_host: str | None = None,
    ) -> RegistrationInfo:
        env = os.environ if env is None else env
        return cls(
            app_name=env.get("HOSTNAME", "").strip() or socket.gethostname(),
            instance_name=instance_name,
            version=version,
            http_endpoint=service_endpoint("HTTP", http_port, env, bind_host),
            rmr_endpoint=service_endpoint("RMR", rmr_port, env, bind_host),
            config=json.dumps(descriptor),
        )


class AppmgrClient:
    """The two calls of appmgr's registration API."""

    def __init__(self, url: str, *, timeout: float = 2.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    async def _post(self, path: str, body: dict[str, Any], timeout: float) -> int:
        url = f"{self.url}{path}"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.post(url, json=body) as resp,
            ):
                text = await resp.text()
                if resp.status not in (200, 201, 204):
                    raise ExternalToolError(
                        f"POST {url} answered {resp.status}: {text.strip()[:200]}", tool="appmgr"
                    )
                return resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ExternalToolError(f"POST {url} failed: {reason}", tool="appmgr") from None

    async def register(self, info: RegistrationInfo) -> int:
        return await self._post("/register", info.register_body(), self.timeout)

    async def deregister(self, info: RegistrationInfo, timeout: float | None = None) -> int:
        return await self._post(
            "/deregister", info.deregister_body(), self.timeout if timeout is None else timeout
        )


class Registration:
    """Registers in the background until appmgr accepts; deregisters at :meth:`stop`."""

    def __init__(
        self,
        client: AppmgrClient,
        info: RegistrationInfo,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ):
        self.client = client
        self.info = info
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.registered = False
        self.attempts = 0
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="appmgr-register")

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until registered; False after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._done.wait()
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        delay = self.backoff_initial
        while True:
            self.attempts += 1
            try:
                await self.client.register(self.info)
            except ExternalToolError as exc:
                self.last_error = str(exc)
                log.warning("xapp: registration failed (attempt %d), retry in %.1f s: %s",
                            self.attempts, delay, exc)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(self.backoff_max, delay * 2)
                continue
            self.registered = True
            self.last_error = ""
            self._done.set()
            log.info("xapp: registered with appmgr as %s/%s",
                     self.info.app_name, self.info.instance_name)  # fmt: skip
            return

    async def stop(self, timeout: float = 0.2) -> None:
        """Stop trying; deregister (at most ``timeout`` seconds) if registered."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not self.registered:
            return
        try:
            await self.client.deregister(self.info, timeout=timeout)
        except ExternalToolError as exc:
            log.warning("xapp: deregistration failed: %s", exc)
        else:
            log.info("xapp: deregistered from appmgr")
        self.registered = False
