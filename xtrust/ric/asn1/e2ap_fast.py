"""Hand-written aligned-PER fast paths for the hot E2AP traffic.

* :func:`peek` reads the fields a router needs (PDU kind, procedure code,
  RIC request id, RAN function id, transaction id) of *any* E2AP PDU without
  decoding the IE values it does not need;
* :func:`decode_indication` / :func:`encode_indication` handle the RIC
  Indication, which an E2 node sends every reporting period.

Both follow X.691 (aligned variant) for exactly the types involved and give
the same results as the generic codec (``e2ap.decode_pdu`` / ``encode_pdu``);
the test suite proves it on generated inputs. Whatever they do not handle
(extension bits set, fragmented lengths above 16K, unknown IEs) makes them
return ``None`` (``peek``, ``decode_indication``) so that the caller falls
back to the generic codec, which either decodes it or raises DecodeError.
"""

from __future__ import annotations

from dataclasses import dataclass

from xtrust.errors import DecodeError
from xtrust.ric.asn1.e2ap_messages import RicIndication, RicRequestId

__all__ = ["PduSummary", "decode_indication", "encode_indication", "peek"]

_KINDS = {0x00: "initiatingMessage", 0x20: "successfulOutcome", 0x40: "unsuccessfulOutcome"}
_CRITS = ("reject", "ignore", "notify")


@dataclass(frozen=True, slots=True)
class PduSummary:
    """The routing fields of an E2AP PDU (None where the message has no such IE)."""

    kind: str
    procedure_code: int
    criticality: str
    request_id: RicRequestId | None
    ran_function_id: int | None
    transaction_id: int | None


class _Fallback(Exception):
    """The fast path does not handle this encoding; use the generic codec."""


