"""``report.json``: the versioned report (schema ``rules/report.schema.json``).

The document is built by the orchestrator; this module holds its version and
the summary that ``--format json`` prints (the report without the findings).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REPORT_SCHEMA", "REPORT_VERSION", "summary_of"]

REPORT_VERSION = "1.0.0"
REPORT_SCHEMA = "https://xtrust.dev/schemas/certify-report/v1"


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """The report without per-finding detail (what ``--format json`` prints)."""
    return {k: v for k, v in report.items() if k != "findings"}
