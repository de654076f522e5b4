"""E2 transport: SCTP where the kernel has it, TCP with 4-byte length framing otherwise.

Carries E2AP PDUs (opaque bytes here; :mod:`xtrust.ric.asn1` encodes them)
between E2 nodes and the near-RT RIC::

    from xtrust.ric import e2

    async def handler(conn: e2.E2Connection) -> None:   # RIC side
        async for pdu in conn:
            await conn.send(answer(pdu))

    server = await e2.serve(handler, "0.0.0.0", e2.E2_PORT)        # transport="auto"
    conn = await e2.connect("ric.example", e2.E2_PORT)             # E2 node side
    await conn.send(e2_setup_request)
    reply = await conn.recv()

``transport="auto"`` uses kernel SCTP (one E2AP PDU per SCTP message, stream
0, PPID 70) when the kernel has it and TCP otherwise; both ends must pick the
same. The TCP framing is specified in :mod:`xtrust.ric.e2.framing`.

``recv()`` raises :class:`E2ConnectionClosed` (with a :class:`CloseReason`)
at the end of the connection; ``async for`` simply stops there.
"""

from xtrust.ric.e2.connection import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_FRAME_TIMEOUT,
    DEFAULT_WRITE_LIMIT,
    E2Connection,
    E2Counters,
    MalformedHook,
)
from xtrust.ric.e2.constants import (
    E2_CP_PPID,
    E2_DU_PPID,
    E2_PORT,
    E2_UP_PPID,
    E2AP_PPID,
    E2AP_STREAM,
)
from xtrust.ric.e2.errors import (
    CloseReason,
    E2ConnectionClosed,
    E2TransportError,
    SctpUnavailableError,
)
from xtrust.ric.e2.framing import DEFAULT_MAX_PDU, FrameDecoder, FrameError, encode_frame
from xtrust.ric.e2.sctp import sctp_available, sctp_unavailable_reason
from xtrust.ric.e2.transport import (
    E2Server,
    Handler,
    TransportName,
    connect,
    resolve_transport,
    serve,
)

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_FRAME_TIMEOUT",
    "DEFAULT_MAX_PDU",
    "DEFAULT_WRITE_LIMIT",
    "E2AP_PPID",
    "E2AP_STREAM",
    "E2_CP_PPID",
    "E2_DU_PPID",
    "E2_PORT",
    "E2_UP_PPID",
    "CloseReason",
    "E2Connection",
    "E2ConnectionClosed",
    "E2Counters",
    "E2Server",
    "E2TransportError",
    "FrameDecoder",
    "FrameError",
    "Handler",
    "MalformedHook",
    "SctpUnavailableError",
    "TransportName",
    "connect",
    "encode_frame",
    "resolve_transport",
    "sctp_available",
    "sctp_unavailable_reason",
    "serve",
]
