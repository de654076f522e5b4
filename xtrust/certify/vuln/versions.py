"""Version ordering per OSV ecosystem.

* PyPI - PEP 440, through :mod:`packaging`.
* Debian / Ubuntu - dpkg ordering, written from Debian Policy 5.6.12: ``[epoch:]upstream[-revision]``;
  non-digit runs compare character by character with letters before non-letters and ``~``
  before everything (even the end of the string); digit runs compare numerically.
* npm, Go, crates.io (and OSV ``SEMVER`` ranges) - Semantic Versioning 2.0.0 with the
  pre-release rules of semver.org section 11; a leading ``v`` is accepted (Go).
* Alpine - apk ordering: numeric components, an optional letter, suffixes
  (``_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p``) and ``-rN``.
* Maven - the Maven "Version Order Specification": tokens split at ``.``, ``-`` and
  digit/letter transitions, trailing null tokens (``0``, ``ga``, ``final``, ``release``)
  trimmed, qualifiers ``alpha < beta < milestone < rc = cr < snapshot < "" < sp < others``.

:func:`version_key` turns a version string into a comparable key once, so the matcher
parses each version a single time; :func:`compare_versions` is the three-way comparison.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol

from packaging.version import InvalidVersion as _PkgInvalidVersion
from packaging.version import Version

from xtrust.errors import InputError

__all__ = [
    "InvalidVersion",
    "UnsupportedEcosystem",
    "VersionKey",
    "compare_versions",
    "ecosystem_scheme",
    "version_key",
]


class InvalidVersion(InputError):
    """A version string cannot be parsed under its ecosystem's rules."""


class UnsupportedEcosystem(InputError):
    """No version ordering is known for this ecosystem."""


class VersionKey(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...


# Ecosystem (its base name, before ":") -> ordering scheme.
_SCHEMES = {
    "pypi": "pep440",
    "npm": "semver",
    "go": "semver",
    "crates.io": "semver",
    "semver": "semver",
    "debian": "dpkg",
    "ubuntu": "dpkg",
    "alpine": "apk",
    "maven": "maven",
}


def ecosystem_scheme(ecosystem: str) -> str | None:
    """The ordering scheme of an OSV ecosystem ("Debian:12" -> "dpkg"), None if unknown."""
    base = ecosystem.split(":", 1)[0].strip().lower()
    return _SCHEMES.get(base)


class _CmpKey:
    """A key compared by ``_cmp`` (for orderings that are not plain tuples)."""

    __slots__ = ()

    def _cmp(self, other: Any) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._cmp(other) < 0

    def __le__(self, other: Any) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._cmp(other) <= 0

    def __gt__(self, other: Any) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._cmp(other) > 0

    def __ge__(self, other: Any) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._cmp(other) >= 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self._cmp(other) == 0

    def __hash__(self) -> int:  # pragma: no cover - keys are not hashed
        return 0


# --------------------------------------------------------------------------- dpkg

_DPKG_UPSTREAM = re.compile(r"^[0-9][A-Za-z0-9.+~-]*$")
_DPKG_REVISION = re.compile(r"^[A-Za-z0-9.+~]+$")
_DIGITS = re.compile(r"\d+|\D+")


def _dpkg_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isascii() and c.isalpha():
        return ord(c)
    return ord(c) + 256


def _dpkg_parts(s: str) -> list[tuple[tuple[int, ...], int]]:
    """Split into (non-digit run as orders + terminator 0, digit run as int) pairs."""
    parts: list[tuple[tuple[int, ...], int]] = []
    i, n = 0, len(s)
    while i < n:
        j = i
        while j < n and not s[j].isdigit():
            j += 1
        nondigit = (*(_dpkg_order(c) for c in s[i:j]), 0)
        k = j
        while k < n and s[k].isdigit():
            k += 1
        num = int(s[j:k]) if k > j else 0
        parts.append((nondigit, num))
        i = k
    return parts


_DPKG_PAD: tuple[tuple[int, ...], int] = ((0,), 0)


def _dpkg_cmp_parts(
    a: list[tuple[tuple[int, ...], int]], b: list[tuple[tuple[int, ...], int]]
) -> int:
    for i in range(max(len(a), len(b))):
        pa = a[i] if i < len(a) else _DPKG_PAD
        pb = b[i] if i < len(b) else _DPKG_PAD
        if pa[0] != pb[0]:
            return -1 if pa[0] < pb[0] else 1
        if pa[1] != pb[1]:
            return -1 if pa[1] < pb[1] else 1
    return 0


class DpkgKey(_CmpKey):
    __slots__ = ("epoch", "revision", "upstream")

    def __init__(self, version: str) -> None:
        v = version.strip()
        epoch = 0
        if ":" in v:
            e, v = v.split(":", 1)
            if not e.isdigit():
                raise InvalidVersion(f"invalid dpkg version {version!r}: epoch is not a number")
            epoch = int(e)
        upstream, revision = v, ""
        if "-" in v:
            upstream, revision = v.rsplit("-", 1)
            if not _DPKG_REVISION.match(revision):
                raise InvalidVersion(f"invalid dpkg version {version!r}: bad revision")
        if not _DPKG_UPSTREAM.match(upstream):
            raise InvalidVersion(
                f"invalid dpkg version {version!r}: upstream part must start with a digit "
                "and use only alphanumerics and . + ~ -"
            )
        self.epoch = epoch
        self.upstream = _dpkg_parts(upstream)
        self.revision = _dpkg_parts(revision)

    def _cmp(self, other: Any) -> int:
        if not isinstance(other, DpkgKey):
            raise TypeError("cannot compare a dpkg version with another kind")
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        return _dpkg_cmp_parts(self.upstream, other.upstream) or _dpkg_cmp_parts(
            self.revision, other.revision
        )


# --------------------------------------------------------------------------- semver

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

SemverKey = tuple[int, int, int, tuple[Any, ...]]


def _semver_key(version: str) -> SemverKey:
    m = _SEMVER.match(version.strip())
    if not m:
        raise InvalidVersion(f"invalid semantic version {version!r}")
    pre = m.group(4)
    if pre is None:
        # A release sorts after every pre-release of the same MAJOR.MINOR.PATCH.
        pre_key: tuple[Any, ...] = (1,)
    else:
        idents: list[tuple[int, int, str]] = []
        for ident in pre.split("."):
            if ident.isdigit():
                idents.append((0, int(ident), ""))  # numeric < alphanumeric
            else:
                idents.append((1, 0, ident))  # ASCII order
        pre_key = (0, tuple(idents))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre_key)


