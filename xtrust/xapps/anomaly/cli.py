"""``xtrust detect``: intrusion detection on recorded telemetry.

``xtrust detect mobiflow --benign DIR TRACE...`` learns from benign MobiFlow
traces and prints one JSON line per trace; ``xtrust detect kpm TRACE...``
replays recorded KPM streams (``xtrust twin run --record-kpm``) through the
cell-level detector and prints one JSON line per trace.
"""

from __future__ import annotations

import json

import click

from xtrust.errors import InputError

from .detector import MobiflowDetector, expand_paths, load_trace

__all__ = ["detect"]


@click.group()
def detect() -> None:
    """Detect attacks in recorded RAN telemetry."""


@detect.command("mobiflow")
@click.option(
    "--benign",
    "benign",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Benign trace file or directory of *.csv traces (repeatable).",
)
@click.option(
    "--margin",
    type=float,
    default=1.0,
    show_default=True,
    help="Bits added to the leave-one-out benign score to make the threshold.",
)
@click.argument("traces", nargs=-1, required=True)
def mobiflow(benign: tuple[str, ...], margin: float, traces: tuple[str, ...]) -> None:
    """Print one JSON verdict per MobiFlow TRACE (file or directory)."""
    files = expand_paths(benign)
    if not files:
        raise InputError("no benign traces found in " + ", ".join(benign))
    detector = MobiflowDetector(margin=margin).fit([load_trace(f).records for f in files])
    targets = expand_paths(traces)
    if not targets:
        raise InputError("no traces to check in " + ", ".join(traces))
    for path in targets:
        click.echo(json.dumps(detector.detect_file(path).as_dict(), sort_keys=True))


@detect.command("kpm")
@click.argument("traces", nargs=-1, required=True)
def kpm(traces: tuple[str, ...]) -> None:
    """Print one JSON verdict per recorded KPM TRACE (JSON lines; file or directory)."""
    from .kpm_trace import detect_kpm_trace

    targets = expand_paths(traces, pattern="*.jsonl")
    if not targets:
        raise InputError("no KPM traces found in " + ", ".join(traces))
    for path in targets:
        click.echo(json.dumps(detect_kpm_trace(path), sort_keys=True))
