"""``xtrust xdr correlate ALERTS.jsonl...``: incidents from alerts and events, optional response."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from .core import Xdr
from .correlate import adjacency_from_topology, asset_entity
from .events import Event, read_jsonl
from .playbook import ResponseEngine, load_playbooks

__all__ = ["xdr"]


@click.group()
def xdr() -> None:
    """XDR: correlate security alerts into incidents and respond."""


@xdr.command("correlate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--window",
    type=click.FloatRange(min=0.001),
    default=300.0,
    show_default=True,
    help="Seconds within which events on the same / adjacent entities correlate.",
)
@click.option(
    "--topology",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Threat-model topology: adjacency joins incidents, exposure weighs scores.",
)
@click.option(
    "--segmentation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Segmentation policy: quarantine steps act on it (and its audit log).",
)
@click.option(
    "--segmentation-audit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append the segmentation's own quarantine records (JSON lines) here.",
)
@click.option(
    "--playbook",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Response playbooks (YAML).",
)
@click.option("--dry-run", is_flag=True, help="Show what the playbooks would do; change nothing.")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Response state file (steps done), for idempotence across runs.",
)
@click.option(
    "--audit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append the response audit (JSON lines) here.",
)
@click.option(
    "--shared",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="STIX bundle exported by another site (repeatable).",
)
@click.option(
    "--export-stix",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write this site's indicators and sightings (STIX 2.1 bundle).",
)
@click.option("--site", default="xtrust-site", show_default=True, help="This site's name.")
@click.option(
    "--federation-key",
    envvar="XTRUST_XDR_FEDERATION_KEY",
    default="",
    help="Secret shared by the federated sites to hash UE ids / xApp names "
    "(env XTRUST_XDR_FEDERATION_KEY).",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Only report (and export) incidents with at least this score.",
)
def correlate_cmd(
    inputs: tuple[Path, ...],
    window: float,
    topology: Path | None,
    segmentation: Path | None,
    segmentation_audit: Path | None,
    playbook: Path | None,
    dry_run: bool,
    state: Path | None,
    audit: Path | None,
    shared: tuple[Path, ...],
    export_stix: Path | None,
    site: str,
    federation_key: str,
    min_score: float,
) -> None:
    """Correlate JSON-lines alerts / events (and STIX bundles) into scored incidents."""
    playbooks = load_playbooks(playbook) if playbook is not None else None
    adjacency = None
    exposure = None
    if topology is not None:
        from xtrust.rapps.threatmodel import analyze, load_topology

        topo = load_topology(topology)
        adjacency = adjacency_from_topology(topo)
        result = analyze(topo, k=0)
        exposure = {asset_entity(topo.assets[n].kind, n): v for n, v in result.exposure.items()}
    seg = None
    if segmentation is not None:
        from xtrust.xapps.segmentation import Segmentation, load_policy

        seg = Segmentation(load_policy(segmentation), audit_log=segmentation_audit, check=False)
    engine = Xdr(
        site,
        window=window,
        adjacency=adjacency,
        exposure=exposure,
        federation_key=federation_key.encode("utf-8"),
    )
    for path in shared:
        engine.ingest_shared(_read_json(path))
    events: list[Event] = []
    for path in inputs:
        events.extend(read_jsonl(path, engine.ledger_names))
    engine.ingest_many(events)
    incidents = [i for i in engine.incidents() if i.score >= min_score]
    doc: dict[str, Any] = {"events": len(events), "incidents": [i.to_json() for i in incidents]}
    if playbooks is not None:
        responder = ResponseEngine(
            playbooks, segmentation=seg, state_path=state, audit_path=audit, dry_run=dry_run
        )
        doc["response"] = asyncio.run(responder.respond(incidents))
    if export_stix is not None:
        from xtrust.rapps.threatmodel.cli import write_atomic

        bundle = engine.export_stix(min_score)
        write_atomic(export_stix, json.dumps(bundle, indent=1) + "\n")
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def _read_json(path: Path) -> Any:
    from xtrust.errors import DecodeError, InputError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise DecodeError(f"{path}: not JSON: {exc.msg}") from None
