"""Loading Cedar schemas and policies: anything invalid is refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xtrust.errors import ConfigError
from xtrust.rapps.policy import build_bundle, default_bundle, load_bundle
from xtrust.rapps.policy.cedar import default_schema_text, parse_schema
from xtrust.rapps.policy.cli import policy

SCHEMA = parse_schema(default_schema_text(), source="default", json_format=True)


def test_default_bundle_is_valid_and_annotated() -> None:
    bundle = default_bundle()
    ids = {i.id for i in bundle.info.values()}
    assert {"deny-high-risk", "deny-ledger-suspended-or-revoked",
            "xapp-declared-ran-function", "operator-admin"} <= ids  # fmt: skip
    assert all(i.reason for i in bundle.info.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("permit(principal, action, resource) when { principal.nope ;", "do not parse"),
        # unknown attribute of a known entity type
        (
            'permit(principal is XTrust::XApp, action, resource) when { principal.role == "a" };',
            "do not validate",
        ),
        # unknown entity type
        ("permit(principal is XTrust::Robot, action, resource);", "do not validate"),
        # type mismatch: Long compared with String
        (
            'forbid(principal, action, resource) when { context.risk == "high" };',
            "do not validate",
        ),
        # undeclared context attribute (would error at evaluation and be skipped)
        (
            "forbid(principal, action, resource) when { context.threat > 3 };",
            "do not validate",
        ),
        # unknown action
        ('permit(principal, action == XTrust::Action::"reboot", resource);', "do not validate"),
        ("", "empty"),
    ],
)
def test_invalid_policies_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_bundle(text, SCHEMA)


def test_schema_mismatch_is_refused(tmp_path: Path) -> None:
    # the default policies against a schema where XApp lacks ran_functions
    schema = tmp_path / "s.cedarschema"
    schema.write_text(
        """namespace XTrust {
          entity XApp = {zone: String, sdl_namespaces: Set<String>};
          entity RanFunction = {function_id: Long, node: String};
          type Ctx = {risk: Long, risk_threshold: Long, ledger_state: String, zone: String,
                      location: String, hour: Long};
          action subscribe, control appliesTo { principal: [XApp], resource: [RanFunction],
                                                context: Ctx };
        }"""
    )
    with pytest.raises(ConfigError, match=r"ran_functions|do not validate"):
        build_bundle(schema, None)
    bad = tmp_path / "bad.json"
    bad.write_text('{"XTrust": {"entityTypes": {"A": {"shape": {"type": "Nope"}}}}}')
    with pytest.raises(ConfigError, match="not a valid Cedar schema"):
        build_bundle(bad, None)


def test_policies_from_yaml_and_cedar_files(tmp_path: Path) -> None:
    cedar = tmp_path / "p.cedar"
    cedar.write_text('@id("ops") permit(principal is XTrust::Operator, action, resource);')
    assert build_bundle(None, cedar).info["policy0"].id == "ops"
    yml = tmp_path / "p.yaml"
    yml.write_text("policies: |\n  permit(principal is XTrust::Operator, action, resource);\n")
    assert len(build_bundle(None, yml).policies) == 1
    (tmp_path / "n.yaml").write_text("rules: []\n")
    with pytest.raises(ConfigError, match="'policies' key"):
        build_bundle(None, tmp_path / "n.yaml")


def test_cli_check(tmp_path: Path) -> None:
    from importlib import resources

    pkg = resources.files("xtrust.rapps.policy")
    schema = tmp_path / "schema.json"
    schema.write_text(pkg.joinpath("default_schema.json").read_text())
    good = tmp_path / "good.yaml"
    good.write_text(pkg.joinpath("default_policies.yaml").read_text())
    runner = CliRunner()
    res = runner.invoke(policy, ["check", "--schema", str(schema), "--policies", str(good)])
    assert res.exit_code == 0, res.output
    assert "11 policies valid" in res.output and "deny-high-risk" in res.output
    bad = tmp_path / "bad.cedar"
    bad.write_text("forbid(principal, action, resource) when { context.risk == true };")
    res = runner.invoke(policy, ["check", "--schema", str(schema), "--policies", str(bad)])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError) and res.exception.exit_code == 2


def test_cli_check_via_top_level_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xtrust import cli as top

    top.cli.add_command(policy, "policy")  # registered by the lead; simulated here
    try:
        bad = tmp_path / "bad.cedar"
        bad.write_text("permit(principal is XTrust::Robot, action, resource);")
        schema = tmp_path / "schema.json"
        schema.write_text(default_schema_text())
        code = top.main(["policy", "check", "--schema", str(schema), "--policies", str(bad)])
        assert code == 2
        err = capsys.readouterr().err
        assert "do not validate" in err and len(err.strip().splitlines()) == 1
    finally:
        top.cli.commands.pop("policy", None)
