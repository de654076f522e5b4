"""Recognise a certification target and make it a safe directory to analyze.

Targets: a source tree (directory or tar archive of one), a container image
(``docker save`` archive, OCI archive, OCI layout directory), a Helm chart
(directory or ``.tgz``) or an xApp descriptor (JSON file).

Archives are hostile until proven otherwise. Extraction is our own, streaming
and defensive (never ``tarfile.extractall``):

* entries with absolute paths, ``..`` components, NUL or non-UTF-8 names are
  not written; each becomes a finding;
* symbolic links are never created on disk (a link that escapes the root is a
  finding); hard links are copied when their target is inside the archive and
  already extracted, else they are a finding; device files and FIFOs are
  findings and skipped;
* a file larger than ``Limits.max_file_size`` is skipped with a finding; more
  than ``Limits.max_total_size`` bytes in all, more than ``Limits.max_members``
  entries, or an expansion ratio above ``Limits.max_ratio`` (once past
  ``Limits.ratio_floor`` bytes) is a decompression bomb: an
  :class:`~xtrust.errors.InputError`, and the partial extraction is removed;
* data is copied in 1 MiB chunks: layers are never read whole into memory;
* a truncated or corrupt archive is an :class:`~xtrust.errors.InputError`.

Image layers are applied in order into one root file system, honouring OCI
whiteouts (``.wh.NAME`` deletes, ``.wh..wh..opq`` empties a directory).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from xtrust.certify.interface import Finding, Location, Severity
from xtrust.errors import InputError

__all__ = [
    "EXCLUDED_DIRS",
    "OUTPUT_MARKER",
    "Limits",
    "PreparedTarget",
    "app_files",
    "iter_files",
    "prepare_target",
    "printable",
]

#: directories no analyzer descends into in a source tree
EXCLUDED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}
)
_CHUNK = 1 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAX_JSON = 16 << 20


@dataclass(frozen=True)
class Limits:
    """Extraction limits (defaults suit real xApp images)."""

    max_file_size: int = 512 << 20
    max_total_size: int = 4 << 30
    max_members: int = 500_000
    max_ratio: float = 200.0
    ratio_floor: int = 64 << 20


@dataclass
class PreparedTarget:
    """A target ready for analysis: ``root`` is a directory safe to read."""

    target: str
    kind: str  # source | image | helm | descriptor
    root: Path
    findings: list[Finding] = field(default_factory=list)
    image_config: dict[str, Any] | None = None
    image_ref: str | None = None
    descriptor: Path | None = None
    work_dir: Path | None = None
    entries: int = 0

    def cleanup(self) -> None:
        if self.work_dir is not None and self.work_dir.exists():
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None


def _finding(rule: str, severity: Severity, message: str, path: str) -> Finding:
    return Finding(
        analyzer="target",
        rule_id=rule,
        severity=severity,
        message=message,
        category="hostile-input",
        location=Location(path=path),
        rule_name=rule,
    )


def printable(name: str) -> str:
    """A name safe to print and store in JSON (non-UTF-8 bytes escaped)."""
    raw = name.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


#: a file marking a certify output directory; trees containing it are not analyzed, so
#: ``xtrust certify . -o certify-out`` does not scan its own reports
OUTPUT_MARKER = ".xtrust-certify-output"


def _skip_dir(dirpath: str, name: str) -> bool:
    return name in EXCLUDED_DIRS or os.path.lexists(os.path.join(dirpath, name, OUTPUT_MARKER))


def iter_files(root: Path, *, suffixes: tuple[str, ...] = ()) -> Iterator[tuple[str, Path]]:
    """Regular files under ``root`` (never through symlinks), as (relative posix path, path).

    Skips :data:`EXCLUDED_DIRS` and certify output directories (:data:`OUTPUT_MARKER`).
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(dirpath, d))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if suffixes and not name.endswith(suffixes):
                continue
            try:
                st = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = path.relative_to(root).as_posix()
            yield rel, path


