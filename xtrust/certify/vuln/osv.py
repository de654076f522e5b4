"""An offline OSV advisory database, indexed by (ecosystem, package name) at load.

Accepted layouts (any mix, found recursively): OSV JSON files (``*.json``, one advisory
each, or a JSON list of advisories) and OSV's per-ecosystem ``all.zip`` archives (or any
``*.zip`` of OSV JSON files).

Digest: ``sha256:`` + SHA-256 over the sorted, newline-joined, hex SHA-256 digests of every
advisory document's raw bytes (each JSON file or zip member; withdrawn and malformed ones
included). It depends only on the set of documents, not on their order, file names or
whether they came from a directory or a zip, so two machines holding the same advisories
get the same digest.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xtrust.certify.sbom.model import normalize_name
from xtrust.errors import InputError
from xtrust.log import get_logger

__all__ = ["Advisory", "AffectedEntry", "OsvDatabase", "parse_release"]

log = get_logger(__name__)

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
IN_MEMORY_ZIP_BYTES = 512 * 1024 * 1024


@dataclass
class Advisory:
    """The parts of an OSV record the matcher needs (``raw`` keeps the rest)."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    modified: datetime | None
    raw: dict[str, Any]


@dataclass
class AffectedEntry:
    """One ``affected[]`` element of an advisory, for one package."""

    advisory: Advisory
    ecosystem: str  # as written: "PyPI", "Debian:12"
    release: str | None  # "12" for "Debian:12", "3.18" for "Alpine:v3.18"
    name: str
    versions: tuple[str, ...]
    ranges: tuple[dict[str, Any], ...]
    raw: dict[str, Any]
    # Filled by the matcher on first use (parsed version keys of the ranges).
    cache: dict[str, Any] = field(default_factory=dict)


def parse_release(ecosystem: str) -> str | None:
    """The release part of an OSV ecosystem or a distro ("Debian:12" -> "12")."""
    parts = ecosystem.split(":")
    if len(parts) < 2 or not parts[1]:
        return None
    rel = parts[1].strip()
    if rel[:1] in ("v", "V") and rel[1:2].isdigit():
        rel = rel[1:]
    return rel.lower()


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _summary(doc: dict[str, Any]) -> str:
    text = str(doc.get("summary") or doc.get("details") or "").strip()
    return text.splitlines()[0][:300] if text else ""


