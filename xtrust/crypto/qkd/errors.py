"""Errors of the QKD key delivery client, the KME simulator and the certificate tool.

Every one is an :class:`~xtrust.errors.XTrustError`, so the CLI prints it in one
line and exits 2. The HTTP status codes of ETSI GS QKD 014 map as follows:

* 400 (bad request: wrong size, unknown or already delivered key ID, malformed
  JSON) -> :class:`QkdRequestError` (also an :class:`~xtrust.errors.InputError`)
* 401 (the KME does not accept this SAE for this request) -> :class:`QkdAuthError`
* 503 (the KME cannot serve: key store exhausted, peer KME down), still after
  the retries -> :class:`QkdUnavailableError`
* an answer that is not what the standard says (not JSON, wrong shape, wrong
  key size, a TLS or connection failure) -> :class:`QkdProtocolError` or
  :class:`QkdConnectionError`
"""

from __future__ import annotations

from typing import Any

from xtrust.errors import DecodeError, InputError, XTrustError

__all__ = [
    "QkdAuthError",
    "QkdConnectionError",
    "QkdError",
    "QkdProtocolError",
    "QkdRequestError",
    "QkdUnavailableError",
]


class QkdError(XTrustError):
    """Base class: a QKD key delivery request failed.

    ``status`` is the HTTP status code when the KME answered, ``details`` the
    ``details`` list of its ETSI 014 error object (empty if none).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: list[Any] | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(message, hint=hint, detail=detail)
        self.status = status
        self.details = list(details or [])


class QkdRequestError(QkdError, InputError):
    """The KME rejected the request as malformed or impossible (HTTP 400)."""


class QkdAuthError(QkdError):
    """The KME did not accept this SAE (HTTP 401), or the TLS client certificate was refused."""


class QkdUnavailableError(QkdError):
    """The KME could not serve the request (HTTP 503), also after the retries."""


class QkdProtocolError(QkdError, DecodeError):
    """The KME answered with something that is not a valid ETSI GS QKD 014 response."""


class QkdConnectionError(QkdError):
    """The KME could not be reached (connection refused, timeout, TLS failure)."""
