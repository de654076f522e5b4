"""Our own manifest readers: what we find without syft, or what syft misses.

Every reader takes the scan root and one file, returns components and appends
human-readable warnings for what it could not interpret (never silently dropped).
No reader executes anything: ``setup.py`` is parsed with :mod:`ast`.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from xtrust.certify.sbom.model import Component, make_purl

__all__ = [
    "MAX_MANIFEST_BYTES",
    "dpkg_not_installed",
    "find_manifests",
    "read_alpine_installed",
    "read_cargo_lock",
    "read_dist_info",
    "read_dpkg_status",
    "read_go_mod",
    "read_os_release",
    "read_package_lock",
    "read_pipfile_lock",
    "read_poetry_lock",
    "read_pyproject",
    "read_requirements",
    "read_setup_cfg",
    "read_setup_py",
]

MAX_MANIFEST_BYTES = 32 * 1024 * 1024
# Directories never descended into while looking for manifests.
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".mypy_cache", ".ruff_cache"}
# Directories whose manifests belong to installed packages, not to the project.
VENDOR_DIRS = {"node_modules"}

Reader = Callable[[Path, Path, list[str]], list[Component]]


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read_text(root: Path, path: Path, warnings: list[str]) -> str | None:
    """Read a file inside root; refuses symlinks leaving root and oversized files."""
    rel = _rel(root, path)
    try:
        real = path.resolve()
        if not real.is_relative_to(root.resolve()):
            warnings.append(f"{rel}: symlink leaves the scanned tree, not read")
            return None
        if real.stat().st_size > MAX_MANIFEST_BYTES:
            warnings.append(f"{rel}: larger than {MAX_MANIFEST_BYTES} bytes, not read")
            return None
        return real.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        warnings.append(f"{rel}: cannot read ({exc.strerror or exc})")
        return None


# --------------------------------------------------------------------------- Python


_SPEC_TEXT = re.compile(
    r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(?:;.*)?$"
)


def _spec_as_written(text: str, req: Requirement) -> str:
    """The specifier as the file writes it (">=2.0,<3"), if it means the same as
    ``req.specifier`` (whose text form is sorted: "<3,>=2.0"); the sorted form otherwise."""
    m = _SPEC_TEXT.match(text)
    if m:
        written = re.sub(r"\s+", "", m.group(1))
        try:
            if written and SpecifierSet(written) == req.specifier:
                return written
        except InvalidSpecifier:
            pass
    return str(req.specifier)


def _pypi_component(
    req: Requirement, location: str, source: str, warnings: list[str], text: str = ""
) -> Component | None:
    if req.url:
        warnings.append(f"{location}: {req.name} comes from a URL ({req.url}), version unknown")
        return Component(
            name=req.name,
            version=None,
            ecosystem="PyPI",
            purl=make_purl("PyPI", req.name, None),
            locations=(location,),
            source=source,
        )
    specs = list(req.specifier)
    version: str | None = None
    spec: str | None = None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        version = specs[0].version
    elif specs:
        spec = _spec_as_written(text, req)
    return Component(
        name=req.name,
        version=version,
        ecosystem="PyPI",
        purl=make_purl("PyPI", req.name, version),
        locations=(location,),
        source=source,
        version_spec=spec,
    )


def _parse_requirement_strings(
    items: list[str], location: str, source: str, warnings: list[str]
) -> list[Component]:
    out: list[Component] = []
    for item in items:
        text = item.strip()
        if not text or text.startswith("#"):
            continue
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            warnings.append(f"{location}: cannot parse requirement {text!r} ({exc})")
            continue
        comp = _pypi_component(req, location, source, warnings, text)
        if comp is not None:
            out.append(comp)
    return out


_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_URL_PREFIXES = ("http://", "https://", "file:", "ftp://")
_COMMENT = re.compile(r"(^|\s)#.*$")
_OPTION_WITH_ARG = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--use-feature",
    "--pre",
}


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    buf = ""
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).rstrip()
        if not buf:
            start = lineno
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            yield start, buf.strip()
        buf = ""
    if buf.strip():
        yield start, buf.strip()


def read_requirements(
    root: Path, path: Path, warnings: list[str], _seen: set[Path] | None = None
) -> list[Component]:
    """pip requirements files: pins, ranges, markers, hashes, ``-r`` includes.

    Editable (``-e``), VCS and URL lines are reported as warnings (their version is not
    known from the file). ``-c`` constraint files are not dependencies and are skipped.
    """
    seen = _seen if _seen is not None else set()
    real = path.resolve()
    if real in seen:
        return []
    seen.add(real)
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    out: list[Component] = []
    for lineno, line in _logical_lines(text):
        where = f"{rel}:{lineno}"
        if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
            target = re.sub(r"^(-r|--requirement)[=\s]*", "", line).strip()
            inc = (path.parent / target).resolve()
            if not inc.is_relative_to(root.resolve()):
                warnings.append(f"{where}: include {target!r} leaves the scanned tree, not read")
            elif not inc.is_file():
                warnings.append(f"{where}: included file {target!r} not found")
            else:
                out.extend(read_requirements(root, inc, warnings, seen))
            continue
        if line.startswith(("-c", "--constraint")):
            continue
        if line.startswith(("-e", "--editable")):
            target = re.sub(r"^(-e|--editable)[=\s]*", "", line).strip()
            warnings.append(f"{where}: editable requirement {target!r} not audited (no version)")
            continue
        if line.startswith("-"):
            opt = re.split(r"[=\s]", line, maxsplit=1)[0]
            if opt not in _OPTION_WITH_ARG and opt != "--require-hashes":
                warnings.append(f"{where}: pip option {opt!r} ignored")
            continue
        if line.startswith(_VCS_PREFIXES) or line.startswith(_URL_PREFIXES):
            warnings.append(f"{where}: VCS/URL requirement {line.split()[0]!r} not audited")
            continue
        # Strip per-requirement options (--hash=..., --config-settings ...).
        req_text = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0].strip()
        if re.match(r"^[./]|^[A-Za-z]:\\", req_text) or req_text.endswith(
            (".whl", ".tar.gz", ".zip")
        ):
            warnings.append(f"{where}: local path requirement {req_text!r} not audited")
            continue
        try:
            req = Requirement(req_text)
        except InvalidRequirement as exc:
            warnings.append(f"{where}: cannot parse requirement {req_text!r} ({exc})")
            continue
        if req.url and req.url.startswith(_VCS_PREFIXES):
            warnings.append(f"{where}: VCS requirement {req.name} @ {req.url} not audited")
            continue
        comp = _pypi_component(req, rel, "requirements", warnings, req_text)
        if comp is not None:
            out.append(comp)
    return out


def _caret(v: str) -> str:
    parts = [int(p) for p in v.split(".")]
    while len(parts) < 3:
        parts.append(0)
    n = len(v.split("."))
    if parts[0] > 0 or n == 1:
        upper = f"{parts[0] + 1}.0.0"
    elif parts[1] > 0 or n == 2:
        upper = f"0.{parts[1] + 1}.0"
    else:
        upper = f"0.0.{parts[2] + 1}"
    return f">={v},<{upper}"


def _tilde(v: str) -> str:
    parts = [int(p) for p in v.split(".")]
    upper = f"{parts[0] + 1}.0.0" if len(parts) == 1 else f"{parts[0]}.{parts[1] + 1}.0"
    return f">={v},<{upper}"


def _poetry_to_pep508(name: str, constraint: str) -> str | None:
    """Poetry constraint -> PEP 508 requirement text; None if not expressible."""
    c = constraint.strip()
    if c in ("", "*"):
        return name
    if "||" in c:
        return None
    out: list[str] = []
    for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", c):
        part = part.strip()
        if not part:
            continue
        if re.fullmatch(r"\^\d+(\.\d+)*", part):
            out.append(_caret(part[1:]))
        elif re.fullmatch(r"~\d+(\.\d+)*", part):
            out.append(_tilde(part[1:]))
        elif re.fullmatch(r"\d+(\.\d+)*(\.\*)?[A-Za-z0-9.+-]*", part):
            out.append("==" + part)
        else:
            out.append(part)
    return name + ",".join(out) if out else name


def read_pyproject(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """PEP 621 ``[project]`` dependencies and optional dependencies; Poetry dependency tables."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        warnings.append(f"{rel}: invalid TOML ({exc})")
        return []
    reqs: list[str] = []
    project = doc.get("project")
    if isinstance(project, dict):
        deps = project.get("dependencies", [])
        if isinstance(deps, list):
            reqs.extend(str(d) for d in deps)
        opt = project.get("optional-dependencies", {})
        if isinstance(opt, dict):
            for group in opt.values():
                if isinstance(group, list):
                    reqs.extend(str(d) for d in group)
        if "dependencies" in project.get("dynamic", []):
            warnings.append(f"{rel}: dependencies are dynamic, not readable statically")
    poetry = doc.get("tool", {}).get("poetry", {})
    if isinstance(poetry, dict):
        tables: list[Any] = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        groups = poetry.get("group", {})
        if isinstance(groups, dict):
            tables.extend(g.get("dependencies") for g in groups.values() if isinstance(g, dict))
        for table in tables:
            if not isinstance(table, dict):
                continue
            for name, spec in table.items():
                if name.lower() == "python":
                    continue
                entries = spec if isinstance(spec, list) else [spec]
                for entry in entries:
                    if isinstance(entry, dict):
                        if any(k in entry for k in ("git", "path", "url")):
                            where = entry.get("git") or entry.get("path") or entry.get("url")
                            warnings.append(f"{rel}: {name} from {where} not audited")
                            continue
                        entry = entry.get("version", "*")
                    pep = _poetry_to_pep508(name, str(entry))
                    if pep is None:
                        warnings.append(
                            f"{rel}: poetry constraint {name} {entry!r} not expressible; "
                            "listed without a version"
                        )
                        pep = name
                    reqs.append(pep)
    return _parse_requirement_strings(reqs, rel, "pyproject", warnings)


