"""``xtrust osv``: offline OSV database information, matching, version and CVSS helpers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xtrust.certify.vuln.cvss import cvss_base_score, severity_from_score
from xtrust.certify.vuln.versions import compare_versions

__all__ = ["osv"]


@click.group()
def osv() -> None:
    """Offline OSV vulnerability matching."""


@osv.command("info")
@click.argument("db_path", metavar="DB", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def info_cmd(db_path: Path, fmt: str) -> None:
    """Load an OSV database (directory of JSON and/or all.zip files) and describe it."""
    from xtrust.certify.vuln.osv import OsvDatabase

    db = OsvDatabase.load(db_path)
    doc = {
        "advisories": db.count,
        "packages": len(db.index),
        "withdrawn_skipped": db.withdrawn_skipped,
        "malformed": db.malformed,
        "newest_modified": db.newest_modified.isoformat() if db.newest_modified else None,
        "digest": db.digest,
    }
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{db.count} advisories over {len(db.index)} packages")
    click.echo(f"  withdrawn skipped: {db.withdrawn_skipped}; malformed: {len(db.malformed)}")
    click.echo(f"  newest modified: {doc['newest_modified']}")
    click.echo(f"  digest: {db.digest}")
    for m in db.malformed[:20]:
        click.echo(f"  malformed: {m}")


@osv.command("match")
@click.argument("db_path", metavar="DB", type=click.Path(exists=True, path_type=Path))
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-syft", is_flag=True, help="Only XTRUST's own readers (no syft run).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def match_cmd(db_path: Path, path: Path, no_syft: bool, fmt: str) -> None:
    """Collect the components of PATH and match them against the OSV database DB."""
    from xtrust.certify.sbom import collect_sbom
    from xtrust.certify.vuln.match import coverage_gaps, match_components
    from xtrust.certify.vuln.osv import OsvDatabase

    sbom = collect_sbom(path, use_syft=not no_syft)
    db = OsvDatabase.load(db_path)
    matches = match_components(db, sbom.components)
    gaps = coverage_gaps(db, sbom.components)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "database": {"digest": db.digest, "advisories": db.count},
                    "components": len(sbom.components),
                    "coverage_gaps": gaps,
                    "matches": [
                        {
                            "component": m.component.name,
                            "ecosystem": m.component.ecosystem,
                            "version": m.component.version,
                            "version_spec": m.component.version_spec,
                            "advisory": m.advisory_id,
                            "aliases": list(m.aliases),
                            "status": m.status,
                            "severity": m.severity,
                            "cvss_score": m.cvss_score,
                            "cvss_vector": m.cvss_vector,
                            "fixed": list(m.fixed_versions),
                            "reason": m.reason,
                        }
                        for m in matches
                    ],
                },
                indent=2,
            )
        )
        return
    click.echo(f"{len(sbom.components)} components, {db.count} advisories: {len(matches)} matches")
    for eco, n in gaps.items():
        click.echo(f"  warning: the database has no {eco} advisories ({n} components unchecked)")
    for m in matches:
        c = m.component
        score = f" {m.cvss_score}" if m.cvss_score is not None else ""
        fixed = f"; fixed in {', '.join(m.fixed_versions)}" if m.fixed_versions else ""
        click.echo(
            f"  {m.status:8} {m.severity:8}{score:5} {m.advisory_id:22} "
            f"{c.ecosystem}/{c.name} {c.version or c.version_spec or '?'}: {m.reason}{fixed}"
        )


@osv.command("cvss")
@click.argument("vector")
def cvss_cmd(vector: str) -> None:
    """Score a CVSS v3.0, v3.1 or v4.0 vector."""
    score = cvss_base_score(vector)
    click.echo(f"{score} {severity_from_score(score)}")


@osv.command("compare")
@click.argument("ecosystem")
@click.argument("a")
@click.argument("b")
def compare_cmd(ecosystem: str, a: str, b: str) -> None:
    """Compare two versions under ECOSYSTEM's ordering (prints <, = or >)."""
    r = compare_versions(ecosystem, a, b)
    click.echo(f"{a} {'<=>'[r + 1]} {b}")
