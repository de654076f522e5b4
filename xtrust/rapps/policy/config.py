"""Configuration of the policy service (YAML or JSON), validated with a JSON schema.

Every field has a default that works: an empty file gives the default schema
and policies, no subjects (everything denied), threshold 70. Example::

    threshold: 70
    schema: my.cedarschema.json        # default: the shipped schema
    policies: my-policies.cedar        # default: the shipped policies
    subjects:
      - {id: kpimon, kind: xapp, zone: ric, ran_functions: [2],
         image_digest: "sha256:...", addresses: [10.0.0.7]}
      - {id: alice, kind: operator, role: operator, zone: mgmt}
    ledger: {kpimon: approved}          # a static LedgerState
    reports: {kpimon: reports/kpimon/report.json}
    stix_files: [feeds/local.json]
    taxii:
      - {api_root: "https://feed/api1/", collection: "<id>", username: u, password_env: FEED_PW}
    taxii_interval: 300
    risk: {half_life: 900, zone_risk: {core: 0, edge: 5, external: 30}, unknown_zone: 10,
           business_hours: [6, 20], off_hours: 10, locations: [], unknown_location: 15,
           unregistered: 20, ledger_ttl: 1}
    a1: {url: "http://127.0.0.1:10000", policy_id: xtrust-risk, interval: 10}
    audit: decisions.jsonl

Relative paths are relative to the configuration file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xtrust.errors import ConfigError
from xtrust.rapps.ti.taxii import TaxiiSource

from .model import Subject
from .risk import RiskConfig

__all__ = ["CONFIG_SCHEMA", "ServiceConfig", "load_config"]

_num = {"type": "number", "minimum": 0}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "threshold": {"type": "integer", "minimum": 0, "maximum": 100},
        "schema": {"type": "string"},
        "policies": {"type": "string"},
        "subjects": {"type": "array", "items": {"type": "object"}},
        "ledger": {"type": "object", "additionalProperties": {"type": "string"}},
        "reports": {"type": "object", "additionalProperties": {"type": "string"}},
        "stix_files": {"type": "array", "items": {"type": "string"}},
        "taxii": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["api_root", "collection"],
                "properties": {
                    "api_root": {"type": "string", "pattern": "^https?://"},
                    "collection": {"type": "string", "minLength": 1},
                    "username": {"type": "string"},
                    "password": {"type": "string"},
                    "password_env": {"type": "string"},
                },
            },
        },
        "taxii_interval": {"type": "number", "exclusiveMinimum": 0},
        "risk": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "half_life": {"type": "number", "exclusiveMinimum": 0},
                "zone_risk": {"type": "object", "additionalProperties": _num},
                "unknown_zone": _num,
                "business_hours": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": 24},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "off_hours": _num,
                "locations": {"type": "array", "items": {"type": "string"}},
                "unknown_location": _num,
                "unregistered": _num,
                "ledger_ttl": _num,
                "vuln_cap": _num,
            },
        },
        "a1": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "pattern": "^https?://"},
                "policy_id": {"type": "string", "minLength": 1},
                "interval": {"type": "number", "exclusiveMinimum": 0},
            },
        },
        "audit": {"type": "string"},
    },
}


@dataclass
class ServiceConfig:
    threshold: int = 70
    schema: Path | None = None
    policies: Path | None = None
    subjects: list[Subject] = field(default_factory=list)
    ledger: dict[str, str] | None = None
    reports: dict[str, Path] = field(default_factory=dict)
    stix_files: list[Path] = field(default_factory=list)
    taxii: list[TaxiiSource] = field(default_factory=list)
    taxii_interval: float = 300.0
    risk: RiskConfig = field(default_factory=RiskConfig)
    a1_url: str | None = None
    a1_policy_id: str = "xtrust-risk"
    a1_interval: float = 10.0
    audit: Path | None = None
    source: str = "(defaults)"


def load_config(path: str | Path | None) -> ServiceConfig:
    if path is None:
        return ServiceConfig()
    p = Path(path)
    src = str(p)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=src) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not YAML/JSON: {' '.join(str(exc).split())}", source=src) from None
    return config_from_dict(doc or {}, source=src, base=p.parent)


def config_from_dict(
    doc: Any, *, source: str = "config", base: Path | None = None
) -> ServiceConfig:
    try:
        jsonschema.validate(doc, CONFIG_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(x) for x in exc.absolute_path) or None
        raise ConfigError(exc.message, field=where, source=source) from None
    base = base or Path(".")

    def rel(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else base / p

    cfg = ServiceConfig(source=source)
    cfg.threshold = int(doc.get("threshold", cfg.threshold))
    if "schema" in doc:
        cfg.schema = rel(doc["schema"])
    if "policies" in doc:
        cfg.policies = rel(doc["policies"])
    seen: set[str] = set()
    for i, s in enumerate(doc.get("subjects") or []):
        try:
            subject = Subject.from_json(s)
        except Exception as exc:
            raise ConfigError(str(exc), field=f"subjects.{i}", source=source) from None
        if subject.id in seen:
            raise ConfigError(
                f"duplicate subject id {subject.id!r}", field=f"subjects.{i}", source=source
            )
        seen.add(subject.id)
        cfg.subjects.append(subject)
    if "ledger" in doc:
        cfg.ledger = dict(doc["ledger"])
    cfg.reports = {k: rel(v) for k, v in (doc.get("reports") or {}).items()}
    cfg.stix_files = [rel(v) for v in doc.get("stix_files") or []]
    for i, t in enumerate(doc.get("taxii") or []):
        password = t.get("password")
        if t.get("password_env"):
            password = os.environ.get(t["password_env"])
            if password is None:
                raise ConfigError(
                    f"environment variable {t['password_env']} is not set",
                    field=f"taxii.{i}.password_env",
                    source=source,
                )
        cfg.taxii.append(TaxiiSource(t["api_root"], t["collection"], t.get("username"), password))
    cfg.taxii_interval = float(doc.get("taxii_interval", cfg.taxii_interval))
    risk = doc.get("risk") or {}
    rc = RiskConfig(threshold=cfg.threshold)
    for key in ("unknown_zone", "off_hours", "unknown_location", "unregistered", "ledger_ttl",
                "vuln_cap", "half_life"):  # fmt: skip
        if key in risk:
            setattr(rc, key, float(risk[key]))
    if "zone_risk" in risk:
        rc.zone_risk = {k: float(v) for k, v in risk["zone_risk"].items()}
    if "business_hours" in risk:
        rc.business_hours = (int(risk["business_hours"][0]), int(risk["business_hours"][1]))
    if "locations" in risk:
        rc.locations = tuple(risk["locations"])
    cfg.risk = rc
    if "a1" in doc:
        cfg.a1_url = doc["a1"]["url"]
        cfg.a1_policy_id = doc["a1"].get("policy_id", cfg.a1_policy_id)
        cfg.a1_interval = float(doc["a1"].get("interval", cfg.a1_interval))
    if "audit" in doc:
        cfg.audit = rel(doc["audit"])
    return cfg