class OsvDatabase:
    """Advisories loaded from disk and an index (ecosystem base, normalized name) -> entries."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str], list[AffectedEntry]] = {}
        self.advisories: dict[str, Advisory] = {}
        self.withdrawn_skipped = 0
        self.malformed: list[str] = []
        self.newest_modified: datetime | None = None
        self._doc_digests: list[str] = []
        self.sources: list[str] = []

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | str) -> OsvDatabase:
        """Load a directory of OSV JSON files and/or zips, or one zip file."""
        p = Path(path)
        db = cls()
        # Loading creates millions of long-lived objects and no reference cycles; the cyclic
        # collector would rescan the growing heap again and again (half the load time on
        # CPython 3.11), so it is paused for the load and restored afterwards.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            db._load_path(p)
        finally:
            if was_enabled:
                gc.enable()
        db.sources.append(str(p))
        log.debug(
            "OSV database %s: %d advisories, %d withdrawn, %d malformed",
            p,
            db.count,
            db.withdrawn_skipped,
            len(db.malformed),
        )
        return db

    def _load_path(self, p: Path) -> None:
        if p.is_file():
            if p.suffix.lower() == ".zip":
                self._load_zip(p, p.name)
            elif p.suffix.lower() == ".json":
                try:
                    data = p.read_bytes()
                except OSError as exc:
                    raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
                self._load_bytes(data, p.name)
            else:
                raise InputError(f"{p}: not an OSV database (need a directory, a .zip or a .json)")
        elif p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames.sort()
                for name in sorted(filenames):
                    fp = Path(dirpath) / name
                    rel = fp.relative_to(p).as_posix()
                    low = name.lower()
                    if low.endswith(".zip"):
                        self._load_zip(fp, rel)
                    elif low.endswith(".json"):
                        try:
                            data = fp.read_bytes()
                        except OSError as exc:
                            self.malformed.append(f"{rel}: cannot read ({exc.strerror or exc})")
                            continue
                        self._load_bytes(data, rel)
        else:
            raise InputError(f"{p}: OSV database not found", hint="download all.zip from osv.dev")

    def _load_zip(self, path: Path, label: str) -> None:
        try:
            # Small enough archives are read into memory once: member reads then cost no
            # system calls (osv.dev's per-ecosystem all.zip files are tens of MB).
            size = path.stat().st_size
            source: Path | io.BytesIO = (
                io.BytesIO(path.read_bytes()) if size <= IN_MEMORY_ZIP_BYTES else path
            )
            with zipfile.ZipFile(source) as zf:
                for info in zf.infolist():
                    if info.is_dir() or not info.filename.lower().endswith(".json"):
                        continue
                    where = f"{label}:{info.filename}"
                    if info.file_size > MAX_DOCUMENT_BYTES:
                        self.malformed.append(f"{where}: larger than {MAX_DOCUMENT_BYTES} bytes")
                        continue
                    try:
                        data = zf.read(info)
                    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                        self.malformed.append(f"{where}: unreadable zip member ({exc})")
                        continue
                    self._load_bytes(data, where)
        except (zipfile.BadZipFile, OSError) as exc:
            self.malformed.append(f"{label}: not a readable zip ({exc})")

    def _load_bytes(self, data: bytes, where: str) -> None:
        self._doc_digests.append(hashlib.sha256(data).hexdigest())
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.malformed.append(f"{where}: invalid JSON ({exc})")
            return
        docs = doc if isinstance(doc, list) else [doc]
        for i, d in enumerate(docs):
            self._add(d, where if len(docs) == 1 else f"{where}[{i}]")

    def _add(self, doc: Any, where: str) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
            self.malformed.append(f"{where}: not an OSV record (no id)")
            return
        if doc.get("withdrawn"):
            self.withdrawn_skipped += 1
            return
        affected = doc.get("affected", [])
        if not isinstance(affected, list):
            self.malformed.append(f"{where}: {doc['id']}: affected is not a list")
            return
        aliases = doc.get("aliases") or []
        adv = Advisory(
            id=doc["id"],
            aliases=tuple(a for a in aliases if isinstance(a, str))
            if isinstance(aliases, list)
            else (),
            summary=_summary(doc),
            modified=_parse_time(doc.get("modified")),
            raw=doc,
        )
        if adv.modified and (self.newest_modified is None or adv.modified > self.newest_modified):
            self.newest_modified = adv.modified
        entries: list[AffectedEntry] = []
        for aff in affected:
            pkg = aff.get("package") if isinstance(aff, dict) else None
            if not isinstance(pkg, dict):
                continue  # affected entries without a package name a git repo only
            eco, name = pkg.get("ecosystem"), pkg.get("name")
            if not isinstance(eco, str) or not isinstance(name, str) or not eco or not name:
                self.malformed.append(f"{where}: {adv.id}: affected package lacks ecosystem/name")
                continue
            versions = aff.get("versions") or []
            ranges = aff.get("ranges") or []
            if not isinstance(versions, list) or not isinstance(ranges, list):
                self.malformed.append(f"{where}: {adv.id}: versions/ranges are not lists")
                continue
            entries.append(
                AffectedEntry(
                    advisory=adv,
                    ecosystem=eco,
                    release=parse_release(eco),
                    name=name,
                    versions=tuple(str(v) for v in versions),
                    ranges=tuple(r for r in ranges if isinstance(r, dict)),
                    raw=aff,
                )
            )
        if adv.id in self.advisories:
            # The same id twice (two sources): keep the newer record.
            old = self.advisories[adv.id]
            if old.modified and adv.modified and old.modified >= adv.modified:
                return
            self._remove(adv.id)
        self.advisories[adv.id] = adv
        for e in entries:
            base = e.ecosystem.split(":", 1)[0]
            key = (base.lower(), normalize_name(base, e.name))
            self.index.setdefault(key, []).append(e)

    def _remove(self, advisory_id: str) -> None:
        for key, entries in list(self.index.items()):
            kept = [e for e in entries if e.advisory.id != advisory_id]
            if kept:
                self.index[key] = kept
            else:
                del self.index[key]
        self.advisories.pop(advisory_id, None)

    # ------------------------------------------------------------------ queries

    @property
    def count(self) -> int:
        """Advisories loaded (withdrawn and malformed ones excluded)."""
        return len(self.advisories)

    @property
    def digest(self) -> str:
        h = hashlib.sha256("\n".join(sorted(self._doc_digests)).encode("ascii"))
        return "sha256:" + h.hexdigest()

    @property
    def ecosystems(self) -> frozenset[str]:
        """Base ecosystems (lower case: "pypi", "debian") with at least one advisory."""
        return frozenset(eco for eco, _name in self.index)

    def entries_for(self, ecosystem: str, name: str) -> list[AffectedEntry]:
        base = ecosystem.split(":", 1)[0]
        return self.index.get((base.lower(), normalize_name(base, name)), [])
