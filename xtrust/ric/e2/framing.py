"""E2AP over TCP: the 4-byte length framing (sans-IO encoder and decoder).

Where the kernel has no SCTP, XTRUST carries E2AP over TCP. TCP is a byte
stream, so each E2AP PDU is framed. A peer implementation interoperates with
XTRUST when it follows these rules:

* **Frame** = 4-byte *length* + *PDU*. The length is an unsigned 32-bit
  integer in network byte order (big-endian) and counts the PDU bytes only,
  not the 4 length bytes. The PDU is one complete E2AP-PDU in aligned PER, as
  it would be carried in one SCTP DATA message. Nothing else is on the wire:
  no magic, no version, no padding, no trailer; frames follow each other
  back to back in both directions.

  Example: a 3-byte PDU ``0x20 0x01 0x00`` is sent as
  ``00 00 00 03 20 01 00``.

* **Zero-length frames are not allowed.** SCTP cannot carry an empty user
  message, and an empty E2AP PDU does not exist, so a length of 0 is garbage:
  the receiver counts it, closes the connection and never delivers an empty
  PDU. Senders must not send one (``send(b"")`` raises
  :class:`~xtrust.errors.InputError`).

* **Maximum size.** A receiver has a limit ``max_pdu`` (XTRUST default:
  1 MiB = 1048576 bytes, configurable). A frame whose length exceeds it is
  refused as soon as the 4 length bytes are read, before any of its body is
  buffered; the receiver may send one last E2AP PDU (an Error Indication),
  then half-closes, discards what still arrives for a short while, and closes.
  PDUs longer than 2**32 - 1 bytes cannot be framed.

* **Timeliness.** Once the first byte of a frame has arrived, the rest of the
  frame (length and PDU) must arrive within ``frame_timeout`` seconds (XTRUST
  default: 30 s), else the receiver closes the connection. There is no
  timeout between frames: an idle connection stays open.

* **End of stream.** Closing the connection (FIN) between two frames is a
  clean end. A stream that ends inside a frame is truncated: the partial PDU
  is discarded and counted as garbage.

* **Port and PPID.** The TCP fallback uses the E2 SCTP port number (36421)
  by default. There is no payload protocol identifier on TCP; both ends know
  that every frame carries E2AP.

This module has no I/O: :func:`encode_frame` builds a frame and
:class:`FrameDecoder` turns a byte stream, cut anywhere, back into PDUs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from xtrust.errors import InputError
from xtrust.ric.e2.errors import CloseReason

__all__ = [
    "DEFAULT_MAX_PDU",
    "HEADER_SIZE",
    "MAX_FRAME_LENGTH",
    "PREFIX_SIZE",
    "FrameDecoder",
    "FrameError",
    "check_max_pdu",
    "encode_frame",
]

HEADER_SIZE = 4
"""Bytes of the length field in front of each PDU."""
MAX_FRAME_LENGTH = 0xFFFF_FFFF
"""Largest PDU the 4-byte length can announce."""
DEFAULT_MAX_PDU = 1 << 20
"""Default largest PDU a receiver accepts (1 MiB)."""
PREFIX_SIZE = 64
"""How many bytes of a refused PDU the ``on_malformed`` hook is given, at most."""

_HEADER = struct.Struct(">I")


def check_max_pdu(max_pdu: int) -> int:
    """Return ``max_pdu`` if it is a usable limit, else raise :class:`InputError`."""
    if isinstance(max_pdu, bool) or not isinstance(max_pdu, int):
        raise InputError(f"max_pdu must be an integer, not {type(max_pdu).__name__}")
    if not 1 <= max_pdu <= MAX_FRAME_LENGTH:
        raise InputError(f"max_pdu must be between 1 and {MAX_FRAME_LENGTH} bytes, not {max_pdu}")
    return max_pdu


def encode_frame(pdu: bytes | bytearray | memoryview) -> bytes:
    """The frame for one PDU: its length as 4 bytes big-endian, then the PDU."""
    size = len(pdu)
    if size == 0:
        raise InputError("an E2AP PDU cannot be empty (a zero-length frame is refused by peers)")
    if size > MAX_FRAME_LENGTH:
        raise InputError(f"a PDU of {size} bytes is too large for the 4-byte TCP frame length")
    return _HEADER.pack(size) + bytes(pdu)


@dataclass(frozen=True, slots=True)
class FrameError:
    """Why a :class:`FrameDecoder` refused its stream.

    ``prefix`` holds the first bytes of the refused PDU that had arrived (at
    most :data:`PREFIX_SIZE`, without the length field); ``length`` is the
    length the frame announced, when it had been read.
    """

    reason: CloseReason
    detail: str
    prefix: bytes = b""
    length: int | None = None


class FrameDecoder:
    """Reassembles PDUs from a framed byte stream fed in chunks of any size.

    ``feed()`` returns the PDUs completed by a chunk. When the stream breaks
    the framing (zero length, length above ``max_pdu``) ``feed()`` returns the
    PDUs that came before the bad frame and sets :attr:`error`; from then on it
    ignores its input. The decoder never holds more than one partial frame, and
    it checks a frame's length before keeping any of its body, so one frame
    never costs more than ``max_pdu`` bytes of buffer.
    """

    __slots__ = ("_buf", "_error", "_max_pdu", "_need")

    def __init__(self, max_pdu: int = DEFAULT_MAX_PDU):
        self._max_pdu = check_max_pdu(max_pdu)
        self._buf = bytearray()
        self._need = -1  # -1: reading a length field; else bytes of body the frame has in total
        self._error: FrameError | None = None

    @property
    def max_pdu(self) -> int:
        return self._max_pdu

    @property
    def error(self) -> FrameError | None:
        """Set once the stream has been refused."""
        return self._error

    @property
    def in_frame(self) -> bool:
        """True while part of a frame (some length bytes, or a length and part of the PDU) is held."""
        return self._need >= 0 or bool(self._buf)

    @property
    def buffered(self) -> int:
        """Bytes of the current partial frame held (length field bytes included)."""
        return len(self._buf) + (HEADER_SIZE if self._need >= 0 else 0)

    def pending_prefix(self, limit: int = PREFIX_SIZE) -> bytes:
        """The first bytes of the partial PDU held (empty while its length is incomplete)."""
        if self._need < 0:
            return b""
        return bytes(self._buf[:limit])

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add a chunk of the stream; return the PDUs it completes, in order."""
        if self._error is not None or not data:
            return []
        out: list[bytes] = []
        buf = self._buf
        src: bytes | bytearray | memoryview
        if buf:
            buf += data
            src = buf
        else:
            src = data
        end = len(src)
        pos = 0
        need = self._need
        max_pdu = self._max_pdu
        with memoryview(src) as view:
            while True:
                if need < 0:
                    if end - pos < HEADER_SIZE:
                        break
                    need = _HEADER.unpack_from(view, pos)[0]
                    pos += HEADER_SIZE
                    if need == 0 or need > max_pdu:
                        prefix = bytes(view[pos : pos + min(PREFIX_SIZE, need)])
                        if need == 0:
                            self._error = FrameError(
                                CloseReason.EMPTY_FRAME, "frame with a zero length", b"", 0
                            )
                        else:
                            self._error = FrameError(
                                CloseReason.OVERSIZE,
                                f"frame announces {need} bytes, above max_pdu {max_pdu}",
                                prefix,
                                need,
                            )
                        break
                if end - pos < need:
                    break
                out.append(bytes(view[pos : pos + need]))
                pos += need
                need = -1
            rest = None
            if self._error is None and src is not buf and pos < end:
                rest = bytearray(view[pos:])
        # The view is released here: only now may ``buf`` change size.
        if self._error is not None:
            self._buf = bytearray()
            self._need = -1
        elif src is buf:
            del buf[:pos]
            self._need = need
        else:
            if rest is not None:
                self._buf = rest
            self._need = need
        return out
