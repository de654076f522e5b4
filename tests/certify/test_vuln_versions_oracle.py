"""Our version orderings against independent implementations, where installed:
``dpkg --compare-versions`` (Debian's own) and the npm ``semver`` package (node)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from xtrust.certify.vuln import compare_versions

ROOT = Path(__file__).resolve().parents[2]
SEMVER_JS = ROOT / "node_modules" / "semver"


def _dpkg_version(rng: random.Random) -> str:
    def run(chars: str, n: int) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    upstream = rng.choice("0123456789") + run("0123456789.+~ab", rng.randrange(0, 6))
    revision = run("0123456789.+~ab", rng.randrange(1, 4)) if rng.random() < 0.6 else ""
    if revision and rng.random() < 0.2:
        upstream += "-" + run("0123456789", 1)  # a hyphen in upstream needs a revision
    epoch = f"{rng.randrange(0, 3)}:" if rng.random() < 0.2 else ""
    return epoch + upstream + (f"-{revision}" if revision else "")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_dpkg_ordering_matches_dpkg() -> None:
    rng = random.Random(5612)
    # Mostly similar versions, so that the interesting rules (~, letters, revisions) decide.
    pool = [_dpkg_version(rng) for _ in range(60)]
    pairs = [(rng.choice(pool), rng.choice(pool)) for _ in range(150)]
    pairs += [("1.0~rc1", "1.0"), ("1.0", "1.0-0"), ("1:0", "9"), ("1.0a", "1.0+")]
    mismatches = []
    for a, b in pairs:
        ours = compare_versions("Debian", a, b)
        # one dpkg call per pair: does dpkg agree with the relation we computed?
        relation = {-1: "lt", 0: "eq", 1: "gt"}[ours]
        agreed = subprocess.run(["dpkg", "--compare-versions", a, relation, b], check=False)
        if agreed.returncode != 0:
            mismatches.append((a, relation, b))
    assert mismatches == []


def _semver(rng: random.Random) -> str:
    v = ".".join(str(rng.choice([0, 1, 2, 10])) for _ in range(3))
    if rng.random() < 0.6:
        idents = ["alpha", "beta", "rc", "0", "1", "2", "11", "x-y", "RC", "a1"]
        v += "-" + ".".join(rng.choice(idents) for _ in range(rng.randrange(1, 4)))
    if rng.random() < 0.2:
        v += "+build." + str(rng.randrange(10))
    return v


@pytest.mark.skipif(
    shutil.which("node") is None or not SEMVER_JS.is_dir(),
    reason="node and the npm semver package (npm install) are not available",
)
def test_semver_ordering_matches_npm_semver() -> None:
    rng = random.Random(11)
    pairs = [(_semver(rng), _semver(rng)) for _ in range(400)]
    script = (
        "const semver = require(process.argv[1]);"
        "const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(pairs.map(([a, b]) => semver.compare(a, b))));"
    )
    out = subprocess.run(
        ["node", "-e", script, str(SEMVER_JS)],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = json.loads(out.stdout)
    ours = [compare_versions("npm", a, b) for a, b in pairs]
    mismatches = [(a, b, o, t) for (a, b), o, t in zip(pairs, ours, theirs, strict=True) if o != t]
    assert mismatches == []
