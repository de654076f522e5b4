"""``xtrust sbom``: inventory a tree or root filesystem, write CycloneDX / SPDX."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from xtrust.certify.sbom.collect import collect_sbom
from xtrust.certify.sbom.cyclonedx import write_cyclonedx
from xtrust.certify.sbom.model import Sbom
from xtrust.certify.sbom.spdx import write_spdx

__all__ = ["sbom"]


@contextlib.contextmanager
def progress(message: str, quiet: bool) -> Iterator[None]:
    """A rich spinner on a terminal (stderr); nothing when quiet or not a TTY."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def sbom_summary(sbom: Sbom) -> dict[str, Any]:
    by_eco: dict[str, int] = {}
    for c in sbom.components:
        by_eco[c.ecosystem] = by_eco.get(c.ecosystem, 0) + 1
    return {
        "target": sbom.target_name,
        "components": len(sbom.components),
        "by_ecosystem": dict(sorted(by_eco.items())),
        "unpinned": sum(1 for c in sbom.components if c.version is None),
        "tools": sbom.tool_versions,
        "warnings": sbom.warnings,
    }


@click.group()
def sbom() -> None:
    """Software bill of materials: syft plus XTRUST's own manifest readers."""


@sbom.command("collect")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-syft", is_flag=True, help="Only XTRUST's own readers (no syft run).")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True)
@click.option(
    "--cyclonedx",
    "cdx_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write CycloneDX 1.6 JSON here.",
)
@click.option(
    "--spdx",
    "spdx_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write SPDX 2.3 JSON here.",
)
@click.option(
    "--osv-db",
    type=click.Path(exists=True, path_type=Path),
    help="Match against this OSV database (directory or all.zip); matches go into the CycloneDX VEX.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def collect_cmd(
    path: Path,
    no_syft: bool,
    timeout: float,
    cdx_out: Path | None,
    spdx_out: Path | None,
    osv_db: Path | None,
    fmt: str,
) -> None:
    """Inventory PATH (a source tree or an extracted root filesystem)."""
    quiet = fmt == "json"
    with progress(f"Collecting components of {path}", quiet):
        result = collect_sbom(path, use_syft=not no_syft, timeout=timeout)
    matches = []
    db_info: dict[str, Any] | None = None
    if osv_db is not None:
        from xtrust.certify.vuln import OsvDatabase, coverage_gaps, match_components

        with progress(f"Loading OSV database {osv_db}", quiet):
            db = OsvDatabase.load(osv_db)
        matches = match_components(db, result.components)
        db_info = {
            "advisories": db.count,
            "digest": db.digest,
            "malformed": len(db.malformed),
            "coverage_gaps": coverage_gaps(db, result.components),
        }
    if cdx_out is not None:
        write_cyclonedx(result, cdx_out, vulnerabilities=matches)
    if spdx_out is not None:
        write_spdx(result, spdx_out)
    summary = sbom_summary(result)
    if db_info is not None:
        summary["osv"] = db_info
        summary["vulnerabilities"] = {
            "affected": sum(1 for m in matches if m.status == "affected"),
            "unknown": sum(1 for m in matches if m.status == "unknown"),
        }
    if fmt == "json":
        summary["components_list"] = [
            {
                "name": c.name,
                "version": c.version,
                "ecosystem": c.ecosystem,
                "purl": c.purl,
                "version_spec": c.version_spec,
                "distro": c.distro,
                "source": c.source,
                "locations": list(c.locations),
            }
            for c in result.components
        ]
        click.echo(json.dumps(summary, indent=2))
        return
    eco = ", ".join(f"{k} {v}" for k, v in summary["by_ecosystem"].items()) or "none"
    tools = ", ".join(f"{k} {v}" for k, v in summary["tools"].items())
    click.echo(f"{summary['components']} components in {result.target_name} ({eco})")
    click.echo(f"  without a pinned version: {summary['unpinned']}; tools: {tools}")
    if db_info is not None:
        v = summary["vulnerabilities"]
        click.echo(
            f"  OSV: {db_info['advisories']} advisories ({db_info['digest'][:19]}...): "
            f"{v['affected']} affected, {v['unknown']} unknown"
        )
        for eco, n in db_info["coverage_gaps"].items():
            click.echo(
                f"  warning: the OSV database has no {eco} advisories ({n} components unchecked)"
            )
    for w in result.warnings:
        click.echo(f"  warning: {w}")
    for out in (cdx_out, spdx_out):
        if out is not None:
            click.echo(f"  wrote {out}")