# --------------------------------------------------------------------------- apk

_APK = re.compile(
    r"^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?$"
)
_APK_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_APK_SUFFIX_RANK = {
    "alpha": -4,
    "beta": -3,
    "pre": -2,
    "rc": -1,
    "cvs": 1,
    "svn": 2,
    "git": 3,
    "hg": 4,
    "p": 5,
}


def _apk_num_cmp(a: str, b: str, first: bool) -> int:
    if not first and (a.startswith("0") or b.startswith("0")):
        # apk compares components with a leading zero as strings ("fractional").
        return (a > b) - (a < b)
    ia, ib = int(a), int(b)
    return (ia > ib) - (ia < ib)


class ApkKey(_CmpKey):
    __slots__ = ("letter", "nums", "revision", "suffixes")

    def __init__(self, version: str) -> None:
        m = _APK.match(version.strip())
        if not m:
            raise InvalidVersion(f"invalid apk version {version!r}")
        self.nums = m.group(1).split(".")
        self.letter = m.group(2)
        self.suffixes = [
            (_APK_SUFFIX_RANK[s], int(n) if n else 0) for s, n in _APK_SUFFIX.findall(m.group(3))
        ]
        self.revision = int(m.group(4) or 0)

    def _cmp(self, other: Any) -> int:
        if not isinstance(other, ApkKey):
            raise TypeError("cannot compare an apk version with another kind")
        for i, (a, b) in enumerate(zip(self.nums, other.nums, strict=False)):
            c = _apk_num_cmp(a, b, i == 0)
            if c:
                return c
        if len(self.nums) != len(other.nums):
            return -1 if len(self.nums) < len(other.nums) else 1
        if self.letter != other.letter:
            return -1 if self.letter < other.letter else 1
        for i in range(max(len(self.suffixes), len(other.suffixes))):
            sa = self.suffixes[i] if i < len(self.suffixes) else (0, 0)
            sb = other.suffixes[i] if i < len(other.suffixes) else (0, 0)
            if sa != sb:
                return -1 if sa < sb else 1
        return (self.revision > other.revision) - (self.revision < other.revision)


# --------------------------------------------------------------------------- Maven

_MVN_QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
_MVN_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_MVN_RELEASE = str(_MVN_QUALIFIERS.index(""))


def _mvn_qualifier_key(q: str) -> str:
    if q in _MVN_QUALIFIERS:
        return str(_MVN_QUALIFIERS.index(q))
    return f"{len(_MVN_QUALIFIERS)}-{q}"  # unknown qualifiers: after the known ones, lexically


# Items: int (a number), str (a qualifier, aliases resolved), list (a "-" sublist).
_MvnItem = Any


def _mvn_is_null(item: _MvnItem) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, str):
        return item == ""
    return len(item) == 0


def _mvn_cmp(a: _MvnItem, b: _MvnItem | None) -> int:
    """Maven's Item.compareTo: a against b (None stands for padding)."""
    if isinstance(a, int):
        if b is None:
            return 0 if a == 0 else 1
        if isinstance(b, int):
            return (a > b) - (a < b)
        return 1  # a number is above a qualifier and above a sublist
    if isinstance(a, str):
        ka = _mvn_qualifier_key(a)
        if b is None:
            return (ka > _MVN_RELEASE) - (ka < _MVN_RELEASE)
        if isinstance(b, (int, list)):
            return -1
        kb = _mvn_qualifier_key(b)
        return (ka > kb) - (ka < kb)
    # a is a list
    if b is None:
        return _mvn_cmp(a[0], None) if a else 0
    if isinstance(b, int):
        return -1
    if isinstance(b, str):
        return 1
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else None
        right = b[i] if i < len(b) else None
        if left is None:
            c = 0 if right is None else -_mvn_cmp(right, None)
        else:
            c = _mvn_cmp(left, right)
        if c:
            return c
    return 0


