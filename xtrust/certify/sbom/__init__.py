"""Software bill of materials: collect components of a tree or root filesystem, write
CycloneDX 1.6 and SPDX 2.3.

>>> sbom = collect_sbom(Path("app/"))            # syft + our manifest readers
>>> write_cyclonedx(sbom, "bom.cdx.json", vulnerabilities=matches)
>>> write_spdx(sbom, "bom.spdx.json")
"""

from __future__ import annotations

from xtrust.certify.sbom.collect import collect_sbom, dedupe
from xtrust.certify.sbom.cyclonedx import cyclonedx_document, validate_cyclonedx, write_cyclonedx
from xtrust.certify.sbom.model import Component, Sbom, make_purl, normalize_name
from xtrust.certify.sbom.spdx import spdx_document, validate_spdx, write_spdx

__all__ = [
    "Component",
    "Sbom",
    "collect_sbom",
    "cyclonedx_document",
    "dedupe",
    "make_purl",
    "normalize_name",
    "spdx_document",
    "validate_cyclonedx",
    "validate_spdx",
    "write_cyclonedx",
    "write_spdx",
]
