"""Benchmark OSV loading and vulnerability matching against a naive scan.

Generates, deterministically (fixed seed), a synthetic OSV database of ``--advisories``
advisories (default 100,000) in a temporary directory, written as one ``all.zip`` per
ecosystem like osv.dev's exports (or as one JSON file per advisory with ``--layout dir``),
and ``--components`` components (default 5,000) across PyPI, npm, Go and Debian:12, about a
third of them on vulnerable versions.

Measured in the same run:

* load: ``OsvDatabase.load`` (parse, index by (ecosystem, name), digest);
* match: ``match_components`` over all components (index lookups);
* reference: a naive matcher that scans every affected entry of every advisory per
  component (same evaluation code, no index), timed on a ``--naive-sample`` of components
  (default 100) and extrapolated per component; its results on the sample must equal the
  indexed matcher's.

    .venv/bin/python bench/bench_vuln_match.py
    .venv/bin/python bench/bench_vuln_match.py --advisories 20000 --components 1000 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from xtrust.certify.sbom import Component, make_purl, normalize_name
from xtrust.certify.vuln import OsvDatabase, VulnMatch, match_components
from xtrust.certify.vuln.match import _evaluate, severity_of

ECOSYSTEMS = ["PyPI", "npm", "Go", "Debian:12"]
VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
]
PACKAGES_PER_ECOSYSTEM = 20_000


def _pkg_name(eco: str, i: int) -> str:
    if eco == "Go":
        return f"example.com/org{i % 97}/mod{i}"
    if eco == "npm":
        return f"@scope{i % 13}/pkg-{i}" if i % 5 == 0 else f"pkg-{i}"
    if eco.startswith("Debian"):
        return f"lib{i}"
    return f"Py_Pkg.{i}"


def _version(eco: str, major: int, minor: int, patch: int) -> str:
    if eco.startswith("Debian"):
        return f"{major}.{minor}.{patch}-1"
    return f"{major}.{minor}.{patch}"


def generate(directory: Path, advisories: int, components: int, layout: str) -> list[Component]:
    rng = random.Random(20261126)
    per_eco: dict[str, list[tuple[str, bytes]]] = {e: [] for e in ECOSYSTEMS}
    known: list[tuple[str, int, tuple[int, int, int], tuple[int, int, int]]] = []
    for n in range(advisories):
        eco = ECOSYSTEMS[n % len(ECOSYSTEMS)]
        pkg = rng.randrange(PACKAGES_PER_ECOSYSTEM)
        lo = (rng.randrange(0, 5), rng.randrange(0, 10), rng.randrange(0, 10))
        hi = (lo[0] + rng.randrange(0, 2), lo[1] + rng.randrange(1, 5), rng.randrange(0, 10))
        semver = eco in ("npm", "Go")
        affected: dict[str, Any] = {
            "package": {"ecosystem": eco, "name": _pkg_name(eco, pkg)},
            "ranges": [
                {
                    "type": "SEMVER" if semver else "ECOSYSTEM",
                    "events": [
                        {"introduced": "0" if n % 7 == 0 else _version(eco, *lo)},
                        {"fixed": _version(eco, *hi)}
                        if n % 3
                        else {"last_affected": _version(eco, *hi)},
                    ],
                }
            ],
        }
        doc: dict[str, Any] = {
            "schema_version": "1.6.0",
            "id": f"SYN-{eco.split(':')[0].upper()}-{n:06d}",
            "modified": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:00Z",
            "aliases": [f"CVE-2026-{n:06d}"],
            "summary": f"synthetic advisory {n}",
            "affected": [affected],
        }
        if n % 4:
            doc["severity"] = [
                {"type": "CVSS_V4" if "4.0" in v else "CVSS_V3", "score": v}
                for v in [VECTORS[n % len(VECTORS)]]
            ]
        else:
            doc["database_specific"] = {"severity": "MODERATE"}
        if n % 997 == 0:
            doc["withdrawn"] = "2026-01-01T00:00:00Z"
        per_eco[eco].append((doc["id"], json.dumps(doc).encode()))
        known.append((eco, pkg, lo, hi))
    for eco, docs in per_eco.items():
        sub = directory / eco.split(":")[0]
        sub.mkdir(parents=True)
        if layout == "zip":
            with zipfile.ZipFile(sub / "all.zip", "w", zipfile.ZIP_DEFLATED) as zf:
                for ident, data in docs:
                    zf.writestr(f"{ident}.json", data)
        else:
            for ident, data in docs:
                (sub / f"{ident}.json").write_bytes(data)

    comps: list[Component] = []
    for i in range(components):
        if i % 3 == 0:
            # a version inside an advisory's range (vulnerable)
            eco, pkg, lo, hi = known[rng.randrange(len(known))]
            version = _version(eco, *lo)
        else:
            eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
            pkg = rng.randrange(PACKAGES_PER_ECOSYSTEM * 2)  # half the names have no advisory
            version = _version(eco, rng.randrange(0, 8), rng.randrange(0, 12), rng.randrange(0, 10))
        base = eco.split(":")[0]
        distro = "debian:12" if base == "Debian" else None
        name = _pkg_name(eco, pkg)
        if eco == "Go":
            version = "v" + version
        comps.append(
            Component(
                name=name,
                version=version,
                ecosystem=base,
                purl=make_purl(base, name, version, distro),
                distro=distro,
            )
        )
    return comps


def naive_match(db: OsvDatabase, components: list[Component]) -> list[VulnMatch]:
    """Reference: scan every affected entry of every advisory for each component."""
    flat = [
        (eco, name, e) for (eco, name), entries in db.index.items() for e in entries
    ]  # the same entries the index holds, as one list
    out: list[VulnMatch] = []
    for comp in components:
        eco = comp.ecosystem.split(":")[0].lower()
        name = normalize_name(comp.ecosystem, comp.name)
        best: dict[str, tuple[Any, str, str, tuple[str, ...]]] = {}
        for e_eco, e_name, entry in flat:
            if e_eco != eco or e_name != name:
                continue
            res = _evaluate(entry, comp, comp.version)
            if res is None:
                continue
            status, reason, fixed = res
            prev = best.get(entry.advisory.id)
            if prev is None or (prev[1] == "unknown" and status == "affected"):
                best[entry.advisory.id] = (entry, status, reason, fixed)
        for aid, (entry, status, reason, fixed) in best.items():
            sev, score, vector = severity_of(entry.advisory.raw, entry.raw)
            out.append(
                VulnMatch(
                    comp, aid, entry.advisory.aliases, entry.advisory.summary, status, sev,
                    score, vector, fixed, reason,
                )
            )  # fmt: skip
    return out


def _key(m: VulnMatch) -> tuple[str, str, str, str]:
    return (m.component.name, m.component.version or "", m.advisory_id, m.status)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--advisories", type=int, default=100_000)
    ap.add_argument("--components", type=int, default=5_000)
    ap.add_argument("--naive-sample", type=int, default=100)
    ap.add_argument("--layout", choices=["zip", "dir"], default="zip")
    ap.add_argument("--repeat", type=int, default=3, help="match runs; the best is reported")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="xtrust-bench-osv-") as tmp:
        t0 = time.perf_counter()
        comps = generate(Path(tmp), args.advisories, args.components, args.layout)
        gen_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        db = OsvDatabase.load(tmp)
        digest = db.digest
        load_s = time.perf_counter() - t0

        # Load reference: only read every document and json.loads it (no index, no digest),
        # under the same conditions as OsvDatabase.load (cyclic GC paused).
        gc.disable()
        t0 = time.perf_counter()
        raw_docs = 0
        for archive in sorted(Path(tmp).rglob("*.zip")):
            with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as zf:
                for info in zf.infolist():
                    json.loads(zf.read(info))
                    raw_docs += 1
        for doc_path in sorted(Path(tmp).rglob("*.json")):
            json.loads(doc_path.read_bytes())
            raw_docs += 1
        raw_s = time.perf_counter() - t0
        gc.enable()

    match_times = []
    matches: list[VulnMatch] = []
    for _ in range(max(1, args.repeat)):
        for entries in db.index.values():  # cold caches each run: parse ranges again
            for e in entries:
                e.cache.clear()
        t0 = time.perf_counter()
        matches = match_components(db, comps)
        match_times.append(time.perf_counter() - t0)
    match_s = min(match_times)

    sample = comps[: args.naive_sample]
    for entries in db.index.values():
        for e in entries:
            e.cache.clear()
    t0 = time.perf_counter()
    naive = naive_match(db, sample)
    naive_s = time.perf_counter() - t0
    indexed_sample = match_components(db, sample)
    same = sorted(map(_key, naive)) == sorted(map(_key, indexed_sample))
    naive_per = naive_s / max(1, len(sample))
    naive_total_est = naive_per * len(comps)
    ours_per = match_s / max(1, len(comps))

    figures = {
        "advisories": args.advisories,
        "advisories_loaded": db.count,
        "withdrawn_skipped": db.withdrawn_skipped,
        "components": len(comps),
        "layout": args.layout,
        "matches": len(matches),
        "affected": sum(1 for m in matches if m.status == "affected"),
        "unknown": sum(1 for m in matches if m.status == "unknown"),
        "generate_s": round(gen_s, 3),
        "load_s": round(load_s, 3),
        "load_advisories_per_s": round(db.count / load_s),
        "load_reference_json_only_s": round(raw_s, 3),
        "load_vs_json_only": round(load_s / raw_s, 2),
        "match_s": round(match_s, 4),
        "match_components_per_s": round(len(comps) / match_s),
        "naive_sample": len(sample),
        "naive_sample_s": round(naive_s, 3),
        "naive_per_component_ms": round(naive_per * 1000, 3),
        "indexed_per_component_ms": round(ours_per * 1000, 4),
        "naive_total_estimated_s": round(naive_total_est, 1),
        "speedup_vs_naive": round(naive_per / ours_per, 1),
        "naive_results_equal": same,
        "digest": digest,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"OSV database: {db.count:,} advisories ({args.layout}), {len(comps):,} components")
    print(
        f"  load (parse + index + digest): {load_s:8.3f} s  ({figures['load_advisories_per_s']:,}/s)"
    )
    print(
        f"  load reference (read + json.loads only): {raw_s:.3f} s -> load is "
        f"x{figures['load_vs_json_only']} of it"
    )
    print(
        f"  match, indexed (best of {len(match_times)}): {match_s:8.4f} s  "
        f"({figures['match_components_per_s']:,} components/s), {len(matches):,} matches"
    )
    print(
        f"  match, naive scan ({len(sample)} comps):  {naive_s:8.3f} s  "
        f"-> {naive_total_est:,.1f} s estimated for all"
    )
    print(f"  speedup indexed / naive per component: x{figures['speedup_vs_naive']:,}")
    print(f"  naive and indexed results equal on the sample: {same}")
    print(f"  machine load average (1 min): {figures['load_average_1min']}")
    print(f"  target: match {len(comps):,} components in < 2 s: "
          f"{'met' if match_s < 2.0 else 'NOT met'}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