#: in a container image, trees of the OS and of language runtimes / installed packages:
#: covered by the SBOM and vulnerability analyzers, not by SAST and secret scanning
IMAGE_LIBRARY_PREFIXES = (
    "usr/lib/", "usr/lib64/", "usr/share/", "usr/include/", "usr/src/", "lib/", "lib64/",
    "usr/local/lib/", "usr/local/include/", "opt/conda/", "var/lib/", "var/cache/", "proc/",
    "sys/", "etc/ssl/certs/",
)  # fmt: skip


def app_files(
    root: Path, kind: str, *, suffixes: tuple[str, ...] = ()
) -> Iterator[tuple[str, Path]]:
    """:func:`iter_files`, without an image's library trees (:data:`IMAGE_LIBRARY_PREFIXES`)."""
    for rel, path in iter_files(root, suffixes=suffixes):
        if kind == "image" and rel.startswith(IMAGE_LIBRARY_PREFIXES):
            continue
        yield rel, path


class _Budget:
    def __init__(self, limits: Limits, compressed: int):
        self.limits = limits
        self.compressed = max(compressed, 1)
        self.written = 0
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise InputError(
                f"archive has more than {self.limits.max_members} entries "
                "(refusing a possible decompression bomb)"
            )

    def add(self, n: int) -> None:
        self.written += n
        if self.written > self.limits.max_total_size:
            raise InputError(
                f"archive expands to more than {self.limits.max_total_size} bytes "
                "(decompression bomb limit)"
            )
        if (
            self.written > self.limits.ratio_floor
            and self.written > self.limits.max_ratio * self.compressed
        ):
            raise InputError(
                f"archive expands more than {self.limits.max_ratio:g}x its size "
                "(decompression bomb limit)"
            )


