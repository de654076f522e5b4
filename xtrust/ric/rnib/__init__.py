"""RNIB: the E2 nodes and cells the RIC knows, stored in the SDL as E2 Manager does.

O-RAN SC's E2 Manager writes every E2 node (``NodebInfo``), its cells and a
list of node identities into the SDL namespace ``e2Manager``; xApps discover
nodes there. :class:`RnibWriter` (used by RIC-lite) and :class:`RnibReader`
(used by xApps) read and write the same keys with the same protobuf encoding
(see :mod:`xtrust.ric.rnib.keys` for the layout and ``nodeb.proto`` for the
entities), so an xApp on XTRUST reads a real RIC's RNIB, and a real xApp
reads RIC-lite's::

    sdl = open_sdl()
    writer, reader = RnibWriter(sdl), RnibReader(sdl)
    await writer.save_nodeb(NodebInfo(ran_name="gnb_001_001_0000019b", node_type=Node.GNB, ...))
    for identity in await reader.list_nodebs():
        node = await reader.get_nodeb(identity.inventory_name)

Stored bytes that do not parse raise :class:`~xtrust.errors.DecodeError`
naming the key; a missing entry is ``None``.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from xtrust.errors import DecodeError, InputError
from xtrust.log import get_logger
from xtrust.ric.sdl import NotificationCallback, Sdl, Subscription

from . import keys
from .nodeb_pb2 import (
    Cell,
    ConnectionStatus,
    E2ApplicationProtocol,
    E2nodeComponentConfig,
    E2nodeComponentInterfaceType,
    Enb,
    EnbType,
    Eutra,
    Failure,
    GlobalNbId,
    Gnb,
    GnbType,
    NbIdentity,
    NeighbourInformation,
    Node,
    NodebInfo,
    Nr,
    NrNeighbourInformation,
    RanFunction,
    ServedCellInfo,
    ServedNRCell,
    ServedNRCellInformation,
)

__all__ = [
    "Cell",
    "ConnectionStatus",
    "E2ApplicationProtocol",
    "E2nodeComponentConfig",
    "E2nodeComponentInterfaceType",
    "Enb",
    "EnbType",
    "Eutra",
    "Failure",
    "GlobalNbId",
    "Gnb",
    "GnbType",
    "NbIdentity",
    "NeighbourInformation",
    "Node",
    "NodebInfo",
    "Nr",
    "NrNeighbourInformation",
    "RanFunction",
    "RnibReader",
    "RnibWriter",
    "ServedCellInfo",
    "ServedNRCell",
    "ServedNRCellInformation",
    "keys",
]

log = get_logger("ric.rnib")

M = TypeVar("M", bound=Message)

NS = keys.NAMESPACE
_GROUPS = ("ENB", "GNB", "UNKNOWN")


def _parse(cls: type[M], data: bytes, where: str) -> M:
    entity = cls()
    try:
        entity.ParseFromString(data)
    except (ProtobufDecodeError, ValueError, TypeError, RuntimeError) as exc:
        raise DecodeError(
            f"RNIB entry {where} is not a valid {cls.__name__} ({len(data)} bytes): {exc}"
        ) from exc
    return entity


def _has_global_id(info: NodebInfo) -> bool:
    return info.HasField("global_nb_id")


def _id_key(info: NodebInfo) -> str | None:
    if not _has_global_id(info):
        return None
    return keys.nodeb_id_key(info.node_type, info.global_nb_id.plmn_id, info.global_nb_id.nb_id)


def _cell_entries(ran_name: str, info: NodebInfo) -> dict[str, bytes]:
    """Cell keys of the node's served cells and the Cell entity stored under them."""
    entries: dict[str, bytes] = {}
    config = info.WhichOneof("configuration")
    if config == "gnb":
        for nr in info.gnb.served_nr_cells:
            cell = Cell(type=Cell.NR_CELL, served_nr_cell=nr)
            entries.update(_cell_keys(ran_name, cell))
    elif config == "enb":
        for lte in info.enb.served_cells:
            cell = Cell(type=Cell.LTE_CELL, served_cell_info=lte)
            entries.update(_cell_keys(ran_name, cell))
    return entries


def _cell_keys(ran_name: str, cell: Cell) -> dict[str, bytes]:
    """``{id key: bytes, PCI key: bytes}`` of a Cell (its type follows its content)."""
    kind = cell.WhichOneof("cell")
    if kind == "served_nr_cell":
        nr = cell.served_nr_cell.served_nr_cell_information
        id_key, pci = keys.nr_cell_id_key(nr.cell_id), nr.nr_pci
        if cell.type != Cell.NR_CELL:
            cell = Cell(type=Cell.NR_CELL, served_nr_cell=cell.served_nr_cell)
    elif kind == "served_cell_info":
        lte = cell.served_cell_info
        id_key, pci = keys.cell_id_key(lte.cell_id), lte.pci
        if cell.type != Cell.LTE_CELL:
            cell = Cell(type=Cell.LTE_CELL, served_cell_info=cell.served_cell_info)
    else:
        raise InputError("an RNIB cell needs served_nr_cell (NR) or served_cell_info (LTE)")
    data = cell.SerializeToString()
    return {id_key: data, keys.cell_pci_key(ran_name, pci): data}


