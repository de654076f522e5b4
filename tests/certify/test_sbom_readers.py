"""Our manifest readers on hand-written fixture trees (no syft)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xtrust.certify.sbom import Component, collect_sbom, dedupe, make_purl, normalize_name
from xtrust.certify.sbom.readers import (
    read_package_lock,
    read_pyproject,
    read_requirements,
    read_setup_cfg,
    read_setup_py,
)
from xtrust.errors import InputError

DATA = Path(__file__).parent / "data_sbom"
PYTREE = DATA / "pytree"


def by_name(components: list[Component]) -> dict[str, Component]:
    return {normalize_name(c.ecosystem, c.name): c for c in components}


def test_requirements_pins_ranges_includes_and_warnings() -> None:
    warnings: list[str] = []
    comps = by_name(read_requirements(PYTREE, PYTREE / "requirements.txt", warnings))
    assert comps["requests"].version == "2.31.0"
    assert comps["requests"].purl == "pkg:pypi/requests@2.31.0"
    assert comps["requests"].locations == ("requirements.txt",)
    assert comps["flask"].version is None and comps["flask"].version_spec == ">=2.0,<3"
    assert comps["urllib3"].version is None and comps["urllib3"].version_spec is None
    assert comps["pyyaml"].version == "6.0.1"  # continuation line and --hash stripped
    assert comps["importlib-metadata"].version == "6.0.0"  # marker kept, not evaluated
    assert comps["django"].version_spec == "~=4.2.0"
    # -r include, with a cycle back to requirements.txt that must not loop
    assert comps["six"].version == "1.16.0"
    assert comps["six"].locations == ("sub/common.txt",)
    text = "\n".join(warnings)
    assert "editable requirement" in text and "editable_pkg" in text
    assert "VCS/URL requirement" in text
    assert "constraints" not in text  # -c is skipped quietly
    assert all(c.source == "requirements" for c in comps.values())


def test_requirements_include_outside_root_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("evil==1.0\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "requirements.txt").write_text("-r ../outside.txt\nok==1.0\n")
    warnings: list[str] = []
    comps = read_requirements(root, root / "requirements.txt", warnings)
    assert [c.name for c in comps] == ["ok"]
    assert "leaves the scanned tree" in warnings[0]


def test_requirements_bad_line_warns(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("good==1\nthis is not valid !!\n./local/pkg\n")
    warnings: list[str] = []
    comps = read_requirements(tmp_path, tmp_path / "requirements.txt", warnings)
    assert [c.name for c in comps] == ["good"]
    assert any("cannot parse requirement" in w for w in warnings)
    assert any("local path" in w for w in warnings)


def test_pyproject_pep621() -> None:
    warnings: list[str] = []
    comps = by_name(read_pyproject(PYTREE, PYTREE / "pyproject.toml", warnings))
    assert comps["cryptography"].version_spec == ">=41.0.0"
    assert comps["jinja2"].version == "3.1.2"
    assert comps["ruamel-yaml"].version == "0.18.5"  # optional dependency
    assert warnings == []


def test_pyproject_poetry() -> None:
    warnings: list[str] = []
    path = PYTREE / "poetryproj" / "pyproject.toml"
    comps = by_name(read_pyproject(PYTREE, path, warnings))
    assert "python" not in comps
    assert comps["aiohttp"].version_spec == ">=3.8.1,<4.0.0"  # ^3.8.1
    assert comps["click"].version == "8.1.7"
    assert comps["attrs"].version_spec == ">=23.1,<23.2.0"  # ~23.1
    assert comps["black"].version is None and comps["black"].version_spec is None
    assert comps["odd"].version is None
    assert "localthing" not in comps
    assert any("localthing" in w for w in warnings)
    assert any("odd" in w for w in warnings)


def test_setup_py_is_parsed_not_executed(tmp_path: Path) -> None:
    warnings: list[str] = []
    comps = by_name(read_setup_py(PYTREE, PYTREE / "setup.py", warnings))
    assert comps["idna"].version == "3.4"  # module-level name
    assert comps["certifi"].version_spec == ">=2023.7.22"
    assert comps["charset-normalizer"].version == "3.2.0"  # name + literal
    assert comps["pysocks"].version == "1.7.1"  # extras_require
    assert "never-read" not in comps
    assert any("tests_require is computed" in w for w in warnings)
    # a setup.py with side effects is never run
    marker = tmp_path / "ran"
    (tmp_path / "setup.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\nfrom setuptools import setup\n"
        "setup(install_requires=['a==1'])\n"
    )
    assert [c.name for c in read_setup_py(tmp_path, tmp_path / "setup.py", [])] == ["a"]
    assert not marker.exists()


def test_setup_py_syntax_error_warns(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("def (:\n")
    warnings: list[str] = []
    assert read_setup_py(tmp_path, tmp_path / "setup.py", warnings) == []
    assert "cannot parse" in warnings[0]


def test_setup_cfg() -> None:
    comps = by_name(read_setup_cfg(PYTREE, PYTREE / "setup.cfg", []))
    assert comps["markupsafe"].version == "2.1.3"
    assert comps["itsdangerous"].version_spec == ">=2.1"
    assert comps["anyio"].version == "4.0.0"


def test_package_lock_v3() -> None:
    comps = by_name(read_package_lock(PYTREE, PYTREE / "package-lock.json", []))
    assert set(comps) == {"lodash", "@types/node", "minimist"}  # no root, link, workspace
    assert comps["lodash"].licenses == ("MIT",)
    assert comps["@types/node"].purl == "pkg:npm/%40types/node@20.1.0"
    assert comps["minimist"].version == "1.2.5"


def test_package_lock_v1_and_invalid(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text(
        '{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", '
        '"dependencies": {"b": {"version": "2.0.0"}}}, "c": {"version": "file:../c"}}}'
    )
    warnings: list[str] = []
    comps = read_package_lock(tmp_path, tmp_path / "package-lock.json", warnings)
    assert sorted((c.name, c.version) for c in comps) == [("a", "1.0.0"), ("b", "2.0.0")]
    assert "file:../c" in warnings[0]
    (tmp_path / "package-lock.json").write_text("{oops")
    warnings = []
    assert read_package_lock(tmp_path, tmp_path / "package-lock.json", warnings) == []
    assert "invalid JSON" in warnings[0]


def test_collect_tree_without_syft(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(PYTREE, root)
    # VCS metadata and node_modules are not scanned for manifests
    (root / ".git").mkdir()
    (root / ".git" / "requirements.txt").write_text("ignored-in-git==1.0\n")
    (root / "requirements").mkdir()
    (root / "requirements" / "prod.txt").write_text("gunicorn==21.2.0\n")
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "node_modules" / "x" / "package-lock.json").write_text(
        '{"lockfileVersion": 3, "packages": {"node_modules/ignored": {"version": "1.0.0"}}}'
    )
    sbom = collect_sbom(root, use_syft=False)
    names = by_name(sbom.components)
    assert "ignored-in-git" not in names and "ignored" not in names
    assert sbom.tool_versions.keys() == {"xtrust"}
    assert sbom.target_name == "tree"
    # requirements.txt is read directly and through sub/common.txt: one component
    six = [c for c in sbom.components if c.name == "six"]
    assert len(six) == 1
    # installed dist-info
    assert names["demo-pkg"].version == "1.4.0" and names["demo-pkg"].licenses == ("MIT",)
    assert names["demo-pkg"].source == "dist-info"
    expected = {
        "requests", "flask", "urllib3", "pyyaml", "importlib-metadata", "django", "six",
        "pytest", "cryptography", "jinja2", "ruamel-yaml", "aiohttp", "click", "attrs",
        "black", "odd", "idna", "certifi", "charset-normalizer", "pysocks", "markupsafe",
        "itsdangerous", "anyio", "lodash", "@types/node", "minimist", "demo-pkg", "gunicorn",
    }  # fmt: skip
    assert set(names) == expected
    assert any("editable" in w for w in sbom.warnings)


def test_collect_debian_rootfs() -> None:
    sbom = collect_sbom(DATA / "rootfs_debian", use_syft=False)
    comps = {c.name: c for c in sbom.components}
    assert set(comps) == {"openssl", "libssl3", "libc6", "tzdata"}  # deinstalled one left out
    ssl = comps["openssl"]
    assert (ssl.ecosystem, ssl.version, ssl.distro) == ("Debian", "3.0.11-1~deb12u1", "debian:12")
    assert ssl.purl == "pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12"
    assert ssl.source == "dpkg" and ssl.locations == ("var/lib/dpkg/status",)
    # the source package goes into the purl's upstream qualifier
    assert (
        comps["libc6"].purl
        == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?distro=debian-12&upstream=glibc"
    )
    assert comps["libssl3"].purl.endswith("&upstream=openssl%403.0.11-1~deb12u1")


def test_collect_alpine_rootfs() -> None:
    sbom = collect_sbom(DATA / "rootfs_alpine", use_syft=False)
    comps = {c.name: c for c in sbom.components}
    assert comps["musl"].version == "1.2.4_git20230717-r4"
    assert comps["musl"].distro == "alpine:3.19"
    assert comps["busybox"].licenses == ("GPL-2.0-only",)
    assert comps["busybox"].ecosystem == "Alpine"
    assert comps["libcrypto3"].purl == (
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?distro=alpine-3.19&upstream=openssl"
    )


def test_collect_missing_root_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        collect_sbom(tmp_path / "missing", use_syft=False)


def test_symlink_leaving_root_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("leaked==1.0\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "requirements.txt").symlink_to(secret)
    sbom = collect_sbom(root, use_syft=False)
    assert sbom.components == []
    assert any("symlink leaves" in w for w in sbom.warnings)


def test_dedupe_merges_by_normalized_name_and_version() -> None:
    a = Component(
        "Foo_Bar",
        "1.0",
        "PyPI",
        make_purl("PyPI", "Foo_Bar", "1.0"),
        locations=("a",),
        source="syft",
    )
    b = Component(
        "foo-bar", "1.0", "PyPI", None, licenses=("MIT",), locations=("b",), source="requirements"
    )
    c = Component("foo-bar", "2.0", "PyPI", None, source="requirements")
    merged = dedupe([a, b, c])
    assert len(merged) == 2
    first = next(m for m in merged if m.version == "1.0")
    assert first.locations == ("a", "b") and first.licenses == ("MIT",)
    assert first.source == "syft+requirements"
    assert first.purl == "pkg:pypi/foo-bar@1.0"


@pytest.mark.parametrize(
    ("eco", "name", "version", "distro", "purl"),
    [
        ("PyPI", "Django_Rest", "3.0", None, "pkg:pypi/django-rest@3.0"),
        ("npm", "@scope/pkg", "1.0.0", None, "pkg:npm/%40scope/pkg@1.0.0"),
        ("Go", "github.com/a/b", "v1.2.3", None, "pkg:golang/github.com/a/b@v1.2.3"),
        ("crates.io", "serde", "1.0.0", None, "pkg:cargo/serde@1.0.0"),
        ("Debian", "libc6", "2.36-9", "debian:12", "pkg:deb/debian/libc6@2.36-9?distro=debian-12"),
        ("Alpine", "musl", "1.2.4-r4", "alpine:3.19", "pkg:apk/alpine/musl@1.2.4-r4?distro=alpine-3.19"),
        ("Maven", "org.apache:commons", "1.0", None, "pkg:maven/org.apache/commons@1.0"),
        ("Hackage", "aeson", "1.0", None, None),
    ],
)  # fmt: skip
def test_make_purl(eco: str, name: str, version: str, distro: str | None, purl: str | None) -> None:
    assert make_purl(eco, name, version, distro) == purl


def test_lock_files() -> None:
    root = DATA / "locks"
    sbom = collect_sbom(root, use_syft=False)
    got = {(c.ecosystem, c.name, c.version, c.source) for c in sbom.components}
    assert got == {
        ("PyPI", "aiohttp", "3.8.1", "poetry.lock"),
        ("PyPI", "mylib", "0.1.0", "poetry.lock"),
        ("PyPI", "urllib3", "1.26.5", "Pipfile.lock"),
        ("PyPI", "pytest", "7.4.0", "Pipfile.lock"),
        ("crates.io", "smallvec", "1.6.0", "Cargo.lock"),  # not the workspace crate my-app
        ("Go", "github.com/gorilla/websocket", "v1.5.0", "go.mod"),
        ("Go", "golang.org/x/net", "v0.17.0", "go.mod"),  # the replacement wins
        ("Go", "gerrit.o-ran-sc.org/r/ric-plt/xapp-frame", "v0.9.3", "go.mod"),
    }
    text = "\n".join(sbom.warnings)
    assert "mylib from git" in text
    assert "editable-thing has no pinned version" in text
    assert "example.com/local is replaced by local path ../local" in text
    go = next(c for c in sbom.components if c.name == "github.com/gorilla/websocket")
    assert go.purl == "pkg:golang/github.com/gorilla/websocket@v1.5.0"