def _length(data: bytes, pos: int) -> tuple[int, int]:
    """An unconstrained length determinant at ``pos`` -> (length, new pos)."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    if b < 0xC0:
        return ((b & 0x3F) << 8) | data[pos + 1], pos + 2
    raise _Fallback  # fragmented (>= 16K)


def _fields(data: bytes) -> tuple[str, int, str, list[tuple[int, int, int]]]:
    """Split a PDU into (kind, code, criticality, [(ie id, value start, value end)])."""
    if len(data) < 4:
        raise _Fallback
    kind = _KINDS.get(data[0])
    if kind is None:
        raise _Fallback
    code = data[1]
    crit_index = data[2] >> 6
    if crit_index > 2 or data[2] & 0x3F:
        raise _Fallback
    length, pos = _length(data, 3)
    end = pos + length
    if end != len(data) or length < 3:
        raise _Fallback
    if data[pos] != 0:  # extension bit of the message SEQUENCE
        raise _Fallback
    count = (data[pos + 1] << 8) | data[pos + 2]
    pos += 3
    fields = []
    for _ in range(count):
        if pos + 3 > end:
            raise _Fallback
        ie_id = (data[pos] << 8) | data[pos + 1]
        if data[pos + 2] & 0x3F or data[pos + 2] >> 6 > 2:
            raise _Fallback
        vlen, pos = _length(data, pos + 3)
        if pos + vlen > end:
            raise _Fallback
        fields.append((ie_id, pos, pos + vlen))
        pos += vlen
    if pos != end:
        raise _Fallback
    return kind, code, _CRITS[crit_index], fields


def _request_id(data: bytes, start: int, end: int) -> RicRequestId:
    if end - start != 5 or data[start] != 0:
        raise _Fallback
    return RicRequestId(
        (data[start + 1] << 8) | data[start + 2], (data[start + 3] << 8) | data[start + 4]
    )


def _uint16(data: bytes, start: int, end: int, maximum: int = 0xFFFF) -> int:
    if end - start != 2:
        raise _Fallback
    v = (data[start] << 8) | data[start + 1]
    if v > maximum:
        raise _Fallback
    return v


def peek(data: bytes) -> PduSummary | None:
    """The routing fields of an E2AP PDU, or None if the fast path cannot tell."""
    try:
        kind, code, crit, fields = _fields(data)
        request_id = ran_function_id = transaction_id = None
        for ie_id, start, end in fields:
            if ie_id == 29:
                request_id = _request_id(data, start, end)
            elif ie_id == 5:
                ran_function_id = _uint16(data, start, end, 4095)
            elif ie_id == 49:
                if end - start != 2 or data[start] != 0:
                    raise _Fallback
                transaction_id = data[start + 1]
        return PduSummary(kind, code, crit, request_id, ran_function_id, transaction_id)
    except (_Fallback, IndexError):
        return None


def _octets(data: bytes, start: int, end: int) -> bytes:
    n, pos = _length(data, start)
    if pos + n != end:
        raise _Fallback
    return data[pos:end]


def decode_indication(data: bytes) -> RicIndication | None:
    """Decode a RIC Indication PDU; None if it is not one or needs the generic codec."""
    try:
        kind, code, crit, fields = _fields(data)
        if code != 5 or kind != "initiatingMessage" or crit != "ignore":
            return None
        req = ran = action = header = message = None
        sn = cpid = None
        itype: str | None = None  # mandatory (RICindicationType): no default
        seen: set[int] = set()
        for ie_id, start, end in fields:
            if ie_id in seen:
                raise _Fallback  # a repeated IE: the generic codec decides
            seen.add(ie_id)
            if ie_id == 29:
                req = _request_id(data, start, end)
            elif ie_id == 5:
                ran = _uint16(data, start, end, 4095)
            elif ie_id == 15:
                if end - start != 1:
                    raise _Fallback
                action = data[start]
            elif ie_id == 27:
                sn = _uint16(data, start, end)
            elif ie_id == 28:
                if end - start != 1 or data[start] not in (0x00, 0x40):
                    raise _Fallback
                itype = "report" if data[start] == 0 else "insert"
            elif ie_id == 25:
                header = _octets(data, start, end)
            elif ie_id == 26:
                message = _octets(data, start, end)
            elif ie_id == 20:
                cpid = _octets(data, start, end)
            else:
                raise _Fallback
        if (req is None or ran is None or action is None or header is None or message is None
                or itype is None):  # fmt: skip
            raise _Fallback  # missing IE: let the generic path report it
        return RicIndication(req, ran, action, header, message, itype, sn, cpid)
    except (_Fallback, IndexError):
        return None


def _len_prefix(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return bytes((0x80 | (n >> 8), n & 0xFF))
    raise _Fallback


def encode_indication(ind: RicIndication) -> bytes:
    """Encode a RIC Indication PDU (byte-identical to the generic codec)."""
    try:
        return _encode_indication(ind)
    except (_Fallback, ValueError, OverflowError, TypeError):
        return ind.encode()  # out-of-range values get the generic codec's clear error


def _ie(ie_id: int, value: bytes) -> bytes:
    return ie_id.to_bytes(2, "big") + b"\x00" + _len_prefix(len(value)) + value


def _encode_indication(ind: RicIndication) -> bytes:
    req = ind.request_id
    if not (0 <= ind.ran_function_id <= 4095 and 0 <= ind.action_id <= 255):
        raise _Fallback
    parts = [
        _ie(29, b"\x00" + req.requestor_id.to_bytes(2, "big") + req.instance_id.to_bytes(2, "big")),
        _ie(5, ind.ran_function_id.to_bytes(2, "big")),
        _ie(15, bytes((ind.action_id,))),
    ]
    if ind.sn is not None:
        parts.append(_ie(27, ind.sn.to_bytes(2, "big")))
    if ind.indication_type not in ("report", "insert"):
        raise _Fallback
    parts.append(_ie(28, b"\x00" if ind.indication_type == "report" else b"\x40"))
    parts.append(_ie(25, _len_prefix(len(ind.header)) + bytes(ind.header)))
    parts.append(_ie(26, _len_prefix(len(ind.message)) + bytes(ind.message)))
    if ind.call_process_id is not None:
        parts.append(_ie(20, _len_prefix(len(ind.call_process_id)) + bytes(ind.call_process_id)))
    body = b"\x00" + len(parts).to_bytes(2, "big") + b"".join(parts)
    return b"\x00\x05\x40" + _len_prefix(len(body)) + body


def require_indication(data: bytes) -> RicIndication:
    """Decode a RIC Indication by the fast path, falling back to the generic codec."""
    fast = decode_indication(data)
    if fast is not None:
        return fast
    from xtrust.ric.asn1.e2ap_messages import parse

    msg = parse(data)
    if not isinstance(msg, RicIndication):
        raise DecodeError(f"expected a RIC Indication, got {type(msg).__name__}")
    return msg
