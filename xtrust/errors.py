"""The one exception hierarchy of XTRUST.

Every error that a person can act on is an :class:`XTrustError`. Its ``str()``
is one line suitable for a terminal; :meth:`XTrustError.diagnostics` gives the
longer explanation (what went wrong, where, and what to try), which the CLI
prints with ``-v``.

Exit codes of the CLI (see :mod:`xtrust.cli`):

* 0 - success
* 1 - the job ran, and a policy failed (for example ``xtrust certify`` found a
  blocking vulnerability); raise :class:`PolicyViolation` for that
* 2 - bad input, bad configuration, or an error (every other XTrustError)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "ExternalToolError",
    "InputError",
    "PolicyViolation",
    "XTrustError",
]


class XTrustError(Exception):
    """Base class of every error XTRUST raises on purpose.

    ``hint`` is an optional next step for the user ("run ``xtrust keys
    generate`` first"); ``detail`` is optional longer context.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        # One line, whatever the message contained.
        return " ".join(self.message.split())

    def diagnostics(self) -> str:
        """A multi-line explanation for a person: the error, context and next step."""
        lines = [f"{type(self).__name__}: {self.message}"]
        if self.detail:
            lines.append("")
            lines.append(self.detail.rstrip())
        if self.hint:
            lines.append("")
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


class InputError(XTrustError):
    """An argument, file or value given by the user is not acceptable."""


class ConfigError(XTrustError):
    """A configuration file or setting is invalid (names the field)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ):
        where = ""
        if source:
            where += f"{source}: "
        if field:
            where += f"{field}: "
        super().__init__(where + message, hint=hint, detail=detail)
        self.field = field
        self.source = source


class DecodeError(XTrustError):
    """Bytes (a PDU, a frame, a file) could not be decoded."""


class EncodeError(XTrustError):
    """A value could not be encoded (it does not fit the type)."""


class ExternalToolError(XTrustError):
    """An external program or service that XTRUST relies on failed or is missing."""

    def __init__(
        self,
        message: str,
        *,
        tool: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(f"{tool}: {message}" if tool else message, hint=hint, detail=detail)
        self.tool = tool


class PolicyViolation(XTrustError):
    """The job ran correctly and its result fails a policy (exit code 1)."""

    exit_code = 1
