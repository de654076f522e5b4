"""Benchmark ``xtrust certify``: concurrency and the content-digest cache.

Target: a copy of this repository's ``xtrust/xapps/kpmmon`` xApp (default) or
any directory given with ``--target``. Measured in the same run, ``--repeat``
times (medians reported):

* reference: bandit, semgrep (XTRUST rule pack) and syft run one after another
  on the target, with the same arguments the analyzers use; the slowest of
  them is the "slowest single analyzer";
* cold: a full certification (every analyzer, default policy, no ``--vuln-db``)
  with an empty result cache;
* warm: the same certification again on the unchanged target (cache hits).

Figures: cold / slowest single tool (goal <= 1.3), cold / sequential sum,
warm / cold (goal <= 0.10).

    .venv/bin/python bench/bench_certify.py
    .venv/bin/python bench/bench_certify.py --target path/to/app --repeat 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xtrust.certify.analyzers._tools import find_tool
from xtrust.certify.analyzers.semgrep import _OFFLINE_ENV, _PACK_GLOB, RULES_DIR
from xtrust.certify.orchestrator import CertifyOptions, certify
from xtrust.certify.targets import iter_files

REPO = Path(__file__).resolve().parents[1]


def _timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    import os

    full = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=full, capture_output=True, check=False)
    return time.perf_counter() - t0


def reference(target: Path) -> dict[str, float]:
    py = [rel for rel, _ in iter_files(target, suffixes=(".py",))]
    bandit, semgrep, syft = find_tool("bandit"), find_tool("semgrep"), find_tool("syft")
    assert bandit and semgrep and syft, "bandit, semgrep and syft must be installed"
    configs = [a for p in sorted(RULES_DIR.glob(_PACK_GLOB)) for a in ("--config", str(p))]
    return {
        "bandit": _timed([bandit, "-f", "json", "-q", "--", *py], target),
        "semgrep": _timed(
            [
                semgrep,
                "scan",
                *configs,
                "--json",
                "--metrics=off",
                "--disable-version-check",
                "--no-git-ignore",
                "--quiet",
                "--timeout",
                "30",
                "--",
                *py,
            ],
            target,
            _OFFLINE_ENV,
        ),
        "syft": _timed(
            [syft, "scan", f"dir:{target}", "-o", "syft-json", "-q"],
            target,
            {"SYFT_CHECK_FOR_APP_UPDATE": "false"},
        ),
    }


def run_certify(target: Path, out: Path, cache: Path) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    run = certify(CertifyOptions(str(target), out, cache_dir=cache))
    return time.perf_counter() - t0, run.report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--target", type=Path, default=REPO / "xtrust/xapps/kpmmon")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    refs: dict[str, list[float]] = {"bandit": [], "semgrep": [], "syft": []}
    cold: list[float] = []
    warm: list[float] = []
    statuses: dict[str, str] = {}
    per_analyzer: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-certify-") as tmp:
        base = Path(tmp)
        target = base / "target"
        shutil.copytree(args.target, target, ignore=shutil.ignore_patterns("__pycache__"))
        for i in range(args.repeat):
            for tool, seconds in reference(target).items():
                refs[tool].append(seconds)
            cache = base / f"cache{i}"
            seconds, report = run_certify(target, base / f"cold{i}", cache)
            cold.append(seconds)
            statuses = {a["name"]: a["status"] for a in report["analyzers"]}
            for a in report["analyzers"]:
                if a["status"] == "ok":
                    per_analyzer.setdefault(a["name"], []).append(a["duration_s"])
            seconds, report = run_certify(target, base / f"warm{i}", cache)
            warm.append(seconds)
            assert all(
                a["cached"]
                for a in report["analyzers"]
                if a["status"] == "ok" and a["name"] not in ("target", "licenses")
            )
    med = {k: statistics.median(v) for k, v in refs.items()}
    slowest_tool = max(med, key=lambda k: med[k])
    seq = sum(med.values())
    c, w = statistics.median(cold), statistics.median(warm)
    figures = {
        "target": str(args.target),
        "files": sum(1 for _ in iter_files(args.target)),
        "repeat": args.repeat,
        "python": platform.python_version(),
        "reference_s": {k: round(v, 3) for k, v in med.items()},
        "sequential_s": round(seq, 3),
        "slowest_tool": slowest_tool,
        "cold_s": round(c, 3),
        "warm_s": round(w, 3),
        "cold_over_slowest": round(c / med[slowest_tool], 3),
        "cold_over_sequential": round(c / seq, 3),
        "warm_over_cold": round(w / c, 4),
        "analyzers": statuses,
        "cold_analyzer_s": {k: round(statistics.median(v), 3) for k, v in per_analyzer.items()},
    }
    print(f"target: {args.target} ({figures['files']} files), median of {args.repeat}")
    for k, v in med.items():
        print(f"  reference {k:<8} {v:7.3f} s")
    print(f"  sequential sum     {seq:7.3f} s")
    print(f"  certify cold       {c:7.3f} s")
    for k, v in figures["cold_analyzer_s"].items():
        print(f"    in the cold run: {k:<16} {v:7.3f} s")
    print(f"  certify warm       {w:7.3f} s")
    print(
        f"cold / slowest single tool ({slowest_tool}): {figures['cold_over_slowest']:.2f}x (goal <= 1.30)"
    )
    print(f"cold / sequential bandit+semgrep+syft:  {figures['cold_over_sequential']:.2f}x")
    print(f"warm / cold:                            {figures['warm_over_cold']:.3f} (goal <= 0.10)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