def _status_event(ran_name: str, old: int, new: int) -> dict[str, str]:
    """The RAN_CONNECTION_STATUS_CHANGE event when a node enters or leaves CONNECTED."""
    if new == ConnectionStatus.CONNECTED and old != ConnectionStatus.CONNECTED:
        return {keys.STATE_CHANGE_CHANNEL: f"{ran_name}_CONNECTED"}
    if old == ConnectionStatus.CONNECTED and new != ConnectionStatus.CONNECTED:
        return {keys.STATE_CHANGE_CHANNEL: f"{ran_name}_DISCONNECTED"}
    return {}


class RnibReader:
    """Reads the RNIB from an SDL (namespace ``e2Manager``)."""

    def __init__(self, sdl: Sdl) -> None:
        self.sdl = sdl

    async def _read(self, cls: type[M], key: str) -> M | None:
        data = (await self.sdl.get(NS, key)).get(key)
        return None if data is None else _parse(cls, data, repr(key))

    async def get_nodeb(self, ran_name: str) -> NodebInfo | None:
        """The node stored under ``RAN:<ran_name>``, or None."""
        return await self._read(NodebInfo, keys.nodeb_name_key(ran_name))

    async def get_nodeb_by_global_id(
        self, node_type: int, plmn_id: str, nb_id: str
    ) -> NodebInfo | None:
        """The node stored under ``<ENB|GNB>:<plmn_id>:<nb_id>``, or None."""
        return await self._read(NodebInfo, keys.nodeb_id_key(node_type, plmn_id, nb_id))

    async def _identities(self, group: str) -> list[NbIdentity]:
        members = await self.sdl.get_members(NS, group)
        found = [_parse(NbIdentity, m, f"in group {group!r}") for m in members]
        return sorted(found, key=lambda identity: identity.inventory_name)

    async def get_list_gnb_ids(self) -> list[NbIdentity]:
        """Identities of the gNBs (group ``GNB``), sorted by name."""
        return await self._identities("GNB")

    async def get_list_enb_ids(self) -> list[NbIdentity]:
        """Identities of the eNBs (group ``ENB``), sorted by name."""
        return await self._identities("ENB")

    async def list_nodebs(self) -> list[NbIdentity]:
        """Identities of all eNBs and gNBs, sorted by name (E2 Manager's GetListNodebIds)."""
        found = await self.get_list_enb_ids() + await self.get_list_gnb_ids()
        return sorted(found, key=lambda identity: identity.inventory_name)

    async def get_cell(self, ran_name: str, pci: int) -> Cell | None:
        """The cell of node ``ran_name`` with this PCI (``PCI:<ran_name>:<pci>``), or None."""
        return await self._read(Cell, keys.cell_pci_key(ran_name, pci))

    async def get_cell_by_id(self, cell_type: int, cell_id: str) -> Cell | None:
        """The cell ``NRCELL:<cell_id>`` (NR_CELL) or ``CELL:<cell_id>`` (LTE_CELL), or None."""
        if cell_type == Cell.NR_CELL:
            return await self._read(Cell, keys.nr_cell_id_key(cell_id))
        if cell_type == Cell.LTE_CELL:
            return await self._read(Cell, keys.cell_id_key(cell_id))
        raise InputError(f"RNIB cell type must be LTE_CELL or NR_CELL, got {cell_type!r}")

    async def watch_connection_status(
        self, callback: NotificationCallback | None = None
    ) -> Subscription:
        """Subscribe to ``RAN_CONNECTION_STATUS_CHANGE`` (events ``<ran>_CONNECTED`` /
        ``<ran>_DISCONNECTED``)."""
        return await self.sdl.subscribe(NS, keys.STATE_CHANGE_CHANNEL, callback)


