"""Content-addressed cache of raw analyzer results.

Results are keyed by the analyzer, its revision, the version of the tool
behind it, extra material the analyzer names (a vulnerability database
digest) and the *content digest* of the scanned tree. They are
policy-independent (the policy is applied afterwards), so changing a policy or
a waiver reuses them. Location: ``$XTRUST_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/xtrust/certify`` or ``~/.cache/xtrust/certify``.

Tool versions themselves are cached by the executable's path, size and mtime
(asking ``semgrep --version`` costs a second).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xtrust.certify.targets import iter_files

__all__ = ["ResultCache", "content_digest", "default_cache_dir"]

_BUF = 1 << 20


def default_cache_dir() -> Path:
    env = os.environ.get("XTRUST_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xtrust" / "certify"


def content_digest(root: Path) -> str:
    """SHA-256 over (relative path, size, file SHA-256) of every regular file under ``root``.

    Uses the same file selection as the analyzers (:func:`iter_files`).
    """
    outer = hashlib.sha256()
    for rel, path in iter_files(root):
        inner = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_BUF):
                    inner.update(chunk)
        except OSError:
            continue
        outer.update(rel.encode("utf-8", "surrogateescape") + b"\0" + inner.digest())
    return "sha256:" + outer.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class ResultCache:
    """A directory of JSON documents keyed by SHA-256; ``enabled=False`` makes it a no-op."""

    def __init__(self, directory: Path | None = None, *, enabled: bool = True):
        self.directory = directory or default_cache_dir()
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> Any:
        if not self.enabled:
            return None
        try:
            doc = json.loads(self._path(kind, key).read_bytes())
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return doc

    def put(self, kind: str, key: str, value: Any) -> None:
        if not self.enabled:
            return
        with contextlib.suppress(OSError):  # a read-only cache only costs time
            _atomic_write(self._path(kind, key), json.dumps(value, sort_keys=True).encode())

    def tool_version(self, exe: str, compute: Callable[[], str]) -> str:
        """The version of executable ``exe``, remembered by path, size and mtime."""
        try:
            st = os.stat(exe)
            ident = f"{os.path.realpath(exe)}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return compute()
        key = self.key("tool-version", ident)
        hit = self.get("tools", key)
        if isinstance(hit, str):
            return hit
        value = compute()
        if value:
            self.put("tools", key, value)
        return value
