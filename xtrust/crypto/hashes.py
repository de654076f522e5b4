"""Content digests of files, source trees and container images.

Every digest is a string ``"sha256:<64 lowercase hex>"``.

``tree_digest`` (format ``xtrust-tree-v1``, specified in docs/crypto.md):

1. Walk the directory without following symlinks (the root itself may be a
   symlink to a directory). Skip every entry named ``.git`` at any depth.
2. Each non-directory entry gives a record. Its relative path is the entry's
   path below the root, components joined by ``/``, as raw bytes (the file
   system's bytes). Its type is ``f`` (regular file), ``x`` (regular file with
   the owner execute bit, ``S_IXUSR``) or ``l`` (symlink). Its content is the
   file's bytes, or for a symlink the link target as stored (``readlink``).
   Directories give no record (empty directories do not count). Any other file
   type (FIFO, socket, device) is an error.
3. ``record = type + b" " + hex(sha256(content)) + b" " + path + b"\\0"``
4. ``tree_digest = sha256(b"xtrust-tree-v1\\0" + records sorted by path bytes)``
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xtrust.errors import InputError

__all__ = [
    "TREE_DIGEST_VERSION",
    "artifact_digest",
    "file_digest",
    "normalise_digest",
    "tree_digest",
    "tree_entries",
]

TREE_DIGEST_VERSION = b"xtrust-tree-v1"
_CHUNK = 1 << 20
_MAX_JSON = 16 << 20
_DIGEST_RE = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def normalise_digest(text: str) -> str:
    """``"sha256:<hex>"`` in lowercase; raises :class:`InputError` for anything else."""
    m = _DIGEST_RE.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise InputError(f"{text!r} is not a digest of the form sha256:<64 hex digits>")
    return "sha256:" + m.group(1).lower()


def _hash_stream(fh: IO[bytes]) -> hashlib._Hash:
    h = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
    return h


def file_digest(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return "sha256:" + _hash_stream(fh).hexdigest()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory (use tree_digest)") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None


def _file_content_hash(path: bytes, buf: memoryview) -> str:
    # O_NOFOLLOW: the entry was a regular file when listed; never follow a swapped-in symlink.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    h = hashlib.sha256()
    with os.fdopen(fd, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(buf[:n])
    return h.hexdigest()


def tree_entries(path: str | os.PathLike[str]) -> Iterator[tuple[bytes, str, str]]:
    """Yield ``(relative path bytes, type, content sha256 hex)`` sorted by path bytes."""
    root = os.fsencode(os.fspath(path))
    if not os.path.isdir(root):
        raise InputError(f"{os.fsdecode(root)}: not a directory")
    found: list[tuple[bytes, str, str]] = []
    buf = memoryview(bytearray(_CHUNK))

    def walk(directory: bytes, rel: bytes) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            raise InputError(
                f"{os.fsdecode(directory)}: cannot list: {exc.strerror or exc}"
            ) from None
        for entry in entries:
            name = entry.name
            if name == b".git":
                continue
            relpath = rel + b"/" + name if rel else name
            try:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    found.append(
                        (relpath, "l", hashlib.sha256(os.readlink(entry.path)).hexdigest())
                    )
                elif stat.S_ISDIR(st.st_mode):
                    walk(entry.path, relpath)
                elif stat.S_ISREG(st.st_mode):
                    kind = "x" if st.st_mode & stat.S_IXUSR else "f"
                    found.append((relpath, kind, _file_content_hash(entry.path, buf)))
                else:
                    raise InputError(
                        f"{os.fsdecode(entry.path)}: special file (FIFO, socket or device) "
                        "in a source tree"
                    )
            except OSError as exc:
                raise InputError(
                    f"{os.fsdecode(entry.path)}: cannot read: {exc.strerror or exc}"
                ) from None

    walk(root, b"")
    found.sort(key=lambda item: item[0])
    yield from found


def tree_digest(path: str | os.PathLike[str]) -> str:
    """Canonical content digest of a directory tree (see the module docstring)."""
    h = hashlib.sha256(TREE_DIGEST_VERSION + b"\x00")
    for relpath, kind, content in tree_entries(path):
        h.update(kind.encode() + b" " + content.encode() + b" " + relpath + b"\x00")
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------------------
# container images


def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{where}: not valid JSON") from None


def _single_manifest_digest(index: Any, where: str) -> tuple[str, int | None]:
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise InputError(f"{where}: index.json has no manifests")
    if len(manifests) != 1:
        refs = [
            (m.get("annotations") or {}).get("org.opencontainers.image.ref.name", "?")
            for m in manifests
            if isinstance(m, dict)
        ]
        raise InputError(
            f"{where}: index.json lists {len(manifests)} manifests ({', '.join(refs)}); "
            "an artifact digest needs exactly one"
        )
    entry = manifests[0]
    if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
        raise InputError(f"{where}: index.json manifest entry has no digest")
    try:
        digest = normalise_digest(entry["digest"])
    except InputError:
        raise InputError(f"{where}: unsupported manifest digest {entry['digest']!r}") from None
    size = entry.get("size")
    return digest, size if isinstance(size, int) else None


def _check_blob(data: bytes | None, digest: str, size: int | None, where: str) -> None:
    if data is None:
        raise InputError(f"{where}: manifest blob {digest} is missing")
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise InputError(f"{where}: manifest blob does not match its digest {digest}")
    if size is not None and size != len(data):
        raise InputError(f"{where}: manifest blob size {len(data)} != index size {size}")


def _oci_layout_digest(directory: Path) -> str:
    where = str(directory)
    index = _load_json((directory / "index.json").read_bytes(), f"{where}/index.json")
    digest, size = _single_manifest_digest(index, where)
    blob = directory / "blobs" / "sha256" / digest.partition(":")[2]
    _check_blob(blob.read_bytes() if blob.is_file() else None, digest, size, where)
    return digest


class _TarView:
    """Regular-file members of a tar archive by normalised name."""

    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in tf.getmembers():
            name = m.name
            while name.startswith("./"):
                name = name[2:]
            self.members[name.lstrip("/")] = m

    def read(self, name: str, limit: int | None = _MAX_JSON) -> bytes | None:
        m = self.members.get(name)
        if m is None:
            return None
        fh = self.tf.extractfile(m)
        if fh is None:
            return None
        with fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise InputError(f"{name}: member too large")
        return data


def _archive_digest(path: Path) -> str | None:
    """Image digest of an OCI or docker archive; None when the tar is neither."""
    where = str(path)
    try:
        with tarfile.open(path, "r:*") as tf:
            view = _TarView(tf)
            if "oci-layout" in view.members and "index.json" in view.members:
                raw = view.read("index.json")
                assert raw is not None
                digest, size = _single_manifest_digest(
                    _load_json(raw, f"{where}:index.json"), where
                )
                blob = view.read("blobs/sha256/" + digest.partition(":")[2], limit=None)
                _check_blob(blob, digest, size, where)
                return digest
            if "manifest.json" in view.members:
                return _docker_config_digest(view, where)
            return None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{where}: cannot read archive: {exc}") from None


def _docker_config_digest(view: _TarView, where: str) -> str:
    raw = view.read("manifest.json")
    assert raw is not None
    manifest = _load_json(raw, f"{where}:manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise InputError(f"{where}: manifest.json is not a non-empty list")
    if len(manifest) != 1:
        raise InputError(
            f"{where}: docker archive holds {len(manifest)} images; an artifact digest needs one"
        )
    entry = manifest[0]
    config = entry.get("Config") if isinstance(entry, dict) else None
    if not isinstance(config, str):
        raise InputError(f"{where}: manifest.json entry has no Config")
    data = view.read(config, limit=None)
    if data is None:
        raise InputError(f"{where}: config blob {config} is missing")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    # The member name carries the digest ("<hex>.json" or "blobs/sha256/<hex>"); check it.
    stem = config.rsplit("/", 1)[-1].removesuffix(".json")
    if re.fullmatch(r"[0-9a-f]{64}", stem) and stem != digest.partition(":")[2]:
        raise InputError(f"{where}: config blob {config} does not match its name")
    return digest


def artifact_digest(target: str | os.PathLike[str]) -> str:
    """The digest that identifies an artifact, by what ``target`` is.

    * ``"sha256:<64 hex>"``: returned in lowercase;
    * an OCI image layout directory (has ``oci-layout`` and ``index.json``):
      the digest of its single manifest (checked against the blob);
    * any other directory: :func:`tree_digest`;
    * an OCI archive (``.tar``/``.tar.gz``/``.tgz`` with ``oci-layout`` and
      ``index.json``): the single manifest digest; a docker archive (``docker
      save``, has ``manifest.json``): the digest of the image config blob (the
      image ID). An archive with both is read as OCI;
    * any other file: :func:`file_digest`.

    Raises :class:`InputError` when ``target`` is none of these.
    """
    text = os.fspath(target)
    if isinstance(text, str) and _DIGEST_RE.match(text.strip()):
        return normalise_digest(text)
    p = Path(text)
    if p.is_dir():
        if (p / "oci-layout").is_file() and (p / "index.json").is_file():
            try:
                return _oci_layout_digest(p)
            except OSError as exc:
                raise InputError(f"{p}: cannot read OCI layout: {exc.strerror or exc}") from None
        return tree_digest(p)
    if p.is_file():
        if p.name.lower().endswith(_TAR_SUFFIXES):
            try:
                is_tar = tarfile.is_tarfile(p)
            except OSError as exc:
                raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
            digest = _archive_digest(p) if is_tar else None
            if digest is not None:
                return digest
        return file_digest(p)
    if os.path.lexists(p):
        raise InputError(f"{text}: not a regular file or directory")
    if isinstance(text, str) and text.lower().startswith("sha256:"):
        raise InputError(f"{text!r}: a digest must be sha256: followed by 64 hex digits")
    raise InputError(f"{text}: no such file or directory, and not a sha256:<hex> digest")
