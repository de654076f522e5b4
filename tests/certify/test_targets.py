"""Target recognition and the hostile-input defences of extraction."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.certify.conftest import add_bytes, docker_archive, layer_tar
from xtrust.certify.cache import content_digest
from xtrust.certify.targets import Limits, iter_files, prepare_target
from xtrust.errors import InputError


def rules(prepared) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule_id for f in prepared.findings}


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def test_source_dir_is_used_in_place(tmp_path: Path, out: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    p = prepare_target(str(tmp_path / "src"), out)
    assert p.kind == "source" and p.root == (tmp_path / "src").resolve() and p.work_dir is None


def test_missing_and_unknown_targets(tmp_path: Path, out: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        prepare_target(str(tmp_path / "nope"), out)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not an archive")
    with pytest.raises(InputError, match="not a directory, tar archive"):
        prepare_target(str(junk), out)


def test_traversal_absolute_and_links_are_findings_and_not_written(
    tmp_path: Path, out: Path
) -> None:
    arc = tmp_path / "evil.tar.gz"
    victim = tmp_path / "victim.txt"
    with tarfile.open(arc, "w:gz") as tf:
        add_bytes(tf, "app/ok.py", b"print('hi')\n")
        add_bytes(tf, "../victim.txt", b"pwned")
        add_bytes(tf, "app/../../victim.txt", b"pwned")
        add_bytes(tf, str(victim), b"pwned")  # absolute
        sym = tarfile.TarInfo("app/escape")
        sym.type, sym.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
        tf.addfile(sym)
        hard = tarfile.TarInfo("app/hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "../../etc/shadow"
        tf.addfile(hard)
        hard_ok = tarfile.TarInfo("app/hard_ok.py")
        hard_ok.type, hard_ok.linkname = tarfile.LNKTYPE, "app/ok.py"
        tf.addfile(hard_ok)
        dev = tarfile.TarInfo("app/null")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        tf.addfile(dev)
        fifo = tarfile.TarInfo("app/fifo")
        fifo.type = tarfile.FIFOTYPE
        tf.addfile(fifo)
    before = set(os.listdir(tmp_path))
    p = prepare_target(str(arc), out)
    try:
        assert p.kind == "source"
        assert {
            "archive-path-traversal",
            "archive-absolute-path",
            "archive-symlink-escape",
            "archive-hardlink-escape",
            "archive-device-file",
        } <= rules(p)
        assert not victim.exists()
        assert set(os.listdir(tmp_path)) == before
        files = listing(p.root)
        assert "app/ok.py" in files and "app/hard_ok.py" in files
        assert (p.root / "app/hard_ok.py").read_bytes() == b"print('hi')\n"
        assert not (p.root / "app/hard_ok.py").is_symlink()
        assert not any((p.root / f).is_symlink() for f in files)
        assert "app/null" not in files and "app/fifo" not in files and "app/escape" not in files
        assert p.work_dir is not None and p.work_dir.parent == out
    finally:
        p.cleanup()
    assert os.listdir(out) == []


def test_non_utf8_names_are_reported(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "names.tar"
    with tarfile.open(arc, "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tf:
        add_bytes(tf, "caf\xe9.py", b"x = 1\n")
        add_bytes(tf, "fine.py", b"x = 2\n")
    p = prepare_target(str(arc), out)
    try:
        assert "archive-non-utf8-name" in rules(p)
        f = next(f for f in p.findings if f.rule_id == "archive-non-utf8-name")
        json.dumps(f.to_json())  # printable in reports
        assert listing(p.root) == {"fine.py"}
    finally:
        p.cleanup()


def test_huge_file_is_skipped_with_a_finding(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "huge.tar"
    with tarfile.open(arc, "w") as tf:
        add_bytes(tf, "big.bin", b"a" * 5000)
        add_bytes(tf, "small.py", b"x = 1\n")
    p = prepare_target(str(arc), out, Limits(max_file_size=1000))
    try:
        assert "archive-huge-file" in rules(p)
        assert listing(p.root) == {"small.py"}
    finally:
        p.cleanup()


def test_decompression_bomb_total_size(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "bomb.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        for i in range(5):
            add_bytes(tf, f"z{i}", b"\0" * 100_000)
    with pytest.raises(InputError, match="decompression bomb"):
        prepare_target(str(arc), out, Limits(max_total_size=300_000))
    assert os.listdir(out) == []  # partial extraction removed


def test_decompression_bomb_ratio(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "ratio.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        add_bytes(tf, "zeros", b"\0" * 2_000_000)
    assert arc.stat().st_size < 20_000
    with pytest.raises(InputError, match="expands more than"):
        prepare_target(str(arc), out, Limits(max_ratio=50, ratio_floor=100_000))
    assert os.listdir(out) == []


def test_too_many_members(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "many.tar"
    with tarfile.open(arc, "w") as tf:
        for i in range(50):
            add_bytes(tf, f"f{i}", b"")
    with pytest.raises(InputError, match="more than 20 entries"):
        prepare_target(str(arc), out, Limits(max_members=20))


def test_truncated_archive(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "trunc.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        add_bytes(tf, "a.py", os.urandom(200_000))
    data = arc.read_bytes()
    arc.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"truncated|corrupt|not a"):
        prepare_target(str(arc), out)
    assert os.listdir(out) == []


def test_docker_archive_layers_and_whiteouts(tmp_path: Path, out: Path) -> None:
    l0 = layer_tar(
        {"app/main.py": b"print(1)\n", "app/old.py": b"x\n", "etc/conf/a": b"1", "etc/conf/b": b"2"}
    )
    l1 = layer_tar({"app/.wh.old.py": b"", "etc/conf/.wh..wh..opq": b"", "etc/conf/c": b"3"})
    config = {"config": {"User": "1000", "Env": ["PATH=/usr/bin"]}}
    arc = docker_archive(tmp_path / "img.tar", [l0, gzip.compress(l1)], config)
    p = prepare_target(str(arc), out)
    try:
        assert p.kind == "image" and p.image_ref == "demo:1.0"
        assert p.image_config == config
        assert listing(p.root) == {"app", "app/main.py", "etc", "etc/conf", "etc/conf/c"}
    finally:
        p.cleanup()


def test_docker_archive_missing_layer_is_truncated(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "img.tar"
    with tarfile.open(arc, "w") as tf:
        add_bytes(tf, "config.json", b"{}")
        add_bytes(
            tf,
            "manifest.json",
            json.dumps([{"Config": "config.json", "Layers": ["gone/layer.tar"]}]).encode(),
        )
    with pytest.raises(InputError, match="missing"):
        prepare_target(str(arc), out)


def test_image_layer_traversal_is_blocked(tmp_path: Path, out: Path) -> None:
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tf:
        add_bytes(tf, "../../escaped.txt", b"x")
        add_bytes(tf, "ok.txt", b"y")
    arc = docker_archive(tmp_path / "img.tar", [evil.getvalue()], {})
    p = prepare_target(str(arc), out)
    try:
        assert "archive-path-traversal" in rules(p)
        assert not (tmp_path / "escaped.txt").exists() and not (out / "escaped.txt").exists()
    finally:
        p.cleanup()


def _oci_blobs(layer: bytes, config: dict[str, object]) -> tuple[dict[str, bytes], str]:
    import hashlib

    def dig(b: bytes) -> str:
        return "sha256:" + hashlib.sha256(b).hexdigest()

    cfg = json.dumps(config).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": dig(cfg),
                "size": len(cfg),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": dig(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "digest": dig(manifest),
                    "size": len(manifest),
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                }
            ],
        }
    ).encode()
    files = {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": index,
        f"blobs/sha256/{dig(cfg)[7:]}": cfg,
        f"blobs/sha256/{dig(layer)[7:]}": layer,
        f"blobs/sha256/{dig(manifest)[7:]}": manifest,
    }
    return files, dig(manifest)


def test_oci_archive_and_layout_dir(tmp_path: Path, out: Path) -> None:
    files, _ = _oci_blobs(layer_tar({"srv/app.py": b"print(2)\n"}), {"config": {"User": "app"}})
    arc = tmp_path / "img.oci.tar"
    with tarfile.open(arc, "w") as tf:
        for name, data in files.items():
            add_bytes(tf, name, data)
    layout = tmp_path / "layout"
    for name, data in files.items():
        (layout / name).parent.mkdir(parents=True, exist_ok=True)
        (layout / name).write_bytes(data)
    for target in (arc, layout):
        p = prepare_target(str(target), out)
        try:
            assert p.kind == "image"
            assert (p.root / "srv/app.py").read_bytes() == b"print(2)\n"
            assert p.image_config == {"config": {"User": "app"}}
        finally:
            p.cleanup()


def test_oci_bad_digest_is_rejected(tmp_path: Path, out: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text("{}")
    (layout / "index.json").write_text(
        json.dumps({"manifests": [{"digest": "sha256:../../etc/passwd"}]})
    )
    with pytest.raises(InputError, match="invalid blob digest"):
        prepare_target(str(layout), out)


def test_helm_tgz_and_descriptor(tmp_path: Path, out: Path) -> None:
    arc = tmp_path / "chart.tgz"
    with tarfile.open(arc, "w:gz") as tf:
        add_bytes(tf, "demo/Chart.yaml", b"name: demo\nversion: 0.1.0\n")
        add_bytes(tf, "demo/templates/deploy.yaml", b"kind: Pod\n")
    p = prepare_target(str(arc), out)
    try:
        assert p.kind == "helm" and p.root.name == "demo"
    finally:
        p.cleanup()
    desc = tmp_path / "config-file.json"
    desc.write_text("{}")
    p = prepare_target(str(desc), out)
    try:
        assert p.kind == "descriptor" and p.descriptor is not None and p.descriptor.exists()
    finally:
        p.cleanup()


def test_tree_symlink_escape_and_iter_files(tmp_path: Path, out: Path) -> None:
    src = tmp_path / "src"
    (src / ".git").mkdir(parents=True)
    (src / ".git" / "x.py").write_text("x")
    (src / "a.py").write_text("a")
    (src / "link").symlink_to("/etc/passwd")
    p = prepare_target(str(src), out)
    assert "tree-symlink-escape" in rules(p)
    assert [rel for rel, _ in iter_files(src)] == ["a.py"]


def test_content_digest_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    d1 = content_digest(tmp_path)
    assert d1 == content_digest(tmp_path)
    (tmp_path / "a.py").write_text("b")
    assert content_digest(tmp_path) != d1


def test_extraction_streams_large_files(tmp_path: Path, out: Path) -> None:
    import tracemalloc

    arc = tmp_path / "big.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        info = tarfile.TarInfo("big.bin")
        info.size = 40 << 20
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    tracemalloc.start()
    try:
        p = prepare_target(str(arc), out, Limits(max_ratio=1e9))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert (p.root / "big.bin").stat().st_size == 40 << 20
        assert peak < 8 << 20  # a few 1 MiB chunks, never the whole file
    finally:
        p.cleanup()


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_docker_archive(tmp_path: Path, out: Path, keep: float) -> None:
    layer = layer_tar({f"app/f{i}.bin": os.urandom(20_000) for i in range(5)})
    arc = docker_archive(tmp_path / "img.tar", [layer], {"config": {}})
    data = arc.read_bytes()
    arc.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError):
        prepare_target(str(arc), out)
    assert os.listdir(out) == []
