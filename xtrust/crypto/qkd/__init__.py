"""QKD key delivery: an ETSI GS QKD 014 client, a KME simulator and its test PKI.

See docs/qkd.md. The client is :class:`KmeClient` (sync) or
:class:`AsyncKmeClient`; the simulator :class:`KmeServer`; ``xtrust qkd`` is the CLI.
"""

from xtrust.crypto.qkd.client import AsyncKmeClient, KmeClient
from xtrust.crypto.qkd.errors import (
    QkdAuthError,
    QkdConnectionError,
    QkdError,
    QkdProtocolError,
    QkdRequestError,
    QkdUnavailableError,
)
from xtrust.crypto.qkd.kme import KmeConfig, KmeServer
from xtrust.crypto.qkd.models import QkdKey, Status

__all__ = [
    "AsyncKmeClient",
    "KmeClient",
    "KmeConfig",
    "KmeServer",
    "QkdAuthError",
    "QkdConnectionError",
    "QkdError",
    "QkdKey",
    "QkdProtocolError",
    "QkdRequestError",
    "QkdUnavailableError",
    "Status",
]
