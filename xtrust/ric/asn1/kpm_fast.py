"""Hand-written aligned-PER codec for the hot E2SM-KPM v3 messages.

A RIC Indication arrives every reporting period from every E2 node, and its
two E2SM-KPM payloads, ``E2SM-KPM-IndicationHeader`` (format 1) and
``E2SM-KPM-IndicationMessage`` (formats 1 and 3), dominate the decoding work
of a KPM xApp. asn1tools' generic PER codec spends most of its time in
per-bit bookkeeping; the functions here read and write the same bits directly.

Contract (checked by the hypothesis tests in ``tests/ric/asn1/test_kpm_fast.py``):

* Values use the asn1tools conventions (SEQUENCE -> dict, CHOICE -> (name,
  value), BIT STRING -> (bytes, number_of_bits), ENUMERATED -> str, NULL ->
  None, REAL -> float), exactly as :func:`xtrust.ric.asn1._spec.decode`
  returns them.
* ``try_encode_*`` returns exactly the bytes of the generic codec, or raises
  :class:`NotHandled` for a value it does not handle (extension additions,
  extension alternatives other than indication message format 3, the LTE and
  ng-eNB UE ID alternatives, integers outside their extension root, strings
  longer than their root size, values of an unexpected Python type...).
* ``try_decode_*`` returns exactly the value of the generic codec, raises
  :class:`~xtrust.errors.DecodeError` where the generic codec fails too
  (truncated data, a constraint violated, a character outside
  PrintableString), or raises :class:`NotHandled` for an encoding it does not
  handle (an extension bit set, a fragmented length, a rare alternative).
  Like the generic codec it ignores bytes after the message.
* ``encode_*`` / ``decode_*`` try the fast path and fall back to the generic
  codec on :class:`NotHandled` (or any unforeseen exception); they raise
  ``EncodeError`` / ``DecodeError`` and nothing else.

A length field is checked against the bits left before anything is
allocated for the items it announces, so a count of 65535 in a 20-byte
message fails at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from asn1tools.codecs.ber import decode_real as _ber_decode_real
from asn1tools.codecs.ber import encode_real as _ber_encode_real

from xtrust.errors import DecodeError
from xtrust.ric.asn1 import _spec

__all__ = [
    "NotHandled",
    "decode_header",
    "decode_message",
    "encode_header",
    "encode_message",
    "try_decode_header",
    "try_decode_message",
    "try_encode_header",
    "try_encode_message",
]

SPEC: Final = "e2sm-kpm"
HEADER_TYPE: Final = "E2SM-KPM-IndicationHeader"
MESSAGE_TYPE: Final = "E2SM-KPM-IndicationMessage"


class NotHandled(Exception):
    """The fast path does not handle this value or encoding: use the generic codec."""


# ---------------------------------------------------------------------------
# Bit-level reader and writer (X.691 aligned variant)
# ---------------------------------------------------------------------------

_U32: Final = 0xFFFFFFFF
# PrintableString (X.680 41.4): A-Z a-z 0-9 space ' ( ) + , - . / : = ?
_PRINTABLE: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
_PRINTABLE_SET: Final = frozenset(_PRINTABLE.decode("ascii"))


class _Writer:
    """Accumulates bits MSB first; ``acc`` holds the ``nacc`` (< 8) pending bits."""

    __slots__ = ("acc", "buf", "nacc")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.acc = 0
        self.nacc = 0

    def bits(self, value: int, n: int) -> None:
        acc = (self.acc << n) | value
        nacc = self.nacc + n
        if nacc >= 8:
            rem = nacc & 7
            self.buf += (acc >> rem).to_bytes(nacc >> 3, "big")
            acc &= (1 << rem) - 1
            nacc = rem
        self.acc = acc
        self.nacc = nacc

    def align(self) -> None:
        if self.nacc:
            self.buf.append((self.acc << (8 - self.nacc)) & 0xFF)
            self.acc = 0
            self.nacc = 0

    def octets(self, data: bytes) -> None:
        """Append octet-aligned bytes."""
        if self.nacc:
            self.align()
        self.buf += data

    def result(self) -> bytes:
        self.align()
        return bytes(self.buf)


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise DecodeError(f"expected bytes, got {type(data).__name__}")


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0  # in bits
        self.end = len(data) * 8

    def bits(self, n: int) -> int:
        pos = self.pos
        end = pos + n
        if end > self.end:
            raise DecodeError(f"out of data at bit {pos} (needed {n} more bits)")
        self.pos = end
        last = (end + 7) >> 3
        value = int.from_bytes(self.data[pos >> 3 : last], "big")
        return (value >> ((last << 3) - end)) & ((1 << n) - 1)

    def bit(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError(f"out of data at bit {pos}")
        self.pos = pos + 1
        return (self.data[pos >> 3] >> (7 - (pos & 7))) & 1

    def align(self) -> None:
        self.pos = (self.pos + 7) & ~7

    def octets(self, n: int) -> bytes:
        """Align, then read ``n`` whole octets."""
        start = ((self.pos + 7) & ~7) >> 3
        stop = start + n
        if stop << 3 > self.end:
            raise DecodeError(f"out of data at octet {start} (needed {n} octets)")
        self.pos = stop << 3
        return self.data[start:stop]

    def remaining(self) -> int:
        return self.end - self.pos

    def length(self) -> int:
        """An unconstrained length determinant (X.691 11.9.3.6/7), not fragmented."""
        first = self.octets(1)[0]
        if first < 0x80:
            return first
        if first < 0xC0:
            return ((first & 0x3F) << 8) | self.octets(1)[0]
        raise NotHandled("fragmented length determinant")

    def count(self, minimum_item_bits: int) -> int:
        """The item count of a SEQUENCE OF without a bound below 64K, checked
        against the bits left (each item takes at least ``minimum_item_bits``)."""
        n = self.length()
        if n * minimum_item_bits > self.end - self.pos:
            raise DecodeError(
                f"a list of {n} items cannot fit in the {self.end - self.pos} bits left"
            )
        return n


def _check_count(r: _Reader, n: int, minimum_item_bits: int) -> None:
    if n * minimum_item_bits > r.end - r.pos:
        raise DecodeError(f"a list of {n} items cannot fit in the {r.end - r.pos} bits left")


# ---------------------------------------------------------------------------
# Primitive helpers
# ---------------------------------------------------------------------------


def _put_u32(w: _Writer, value: Any, minimum: int) -> None:
    """INTEGER (minimum..minimum+2^32-1 or less): 2-bit octet count, aligned octets."""
    if type(value) is not int:
        raise NotHandled("not an int")
    v = value - minimum
    if v < 0 or value > _U32:
        raise NotHandled("integer out of range")
    n = (v.bit_length() + 7) >> 3 or 1
    w.bits(n - 1, 2)
    w.octets(v.to_bytes(n, "big"))


def _get_u32(r: _Reader, minimum: int) -> int:
    n = r.bits(2) + 1
    value = int.from_bytes(r.octets(n), "big") + minimum
    if value > _U32:
        raise DecodeError(f"integer {value} above 4294967295")
    return value


def _put_u40(w: _Writer, value: Any) -> None:
    """AMF-UE-NGAP-ID INTEGER (0..1099511627775): 3-bit octet count, aligned octets."""
    if type(value) is not int or not 0 <= value <= 0xFFFFFFFFFF:
        raise NotHandled("AMF UE NGAP ID out of range")
    n = (value.bit_length() + 7) >> 3 or 1
    w.bits(n - 1, 3)
    w.octets(value.to_bytes(n, "big"))


def _get_u40(r: _Reader) -> int:
    n = r.bits(3) + 1
    value = int.from_bytes(r.octets(n), "big")
    if value > 0xFFFFFFFFFF:
        raise DecodeError(f"AMF-UE-NGAP-ID {value} above 1099511627775")
    return value


def _put_fixed_octets(w: _Writer, value: Any, size: int) -> None:
    if type(value) is not bytes or len(value) != size:
        raise NotHandled("octet string of the wrong type or size")
    if size > 2:
        w.octets(value)
    else:
        w.bits(int.from_bytes(value, "big"), 8 * size)


def _put_printable(w: _Writer, value: Any, lower: int, upper: int, length_bits: int) -> None:
    """PrintableString (SIZE (lower..upper, ...)) in its extension root."""
    if type(value) is not str:
        raise NotHandled("not a str")
    n = len(value)
    if not lower <= n <= upper:
        raise NotHandled("string size outside the extension root")
    if not _PRINTABLE_SET.issuperset(value):
        raise NotHandled("character outside PrintableString")
    w.bits(0, 1)  # inside the extension root
    if length_bits == 16:
        w.align()
    w.bits(n - lower, length_bits)
    if n:
        w.octets(value.encode("ascii"))


def _get_printable(r: _Reader, lower: int, length_bits: int) -> str:
    if r.bit():
        raise NotHandled("string size extension")
    if length_bits == 16:
        r.align()
    n = r.bits(length_bits) + lower
    if not n:
        return ""
    raw = r.octets(n)
    if raw.translate(None, _PRINTABLE):
        raise DecodeError("character outside PrintableString")
    return raw.decode("ascii")


def _get_bitstring(r: _Reader, n: int) -> tuple[bytes, int]:
    pad = (-n) & 7
    return ((r.bits(n) << pad).to_bytes((n + pad) >> 3, "big"), n)


def _put_bitstring(w: _Writer, value: Any, n: int) -> None:
    if type(value) is not tuple or len(value) != 2:
        raise NotHandled("not a (bytes, length) tuple")
    data, length = value
    if type(data) is not bytes or length != n or len(data) * 8 < n:
        raise NotHandled("bit string of the wrong type or size")
    w.bits(int.from_bytes(data, "big") >> (len(data) * 8 - n), n)


def _choice(value: Any) -> tuple[Any, Any]:
    if type(value) is not tuple or len(value) != 2:
        raise NotHandled("a CHOICE value must be a (name, value) tuple")
    return value[0], value[1]


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise NotHandled("a SEQUENCE value must be a mapping")
    return value


def _items(value: Any) -> Sequence[Any]:
    if type(value) is not list and type(value) is not tuple and type(value) is not FrozenInfoList:
        raise NotHandled("a SEQUENCE OF value must be a list")
    return value


# ---------------------------------------------------------------------------
# MeasurementLabel (21 optional root fields)
# ---------------------------------------------------------------------------

# Field kinds: "enum1" ENUMERATED {true, ...}; "plmn" PLMNIdentity; "snssai"
# S-NSSAI; "u8x" INTEGER (0..255, ...); "u6x" INTEGER (0..63, ...); "u8"
# INTEGER (0..255); "r15x" INTEGER (1..15, ...); "r65535x" INTEGER (1..65535, ...);
# "startend" ENUMERATED {start, end, ...}.
_LABEL_FIELDS: Final = (
    ("noLabel", "enum1"),
    ("plmnID", "plmn"),
    ("sliceID", "snssai"),
    ("fiveQI", "u8x"),
    ("qFI", "u6x"),
    ("qCI", "u8"),
    ("qCImax", "u8"),
    ("qCImin", "u8"),
    ("aRPmax", "r15x"),
    ("aRPmin", "r15x"),
    ("bitrateRange", "r65535x"),
    ("layerMU-MIMO", "r65535x"),
    ("sUM", "enum1"),
    ("distBinX", "r65535x"),
    ("distBinY", "r65535x"),
    ("distBinZ", "r65535x"),
    ("preLabelOverride", "enum1"),
    ("startEndInd", "startend"),
    ("min", "enum1"),
    ("max", "enum1"),
    ("avg", "enum1"),
)
_LABEL_ADDITIONS: Final = frozenset(("ssbIndex", "nonGoB-BFmode-Index", "mIMO-mode-Index"))
_NO_LABEL_ONLY: Final = 1 << 20  # presence bits with only noLabel set


def _put_label(w: _Writer, label: Any) -> None:
    label = _mapping(label)
    if len(label) == 1 and label.get("noLabel") == "true":
        # The common case: SEQUENCE ext 0, presence 1 + 20 x 0, ENUMERATED ext 0.
        w.bits(1 << 21, 23)
        return
    if not _LABEL_ADDITIONS.isdisjoint(label):
        raise NotHandled("MeasurementLabel extension additions")
    presence = 0
    for name, _ in _LABEL_FIELDS:
        presence = (presence << 1) | (name in label)
    w.bits(presence, 22)  # extension bit 0 + 21 presence bits
    for name, kind in _LABEL_FIELDS:
        if name not in label:
            continue
        value = label[name]
        if kind == "enum1":
            if value != "true":
                raise NotHandled("ENUMERATED value outside the root")
            w.bits(0, 1)
        elif kind == "plmn":
            _put_fixed_octets(w, value, 3)
        elif kind == "snssai":
            _put_snssai(w, value)
        elif kind == "startend":
            if value == "start":
                w.bits(0b00, 2)
            elif value == "end":
                w.bits(0b01, 2)
            else:
                raise NotHandled("ENUMERATED value outside the root")
        else:
            if type(value) is not int:
                raise NotHandled("not an int")
            if kind == "u8":
                if not 0 <= value <= 255:
                    raise NotHandled("QCI out of range")
                w.align()
                w.bits(value, 8)
            elif kind == "u8x":
                if not 0 <= value <= 255:
                    raise NotHandled("value outside the extension root")
                w.bits(0, 1)
                w.align()
                w.bits(value, 8)
            elif kind == "u6x":
                if not 0 <= value <= 63:
                    raise NotHandled("value outside the extension root")
                w.bits(value, 7)  # extension bit 0 + 6 bits
            elif kind == "r15x":
                if not 1 <= value <= 15:
                    raise NotHandled("value outside the extension root")
                w.bits(value - 1, 5)  # extension bit 0 + 4 bits
            else:  # r65535x
                if not 1 <= value <= 65535:
                    raise NotHandled("value outside the extension root")
                w.bits(0, 1)
                w.align()
                w.bits(value - 1, 16)


def _put_snssai(w: _Writer, value: Any) -> None:
    value = _mapping(value)
    has_sd = "sD" in value
    w.bits(has_sd, 2)  # extension bit 0 + presence of sD
    _put_fixed_octets(w, value.get("sST"), 1)
    if has_sd:
        _put_fixed_octets(w, value["sD"], 3)


def _get_label(r: _Reader) -> dict[str, Any]:
    head = r.bits(22)
    if head >> 21:
        raise NotHandled("MeasurementLabel extension additions")
    if head == _NO_LABEL_ONLY:
        if r.bit():
            raise NotHandled("ENUMERATED extension value")
        return {"noLabel": "true"}
    label: dict[str, Any] = {}
    bit = 1 << 20
    for name, kind in _LABEL_FIELDS:
        present = head & bit
        bit >>= 1
        if not present:
            continue
        if kind == "enum1":
            if r.bit():
                raise NotHandled("ENUMERATED extension value")
            label[name] = "true"
        elif kind == "plmn":
            label[name] = r.octets(3)
        elif kind == "snssai":
            flags = r.bits(2)
            if flags >> 1:
                raise NotHandled("S-NSSAI extension additions")
            sst = r.bits(8).to_bytes(1, "big")
            label[name] = {"sST": sst, "sD": r.octets(3)} if flags & 1 else {"sST": sst}
        elif kind == "startend":
            if r.bit():
                raise NotHandled("ENUMERATED extension value")
            label[name] = "end" if r.bit() else "start"
        elif kind == "u8":
            r.align()
            label[name] = r.bits(8)
        elif kind == "u8x":
            if r.bit():
                raise NotHandled("INTEGER outside the extension root")
            r.align()
            label[name] = r.bits(8)
        elif kind == "u6x":
            if r.bit():
                raise NotHandled("INTEGER outside the extension root")
            label[name] = r.bits(6)
        elif kind == "r15x":
            if r.bit():
                raise NotHandled("INTEGER outside the extension root")
            label[name] = r.bits(4) + 1
        else:  # r65535x
            if r.bit():
                raise NotHandled("INTEGER outside the extension root")
            r.align()
            label[name] = r.bits(16) + 1
    return label


# ---------------------------------------------------------------------------
# E2SM-KPM-IndicationMessage-Format1
# ---------------------------------------------------------------------------


def _put_format1(w: _Writer, value: Any) -> None:
    value = _mapping(value)
    data = _items(value.get("measData"))
    has_info = "measInfoList" in value
    has_period = "granulPeriod" in value
    w.bits((has_info << 1) | has_period, 3)  # extension bit 0 + 2 presence bits
    n = len(data)
    if not 1 <= n <= 65535:
        raise NotHandled("measData size")
    w.align()
    w.bits(n - 1, 16)
    for item in data:
        _put_data_item(w, item)
    if has_info:
        w.align()
        _put_info_list(w, value["measInfoList"])
    if has_period:
        _put_u32(w, value["granulPeriod"], 1)


class FrozenInfoList(list[Any]):
    """A measInfoList value that its maker promises never to change: the typed
    API (:mod:`.kpm`) builds one per distinct list of measurement infos and
    reuses it, so its encoding is done once and kept."""

    __slots__ = ()


# The measurement info list is the same in every report of a subscription and
# starts octet-aligned, so the encoding of a FrozenInfoList (whole octets plus
# the pending bits) is kept, by identity. Bounded: cleared when it grows too big.
_INFO_CACHE: dict[int, tuple[FrozenInfoList, bytes, int, int]] = {}
_INFO_CACHE_MAX = 1024


def _put_info_list(w: _Writer, infos_value: Any) -> None:
    """measInfoList at an octet boundary of ``w``."""
    frozen = type(infos_value) is FrozenInfoList
    entry = _INFO_CACHE.get(id(infos_value)) if frozen else None
    if entry is None or entry[0] is not infos_value:
        infos = _items(infos_value)
        n = len(infos)
        if not 1 <= n <= 65535:
            raise NotHandled("measInfoList size")
        part = _Writer()
        part.bits(n - 1, 16)
        for info in infos:
            _put_info_item(part, info)
        entry = (infos_value, bytes(part.buf), part.acc, part.nacc)
        if frozen:
            if len(_INFO_CACHE) >= _INFO_CACHE_MAX:
                _INFO_CACHE.clear()
            _INFO_CACHE[id(infos_value)] = entry
    w.buf += entry[1]
    w.acc, w.nacc = entry[2], entry[3]


def _put_data_item(w: _Writer, item: Any) -> None:
    item = _mapping(item)
    if "incompleteFlag" in item:
        if item["incompleteFlag"] != "true":
            raise NotHandled("ENUMERATED value outside the root")
        w.bits(0b01, 2)
    else:
        w.bits(0b00, 2)
    record = _items(item.get("measRecord"))
    n = len(record)
    if not 1 <= n < 16384:
        raise NotHandled("measRecord size (empty or fragmented)")
    w.align()
    if n < 128:
        w.buf.append(n)
    else:
        w.buf += (0x8000 | n).to_bytes(2, "big")
    for entry in record:
        if type(entry) is not tuple or len(entry) != 2:
            raise NotHandled("a CHOICE value must be a (name, value) tuple")
        kind, v = entry
        if kind == "integer":
            if type(v) is not int or not 0 <= v <= _U32:
                raise NotHandled("measurement integer out of range")
            nbytes = (v.bit_length() + 7) >> 3 or 1
            w.bits(nbytes - 1, 5)  # extension 0, alternative 00, octet count
            w.octets(v.to_bytes(nbytes, "big"))
        elif kind == "noValue":
            if v is not None:
                raise NotHandled("noValue must be None")
            w.bits(0b010, 3)
        elif kind == "real":
            if type(v) is not float:
                raise NotHandled("not a float")
            try:
                content = bytes(_ber_encode_real(v))
            except Exception as exc:
                raise NotHandled(f"REAL {v!r}") from exc
            if len(content) >= 128:
                raise NotHandled("long REAL")
            w.bits(0b001, 3)
            w.align()
            w.buf.append(len(content))
            w.buf += content
        else:
            raise NotHandled(f"MeasurementRecordItem alternative {kind!r}")
    if "incompleteFlag" in item:
        w.bits(0, 1)  # ENUMERATED {true, ...}: extension bit, no index bits


def _put_info_item(w: _Writer, info: Any) -> None:
    info = _mapping(info)
    kind, v = _choice(info.get("measType"))
    if kind == "measName":
        # item extension 0, CHOICE extension 0, alternative 0
        w.bits(0b000, 3)
        _put_printable(w, v, 1, 150, 8)
    elif kind == "measID":
        if type(v) is not int or not 1 <= v <= 65536:
            raise NotHandled("measID outside the extension root")
        w.bits(0b0010, 4)  # item ext 0, CHOICE ext 0, alternative 1, INTEGER ext 0
        w.align()
        w.bits(v - 1, 16)
    else:
        raise NotHandled(f"MeasurementType alternative {kind!r}")
    labels = _items(info.get("labelInfoList"))
    n = len(labels)
    if not 1 <= n < 16384:
        raise NotHandled("labelInfoList size (empty or fragmented)")
    w.align()
    if n < 128:
        w.buf.append(n)
    else:
        w.buf += (0x8000 | n).to_bytes(2, "big")
    for item in labels:
        item = _mapping(item)
        w.bits(0, 1)  # LabelInfoItem extension bit
        _put_label(w, item.get("measLabel"))


def _get_format1(r: _Reader) -> dict[str, Any]:
    head = r.bits(3)
    if head & 0b100:
        raise NotHandled("Format1 extension additions")
    r.align()
    n = r.bits(16) + 1
    if n > 65535:
        raise DecodeError("measData with 65536 items")
    _check_count(r, n, 10)  # >= 2 bits + aligned length octet per item
    data = [_get_data_item(r) for _ in range(n)]
    value: dict[str, Any] = {"measData": data}
    if head & 0b010:
        r.align()
        n = r.bits(16) + 1
        if n > 65535:
            raise DecodeError("measInfoList with 65536 items")
        _check_count(r, n, 12)
        value["measInfoList"] = [_get_info_item(r) for _ in range(n)]
    if head & 0b001:
        value["granulPeriod"] = _get_u32(r, 1)
    return value


def _get_data_item(r: _Reader) -> dict[str, Any]:
    head = r.bits(2)
    if head & 0b10:
        raise NotHandled("MeasurementDataItem extension additions")
    n = r.count(3)
    if not n:
        raise DecodeError("empty measRecord")
    record: list[tuple[str, Any]] = []
    append = record.append
    data = r.data
    end = r.end
    for _ in range(n):
        pos = r.pos
        if not pos & 7 and pos + 8 <= end:
            # Aligned: the first octet is ext(1) alternative(2) then, for an
            # integer, its octet count - 1 (2 bits) and 3 padding bits.
            i = pos >> 3
            byte = data[i]
            if byte < 0x20:  # integer, the hot case, read in one go
                stop = i + 2 + ((byte >> 3) & 3)
                if stop << 3 > end:
                    raise DecodeError(f"out of data at octet {i + 1}")
                append(("integer", int.from_bytes(data[i + 1 : stop], "big")))
                r.pos = stop << 3
                continue
            r.pos = pos + 3
            top = byte >> 5
        else:
            top = r.bits(3)
        if top == 0:  # integer
            nbytes = r.bits(2) + 1
            append(("integer", int.from_bytes(r.octets(nbytes), "big")))
        elif top == 0b010:
            append(("noValue", None))
        elif top == 0b001:
            r.align()
            length = r.length()
            content = r.octets(length)
            try:
                real = _ber_decode_real(bytearray(content))
            except Exception as exc:
                raise DecodeError(f"bad REAL: {exc}") from exc
            append(("real", real))
        elif top == 0b011:
            raise DecodeError("MeasurementRecordItem alternative index 3")
        else:
            raise NotHandled("MeasurementRecordItem extension alternative")
    item: dict[str, Any] = {"measRecord": record}
    if head & 0b01:
        if r.bit():
            raise NotHandled("ENUMERATED extension value")
        item["incompleteFlag"] = "true"
    return item


def _get_info_item(r: _Reader) -> dict[str, Any]:
    start = r.pos
    head = r.bits(12)
    if head >> 8 == 0:
        # The common case in one read: item ext 0, CHOICE ext 0, measName,
        # string size inside the root, 8-bit length.
        raw = r.octets((head & 0xFF) + 1)
        if raw.translate(None, _PRINTABLE):
            raise DecodeError("character outside PrintableString")
        meas_type: tuple[str, Any] = ("measName", raw.decode("ascii"))
    else:
        r.pos = start
        head = r.bits(3)
        if head & 0b110:
            raise NotHandled("MeasurementInfoItem extension")
        if head == 0:
            meas_type = ("measName", _get_printable(r, 1, 8))
        else:
            if r.bit():
                raise NotHandled("measID outside the extension root")
            r.align()
            meas_type = ("measID", r.bits(16) + 1)
    n = r.count(23)
    if not n:
        raise DecodeError("empty labelInfoList")
    if n == 1 and r.end - r.pos >= 24:
        # One LabelInfoItem holding noLabel only: 0 | 0 1 0{20} | 0.
        start = r.pos
        if r.bits(24) == 1 << 21:
            return {"measType": meas_type, "labelInfoList": [{"measLabel": {"noLabel": "true"}}]}
        r.pos = start
    labels = []
    for _ in range(n):
        if r.bit():
            raise NotHandled("LabelInfoItem extension additions")
        labels.append({"measLabel": _get_label(r)})
    return {"measType": meas_type, "labelInfoList": labels}


# ---------------------------------------------------------------------------
# UEID (gNB, gNB-DU and gNB-CU-UP alternatives)
# ---------------------------------------------------------------------------


def _put_ueid(w: _Writer, value: Any) -> None:
    kind, v = _choice(value)
    v = _mapping(v)
    if kind == "gNB-UEID":
        if "globalNG-RANNode-ID" in v:
            raise NotHandled("UEID-GNB extension additions")
        optional = (
            "gNB-CU-UE-F1AP-ID-List",
            "gNB-CU-CP-UE-E1AP-ID-List",
            "ran-UEID",
            "m-NG-RAN-UE-XnAP-ID",
            "globalGNB-ID",
        )
        presence = 0
        for name in optional:
            presence = (presence << 1) | (name in v)
        w.bits(presence, 10)  # CHOICE ext 0, index 000, SEQUENCE ext 0, 5 presence bits
        _put_u40(w, v.get("amf-UE-NGAP-ID"))
        _put_guami(w, v.get("guami"))
        if presence & 0b10000:
            ids = _items(v["gNB-CU-UE-F1AP-ID-List"])
            if not 1 <= len(ids) <= 4:
                raise NotHandled("F1AP ID list size")
            w.bits(len(ids) - 1, 2)
            for item in ids:
                w.bits(0, 1)
                _put_u32(w, _mapping(item).get("gNB-CU-UE-F1AP-ID"), 0)
        if presence & 0b01000:
            _put_e1ap_list(w, v["gNB-CU-CP-UE-E1AP-ID-List"])
        if presence & 0b00100:
            _put_fixed_octets(w, v["ran-UEID"], 8)
        if presence & 0b00010:
            _put_u32(w, v["m-NG-RAN-UE-XnAP-ID"], 0)
        if presence & 0b00001:
            _put_global_gnb_id(w, v["globalGNB-ID"])
    elif kind == "gNB-DU-UEID":
        has_ran = "ran-UEID" in v
        w.bits(0b000100 | has_ran, 6)  # CHOICE ext 0, index 001, ext 0, presence
        _put_u32(w, v.get("gNB-CU-UE-F1AP-ID"), 0)
        if has_ran:
            _put_fixed_octets(w, v["ran-UEID"], 8)
    elif kind == "gNB-CU-UP-UEID":
        has_ran = "ran-UEID" in v
        w.bits(0b001000 | has_ran, 6)  # CHOICE ext 0, index 010, ext 0, presence
        _put_u32(w, v.get("gNB-CU-CP-UE-E1AP-ID"), 0)
        if has_ran:
            _put_fixed_octets(w, v["ran-UEID"], 8)
    else:
        raise NotHandled(f"UEID alternative {kind!r}")


def _put_guami(w: _Writer, value: Any) -> None:
    value = _mapping(value)
    w.bits(0, 1)
    _put_fixed_octets(w, value.get("pLMNIdentity"), 3)
    _put_bitstring(w, value.get("aMFRegionID"), 8)
    _put_bitstring(w, value.get("aMFSetID"), 10)
    _put_bitstring(w, value.get("aMFPointer"), 6)


def _put_e1ap_list(w: _Writer, value: Any) -> None:
    ids = _items(value)
    if not 1 <= len(ids) <= 65535:
        raise NotHandled("E1AP ID list size")
    w.align()
    w.bits(len(ids) - 1, 16)
    for item in ids:
        w.bits(0, 1)
        _put_u32(w, _mapping(item).get("gNB-CU-CP-UE-E1AP-ID"), 0)


def _put_global_gnb_id(w: _Writer, value: Any) -> None:
    value = _mapping(value)
    w.bits(0, 1)
    _put_fixed_octets(w, value.get("pLMNIdentity"), 3)
    kind, bits = _choice(value.get("gNB-ID"))
    if kind != "gNB-ID" or type(bits) is not tuple or len(bits) != 2:
        raise NotHandled("GNB-ID alternative")
    n = bits[1]
    if type(n) is not int or not 22 <= n <= 32:
        raise NotHandled("gNB ID length")
    w.bits(n - 22, 5)  # CHOICE ext 0 + 4-bit length
    w.align()
    _put_bitstring(w, bits, n)


def _get_ueid(r: _Reader) -> tuple[str, dict[str, Any]]:
    head = r.bits(4)
    if head & 0b1000:
        raise NotHandled("UEID extension alternative")
    if head == 0:  # gNB-UEID
        flags = r.bits(6)
        if flags & 0b100000:
            raise NotHandled("UEID-GNB extension additions")
        v: dict[str, Any] = {"amf-UE-NGAP-ID": _get_u40(r), "guami": _get_guami(r)}
        if flags & 0b10000:
            n = r.bits(2) + 1
            ids = []
            for _ in range(n):
                if r.bit():
                    raise NotHandled("extension additions")
                ids.append({"gNB-CU-UE-F1AP-ID": _get_u32(r, 0)})
            v["gNB-CU-UE-F1AP-ID-List"] = ids
        if flags & 0b01000:
            v["gNB-CU-CP-UE-E1AP-ID-List"] = _get_e1ap_list(r)
        if flags & 0b00100:
            v["ran-UEID"] = r.octets(8)
        if flags & 0b00010:
            v["m-NG-RAN-UE-XnAP-ID"] = _get_u32(r, 0)
        if flags & 0b00001:
            v["globalGNB-ID"] = _get_global_gnb_id(r)
        return ("gNB-UEID", v)
    if head == 1 or head == 2:  # gNB-DU-UEID, gNB-CU-UP-UEID
        flags = r.bits(2)
        if flags & 0b10:
            raise NotHandled("UEID extension additions")
        if head == 1:
            name, field = "gNB-DU-UEID", "gNB-CU-UE-F1AP-ID"
        else:
            name, field = "gNB-CU-UP-UEID", "gNB-CU-CP-UE-E1AP-ID"
        v = {field: _get_u32(r, 0)}
        if flags & 0b01:
            v["ran-UEID"] = r.octets(8)
        return (name, v)
    if head == 7:
        raise DecodeError("UEID alternative index 7")
    raise NotHandled("UEID alternative")


def _get_guami(r: _Reader) -> dict[str, Any]:
    if r.bit():
        raise NotHandled("GUAMI extension additions")
    return {
        "pLMNIdentity": r.octets(3),
        "aMFRegionID": _get_bitstring(r, 8),
        "aMFSetID": _get_bitstring(r, 10),
        "aMFPointer": _get_bitstring(r, 6),
    }


def _get_e1ap_list(r: _Reader) -> list[dict[str, Any]]:
    r.align()
    n = r.bits(16) + 1
    if n > 65535:
        raise DecodeError("E1AP ID list with 65536 items")
    _check_count(r, n, 11)
    ids = []
    for _ in range(n):
        if r.bit():
            raise NotHandled("extension additions")
        ids.append({"gNB-CU-CP-UE-E1AP-ID": _get_u32(r, 0)})
    return ids


def _get_global_gnb_id(r: _Reader) -> dict[str, Any]:
    if r.bit():
        raise NotHandled("GlobalGNB-ID extension additions")
    plmn = r.octets(3)
    if r.bit():
        raise NotHandled("GNB-ID extension alternative")
    n = r.bits(4) + 22
    if n > 32:
        raise DecodeError(f"gNB ID of {n} bits")
    r.align()
    return {"pLMNIdentity": plmn, "gNB-ID": ("gNB-ID", _get_bitstring(r, n))}


# ---------------------------------------------------------------------------
# E2SM-KPM-IndicationMessage (format 1 and format 3)
# ---------------------------------------------------------------------------


def try_encode_message(value: Any) -> bytes:
    """Encode an ``E2SM-KPM-IndicationMessage`` value; :class:`NotHandled` if not handled."""
    kind, inner = _choice(_mapping(value).get("indicationMessage-formats"))
    w = _Writer()
    if kind == "indicationMessage-Format1":
        w.bits(0b000, 3)  # SEQUENCE ext 0, CHOICE ext 0, alternative 0
        _put_format1(w, inner)
        return w.result()
    if kind == "indicationMessage-Format3":
        content = _Writer()
        _put_format3(content, inner)
        encoded = content.result()
        if len(encoded) >= 16384:
            raise NotHandled("fragmented open type")
        # SEQUENCE ext 0, CHOICE ext 1, normally small number 0 (0 + 000000)
        w.bits(0b010000000, 9)
        w.align()
        if len(encoded) < 128:
            w.buf.append(len(encoded))
        else:
            w.buf += (0x8000 | len(encoded)).to_bytes(2, "big")
        w.buf += encoded
        return w.result()
    raise NotHandled(f"indication message alternative {kind!r}")


def _put_format3(w: _Writer, value: Any) -> None:
    reports = _items(_mapping(value).get("ueMeasReportList"))
    n = len(reports)
    if not 1 <= n <= 65535:
        raise NotHandled("ueMeasReportList size")
    w.bits(0, 1)  # Format3 extension bit
    w.align()
    w.bits(n - 1, 16)
    for report in reports:
        report = _mapping(report)
        w.bits(0, 1)  # UEMeasurementReportItem extension bit
        _put_ueid(w, report.get("ueID"))
        _put_format1(w, report.get("measReport"))


def try_decode_message(data: bytes) -> dict[str, Any]:
    """Decode an ``E2SM-KPM-IndicationMessage``; :class:`NotHandled` if not handled."""
    r = _Reader(_as_bytes(data))
    head = r.bits(3)
    if head & 0b100:
        raise NotHandled("IndicationMessage extension additions")
    if head == 0b000:
        return {"indicationMessage-formats": ("indicationMessage-Format1", _get_format1(r))}
    if head == 0b001:
        raise NotHandled("indication message format 2")
    # CHOICE extension bit set: the last bit read starts a normally small
    # number (0 = six more bits follow), then an open type.
    if head & 0b001 or r.bits(6) != 0:
        raise NotHandled("indication message extension alternative other than format 3")
    r.align()
    length = r.length()
    start = r.pos
    inner = _get_format3(r)
    r.align()
    if r.pos - start != 8 * length:
        raise NotHandled("open type length differs from its content")
    return {"indicationMessage-formats": ("indicationMessage-Format3", inner)}


def _get_format3(r: _Reader) -> dict[str, Any]:
    if r.bit():
        raise NotHandled("Format3 extension additions")
    r.align()
    n = r.bits(16) + 1
    if n > 65535:
        raise DecodeError("ueMeasReportList with 65536 items")
    _check_count(r, n, 40)
    reports = []
    for _ in range(n):
        if r.bit():
            raise NotHandled("UEMeasurementReportItem extension additions")
        ue_id = _get_ueid(r)
        reports.append({"ueID": ue_id, "measReport": _get_format1(r)})
    return {"ueMeasReportList": reports}


# ---------------------------------------------------------------------------
# E2SM-KPM-IndicationHeader (format 1)
# ---------------------------------------------------------------------------

# (name, lower bound, length bits) of the four optional PrintableStrings.
_HEADER_STRINGS: Final = (
    ("fileFormatversion", 0, 4),  # SIZE (0..15, ...)
    ("senderName", 0, 16),  # SIZE (0..400, ...): range > 255, aligned 16 bits
    ("senderType", 0, 4),  # SIZE (0..8, ...)
    ("vendorName", 0, 6),  # SIZE (0..32, ...)
)
_HEADER_UPPER: Final = {
    "fileFormatversion": 15,
    "senderName": 400,
    "senderType": 8,
    "vendorName": 32,
}


def try_encode_header(value: Any) -> bytes:
    """Encode an ``E2SM-KPM-IndicationHeader``; :class:`NotHandled` if not handled."""
    kind, inner = _choice(_mapping(value).get("indicationHeader-formats"))
    if kind != "indicationHeader-Format1":
        raise NotHandled(f"indication header alternative {kind!r}")
    inner = _mapping(inner)
    presence = 0
    for name, _, _ in _HEADER_STRINGS:
        presence = (presence << 1) | (name in inner)
    w = _Writer()
    w.bits(presence, 7)  # SEQUENCE ext 0, CHOICE ext 0, Format1 ext 0, 4 presence bits
    stamp = inner.get("colletStartTime")
    if type(stamp) is not bytes or len(stamp) != 8:
        raise NotHandled("colletStartTime must be 8 bytes")
    w.octets(stamp)
    for name, lower, length_bits in _HEADER_STRINGS:
        if name in inner:
            _put_printable(w, inner[name], lower, _HEADER_UPPER[name], length_bits)
    return w.result()


def try_decode_header(data: bytes) -> dict[str, Any]:
    """Decode an ``E2SM-KPM-IndicationHeader``; :class:`NotHandled` if not handled."""
    r = _Reader(_as_bytes(data))
    head = r.bits(7)
    if head & 0b1110000:
        raise NotHandled("IndicationHeader extension")
    inner: dict[str, Any] = {"colletStartTime": r.octets(8)}
    bit = 0b1000
    for name, lower, length_bits in _HEADER_STRINGS:
        if head & bit:
            inner[name] = _get_printable(r, lower, length_bits)
        bit >>= 1
    return {"indicationHeader-formats": ("indicationHeader-Format1", inner)}


# ---------------------------------------------------------------------------
# With fallback to the generic codec
# ---------------------------------------------------------------------------


def _generic_encode(type_name: str, value: Any) -> bytes:
    return _spec.encode(SPEC, type_name, value)


def _generic_decode(type_name: str, data: Any) -> dict[str, Any]:
    return _spec.decode(SPEC, type_name, _as_bytes(data))


def encode_header(value: Any) -> bytes:
    """Encode an ``E2SM-KPM-IndicationHeader`` value (fast path, else generic)."""
    try:
        return try_encode_header(value)
    except Exception:  # NotHandled, or anything unforeseen: the generic codec decides
        return _generic_encode(HEADER_TYPE, value)


def decode_header(data: bytes) -> dict[str, Any]:
    """Decode an ``E2SM-KPM-IndicationHeader`` (fast path, else generic)."""
    try:
        return try_decode_header(data)
    except DecodeError as exc:
        raise DecodeError(f"cannot decode {HEADER_TYPE}: {exc}") from exc
    except Exception:  # NotHandled, or anything unforeseen: the generic codec decides
        return _generic_decode(HEADER_TYPE, data)


def encode_message(value: Any) -> bytes:
    """Encode an ``E2SM-KPM-IndicationMessage`` value (fast path, else generic)."""
    try:
        return try_encode_message(value)
    except Exception:  # NotHandled, or anything unforeseen: the generic codec decides
        return _generic_encode(MESSAGE_TYPE, value)


def decode_message(data: bytes) -> dict[str, Any]:
    """Decode an ``E2SM-KPM-IndicationMessage`` (fast path, else generic)."""
    try:
        return try_decode_message(data)
    except DecodeError as exc:
        raise DecodeError(f"cannot decode {MESSAGE_TYPE}: {exc}") from exc
    except Exception:  # NotHandled, or anything unforeseen: the generic codec decides
        return _generic_decode(MESSAGE_TYPE, data)
