"""tree_digest, file_digest and artifact_digest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from xtrust.crypto import artifact_digest, file_digest, normalise_digest, tree_digest
from xtrust.errors import InputError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reference_tree_digest(root: str) -> str:
    """An independent implementation written from the spec in docs/crypto.md."""
    records = []
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=False):
        if b".git" in dirnames:
            dirnames.remove(b".git")
        names = list(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in names:
            if name == b".git":
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, os.fsencode(root)).replace(os.sep.encode(), b"/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                kind, content = b"l", os.readlink(full)
            else:
                kind = b"x" if st.st_mode & 0o100 else b"f"
                content = Path(os.fsdecode(full)).read_bytes()
            records.append((rel, kind + b" " + _sha(content).encode() + b" " + rel + b"\0"))
    records.sort()
    return "sha256:" + _sha(b"xtrust-tree-v1\0" + b"".join(r for _, r in records))


def _make_tree(root: Path, order: list[str]) -> None:
    files = {
        "README.md": b"# app\n",
        "src/app.py": b"print('hi')\n",
        "src/pkg/__init__.py": b"",
        "src/pkg/util.py": b"X = 1\n",
        "run.sh": b"#!/bin/sh\nexec python src/app.py\n",
    }
    root.mkdir()
    for name in order:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[name])
        p.chmod(0o755 if name == "run.sh" else 0o644)


ORDER = ["README.md", "src/app.py", "src/pkg/__init__.py", "src/pkg/util.py", "run.sh"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    _make_tree(root, ORDER)
    return root


def test_tree_digest_matches_spec_reimplementation(tree: Path) -> None:
    (tree / "link").symlink_to("src/app.py")
    (tree / "dirlink").symlink_to("src")
    digest = tree_digest(tree)
    assert digest == reference_tree_digest(str(tree))
    assert digest.startswith("sha256:") and len(digest) == 71


def test_tree_digest_known_answer_small(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a").write_bytes(b"A")
    (root / "a").chmod(0o644)
    expected = hashlib.sha256(
        b"xtrust-tree-v1\0" + b"f " + _sha(b"A").encode() + b" a\0"
    ).hexdigest()
    assert tree_digest(root) == "sha256:" + expected
    empty = tmp_path / "empty"
    empty.mkdir()
    assert tree_digest(empty) == "sha256:" + _sha(b"xtrust-tree-v1\0")


def test_tree_digest_independent_of_creation_order(tmp_path: Path, tree: Path) -> None:
    other = tmp_path / "other"
    _make_tree(other, list(reversed(ORDER)))
    assert tree_digest(tree) == tree_digest(other)
    # and of the directory's own name and location
    moved = tmp_path / "elsewhere" / "x"
    moved.parent.mkdir()
    shutil.copytree(tree, moved, symlinks=True)
    assert tree_digest(moved) == tree_digest(tree)


def test_tree_digest_changes(tree: Path) -> None:
    base = tree_digest(tree)
    seen = {base}

    (tree / "src/app.py").write_bytes(b"print('bye')\n")
    seen.add(tree_digest(tree))
    (tree / "src/app.py").write_bytes(b"print('hi')\n")
    assert tree_digest(tree) == base

    (tree / "run.sh").chmod(0o644)  # exec bit dropped
    seen.add(tree_digest(tree))
    (tree / "run.sh").chmod(0o755)
    (tree / "README.md").chmod(0o600)  # non-exec mode bits do not count
    assert tree_digest(tree) == base

    (tree / "README.md").rename(tree / "README.rst")
    seen.add(tree_digest(tree))
    (tree / "README.rst").rename(tree / "README.md")
    assert tree_digest(tree) == base

    (tree / "src/pkg/new.py").write_bytes(b"")
    seen.add(tree_digest(tree))
    (tree / "src/pkg/new.py").unlink()

    (tree / "src" / "pkg").rename(tree / "src" / "pkg2")  # moving a file changes its path
    seen.add(tree_digest(tree))
    (tree / "src" / "pkg2").rename(tree / "src" / "pkg")
    assert tree_digest(tree) == base
    assert len(seen) == 6  # the base and five different changes


def test_tree_digest_ignores_git_and_empty_dirs(tree: Path) -> None:
    base = tree_digest(tree)
    (tree / ".git" / "objects").mkdir(parents=True)
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tree / "src" / "sub" / ".git").parent.mkdir()
    (tree / "src" / "sub" / ".git").write_text("gitdir: ../../.git/modules/sub\n")  # submodule
    (tree / "empty" / "nested").mkdir(parents=True)
    assert tree_digest(tree) == base
    (tree / ".gitignore").write_text("*.pyc\n")  # only the name .git is excluded
    assert tree_digest(tree) != base


def test_tree_digest_symlinks(tmp_path: Path, tree: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s3cret")
    base = tree_digest(tree)

    (tree / "link").symlink_to(outside)  # not followed: only the target path counts
    with_link = tree_digest(tree)
    assert with_link != base
    (outside / "secret").write_text("changed")
    assert tree_digest(tree) == with_link

    (tree / "link").unlink()
    (tree / "link").symlink_to("src/app.py")
    to_app = tree_digest(tree)
    assert to_app != with_link
    (tree / "link").unlink()
    (tree / "link").write_text("src/app.py")  # a file whose content is the target: differs
    assert tree_digest(tree) != to_app
    (tree / "link").unlink()
    (tree / "dangling").symlink_to("does/not/exist")  # dangling symlinks are fine
    assert tree_digest(tree) != base


def test_tree_digest_root_symlink_followed(tmp_path: Path, tree: Path) -> None:
    (tmp_path / "alias").symlink_to(tree)
    assert tree_digest(tmp_path / "alias") == tree_digest(tree)


def test_tree_digest_errors(tmp_path: Path, tree: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        tree_digest(tree / "README.md")
    with pytest.raises(InputError, match="not a directory"):
        tree_digest(tmp_path / "missing")
    os.mkfifo(tree / "fifo")
    with pytest.raises(InputError, match="special file"):
        tree_digest(tree)


def test_file_digest(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    data = os.urandom(3 * (1 << 20) + 5)  # more than one read chunk
    p.write_bytes(data)
    assert file_digest(p) == "sha256:" + _sha(data)
    with pytest.raises(InputError, match="no such file"):
        file_digest(tmp_path / "nope")
    with pytest.raises(InputError, match="is a directory"):
        file_digest(tmp_path)


def test_normalise_digest() -> None:
    assert normalise_digest("sha256:" + "AB" * 32) == "sha256:" + "ab" * 32
    for bad in ("sha256:abc", "sha512:" + "ab" * 32, "ab" * 32, ""):
        with pytest.raises(InputError):
            normalise_digest(bad)


# --- images -----------------------------------------------------------------

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()


def _image_blobs() -> tuple[bytes, bytes, bytes]:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"hi\n"))
    layer_bytes = layer.getvalue()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + _sha(CONFIG),
                "size": len(CONFIG),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + _sha(layer_bytes),
                    "size": len(layer_bytes),
                }
            ],
        }
    ).encode()
    return manifest, CONFIG, layer_bytes


def _index(manifest: bytes, count: int = 1) -> bytes:
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + _sha(manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    return json.dumps({"schemaVersion": 2, "manifests": [entry] * count}).encode()


def _oci_layout(root: Path, count: int = 1) -> str:
    manifest, config, layer = _image_blobs()
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in (manifest, config, layer):
        (blobs / _sha(blob)).write_bytes(blob)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_bytes(_index(manifest, count))
    return "sha256:" + _sha(manifest)


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_oci_layout_directory(tmp_path: Path) -> None:
    root = tmp_path / "img"
    expected = _oci_layout(root)
    assert artifact_digest(str(root)) == expected
    assert artifact_digest(root) == expected


def test_oci_layout_errors(tmp_path: Path) -> None:
    two = tmp_path / "two"
    _oci_layout(two, count=2)
    with pytest.raises(InputError, match="lists 2 manifests"):
        artifact_digest(str(two))
    broken = tmp_path / "broken"
    digest = _oci_layout(broken)
    (broken / "blobs" / "sha256" / digest[7:]).write_bytes(b"tampered")
    with pytest.raises(InputError, match="does not match its digest"):
        artifact_digest(str(broken))
    (broken / "blobs" / "sha256" / digest[7:]).unlink()
    with pytest.raises(InputError, match="missing"):
        artifact_digest(str(broken))
    (broken / "index.json").write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        artifact_digest(str(broken))


def test_oci_archive(tmp_path: Path) -> None:
    manifest, config, layer = _image_blobs()
    archive = tmp_path / "img.tar"
    _tar(
        archive,
        {
            "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
            "index.json": _index(manifest),
            f"blobs/sha256/{_sha(manifest)}": manifest,
            f"blobs/sha256/{_sha(config)}": config,
            f"blobs/sha256/{_sha(layer)}": layer,
        },
    )
    assert artifact_digest(str(archive)) == "sha256:" + _sha(manifest)


def test_docker_archive(tmp_path: Path) -> None:
    _manifest, config, layer = _image_blobs()
    archive = tmp_path / "docker.tar"
    cfg_name = _sha(config) + ".json"
    _tar(
        archive,
        {
            "manifest.json": json.dumps(
                [{"Config": cfg_name, "RepoTags": ["app:1"], "Layers": ["l1/layer.tar"]}]
            ).encode(),
            cfg_name: config,
            "l1/layer.tar": layer,
            "repositories": b"{}",
        },
    )
    assert artifact_digest(str(archive)) == "sha256:" + _sha(config)
    # a config blob whose content does not match its name is rejected
    bad = tmp_path / "bad.tar"
    _tar(
        bad,
        {
            "manifest.json": json.dumps([{"Config": cfg_name, "Layers": []}]).encode(),
            cfg_name: config + b" ",
        },
    )
    with pytest.raises(InputError, match="does not match its name"):
        artifact_digest(str(bad))


def test_docker_archive_gzip_and_new_layout(tmp_path: Path) -> None:
    # docker >= 25 names the config blobs/sha256/<hex>; compressed archives work too
    _manifest, config, _layer = _image_blobs()
    archive = tmp_path / "docker.tar.gz"
    cfg = f"blobs/sha256/{_sha(config)}"
    buf = tmp_path / "plain.tar"
    _tar(buf, {"manifest.json": json.dumps([{"Config": cfg, "Layers": []}]).encode(), cfg: config})
    import gzip

    archive.write_bytes(gzip.compress(buf.read_bytes()))
    assert artifact_digest(str(archive)) == "sha256:" + _sha(config)


def test_plain_tar_and_files(tmp_path: Path) -> None:
    src = tmp_path / "src.tar"
    _tar(src, {"a.txt": b"a"})
    assert artifact_digest(str(src)) == file_digest(src)
    f = tmp_path / "app.whl"
    f.write_bytes(b"zip")
    assert artifact_digest(str(f)) == "sha256:" + _sha(b"zip")
    d = tmp_path / "dir"
    d.mkdir()
    (d / "x").write_text("x")
    assert artifact_digest(str(d)) == tree_digest(d)


def test_artifact_digest_strings_and_errors(tmp_path: Path) -> None:
    assert artifact_digest("sha256:" + "AB" * 32) == "sha256:" + "ab" * 32
    with pytest.raises(InputError, match="64 hex"):
        artifact_digest("sha256:abc")
    with pytest.raises(InputError, match="no such file or directory"):
        artifact_digest(str(tmp_path / "missing"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="not a regular file"):
        artifact_digest(str(tmp_path / "fifo"))
