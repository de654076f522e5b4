"""SPDX 2.3 JSON output, validated with spdx-tools before it is written.

One package per component (``SPDXRef-Package-N``) plus a root package for the target that
the document DESCRIBES and that CONTAINS every component. Licenses that are valid SPDX
expressions become ``licenseDeclared``; others are kept verbatim in ``licenseComments``
with ``NOASSERTION`` declared. The purl is an external reference (PACKAGE-MANAGER/purl);
a known version range goes in ``comment``.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from xtrust.certify.sbom._io import atomic_write_text, utc_now
from xtrust.certify.sbom.model import Sbom
from xtrust.errors import EncodeError

__all__ = ["spdx_document", "validate_spdx", "write_spdx"]


@lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

    return get_spdx_licensing()  # builds the SPDX symbol table: once per process


@lru_cache(maxsize=4096)
def _valid_expression(lic: str) -> str | None:
    """The normalized SPDX expression of ``lic``, or None if it is not one."""
    from license_expression import ExpressionError

    try:
        info = _licensing().validate(lic, strict=True)
    except (ExpressionError, AttributeError, TypeError, ValueError):
        # license-expression 30.x can fail inside validate() on some free-text
        # licenses ("BSD, Public Domain"): such text is not an SPDX expression.
        return None
    if info.errors or info.invalid_symbols:
        return None
    return str(info.normalized_expression or lic)


def _spdx_license(licenses: tuple[str, ...]) -> str | None:
    """A valid SPDX license expression for the component, or None."""
    parts = []
    for lic in licenses:
        expr = _valid_expression(lic)
        if expr is None:
            return None
        parts.append(expr)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({p})" if " " in p else p for p in parts)


def _tool(name: str, version: str) -> str:
    return f"Tool: {name}-{version}"


def spdx_document(sbom: Sbom, *, namespace: str | None = None) -> dict[str, Any]:
    """The SPDX 2.3 JSON document of ``sbom`` (not yet validated)."""
    target = sbom.target_name or "target"
    safe = re.sub(r"[^A-Za-z0-9.-]+", "-", target).strip("-") or "target"
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": "SPDXRef-Target",
            "name": target,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "APPLICATION",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }
    ]
    relationships: list[dict[str, str]] = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Target",
        }
    ]
    for i, c in enumerate(sbom.components, 1):
        spdx_id = f"SPDXRef-Package-{i}"
        pkg: dict[str, Any] = {
            "SPDXID": spdx_id,
            "name": c.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "LIBRARY",
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }
        if c.version:
            pkg["versionInfo"] = c.version
        declared = _spdx_license(c.licenses)
        pkg["licenseDeclared"] = declared or "NOASSERTION"
        if c.licenses and declared is None:
            pkg["licenseComments"] = "Declared (not an SPDX expression): " + "; ".join(c.licenses)
        if c.purl:
            pkg["externalRefs"] = [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": c.purl,
                }
            ]
        notes = [f"ecosystem: {c.ecosystem}"]
        if c.version_spec:
            notes.append(f"version range: {c.version_spec}")
        if c.distro:
            notes.append(f"distro: {c.distro}")
        if c.source:
            notes.append(f"found by: {c.source}")
        if c.locations:
            notes.append("locations: " + ", ".join(c.locations))
        pkg["comment"] = "; ".join(notes)
        packages.append(pkg)
        relationships.append(
            {
                "spdxElementId": "SPDXRef-Target",
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": spdx_id,
            }
        )
    creators = [_tool(n, v) for n, v in sorted(sbom.tool_versions.items())] or [
        "Tool: xtrust-unknown"
    ]
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": target,
        "documentNamespace": namespace or f"https://spdx.org/spdxdocs/xtrust-{safe}-{uuid.uuid4()}",
        "creationInfo": {
            "created": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": creators,
        },
        "packages": packages,
        "relationships": relationships,
    }


def validate_spdx(doc: dict[str, Any]) -> None:
    """Parse and validate an SPDX 2.3 JSON document with spdx-tools; raise EncodeError."""
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        parsed = JsonLikeDictParser().parse(json.loads(json.dumps(doc)))
    except SPDXParsingError as exc:
        msgs = exc.get_messages()
        raise EncodeError(
            f"SPDX document is invalid: {' '.join(str(msgs[0]).split()) if msgs else exc}"
        ) from None
    messages = validate_full_spdx_document(parsed, "SPDX-2.3")
    if messages:
        first = messages[0]
        raise EncodeError(
            f"SPDX document is invalid: {' '.join(first.validation_message.split())}",
            detail="\n".join(m.validation_message for m in messages[:50]),
        )


def write_spdx(sbom: Sbom, path: Path | str) -> None:
    """Write ``sbom`` as SPDX 2.3 JSON, validated with spdx-tools, atomically."""
    doc = spdx_document(sbom)
    validate_spdx(doc)
    atomic_write_text(Path(path), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
