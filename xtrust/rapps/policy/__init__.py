"""The risk-based zero-trust access-control engine (PDP) of XTRUST.

``Pdp.authorize(request) -> Decision``: identity (registered subjects),
context (zone, location, time) and live risk (threat intelligence,
vulnerabilities, ledger state, alert behaviour) decided by Cedar policies
validated against a Cedar schema at load. Enforcement points: the HTTP API
(:mod:`.http`), RIC-lite's control admission hook (:class:`RiskAdmission`),
and A1-P policies pushed to the near-RT RIC (:class:`A1Pusher`).
"""

from xtrust.rapps.policy.a1 import POLICY_TYPE, POLICY_TYPE_ID, A1Pusher, risk_policy
from xtrust.rapps.policy.admission import RiskAdmission
from xtrust.rapps.policy.alerts import Alert, BehaviourTracker, parse_alerts
from xtrust.rapps.policy.cedar import PolicyBundle, default_bundle, load_bundle
from xtrust.rapps.policy.config import ServiceConfig, load_config
from xtrust.rapps.policy.model import AccessRequest, Decision, Factor, Resource, Subject
from xtrust.rapps.policy.pdp import Pdp
from xtrust.rapps.policy.risk import (
    CallableLedgerState,
    DictLedgerState,
    LedgerState,
    RiskConfig,
    RiskEngine,
    VulnPosture,
    read_certify_report,
)
from xtrust.rapps.policy.service import PolicyService, build_bundle, build_service

__all__ = [
    "POLICY_TYPE",
    "POLICY_TYPE_ID",
    "A1Pusher",
    "AccessRequest",
    "Alert",
    "BehaviourTracker",
    "CallableLedgerState",
    "Decision",
    "DictLedgerState",
    "Factor",
    "LedgerState",
    "Pdp",
    "PolicyBundle",
    "PolicyService",
    "Resource",
    "RiskAdmission",
    "RiskConfig",
    "RiskEngine",
    "ServiceConfig",
    "Subject",
    "VulnPosture",
    "build_bundle",
    "build_service",
    "default_bundle",
    "load_bundle",
    "load_config",
    "parse_alerts",
    "read_certify_report",
    "risk_policy",
]
