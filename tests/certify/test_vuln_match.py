"""OSV database loading and matching rules on hand-written advisories."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xtrust.certify.sbom import Component, make_purl
from xtrust.certify.vuln import OsvDatabase, VulnMatch, coverage_gaps, match_components
from xtrust.errors import InputError

OSV_DIR = Path(__file__).parent / "data_vuln" / "osv"


def comp(
    name: str,
    version: str | None,
    ecosystem: str = "PyPI",
    *,
    spec: str | None = None,
    distro: str | None = None,
) -> Component:
    return Component(
        name=name,
        version=version,
        ecosystem=ecosystem,
        purl=make_purl(ecosystem, name, version, distro),
        version_spec=spec,
        distro=distro,
    )


@pytest.fixture(scope="module")
def db() -> OsvDatabase:
    return OsvDatabase.load(OSV_DIR)


def one(db: OsvDatabase, c: Component) -> dict[str, VulnMatch]:
    return {m.advisory_id: m for m in match_components(db, [c])}


def test_load_counts_withdrawn_and_malformed(db: OsvDatabase) -> None:
    assert db.count == 10
    assert db.withdrawn_skipped == 1
    assert len(db.malformed) == 1 and "broken.json" in db.malformed[0]
    assert db.newest_modified == datetime(2024, 2, 2, tzinfo=UTC)
    assert db.digest.startswith("sha256:") and len(db.digest) == 7 + 64


def test_all_zip_loads_the_same_database(tmp_path: Path, db: OsvDatabase) -> None:
    # One zip per ecosystem, like osv.dev's <ecosystem>/all.zip, members in reverse order.
    for eco_dir in sorted(OSV_DIR.iterdir()):
        out = tmp_path / eco_dir.name
        out.mkdir()
        with zipfile.ZipFile(out / "all.zip", "w") as zf:
            for f in sorted(eco_dir.glob("*.json"), reverse=True):
                zf.write(f, arcname=f.name)
    zdb = OsvDatabase.load(tmp_path)
    assert (zdb.count, zdb.withdrawn_skipped, len(zdb.malformed)) == (10, 1, 1)
    assert zdb.digest == db.digest  # order and packaging independent
    single = OsvDatabase.load(tmp_path / "PyPI" / "all.zip")
    assert single.count == 4
    m = one(zdb, comp("requests", "2.30.0"))
    assert m["PYSEC-2023-0001"].status == "affected"


def test_digest_changes_with_content(tmp_path: Path, db: OsvDatabase) -> None:
    shutil.copytree(OSV_DIR, tmp_path / "osv")
    f = tmp_path / "osv" / "npm" / "GHSA-lodash.json"
    doc = json.loads(f.read_text())
    doc["summary"] = "changed"
    f.write_text(json.dumps(doc))
    assert OsvDatabase.load(tmp_path / "osv").digest != db.digest


def test_missing_database_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        OsvDatabase.load(tmp_path / "nope")


def test_not_a_zip_is_malformed(tmp_path: Path) -> None:
    (tmp_path / "all.zip").write_bytes(b"not a zip")
    d = OsvDatabase.load(tmp_path)
    assert d.count == 0 and len(d.malformed) == 1


def test_corrupt_zip_member_is_malformed_others_load(tmp_path: Path) -> None:
    good = {"id": "G-1", "affected": [{"package": {"ecosystem": "npm", "name": "a"}}]}
    with zipfile.ZipFile(tmp_path / "all.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("A-bad.json", json.dumps({"id": "B-1", "summary": "x" * 2000}))
        zf.writestr("B-good.json", json.dumps(good))
    data = bytearray((tmp_path / "all.zip").read_bytes())
    # corrupt the first member's compressed bytes (after its 30-byte header and name)
    start = 30 + len("A-bad.json") + 5
    data[start : start + 20] = b"\xff" * 20
    (tmp_path / "all.zip").write_bytes(bytes(data))
    d = OsvDatabase.load(tmp_path)
    assert d.count == 1 and "G-1" in d.advisories
    assert len(d.malformed) == 1 and "A-bad.json" in d.malformed[0]


def test_introduced_fixed_range(db: OsvDatabase) -> None:
    m = one(db, comp("requests", "2.30.0"))["PYSEC-2023-0001"]
    assert m.status == "affected"
    assert m.reason == "2.30.0 in [2.3.0, 2.31.0)"
    assert m.fixed_versions == ("2.31.0",)
    assert m.aliases == ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")
    assert (m.severity, m.cvss_score) == ("medium", 6.1)
    assert m.cvss_vector == "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"
    # the fixed version and versions before "introduced" are clean
    assert one(db, comp("requests", "2.31.0")) == {}
    assert one(db, comp("requests", "2.2.9")) == {}


def test_withdrawn_advisory_never_matches(db: OsvDatabase) -> None:
    assert "PYSEC-2020-WD" not in one(db, comp("requests", "2.31.0"))


def test_multiple_ranges_are_or_and_names_normalized(db: OsvDatabase) -> None:
    assert one(db, comp("flask", "2.2.4"))["GHSA-m2qf-hxjv-5gpq"].status == "affected"
    assert (
        one(db, comp("FLASK", "2.3.1"))["GHSA-m2qf-hxjv-5gpq"].reason == "2.3.1 in [2.3.0, 2.3.2)"
    )
    assert one(db, comp("flask", "2.2.5")) == {}
    assert one(db, comp("flask", "2.3.2")) == {}
    # database_specific severity when no CVSS vector
    m = one(db, comp("Flask", "1.0"))["GHSA-m2qf-hxjv-5gpq"]
    assert (m.severity, m.cvss_score, m.cvss_vector) == ("high", None, None)
    assert m.fixed_versions == ("2.2.5", "2.3.2")


def test_last_affected_is_inclusive(db: OsvDatabase) -> None:
    m = one(db, comp("pyyaml", "6.0.1"))["PYSEC-2099-LA"]
    assert m.status == "affected" and m.reason == "6.0.1 in [5.1, 6.0.1]"
    assert (m.severity, m.cvss_score) == ("critical", 9.3)
    assert one(db, comp("PyYAML", "6.0.2")) == {}
    assert one(db, comp("py-yaml", "6.0")) == {}  # PEP 503 keeps the hyphen: another name
    assert one(db, comp("PyYAML", "5.0")) == {}


def test_limit_caps_the_range(db: OsvDatabase) -> None:
    assert one(db, comp("six", "1.15.0"))["PYSEC-2099-LA"].status == "affected"
    assert one(db, comp("six", "1.16.0")) == {}
    assert one(db, comp("six", "2.0")) == {}


def test_versions_list(db: OsvDatabase) -> None:
    assert one(db, comp("jinja2", "3.1.2"))["PYSEC-2022-VL"].status == "affected"
    # PEP 440 equality: 3.1.2.0 is 3.1.2
    assert one(db, comp("Jinja2", "3.1.2.0"))["PYSEC-2022-VL"].status == "affected"
    assert one(db, comp("jinja2", "3.1.1")) == {}


def test_debian_release_applies_to_matching_distro(db: OsvDatabase) -> None:
    c = comp("openssl", "3.0.11-1~deb12u1", "Debian", distro="debian:12")
    m = one(db, c)["DSA-5000-1"]
    assert m.status == "affected"
    assert m.fixed_versions == ("3.0.13-1~deb12u1",)
    assert m.reason == "3.0.11-1~deb12u1 in [0, 3.0.13-1~deb12u1)"
    assert one(db, comp("openssl", "3.0.13-1~deb12u1", "Debian", distro="debian:12")) == {}
    # the Debian:11 entry does not apply to a Debian 12 package
    assert one(db, comp("tzdata", "2024a-0+deb12u1", "Debian", distro="debian:12")) == {}
    assert one(db, comp("tzdata", "2024a-0+deb11u1", "Debian", distro="debian:11")) != {}
    # the release may also come with the ecosystem, as OSV spells it
    assert one(db, comp("tzdata", "2024a-0", "Debian:12")) == {}
    assert one(db, comp("tzdata", "2024a-0", "Debian:11"))["DSA-9999-1"].status == "affected"
    # without a known release it cannot be ruled out
    unknown = one(db, comp("tzdata", "2024a-0", "Debian"))["DSA-9999-1"]
    assert unknown.status == "unknown" and "distro" in unknown.reason


def test_os_packages_match_by_source_package(db: OsvDatabase) -> None:
    libssl = Component(
        name="libssl3",
        version="3.0.11-1~deb12u1+b1",
        ecosystem="Debian",
        purl=make_purl(
            "Debian",
            "libssl3",
            "3.0.11-1~deb12u1+b1",
            "debian:12",
            upstream="openssl@3.0.11-1~deb12u1",
        ),
        distro="debian:12",
    )
    m = one(db, libssl)["DSA-5000-1"]
    assert m.status == "affected"
    assert m.reason.startswith("source package openssl 3.0.11-1~deb12u1: ")
    # source name without a version: the binary's own version is compared
    libc = Component(
        name="libc6",
        version="2.36-9+deb12u2",
        ecosystem="Debian",
        purl=make_purl("Debian", "libc6", "2.36-9+deb12u2", "debian:12", upstream="glibc"),
        distro="debian:12",
    )
    m = one(db, libc)["DEBIAN-CVE-2023-4911"]
    assert (m.status, m.severity, m.cvss_score) == ("affected", "high", 7.8)
    fixed = replace(libc, version="2.36-9+deb12u3")
    assert (
        one(
            db,
            replace(
                fixed,
                purl=make_purl("Debian", "libc6", fixed.version, "debian:12", upstream="glibc"),
            ),
        )
        == {}
    )
    # Alpine: origin package, release "v3.19" against alpine:3.19
    crypto = Component(
        name="libcrypto3",
        version="3.1.4-r4",
        ecosystem="Alpine",
        purl=make_purl("Alpine", "libcrypto3", "3.1.4-r4", "alpine:3.19", upstream="openssl"),
        distro="alpine:3.19",
    )
    assert one(db, crypto)["ALPINE-CVE-2024-0727"].status == "affected"
    assert one(db, replace(crypto, distro="alpine:3.18")) == {}


def test_semver_ranges_npm_and_go(db: OsvDatabase) -> None:
    m = one(db, comp("lodash", "4.17.20", "npm"))["GHSA-35jh-r3h4-6jhm"]
    assert (m.status, m.severity, m.cvss_score) == ("affected", "high", 7.2)
    assert one(db, comp("lodash", "4.17.21", "npm")) == {}
    assert one(db, comp("golang.org/x/net", "v0.16.0", "Go"))["GO-2023-0001"].status == "affected"
    assert one(db, comp("golang.org/x/net", "v0.17.0", "Go")) == {}


def test_unparseable_version_is_unknown_never_clean(db: OsvDatabase) -> None:
    m = one(db, comp("lodash", "4.17", "npm"))["GHSA-35jh-r3h4-6jhm"]
    assert m.status == "unknown" and "invalid semantic version" in m.reason
    m = one(db, comp("requests", "not a version!"))["PYSEC-2023-0001"]
    assert m.status == "unknown"


def test_range_only_component(db: OsvDatabase) -> None:
    # >=2.0,<3 overlaps [2.3.0, 2.3.2) and [0, 2.2.5): cannot be ruled out
    m = one(db, comp("flask", None, spec=">=2.0,<3"))["GHSA-m2qf-hxjv-5gpq"]
    assert m.status == "unknown" and "overlaps" in m.reason
    # entirely above every affected interval: clean
    assert one(db, comp("flask", None, spec=">=2.3.2,<3")) == {}
    assert one(db, comp("flask", None, spec=">3.0")) == {}
    # a range that includes a listed affected version
    m = one(db, comp("jinja2", None, spec=">=3.0,<3.2"))["PYSEC-2022-VL"]
    assert m.status == "unknown" and "3.1.0" in m.reason
    assert one(db, comp("jinja2", None, spec=">=3.1.3")) == {}
    # no version and no range at all
    m = one(db, comp("requests", None))["PYSEC-2023-0001"]
    assert m.status == "unknown" and "no version" in m.reason


def test_unknown_ecosystem_is_unknown(tmp_path: Path) -> None:
    adv = {
        "id": "HSEC-2023-0001",
        "modified": "2023-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "Hackage", "name": "aeson"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}
                ],
                "versions": ["1.5.6.0"],
            }
        ],
    }
    (tmp_path / "a.json").write_text(json.dumps(adv))
    d = OsvDatabase.load(tmp_path)
    m = one(d, comp("aeson", "1.4", "Hackage"))["HSEC-2023-0001"]
    assert m.status == "unknown" and "Hackage" in m.reason
    # an exact listed version is still affected without an ordering
    assert one(d, comp("aeson", "1.5.6.0", "Hackage"))["HSEC-2023-0001"].status == "affected"


def test_unparseable_advisory_range_is_unknown(tmp_path: Path) -> None:
    adv = {
        "id": "X-1",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "garbage!"}]}],
            },
            {
                "package": {"ecosystem": "PyPI", "name": "gitonly"},
                "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}],
            },
        ],
    }
    (tmp_path / "a.json").write_text(json.dumps(adv))
    d = OsvDatabase.load(tmp_path)
    assert one(d, comp("demo", "1.0"))["X-1"].status == "unknown"
    # GIT ranges name commits, not versions: nothing rules the version out
    m = one(d, comp("gitonly", "1.0"))["X-1"]
    assert m.status == "unknown" and "no affected versions" in m.reason


def test_severity_sources(tmp_path: Path) -> None:
    def adv(i: int, **extra: object) -> dict[str, object]:
        pkg = {"ecosystem": "PyPI", "name": f"p{i}"}
        return {"id": f"S-{i}", "affected": [{"package": pkg, "versions": ["1"]}], **extra}

    docs = [
        adv(1, severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                         {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N"}]),
        adv(2, severity=[{"type": "CVSS_V4", "score": "garbage"},
                         {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]),
        adv(3, severity=[{"type": "Ubuntu", "score": "medium"}]),
        adv(4, database_specific={"severity": "MODERATE"}),
        adv(5),
    ]  # fmt: skip
    (tmp_path / "all.json").write_text(json.dumps(docs))
    d = OsvDatabase.load(tmp_path)
    assert d.count == 5
    got = {
        m.advisory_id: (m.severity, m.cvss_score)
        for i in range(1, 6)
        for m in match_components(d, [comp(f"p{i}", "1")])
    }
    assert got == {
        "S-1": ("medium", 6.9),  # v4 preferred over v3
        "S-2": ("critical", 9.8),  # invalid v4 vector: fall back to v3
        "S-3": ("medium", None),
        "S-4": ("medium", None),
        "S-5": ("unknown", None),
    }


def test_affected_wins_over_unknown_and_results_sorted(db: OsvDatabase) -> None:
    comps = [comp("requests", "2.30.0"), comp("six", "1.0"), comp("flask", "2.2.4")]
    matches = match_components(db, comps)
    assert [m.component.name for m in matches] == ["requests", "six", "flask"]
    assert all(m.status == "affected" for m in matches)


def test_duplicate_id_keeps_newer_record(tmp_path: Path) -> None:
    old = {
        "id": "D-1",
        "modified": "2020-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "versions": ["1.0"]}],
    }
    new = dict(old, modified="2021-01-01T00:00:00Z")
    new["affected"] = [{"package": {"ecosystem": "PyPI", "name": "b"}, "versions": ["1.0"]}]
    (tmp_path / "1.json").write_text(json.dumps(new))
    (tmp_path / "2.json").write_text(json.dumps(old))
    d = OsvDatabase.load(tmp_path)
    assert d.count == 1
    assert one(d, comp("a", "1.0")) == {}
    assert "D-1" in one(d, comp("b", "1.0"))


def test_limit_star_and_affected_beats_unknown(tmp_path: Path) -> None:
    pkg = {"ecosystem": "npm", "name": "left-pad"}
    adv = {
        "id": "L-1",
        "affected": [
            # an unparseable range: on its own this entry gives "unknown"
            {"package": pkg, "ranges": [{"type": "SEMVER", "events": [{"introduced": "x.y"}]}]},
            {
                "package": pkg,
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "*"}]}],
            },
        ],
    }
    low = {
        "id": "A-0",
        "affected": [{"package": pkg, "versions": ["2.0.0"]}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}],
    }
    (tmp_path / "a.json").write_text(json.dumps([adv, low]))
    d = OsvDatabase.load(tmp_path)
    matches = match_components(d, [comp("left-pad", "2.0.0", "npm")])
    # one match per advisory; the affected entry wins; higher severity first
    assert [(m.advisory_id, m.status) for m in matches] == [
        ("A-0", "affected"),
        ("L-1", "affected"),
    ]
    assert matches[0].severity == "low"
    assert matches[1].reason == "2.0.0 in [1.0.0, ∞)"
    assert one(d, comp("left-pad", "0.9.0", "npm"))["L-1"].status == "unknown"


def test_coverage_gaps(db: OsvDatabase) -> None:
    assert db.ecosystems == {"pypi", "npm", "go", "debian", "alpine"}
    comps = [
        comp("requests", "1.0"),
        comp("rails", "7.0.0", "RubyGems"),
        comp("rack", "2.0.0", "RubyGems"),
        comp("bash", "5.2-1", "Ubuntu", distro="ubuntu:22.04"),
        comp("tzdata", "2024a-0", "Debian:12"),
    ]
    assert coverage_gaps(db, comps) == {"RubyGems": 2, "Ubuntu": 1}
