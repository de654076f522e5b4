"""STIX pattern parsing and matching against subject observables."""

from __future__ import annotations

import pytest

from xtrust.rapps.ti import PatternError, UnsupportedPattern, compile_pattern

OBS = {
    "file": [
        {"hashes.SHA-256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
    ],
    "ipv4-addr": [{"value": "10.20.0.7"}],
    "ipv6-addr": [{"value": "2001:db8::7"}],
    "vulnerability": [{"name": "CVE-2024-3094"}],
    "software": [{"name": "openssl", "version": "3.0.1"}, {"name": "zlib", "version": "1.2.11"}],
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "[file:hashes.'SHA-256' = "
            "'9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08']",
            True,
        ),
        ("[file:hashes.'SHA-256' = 'deadbeef']", False),
        ("[file:hashes.MD5 = 'deadbeef']", False),
        ("[ipv4-addr:value = '10.20.0.7']", True),
        ("[ipv4-addr:value = '10.20.0.0/16']", True),
        ("[ipv4-addr:value ISSUBSET '10.21.0.0/16']", False),
        ("[ipv4-addr:value = '10.20.0.8']", False),
        ("[ipv6-addr:value = '2001:db8::/32']", True),
        ("[vulnerability:name = 'CVE-2024-3094']", True),
        ("[vulnerability:name IN ('CVE-2021-44228', 'CVE-2024-3094')]", True),
        ("[vulnerability:name = 'CVE-2021-44228']", False),
        ("[software:name = 'openssl' AND software:version = '3.0.1']", True),
        # the AND must hold on ONE software object, not across objects
        ("[software:name = 'openssl' AND software:version = '1.2.11']", False),
        ("[software:name = 'openssl' AND software:version LIKE '3.0.%']", True),
        ("[software:name = 'openssl' AND software:version NOT = '3.0.1']", False),
        ("[software:name MATCHES '^zl']", True),
        ("[software:name = 'nginx'] OR [ipv4-addr:value = '10.20.0.7']", True),
        ("[software:name = 'nginx'] AND [ipv4-addr:value = '10.20.0.7']", False),
        ("([software:name = 'zlib'] AND [vulnerability:name = 'CVE-2024-3094'])", True),
        ("[software:name = 'x' OR (software:name = 'zlib' AND software:version < '2')]", True),
        ("[url:value = 'http://x']", False),
    ],
)
def test_match(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).match(OBS) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "[software:name = 'a'] FOLLOWEDBY [software:name = 'b']",
        "[software:name = 'a'] WITHIN 300 SECONDS",
        "[software:name = 'a'] REPEATS 5 TIMES",
        "[software:name = 'a' AND ipv4-addr:value = '1.2.3.4']",
    ],
)
def test_unsupported_forms_are_reported(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern):
        compile_pattern(pattern)


@pytest.mark.parametrize(
    "pattern", ["", "software:name = 'a'", "[software:name = 'a'", "[software:name ~ 'a']", "[x]"]
)
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(pattern)


def test_object_types_are_indexed() -> None:
    p = compile_pattern("[software:name = 'a'] OR [file:hashes.MD5 = 'b']")
    assert p.object_types == {"software", "file"}
