"""Hypothesis strategies for E2AP values, built from our compiled type tree.

Values follow the full-value convention of :mod:`xtrust.ric.asn1.e2ap`
(asn1tools values with open types as (type_name, value) pairs). Lists are kept
short so that a few hundred examples stay fast.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from xtrust.ric.asn1 import _spec, e2ap

MAX_LIST = 3

# Members whose type is a container list, inside IE value types.
_MEMBER_LISTS = {
    "ricAction-ToBeSetup-List": "RICactions-ToBeSetup-List",
    "ricAction-Admitted-List": "RICaction-Admitted-List",
}

_PRINTABLE = string.ascii_letters + string.digits + " '()+,-./:=?"


def _bits(n: int) -> st.SearchStrategy[tuple[bytes, int]]:
    nbytes = (n + 7) // 8

    def build(x: int) -> tuple[bytes, int]:
        return ((x << (nbytes * 8 - n)).to_bytes(nbytes, "big") if n else b"", n)

    return st.integers(0, (1 << n) - 1 if n else 0).map(build)


def _size(t: Any) -> st.SearchStrategy[int]:
    lo = t.minimum if isinstance(t.minimum, int) else 0
    hi = t.maximum if isinstance(t.maximum, int) else lo + 8
    return st.integers(lo, min(hi, lo + 8))


def for_type(t: Any, member: str | None = None) -> st.SearchStrategy[Any]:
    while type(t).__name__ == "Recursive":
        t = t._inner
    cls = type(t).__name__
    if member in _MEMBER_LISTS:
        return for_list(_MEMBER_LISTS[member], t)
    if cls == "Integer":
        lo = t.minimum if t.minimum is not None else -(2**31)
        hi = t.maximum if t.maximum is not None else 2**31 - 1
        return st.integers(lo, hi)
    if cls == "Enumerated":
        values = list(t.root_index_to_data.values())
        if t.additions_index_to_data:
            values += list(t.additions_index_to_data.values())
        return st.sampled_from(values)
    if cls == "BitString":
        return _size(t).flatmap(_bits)
    if cls == "OctetString":
        return _size(t).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    if cls == "PrintableString":
        return _size(t).flatmap(
            lambda n: st.text(alphabet=_PRINTABLE, min_size=max(n, 1), max_size=max(n, 1))
        )
    if cls == "Null":
        return st.none()
    if cls == "Boolean":
        return st.booleans()
    if cls == "Choice":
        members = list(t.root_index_to_member.values())
        if t.additions_index_to_member:
            members += list(t.additions_index_to_member.values())
        return st.one_of(
            [for_type(m, m.name).map(lambda v, name=m.name: (name, v)) for m in members]
        )
    if cls == "Sequence":
        members = list(t.root_members) + [m for m in (t.additions or [])]
        required = {m.name: for_type(m, m.name) for m in members if not m.optional}
        optional = {m.name: for_type(m, m.name) for m in members if m.optional}
        return st.fixed_dictionaries(required, optional=optional)
    if cls == "SequenceOf":
        lo = t.minimum or 0
        return st.lists(for_type(t.element_type), min_size=lo, max_size=max(lo, MAX_LIST))
    raise NotImplementedError(cls)


def for_named(type_name: str) -> st.SearchStrategy[Any]:
    if type_name in e2ap.LIST_ITEMS:
        return for_list(type_name, _spec.load("e2ap").types[type_name].type)
    return for_type(_spec.load("e2ap").types[type_name].type)


def for_list(list_type: str, t: Any) -> st.SearchStrategy[Any]:
    item_id = e2ap.LIST_ITEMS[list_type]
    item_type, crit = e2ap.ITEM_IES[item_id]
    field = for_named(item_type).map(
        lambda v: {
            "id": item_id,
            "criticality": e2ap.CRITICALITY[crit],
            "value": (item_type, v),
        }
    )
    lo = max(t.minimum or 0, 0)
    return st.lists(field, min_size=lo, max_size=max(lo, MAX_LIST))


def for_message(message: str) -> st.SearchStrategy[Any]:
    """A value of a message type: mandatory IEs, optional ones at random, in table order."""
    parts = []
    for ie_id, type_name, crit, presence in e2ap.MESSAGE_IES[message]:
        field = for_named(type_name).map(
            lambda v, i=ie_id, t=type_name, c=crit: {
                "id": i,
                "criticality": e2ap.CRITICALITY[c],
                "value": (t, v),
            }
        )
        parts.append(field if presence == "M" else st.one_of(st.none(), field))
    return st.tuples(*parts).map(lambda fs: {"protocolIEs": [f for f in fs if f is not None]})


def for_pdu(message: str) -> st.SearchStrategy[Any]:
    code, kind = e2ap.MESSAGE_KIND[message]
    crit = e2ap.PROCEDURES[code].criticality
    return for_message(message).map(
        lambda body: (kind, {"procedureCode": code, "criticality": crit, "value": (message, body)})
    )
