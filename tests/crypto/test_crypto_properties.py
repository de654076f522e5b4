"""Property tests (hypothesis) of PAE, hybrid signatures and tree digests."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xtrust.crypto import HybridSigningKey, SignatureError, pae, tree_digest  # noqa: E402

KEY = HybridSigningKey.generate()

types = st.text(alphabet="ab 1/", max_size=6)
bodies = st.text(alphabet="01 9", max_size=8).map(str.encode)


@given(types, bodies, types, bodies)
@settings(max_examples=500, deadline=None)
def test_pae_is_injective(t1: str, b1: bytes, t2: str, b2: bytes) -> None:
    # Digits and spaces in type and body are the hard case for a length-prefixed encoding.
    assert (pae(t1, b1) == pae(t2, b2)) == ((t1, b1) == (t2, b2))


@given(st.binary(max_size=200), st.data())
@settings(max_examples=25, deadline=None)
def test_any_change_to_message_or_signature_fails(message: bytes, data: st.DataObject) -> None:
    sig = KEY.sign(message)
    pub = KEY.public_key()
    pub.verify(message, sig)
    if message:
        i = data.draw(st.integers(0, len(message) - 1))
        bit = data.draw(st.integers(0, 7))
        changed = bytearray(message)
        changed[i] ^= 1 << bit
        with pytest.raises(SignatureError):
            pub.verify(bytes(changed), sig)
    j = data.draw(st.integers(0, len(sig) - 1))
    bad = bytearray(sig)
    bad[j] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(SignatureError):
        pub.verify(message, bytes(bad))


names = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["a", "b", "a-b", "a.b", "A", "é"]), min_size=1, max_size=3),
        st.binary(max_size=16),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda t: tuple(t[0]),
)


def _build(root: Path, entries: list[tuple[list[str], bytes, bool]], seed: int) -> bool:
    order = list(entries)
    random.Random(seed).shuffle(order)
    for parts, content, exe in order:
        p = root.joinpath(*parts)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            return False  # a name is both a file and a directory: not a valid tree
        p.chmod(0o755 if exe else 0o644)
    return True


@given(names, st.integers(0, 2**32))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tree_digest_independent_of_creation_order(
    entries: list[tuple[list[str], bytes, bool]], seed: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp, "one"), Path(tmp, "two")
        one.mkdir()
        two.mkdir()
        if not (_build(one, entries, seed) and _build(two, entries, seed + 1)):
            return
        digest = tree_digest(one)
        assert digest == tree_digest(two)
        # flipping one file's exec bit changes it
        parts, _content, exe = entries[0]
        os.chmod(two.joinpath(*parts), 0o644 if exe else 0o755)
        assert tree_digest(two) != digest
