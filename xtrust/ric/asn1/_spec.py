"""Loading and caching of our compiled ASN.1 specifications.

Each specification is one or more ``.asn`` files in this folder, compiled by
asn1tools for aligned PER. Compiling E2AP takes a noticeable fraction of a
second, so the compiled object is pickled under the user's cache directory
(``$XDG_CACHE_HOME/xtrust/asn1`` or ``~/.cache/xtrust/asn1``), keyed by a
digest of the sources and the asn1tools version; a stale or unreadable cache
entry is simply rebuilt. Set ``XTRUST_NO_ASN1_CACHE=1`` to bypass the cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtrust.errors import DecodeError, EncodeError, InputError
from xtrust.log import get_logger

__all__ = ["SPECS", "SpecInfo", "cache_dir", "load"]

_HERE = Path(__file__).resolve().parent
_log = get_logger("ric.asn1")


@dataclass(frozen=True)
class SpecInfo:
    """One specification: its CLI name, source files and default PDU type."""

    name: str
    files: tuple[str, ...]
    default_type: str | None
    title: str


#: The specifications XTRUST ships, by the name the CLI uses.
SPECS: dict[str, SpecInfo] = {
    "e2ap": SpecInfo("e2ap", ("e2ap.asn",), "E2AP-PDU", "O-RAN E2AP v3"),
    "e2sm-kpm": SpecInfo("e2sm-kpm", ("e2sm_kpm.asn",), None, "O-RAN E2SM-KPM v3"),
    "e2sm-rc": SpecInfo("e2sm-rc", ("e2sm_rc.asn",), None, "O-RAN E2SM-RC v1.03"),
}

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "xtrust" / "asn1"


def _digest(info: SpecInfo) -> str:
    import asn1tools

    h = hashlib.sha256()
    h.update(asn1tools.__version__.encode())
    for name in info.files:
        h.update(b"\0" + name.encode() + b"\0")
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()[:32]


def _compile(info: SpecInfo) -> Any:
    import asn1tools

    paths = [str(_HERE / f) for f in info.files]
    return asn1tools.compile_files(paths, codec="per")


def _load_uncached(info: SpecInfo) -> Any:
    if os.environ.get("XTRUST_NO_ASN1_CACHE"):
        return _compile(info)
    path = cache_dir() / f"{info.name}-{_digest(info)}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        pass
    except Exception as exc:  # a corrupt or incompatible cache entry: rebuild it
        _log.info("ignoring unreadable ASN.1 cache %s: %s", path, exc)
    compiled = _compile(info)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(compiled, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:  # read-only home, full disk: work without the cache
        _log.info("cannot write ASN.1 cache %s: %s", path, exc)
    return compiled


def load(spec: str) -> Any:
    """The compiled asn1tools specification named ``spec`` (see :data:`SPECS`)."""
    try:
        return _loaded[spec]
    except KeyError:
        pass
    info = SPECS.get(spec)
    if info is None:
        raise InputError(f"unknown ASN.1 specification {spec!r} (known: {', '.join(SPECS)})")
    with _lock:
        if spec not in _loaded:
            _loaded[spec] = _load_uncached(info)
    return _loaded[spec]


def type_names(spec: str) -> list[str]:
    """Every type the specification defines, sorted."""
    compiled = load(spec)
    return sorted(compiled.types)


def encode(spec: str, type_name: str, value: Any) -> bytes:
    """Encode ``value`` (asn1tools value conventions) as aligned PER."""
    compiled = load(spec)
    if type_name not in compiled.types:
        raise InputError(f"{SPECS[spec].title} has no type {type_name!r}")
    try:
        return bytes(compiled.encode(type_name, value, check_constraints=True))
    except Exception as exc:  # asn1tools raises EncodeError, ValueError, KeyError, TypeError...
        raise EncodeError(f"cannot encode {type_name}: {_one_line(exc)}") from exc


def decode(spec: str, type_name: str, data: bytes) -> Any:
    """Decode aligned PER bytes; any failure is a :class:`DecodeError`."""
    compiled = load(spec)
    if type_name not in compiled.types:
        raise InputError(f"{SPECS[spec].title} has no type {type_name!r}")
    try:
        return compiled.decode(type_name, bytes(data), check_constraints=True)
    except Exception as exc:
        raise DecodeError(f"cannot decode {type_name}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
