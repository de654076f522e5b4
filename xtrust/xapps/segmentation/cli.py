"""``xtrust segment``: verify a micro-segmentation policy and compile it.

``verify POLICY`` prints every path from an untrusted or quarantined asset to
a critical one (``--format json`` for a JSON document); exit 1 when there is
one, 0 when the policy is clean, 2 on bad input.

``compile POLICY --out DIR`` writes ``routes.rt`` (RMR route table),
``networkpolicies.yaml`` (Kubernetes NetworkPolicies, all zones),
``sdl-rules.json`` and ``control.json`` (E2 control grants). A policy that
fails verification is refused (exit 1, paths printed, nothing written). The
files are staged in a temporary directory and moved in place only when all
of them are written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import click

from xtrust.errors import InputError

from .compile import CompiledPolicy, compile_policy
from .policy import load_policy
from .schema import validate_network_policy
from .verify import Violation, verify
from .yamlout import dump_all

__all__ = ["OUTPUT_FILES", "render_outputs", "segment", "write_outputs"]

OUTPUT_FILES = (
    "routes.rt",
    "networkpolicies.yaml",
    "sdl-rules.json",
    "redis-acl.txt",
    "control.json",
)


def render_outputs(compiled: CompiledPolicy) -> dict[str, str]:
    """File name -> content of everything ``compile`` writes."""
    docs = [d for _, zone_docs in sorted(compiled.network_policies().items()) for d in zone_docs]
    for doc in docs:
        validate_network_policy(doc)
    control = [
        {"xapp": app, "e2node": node, "ran_functions": sorted(funcs)}
        for (app, node), funcs in sorted(compiled.control.items())
    ]
    return {
        "routes.rt": compiled.route_table(),
        "networkpolicies.yaml": dump_all(docs),
        "sdl-rules.json": json.dumps(compiled.sdl_rules(), indent=2) + "\n",
        # redis-cli < redis-acl.txt applies the SDL rules to the DBaaS
        "redis-acl.txt": "".join(
            "ACL SETUSER " + " ".join(args) + "\n" for args in compiled.redis_acl()
        ),
        "control.json": json.dumps(control, indent=2) + "\n",
    }


def write_outputs(files: dict[str, str], out: Path) -> None:
    """Write every file or none: stage in a temporary directory next to ``out``."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        for name, text in files.items():
            with open(stage / name, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        if not out.exists():
            os.rename(stage, out)
            return
        for name in files:
            os.replace(stage / name, out / name)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _report(violations: list[Violation], fmt: str, clean_msg: str) -> None:
    if fmt == "json":
        doc = {"ok": not violations, "violations": [v.to_json() for v in violations]}
        click.echo(json.dumps(doc, indent=2))
        return
    if not violations:
        click.echo(clean_msg)
        return
    for v in violations:
        click.echo(str(v))
    click.echo(f"{len(violations)} violating path(s): untrusted/quarantined -> critical", err=True)


_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group()
def segment() -> None:
    """Micro-segmentation: verify a zone/flow policy and compile it to enforcement points."""


@segment.command("verify")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@_FORMAT
@click.pass_context
def verify_cmd(ctx: click.Context, policy_file: str, fmt: str) -> None:
    """Prove no untrusted or quarantined asset reaches a critical one (exit 1 if one does)."""
    policy = load_policy(policy_file)
    violations = verify(policy)
    _report(violations, fmt, f"{policy_file}: no untrusted asset reaches a critical asset")
    if violations:
        ctx.exit(1)


@segment.command("compile")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option("--table-id", default="xtrust-segmentation", show_default=True)
@_FORMAT
@click.pass_context
def compile_cmd(ctx: click.Context, policy_file: str, out: str, table_id: str, fmt: str) -> None:
    """Compile to route table, NetworkPolicies, SDL rules; refuse a policy that fails verify."""
    policy = load_policy(policy_file)
    violations = verify(policy)
    if violations:
        _report(violations, fmt, "")
        click.echo(f"{policy_file}: refused, nothing written to {out}", err=True)
        ctx.exit(1)
    files = render_outputs(compile_policy(policy, table_id))
    write_outputs(files, Path(out))
    if fmt == "json":
        click.echo(json.dumps({"ok": True, "out": out, "files": sorted(files)}))
    else:
        click.echo(f"wrote {', '.join(sorted(files))} to {out}")
