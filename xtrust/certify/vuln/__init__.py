"""Vulnerability matching against an offline OSV database, version ordering, CVSS scores.

>>> db = OsvDatabase.load("osv/")                 # JSON files and/or all.zip archives
>>> matches = match_components(db, sbom.components)
>>> compare_versions("Debian", "1.0~rc1-1", "1.0-1")
-1
>>> cvss_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
9.8
"""

from __future__ import annotations

from xtrust.certify.vuln.cvss import InvalidCvssVector, cvss_base_score, severity_from_score
from xtrust.certify.vuln.match import VulnMatch, coverage_gaps, match_components, severity_of
from xtrust.certify.vuln.osv import OsvDatabase
from xtrust.certify.vuln.versions import (
    InvalidVersion,
    UnsupportedEcosystem,
    compare_versions,
    version_key,
)

__all__ = [
    "InvalidCvssVector",
    "InvalidVersion",
    "OsvDatabase",
    "UnsupportedEcosystem",
    "VulnMatch",
    "compare_versions",
    "coverage_gaps",
    "cvss_base_score",
    "match_components",
    "severity_from_score",
    "severity_of",
    "version_key",
]
