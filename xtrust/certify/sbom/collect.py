"""``collect_sbom``: syft plus our own readers, merged and deduplicated."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from xtrust.certify.sbom.model import Component, Sbom, make_purl, normalize_name
from xtrust.certify.sbom.readers import (
    distro_of,
    dpkg_not_installed,
    find_manifests,
    read_alpine_installed,
    read_dpkg_status,
    read_os_release,
)
from xtrust.certify.sbom.syft import run_syft
from xtrust.errors import InputError
from xtrust.log import get_logger

__all__ = ["collect_sbom", "dedupe"]

log = get_logger(__name__)


def _key(c: Component) -> tuple[str, str, str | None]:
    return (c.ecosystem, normalize_name(c.ecosystem, c.name), c.version)


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


def dedupe(components: list[Component]) -> list[Component]:
    """One component per (ecosystem, normalized name, version), first one wins.

    Later duplicates contribute their locations and licenses, a missing purl, distro or
    version range; ``source`` lists every producer ("syft+requirements").
    """
    merged: dict[tuple[str, str, str | None], Component] = {}
    for c in components:
        k = _key(c)
        prev = merged.get(k)
        if prev is None:
            merged[k] = c
            continue
        sources = prev.source.split("+") if prev.source else []
        if c.source and c.source not in sources:
            sources.append(c.source)
        spec = prev.version_spec
        if spec is None or (c.version_spec and spec != c.version_spec and c.version_spec in spec):
            spec = c.version_spec or spec
        elif c.version_spec and c.version_spec != spec:
            # Two different ranges for one unpinned package: both constrain it.
            spec = f"{spec},{c.version_spec}"
        merged[k] = replace(
            prev,
            purl=prev.purl or c.purl,
            licenses=_union(prev.licenses, c.licenses),
            locations=_union(prev.locations, c.locations),
            source="+".join(sources),
            version_spec=spec,
            distro=prev.distro or c.distro,
        )
    return sorted(merged.values(), key=lambda c: (c.ecosystem, c.name.lower(), c.version or ""))


def _own_readers(root: Path, warnings: list[str]) -> list[Component]:
    out: list[Component] = []
    os_release = read_os_release(root)
    status = root / "var/lib/dpkg/status"
    if status.is_file():
        out.extend(read_dpkg_status(root, status, warnings, os_release))
    status_d = root / "var/lib/dpkg/status.d"
    if status_d.is_dir():
        for p in sorted(status_d.iterdir()):
            if p.is_file() and not p.name.endswith(".md5sums"):
                out.extend(read_dpkg_status(root, p, warnings, os_release))
    apk_db = root / "lib/apk/db/installed"
    if apk_db.is_file():
        out.extend(read_alpine_installed(root, apk_db, warnings, os_release))
    for _kind, reader, path in find_manifests(root):
        out.extend(reader(root, path, warnings))
    return out


def _dpkg_removed(root: Path) -> set[tuple[str, str | None]]:
    out: set[tuple[str, str | None]] = set()
    status = root / "var/lib/dpkg/status"
    if status.is_file():
        out |= dpkg_not_installed(root, status)
    return out


def _fill_distro(components: list[Component], root: Path) -> list[Component]:
    """OS packages from syft lacking a distro get the one of the root's os-release."""
    os_release = read_os_release(root)
    if not os_release:
        return components
    _eco, distro = distro_of(os_release)
    out = []
    for c in components:
        if c.distro is None and distro and c.ecosystem in ("Debian", "Ubuntu", "Alpine"):
            c = replace(
                c, distro=distro, purl=c.purl or make_purl(c.ecosystem, c.name, c.version, distro)
            )
        out.append(c)
    return out


def collect_sbom(root: Path, *, use_syft: bool = True, timeout: float = 300) -> Sbom:
    """Inventory a source tree or an extracted container root filesystem.

    With ``use_syft`` (the default) syft runs first and its components come first; our
    readers (requirements, pyproject, setup.py, setup.cfg, package-lock, dist-info,
    dpkg and apk databases) add what it misses. A missing or failing syft raises
    :class:`~xtrust.errors.ExternalToolError`; the caller decides whether the scan is
    incomplete. What could not be read is listed in ``Sbom.warnings``.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    warnings: list[str] = []
    tools: dict[str, str] = {}
    components: list[Component] = []
    if use_syft:
        found, version = run_syft(root, timeout=timeout)
        tools["syft"] = version or "unknown"
        components.extend(found)
        log.debug("syft found %d components in %s", len(found), root)
    removed = _dpkg_removed(root)
    if removed:
        kept = []
        for c in components:
            if c.ecosystem in ("Debian", "Ubuntu") and (c.name, c.version) in removed:
                warnings.append(
                    f"{c.name} {c.version}: listed by syft but not installed per dpkg status; dropped"
                )
                continue
            kept.append(c)
        components = kept
    own = _own_readers(root, warnings)
    log.debug("own readers found %d components in %s", len(own), root)
    components.extend(own)
    from xtrust import __version__

    tools["xtrust"] = __version__
    return Sbom(
        components=dedupe(_fill_distro(components, root)),
        tool_versions=tools,
        warnings=warnings,
        target_name=root.resolve().name or str(root),
    )
