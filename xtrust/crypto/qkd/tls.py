"""TLS contexts for mutual TLS between SAEs and KMEs, and the peer's identity.

The KME requires a client certificate signed by its CA (``CERT_REQUIRED``) and
takes the SAE ID from the certificate subject's common name (CN). Clients check
the KME's certificate against the same CA, host name included. TLS 1.2 is the
floor (ETSI GS QKD 014 asks for TLS 1.2 or later).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from xtrust.errors import ConfigError

__all__ = ["client_context", "peer_common_name", "server_context"]


def _load(ctx: ssl.SSLContext, cert: Path, key: Path, ca: Path, what: str) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load CA certificate: {exc}", field="ca", source=str(ca)
        ) from None
    try:
        ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load {what} certificate/key: {exc}", field="cert", source=str(cert)
        ) from None
    return ctx


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """A server context that requires a client certificate from ``ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return _load(ctx, Path(cert), Path(key), Path(ca), "server")


def client_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """A client context presenting ``cert`` and checking the server against ``ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname, CERT_REQUIRED
    return _load(ctx, Path(cert), Path(key), Path(ca), "client")


def peer_common_name(peercert: dict[str, Any] | None) -> str | None:
    """The subject CN of a certificate as returned by ``SSLSocket.getpeercert()``."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName" and isinstance(value, str):
                return value
    return None
