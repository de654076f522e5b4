"""The xApps RIC-lite knows, their routes, and the routing policy built from them.

xApps register the way they register with O-RAN SC's appmgr (``POST
/ric/v1/register`` with the xApp descriptor in ``config``), or are listed in
the RIC-lite configuration. From their descriptors RIC-lite builds one route
table (the route-manager exchange pushes it to every xApp's route port and
serves it on request) and the default :class:`TableRoutingPolicy`, which
only lets an xApp send the message types its descriptor declares.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

from xtrust.errors import InputError
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.rmr import Message

from .hooks import Decision, SenderInfo

__all__ = ["Registry", "TableRoutingPolicy", "XAppRecord", "descriptor_messages"]

log = get_logger("ric.platform.registry")

#: what the platform itself receives: xApps may always send these to the RIC
#: when they declare them
PLATFORM_RX = {
    mtypes.RIC_SUB_REQ,
    mtypes.RIC_SUB_DEL_REQ,
    mtypes.RIC_CONTROL_REQ,
    mtypes.A1_POLICY_RESP,
    mtypes.A1_POLICY_QUERY,
}


def _mtype(name: Any) -> int:
    if isinstance(name, int):
        return name
    if isinstance(name, str) and name in mtypes.BY_NAME:
        return mtypes.BY_NAME[name]
    if isinstance(name, str) and name.isdigit():
        return int(name)
    raise InputError(f"unknown RMR message type {name!r}")


def descriptor_messages(desc: dict[str, Any]) -> tuple[set[int], set[int], set[int], int | None]:
    """(rx mtypes, tx mtypes, policy type ids, route port) declared by a descriptor."""
    rx: set[int] = set()
    tx: set[int] = set()
    policies: set[int] = set()
    route_port: int | None = None
    ports = desc.get("messaging", {}).get("ports", []) if isinstance(desc, dict) else []
    for port in ports if isinstance(ports, list) else []:
        if not isinstance(port, dict):
            continue
        rx |= {_mtype(m) for m in port.get("rxMessages", []) or []}
        tx |= {_mtype(m) for m in port.get("txMessages", []) or []}
        policies |= {int(p) for p in port.get("policies", []) or []}
        if port.get("name") == "rmr-route" and isinstance(port.get("port"), int):
            route_port = port["port"]
    rmr = desc.get("rmr", {}) if isinstance(desc, dict) else {}
    if isinstance(rmr, dict):
        rx |= {_mtype(m) for m in rmr.get("rxMessages", []) or []}
        tx |= {_mtype(m) for m in rmr.get("txMessages", []) or []}
        policies |= {int(p) for p in rmr.get("policies", []) or []}
    return rx, tx, policies, route_port


def _resolve(endpoint: str) -> str:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"endpoint {endpoint!r} is not host:port")
    try:
        ip = socket.gethostbyname(host)
    except OSError:
        ip = host
    return f"{ip}:{port}"


@dataclass
class XAppRecord:
    name: str  # appInstanceName
    app: str  # appName
    version: str
    rmr_endpoint: str  # as registered (host:port)
    address: str  # resolved ip:port
    http_endpoint: str | None
    rx: set[int] = field(default_factory=set)
    tx: set[int] = field(default_factory=set)
    policies: set[int] = field(default_factory=set)
    route_port: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "appName": self.app,
            "version": self.version,
            "rmrEndpoint": self.rmr_endpoint,
            "httpEndpoint": self.http_endpoint,
            "rxMessages": sorted(self.rx),
            "txMessages": sorted(self.tx),
            "policies": sorted(self.policies),
        }


class Registry:
    def __init__(self) -> None:
        self.xapps: dict[str, XAppRecord] = {}
        self.by_address: dict[str, XAppRecord] = {}

    def register(self, doc: dict[str, Any]) -> XAppRecord:
        """Register from an appmgr ``/ric/v1/register`` body; InputError when malformed."""
        if not isinstance(doc, dict):
            raise InputError("registration body must be a JSON object")
        name = doc.get("appInstanceName") or doc.get("appName")
        rmr = doc.get("rmrEndpoint")
        if not isinstance(name, str) or not name:
            raise InputError("appInstanceName (or appName) is required")
        if not isinstance(rmr, str) or ":" not in rmr:
            raise InputError("rmrEndpoint must be host:port")
        config = doc.get("config") or "{}"
        try:
            desc = json.loads(config) if isinstance(config, str) else config
        except json.JSONDecodeError as exc:
            raise InputError(f"config is not JSON: {exc.msg}") from None
        rx, tx, policies, route_port = descriptor_messages(desc)
        record = XAppRecord(
            name=name,
            app=str(doc.get("appName") or name),
            version=str(doc.get("appVersion") or ""),
            rmr_endpoint=rmr,
            address=_resolve(rmr),
            http_endpoint=doc.get("httpEndpoint"),
            rx=rx,
            tx=tx,
            policies=policies,
            route_port=route_port,
        )
        old = self.xapps.get(name)
        if old is not None:
            self.by_address.pop(old.address, None)
        self.xapps[name] = record
        self.by_address[record.address] = record
        log.info("xApp %s registered at %s", name, record.address)
        return record

    def deregister(self, name: str) -> XAppRecord | None:
        record = self.xapps.pop(name, None)
        if record is not None:
            self.by_address.pop(record.address, None)
        return record

    def sender_of(self, msg: Message) -> SenderInfo:
        endpoint = msg.srcip or msg.src
        record = self.by_address.get(endpoint)
        if record is None and msg.src:
            try:
                record = self.by_address.get(_resolve(msg.src))
            except InputError:
                record = None
        return SenderInfo(endpoint, record.name if record else None)

    def sender_at(self, endpoint: str) -> SenderInfo:
        """Who listens at RMR ``endpoint`` (host:port): the registered xApp, if any."""
        record = self.by_address.get(endpoint)
        if record is None:
            try:
                record = self.by_address.get(_resolve(endpoint))
            except InputError:
                record = None
        if record is None:
            record = next((r for r in self.xapps.values() if r.rmr_endpoint == endpoint), None)
        return SenderInfo(endpoint, record.name if record else None)

    def route_table(self, ric_address: str) -> str:
        """One route table for every xApp (what rtmgr distributes)."""
        receivers: dict[int, list[str]] = {m: [ric_address] for m in PLATFORM_RX}
        for record in self.xapps.values():
            for m in record.rx:
                if m not in PLATFORM_RX:
                    receivers.setdefault(m, []).append(record.rmr_endpoint)
        lines = ["newrt|start|xtrust-ric-lite"]
        for m in sorted(receivers):
            lines.append(f"mse|{m}|-1|{';'.join(receivers[m])}")
        lines.append("newrt|end")
        return "\n".join(lines) + "\n"

    def subscribers_of_policy(self, policy_type_id: int) -> list[XAppRecord]:
        return [r for r in self.xapps.values() if policy_type_id in r.policies]


class TableRoutingPolicy:
    """Default routing policy: a registered xApp may send what its descriptor
    declares (``txMessages``); unregistered senders are allowed unless
    ``require_registration``."""

    def __init__(self, registry: Registry, require_registration: bool = False):
        self.registry = registry
        self.require_registration = require_registration

    def allow(self, sender: SenderInfo, mtype: int) -> Decision:
        if sender.xapp is None:
            if self.require_registration:
                return Decision.deny(f"{sender.endpoint} is not a registered xApp")
            return Decision.allow("unregistered sender (registration not required)")
        record = self.registry.xapps.get(sender.xapp)
        if record is not None and mtype in record.tx:
            return Decision.allow()
        return Decision.deny(f"xApp {sender.xapp} does not declare message type {mtype}")
