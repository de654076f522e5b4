"""CycloneDX 1.6 JSON output, with vulnerability matches as VEX.

The document is built as plain JSON from the CycloneDX 1.6 specification and validated
with cyclonedx-python-lib's strict JSON-schema validator before it is written.

Components carry ``bom-ref``, ``name``, ``version`` (absent when only a range is known),
``purl``, ``licenses`` and XTRUST properties (``xtrust:ecosystem``, ``xtrust:source``,
``xtrust:location``, ``xtrust:version_spec``, ``xtrust:distro``). Each match becomes a
``vulnerabilities[]`` entry: ``id``, ``source`` (OSV), ``references`` (aliases),
``ratings`` (CVSS score, severity, method, vector), ``recommendation`` (fixed versions),
``analysis`` (``state`` ``exploitable`` for affected, ``in_triage`` for unknown, and the
match reason as ``detail``) and ``affects`` (the component's bom-ref with version status).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from xtrust.certify.sbom._io import atomic_write_text, utc_now
from xtrust.certify.sbom.model import Component, Sbom
from xtrust.errors import EncodeError

if TYPE_CHECKING:
    from pathlib import Path

    from xtrust.certify.vuln.match import VulnMatch

__all__ = ["cyclonedx_document", "validate_cyclonedx", "write_cyclonedx"]


def _licenses(licenses: tuple[str, ...]) -> list[dict[str, Any]]:
    if not licenses:
        return []
    from cyclonedx.spdx import fixup_id, is_expression  # heavy; imported on use

    if len(licenses) == 1 and fixup_id(licenses[0]) is None and is_expression(licenses[0]):
        return [{"expression": licenses[0]}]
    out: list[dict[str, Any]] = []
    for lic in licenses:
        spdx_id = fixup_id(lic)
        out.append({"license": {"id": spdx_id} if spdx_id else {"name": lic}})
    return out


def _component_json(c: Component, ref: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": c.name,
    }
    if c.version:
        doc["version"] = c.version
    if c.purl:
        doc["purl"] = c.purl
    lic = _licenses(c.licenses)
    if lic:
        doc["licenses"] = lic
    props = [{"name": "xtrust:ecosystem", "value": c.ecosystem}]
    if c.source:
        props.append({"name": "xtrust:source", "value": c.source})
    if c.version_spec:
        props.append({"name": "xtrust:version_spec", "value": c.version_spec})
    if c.distro:
        props.append({"name": "xtrust:distro", "value": c.distro})
    props.extend({"name": "xtrust:location", "value": loc} for loc in c.locations)
    doc["properties"] = props
    return doc


def _refs(components: list[Component]) -> dict[Component, str]:
    refs: dict[Component, str] = {}
    used: set[str] = set()
    for i, c in enumerate(components):
        base = c.purl or f"{c.ecosystem}/{c.name}@{c.version or c.version_spec or ''}"
        ref = base if base not in used else f"{base}#{i}"
        used.add(ref)
        refs[c] = ref
    return refs


def _method(vector: str | None) -> str:
    if vector is None:
        return "other"
    if vector.startswith("CVSS:4.0/"):
        return "CVSSv4"
    if vector.startswith("CVSS:3.1/"):
        return "CVSSv31"
    if vector.startswith("CVSS:3.0/"):
        return "CVSSv3"
    return "other"


def _vuln_json(m: VulnMatch, ref: str, index: int) -> dict[str, Any]:
    source = {"name": "OSV", "url": f"https://osv.dev/vulnerability/{m.advisory_id}"}
    doc: dict[str, Any] = {
        "bom-ref": f"vuln-{index}-{m.advisory_id}",
        "id": m.advisory_id,
        "source": source,
    }
    if m.aliases:
        doc["references"] = [
            {"id": a, "source": {"name": "OSV", "url": f"https://osv.dev/vulnerability/{a}"}}
            for a in m.aliases
        ]
    rating: dict[str, Any] = {"source": source, "severity": m.severity}
    if m.cvss_score is not None:
        rating["score"] = m.cvss_score
    rating["method"] = _method(m.cvss_vector)
    if m.cvss_vector:
        rating["vector"] = m.cvss_vector
    doc["ratings"] = [rating]
    if m.summary:
        doc["description"] = m.summary
    if m.fixed_versions:
        doc["recommendation"] = "Upgrade to " + " or ".join(m.fixed_versions)
    doc["analysis"] = {
        "state": "exploitable" if m.status == "affected" else "in_triage",
        "detail": m.reason or m.status,
    }
    affects: dict[str, Any] = {"ref": ref}
    version = m.component.version or m.component.version_spec
    if version:
        affects["versions"] = [{"version": version, "status": m.status}]
    doc["affects"] = [affects]
    return doc


def cyclonedx_document(
    sbom: Sbom, *, vulnerabilities: list[VulnMatch] | None = None, serial: str | None = None
) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON document of ``sbom`` (not yet validated)."""
    refs = _refs(sbom.components)
    tools = [
        {"type": "application", "name": name, "version": version}
        for name, version in sorted(sbom.tool_versions.items())
    ]
    doc: dict[str, Any] = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial or f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": utc_now().isoformat().replace("+00:00", "Z"),
            "tools": {"components": tools},
            "component": {
                "type": "application",
                "bom-ref": "xtrust:target",
                "name": sbom.target_name or "target",
            },
        },
        "components": [_component_json(c, refs[c]) for c in sbom.components],
        "dependencies": [{"ref": "xtrust:target", "dependsOn": [refs[c] for c in sbom.components]}],
    }
    vulns = []
    for i, m in enumerate(vulnerabilities or []):
        ref = refs.get(m.component)
        if ref is None:
            # A match on a component this SBOM does not list: add it so the ref resolves.
            ref = f"extra-{i}-{m.component.name}"
            refs[m.component] = ref
            doc["components"].append(_component_json(m.component, ref))
        vulns.append(_vuln_json(m, ref, i))
    if vulns:
        doc["vulnerabilities"] = vulns
    return doc


def _first_error_message(err: Any) -> str:
    data = getattr(err, "data", None)
    if data is not None and hasattr(data, "message"):
        path = "/".join(str(p) for p in getattr(data, "absolute_path", []))
        return f"{data.message} at /{path}" if path else str(data.message)
    return " ".join(str(err).split())[:300]


def validate_cyclonedx(text: str) -> None:
    """Validate CycloneDX 1.6 JSON text against the schema; raise EncodeError if invalid."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise EncodeError(f"CycloneDX document is invalid: {_first_error_message(error)}")


def write_cyclonedx(
    sbom: Sbom,
    path: Path | str,
    *,
    vulnerabilities: list[VulnMatch] | None = None,
    serial: str | None = None,
) -> None:
    """Write ``sbom`` (and matches as VEX) as CycloneDX 1.6 JSON, validated, atomically."""
    doc = cyclonedx_document(sbom, vulnerabilities=vulnerabilities, serial=serial)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    validate_cyclonedx(text)
    atomic_write_text(path, text)
