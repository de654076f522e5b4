"""The certification run: target -> analyzers (concurrently) -> policy -> reports.

:func:`certify` prepares the target (:mod:`xtrust.certify.targets`), runs every
applicable analyzer in a thread pool (subprocess analyzers overlap), reuses
cached raw results keyed by content digest and tool versions
(:mod:`xtrust.certify.cache`), masks secrets in every finding, fingerprints
findings, applies the policy (:mod:`xtrust.certify.policy`) and writes the
outputs atomically into the output directory. An analyzer that raises, fails,
or scans nothing makes the verdict ``incomplete``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xtrust import __version__
from xtrust.certify.analyzers import default_analyzers, mask_secrets
from xtrust.certify.analyzers._tools import set_version_cache
from xtrust.certify.cache import ResultCache, content_digest
from xtrust.certify.formats import atomic_write_text, render_html, to_sarif
from xtrust.certify.formats.json import REPORT_SCHEMA, REPORT_VERSION
from xtrust.certify.interface import (
    Analyzer,
    AnalyzerResult,
    Finding,
    ScanContext,
    Severity,
)
from xtrust.certify.policy import Evaluation, Policy, evaluate, load_baseline, load_policy
from xtrust.certify.targets import (
    OUTPUT_MARKER,
    Limits,
    PreparedTarget,
    prepare_target,
    printable,
)
from xtrust.errors import InputError, XTrustError
from xtrust.log import get_logger

__all__ = ["PREDICATE_TYPE", "CertifyOptions", "CertifyRun", "certify"]

log = get_logger("certify")

PREDICATE_TYPE = "https://xtrust.dev/certification/v1"

#: progress callback: (analyzer name, event "start" | "done", result or None)
Progress = Callable[[str, str, AnalyzerResult | None], None]


@dataclass
class CertifyOptions:
    target: str
    output_dir: Path
    policy: Path | None = None
    vuln_db: Path | None = None
    sign_key: Path | None = None
    baseline: Path | None = None
    fail_on: Severity | None = None
    fail_on_given: bool = False
    jobs: int = 0
    use_cache: bool = True
    cache_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    timeout: float = 600.0
    analyzers: Sequence[Analyzer] | None = None
    #: values files merged, in order, over a Helm chart's values.yaml
    helm_values: Sequence[Path] = ()
    progress: Progress | None = None
    now: dt.datetime | None = None


@dataclass
class CertifyRun:
    report: dict[str, Any]
    evaluation: Evaluation
    results: list[AnalyzerResult]
    outputs: dict[str, str]

    @property
    def verdict(self) -> str:
        return self.evaluation.verdict

    @property
    def exit_code(self) -> int:
        return self.evaluation.exit_code


def _safe_run(analyzer: Analyzer, ctx: ScanContext, progress: Progress | None) -> AnalyzerResult:
    if progress:
        progress(analyzer.name, "start", None)
    started = time.perf_counter()
    try:
        result = _run_niced(analyzer, ctx) if analyzer.nice > 0 else analyzer.run(ctx)
    except XTrustError as exc:
        result = AnalyzerResult(
            analyzer.name, "failed", str(exc), tool_version=analyzer.tool_version()
        )
    except Exception as exc:  # an analyzer bug must not pass the run
        log.exception("analyzer %s crashed", analyzer.name)
        result = AnalyzerResult(
            analyzer.name,
            "failed",
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
            tool_version=analyzer.tool_version(),
        )
    if result.status == "ok" and result.scanned_count <= 0:
        result = replace(result, status="failed", reason="the analyzer scanned nothing")
    result = replace(result, duration_s=time.perf_counter() - started)
    if progress:
        progress(analyzer.name, "done", result)
    return result


@contextlib.contextmanager
def _go_threads() -> Iterator[None]:
    """Let Go tools (syft) use half the CPUs while the analyzers run side by side,
    unless the user set GOMAXPROCS; the tools inherit the environment."""
    if "GOMAXPROCS" in os.environ:
        yield
        return
    os.environ["GOMAXPROCS"] = str(max(1, (os.cpu_count() or 2) // 2))
    try:
        yield
    finally:
        os.environ.pop("GOMAXPROCS", None)


def _run_niced(analyzer: Analyzer, ctx: ScanContext) -> AnalyzerResult:
    """Run in a fresh thread whose niceness (per thread on Linux, inherited by the
    tools it starts) is raised by ``analyzer.nice``; pool threads stay untouched."""
    box: dict[str, Any] = {}

    def target() -> None:
        with contextlib.suppress(OSError, AttributeError):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + analyzer.nice
            )
        try:
            box["result"] = analyzer.run(ctx)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"certify-{analyzer.name}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: AnalyzerResult = box["result"]
    return result


def _clean(text: str) -> str:
    """Secrets masked, and undecodable bytes of file names (surrogates) escaped."""
    return printable(mask_secrets(text))


def _mask(f: Finding) -> Finding:
    loc = f.location
    if loc is not None:
        loc = replace(
            loc,
            path=printable(loc.path),
            snippet=_clean(loc.snippet) if loc.snippet else loc.snippet,
        )
    return replace(f, message=_clean(f.message), location=loc)


def _fingerprint(findings: list[Finding]) -> list[Finding]:
    seen: Counter[tuple[str, ...]] = Counter()
    out = []
    for f in findings:
        base = f.with_fingerprint(0)
        n = seen[(base.fingerprint,)]
        seen[(base.fingerprint,)] += 1
        out.append(base if n == 0 else f.with_fingerprint(n))
    return out


def _target_result(prepared: PreparedTarget) -> AnalyzerResult:
    return AnalyzerResult(
        "target",
        "ok",
        findings=tuple(prepared.findings),
        scanned_count=max(prepared.entries, 1),
        tool_version=__version__,
    )


def _artifact_digest(target: str) -> str | None:
    try:
        from xtrust.crypto import artifact_digest

        return artifact_digest(target)
    except XTrustError as exc:
        log.warning("cannot compute the artifact digest of %s: %s", target, exc)
        return None


def certify(opts: CertifyOptions) -> CertifyRun:
    """Run a certification; raises XTrustError for bad input (exit 2)."""
    policy = load_policy(opts.policy)
    baseline = load_baseline(opts.baseline) if opts.baseline is not None else None
    if opts.vuln_db is not None and not opts.vuln_db.exists():
        raise InputError(f"--vuln-db {opts.vuln_db} does not exist")
    signing_key = _load_key(opts.sign_key) if opts.sign_key is not None else None
    out_dir = opts.output_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / OUTPUT_MARKER).touch()
    except OSError as exc:
        raise InputError(f"cannot create the output directory {out_dir}: {exc.strerror}") from None
    cache = ResultCache(opts.cache_dir, enabled=opts.use_cache)
    set_version_cache(cache.tool_version if opts.use_cache else None)
    started = time.perf_counter()
    prepared = prepare_target(opts.target, out_dir, opts.limits)
    try:
        return _certify_prepared(opts, policy, baseline, prepared, cache, signing_key, started)
    finally:
        prepared.cleanup()


def _load_key(path: Path) -> Any:
    from xtrust.crypto import load_private_key

    passphrase = os.environ.get("XTRUST_KEY_PASSPHRASE")
    return load_private_key(path, passphrase or None, kind="sign")


def load_helm_values(paths: Sequence[Path]) -> dict[str, Any]:
    """Values files (YAML mappings) merged in order, later keys winning, nested maps
    merged (as ``helm template -f a -f b`` does); InputError naming a bad file."""
    import copy

    import yaml

    from xtrust.certify.helm import _deep_merge

    out: dict[str, Any] = {}
    for path in paths:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"--helm-values {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise InputError(f"--helm-values {path}: not valid YAML: {exc}") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"--helm-values {path}: the file must be a YAML mapping")
        try:
            _deep_merge(out, copy.deepcopy(doc), True)
        except Exception as exc:  # a values file nested past the renderer's limits
            raise InputError(f"--helm-values {path}: cannot merge: {exc}") from None
    return out


def _certify_prepared(
    opts: CertifyOptions,
    policy: Policy,
    baseline: set[str] | None,
    prepared: PreparedTarget,
    cache: ResultCache,
    signing_key: Any,
    started: float,
) -> CertifyRun:
    ctx = ScanContext(
        prepared.root,
        kind=prepared.kind,
        target=opts.target,
        vuln_db=opts.vuln_db,
        descriptor=prepared.descriptor,
        image_config=prepared.image_config,
        license_allow=policy.license_allow,
        license_deny=policy.license_deny,
        timeout=opts.timeout,
        helm_values=load_helm_values(opts.helm_values),
    )
    analyzers = list(opts.analyzers) if opts.analyzers is not None else default_analyzers()
    digest = content_digest(prepared.root)
    results: dict[str, AnalyzerResult] = {}
    pending: list[tuple[Analyzer, str | None]] = []
    for a in analyzers:
        try:
            reason = a.applies(ctx)
        except XTrustError as exc:
            results[a.name] = AnalyzerResult(a.name, "failed", str(exc))
            continue
        if reason is not None:
            results[a.name] = a.skipped(reason)
            continue
        key = None
        if a.cacheable and cache.enabled:
            key = cache.key(
                a.name, a.revision, a.tool_version(), a.cache_salt(ctx), prepared.kind, digest
            )
            hit = cache.get("results", key)
            if isinstance(hit, dict):
                try:
                    cached = replace(AnalyzerResult.from_json(hit), cached=True)
                    a.restore(ctx, cached)
                    results[a.name] = cached
                    if opts.progress:
                        opts.progress(a.name, "done", cached)
                    continue
                except (KeyError, ValueError, TypeError):
                    pass
        pending.append((a, key))
    jobs = opts.jobs if opts.jobs > 0 else max(4, os.cpu_count() or 1)
    if pending:
        with (
            _go_threads(),
            ThreadPoolExecutor(
                max_workers=min(jobs, len(pending)), thread_name_prefix="certify"
            ) as pool,
        ):
            futures = [
                (a, key, pool.submit(_safe_run, a, ctx, opts.progress)) for a, key in pending
            ]
            for a, key, fut in futures:
                res = fut.result()
                results[a.name] = res
                if key is not None and res.status == "ok":
                    cache.put("results", key, res.to_json())
    ordered = [_target_result(prepared)] + [results[a.name] for a in analyzers]

    raw = [f for r in ordered for f in r.findings]
    findings = _fingerprint([_mask(f) for f in raw])
    evaluation = evaluate(
        policy,
        ordered,
        findings,
        baseline=baseline,
        fail_on=opts.fail_on,
        fail_on_given=opts.fail_on_given,
        now=opts.now,
    )
    target_digest = _artifact_digest(opts.target)
    report = _build_report(
        opts, policy, prepared, ordered, evaluation, digest, target_digest, baseline
    )
    report["duration_s"] = round(time.perf_counter() - started, 3)
    outputs = _write_outputs(opts, ctx, report, signing_key, target_digest)
    return CertifyRun(report, evaluation, ordered, outputs)


def _db_info(results: Sequence[AnalyzerResult]) -> dict[str, Any] | None:
    for r in results:
        if r.analyzer == "vulnerabilities" and r.status == "ok":
            db = r.extra.get("database")
            return dict(db) if isinstance(db, dict) else None
    return None


def _build_report(
    opts: CertifyOptions,
    policy: Policy,
    prepared: PreparedTarget,
    results: Sequence[AnalyzerResult],
    ev: Evaluation,
    content: str,
    target_digest: str | None,
    baseline: set[str] | None,
) -> dict[str, Any]:
    analyzers = {a.name: a for a in (opts.analyzers or default_analyzers())}
    states = (
        [("active", f) for f in ev.active]
        + [("waived", f) for f in ev.waived]
        + [("baseline", f) for f in ev.baselined]
    )
    sev_rank = {s.label: s for s in Severity}
    findings = [
        {**f.to_json(), "state": state}
        for state, f in sorted(
            states,
            key=lambda sf: (
                sf[0] != "active",
                -sev_rank[sf[1].severity.label],
                sf[1].analyzer,
                sf[1].location.path if sf[1].location else "",
                (sf[1].location.start_line or 0) if sf[1].location else 0,
            ),
        )
    ]
    now = opts.now or dt.datetime.now(dt.UTC)
    return {
        "schema": REPORT_SCHEMA,
        "report_version": REPORT_VERSION,
        "tool": {"name": "xtrust certify", "version": __version__},
        "generated_at": now.isoformat(timespec="seconds"),
        "target": {
            "path": printable(opts.target),
            "kind": prepared.kind,
            "digest": target_digest,
            "content_digest": content,
            "image_ref": prepared.image_ref,
        },
        "verdict": ev.verdict,
        "exit_code": ev.exit_code,
        "reasons": ev.reasons,
        "policy": policy.to_json(),
        "vulnerability_database": _db_info(results),
        "baseline": str(opts.baseline) if opts.baseline is not None else None,
        "analyzers": [
            {
                "name": r.analyzer,
                "status": r.status,
                "reason": r.reason,
                "scanned_count": r.scanned_count,
                "findings": len(r.findings),
                "tool_version": r.tool_version,
                "duration_s": round(r.duration_s, 3),
                "cached": r.cached,
                "extra": analyzers[r.analyzer].public_extra(r.extra)
                if r.analyzer in analyzers
                else {},
            }
            for r in results
        ],
        "summary": {
            "active": len(ev.active),
            "waived": len(ev.waived),
            "baseline": len(ev.baselined),
            "by_severity": ev.counts_by_severity,
            "by_category": ev.counts_by_category,
        },
        "findings": findings,
        "outputs": {},
    }


def _write_outputs(
    opts: CertifyOptions,
    ctx: ScanContext,
    report: dict[str, Any],
    signing_key: Any,
    target_digest: str | None,
) -> dict[str, str]:
    out = opts.output_dir
    outputs: dict[str, str] = {}
    sbom = ctx.peek("sbom")
    if sbom is not None:
        from xtrust.certify.sbom import write_cyclonedx, write_spdx

        matches = ctx.peek("vuln_matches") or []
        write_cyclonedx(sbom, out / "sbom.cdx.json", vulnerabilities=list(matches))
        write_spdx(sbom, out / "sbom.spdx.json")
        outputs["cyclonedx"] = str(out / "sbom.cdx.json")
        outputs["spdx"] = str(out / "sbom.spdx.json")
    outputs["json"] = str(out / "report.json")
    outputs["sarif"] = str(out / "report.sarif")
    outputs["html"] = str(out / "report.html")
    if signing_key is not None:
        outputs["attestation"] = str(out / "attestation.dsse.json")
    report["outputs"] = {k: Path(v).name for k, v in outputs.items()}
    report_text = json.dumps(report, indent=2, sort_keys=False) + "\n"
    atomic_write_text(out / "report.sarif", json.dumps(to_sarif(report), indent=2) + "\n")
    atomic_write_text(out / "report.html", render_html(report))
    atomic_write_text(out / "report.json", report_text)
    if signing_key is not None:
        env = attest(report, report_text.encode(), signing_key, target_digest, opts.target)
        atomic_write_text(out / "attestation.dsse.json", json.dumps(env, indent=2) + "\n")
    return outputs


def attest(
    report: dict[str, Any],
    report_bytes: bytes,
    key: Any,
    target_digest: str | None,
    target: str,
) -> dict[str, Any]:
    """A DSSE envelope over the in-toto statement of this certification."""
    from xtrust.crypto import in_toto_statement, sign_statement

    if not target_digest:
        raise InputError(f"cannot sign: no artifact digest for {target!r}")
    tool_versions = {a["name"]: a["tool_version"] for a in report["analyzers"]}
    predicate = {
        "tool": report["tool"],
        "certifiedAt": report["generated_at"],
        "verdict": report["verdict"],
        "exitCode": report["exit_code"],
        "toolVersions": tool_versions,
        "analyzers": [
            {"name": a["name"], "status": a["status"], "reason": a["reason"]}
            for a in report["analyzers"]
        ],
        "vulnerabilityDatabase": (
            {
                "digest": report["vulnerability_database"].get("digest"),
                "newestModified": report["vulnerability_database"].get("newest_modified"),
            }
            if report["vulnerability_database"]
            else None
        ),
        "policy": {"source": report["policy"]["source"], "digest": report["policy"]["digest"]},
        "findingCounts": {
            "bySeverity": report["summary"]["by_severity"],
            "active": report["summary"]["active"],
            "waived": report["summary"]["waived"],
            "baseline": report["summary"]["baseline"],
        },
        "report": {"sha256": hashlib.sha256(report_bytes).hexdigest()},
    }
    stmt = in_toto_statement(
        [(printable(Path(target).name or target), target_digest)],
        predicate_type=PREDICATE_TYPE,
        predicate=predicate,
    )
    return sign_statement(stmt, key)
