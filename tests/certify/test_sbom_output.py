"""CycloneDX 1.6 and SPDX 2.3 output, validated by cyclonedx-python-lib and spdx-tools."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from xtrust.certify.sbom import (
    Component,
    Sbom,
    cyclonedx_document,
    make_purl,
    spdx_document,
    validate_cyclonedx,
    validate_spdx,
    write_cyclonedx,
    write_spdx,
)
from xtrust.certify.vuln import OsvDatabase, match_components
from xtrust.errors import EncodeError, InputError

OSV_DIR = Path(__file__).parent / "data_vuln" / "osv"
SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"


def c(name: str, version: str | None, eco: str = "PyPI", **kw: object) -> Component:
    distro = kw.pop("distro", None)
    return Component(
        name=name,
        version=version,
        ecosystem=eco,
        purl=make_purl(eco, name, version, distro),  # type: ignore[arg-type]
        distro=distro,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def sbom() -> Sbom:
    return Sbom(
        components=[
            c("requests", "2.30.0", locations=("requirements.txt",), source="syft+requirements"),
            c("flask", None, version_spec=">=2.0,<3", source="requirements"),
            c("lodash", "4.17.20", "npm", licenses=("MIT",)),
            c("weird", "1.0", "npm", licenses=("Some Custom License",)),
            c("dual", "1.0", "npm", licenses=("MIT OR Apache-2.0",)),
            c("freetext", "1.0", "PyPI", licenses=("BSD, Public Domain",)),
            c("openssl", "3.0.11-1~deb12u1", "Debian", distro="debian:12"),
            c("nopurl", "1.0", "Hackage"),
        ],
        tool_versions={"syft": "1.18.1", "xtrust": "0.1.0"},
        warnings=[],
        target_name="demo app",
    )


def test_cyclonedx_with_vex(tmp_path: Path, sbom: Sbom) -> None:
    db = OsvDatabase.load(OSV_DIR)
    matches = match_components(db, sbom.components)
    statuses = {(m.component.name, m.status) for m in matches}
    assert ("requests", "affected") in statuses and ("flask", "unknown") in statuses
    out = tmp_path / "bom.cdx.json"
    write_cyclonedx(sbom, out, vulnerabilities=matches, serial=SERIAL)
    doc = json.loads(out.read_text())
    assert doc["specVersion"] == "1.6" and doc["serialNumber"] == SERIAL
    refs = {comp["bom-ref"]: comp for comp in doc["components"]}
    assert len(refs) == len(sbom.components)
    lic = {comp["name"]: comp.get("licenses") for comp in doc["components"]}
    assert lic["lodash"] == [{"license": {"id": "MIT"}}]
    assert lic["weird"] == [{"license": {"name": "Some Custom License"}}]
    assert lic["dual"] == [{"expression": "MIT OR Apache-2.0"}]
    flask = next(x for x in doc["components"] if x["name"] == "flask")
    assert "version" not in flask
    assert {"name": "xtrust:version_spec", "value": ">=2.0,<3"} in flask["properties"]
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    req = vulns["PYSEC-2023-0001"]
    assert req["affects"][0]["ref"] in refs
    assert refs[req["affects"][0]["ref"]]["name"] == "requests"
    assert req["affects"][0]["versions"] == [{"version": "2.30.0", "status": "affected"}]
    assert req["ratings"][0]["score"] == 6.1 and req["ratings"][0]["method"] == "CVSSv31"
    assert req["ratings"][0]["severity"] == "medium"
    assert req["analysis"] == {"state": "exploitable", "detail": "2.30.0 in [2.3.0, 2.31.0)"}
    assert req["recommendation"] == "Upgrade to 2.31.0"
    assert [r["id"] for r in req["references"]] == ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"]
    fl = vulns["GHSA-m2qf-hxjv-5gpq"]
    assert fl["analysis"]["state"] == "in_triage"
    assert fl["affects"][0]["versions"][0]["status"] == "unknown"
    assert "score" not in fl["ratings"][0] and fl["ratings"][0]["severity"] == "high"
    assert vulns["DSA-5000-1"]["affects"][0]["versions"][0]["status"] == "affected"


def test_cyclonedx_corruption_fails_validation(sbom: Sbom) -> None:
    doc = cyclonedx_document(sbom, serial=SERIAL)
    validate_cyclonedx(json.dumps(doc))  # the real document is valid
    corruptions = []
    bad = copy.deepcopy(doc)
    bad["specVersion"] = 16
    corruptions.append(bad)
    bad = copy.deepcopy(doc)
    bad["components"][0]["type"] = "not-a-type"
    corruptions.append(bad)
    bad = copy.deepcopy(doc)
    bad["components"][0]["unexpected"] = True
    corruptions.append(bad)
    bad = copy.deepcopy(doc)
    bad["serialNumber"] = "not-a-urn"
    corruptions.append(bad)
    for bad in corruptions:
        with pytest.raises(EncodeError, match="CycloneDX document is invalid"):
            validate_cyclonedx(json.dumps(bad))


def test_cyclonedx_invalid_is_never_written(tmp_path: Path, sbom: Sbom) -> None:
    out = tmp_path / "bom.json"
    out.write_text("previous")
    with pytest.raises(EncodeError):
        write_cyclonedx(sbom, out, serial="urn:uuid:NOT-VALID")
    assert out.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_spdx_valid_and_content(tmp_path: Path, sbom: Sbom) -> None:
    out = tmp_path / "bom.spdx.json"
    write_spdx(sbom, out)
    doc = json.loads(out.read_text())
    assert doc["spdxVersion"] == "SPDX-2.3"
    pkgs = {p["name"]: p for p in doc["packages"]}
    assert pkgs["lodash"]["licenseDeclared"] == "MIT"
    assert pkgs["dual"]["licenseDeclared"] == "MIT OR Apache-2.0"
    assert pkgs["weird"]["licenseDeclared"] == "NOASSERTION"
    assert "Some Custom License" in pkgs["weird"]["licenseComments"]
    assert pkgs["freetext"]["licenseDeclared"] == "NOASSERTION"
    assert pkgs["requests"]["externalRefs"][0]["referenceLocator"] == "pkg:pypi/requests@2.30.0"
    assert "versionInfo" not in pkgs["flask"] and ">=2.0,<3" in pkgs["flask"]["comment"]
    contains = [r for r in doc["relationships"] if r["relationshipType"] == "CONTAINS"]
    assert len(contains) == len(sbom.components)
    # and spdx-tools can read our file back
    from spdx_tools.spdx.parser.parse_anything import parse_file

    parsed = parse_file(str(out))
    assert len(parsed.packages) == len(sbom.components) + 1


def test_spdx_corruption_fails_validation(sbom: Sbom) -> None:
    doc = spdx_document(sbom)
    validate_spdx(doc)
    bad = copy.deepcopy(doc)
    bad["packages"][1]["SPDXID"] = "not an spdx id"
    with pytest.raises(EncodeError, match="SPDX document is invalid"):
        validate_spdx(bad)
    bad = copy.deepcopy(doc)
    del bad["creationInfo"]
    with pytest.raises(EncodeError):
        validate_spdx(bad)
    bad = copy.deepcopy(doc)
    bad["relationships"][0]["relatedSpdxElement"] = "SPDXRef-Nowhere"
    with pytest.raises(EncodeError):
        validate_spdx(bad)
    bad = copy.deepcopy(doc)
    bad["packages"][1]["licenseDeclared"] = "NOT-A-LICENSE AND ("
    with pytest.raises(EncodeError):
        validate_spdx(bad)


def test_write_into_missing_directory_is_input_error(tmp_path: Path, sbom: Sbom) -> None:
    with pytest.raises(InputError):
        write_spdx(sbom, tmp_path / "missing" / "x.json")


def test_empty_sbom_is_valid(tmp_path: Path) -> None:
    empty = Sbom(components=[], tool_versions={}, warnings=[], target_name="")
    write_cyclonedx(empty, tmp_path / "a.json")
    write_spdx(empty, tmp_path / "b.json")
    assert json.loads((tmp_path / "a.json").read_text())["components"] == []
