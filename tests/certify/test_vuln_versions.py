"""Version ordering per ecosystem: tables of known orderings from the specifications."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xtrust.certify.vuln import InvalidVersion, UnsupportedEcosystem, compare_versions
from xtrust.errors import InputError

# Each table is strictly increasing; every pair is checked both ways.
PEP440_ORDER = [
    "0.9",
    "1.0.dev0",
    "1.0a1",
    "1.0a2.dev1",
    "1.0a2",
    "1.0b1",
    "1.0rc1",
    "1.0",
    "1.0+local.1",
    "1.0.post1.dev0",
    "1.0.post1",
    "1.1",
    "2.0",
    "1!0.1",  # any epoch 1 version is above every epoch 0 version
]

# Debian Policy 5.6.12: "~~" < "~~a" < "~" < "" < "a"; letters sort before non-letters;
# an absent revision is less than a present one; epochs dominate.
DPKG_ORDER = [
    "1.0~~",
    "1.0~~a",
    "1.0~",
    "1.0",
    "1.0-1",
    "1.0a",
    "1.0+b1",
    "1.0.1",
    "1.2",
    "1.10",
    "2.36-9+deb12u3",
    "2.36-9+deb12u4",
    "2.36-10",
    "3.0.11-1~deb12u1",
    "3.0.11-1",
    "9.9",
    "1:0.9",
    "2:0.1",
]

# semver.org section 11.
SEMVER_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
    "10.0.0",
]

APK_ORDER = [
    "1.0_alpha1",
    "1.0_alpha2",
    "1.0_beta",
    "1.0_pre1",
    "1.0_rc1",
    "1.0",
    "1.0-r1",
    "1.0_p1",
    "1.0a",
    "1.0.1",
    "1.2.4_git20230717-r4",
    "1.10",
]


# Maven "Version Order Specification" examples and common release spellings.
MAVEN_ORDER = [
    "1-alpha-1",
    "1-alpha-2",
    "1-beta",
    "1-milestone-1",
    "1-rc1",
    "1-snapshot",
    "1",
    "1-sp",
    "1-foo2",
    "1-foo10",
    "1-1",
    "1.1",
    "1.1.1",
    "2.13.4",
    "2.13.4.2",
    "5.3.0-RC1",
    "5.3.0.RELEASE",
    "5.3.1",
]


def _check_table(ecosystem: str, table: list[str]) -> None:
    for (i, a), (j, b) in itertools.product(enumerate(table), repeat=2):
        expected = (i > j) - (i < j)
        assert compare_versions(ecosystem, a, b) == expected, (ecosystem, a, b)


@pytest.mark.parametrize(
    ("ecosystem", "table"),
    [
        ("PyPI", PEP440_ORDER),
        ("Debian", DPKG_ORDER),
        ("Debian:12", DPKG_ORDER),
        ("Ubuntu", DPKG_ORDER),
        ("npm", SEMVER_ORDER),
        ("crates.io", SEMVER_ORDER),
        ("Go", ["v" + v for v in SEMVER_ORDER]),
        ("Alpine", APK_ORDER),
        ("Alpine:v3.19", APK_ORDER),
        ("Maven", MAVEN_ORDER),
    ],
)
def test_ordering_tables(ecosystem: str, table: list[str]) -> None:
    _check_table(ecosystem, table)


@pytest.mark.parametrize(
    ("ecosystem", "a", "b"),
    [
        ("PyPI", "1.0", "1.0.0"),
        ("PyPI", "1.0a1", "1.0alpha1"),
        ("PyPI", "v1.0", "1.0"),
        ("PyPI", "0!1.0", "1.0"),
        ("Debian", "0:1.0", "1.0"),
        ("Debian", "1.0", "1.0-0"),
        ("Debian", "1.01", "1.1"),
        ("npm", "1.0.0+build.1", "1.0.0+build.2"),
        ("Go", "v1.2.3", "1.2.3"),
        ("Go", "v2.0.0+incompatible", "v2.0.0"),
        ("Go", "go1.21", "1.21.0"),  # the Go toolchain's spelling of stdlib versions
        ("Go", "go1.21.3", "v1.21.3"),
        ("Go", "go1.22rc1", "1.22.0-rc.1"),
        ("Maven", "1.ga", "1-ga"),
        ("Maven", "1-ga", "1-0"),
        ("Maven", "1.0", "1"),
        ("Maven", "1-a1", "1-alpha-1"),
        ("Maven", "1.0-rc1", "1.0-CR1"),
        ("Maven", "1.0.0.Final", "1.0.0"),
    ],
)
def test_equal_versions(ecosystem: str, a: str, b: str) -> None:
    assert compare_versions(ecosystem, a, b) == 0
    assert compare_versions(ecosystem, b, a) == 0


@pytest.mark.parametrize(
    ("ecosystem", "bad"),
    [
        ("PyPI", "not a version"),
        ("PyPI", ""),
        ("Debian", "abc"),
        ("Debian", "a:1.0"),
        ("Debian", "1.0-"),
        ("Debian", "1.0 beta"),
        ("npm", "1.2"),
        ("npm", "01.2.3"),
        ("npm", "1.2.3-01"),
        ("crates.io", "latest"),
        ("Alpine", "1.0_foo"),
        ("Maven", "1.0 beta"),
    ],
)
def test_unparseable_versions_raise_input_error(ecosystem: str, bad: str) -> None:
    with pytest.raises(InvalidVersion) as info:
        compare_versions(ecosystem, bad, "1.0.0")
    assert isinstance(info.value, InputError)
    assert "\n" not in str(info.value)


def test_unknown_ecosystem_raises() -> None:
    with pytest.raises(UnsupportedEcosystem):
        compare_versions("Hackage", "1.0", "2.0")


def test_go_stdlib_prerelease_before_release() -> None:
    assert compare_versions("Go", "go1.22rc1", "go1.22") == -1
    assert compare_versions("Go", "go1.21.9", "go1.22rc1") == -1
    with pytest.raises(InvalidVersion):
        compare_versions("npm", "go1.21", "1.0.0")  # only Go knows the go prefix


def test_go_pseudo_versions_order() -> None:
    older = "v0.0.0-20230101000000-aaaaaaaaaaaa"
    newer = "v0.0.0-20240101000000-bbbbbbbbbbbb"
    assert compare_versions("Go", older, newer) == -1
    assert compare_versions("Go", newer, "v0.0.1") == -1


# Orderings must at least be total orders: antisymmetric and transitive on valid versions
# (apk has no reference implementation installed; dpkg is also checked against dpkg).
# Maven's published order is not transitive ("1" < "1.sp" < "1.0.alpha" < "1", by its
# padding rules), so it is checked by the example table above instead.
_ORDER_STRATEGIES = {
    "Alpine": st.builds(
        lambda nums, letter, suffix, rev: ".".join(nums) + letter + suffix + rev,
        st.lists(st.sampled_from(["0", "1", "2", "01", "10"]), min_size=1, max_size=3),
        st.sampled_from(["", "a", "b"]),
        st.sampled_from(["", "_alpha", "_beta2", "_rc1", "_p1", "_git2023", "_pre"]),
        st.sampled_from(["", "-r0", "-r1", "-r10"]),
    ),
    "Debian": st.builds(
        lambda e, u, r: e + u + r,
        st.sampled_from(["", "1:", "2:"]),
        st.text("0123456789.+~ab", min_size=0, max_size=5).map(lambda t: "1" + t),
        st.sampled_from(["", "-1", "-1~deb12u1", "-2+b1", "-0"]),
    ),
}  # fmt: skip


@pytest.mark.parametrize("ecosystem", sorted(_ORDER_STRATEGIES))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_orderings_are_total_orders(ecosystem: str, data: st.DataObject) -> None:
    strat = _ORDER_STRATEGIES[ecosystem]
    a, b, c = data.draw(strat), data.draw(strat), data.draw(strat)
    ab, ba = compare_versions(ecosystem, a, b), compare_versions(ecosystem, b, a)
    assert ab == -ba
    assert compare_versions(ecosystem, a, a) == 0
    bc, ac = compare_versions(ecosystem, b, c), compare_versions(ecosystem, a, c)
    if ab <= 0 and bc <= 0:
        assert ac <= 0, (a, b, c)
    if ab == 0 and bc == 0:
        assert ac == 0, (a, b, c)
