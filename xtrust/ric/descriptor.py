"""The O-RAN SC xApp descriptor (``config-file.json``): load, validate, watch.

The descriptor is the JSON document appmgr deploys an xApp from and the xApp
reads at run time from the file named by ``CONFIG_FILE``::

    {
      "name": "kpimon", "version": "1.0.0",
      "containers": [{"name": "kpimon", "image": {"registry": "r.example:5000",
                                                  "name": "kpimon", "tag": "1.0.0"}}],
      "messaging": {"ports": [
        {"name": "http", "container": "kpimon", "port": 8080},
        {"name": "rmr-data", "container": "kpimon", "port": 4560,
         "rxMessages": ["RIC_SUB_RESP", "RIC_INDICATION"], "txMessages": ["RIC_SUB_REQ"],
         "policies": [20008]},
        {"name": "rmr-route", "container": "kpimon", "port": 4561}]},
      "rmr": {"protPort": "tcp:4560", "maxSize": 2072, "numWorkers": 1},
      "controls": {"anything": "the app's own configuration"},
      "metrics": [{"objectName": "...", "objectInstance": "...", "name": "...",
                   "type": "counter", "description": "..."}]
    }

Validation uses ``descriptor.schema.json`` (beside this module; it follows the
xapp-onboarder schema, see there for what XTRUST relaxes and adds) and then
checks what a schema cannot: message names are O-RAN SC names (or numbers).
Every error is a :class:`~xtrust.errors.ConfigError` whose one-line message
names the field, e.g. ``config-file.json: messaging.ports[1].port: 70000 is
greater than the maximum of 65535``.

XTRUST extension: ``policyTypes``, a list of A1 policy type bodies as the A1
mediator takes them (``policy_type_id``, ``name``, ``description``,
``create_schema``); the xApp validates received policies against them.

:class:`ConfigWatcher` notices a changed file by polling ``stat`` (cheap) and
confirms by content hash, so touching the file or a Kubernetes ConfigMap swap
with identical content does not count as a change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from xtrust.errors import ConfigError, InputError
from xtrust.log import get_logger
from xtrust.ric import mtypes

__all__ = [
    "DEFAULT_HTTP_PORT",
    "DEFAULT_RMR_PORT",
    "ConfigWatcher",
    "Descriptor",
    "default_descriptor",
    "load_descriptor",
    "parse_descriptor",
]

log = get_logger("ric.xapp")

DEFAULT_RMR_PORT = 4560
DEFAULT_HTTP_PORT = 8080
_SCHEMA_PATH = Path(__file__).with_name("descriptor.schema.json")
_DATA_PORT_NAMES = ("rmr-data", "rmrdata", "rmr_data")
_ROUTE_PORT_NAMES = ("rmr-route", "rmrroute", "rmr_route")


@cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def schema() -> dict[str, Any]:
    """The JSON schema the descriptor is validated against (a copy)."""
    return json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Descriptor:
    """A validated xApp descriptor and what the SDK reads from it.

    ``raw`` is the whole document (unknown fields kept); ``rmr_port``,
    ``route_port`` and ``http_port`` are the ports named ``rmr-data``,
    ``rmr-route`` and ``http`` (``rmr.protPort`` when there is no
    ``rmr-data`` port), None when absent. Message sets are numbers.
    """

    raw: dict[str, Any]
    name: str
    version: str
    source: str | None = None
    rmr_port: int | None = None
    route_port: int | None = None
    http_port: int | None = None
    rx_messages: frozenset[int] = frozenset()
    tx_messages: frozenset[int] = frozenset()
    policies: frozenset[int] = frozenset()
    max_size: int | None = None
    num_workers: int | None = None
    policy_types: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    digest: str = ""

    @property
    def controls(self) -> dict[str, Any]:
        """The ``controls`` section: the app's own configuration (empty if absent)."""
        value = self.raw.get("controls")
        return value if isinstance(value, dict) else {}

    @property
    def metrics(self) -> list[dict[str, Any]]:
        value = self.raw.get("metrics")
        return value if isinstance(value, list) else []

    def to_json(self) -> str:
        return json.dumps(self.raw, sort_keys=True)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def _schema_error(error: ValidationError, source: str | None) -> ConfigError:
    parts = list(error.absolute_path)
    message = error.message
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = next((r for r in required if r not in instance), None)
        if missing is not None:
            parts.append(missing)
        message = "is required"
    field_name = _path(parts) or "(document)"
    last = parts[-1] if parts else ""
    if error.validator == "pattern" and last == "version":
        message = f"must be a semantic version such as 1.0.0, got {error.instance!r}"
    elif error.validator == "pattern" and last == "protPort":
        message = f"must be 'tcp:PORT', got {error.instance!r}"
    elif error.validator == "anyOf" and any(
        isinstance(p, str) and p.endswith("Messages") for p in parts
    ):
        message = f"must be an O-RAN SC message name or number, got {error.instance!r}"
    elif error.validator == "anyOf" and last == "protPort":
        message = f"must be 'tcp:PORT' or a port number, got {error.instance!r}"
    return ConfigError(" ".join(message.split()), field=field_name, source=source)


