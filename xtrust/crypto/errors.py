"""Errors of :mod:`xtrust.crypto`.

All of them are :class:`~xtrust.errors.XTrustError` subclasses, so the CLI
prints them as one line. The exit codes follow the CLI convention:

* :class:`VerificationError` and its subclasses (:class:`SignatureError`,
  :class:`SubjectMismatchError`) mean "the check ran and failed": exit 1.
* :class:`KeyFileError`, :class:`EnvelopeError` and :class:`StatementError` are
  bad input: exit 2.

:class:`EnvelopeError` is also a :class:`SignatureError`, so a caller that only
wants to know "is this envelope good?" catches :class:`SignatureError` alone.
"""

from __future__ import annotations

from xtrust.errors import InputError, XTrustError

__all__ = [
    "EnvelopeError",
    "KeyFileError",
    "SignatureError",
    "StatementError",
    "SubjectMismatchError",
    "VerificationError",
]


class VerificationError(XTrustError):
    """A verification ran and the object did not pass (exit code 1)."""

    exit_code = 1


class SignatureError(VerificationError):
    """A signature (or one half of a hybrid signature) does not verify."""


class SubjectMismatchError(VerificationError):
    """The attested artifact digest is not among the statement's subjects."""


class KeyFileError(InputError):
    """A key file is missing, corrupted, of the wrong kind, or the passphrase is wrong."""


class EnvelopeError(SignatureError, InputError):
    """A DSSE envelope is not well-formed (bad JSON shape, bad base64): bad input, exit 2."""

    exit_code = 2


class StatementError(InputError):
    """A payload is not a valid in-toto Statement v1."""
