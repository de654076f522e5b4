"""Pure-Python RMR (O-RAN SC RIC Message Router), wire compatible with librmr 4.9 (SI95).

Quick start::

    from xtrust.ric.rmr import Endpoint, Message

    async with Endpoint(4560) as ep:                 # routes from RMR_SEED_RT
        await ep.send(Message(12010, b"...", sub_id=7))
        reply = await ep.call(Message(20012, b"q"), timeout=0.5)
        async for msg in ep.receive():
            await ep.rts(msg, payload=b"done")

Modules: :mod:`.wire` (frame format), :mod:`.routes` (route tables),
:mod:`.endpoint` (asyncio endpoint), :mod:`.rtmgr` (route-manager
exchange), :mod:`.cli` (``xtrust rmr``).
"""

from xtrust.ric.rmr.endpoint import (
    CallTimeout,
    ClosedError,
    Endpoint,
    RMRError,
    SendError,
    parse_target,
)
from xtrust.ric.rmr.routes import (
    MEID_ROUTE,
    RouteEntry,
    RouteTable,
    RouteTableError,
    RouteTableParser,
    TableResult,
    load_route_table,
    parse_route_table,
)
from xtrust.ric.rmr.rtmgr import RouteManager, RouteTableCollector, TableAck, split_table
from xtrust.ric.rmr.wire import (
    RIC_HEALTH_CHECK_REQ,
    RIC_HEALTH_CHECK_RESP,
    RMR_ERR_TRUNC,
    RMR_OK,
    RMRRM_REQ_TABLE,
    RMRRM_TABLE_DATA,
    RMRRM_TABLE_STATE,
    UNSET_SUBID,
    FrameDecoder,
    FrameError,
    Message,
    decode_frame,
    encode_frame,
)

__all__ = [
    "MEID_ROUTE",
    "RIC_HEALTH_CHECK_REQ",
    "RIC_HEALTH_CHECK_RESP",
    "RMRRM_REQ_TABLE",
    "RMRRM_TABLE_DATA",
    "RMRRM_TABLE_STATE",
    "RMR_ERR_TRUNC",
    "RMR_OK",
    "UNSET_SUBID",
    "CallTimeout",
    "ClosedError",
    "Endpoint",
    "FrameDecoder",
    "FrameError",
    "Message",
    "RMRError",
    "RouteEntry",
    "RouteManager",
    "RouteTable",
    "RouteTableCollector",
    "RouteTableError",
    "RouteTableParser",
    "SendError",
    "TableAck",
    "TableResult",
    "decode_frame",
    "encode_frame",
    "load_route_table",
    "parse_route_table",
    "parse_target",
    "split_table",
]
