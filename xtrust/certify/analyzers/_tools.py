"""Finding and running the external tools behind analyzers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from xtrust.errors import ExternalToolError

__all__ = ["find_tool", "run_tool", "set_version_cache", "tool_version"]

_version_lookup: Callable[[str, Callable[[], str]], str] | None = None


def set_version_cache(lookup: Callable[[str, Callable[[], str]], str] | None) -> None:
    """Install a memo for tool versions (the result cache's ``tool_version``)."""
    global _version_lookup
    _version_lookup = lookup


def find_tool(name: str) -> str | None:
    """The executable ``name``: beside the running interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def run_tool(
    argv: Sequence[str],
    *,
    tool: str,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool, capturing text output; a timeout or missing program raises."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        return subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ExternalToolError(f"timed out after {timeout:g} s", tool=tool) from None
    except OSError as exc:
        raise ExternalToolError(f"cannot run {argv[0]}: {exc.strerror or exc}", tool=tool) from None


def tool_version(
    exe: str | None,
    argv: Sequence[str],
    parse: Callable[[str], str],
    env: dict[str, str] | None = None,
) -> str:
    """``parse(output of argv)``, memoised by the executable's identity."""
    if exe is None:
        return ""

    def compute() -> str:
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return parse(proc.stdout + proc.stderr)

    if _version_lookup is not None:
        return _version_lookup(exe, compute)
    return compute()
