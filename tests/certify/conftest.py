"""Shared fixtures of the certify tests (tiny trees; real tools on tiny inputs)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from xtrust.certify.interface import Analyzer
from xtrust.certify.orchestrator import CertifyOptions, CertifyRun, certify

GOOD_DESCRIPTOR: dict[str, Any] = {
    "name": "demo-xapp",
    "version": "1.2.3",
    "containers": [
        {"name": "demo", "image": {"registry": "r.example:5000", "name": "demo", "tag": "1.2.3"}}
    ],
    "livenessProbe": {"httpGet": {"path": "/ric/v1/health/alive", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/ric/v1/health/ready", "port": 8080}},
    "messaging": {
        "ports": [
            {"name": "http", "container": "demo", "port": 8080},
            {
                "name": "rmr-data",
                "container": "demo",
                "port": 4560,
                "rxMessages": ["RIC_INDICATION"],
                "txMessages": ["RIC_SUB_REQ"],
            },
        ]
    },
    "controls": {"period_ms": 1000},
}


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def add_bytes(tf: tarfile.TarFile, name: str, data: bytes, **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in attrs.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data))


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            add_bytes(tf, name, data)
    return buf.getvalue()


def docker_archive(path: Path, layers: Sequence[bytes], config: dict[str, Any]) -> Path:
    with tarfile.open(path, "w") as tf:
        cfg = json.dumps(config).encode()
        add_bytes(tf, "config.json", cfg)
        names = []
        for i, layer in enumerate(layers):
            names.append(f"l{i}/layer.tar")
            add_bytes(tf, names[-1], layer)
        manifest = [{"Config": "config.json", "RepoTags": ["demo:1.0"], "Layers": names}]
        add_bytes(tf, "manifest.json", json.dumps(manifest).encode())
    return path


@pytest.fixture
def run_certify(tmp_path: Path) -> Callable[..., CertifyRun]:
    def run(
        target: Path | str, *, analyzers: Sequence[Analyzer] | None = None, **kw: Any
    ) -> CertifyRun:
        out = kw.pop("output_dir", tmp_path / "out")
        return certify(
            CertifyOptions(target=str(target), output_dir=out, analyzers=analyzers, **kw)
        )

    return run