def _literal(node: ast.AST, names: dict[str, ast.AST]) -> Any:
    if isinstance(node, ast.Name) and node.id in names:
        return _literal(names[node.id], names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        return left + right
    return ast.literal_eval(node)


def read_setup_py(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """``setup(install_requires=..., extras_require=...)`` read from the syntax tree.

    Literal lists and module-level names bound to literals are understood; anything
    computed at run time is reported as a warning. The file is never executed.
    """
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError) as exc:
        warnings.append(f"{rel}: cannot parse ({exc})")
        return []
    names: dict[str, ast.AST] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                names[target.id] = stmt.value
    reqs: list[str] = []
    found = False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if fname != "setup":
            continue
        found = True
        for kw in node.keywords:
            if kw.arg not in ("install_requires", "extras_require", "tests_require"):
                continue
            try:
                value = _literal(kw.value, names)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                warnings.append(f"{rel}: {kw.arg} is computed at run time, not read")
                continue
            if isinstance(value, str):
                reqs.extend(value.splitlines())
            elif isinstance(value, (list, tuple)):
                reqs.extend(str(v) for v in value)
            elif isinstance(value, dict):
                for group in value.values():
                    if isinstance(group, str):
                        reqs.extend(group.splitlines())
                    elif isinstance(group, (list, tuple)):
                        reqs.extend(str(v) for v in group)
    if not found:
        warnings.append(f"{rel}: no setup() call found")
    return _parse_requirement_strings(reqs, rel, "setup.py", warnings)


def read_setup_cfg(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """``[options] install_requires`` and ``[options.extras_require]`` of setup.cfg."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=rel)
    except configparser.Error as exc:
        warnings.append(f"{rel}: cannot parse ({' '.join(str(exc).split())})")
        return []
    reqs: list[str] = []
    if parser.has_option("options", "install_requires"):
        reqs.extend(parser.get("options", "install_requires").splitlines())
    if parser.has_section("options.extras_require"):
        for _key, value in parser.items("options.extras_require"):
            reqs.extend(value.splitlines())
    return _parse_requirement_strings(reqs, rel, "setup.cfg", warnings)


def read_dist_info(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """An installed Python distribution: ``*.dist-info/METADATA`` or ``*.egg-info/PKG-INFO``."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    headers: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the body (description) follows the first blank line
        if line[:1].isspace():
            continue
        key, sep, value = line.partition(":")
        if sep:
            headers.setdefault(key.strip().lower(), []).append(value.strip())
    name = (headers.get("name") or [""])[0]
    versions = headers.get("version") or []
    version = versions[0] if versions else None
    if not name:
        warnings.append(f"{_rel(root, path)}: no Name header")
        return []
    licenses = tuple(headers.get("license-expression") or [])
    if not licenses:
        lic = (headers.get("license") or [""])[0]
        if lic and len(lic) < 80 and lic.upper() != "UNKNOWN":
            licenses = (lic,)
    return [
        Component(
            name=name,
            version=version,
            ecosystem="PyPI",
            purl=make_purl("PyPI", name, version),
            licenses=licenses,
            locations=(_rel(root, path),),
            source="dist-info",
        )
    ]


# --------------------------------------------------------------------------- npm


def read_package_lock(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """package-lock.json (lockfileVersion 2/3 ``packages``; v1 ``dependencies`` as fallback)."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.append(f"{rel}: invalid JSON ({exc.msg} at line {exc.lineno})")
        return []
    if not isinstance(doc, dict):
        warnings.append(f"{rel}: not a package-lock object")
        return []
    out: list[Component] = []

    def add(name: str, version: Any, license_: Any = None) -> None:
        v = str(version) if isinstance(version, str) and version else None
        if v and re.match(r"^(file:|link:|git|https?:|npm:)", v):
            warnings.append(f"{rel}: {name} resolved to {v!r}, not audited")
            return
        lic = (license_,) if isinstance(license_, str) and license_ else ()
        out.append(
            Component(
                name=name,
                version=v,
                ecosystem="npm",
                purl=make_purl("npm", name, v),
                licenses=lic,
                locations=(rel,),
                source="package-lock",
            )
        )

    packages = doc.get("packages")
    if isinstance(packages, dict):
        for key, meta in packages.items():
            if not key or not isinstance(meta, dict) or meta.get("link"):
                continue
            if "node_modules/" not in key:
                continue  # a workspace package of the project itself
            name = meta.get("name") or key.rsplit("node_modules/", 1)[1]
            add(str(name), meta.get("version"), meta.get("license"))
        return out

    def walk_v1(deps: Any) -> None:
        if not isinstance(deps, dict):
            return
        for name, meta in deps.items():
            if isinstance(meta, dict):
                add(str(name), meta.get("version"))
                walk_v1(meta.get("dependencies"))

    walk_v1(doc.get("dependencies"))
    return out


# --------------------------------------------------------------------------- OS packages


def read_os_release(root: Path) -> dict[str, str]:
    """``/etc/os-release`` (or ``/usr/lib/os-release``) of a root filesystem, as a dict."""
    for cand in ("etc/os-release", "usr/lib/os-release"):
        p = root / cand
        if p.is_file() or p.is_symlink():
            text = _read_text(root, p, [])
            if text is None:
                continue
            out: dict[str, str] = {}
            for line in text.splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() and not key.startswith("#"):
                    out[key.strip()] = value.strip().strip("'\"")
            return out
    return {}


def distro_of(os_release: dict[str, str]) -> tuple[str, str | None]:
    """(OSV ecosystem, distro "id:release") of a root filesystem's OS packages."""
    os_id = os_release.get("ID", "").lower()
    like = os_release.get("ID_LIKE", "").lower().split()
    version_id = os_release.get("VERSION_ID", "")
    if os_id == "ubuntu":
        return "Ubuntu", f"ubuntu:{version_id}" if version_id else None
    if os_id == "alpine":
        mm = ".".join(version_id.split(".")[:2])
        return "Alpine", f"alpine:{mm}" if mm else None
    if os_id == "debian" or "debian" in like:
        major = version_id.split(".")[0]
        return "Debian", f"debian:{major}" if major else None
    return "Debian", None


def _dpkg_paragraphs(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a dpkg status file as field dicts (continuation lines joined)."""
    for para in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        last = ""
        for line in para.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line.strip()
                continue
            key, sep, value = line.partition(":")
            if sep:
                last = key.strip()
                fields[last] = value.strip()
        if fields.get("Package"):
            yield fields


def _dpkg_installed(fields: dict[str, str]) -> bool:
    # "Status: want flag state"; only the state "installed" means the files are there.
    return fields.get("Status", "install ok installed").split()[-1:] == ["installed"]


def dpkg_not_installed(root: Path, path: Path) -> set[tuple[str, str | None]]:
    """(name, version) of stanzas of a dpkg status file that are not installed (removed,
    config-files only, half-installed): they are not part of the image."""
    text = _read_text(root, path, [])
    if text is None:
        return set()
    return {
        (f["Package"], f.get("Version") or None)
        for f in _dpkg_paragraphs(text)
        if not _dpkg_installed(f)
    }


def read_dpkg_status(
    root: Path, path: Path, warnings: list[str], os_release: dict[str, str] | None = None
) -> list[Component]:
    """Installed packages of ``var/lib/dpkg/status`` (or a ``status.d/`` file)."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    ecosystem, distro = distro_of(os_release if os_release is not None else read_os_release(root))
    out: list[Component] = []
    for fields in _dpkg_paragraphs(text):
        if not _dpkg_installed(fields):
            continue
        name = fields["Package"]
        version = fields.get("Version") or None
        # "Source: glibc" or "Source: glibc (2.36-9)" when the source version differs.
        upstream = None
        m = re.match(r"^(\S+)(?:\s+\((\S+)\))?", fields.get("Source", ""))
        if m:
            upstream = m.group(1) + (f"@{m.group(2)}" if m.group(2) else "")
        out.append(
            Component(
                name=name,
                version=version,
                ecosystem=ecosystem,
                purl=make_purl(ecosystem, name, version, distro, upstream=upstream),
                locations=(rel,),
                source="dpkg",
                distro=distro,
            )
        )
    return out


def read_alpine_installed(
    root: Path, path: Path, warnings: list[str], os_release: dict[str, str] | None = None
) -> list[Component]:
    """Installed packages of ``lib/apk/db/installed`` (P: name, V: version, L: license)."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    _eco, distro = distro_of(os_release if os_release is not None else read_os_release(root))
    out: list[Component] = []
    for para in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if len(line) > 2 and line[1] == ":":
                fields.setdefault(line[0], line[2:].strip())
        name = fields.get("P")
        if not name:
            continue
        version = fields.get("V") or None
        lic = (fields["L"],) if fields.get("L") else ()
        origin = fields.get("o") or None  # the source (origin) package
        out.append(
            Component(
                name=name,
                version=version,
                ecosystem="Alpine",
                purl=make_purl("Alpine", name, version, distro, upstream=origin),
                licenses=lic,
                locations=(rel,),
                source="apk",
                distro=distro,
            )
        )
    return out


# --------------------------------------------------------------------------- lock files


def _lock_component(
    ecosystem: str, name: str, version: str | None, location: str, source: str
) -> Component:
    return Component(
        name=name,
        version=version,
        ecosystem=ecosystem,
        purl=make_purl(ecosystem, name, version),
        locations=(location,),
        source=source,
    )


def _read_toml(root: Path, path: Path, warnings: list[str]) -> dict[str, Any] | None:
    text = _read_text(root, path, warnings)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        warnings.append(f"{_rel(root, path)}: invalid TOML ({exc})")
        return None


def read_poetry_lock(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """poetry.lock: every ``[[package]]`` (name, version); git/path/url sources warned."""
    doc = _read_toml(root, path, warnings)
    if doc is None:
        return []
    rel = _rel(root, path)
    out = []
    for pkg in doc.get("package", []):
        if not isinstance(pkg, dict) or not pkg.get("name"):
            continue
        src = pkg.get("source")
        if isinstance(src, dict) and src.get("type") in ("git", "directory", "file", "url"):
            warnings.append(f"{rel}: {pkg['name']} from {src.get('type')} {src.get('url')}")
        out.append(
            _lock_component("PyPI", str(pkg["name"]), pkg.get("version"), rel, "poetry.lock")
        )
    return out


def read_cargo_lock(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """Cargo.lock: every ``[[package]]`` from a registry (path/git crates are the project's)."""
    doc = _read_toml(root, path, warnings)
    if doc is None:
        return []
    rel = _rel(root, path)
    out = []
    for pkg in doc.get("package", []):
        if not isinstance(pkg, dict) or not pkg.get("name"):
            continue
        source = str(pkg.get("source") or "")
        if not source.startswith("registry+"):
            continue  # the workspace's own crates, or git dependencies
        out.append(
            _lock_component("crates.io", str(pkg["name"]), pkg.get("version"), rel, "Cargo.lock")
        )
    return out


def read_pipfile_lock(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """Pipfile.lock: ``default`` and ``develop`` sections (``"version": "==1.2"``)."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.append(f"{rel}: invalid JSON ({exc.msg} at line {exc.lineno})")
        return []
    out = []
    for section in ("default", "develop"):
        entries = doc.get(section) if isinstance(doc, dict) else None
        if not isinstance(entries, dict):
            continue
        for name, meta in entries.items():
            if not isinstance(meta, dict):
                continue
            version = meta.get("version")
            if isinstance(version, str) and version.startswith("=="):
                out.append(_lock_component("PyPI", name, version[2:], rel, "Pipfile.lock"))
            else:
                warnings.append(f"{rel}: {name} has no pinned version, not audited")
    return out


_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([^\s()]+)\s+(v[^\s]+)")


def read_go_mod(root: Path, path: Path, warnings: list[str]) -> list[Component]:
    """go.mod ``require`` directives (``replace`` targets win; local replacements warned)."""
    text = _read_text(root, path, warnings)
    if text is None:
        return []
    rel = _rel(root, path)
    requires: dict[str, str] = {}
    replaces: dict[str, tuple[str, str | None]] = {}
    block = ""
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.endswith("(") and line.split()[0] in ("require", "replace", "exclude", "retract"):
            block = line.split()[0]
            continue
        if line == ")":
            block = ""
            continue
        directive = block or line.split()[0]
        body = line if block else line[len(directive) :].strip()
        if directive == "require":
            m = _GO_REQUIRE.match(body)
            if m:
                requires[m.group(1)] = m.group(2)
        elif directive == "replace" and "=>" in body:
            left, right = (part.split() for part in body.split("=>", 1))
            if left and right:
                replaces[left[0]] = (right[0], right[1] if len(right) > 1 else None)
    out = []
    for module, version in requires.items():
        if module in replaces:
            target, target_version = replaces[module]
            if target_version is None:
                warnings.append(f"{rel}: {module} is replaced by local path {target}, not audited")
                continue
            module, version = target, target_version
        out.append(_lock_component("Go", module, version, rel, "go.mod"))
    return out


# --------------------------------------------------------------------------- discovery

_REQ_NAME = re.compile(r"^requirements.*\.(txt|in)$|.*-requirements\.txt$", re.IGNORECASE)


def _reader_for(dirpath: str, filename: str) -> tuple[str, Reader] | None:
    if _REQ_NAME.match(filename):
        return "requirements", read_requirements
    if filename.endswith((".txt", ".in")) and os.path.basename(dirpath) == "requirements":
        return "requirements", read_requirements  # requirements/base.txt, requirements/dev.in
    if filename == "pyproject.toml":
        return "pyproject", read_pyproject
    if filename == "setup.py":
        return "setup.py", read_setup_py
    if filename == "setup.cfg":
        return "setup.cfg", read_setup_cfg
    if filename == "package-lock.json":
        return "package-lock", read_package_lock
    if filename == "poetry.lock":
        return "poetry.lock", read_poetry_lock
    if filename == "Pipfile.lock":
        return "Pipfile.lock", read_pipfile_lock
    if filename == "Cargo.lock":
        return "Cargo.lock", read_cargo_lock
    if filename == "go.mod":
        return "go.mod", read_go_mod
    if filename == "METADATA" and dirpath.endswith(".dist-info"):
        return "dist-info", read_dist_info
    if filename == "PKG-INFO" and dirpath.endswith(".egg-info"):
        return "dist-info", read_dist_info
    return None


def find_manifests(root: Path) -> Iterator[tuple[str, Reader, Path]]:
    """(kind, reader, path) for every manifest under root, in a stable order.

    Symlinked directories are not followed; VCS and cache directories are skipped, and
    ``node_modules`` is left to the lock file that describes it.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and d not in VENDOR_DIRS)
        for filename in sorted(filenames):
            found = _reader_for(dirpath, filename)
            if found is not None:
                yield found[0], found[1], Path(dirpath) / filename