class RnibWriter:
    """Writes the RNIB into an SDL as E2 Manager does (RIC-lite's side).

    Writes of one call that E2 Manager makes together (the node under both of
    its keys, its cells, the status event) are one atomic SDL write; the
    identity groups are updated right after, as E2 Manager does.
    """

    def __init__(self, sdl: Sdl) -> None:
        self.sdl = sdl
        self._reader = RnibReader(sdl)

    async def save_nodeb(self, info: NodebInfo) -> None:
        """Store (or replace) a node: ``RAN:``, its id key, its cells, its identity.

        A change of ``connection_status`` into or out of CONNECTED publishes
        ``<ran>_CONNECTED`` / ``<ran>_DISCONNECTED`` on
        ``RAN_CONNECTION_STATUS_CHANGE``. Cell and id keys of the previous
        version of the node that are no longer valid are removed.
        """
        if not isinstance(info, NodebInfo):
            raise InputError(f"save_nodeb needs a NodebInfo, got {type(info).__name__}")
        ran_name = info.ran_name
        name_key = keys.nodeb_name_key(ran_name)
        id_key = _id_key(info)
        data = info.SerializeToString()
        entries = {name_key: data, **_cell_entries(ran_name, info)}
        if id_key is not None:
            entries[id_key] = data

        old = await self._previous(ran_name)
        old_status = (
            old.connection_status if old is not None else ConnectionStatus.UNKNOWN_CONNECTION_STATUS
        )
        await self.sdl.set_and_publish(
            NS, _status_event(ran_name, old_status, info.connection_status), entries
        )
        if old is not None:
            stale = set(_cell_entries(ran_name, old)) - set(entries)
            old_id_key = _id_key(old)
            if old_id_key is not None and old_id_key not in entries:
                stale.add(old_id_key)
            if stale:
                await self.sdl.remove(NS, sorted(stale))
        await self._replace_identity(ran_name, info)

    async def update_connection_status(self, ran_name: str, status: int) -> NodebInfo:
        """Set a stored node's connection status (and its identity's); returns the node.

        Publishes the status event as :meth:`save_nodeb` does. Raises
        :class:`~xtrust.errors.InputError` if the node is not in the RNIB.
        """
        if status not in ConnectionStatus.values():
            raise InputError(f"unknown connection status {status!r}")
        info = await self._reader.get_nodeb(ran_name)
        if info is None:
            raise InputError(f"no E2 node named {ran_name!r} in the RNIB")
        old_status = info.connection_status
        info.connection_status = status  # type: ignore[assignment]
        data = info.SerializeToString()
        entries = {keys.nodeb_name_key(ran_name): data}
        id_key = _id_key(info)
        if id_key is not None:
            entries[id_key] = data
        await self.sdl.set_and_publish(NS, _status_event(ran_name, old_status, status), entries)
        await self._replace_identity(ran_name, info)
        return info

    async def save_cell(self, ran_name: str, cell: Cell) -> None:
        """Store one cell of node ``ran_name`` under its id key and its PCI key.

        Only the cell entity is written; the node's own list of served cells
        (in its NodebInfo) is left as it is.
        """
        if not isinstance(cell, Cell):
            raise InputError(f"save_cell needs a Cell, got {type(cell).__name__}")
        await self.sdl.set(NS, _cell_keys(ran_name, cell))

    async def remove_nodeb(self, ran_name: str) -> bool:
        """Remove a node, its id key, its cells and its identity; False if it was not there.

        Publishes ``<ran>_DELETED`` on ``RAN_MANIPULATION``.
        """
        name_key = keys.nodeb_name_key(ran_name)
        event = {keys.RAN_MANIPULATION_CHANNEL: f"{ran_name}_DELETED"}
        try:
            info = await self._reader.get_nodeb(ran_name)
        except DecodeError as exc:
            # Its cells cannot be known; remove what can be named.
            log.warning("removing a malformed RNIB node: %s", exc)
            await self._replace_identity(ran_name, None)
            await self.sdl.remove_and_publish(NS, event, [name_key])
            return True
        await self._replace_identity(ran_name, None)
        if info is None:
            return False
        doomed = [name_key, *_cell_entries(ran_name, info)]
        id_key = _id_key(info)
        if id_key is not None:
            doomed.append(id_key)
        await self.sdl.remove_and_publish(NS, event, doomed)
        return True

    async def _previous(self, ran_name: str) -> NodebInfo | None:
        """The stored version of a node about to be replaced (None if malformed)."""
        try:
            return await self._reader.get_nodeb(ran_name)
        except DecodeError as exc:
            log.warning("replacing a malformed RNIB node: %s", exc)
            return None

    async def _replace_identity(self, ran_name: str, info: NodebInfo | None) -> None:
        """Drop every identity of ``ran_name`` from the groups; add the new one (if any).

        The health-check timestamps E2 Manager keeps in the identity carry over.
        """
        previous: NbIdentity | None = None
        for group in _GROUPS:
            members = await self.sdl.get_members(NS, group)
            stale = []
            for member in members:
                identity = _identity(member, group)
                if identity is not None and identity.inventory_name == ran_name:
                    stale.append(member)
                    previous = previous or identity
            if stale:
                await self.sdl.remove_member(NS, group, stale)
        if info is None:
            return
        identity = NbIdentity(inventory_name=ran_name, connection_status=info.connection_status)
        if _has_global_id(info):
            identity.global_nb_id.CopyFrom(info.global_nb_id)
        if previous is not None:
            identity.health_check_timestamp_sent = previous.health_check_timestamp_sent
            identity.health_check_timestamp_received = previous.health_check_timestamp_received
        await self.sdl.add_member(NS, keys.group_name(info.node_type), identity.SerializeToString())


def _identity(member: bytes, group: str) -> NbIdentity | None:
    try:
        return _parse(NbIdentity, member, f"in group {group!r}")
    except DecodeError as exc:
        log.warning("ignoring a malformed RNIB identity: %s", exc)
        return None
