"""SARIF 2.1.0: one run, every analyzer merged, rules with metadata.

Rule ids are ``<analyzer>/<rule>``; results carry ``partialFingerprints``
(``xtrust/v1``: our line-independent fingerprint), a ``baselineState`` when a
baseline was given, ``suppressions`` for waived findings, and
``properties.security-severity`` (the numeric severity GitHub code scanning
sorts by). Findings without a file (image configuration, SBOM, policy) have
no physical location, only a logical one. Failed analyzers appear as
``toolExecutionNotifications`` with ``executionSuccessful: false``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from xtrust.certify.interface import Severity

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def _location(loc: dict[str, Any] | None) -> dict[str, Any] | None:
    if not loc or not loc.get("path") or str(loc["path"]).startswith("("):
        return None
    uri = quote(str(loc["path"]), safe="/")
    phys: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    if loc.get("start_line"):
        region: dict[str, Any] = {"startLine": int(loc["start_line"])}
        end = loc.get("end_line")
        if end and int(end) >= int(loc["start_line"]):
            region["endLine"] = int(end)
        if loc.get("start_column"):
            region["startColumn"] = max(1, int(loc["start_column"]))
        if loc.get("snippet"):
            region["snippet"] = {"text": str(loc["snippet"])}
        phys["region"] = region
    return {"physicalLocation": phys}


def to_sarif(report: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    has_baseline = bool(report.get("baseline"))
    for f in report["findings"]:
        rule_id = f"{f['analyzer']}/{f['rule_id']}"
        if rule_id not in index:
            index[rule_id] = len(rules)
            rule: dict[str, Any] = {
                "id": rule_id,
                "name": "".join(
                    w.capitalize()
                    for w in str(f.get("rule_name") or f["rule_id"]).replace("-", " ").split()
                )[:100]
                or rule_id,
                "shortDescription": {"text": str(f.get("rule_name") or f["rule_id"])},
                "defaultConfiguration": {"level": _LEVEL[f["severity"]]},
                "properties": {
                    "tags": ["security", f["category"]],
                    "security-severity": _SCORE[f["severity"]],
                },
            }
            if f.get("help_uri"):
                rule["helpUri"] = f["help_uri"]
            if f.get("properties", {}).get("cwe"):
                rule["properties"]["tags"].append(f["properties"]["cwe"])
            rules.append(rule)
        res: dict[str, Any] = {
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": _LEVEL[f["severity"]],
            "message": {"text": f["message"]},
            "partialFingerprints": {"xtrust/v1": f["fingerprint"]},
            "properties": {
                "severity": f["severity"],
                "category": f["category"],
                "security-severity": _SCORE[f["severity"]],
            },
        }
        loc = _location(f.get("location"))
        if loc is not None:
            res["locations"] = [loc]
        elif f.get("location"):
            res["locations"] = [
                {"logicalLocations": [{"name": str(f["location"]["path"]), "kind": "resource"}]}
            ]
        if f.get("state") == "waived":
            waiver = f.get("properties", {}).get("waiver", {})
            res["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{waiver.get('reason', '')} (owner {waiver.get('owner', '?')},"
                    f" expires {waiver.get('expires', '?')})",
                }
            ]
        if has_baseline:
            res["baselineState"] = "unchanged" if f.get("state") == "baseline" else "new"
        results.append(res)
    notifications = [
        {
            "level": "error",
            "message": {"text": f"analyzer {a['name']} failed: {a['reason']}"},
            "descriptor": {"id": f"analyzer/{a['name']}"},
        }
        for a in report["analyzers"]
        if a["status"] == "failed"
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": report["verdict"] != "incomplete",
        "exitCode": report["exit_code"],
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "xtrust-certify",
                        "fullName": "XTRUST certify",
                        "version": report["tool"]["version"],
                        "informationUri": "https://xtrust.dev/certify",
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the target root"}}},
                "results": results,
                "properties": {
                    "verdict": report["verdict"],
                    "targetDigest": report["target"].get("digest"),
                    "severities": [s.label for s in Severity],
                },
            }
        ],
    }
