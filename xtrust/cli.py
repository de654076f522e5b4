"""The ``xtrust`` command line.

One click group; each subcommand lives next to its code and is imported only
when it is used (so ``xtrust --version`` stays fast however big the toolkit
grows). Register a new subcommand by adding it to ``SUBCOMMANDS``.

Exit codes: 0 success, 1 the job ran and a policy failed, 2 any error (bad
input, bad configuration, a failed external tool, an unexpected bug). Errors
are printed as one line on stderr; ``-v`` adds the diagnostics and, for
unexpected exceptions, the traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from xtrust import __version__
from xtrust.errors import XTrustError
from xtrust.log import configure as configure_logging

__all__ = ["SUBCOMMANDS", "SUMMARIES", "cli", "main"]

#: name -> "module:attribute" of a click command; imported on first use.
SUBCOMMANDS: dict[str, str] = {
    "admit": "xtrust.ledger.cli:admit",
    "attest": "xtrust.crypto.attest_cli:attest",
    "certify": "xtrust.certify.cli:certify",
    "codec": "xtrust.ric.asn1.cli:codec",
    "detect": "xtrust.xapps.anomaly.cli:detect",
    "doctor": "xtrust.doctor:doctor",
    "e2sim": "xtrust.e2sim.cli:e2sim",
    "keys": "xtrust.crypto.keys_cli:keys",
    "ledger": "xtrust.ledger.cli:ledger",
    "osv": "xtrust.certify.vuln.cli:osv",
    "policy": "xtrust.rapps.policy.cli:policy",
    "qkd": "xtrust.crypto.qkd.cli:qkd",
    "ric": "xtrust.ric.platform.cli:ric",
    "rmr": "xtrust.ric.rmr.cli:rmr",
    "sbom": "xtrust.certify.sbom.cli:sbom",
    "segment": "xtrust.xapps.segmentation.cli:segment",
    "threat": "xtrust.rapps.threatmodel.cli:threat",
    "twin": "xtrust.e2sim.cli:twin",
    "xapp": "xtrust.xapps.cli:xapp",
    "xdr": "xtrust.rapps.xdr.cli:xdr",
}


#: name -> one-line summary for ``xtrust --help`` (so listing does not import every command;
#: a test checks each against the command's own help)
SUMMARIES: dict[str, str] = {
    "admit": "Admit only approved, attested, unrevoked app versions.",
    "attest": "Verify or sign in-toto attestations (DSSE, hybrid keys).",
    "certify": "Certify an app: SAST, SBOM, vulnerabilities, misconfigs.",
    "codec": "Decode and encode E2AP, E2SM-KPM and E2SM-RC messages.",
    "detect": "Detect attacks in recorded MobiFlow and KPM telemetry.",
    "doctor": "Show the engines this machine has.",
    "e2sim": "Simulated gNBs (E2SM-KPM/RC) driven by a RAN model.",
    "keys": "Hybrid keys: Ed25519+ML-DSA-65, X25519+ML-KEM-768.",
    "ledger": "The app lifecycle registry on an EVM ledger.",
    "osv": "OSV databases: match components, CVSS, version order.",
    "policy": "The risk-based zero-trust policy engine (Cedar PDP).",
    "qkd": "ETSI GS QKD 014 client and KME simulator.",
    "ric": "RIC-lite, a small near-RT RIC for development and CI.",
    "rmr": "Send and receive RMR messages.",
    "sbom": "SBOMs: syft plus our readers, CycloneDX and SPDX.",
    "segment": "Verify and compile a micro-segmentation policy.",
    "threat": "Threat model: attack paths, exposure, flows to cut.",
    "twin": "Digital twin: RIC-lite, gNBs, a scenario, xApps, rApps.",
    "xapp": "Run the anomaly, segmentation or KPM monitor xApp.",
    "xdr": "Correlate alerts into incidents; run playbooks.",
}


class _State:
    verbose: int = 0


_state = _State()


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when first needed."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from :data:`SUMMARIES`, importing nothing."""
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):  # pragma: no cover - programming error
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="xtrust", message="%(prog)s %(version)s")
@click.option(
    "-v", "--verbose", count=True, help="More log output (-v info, -vv debug) and full diagnostics."
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    default="auto",
    show_default=True,
    help="Log format on stderr; auto is text on a terminal and JSON lines otherwise.",
)
def cli(verbose: int, log_format: str) -> None:
    """XTRUST: zero-trust security toolkit for O-RAN and 6G.

    An xApp/rApp SDK speaking the RIC protocols, security xApps and rApps, a
    RAN digital twin, and a certification CLI for app artifacts.
    """
    _state.verbose = verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    configure_logging(level=level, fmt=log_format)


def _err(line: str) -> None:
    click.echo(f"xtrust: {line}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    _state.verbose = 0
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="xtrust", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        _err("aborted")
        code = 130
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "xtrust"
        _err(f"error: {exc.format_message()} (see '{where} --help')")
        code = 2
    except click.ClickException as exc:
        _err(f"error: {exc.format_message()}")
        code = 2
    except XTrustError as exc:
        line = f"error: {exc}"
        if exc.hint:
            line += f" (hint: {' '.join(exc.hint.split())})"
        elif exc.detail and not _state.verbose:
            line += " (rerun with -v for details)"
        _err(line)
        if _state.verbose:
            click.echo(exc.diagnostics(), err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = 130
    except BrokenPipeError:
        # The reader went away (``xtrust ... | head``); nothing left to say.
        code = 0
    except Exception as exc:
        if _state.verbose:
            traceback.print_exc()
        detail = " ".join(str(exc).split()) or "(no message)"
        _err(
            f"internal error: {type(exc).__name__}: {detail}"
            + ("" if _state.verbose else " (rerun with -v for the traceback)")
        )
        code = 2
    else:
        code = rv if isinstance(rv, int) else 0
    return code


def run() -> None:  # pragma: no cover - thin wrapper for ``python -m xtrust``
    sys.exit(main())
