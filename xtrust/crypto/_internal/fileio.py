"""Atomic file writes: a reader never sees a half-written key or envelope."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from xtrust.errors import InputError

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    The file gets permission bits ``mode`` before it becomes visible. With
    ``overwrite=False`` an existing file is never replaced (the final step is
    a hard link, which fails atomically when the name exists); otherwise the
    final step is :func:`os.replace`.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{target}: directory {directory} does not exist")
    if not overwrite and os.path.lexists(target):
        raise InputError(f"{target}: file exists (use --force to overwrite)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise InputError(f"{target}: file exists (use --force to overwrite)") from None
            os.unlink(tmp)
        _fsync_dir(directory)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
        raise


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
