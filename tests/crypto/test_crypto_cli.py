"""``xtrust keys`` and ``xtrust attest`` through the real top-level CLI (exit codes)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from xtrust import cli as xcli
from xtrust.crypto import (
    artifact_digest,
    in_toto_statement,
    load_private_key,
    load_public_key,
    sign_dsse,
    sign_statement,
)
from xtrust.crypto.attest_cli import attest
from xtrust.crypto.keys_cli import keys


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lead registers these in xtrust/cli.py; until then, register them for the test.
    monkeypatch.setitem(xcli.cli.lazy, "keys", "xtrust.crypto.keys_cli:keys")
    monkeypatch.setitem(xcli.cli.lazy, "attest", "xtrust.crypto.attest_cli:attest")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = xcli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def keydir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, _ = run(capsys, "keys", "generate", "--out", str(tmp_path / "k"), "--name", "ci")
    assert code == 0
    return tmp_path / "k"


def test_generate_and_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "keys"
    code, out, err = run(capsys, "keys", "generate", "--out", str(out_dir))
    assert code == 0, err
    key_id = out.strip()
    assert key_id.startswith("sha256:") and len(key_id) == 71
    assert "NOT encrypted" in err
    priv, pub = out_dir / "xtrust-signing.key", out_dir / "xtrust-signing.pub"
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert load_private_key(priv, kind="sign").key_id == key_id
    assert load_public_key(pub, kind="sign").key_id == key_id

    code, out, _ = run(capsys, "keys", "inspect", str(priv))
    assert code == 0
    assert "private (not encrypted)" in out and "ed25519 + ml-dsa-65" in out and key_id in out
    code, out, _ = run(capsys, "keys", "inspect", str(pub), "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "path": str(pub),
        "type": "public",
        "kind": "sign",
        "algorithms": ["ed25519", "ml-dsa-65"],
        "key_id": key_id,
        "encrypted": False,
    }


def test_generate_refuses_overwrite(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (keydir / "ci.key").read_bytes()
    code, out, err = run(capsys, "keys", "generate", "--out", str(keydir), "--name", "ci")
    assert code == 2
    assert "refusing to overwrite" in err and "--force" in err and len(err.splitlines()) == 1
    assert (keydir / "ci.key").read_bytes() == before
    code, out, err = run(
        capsys, "keys", "generate", "--out", str(keydir), "--name", "ci", "--force"
    )
    assert code == 0
    assert (keydir / "ci.key").read_bytes() != before
    assert load_private_key(keydir / "ci.key").key_id == out.strip()


def test_generate_kem_with_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XT_PW", "hunter22")
    code, out, err = run(
        capsys, "keys", "generate", "--out", str(tmp_path), "--kind", "kem",
        "--passphrase-env", "XT_PW", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "kem" and doc["encrypted"] is True
    assert doc["algorithms"] == ["x25519", "ml-kem-768"]
    key = load_private_key(doc["private_key"], b"hunter22", kind="kem")
    assert key.key_id == doc["key_id"]
    code, out, _ = run(capsys, "keys", "inspect", doc["private_key"])
    assert "private (encrypted)" in out and "kind:       kem" in out


def test_generate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "keys", "generate", "--out", str(tmp_path), "--passphrase-env", "XT_UNSET_VAR_1"
    )
    assert code == 2 and "is not set" in err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "keys", "generate", "--out", str(tmp_path / "file"))
    assert code == 2
    code, _, err = run(capsys, "keys", "generate", "--out", str(tmp_path), "--name", "a/b")
    assert code == 2 and "plain file name" in err


def test_inspect_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("-----BEGIN XTRUST PRIVATE KEY-----\nAAAA\n")
    code, _, err = run(capsys, "keys", "inspect", str(bad))
    assert code == 2 and "BEGIN/END" in err and len(err.splitlines()) == 1


# --- attest -------------------------------------------------------------------


def _attest(tmp_path: Path, keydir: Path) -> tuple[Path, Path, Path]:
    artifact = tmp_path / "app"
    artifact.mkdir()
    (artifact / "main.py").write_text("print('x')\n")
    stmt = in_toto_statement(
        [("app", artifact_digest(str(artifact)))],
        "https://xtrust.dev/certification/v1",
        {"verdict": "pass", "findings": [], "tool": {"name": "xtrust"}},
    )
    stmt_path = tmp_path / "stmt.json"
    stmt_path.write_text(json.dumps(stmt))
    return artifact, stmt_path, tmp_path / "att.dsse.json"


def test_attest_sign_and_verify(
    tmp_path: Path, keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, stmt_path, env_path = _attest(tmp_path, keydir)
    code, out, err = run(
        capsys, "attest", "sign", str(stmt_path), "--key", str(keydir / "ci.key"),
        "--out", str(env_path),
    )  # fmt: skip
    assert code == 0, err
    pub = str(keydir / "ci.pub")
    code, out, err = run(capsys, "attest", "verify", str(env_path), "--key", pub)
    assert code == 0, err
    assert out.startswith("VERIFIED: Ed25519 + ML-DSA-65")
    assert "https://xtrust.dev/certification/v1" in out and "verdict: pass" in out
    code, out, err = run(
        capsys, "attest", "verify", str(env_path), "--key", pub, "--artifact", str(artifact),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["verified"] is True and doc["matched_subject"]["name"] == "app"
    assert doc["artifact_digest"] == artifact_digest(str(artifact))
    assert doc["predicate_summary"] == {
        "findings": "[0 items]",
        "tool": "{1 fields}",
        "verdict": "pass",
    }
    # refuses to overwrite the envelope
    code, _, err = run(
        capsys, "attest", "sign", str(stmt_path), "--key", str(keydir / "ci.key"),
        "--out", str(env_path),
    )  # fmt: skip
    assert code == 2 and "file exists" in err


def test_attest_verify_failures_exit_1(
    tmp_path: Path, keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, stmt_path, env_path = _attest(tmp_path, keydir)
    key = load_private_key(keydir / "ci.key", kind="sign")
    env = sign_statement(json.loads(stmt_path.read_text()), key)
    pub = str(keydir / "ci.pub")

    # artifact changed after signing
    env_path.write_text(json.dumps(env))
    (artifact / "main.py").write_text("print('evil')\n")
    code, out, err = run(
        capsys, "attest", "verify", str(env_path), "--key", pub, "--artifact", str(artifact)
    )
    assert code == 1 and "not among the 1 subject" in err

    # payload tampered
    stmt = json.loads(base64.b64decode(env["payload"]))
    stmt["predicate"]["verdict"] = "fail"
    bad = dict(env, payload=base64.b64encode(json.dumps(stmt).encode()).decode())
    env_path.write_text(json.dumps(bad))
    code, out, err = run(capsys, "attest", "verify", str(env_path), "--key", pub)
    assert code == 1 and out.startswith("FAILED") and "not verified" in err

    # one of the two signatures removed
    env_path.write_text(json.dumps(dict(env, signatures=env["signatures"][:1])))
    code, out, err = run(
        capsys, "attest", "verify", str(env_path), "--key", pub, "--format", "json"
    )
    assert code == 1
    assert json.loads(out)["verified"] is False and "ML-DSA-65" in json.loads(out)["error"]

    # someone else's key
    run(capsys, "keys", "generate", "--out", str(tmp_path / "o"))
    env_path.write_text(json.dumps(env))
    code, _, err = run(
        capsys, "attest", "verify", str(env_path), "--key", str(tmp_path / "o/xtrust-signing.pub")
    )
    assert code == 1


def test_attest_verify_bad_input_exit_2(
    tmp_path: Path, keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _artifact, stmt_path, env_path = _attest(tmp_path, keydir)
    key = load_private_key(keydir / "ci.key", kind="sign")
    env_path.write_text(json.dumps(sign_statement(json.loads(stmt_path.read_text()), key)))
    pub = str(keydir / "ci.pub")
    cases = []
    missing = tmp_path / "missing.json"
    cases.append(([str(missing), "--key", pub], "no such DSSE envelope"))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    cases.append(([str(garbage), "--key", pub], "not valid JSON"))
    notenv = tmp_path / "notenv.json"
    notenv.write_text('{"payload": 1}')
    cases.append(([str(notenv), "--key", pub], "payloadType"))
    cases.append(([str(env_path), "--key", str(keydir / "ci.key")], "private key file"))
    run(capsys, "keys", "generate", "--out", str(tmp_path / "kem"), "--kind", "kem")
    cases.append(([str(env_path), "--key", str(tmp_path / "kem/xtrust-kem.pub")], "KEM public key"))
    cases.append(
        ([str(env_path), "--key", pub, "--artifact", str(tmp_path / "nothing")], "no such file")
    )
    # correctly signed, but not an in-toto statement
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps(sign_dsse(b"{}", "application/vnd.in-toto+json", key)))
    cases.append(([str(junk), "--key", pub], "in-toto Statement"))
    for args, message in cases:
        code, _, err = run(capsys, "attest", "verify", *args)
        assert code == 2, (args, err)
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err


def test_attest_sign_with_passphrase_and_bad_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XT_PW", "pw")
    run(capsys, "keys", "generate", "--out", str(tmp_path), "--passphrase-env", "XT_PW")
    key = str(tmp_path / "xtrust-signing.key")
    stmt = tmp_path / "s.json"
    stmt.write_text(json.dumps(in_toto_statement([("a", "sha256:" + "0" * 64)], "https://x/y")))
    out = str(tmp_path / "e.json")
    code, _, err = run(capsys, "attest", "sign", str(stmt), "--key", key, "--out", out)
    assert code == 2 and "passphrase is needed" in err
    code, _, err = run(
        capsys, "attest", "sign", str(stmt), "--key", key, "--out", out, "--passphrase-env", "XT_PW"
    )
    assert code == 0, err
    stmt.write_text('{"_type": "nope"}')
    code, _, err = run(
        capsys, "attest", "sign", str(stmt), "--key", key, "--out", out + "2",
        "--passphrase-env", "XT_PW",
    )  # fmt: skip
    assert code == 2 and "not an in-toto Statement v1" in err
    assert not Path(out + "2").exists()


def test_groups_work_with_clirunner(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(keys, ["generate", "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(attest, ["--help"]).exit_code == 0
