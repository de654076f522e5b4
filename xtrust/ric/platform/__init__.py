"""RIC-lite: a small near-RT RIC (E2 termination, subscription manager, routing, A1).

See :class:`RicLite` and docs/ric-lite.md. The plug points for
micro-segmentation and the zero-trust engine are in :mod:`.hooks`.
"""

from xtrust.ric.platform.config import RicLiteConfig
from xtrust.ric.platform.hooks import (
    AllOf,
    AllowAllControl,
    AllowAllSubscriptions,
    ControlAdmission,
    ControlRequestInfo,
    Decision,
    RoutingPolicy,
    SenderInfo,
    SubscriptionAdmission,
    SubscriptionRequestInfo,
)
from xtrust.ric.platform.registry import Registry, TableRoutingPolicy, XAppRecord
from xtrust.ric.platform.ric import RicLite

__all__ = [
    "AllOf",
    "AllowAllControl",
    "AllowAllSubscriptions",
    "ControlAdmission",
    "ControlRequestInfo",
    "Decision",
    "Registry",
    "RicLite",
    "RicLiteConfig",
    "RoutingPolicy",
    "SenderInfo",
    "SubscriptionAdmission",
    "SubscriptionRequestInfo",
    "TableRoutingPolicy",
    "XAppRecord",
]
