"""Certification policy: thresholds, limits, required analyzers, licenses,
database freshness and waivers; and the verdict it gives a set of results.

Verdicts: ``pass`` (exit 0); ``fail`` (exit 1): a finding at or above
``fail_on``, a category over its ``max_findings``, a stale vulnerability
database, an expired waiver; ``incomplete`` (exit 2): an analyzer failed or
scanned nothing, or a required analyzer did not run. Incomplete is never a
pass, whatever the findings.

Waivers name a finding fingerprint, a reason, an owner and an expiry date
(``YYYY-MM-DD``, valid through that day, UTC). A waiver past its date fails
the run (and no longer suppresses its finding). ``--baseline`` (a previous
``report.json``) suppresses findings whose fingerprints it lists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xtrust.certify.interface import AnalyzerResult, Finding, Location, Severity
from xtrust.errors import ConfigError, InputError

__all__ = [
    "DEFAULT_POLICY_PATH",
    "Evaluation",
    "Policy",
    "Waiver",
    "evaluate",
    "load_baseline",
    "load_policy",
]

_RULES = Path(__file__).resolve().parent / "rules"
DEFAULT_POLICY_PATH = _RULES / "default-policy.yaml"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        json.loads((_RULES / "policy.schema.json").read_text(encoding="utf-8"))
    )


@dataclass(frozen=True)
class Waiver:
    fingerprint: str
    reason: str
    owner: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class Policy:
    source: str
    digest: str
    fail_on: Severity | None = Severity.HIGH
    max_findings: Mapping[str, int] = field(default_factory=dict)
    required_analyzers: tuple[str, ...] = ()
    license_deny: tuple[str, ...] = ()
    license_allow: tuple[str, ...] = ()
    max_db_age_days: float | None = 30.0
    waivers: tuple[Waiver, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "digest": self.digest,
            "fail_on": self.fail_on.label if self.fail_on is not None else "none",
            "max_findings": dict(self.max_findings),
            "required_analyzers": list(self.required_analyzers),
            "licenses": {"deny": list(self.license_deny), "allow": list(self.license_allow)},
            "vulnerability_database": {"max_age_days": self.max_db_age_days},
            "waivers": len(self.waivers),
        }


def _jpath(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def parse_policy(data: bytes, source: str) -> Policy:
    try:
        doc = yaml.safe_load(data.decode("utf-8")) if data.strip() else {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"not valid YAML: {' '.join(str(exc).split())[:200]}", source=source
        ) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError("a policy must be a mapping", source=source)
    for w in doc.get("waivers") or []:
        if isinstance(w, dict) and isinstance(w.get("expires"), dt.date):
            w["expires"] = w["expires"].isoformat()  # YAML reads 2026-12-31 as a date
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = errors[0]
        raise ConfigError(
            " ".join(err.message.split()), field=_jpath(err.absolute_path), source=source
        )
    fail_on = doc.get("fail_on", "high")
    waivers = []
    for i, w in enumerate(doc.get("waivers") or []):
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise ConfigError(
                f"not a date: {w['expires']!r}", field=f"waivers[{i}].expires", source=source
            ) from None
        waivers.append(Waiver(w["fingerprint"], w["reason"], w["owner"], expires))
    lic = doc.get("licenses") or {}
    return Policy(
        source=source,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        fail_on=None if fail_on == "none" else Severity.parse(fail_on),
        max_findings=dict(doc.get("max_findings") or {}),
        required_analyzers=tuple(doc.get("required_analyzers") or ()),
        license_deny=tuple(lic.get("deny") or ()),
        license_allow=tuple(lic.get("allow") or ()),
        max_db_age_days=(doc.get("vulnerability_database") or {}).get("max_age_days", 30.0),
        waivers=tuple(waivers),
    )


def load_policy(path: str | Path | None) -> Policy:
    """The policy file at ``path``, or the built-in default policy."""
    target = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the policy: {exc.strerror or exc}", source=str(target)
        ) from None
    return parse_policy(data, "(built-in default)" if path is None else str(target))


def load_baseline(path: str | Path) -> set[str]:
    """Fingerprints of a previous report.json (or a JSON list of fingerprints)."""
    try:
        doc = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"baseline {path} is not JSON: {exc}") from None
    if isinstance(doc, list) and all(isinstance(x, str) for x in doc):
        return set(doc)
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
        return {str(f.get("fingerprint")) for f in doc["findings"] if isinstance(f, dict)}
    raise InputError(f"baseline {path} is neither an xtrust report.json nor a list of fingerprints")


@dataclass
class Evaluation:
    verdict: str  # pass | fail | incomplete
    reasons: list[str]
    active: list[Finding]
    waived: list[Finding]
    baselined: list[Finding]
    policy_findings: list[Finding]
    counts_by_severity: dict[str, int]
    counts_by_category: dict[str, int]

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1}.get(self.verdict, 2)


def _policy_finding(rule: str, sev: Severity, message: str, **kw: Any) -> Finding:
    f = Finding(
        analyzer="policy",
        rule_id=rule,
        severity=sev,
        message=message,
        category="policy",
        location=Location("(policy)", snippet=kw.pop("snippet", None)),
        rule_name=rule,
        **kw,
    )
    return f.with_fingerprint()


def evaluate(
    policy: Policy,
    results: Sequence[AnalyzerResult],
    findings: Sequence[Finding],
    *,
    baseline: set[str] | None = None,
    fail_on: Severity | None = None,
    now: dt.datetime | None = None,
    fail_on_given: bool = False,
) -> Evaluation:
    """Apply the policy to fingerprinted findings and analyzer results."""
    now = now or dt.datetime.now(dt.UTC)
    threshold = fail_on if fail_on_given else policy.fail_on
    reasons: list[str] = []
    incomplete = False
    status = {r.analyzer: r for r in results}
    for r in results:
        if r.status == "failed":
            incomplete = True
            reasons.append(f"analyzer {r.analyzer} failed: {r.reason}")
    for name in policy.required_analyzers:
        req = status.get(name)
        if req is None or req.status != "ok":
            incomplete = True
            why = f"{req.status}: {req.reason}" if req is not None else "not run"
            reasons.append(f"required analyzer {name} did not run ({why})")

    policy_findings: list[Finding] = []
    vuln = status.get("vulnerabilities")
    if vuln is not None and vuln.status == "ok" and policy.max_db_age_days is not None:
        db = vuln.extra.get("database") or {}
        newest = db.get("newest_modified")
        age_days: float | None = None
        if newest:
            stamp = dt.datetime.fromisoformat(newest)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.UTC)
            age_days = (now - stamp).total_seconds() / 86400
        if age_days is None or age_days > policy.max_db_age_days:
            shown = (
                f"{age_days:.1f} days old" if age_days is not None else "has no dated advisories"
            )
            policy_findings.append(
                _policy_finding(
                    "vuln-db-stale",
                    Severity.HIGH,
                    f"the vulnerability database is stale: newest advisory {newest or '-'} is"
                    f" {shown} (policy limit {policy.max_db_age_days:g} days)",
                    key=str(db.get("digest")),
                )
            )
    today = now.date()
    active_waivers: dict[str, Waiver] = {}
    for w in policy.waivers:
        if w.expired(today):
            policy_findings.append(
                _policy_finding(
                    "waiver-expired",
                    Severity.HIGH,
                    f"waiver for {w.fingerprint} (owner {w.owner}: {w.reason}) expired on"
                    f" {w.expires.isoformat()}",
                    key=w.fingerprint,
                    snippet=w.fingerprint,
                )
            )
        else:
            active_waivers[w.fingerprint] = w

    active: list[Finding] = []
    waived: list[Finding] = []
    baselined: list[Finding] = []
    for f in [*findings, *policy_findings]:
        hit = active_waivers.get(f.fingerprint)
        if hit is not None and f.analyzer != "policy":
            props = {
                **f.properties,
                "waiver": {
                    "owner": hit.owner,
                    "reason": hit.reason,
                    "expires": hit.expires.isoformat(),
                },
            }
            waived.append(replace(f, properties=props))
        elif baseline and f.fingerprint in baseline and f.analyzer != "policy":
            baselined.append(f)
        else:
            active.append(f)
    by_sev = Counter(f.severity.label for f in active)
    by_cat = Counter(f.category for f in active)
    failed = False
    if threshold is not None:
        over = [f for f in active if f.severity >= threshold]
        if over:
            failed = True
            reasons.append(f"{len(over)} finding(s) at or above {threshold.label}")
    for cat, limit in policy.max_findings.items():
        if by_cat.get(cat, 0) > limit:
            failed = True
            reasons.append(f"{by_cat[cat]} {cat} finding(s), policy allows {limit}")
    if any(f.rule_id == "waiver-expired" for f in policy_findings):
        failed = True
        reasons.append("an expired waiver")
    verdict = "incomplete" if incomplete else ("fail" if failed else "pass")
    return Evaluation(
        verdict=verdict,
        reasons=reasons,
        active=active,
        waived=waived,
        baselined=baselined,
        policy_findings=policy_findings,
        counts_by_severity={s.label: by_sev.get(s.label, 0) for s in Severity},
        counts_by_category=dict(sorted(by_cat.items())),
    )