class _Extractor:
    """Writes tar entries into ``dest`` under the rules in the module docstring."""

    def __init__(self, dest: Path, budget: _Budget, findings: list[Finding], *, image: bool):
        self.dest = dest
        self.budget = budget
        self.findings = findings
        self.image = image
        self.extracted: set[str] = set()

    def _clean_name(self, raw: str, label: str) -> str | None:
        shown = printable(raw)
        where = f"{label}:{shown}" if label else shown
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            self.findings.append(
                _finding("archive-non-utf8-name", Severity.LOW, "entry name is not UTF-8", where)
            )
            return None
        if "\x00" in raw:
            self.findings.append(
                _finding("archive-nul-name", Severity.HIGH, "entry name contains NUL", where)
            )
            return None
        if raw.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", raw):
            self.findings.append(
                _finding(
                    "archive-absolute-path",
                    Severity.HIGH,
                    f"entry has an absolute path {shown!r}; not extracted",
                    where,
                )
            )
            return None
        parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            self.findings.append(
                _finding(
                    "archive-path-traversal",
                    Severity.CRITICAL,
                    f"entry {shown!r} climbs out of the archive root; not extracted",
                    where,
                )
            )
            return None
        return "/".join(parts)

    def _escapes(self, name: str, link: str) -> bool:
        if link.startswith("/"):
            return not self.image  # absolute links are normal inside an image root
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), link))
        return joined == ".." or joined.startswith("../") or joined.startswith("/")

    def _prepare_parent(self, rel: str) -> Path:
        path = self.dest.joinpath(*rel.split("/"))
        parent = self.dest
        for part in rel.split("/")[:-1]:
            parent = parent / part
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                parent.unlink()
            if not parent.exists():
                parent.mkdir(mode=0o755)
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        return path

    def _write(self, rel: str, src: IO[bytes], mode: int) -> None:
        path = self._prepare_parent(rel)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags, 0o755 if mode & 0o111 else 0o644)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                self.budget.add(len(chunk))
                out.write(chunk)
        self.extracted.add(rel)

    def _whiteout(self, rel: str) -> bool:
        base = posixpath.basename(rel)
        if not base.startswith(".wh."):
            return False
        parent = posixpath.dirname(rel)
        target_dir = self.dest.joinpath(*parent.split("/")) if parent else self.dest
        if base == ".wh..wh..opq":
            if target_dir.is_dir() and not target_dir.is_symlink():
                for child in target_dir.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            return True
        victim = target_dir / base[len(".wh.") :]
        if victim.is_dir() and not victim.is_symlink():
            shutil.rmtree(victim)
        elif victim.exists() or victim.is_symlink():
            victim.unlink()
        prefix = (parent + "/" if parent else "") + base[len(".wh.") :]
        self.extracted = {
            e for e in self.extracted if e != prefix and not e.startswith(prefix + "/")
        }
        return True

    def extract(self, tf: tarfile.TarFile, label: str = "") -> None:
        try:
            for member in tf:
                self._member(tf, member, label)
        except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
            where = f" ({label})" if label else ""
            raise InputError(f"truncated or corrupt archive{where}: {exc}") from None

    def _member(self, tf: tarfile.TarFile, member: tarfile.TarInfo, label: str) -> None:
        self.budget.member()
        rel = self._clean_name(member.name, label)
        if rel is None or rel == "":
            return
        where = f"{label}:{rel}" if label else rel
        if self.image and self._whiteout(rel):
            return
        if member.isdir():
            path = self.dest.joinpath(*rel.split("/"))
            if path.is_symlink() or path.is_file():
                path.unlink()
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
            return
        if member.issym():
            if self._escapes(rel, member.linkname):
                self.findings.append(
                    _finding(
                        "archive-symlink-escape",
                        Severity.HIGH,
                        f"symbolic link points outside the root ({printable(member.linkname)!r});"
                        " not created",
                        where,
                    )
                )
            return  # links are never created on disk
        if member.islnk():
            link = self._clean_name(member.linkname, label)
            if link is None or link not in self.extracted:
                self.findings.append(
                    _finding(
                        "archive-hardlink-escape",
                        Severity.HIGH,
                        f"hard link to {printable(member.linkname)!r}, which is outside the"
                        " archive or not a file in it; not created",
                        where,
                    )
                )
                return
            src_path = self.dest.joinpath(*link.split("/"))
            if src_path.stat().st_size > self.budget.limits.max_file_size:
                return
            with open(src_path, "rb") as linked:
                self._write(rel, linked, member.mode)
            return
        if member.ischr() or member.isblk() or member.isfifo():
            kind = "FIFO" if member.isfifo() else "device file"
            self.findings.append(
                _finding(
                    "archive-device-file", Severity.MEDIUM, f"{kind} in archive; skipped", where
                )
            )
            return
        if not member.isreg():
            return
        if member.size > self.budget.limits.max_file_size:
            self.findings.append(
                _finding(
                    "archive-huge-file",
                    Severity.MEDIUM,
                    f"file of {member.size} bytes exceeds the {self.budget.limits.max_file_size}"
                    " byte limit; not analyzed",
                    where,
                )
            )
            return
        src = tf.extractfile(member)
        if src is None:
            return
        with src:
            self._write(rel, src, member.mode)


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{path}: not a readable tar archive: {exc}") from None