def _mvn_item(token: str, digit: bool, followed_by_digit: bool = False) -> _MvnItem:
    if digit:
        return int(token)
    if followed_by_digit and len(token) == 1:
        token = {"a": "alpha", "b": "beta", "m": "milestone"}.get(token, token)
    return _MVN_ALIASES.get(token, token)


def _mvn_normalize(items: list[_MvnItem]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _mvn_is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


_MAVEN_CHARS = re.compile(r"^[0-9A-Za-z._+-]+$")


class MavenKey(_CmpKey):
    __slots__ = ("items",)

    def __init__(self, version: str) -> None:
        v = version.strip().lower()
        if not v or not _MAVEN_CHARS.match(v):
            raise InvalidVersion(f"invalid Maven version {version!r}")
        root: list[_MvnItem] = []
        current = root
        stack = [root]
        digit = False
        start = 0
        for i, c in enumerate(v):
            if c in ".-":
                current.append(0 if i == start else _mvn_item(v[start:i], digit))
                start = i + 1
                if c == "-":
                    sub: list[_MvnItem] = []
                    current.append(sub)
                    current = sub
                    stack.append(sub)
            elif c.isdigit():
                if not digit and i > start:
                    # letters followed by digits: "alpha1" is "alpha-1"
                    current.append(_mvn_item(v[start:i], False, followed_by_digit=True))
                    start = i
                    sub = []
                    current.append(sub)
                    current = sub
                    stack.append(sub)
                digit = True
            else:
                if digit and i > start:
                    current.append(_mvn_item(v[start:i], True))
                    start = i
                    sub = []
                    current.append(sub)
                    current = sub
                    stack.append(sub)
                digit = False
        if len(v) > start:
            current.append(_mvn_item(v[start:], digit))
        while stack:
            _mvn_normalize(stack.pop())
        self.items = root

    def _cmp(self, other: Any) -> int:
        return _mvn_cmp(self.items, other.items)


# --------------------------------------------------------------------------- API


@lru_cache(maxsize=65536)
def _key(scheme: str, version: str) -> VersionKey:
    if scheme == "pep440":
        try:
            return Version(version)
        except _PkgInvalidVersion:
            raise InvalidVersion(f"invalid PEP 440 version {version!r}") from None
    if scheme == "semver":
        return _semver_key(version)
    if scheme == "dpkg":
        return DpkgKey(version)
    if scheme == "apk":
        return ApkKey(version)
    if scheme == "maven":
        return MavenKey(version)
    raise UnsupportedEcosystem(f"no version ordering for scheme {scheme!r}")  # pragma: no cover


def version_key(ecosystem: str, version: str) -> VersionKey:
    """A comparable key for ``version`` in ``ecosystem``.

    Raises :class:`InvalidVersion` for a version the ecosystem cannot parse and
    :class:`UnsupportedEcosystem` for an ecosystem without a known ordering.
    """
    scheme = ecosystem_scheme(ecosystem)
    if scheme is None:
        raise UnsupportedEcosystem(f"no version ordering known for ecosystem {ecosystem!r}")
    if not isinstance(version, str) or not version.strip():
        raise InvalidVersion(f"empty version in ecosystem {ecosystem!r}")
    v = version.strip()
    if scheme == "semver" and ecosystem.split(":", 1)[0].lower() == "go":
        v = _go_version(v)
    return _key(scheme, v)


_GO_RELEASE = re.compile(r"^go(\d+)\.(\d+)(?:\.(\d+))?((?:rc|beta)\d+)?$")


def _go_version(v: str) -> str:
    """Go toolchain spellings to semver, as OSV's Go "stdlib" entries use them:
    ``go1.21`` -> ``1.21.0``, ``go1.21.3`` -> ``1.21.3``, ``go1.22rc1`` -> ``1.22.0-rc.1``."""
    m = _GO_RELEASE.match(v)
    if not m:
        return v
    major, minor, patch, pre = m.groups()
    out = f"{major}.{minor}.{patch or 0}"
    if pre:
        kind = pre.rstrip("0123456789")
        out += f"-{kind}.{pre[len(kind) :]}"
    return out


def compare_versions(ecosystem: str, a: str, b: str) -> int:
    """Three-way comparison of two versions of ``ecosystem``: -1, 0 or 1."""
    ka, kb = version_key(ecosystem, a), version_key(ecosystem, b)
    if ka == kb:
        return 0
    return -1 if ka < kb else 1
