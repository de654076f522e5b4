"""RFC 6962 Merkle trees: reference roots, every proof of many tree sizes, tampering."""

from __future__ import annotations

import hashlib

import pytest

from xtrust.ledger.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_inclusion,
)

# The leaves and roots of the certificate-transparency reference test (RFC 6962 trees).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    assert merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_empty_tree_and_prefixes() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    # a node is never confused with a leaf (second-preimage resistance of the prefixes)
    two = merkle_root([b"a", b"b"])
    assert two == hashlib.sha256(b"\x01" + leaf_hash(b"a") + leaf_hash(b"b")).digest()
    assert merkle_root([leaf_hash(b"a") + leaf_hash(b"b")]) != two


def test_shape_for_non_power_of_two() -> None:
    # RFC 6962: MTH(D[3]) = H(1 || MTH(D[0:2]) || MTH(D[2:3]))
    leaves = [b"a", b"b", b"c"]
    left = hashlib.sha256(b"\x01" + leaf_hash(b"a") + leaf_hash(b"b")).digest()
    expect = hashlib.sha256(b"\x01" + left + leaf_hash(b"c")).digest()
    assert merkle_root(leaves) == expect


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 33, 100])
def test_every_proof_verifies_and_tampering_fails(size: int) -> None:
    leaves = [f"report-{i}".encode() for i in range(size)]
    root = merkle_root(leaves)
    for i in range(size):
        p = inclusion_proof(leaves, i)
        assert p.root == root
        assert verify_inclusion(p.leaf, i, size, p.path, root)
        assert InclusionProof.from_dict(p.to_dict()) == p
        assert not verify_inclusion(leaf_hash(b"forged"), i, size, p.path, root)
        if size > 1:
            assert not verify_inclusion(p.leaf, (i + 1) % size, size, p.path, root)
            bad = (bytes(32), *p.path[1:])
            assert not verify_inclusion(p.leaf, i, size, bad, root)
            assert not verify_inclusion(p.leaf, i, size, p.path[:-1], root)
            assert not verify_inclusion(p.leaf, i, size, (*p.path, bytes(32)), root)


def test_ct_reference_path() -> None:
    # certificate-transparency reference: leaf 0 of 8 has this audit path
    p = inclusion_proof(CT_LEAVES, 0)
    assert [h.hex() for h in p.path] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