def _is_tar(path: Path) -> bool:
    try:
        with tarfile.open(path, mode="r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, EOFError, OSError, zlib_error()):
        return False


def _load_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{what} is not valid JSON: {exc}") from None


class _BlobSource:
    """Read named files from an image archive or OCI layout directory."""

    def __init__(self, tar: tarfile.TarFile | None = None, directory: Path | None = None):
        self.tar = tar
        self.directory = directory
        self._members: dict[str, tarfile.TarInfo] | None = None

    def _index(self) -> dict[str, tarfile.TarInfo]:
        if self._members is None:
            assert self.tar is not None
            try:
                members = self.tar.getmembers()
            except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
                raise InputError(f"truncated or corrupt image archive: {exc}") from None
            self._members = {}
            for m in members:
                self._members[posixpath.normpath(m.name.lstrip("./") or ".")] = m
        return self._members

    def names(self) -> set[str]:
        if self.tar is not None:
            return set(self._index())
        assert self.directory is not None
        return {p.relative_to(self.directory).as_posix() for p in self.directory.rglob("*")}

    def size(self, name: str) -> int:
        if self.tar is not None:
            return self._index()[name].size
        assert self.directory is not None
        return (self.directory / name).stat().st_size

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        norm = posixpath.normpath(name)
        if norm.startswith(("/", "..")):
            raise InputError(f"image refers to a file outside the archive: {name!r}")
        if self.tar is not None:
            member = self._index().get(norm)
            if member is None or not member.isreg():
                raise InputError(f"truncated image: {name!r} is missing from the archive")
            handle = self.tar.extractfile(member)
            assert handle is not None
            with handle:
                yield handle
        else:
            assert self.directory is not None
            path = self.directory / norm
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                raise InputError(f"OCI layout: cannot open {name!r}: {exc.strerror}") from None
            with os.fdopen(fd, "rb") as f:
                yield f

    def read_json(self, name: str) -> Any:
        if self.size(name) > _MAX_JSON:
            raise InputError(f"image metadata {name!r} is too large")
        with self.open(name) as f:
            try:
                data = f.read(_MAX_JSON + 1)
            except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
                raise InputError(f"truncated image archive reading {name!r}: {exc}") from None
        return _load_json(data, name)


def _blob_name(digest: Any) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InputError(f"OCI image: invalid blob digest {digest!r}")
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _oci_layers(src: _BlobSource) -> tuple[list[str], dict[str, Any], str | None]:
    index = src.read_json("index.json")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise InputError("OCI image: index.json lists no manifests")
    desc = manifests[0]
    ref = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name")
    doc = src.read_json(_blob_name(desc.get("digest")))
    for _ in range(4):  # nested image indexes
        if isinstance(doc, dict) and isinstance(doc.get("manifests"), list) and doc["manifests"]:
            chosen = doc["manifests"][0]
            for m in doc["manifests"]:
                plat = m.get("platform") or {}
                if plat.get("os") == "linux" and plat.get("architecture") == "amd64":
                    chosen = m
                    break
            doc = src.read_json(_blob_name(chosen.get("digest")))
        else:
            break
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise InputError("OCI image: the manifest has no layers list")
    config = src.read_json(_blob_name((doc.get("config") or {}).get("digest")))
    layers = [_blob_name(layer.get("digest")) for layer in doc["layers"]]
    return layers, config if isinstance(config, dict) else {}, ref


def _docker_layers(src: _BlobSource) -> tuple[list[str], dict[str, Any], str | None]:
    manifest = src.read_json("manifest.json")
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise InputError("docker archive: manifest.json is not a list of images")
    entry = manifest[0]
    layers = entry.get("Layers")
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise InputError("docker archive: manifest.json has no Layers list")
    config = src.read_json(str(entry.get("Config") or ""))
    tags = entry.get("RepoTags") or []
    return list(layers), config if isinstance(config, dict) else {}, tags[0] if tags else None


def _extract_image(
    src: _BlobSource, kind: str, dest: Path, limits: Limits, findings: list[Finding], size: int
) -> tuple[dict[str, Any], str | None]:
    layers, config, ref = _docker_layers(src) if kind == "docker" else _oci_layers(src)
    names = src.names()
    budget = _Budget(limits, size)
    ex = _Extractor(dest, budget, findings, image=True)
    for i, layer in enumerate(layers):
        norm = posixpath.normpath(layer)
        if norm not in names:
            raise InputError(f"truncated image: layer {layer!r} is missing")
        with src.open(norm) as blob:
            try:
                tf = tarfile.open(fileobj=blob, mode="r|*")  # noqa: SIM115 - closed below
            except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
                raise InputError(f"image layer {i} is not a readable tar: {exc}") from None
            with tf:
                ex.extract(tf, label=f"layer{i}")
    return config, ref


def _find_chart_root(root: Path) -> Path | None:
    if (root / "Chart.yaml").is_file():
        return root
    subdirs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    for sub in sorted(subdirs):
        if (sub / "Chart.yaml").is_file():
            return sub
    return None


def _scan_tree_links(root: Path, findings: list[Finding]) -> int:
    """Report symlinks escaping a source directory; count regular files."""
    count = 0
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not _skip_dir(dirpath, d)]
        for name in filenames + dirnames:
            path = Path(dirpath, name)
            if path.is_symlink():
                target = os.path.realpath(path)
                if not (target == str(real_root) or target.startswith(str(real_root) + os.sep)):
                    findings.append(
                        _finding(
                            "tree-symlink-escape",
                            Severity.HIGH,
                            "symbolic link points outside the target; not followed",
                            path.relative_to(root).as_posix(),
                        )
                    )
            elif name in filenames:
                count += 1
    return count


