"""The SBOM data model: components (OSV ecosystem names, package URLs) and the SBOM."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

__all__ = [
    "Component",
    "Sbom",
    "base_ecosystem",
    "make_purl",
    "normalize_name",
    "parse_purl",
    "source_package",
]


@dataclass(frozen=True)
class Component:
    """One package found in the target.

    ``ecosystem`` uses OSV ecosystem names ("PyPI", "npm", "Go", "Debian", "Alpine",
    "crates.io", "Maven", ...). ``version`` is None when only a range is known; the range
    is then in ``version_spec`` (PEP 440 specifier syntax for PyPI). ``distro`` names the
    OS release of OS packages ("debian:12", "alpine:3.19"). ``locations`` are paths
    relative to the scanned root.
    """

    name: str
    version: str | None
    ecosystem: str
    purl: str | None
    licenses: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    source: str = ""
    version_spec: str | None = None
    distro: str | None = None


@dataclass
class Sbom:
    """Components of one target, the tools that produced them, and what could not be read."""

    components: list[Component]
    tool_versions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    target_name: str = ""


_PEP503 = re.compile(r"[-_.]+")


def base_ecosystem(ecosystem: str) -> str:
    """ "Debian:12" -> "Debian"."""
    return ecosystem.split(":", 1)[0]


def normalize_name(ecosystem: str, name: str) -> str:
    """The name under which two spellings of one package compare equal in ``ecosystem``.

    PyPI: PEP 503 (runs of ``-_.`` become ``-``, lower case). Debian, Ubuntu, Alpine,
    crates.io: lower case. npm, Go, Maven and others: unchanged (case matters there).
    """
    base = base_ecosystem(ecosystem).lower()
    if base == "pypi":
        return _PEP503.sub("-", name).lower()
    if base in ("debian", "ubuntu", "alpine", "crates.io"):
        return name.lower()
    return name


_PURL_TYPES = {
    "pypi": "pypi",
    "npm": "npm",
    "go": "golang",
    "crates.io": "cargo",
    "debian": "deb",
    "ubuntu": "deb",
    "alpine": "apk",
    "maven": "maven",
    "rubygems": "gem",
    "nuget": "nuget",
    "packagist": "composer",
    "hex": "hex",
    "pub": "pub",
}


def _q(s: str) -> str:
    return quote(s, safe="")


def make_purl(
    ecosystem: str,
    name: str,
    version: str | None,
    distro: str | None = None,
    *,
    upstream: str | None = None,
) -> str | None:
    """A package URL (purl spec) for a component, or None for an ecosystem without a type.

    For OS packages, ``distro`` ("debian:12") and ``upstream`` (the source package,
    "glibc" or "glibc@2.36-9") become the purl qualifiers of the same names.
    """
    base = base_ecosystem(ecosystem).lower()
    ptype = _PURL_TYPES.get(base)
    if ptype is None or not name:
        return None
    namespace = ""
    pname = name
    if ptype == "pypi":
        pname = _PEP503.sub("-", name).lower()
    elif ptype == "npm" and name.startswith("@") and "/" in name:
        namespace, pname = name.split("/", 1)
    elif ptype == "golang" and "/" in name:
        namespace, pname = name.rsplit("/", 1)
    elif ptype == "deb":
        namespace = base
    elif ptype == "apk":
        namespace = "alpine"
    elif ptype == "maven" and ":" in name:
        namespace, pname = name.split(":", 1)
    purl = "pkg:" + ptype + "/"
    if namespace:
        purl += "/".join(_q(p) for p in namespace.split("/")) + "/"
    purl += _q(pname)
    if version:
        purl += "@" + _q(version)
    qualifiers: list[str] = []  # sorted by key, as the purl spec requires
    if distro and ptype in ("deb", "apk"):
        qualifiers.append("distro=" + _q(distro.replace(":", "-")))
    if upstream and ptype in ("deb", "apk") and upstream != name:
        qualifiers.append("upstream=" + _q(upstream))
    if qualifiers:
        purl += "?" + "&".join(qualifiers)
    return purl


def parse_purl(purl: str) -> tuple[str, str, dict[str, str]]:
    """(type, namespace, qualifiers) of a purl: enough to derive ecosystem, distro, source."""
    body = purl[4:] if purl.startswith("pkg:") else purl
    body, _, qual = body.partition("?")
    qual = qual.split("#", 1)[0]
    ptype, _, rest = body.partition("/")
    namespace = rest.rsplit("/", 1)[0] if "/" in rest else ""
    qualifiers: dict[str, str] = {}
    for pair in qual.split("&") if qual else []:
        k, _, v = pair.partition("=")
        qualifiers[k.lower()] = unquote(v)
    return ptype.lower(), unquote(namespace), qualifiers


def source_package(component: Component) -> tuple[str, str | None] | None:
    """(source package name, its version if stated) of an OS package, from the purl's
    ``upstream`` qualifier ("glibc" or "glibc@2.36-9"); None when not known."""
    if not component.purl or "upstream=" not in component.purl:
        return None
    _t, _ns, qualifiers = parse_purl(component.purl)
    upstream = qualifiers.get("upstream", "").strip()
    if not upstream:
        return None
    name, _, version = upstream.partition("@")
    return name, (version or None)