def _messages(values: Any, where: list[Any], source: str | None) -> set[int]:
    out: set[int] = set()
    for i, value in enumerate(values or []):
        try:
            out.add(mtypes.mtype(value))
        except InputError as exc:
            raise ConfigError(
                str(exc),
                field=_path([*where, i]),
                source=source,
                hint="use the O-RAN SC names (RIC_SUB_REQ, RIC_INDICATION, ...) or numbers",
            ) from None
    return out


def _port_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().removeprefix("tcp:")
        if text.isdigit():
            return int(text)
    return None


def parse_descriptor(doc: Any, *, source: str | None = None, digest: str = "") -> Descriptor:
    """Validate a descriptor document (parsed JSON) and extract what the SDK needs."""
    if not isinstance(doc, dict):
        raise ConfigError(
            f"the descriptor must be a JSON object, got {type(doc).__name__}",
            field="(document)",
            source=source,
        )
    if "name" not in doc and "xapp_name" not in doc:
        raise ConfigError("is required", field="name", source=source)
    errors = list(_validator().iter_errors(doc))
    if errors:
        best = best_match(errors)
        assert best is not None
        raise _schema_error(best, source)

    name = str(doc.get("name") or doc.get("xapp_name"))
    rx: set[int] = set()
    tx: set[int] = set()
    policies: set[int] = set()
    rmr_port = route_port = http_port = None
    max_size = None
    seen: dict[str, int] = {}
    for i, port in enumerate(doc.get("messaging", {}).get("ports", [])):
        pname = port["name"]
        if pname in seen:
            raise ConfigError(
                f"port name {pname!r} is used twice (also messaging.ports[{seen[pname]}])",
                field=f"messaging.ports[{i}].name",
                source=source,
            )
        seen[pname] = i
        lname = pname.lower()
        if lname == "http" and http_port is None:
            http_port = port["port"]
        elif lname.startswith(_ROUTE_PORT_NAMES) and route_port is None:
            route_port = port["port"]
        elif lname.startswith(_DATA_PORT_NAMES) and rmr_port is None:
            rmr_port = port["port"]
            max_size = port.get("maxSize")
        where = ["messaging", "ports", i]
        rx |= _messages(port.get("rxMessages"), [*where, "rxMessages"], source)
        tx |= _messages(port.get("txMessages"), [*where, "txMessages"], source)
        policies |= set(port.get("policies") or [])

    rmr = doc.get("rmr") or {}
    rx |= _messages(rmr.get("rxMessages"), ["rmr", "rxMessages"], source)
    tx |= _messages(rmr.get("txMessages"), ["rmr", "txMessages"], source)
    policies |= set(rmr.get("policies") or [])
    if rmr_port is None and "protPort" in rmr:
        rmr_port = _port_number(rmr["protPort"])
        if rmr_port is None or not 0 < rmr_port < 65536:
            raise ConfigError(
                f"{rmr['protPort']!r} is not a TCP port (1..65535)",
                field="rmr.protPort",
                source=source,
            )
    if rmr.get("maxSize") is not None:
        max_size = rmr["maxSize"]

    policy_types: dict[int, Mapping[str, Any]] = {}
    for i, body in enumerate(doc.get("policyTypes") or []):
        type_id = body["policy_type_id"]
        if type_id in policy_types:
            raise ConfigError(
                f"policy type {type_id} is declared twice",
                field=f"policyTypes[{i}].policy_type_id",
                source=source,
            )
        try:
            jsonschema.validators.validator_for(body["create_schema"]).check_schema(
                body["create_schema"]
            )
        except jsonschema.SchemaError as exc:
            raise ConfigError(
                f"not a valid JSON schema: {exc.message}",
                field=f"policyTypes[{i}].create_schema",
                source=source,
            ) from None
        policy_types[type_id] = body
    policies |= set(policy_types)

    return Descriptor(
        raw=doc,
        name=name,
        version=doc["version"],
        source=source,
        rmr_port=rmr_port,
        route_port=route_port,
        http_port=http_port,
        rx_messages=frozenset(rx),
        tx_messages=frozenset(tx),
        policies=frozenset(policies),
        max_size=max_size,
        num_workers=rmr.get("numWorkers"),
        policy_types=policy_types,
        digest=digest or hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(),
    )