def _is_descriptor_doc(path: Path) -> bool:
    try:
        if path.stat().st_size > _MAX_JSON:
            return False
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return True  # a .json target that does not parse: the descriptor analyzer reports it
    return isinstance(doc, dict)


def prepare_target(target: str, work_parent: Path, limits: Limits | None = None) -> PreparedTarget:
    """Recognise ``target`` and return a safe directory to analyze.

    Archives are extracted into a fresh directory under ``work_parent`` (the
    output directory), removed by :meth:`PreparedTarget.cleanup`.
    """
    limits = limits or Limits()
    path = Path(target)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"target {target!r} does not exist")
    if path.is_dir():
        findings: list[Finding] = []
        if (path / "oci-layout").is_file() and (path / "index.json").is_file():
            work = Path(tempfile.mkdtemp(prefix=".xtrust-work-", dir=work_parent))
            prepared = PreparedTarget(target, "image", work / "rootfs", work_dir=work)
            prepared.root.mkdir()
            try:
                size = sum(p.stat().st_size for _, p in iter_files(path))
                config, ref = _extract_image(
                    _BlobSource(directory=path),
                    "oci",
                    prepared.root,
                    limits,
                    prepared.findings,
                    size,
                )
            except BaseException:
                prepared.cleanup()
                raise
            prepared.image_config, prepared.image_ref = config, ref
            return prepared
        count = _scan_tree_links(path, findings)
        kind = "helm" if (path / "Chart.yaml").is_file() else "source"
        return PreparedTarget(target, kind, path.resolve(), findings=findings, entries=count)
    if not path.is_file():
        raise InputError(f"target {target!r} is not a file or directory")
    if path.suffix.lower() == ".json" or not _is_tar(path):
        if path.suffix.lower() in (".json", ".yaml", ".yml") and _is_descriptor_doc(path):
            work = Path(tempfile.mkdtemp(prefix=".xtrust-work-", dir=work_parent))
            shutil.copyfile(path, work / path.name)
            for sibling in ("schema.json", "controls.schema.json"):
                if (path.parent / sibling).is_file() and sibling != path.name:
                    shutil.copyfile(path.parent / sibling, work / sibling)
            return PreparedTarget(
                target, "descriptor", work, descriptor=work / path.name, work_dir=work, entries=1
            )
        raise InputError(
            f"target {target!r} is not a directory, tar archive (image, chart, source) or "
            "JSON descriptor; if it is an archive it may be truncated"
        )
    tf = _open_tar(path)
    work = Path(tempfile.mkdtemp(prefix=".xtrust-work-", dir=work_parent))
    try:
        with tf:
            src = _BlobSource(tar=tf)
            names = src.names()
            size = path.stat().st_size
            if "manifest.json" in names or ("oci-layout" in names and "index.json" in names):
                kind = "docker" if "manifest.json" in names else "oci"
                root = work / "rootfs"
                root.mkdir()
                prepared = PreparedTarget(target, "image", root, work_dir=work)
                config, ref = _extract_image(src, kind, root, limits, prepared.findings, size)
                prepared.image_config, prepared.image_ref = config, ref
                return prepared
            root = work / "tree"
            root.mkdir()
            prepared = PreparedTarget(target, "source", root, work_dir=work)
            ex = _Extractor(root, _Budget(limits, size), prepared.findings, image=False)
            tf2 = _open_tar(path)
            with tf2:
                ex.extract(tf2)
            prepared.entries = len(ex.extracted)
            chart = _find_chart_root(root)
            if chart is not None:
                prepared.kind = "helm"
                prepared.root = chart
            return prepared
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
