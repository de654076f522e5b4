"""Supply-chain scanning and certification of O-RAN apps (``xtrust certify``).

Public API (see docs/certify.md)::

    from xtrust.certify import CertifyOptions, certify
    run = certify(CertifyOptions(target="app/", output_dir=Path("out")))
    run.verdict, run.exit_code, run.report

Stages: :mod:`~xtrust.certify.targets` (safe target preparation),
:mod:`~xtrust.certify.analyzers` (one module per analyzer, contracts in
:mod:`~xtrust.certify.interface`), :mod:`~xtrust.certify.policy`,
:mod:`~xtrust.certify.formats`, :mod:`~xtrust.certify.cache`, tied together by
:mod:`~xtrust.certify.orchestrator`. SBOM and vulnerability engines live in
:mod:`xtrust.certify.sbom` and :mod:`xtrust.certify.vuln`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xtrust.certify.interface import Analyzer, AnalyzerResult, Finding, Location, Severity
    from xtrust.certify.orchestrator import PREDICATE_TYPE, CertifyOptions, CertifyRun, certify
    from xtrust.certify.policy import Policy, load_policy

__all__ = [
    "PREDICATE_TYPE",
    "Analyzer",
    "AnalyzerResult",
    "CertifyOptions",
    "CertifyRun",
    "Finding",
    "Location",
    "Policy",
    "Severity",
    "certify",
    "load_policy",
]

_LAZY = {
    "Analyzer": "xtrust.certify.interface",
    "AnalyzerResult": "xtrust.certify.interface",
    "Finding": "xtrust.certify.interface",
    "Location": "xtrust.certify.interface",
    "Severity": "xtrust.certify.interface",
    "PREDICATE_TYPE": "xtrust.certify.orchestrator",
    "CertifyOptions": "xtrust.certify.orchestrator",
    "CertifyRun": "xtrust.certify.orchestrator",
    "certify": "xtrust.certify.orchestrator",
    "Policy": "xtrust.certify.policy",
    "load_policy": "xtrust.certify.policy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xtrust.certify' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
