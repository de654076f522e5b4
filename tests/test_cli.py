"""The CLI contract: version, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from xtrust import __version__, cli
from xtrust.errors import ConfigError, InputError, PolicyViolation, XTrustError


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xtrust", *args], capture_output=True, text=True, timeout=60
    )


def test_version_prints_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"xtrust {__version__}"


def test_unknown_command_is_one_line_exit_2() -> None:
    proc = run("nonsense")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "nonsense" in lines[0]
    assert lines[0].startswith("xtrust: error:")
    assert proc.stdout == ""


def test_bad_option_value_is_one_line_exit_2() -> None:
    proc = run("doctor", "--format", "yaml")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--format" in lines[0] and "yaml" in lines[0]


def test_help_lists_registered_subcommands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for name in cli.SUBCOMMANDS:
        assert name in proc.stdout


def test_doctor_json_reports_each_component() -> None:
    proc = run("doctor", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)}
    assert checks["xtrust"]["found"] == __version__
    assert checks["python"]["ok"] is True
    assert {"sctp", "asn1tools", "redis-server", "anvil", "solc"} <= set(checks)
    assert all(isinstance(c["ok"], bool) for c in checks.values())


# In-process tests of the error mapping, with throwaway commands.


@pytest.fixture()
def temp_command(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    added: list[str] = []

    def add(name: str, exc: BaseException | None, result: int | None = None) -> None:
        @click.command(name=name)
        def _cmd() -> int | None:
            if exc is not None:
                raise exc
            return result

        cli.cli.add_command(_cmd)
        added.append(name)

    yield add
    for name in added:
        cli.cli.commands.pop(name, None)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InputError("file x.yaml does not exist"), 2),
        (ConfigError("must be a positive integer", field="period_ms", source="c.yaml"), 2),
        (PolicyViolation("3 findings above high"), 1),
    ],
)
def test_xtrust_errors_map_to_exit_codes(
    temp_command, capsys: pytest.CaptureFixture[str], exc: XTrustError, code: int
) -> None:
    temp_command("boom", exc)
    assert cli.main(["boom"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"xtrust: error: {exc}"]


def test_config_error_names_the_field(temp_command, capsys: pytest.CaptureFixture[str]) -> None:
    temp_command(
        "boom", ConfigError("must be a positive integer", field="period_ms", source="c.yaml")
    )
    assert cli.main(["boom"]) == 2
    assert "c.yaml: period_ms: must be a positive integer" in capsys.readouterr().err


def test_multiline_message_is_folded_to_one_line(
    temp_command, capsys: pytest.CaptureFixture[str]
) -> None:
    temp_command("boom", InputError("first\nsecond\n  third"))
    assert cli.main(["boom"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["xtrust: error: first second third"]


def test_hint_stays_on_the_line(temp_command, capsys: pytest.CaptureFixture[str]) -> None:
    temp_command("boom", InputError("no key", hint="run xtrust keys generate"))
    assert cli.main(["boom"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["xtrust: error: no key (hint: run xtrust keys generate)"]


def test_verbose_adds_diagnostics(temp_command, capsys: pytest.CaptureFixture[str]) -> None:
    temp_command("boom", InputError("bad", detail="line 3: expected a mapping"))
    assert cli.main(["boom"]) == 2
    assert "rerun with -v" in capsys.readouterr().err
    assert cli.main(["-v", "boom"]) == 2
    err = capsys.readouterr().err
    assert "line 3: expected a mapping" in err


def test_unexpected_exception_is_one_line_with_hint(
    temp_command, capsys: pytest.CaptureFixture[str]
) -> None:
    temp_command("boom", ZeroDivisionError("division by zero"))
    assert cli.main(["boom"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "ZeroDivisionError" in lines[0] and "rerun with -v" in lines[0]
    assert cli.main(["-v", "boom"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_command_return_value_is_exit_code(temp_command) -> None:
    temp_command("fine", None, result=None)
    temp_command("failed", None, result=1)
    assert cli.main(["fine"]) == 0
    assert cli.main(["failed"]) == 1


def test_help_lists_every_command_without_importing_them() -> None:
    import subprocess
    import sys

    from xtrust.cli import SUBCOMMANDS, SUMMARIES

    assert set(SUMMARIES) == set(SUBCOMMANDS)
    code = ("import sys; from click.testing import CliRunner; from xtrust.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); print(r.output); "
            "print('HEAVY', sorted(m for m in ('web3', 'cedarpy', 'eth_tester', 'semgrep', "
            "'xtrust.certify.cli', 'xtrust.ledger.cli') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout  # fmt: skip
    for name in SUBCOMMANDS:
        assert f"  {name} " in out
    assert "HEAVY []" in out
