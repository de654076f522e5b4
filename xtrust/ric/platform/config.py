"""RIC-lite configuration: every field has a default that works on one machine."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from xtrust.errors import ConfigError

__all__ = ["RicLiteConfig"]


@dataclass
class RicLiteConfig:
    """Settings of one RIC-lite process (see ``xtrust ric run --help``)."""

    host: str = "127.0.0.1"
    #: E2 termination (E2 nodes connect here); 36421 is the E2 port of the spec
    e2_port: int = 36421
    #: "auto" (SCTP when the kernel has it), "sctp" or "tcp"
    e2_transport: str = "auto"
    #: the RMR port xApps send to (subscription manager, E2 termination, A1 mediator)
    rmr_port: int = 4560
    #: HTTP: A1-P v2, appmgr-style registration, health, metrics
    http_port: int = 10000
    #: route manager (serves RMR route-table requests, type 21); None: no route manager
    rtmgr_port: int | None = 4570
    #: the RIC's identity in E2 Setup responses
    plmn: str = "001-01"
    ric_id: int = 1
    #: RICrequestID.requestorID the RIC uses toward E2 nodes
    requestor_id: int = 123
    #: SDL for the RNIB: None/"memory://" or "redis://host:port/db"
    sdl_url: str | None = None
    #: seconds to wait for an E2 node to answer a subscription / delete / control
    node_timeout: float = 5.0
    #: PDUs per second one E2 node may send before it is throttled
    node_pdu_rate: float = 50_000.0
    #: messages queued per xApp before indications are dropped (slow xApp)
    xapp_queue: int = 10_000
    #: refuse RMR messages from senders that have not registered
    require_registration: bool = False
    #: largest E2AP PDU accepted from a node
    max_pdu: int = 1 << 20
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        for name in ("e2_port", "rmr_port", "http_port", "rtmgr_port"):
            port = getattr(self, name)
            if name == "rtmgr_port" and port is None:
                continue
            if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
                raise ConfigError(f"must be a port number 0..65535, not {port!r}", field=name)
        if self.e2_transport not in ("auto", "sctp", "tcp"):
            raise ConfigError("must be auto, sctp or tcp", field="e2_transport")
        if not 0 <= self.ric_id < (1 << 20):
            raise ConfigError("must fit in 20 bits", field="ric_id")
        if not 0 <= self.requestor_id <= 0xFFFF:
            raise ConfigError("must be 0..65535", field="requestor_id")
        mcc, _, mnc = self.plmn.partition("-")
        if not (mcc.isdigit() and len(mcc) == 3 and mnc.isdigit() and len(mnc) in (2, 3)):
            raise ConfigError("must be MCC-MNC, e.g. 001-01", field="plmn")
        for name in ("node_timeout", "node_pdu_rate"):
            if not getattr(self, name) > 0:
                raise ConfigError("must be positive", field=name)
        if self.xapp_queue < 1:
            raise ConfigError("must be at least 1", field="xapp_queue")

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "config") -> RicLiteConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ConfigError("unknown setting", field=unknown[0], source=source)
        try:
            cfg = cls(**doc)
            cfg.validate()
        except ConfigError as exc:
            raise ConfigError(exc.message, source=source) from None
        except TypeError as exc:
            raise ConfigError(str(exc), source=source) from None
        return cfg