def parse_descriptor_bytes(data: bytes, *, source: str | None = None) -> Descriptor:
    """Parse and validate descriptor JSON text."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", source=source) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source=source
        ) from None
    return parse_descriptor(doc, source=source, digest=digest)


def load_descriptor(path: str | os.PathLike[str]) -> Descriptor:
    """Read and validate the descriptor file at ``path``."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the xApp descriptor: {exc.strerror or exc}", source=source
        ) from None
    return parse_descriptor_bytes(data, source=source)


def default_descriptor(name: str, version: str = "0.0.0") -> Descriptor:
    """A minimal descriptor for an app run without ``CONFIG_FILE``."""
    return parse_descriptor({"name": name, "version": version}, source="(built-in)")


ChangeCallback = Callable[[Descriptor], Awaitable[None]]


class ConfigWatcher:
    """Polls a descriptor file and calls ``on_change`` with each new valid version.

    Every ``interval`` seconds it compares ``stat`` (inode, size, mtime); only
    when that changed does it read the file and compare its SHA-256 with the
    last one seen. A new content that fails validation is logged and counted
    (``rejected``) and the previous descriptor stays in force; ``on_error``
    gets the error. A missing file is treated the same way.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: ChangeCallback,
        *,
        interval: float = 1.0,
        digest: str = "",
        on_error: Callable[[ConfigError], None] | None = None,
    ):
        if interval <= 0:
            raise InputError(f"config poll interval must be positive, got {interval!r}")
        self.path = Path(path)
        self.interval = interval
        self._on_change = on_change
        self._on_error = on_error
        self._digest = digest
        self._stat = self._stat_key()
        self._task: asyncio.Task[None] | None = None
        self.applied = 0
        self.rejected = 0

    def _stat_key(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"config-watch-{self.path.name}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def check(self) -> bool:
        """Look once; True if a new valid descriptor was applied."""
        key = self._stat_key()
        if key == self._stat:
            return False
        self._stat = key
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            self._reject(ConfigError(f"cannot read: {exc.strerror or exc}", source=str(self.path)))
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._digest:
            return False
        try:
            new = parse_descriptor_bytes(data, source=str(self.path))
        except ConfigError as exc:
            self._digest = digest  # do not report the same bad content again
            self._reject(exc)
            return False
        self._digest = digest
        self.applied += 1
        await self._on_change(new)
        return True

    def _reject(self, exc: ConfigError) -> None:
        self.rejected += 1
        log.error("config change ignored, keeping the previous configuration: %s", exc)
        if self._on_error is not None:
            self._on_error(exc)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config change handler failed")
