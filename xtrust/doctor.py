"""``xtrust doctor``: what this machine offers the toolkit.

Reports, for each engine that XTRUST can use, whether it is present and which
embedded default is used in its place when it is not (kernel SCTP or the TCP
fallback for E2, Redis or the in-memory SDL, an Ethereum node or the embedded
chain, ...). Every probe is local: nothing here touches the network.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from xtrust import __version__

__all__ = ["Check", "doctor", "run_checks"]


@dataclass(frozen=True)
class Check:
    """One probe: what was looked for, whether it is there, and what it means."""

    name: str
    ok: bool
    found: str
    note: str


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _program(name: str, extra_dirs: list[Path]) -> str | None:
    for folder in extra_dirs:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _version_of(path: str, flag: str = "--version") -> str:
    try:
        out = subprocess.run(
            [path, flag], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return path
    first = out.strip().splitlines()[0] if out.strip() else ""
    return f"{first} ({path})" if first else path


def run_checks(node_bin: Path | None = None) -> list[Check]:
    """Probe the machine. ``node_bin`` is an extra folder for npm-installed tools."""
    extra = [node_bin] if node_bin else [Path.cwd() / "node_modules" / ".bin"]
    extra.append(Path(sys.executable).parent)  # tools installed in this virtualenv
    checks = [
        Check("xtrust", True, __version__, "this toolkit"),
        Check(
            "python",
            sys.version_info >= (3, 11),
            platform.python_version(),
            "Python 3.11 or newer is required",
        ),
    ]
    from xtrust.ric.e2 import sctp_unavailable_reason

    why_not = sctp_unavailable_reason()
    ok = why_not is None
    checks.append(
        Check(
            "sctp",
            ok,
            why_not or "kernel SCTP sockets",
            "E2 over SCTP (port 36421)"
            if ok
            else "no kernel SCTP: E2 uses the TCP fallback (4-byte length framing)",
        )
    )
    for dist, why in (
        ("asn1tools", "ASN.1 PER codecs for E2AP / E2SM"),
        ("pycrate", "independent E2AP codec, used by the cross-validation tests"),
    ):
        version = _dist_version(dist)
        checks.append(Check(dist, version is not None, version or "not installed", why))
    for prog, why in (
        ("redis-server", "Redis back end of the shared data layer (SDL)"),
        ("anvil", "Ethereum JSON-RPC node, used by the ledger tests"),
        ("solc", "Solidity compiler (npm solc: solcjs), used by `make contracts`"),
        ("bandit", "Python SAST for `xtrust certify`"),
        ("semgrep", "SAST with the XTRUST rule pack for `xtrust certify`"),
        ("syft", "SBOM generator for `xtrust certify`"),
    ):
        path = _program(prog, extra) or (_program("solcjs", extra) if prog == "solc" else None)
        checks.append(
            Check(
                prog,
                path is not None,
                _version_of(path) if path else "not found",
                why,
            )
        )
    return checks


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def doctor(fmt: str) -> None:
    """Show which engines this machine has and which embedded defaults stand in."""
    checks = run_checks()
    if fmt == "json":
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="xtrust doctor", show_lines=False)
    table.add_column("component")
    table.add_column("status")
    table.add_column("found")
    table.add_column("meaning")
    for c in checks:
        table.add_row(c.name, "[green]ok[/]" if c.ok else "[yellow]absent[/]", c.found, c.note)
    Console(width=max(120, shutil.get_terminal_size().columns)).print(table)
