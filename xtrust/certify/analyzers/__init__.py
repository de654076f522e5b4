"""The analyzers of ``xtrust certify``; :func:`default_analyzers` lists them all."""

from __future__ import annotations

from xtrust.certify.analyzers.bandit import BanditAnalyzer
from xtrust.certify.analyzers.descriptor import DescriptorAnalyzer
from xtrust.certify.analyzers.dockerfile import DockerfileAnalyzer
from xtrust.certify.analyzers.k8s import K8sAnalyzer
from xtrust.certify.analyzers.sbom import LicenseAnalyzer, SbomAnalyzer, VulnAnalyzer
from xtrust.certify.analyzers.secrets import SecretsAnalyzer, mask_secrets
from xtrust.certify.analyzers.semgrep import SemgrepAnalyzer
from xtrust.certify.interface import Analyzer

__all__ = [
    "ANALYZER_NAMES",
    "BanditAnalyzer",
    "DescriptorAnalyzer",
    "DockerfileAnalyzer",
    "K8sAnalyzer",
    "LicenseAnalyzer",
    "SbomAnalyzer",
    "SecretsAnalyzer",
    "SemgrepAnalyzer",
    "VulnAnalyzer",
    "default_analyzers",
    "mask_secrets",
]


def default_analyzers() -> list[Analyzer]:
    """All analyzers, slowest first (so the pool starts them first)."""
    return [
        SemgrepAnalyzer(),
        SbomAnalyzer(),
        BanditAnalyzer(),
        VulnAnalyzer(),
        LicenseAnalyzer(),
        SecretsAnalyzer(),
        DescriptorAnalyzer(),
        DockerfileAnalyzer(),
        K8sAnalyzer(),
    ]


ANALYZER_NAMES = tuple(a.name for a in default_analyzers())
