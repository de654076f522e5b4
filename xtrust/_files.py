"""Atomic file writes, one place for the toolkit: a reader sees the old file or the
whole new one, never a half-written key, report, keystore or SBOM."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from xtrust.errors import InputError

__all__ = ["write_atomic"]


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    mode: int | None = None,
    overwrite: bool = True,
    make_dirs: bool = False,
) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` through a temporary file in the same
    directory, fsync'd.

    The file gets permission bits ``mode`` (default: a normal file, 0666 less the
    umask) before it becomes visible. With ``overwrite=False`` an existing file
    is never replaced (the final step is a hard link, which fails atomically
    when the name exists); otherwise the final step is :func:`os.replace`.
    ``make_dirs`` creates missing parent directories. Failures are
    :class:`~xtrust.errors.InputError` naming the file; nothing is left behind.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if isinstance(data, str):
        data = data.encode("utf-8")
    if mode is None:
        mode = 0o666 & ~_umask()
    if make_dirs:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{target}: cannot create {directory}: {exc.strerror or exc}") from exc
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
