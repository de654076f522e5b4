"""``xtrust qkd``: certs, the KME simulator as a process, and the operator commands."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.crypto.qkd_fixtures import *  # noqa: F403 - the pytest fixtures
from tests.crypto.qkd_fixtures import KmePair, Pki
from xtrust import cli as xtrust_cli
from xtrust.crypto.qkd import KmeClient, QkdRequestError
from xtrust.crypto.qkd.cli import qkd, read_link_secret
from xtrust.errors import ConfigError


def client_args(pki: Pki, sae: str, url: str) -> list[str]:
    p = pki.paths[sae]
    return ["--kme", url, "--cert", str(p.cert), "--key", str(p.key), "--ca", str(pki.ca)]


def test_certs_command_writes_pki_and_link_secret(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    res = CliRunner().invoke(qkd, ["certs", "--out", str(out), "--kme", "k1", "--sae", "s1"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["ca.key", "ca.pem", "k1.key", "k1.pem", "link-secret", "s1.key", "s1.pem"]
    assert len(read_link_secret(out / "link-secret")) == 32


def test_operator_commands_against_the_simulator(kmes: KmePair) -> None:
    runner = CliRunner()
    res = runner.invoke(qkd, ["status", "bob", *client_args(kmes.pki, "alice", kmes.a.url)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["stored_key_count"] == 1000
    res = runner.invoke(
        qkd,
        [
            "get-key",
            "bob",
            "--number",
            "2",
            "--size",
            "128",
            *client_args(kmes.pki, "alice", kmes.a.url),
        ],
    )
    assert res.exit_code == 0, res.output
    keys = json.loads(res.output)["keys"]
    assert len(keys) == 2
    ids = [k["key_ID"] for k in keys]
    res = runner.invoke(
        qkd,
        [
            "get-key-with-id",
            "alice",
            *ids,
            "--format",
            "text",
            *client_args(kmes.pki, "bob", kmes.b.url),
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.split()
    assert lines[0::2] == ids
    assert [bytes.fromhex(h) for h in lines[1::2]] == [base64.b64decode(k["key"]) for k in keys]
    # the key is gone: the same command now fails with a clear error
    res = runner.invoke(
        qkd, ["get-key-with-id", "alice", ids[0], *client_args(kmes.pki, "bob", kmes.b.url)]
    )
    assert isinstance(res.exception, QkdRequestError)


def test_errors_are_one_line_exit_2(
    kmes: KmePair, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lazy: dict[str, str] = xtrust_cli.cli.lazy
    monkeypatch.setitem(lazy, "qkd", "xtrust.crypto.qkd.cli:qkd")
    args = client_args(kmes.pki, "mallory", kmes.a.url)
    assert xtrust_cli.main(["qkd", "status", "bob", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xtrust: error:") and "mallory" in err[0]
    bad = client_args(kmes.pki, "alice", kmes.a.url)
    assert xtrust_cli.main(["qkd", "get-key", "bob", "--size", "4096", *bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_kme_bad_options_write_nothing(tmp_path: Path, pki: Pki) -> None:
    short = tmp_path / "short"
    short.write_text("abcd")
    base = ["kme", "--kme-id", "kmeA", "--cert", str(pki.paths["kmeA"].cert)]
    base += ["--key", str(pki.paths["kmeA"].key), "--ca", str(pki.ca)]
    res = CliRunner().invoke(qkd, [*base, "--link-secret-file", str(short)])
    assert isinstance(res.exception, ConfigError)
    res = CliRunner().invoke(qkd, [*base, "--link-secret-file", str(short), "--listen", "nope"])
    assert "HOST:PORT" in str(res.exception)


def test_kme_process_end_to_end(pki: Pki, tmp_path: Path) -> None:
    """``xtrust qkd kme`` as a real process, one KME serving both SAEs (no peer)."""
    secret = tmp_path / "link"
    secret.write_text("ab" * 32)
    kp = pki.paths["kmeA"]
    proc = subprocess.Popen(
        [
            *[sys.executable, "-m", "xtrust.crypto.qkd.cli", "kme", "--listen", "127.0.0.1:0"],
            *[
                "--kme-id",
                "kmeA",
                "--cert",
                str(kp.cert),
                "--key",
                str(kp.key),
                "--ca",
                str(pki.ca),
            ],
            *["--link-secret-file", str(secret), "--max-key-count", "3"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("KME kmeA listening on https://127.0.0.1:"), proc.stderr
        url = line.split()[-1]
        a, b = pki.paths["alice"], pki.paths["bob"]
        with (
            KmeClient(url, cert=a.cert, key=a.key, ca=pki.ca) as alice,
            KmeClient(url, cert=b.cert, key=b.key, ca=pki.ca) as bob,
        ):
            keys = alice.get_key("bob", number=3)
            assert bob.get_key_with_id("alice", [k.key_id for k in keys]) == keys
            assert alice.status("bob").stored_key_count == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
