"""The indicator store: lenient loading, STIX versioning, revocation, validity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xtrust.errors import InputError
from xtrust.rapps.ti import IndicatorStore, parse_time

from .taxii_fixtures import DIGEST, indicator, revoke

NOW = parse_time("2026-11-26T10:00:00Z") or 0.0
OBS = {"file": [{"hashes.SHA-256": DIGEST}], "ipv4-addr": [{"value": "10.0.0.9"}]}


def test_bundle_file_loads_leniently(tmp_path: Path) -> None:
    good = indicator(f"[file:hashes.'SHA-256' = '{DIGEST}']", name="bad image", confidence=90)
    bundle = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            good,
            {"type": "indicator", "id": "indicator--nope"},  # malformed id, no pattern
            "not an object",
            {"no": "type"},
            indicator("[software:name = 'a'] FOLLOWEDBY [software:name = 'b']"),
            dict(indicator("[ipv4-addr:value = '10.0.0.9']"), pattern_type="sigma"),
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": "malware--6a4f4a3c-4e2e-4d8a-8c0d-8e1b4f2a9c11",
                "created": "2026-01-01T00:00:00Z",
                "modified": "2026-01-01T00:00:00Z",
                "name": "x",
                "is_family": False,
            },
        ],
    }
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(bundle))
    store = IndicatorStore()
    stats = store.load_file(path)
    assert (stats.objects, stats.updated, stats.malformed, stats.unsupported, stats.ignored) == (
        7,
        1,
        3,
        2,
        1,
    )
    assert store.ids() == [good["id"]]
    (m,) = store.match(OBS, NOW)
    assert m.name == "bad image" and m.confidence == 90


def test_not_json_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(InputError, match="not JSON"):
        IndicatorStore().load_file(tmp_path / "x.json")
    with pytest.raises(InputError, match="cannot read"):
        IndicatorStore().load_file(tmp_path / "missing.json")


def test_newest_version_wins_and_revocation_is_final() -> None:
    store = IndicatorStore()
    v1 = indicator("[ipv4-addr:value = '10.0.0.9']", modified="2026-02-01T00:00:00Z")
    v2 = dict(v1, pattern="[ipv4-addr:value = '10.0.0.10']", modified="2026-03-01T00:00:00.000Z")
    store.add_objects([v2])
    store.add_objects([v1])  # older: ignored
    assert store.match(OBS, NOW) == []
    store.add_objects([dict(v2, pattern="[ipv4-addr:value = '10.0.0.0/24']",
                            modified="2026-04-01T00:00:00.000Z")])  # fmt: skip
    assert len(store.match(OBS, NOW)) == 1
    version = store.version
    stats = store.add_objects([revoke(v1)])
    assert stats.revoked == 1 and len(store) == 0 and store.version > version
    store.add_objects([v2])  # a version from before the revocation does not come back
    assert store.match(OBS, NOW) == []


def test_valid_from_and_valid_until_are_respected() -> None:
    store = IndicatorStore()
    ind = indicator(
        "[ipv4-addr:value = '10.0.0.9']",
        valid_from="2026-11-01T00:00:00Z",
        valid_until="2026-11-26T12:00:00Z",
    )
    store.add_objects([ind])
    assert store.match(OBS, NOW)
    assert store.match(OBS, parse_time("2026-11-26T12:00:00Z") or 0) == []
    assert store.match(OBS, parse_time("2026-10-31T00:00:00Z") or 0) == []
    assert store.next_transition(NOW) == parse_time("2026-11-26T12:00:00Z")


def test_taxii_envelope_and_list_forms() -> None:
    store = IndicatorStore()
    ind = indicator("[ipv4-addr:value = '10.0.0.9']")
    assert store.load_document({"more": False, "objects": [ind]}).updated == 1
    assert store.load_document([ind]).updated == 0  # same version again
    with pytest.raises(InputError):
        store.load_document(42)


def test_indexed_matching_equals_brute_force() -> None:
    import random

    rng = random.Random(3)
    patterns = []
    for i in range(300):
        k = i % 6
        if k == 0:
            patterns.append(f"[ipv4-addr:value = '10.0.{rng.randint(0, 3)}.{rng.randint(0, 9)}']")
        elif k == 1:
            patterns.append(f"[ipv4-addr:value = '10.0.{rng.randint(0, 3)}.0/24']")
        elif k == 2:
            h = rng.choice([DIGEST.upper(), DIGEST, "0" * 64])
            patterns.append(f"[file:hashes.'SHA-256' = '{h}']")
        elif k == 3:
            patterns.append(
                f"[software:name = 'p{rng.randint(0, 3)}' AND software:version = '{rng.randint(0, 2)}']"
            )
        elif k == 4:
            patterns.append(
                f"[vulnerability:name IN ('CVE-{rng.randint(0, 5)}', 'CVE-{rng.randint(0, 5)}')]"
                f" OR [software:name LIKE 'p{rng.randint(0, 3)}%']"
            )
        elif i % 12 == 5:
            patterns.append(f"[software:name != 'p{rng.randint(0, 3)}']")
        else:
            patterns.append(
                f"[vulnerability:name IN ('CVE-{rng.randint(0, 5)}', 'CVE-{rng.randint(0, 5)}')]"
            )
    store = IndicatorStore()
    store.add_objects([indicator(p) for p in patterns])
    for _ in range(100):
        obs = {
            "ipv4-addr": [{"value": f"10.0.{rng.randint(0, 3)}.{rng.randint(0, 9)}"}],
            "file": [{"hashes.SHA-256": rng.choice([DIGEST, "0" * 64, "1" * 64])}],
            "software": [{"name": f"p{rng.randint(0, 3)}", "version": str(rng.randint(0, 2))}],
            "vulnerability": [{"name": f"CVE-{rng.randint(0, 5)}"}],
        }
        got = {m.id for m in store.match(obs, NOW)}
        want = {i for i in store.ids() if (ind := store.get(i)) and ind.pattern.match(obs)}
        assert got == want
