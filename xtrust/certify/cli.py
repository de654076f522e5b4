"""``xtrust certify TARGET``: scan an xApp/rApp artifact and give a verdict.

Exit codes: 0 passed, 1 the policy failed, 2 an error or an incomplete run
(an analyzer failed or scanned nothing, a required analyzer did not run).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from xtrust.certify.formats import summary_of
from xtrust.certify.interface import AnalyzerResult, Severity
from xtrust.certify.orchestrator import CertifyOptions, CertifyRun
from xtrust.certify.orchestrator import certify as run_certify

__all__ = ["certify"]

_SEVERITIES = [s.label for s in Severity] + ["none"]


def _text(run: CertifyRun) -> str:
    r = run.report
    lines = [
        f"target:   {r['target']['path']} ({r['target']['kind']})"
        + (f" {r['target']['digest']}" if r["target"].get("digest") else ""),
        f"verdict:  {r['verdict'].upper()} (exit {r['exit_code']})",
    ]
    for reason in r["reasons"]:
        lines.append(f"  - {reason}")
    lines.append("analyzers:")
    for a in r["analyzers"]:
        extra = f" - {a['reason']}" if a["reason"] else ""
        cached = ", cached" if a["cached"] else ""
        lines.append(
            f"  {a['name']:<16} {a['status']:<8} {a['findings']:>4} finding(s),"
            f" {a['scanned_count']} scanned{cached}{extra}"
        )
    s = r["summary"]
    sev = ", ".join(f"{k} {v}" for k, v in s["by_severity"].items() if v)
    lines.append(
        f"findings: {s['active']} active ({sev or 'none'}), {s['waived']} waived,"
        f" {s['baseline']} baseline"
    )
    for f in [x for x in r["findings"] if x["state"] == "active"][:20]:
        loc = f.get("location") or {}
        where = str(loc.get("path") or "")
        if loc.get("start_line"):
            where += f":{loc['start_line']}"
        lines.append(
            f"  [{f['severity']:<8}] {f['analyzer']}/{f['rule_id']} {where}: {f['message']}"
        )
    if s["active"] > 20:
        lines.append(f"  ... {s['active'] - 20} more in report.json")
    lines.append("outputs:  " + ", ".join(r["outputs"].values()))
    return "\n".join(lines)


class _Progress:
    """rich progress on stderr when it is a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, name: str, event: str, result: AnalyzerResult | None) -> None:
        if event == "start":
            self.tasks[name] = self.progress.add_task(f"{name}: running", total=1)
        elif result is not None:
            task = self.tasks.get(name) or self.progress.add_task(name, total=1)
            self.progress.update(
                task,
                completed=1,
                description=f"{name}: {result.status}" + (" (cached)" if result.cached else ""),
            )


@click.command("certify")
@click.argument("target")
@click.option("--policy", type=click.Path(path_type=Path), help="Policy YAML (default: built-in).")
@click.option(
    "--vuln-db",
    type=click.Path(path_type=Path),
    help="Offline OSV database (directory of JSON files or all.zip). Without it the"
    " vulnerability analyzer is skipped.",
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("certify-out"),
    show_default=True,
    help="Where report.json, report.sarif, report.html, SBOMs and the attestation go.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "html"]),
    default="text",
    show_default=True,
    help="What to print on stdout (all files are always written).",
)
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(path_type=Path),
    help="Hybrid signing key file; writes attestation.dsse.json (passphrase from XTRUST_KEY_PASSPHRASE).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="A previous report.json: report only new findings.",
)
@click.option(
    "--fail-on", type=click.Choice(_SEVERITIES), help="Override the policy's severity threshold."
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=0), default=0, help="Concurrent analyzers (0: auto)."
)
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option(
    "--helm-values",
    "helm_values",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Values file merged over a Helm chart's values.yaml (repeatable, as helm -f).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Per-tool timeout in seconds.",
)
@click.pass_context
def certify(
    ctx: click.Context,
    target: str,
    policy: Path | None,
    vuln_db: Path | None,
    output_dir: Path,
    fmt: str,
    sign_key: Path | None,
    baseline: Path | None,
    fail_on: str | None,
    jobs: int,
    no_cache: bool,
    helm_values: tuple[Path, ...],
    timeout: float,
) -> None:
    """Certify TARGET: a source tree, container image archive (docker-archive,
    oci-archive), OCI layout directory, Helm chart (directory or .tgz) or xApp
    descriptor. Exit 0 passed, 1 policy failed, 2 error or incomplete."""
    progress = _Progress() if fmt == "text" and sys.stderr.isatty() else None
    opts = CertifyOptions(
        target=target,
        output_dir=output_dir,
        policy=policy,
        vuln_db=vuln_db,
        sign_key=sign_key,
        baseline=baseline,
        fail_on=None if fail_on in (None, "none") else Severity.parse(fail_on),
        fail_on_given=fail_on is not None,
        jobs=jobs,
        use_cache=not no_cache,
        timeout=timeout,
        helm_values=helm_values,
        progress=progress,
    )
    if progress is not None:
        with progress.progress:
            run = run_certify(opts)
    else:
        run = run_certify(opts)
    if fmt == "json":
        click.echo(json.dumps(summary_of(run.report), indent=2))
    elif fmt == "sarif":
        click.echo((output_dir / "report.sarif").read_text(encoding="utf-8"), nl=False)
    elif fmt == "html":
        click.echo(str(output_dir / "report.html"))
    else:
        click.echo(_text(run))
    ctx.exit(run.exit_code)
