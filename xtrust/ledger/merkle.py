"""RFC 6962 (Certificate Transparency) Merkle trees over certification reports.

* leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``;
* the tree over ``n`` leaves splits at ``k``, the largest power of two below ``n``
  (RFC 6962 section 2.1), so trees of any size have one shape;
* an inclusion proof is the audit path of RFC 6962 section 2.1.1 and is verified
  offline with the algorithm of RFC 9162 section 2.1.3.2.

A proof file (JSON, ``xtrust ledger anchor`` writes one per report) carries the
leaf index, tree size, audit path, root and the report's leaf data digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xtrust.errors import InputError

__all__ = [
    "InclusionProof",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 over the raw leaf data."""
    if not leaves:
        return EMPTY_ROOT
    return _root([leaf_hash(x) for x in leaves])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    path: tuple[bytes, ...]
    root: bytes
    leaf: bytes  # the leaf hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": "rfc6962-sha256",
            "index": self.index,
            "treeSize": self.tree_size,
            "leafHash": self.leaf.hex(),
            "path": [p.hex() for p in self.path],
            "root": self.root.hex(),
        }

    @classmethod
    def from_dict(cls, doc: Any) -> InclusionProof:
        try:
            if doc["algorithm"] != "rfc6962-sha256":
                raise InputError(f"unsupported proof algorithm {doc['algorithm']!r}")
            return cls(
                index=int(doc["index"]),
                tree_size=int(doc["treeSize"]),
                path=tuple(bytes.fromhex(p) for p in doc["path"]),
                root=bytes.fromhex(doc["root"]),
                leaf=bytes.fromhex(doc["leafHash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not an inclusion proof: {exc}") from None


def inclusion_proof(leaves: Sequence[bytes], index: int) -> InclusionProof:
    """The audit path PATH(m, D[n]) for leaf ``index``."""
    if not 0 <= index < len(leaves):
        raise InputError(f"leaf index {index} outside a tree of {len(leaves)} leaves")
    hashes = [leaf_hash(x) for x in leaves]
    return InclusionProof(
        index=index,
        tree_size=len(leaves),
        path=tuple(_path(index, hashes)),
        root=_root(hashes),
        leaf=hashes[index],
    )


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Check an audit path against ``root`` (RFC 9162 2.1.3.2); ``leaf`` is the leaf hash."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
