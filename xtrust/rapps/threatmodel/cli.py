"""``xtrust threat analyze TOPOLOGY.yaml``: attack paths, exposure and the flows to cut."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xtrust._files import write_atomic

from .graph import analyze
from .render import to_dot, to_html, to_json
from .rules import load_fight
from .topology import load_topology, merge_segmentation

__all__ = ["threat", "write_atomic"]


@click.group()
def threat() -> None:
    """Graph-based threat model of an O-RAN deployment."""


@threat.command("analyze")
@click.argument("topology", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fight",
    "fight_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="MITRE FiGHT fight.yaml: add rules derived from its techniques.",
)
@click.option(
    "--segmentation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Segmentation policy: take reachability from the flows it allows.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["json", "dot", "html"]), default="json", show_default=True
)
@click.option(
    "-k",
    "k",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="Best paths per critical asset.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (default: stdout).",
)
def analyze_cmd(
    topology: Path,
    fight_path: Path | None,
    segmentation: Path | None,
    fmt: str,
    k: int,
    out: Path | None,
) -> None:
    """Attack paths to each critical asset, per-asset exposure and the minimum cut."""
    topo = load_topology(topology)
    if segmentation is not None:
        from xtrust.xapps.segmentation import load_policy

        topo = merge_segmentation(topo, load_policy(segmentation))
    fight = load_fight(fight_path) if fight_path is not None else None
    result = analyze(topo, fight, k=k)
    if fmt == "json":
        text = json.dumps(to_json(result), indent=2) + "\n"
    elif fmt == "dot":
        text = to_dot(result)
    else:
        text = to_html(result)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
