"""RNIB: E2 Manager's keys and protobuf entities, through both SDL back ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis

from xtrust.errors import DecodeError, InputError
from xtrust.ric.rnib import (
    Cell,
    ConnectionStatus,
    Enb,
    EnbType,
    GlobalNbId,
    Gnb,
    GnbType,
    NbIdentity,
    Node,
    NodebInfo,
    RanFunction,
    RnibReader,
    RnibWriter,
    ServedCellInfo,
    ServedNRCell,
    ServedNRCellInformation,
    keys,
)
from xtrust.ric.sdl import Notification, RedisSdl, Sdl

from .conftest import SdlFactory

T = TypeVar("T")
NS = "e2Manager"


def run(factory: SdlFactory, body: Callable[[Sdl], Awaitable[T]]) -> T:
    async def main() -> T:
        sdl = factory()
        try:
            return await body(sdl)
        finally:
            await sdl.close()

    return asyncio.run(main())


def gnb(
    name: str = "gnb_001_001_0000019b",
    status: int = ConnectionStatus.CONNECTED,
    cells: tuple[tuple[str, int], ...] = (("0000019b0001", 5), ("0000019b0002", 300)),
) -> NodebInfo:
    return NodebInfo(
        ran_name=name,
        ip="10.0.0.7",
        port=36421,
        connection_status=status,  # type: ignore[arg-type]
        global_nb_id=GlobalNbId(plmn_id="13f184", nb_id="0000019b"),
        node_type=Node.GNB,
        gnb=Gnb(
            gnb_type=GnbType.GNB,
            ran_functions=[
                RanFunction(
                    ran_function_id=2,
                    ran_function_definition="e2sm-kpm definition",
                    ran_function_revision=1,
                    ran_function_oid="1.3.6.1.4.1.53148.1.2.2.2",
                )
            ],
            served_nr_cells=[
                ServedNRCell(
                    served_nr_cell_information=ServedNRCellInformation(
                        nr_pci=pci, cell_id=cell_id, served_plmns=["13f184"]
                    )
                )
                for cell_id, pci in cells
            ],
        ),
        associated_e2t_instance_address="10.0.2.15:38000",
        setup_from_network=True,
    )


def enb(name: str = "enb_1") -> NodebInfo:
    return NodebInfo(
        ran_name=name,
        connection_status=ConnectionStatus.CONNECTED,
        global_nb_id=GlobalNbId(plmn_id="02f829", nb_id="007a80"),
        node_type=Node.ENB,
        enb=Enb(
            enb_type=EnbType.MACRO_ENB,
            served_cells=[ServedCellInfo(pci=1, cell_id="02f829:0007ab00", tac="0102")],
        ),
    )


# =========================================================================
# Keys: the exact strings E2 Manager uses
# =========================================================================


def test_key_formats_are_e2_managers() -> None:
    assert keys.NAMESPACE == "e2Manager"
    assert keys.nodeb_name_key("gnb_001") == "RAN:gnb_001"
    assert keys.nodeb_id_key(Node.GNB, "13f184", "0000019b") == "GNB:13f184:0000019b"
    assert keys.nodeb_id_key(Node.ENB, "02f829", "007a80") == "ENB:02f829:007a80"
    assert keys.cell_id_key("02f829:0007ab00") == "CELL:02f829:0007ab00"
    assert keys.nr_cell_id_key("0000019b0001") == "NRCELL:0000019b0001"
    assert keys.cell_pci_key("gnb_001", 5) == "PCI:gnb_001:05"
    assert keys.cell_pci_key("gnb_001", 300) == "PCI:gnb_001:12c"
    assert keys.ran_load_key("enb_1") == "LOAD:enb_1"
    assert keys.e2t_instance_key("10.0.2.15:38000") == "E2TInstance:10.0.2.15:38000"
    assert keys.E2T_ADDRESSES_KEY == "E2TAddresses"
    assert keys.GENERAL_CONFIGURATION_KEY == "GENERAL"
    assert keys.STATE_CHANGE_CHANNEL == "RAN_CONNECTION_STATUS_CHANGE"
    assert keys.RAN_MANIPULATION_CHANNEL == "RAN_MANIPULATION"
    assert [keys.group_name(t) for t in (Node.UNKNOWN, Node.ENB, Node.GNB)] == [
        "UNKNOWN",
        "ENB",
        "GNB",
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda: keys.nodeb_name_key(""),
        lambda: keys.nodeb_id_key(Node.GNB, "", "1"),
        lambda: keys.nodeb_id_key(Node.GNB, "1", ""),
        lambda: keys.nodeb_id_key(99, "1", "1"),
        lambda: keys.cell_pci_key("gnb", -1),
        lambda: keys.nr_cell_id_key(""),
    ],
)
def test_bad_key_parts_raise_input_error(build: Callable[[], str]) -> None:
    with pytest.raises(InputError):
        build()


# =========================================================================
# Wire format: bytes assembled by hand from the protobuf encoding rules
# =========================================================================


def field(number: int, wire_type: int, payload: bytes) -> bytes:
    tag = bytes([number << 3 | wire_type])  # all our tags fit one byte
    if wire_type == 2:  # length-delimited
        return tag + bytes([len(payload)]) + payload
    return tag + payload  # varint (payload already encoded)


HAND_NODEB = (
    field(1, 2, b"gnb_hand")  # ran_name
    + field(5, 0, b"\x01")  # connection_status = CONNECTED
    + field(6, 2, field(1, 2, b"13f184") + field(2, 2, b"0000019b"))  # global_nb_id
    + field(7, 0, b"\x02")  # node_type = GNB
    + field(12, 2, b"10.0.2.15:38000")  # associated_e2t_instance_address
    + field(13, 0, b"\x01")  # setup_from_network
)
# A field newer E2 Manager releases add (15: gnb_node_type), unknown to us.
UNKNOWN_FIELD = field(15, 2, b"gNB")


def test_hand_built_nodeb_info_parses_and_serializes_identically() -> None:
    info = NodebInfo.FromString(HAND_NODEB)
    assert info.ran_name == "gnb_hand"
    assert info.connection_status == ConnectionStatus.CONNECTED
    assert (info.global_nb_id.plmn_id, info.global_nb_id.nb_id) == ("13f184", "0000019b")
    assert info.node_type == Node.GNB
    assert info.associated_e2t_instance_address == "10.0.2.15:38000"
    assert info.setup_from_network is True
    assert info.WhichOneof("configuration") is None
    built = NodebInfo(
        ran_name="gnb_hand",
        connection_status=ConnectionStatus.CONNECTED,
        global_nb_id=GlobalNbId(plmn_id="13f184", nb_id="0000019b"),
        node_type=Node.GNB,
        associated_e2t_instance_address="10.0.2.15:38000",
        setup_from_network=True,
    )
    assert built.SerializeToString() == HAND_NODEB


def test_hand_built_identity_and_cell() -> None:
    identity = field(1, 2, b"gnb_hand") + field(2, 2, field(1, 2, b"p") + field(2, 2, b"n"))
    identity += field(3, 0, b"\x02")  # DISCONNECTED
    parsed = NbIdentity.FromString(identity)
    assert (parsed.inventory_name, parsed.global_nb_id.nb_id) == ("gnb_hand", "n")
    assert parsed.connection_status == ConnectionStatus.DISCONNECTED

    info = field(1, 0, b"\x07") + field(2, 2, b"nr-cell-7")  # nr_pci = 7, cell_id
    cell = field(1, 0, b"\x02") + field(3, 2, field(1, 2, info))  # NR_CELL, served_nr_cell
    parsed_cell = Cell.FromString(cell)
    assert parsed_cell.type == Cell.NR_CELL
    nr = parsed_cell.served_nr_cell.served_nr_cell_information
    assert (nr.nr_pci, nr.cell_id) == (7, "nr-cell-7")
    assert (
        Cell(
            type=Cell.NR_CELL,
            served_nr_cell=ServedNRCell(
                served_nr_cell_information=ServedNRCellInformation(nr_pci=7, cell_id="nr-cell-7")
            ),
        ).SerializeToString()
        == cell
    )


# =========================================================================
# Reader and writer, on both SDL back ends
# =========================================================================


class TestRoundTrip:
    def test_save_and_read_a_gnb(self, sdl_factory: SdlFactory) -> None:
        node = gnb()

        async def body(sdl: Sdl) -> None:
            await RnibWriter(sdl).save_nodeb(node)
            reader = RnibReader(sdl_factory())  # e.g. an xApp with its own client
            try:
                assert await reader.get_nodeb("gnb_001_001_0000019b") == node
                assert await reader.get_nodeb_by_global_id(Node.GNB, "13f184", "0000019b") == node
                assert await reader.get_nodeb("other") is None
                [identity] = await reader.get_list_gnb_ids()
                assert identity == NbIdentity(
                    inventory_name="gnb_001_001_0000019b",
                    global_nb_id=GlobalNbId(plmn_id="13f184", nb_id="0000019b"),
                    connection_status=ConnectionStatus.CONNECTED,
                )
                assert await reader.get_list_enb_ids() == []
                cell = await reader.get_cell("gnb_001_001_0000019b", 300)
                assert cell is not None and cell.type == Cell.NR_CELL
                assert cell.served_nr_cell == node.gnb.served_nr_cells[1]
                assert await reader.get_cell_by_id(Cell.NR_CELL, "0000019b0001") == Cell(
                    type=Cell.NR_CELL, served_nr_cell=node.gnb.served_nr_cells[0]
                )
                assert await reader.get_cell("gnb_001_001_0000019b", 6) is None
            finally:
                if reader.sdl is not sdl:
                    await reader.sdl.close()
            assert await sdl.find_keys(NS) == [
                "GNB",
                "GNB:13f184:0000019b",
                "NRCELL:0000019b0001",
                "NRCELL:0000019b0002",
                "PCI:gnb_001_001_0000019b:05",
                "PCI:gnb_001_001_0000019b:12c",
                "RAN:gnb_001_001_0000019b",
            ]
            stored = await sdl.get(NS, ["RAN:gnb_001_001_0000019b", "GNB:13f184:0000019b"])
            assert set(stored.values()) == {node.SerializeToString()}

        run(sdl_factory, body)

    def test_enb_cells_and_the_node_list(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            writer, reader = RnibWriter(sdl), RnibReader(sdl)
            await writer.save_nodeb(enb("enb_2"))
            await writer.save_nodeb(gnb("gnb_1", cells=()))
            await writer.save_nodeb(enb("enb_1"))
            assert [i.inventory_name for i in await reader.list_nodebs()] == [
                "enb_1",
                "enb_2",
                "gnb_1",
            ]
            cell = await reader.get_cell_by_id(Cell.LTE_CELL, "02f829:0007ab00")
            assert cell is not None and cell.type == Cell.LTE_CELL
            assert cell.served_cell_info.tac == "0102"
            assert await sdl.find_keys(NS, "PCI:*") == ["PCI:enb_1:01", "PCI:enb_2:01"]
            with pytest.raises(InputError, match="cell type"):
                await reader.get_cell_by_id(Cell.UNKNOWN_CELL, "x")

        run(sdl_factory, body)

    def test_resaving_replaces_cells_identity_and_id_key(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            writer, reader = RnibWriter(sdl), RnibReader(sdl)
            await writer.save_nodeb(gnb("g", cells=(("c1", 1), ("c2", 2))))
            moved = gnb("g", status=ConnectionStatus.DISCONNECTED, cells=(("c2", 2), ("c3", 3)))
            moved.global_nb_id.nb_id = "0000019c"
            await writer.save_nodeb(moved)
            assert await sdl.find_keys(NS) == [
                "GNB",
                "GNB:13f184:0000019c",
                "NRCELL:c2",
                "NRCELL:c3",
                "PCI:g:02",
                "PCI:g:03",
                "RAN:g",
            ]
            [identity] = await reader.list_nodebs()
            assert identity.connection_status == ConnectionStatus.DISCONNECTED
            assert identity.global_nb_id.nb_id == "0000019c"

        run(sdl_factory, body)

    def test_save_cell(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            lte = Cell(served_cell_info=ServedCellInfo(pci=17, cell_id="lte-17"))
            await RnibWriter(sdl).save_cell("enb_9", lte)  # type filled in from the content
            found = await RnibReader(sdl).get_cell("enb_9", 17)
            assert found == Cell(type=Cell.LTE_CELL, served_cell_info=lte.served_cell_info)
            assert await sdl.find_keys(NS) == ["CELL:lte-17", "PCI:enb_9:11"]
            with pytest.raises(InputError, match="served_nr_cell"):
                await RnibWriter(sdl).save_cell("enb_9", Cell(type=Cell.NR_CELL))

        run(sdl_factory, body)

    def test_remove_nodeb(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            writer, reader = RnibWriter(sdl), RnibReader(sdl)
            await writer.save_nodeb(gnb("keep", cells=(("k1", 1),)))
            await writer.save_nodeb(gnb("drop", cells=(("d1", 2),)))
            async with await sdl.subscribe(NS, keys.RAN_MANIPULATION_CHANNEL) as sub:
                assert await writer.remove_nodeb("drop") is True
                assert await sub.get(timeout=5) == Notification(
                    "RAN_MANIPULATION", ("drop_DELETED",)
                )
            assert await writer.remove_nodeb("drop") is False
            assert await reader.get_nodeb("drop") is None
            assert [i.inventory_name for i in await reader.list_nodebs()] == ["keep"]
            assert await sdl.find_keys(NS, "*drop*") == []
            assert await sdl.find_keys(NS, "*d1*") == []

        run(sdl_factory, body)


class TestConnectionStatus:
    def test_status_changes_update_node_identity_and_publish(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> list[Notification]:
            writer, reader = RnibWriter(sdl), RnibReader(sdl)
            async with await reader.watch_connection_status() as sub:
                await writer.save_nodeb(gnb("g1", status=ConnectionStatus.CONNECTING))
                await writer.update_connection_status("g1", ConnectionStatus.CONNECTED)
                updated = await writer.update_connection_status("g1", ConnectionStatus.DISCONNECTED)
                await writer.update_connection_status("g1", ConnectionStatus.SHUT_DOWN)  # silent
                await writer.save_nodeb(gnb("g1", status=ConnectionStatus.CONNECTED))
                notes = [await sub.get(timeout=5) for _ in range(3)]
            assert updated.connection_status == ConnectionStatus.DISCONNECTED
            stored = await reader.get_nodeb("g1")
            assert stored is not None and stored.connection_status == ConnectionStatus.CONNECTED
            [identity] = await reader.get_list_gnb_ids()
            assert identity.connection_status == ConnectionStatus.CONNECTED
            by_id = await reader.get_nodeb_by_global_id(Node.GNB, "13f184", "0000019b")
            assert by_id == stored
            return notes

        assert [note.events for note in run(sdl_factory, body)] == [
            ("g1_CONNECTED",),
            ("g1_DISCONNECTED",),
            ("g1_CONNECTED",),
        ]

    def test_identity_keeps_health_check_timestamps(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> NbIdentity:
            writer = RnibWriter(sdl)
            # as E2 Manager leaves it after a health check
            stamped = NbIdentity(
                inventory_name="g",
                connection_status=ConnectionStatus.CONNECTED,
                health_check_timestamp_sent=1700000000001,
                health_check_timestamp_received=1700000000002,
            )
            await sdl.set(NS, {"RAN:g": gnb("g", cells=()).SerializeToString()})
            await sdl.add_member(NS, "GNB", stamped.SerializeToString())
            await writer.update_connection_status("g", ConnectionStatus.DISCONNECTED)
            [identity] = await RnibReader(sdl).list_nodebs()
            return identity

        identity = run(sdl_factory, body)
        assert identity.connection_status == ConnectionStatus.DISCONNECTED
        assert identity.health_check_timestamp_sent == 1700000000001
        assert identity.health_check_timestamp_received == 1700000000002

    def test_update_keeps_fields_this_schema_does_not_know(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> bytes:
            await sdl.set(NS, {"RAN:gnb_hand": HAND_NODEB + UNKNOWN_FIELD})
            await RnibWriter(sdl).update_connection_status(
                "gnb_hand", ConnectionStatus.DISCONNECTED
            )
            return (await sdl.get(NS, "RAN:gnb_hand"))["RAN:gnb_hand"]

        stored = run(sdl_factory, body)
        assert stored.endswith(UNKNOWN_FIELD)
        assert NodebInfo.FromString(stored).connection_status == ConnectionStatus.DISCONNECTED

    def test_bad_updates(self, sdl_factory: SdlFactory) -> None:
        async def body(sdl: Sdl) -> None:
            writer = RnibWriter(sdl)
            with pytest.raises(InputError, match="no E2 node"):
                await writer.update_connection_status("ghost", ConnectionStatus.CONNECTED)
            await writer.save_nodeb(gnb("g"))
            with pytest.raises(InputError, match="connection status"):
                await writer.update_connection_status("g", 42)
            with pytest.raises(InputError, match="RAN name"):
                await writer.save_nodeb(NodebInfo(node_type=Node.GNB))
            with pytest.raises(InputError, match="PLMN"):
                await writer.save_nodeb(
                    NodebInfo(ran_name="x", node_type=Node.GNB, global_nb_id=GlobalNbId(nb_id="1"))
                )
            with pytest.raises(InputError, match="NodebInfo"):
                await writer.save_nodeb(b"not a message")  # type: ignore[arg-type]

        run(sdl_factory, body)


class TestMalformedEntries:
    @pytest.mark.parametrize(
        ("garbage", "bad_cell_too"),
        [
            (b"\x0a\x10short", True),  # length says 16 bytes, 5 follow
            (b"\x0f", True),  # wire type 7 does not exist
            (b"\x28", True),  # tag without its varint
            # ran_name is not UTF-8; for a Cell, field 1 is a varint, so this
            # length-delimited field 1 is just an unknown field there.
            (b"\x0a\x02\xff\xfe", False),
        ],
    )
    def test_malformed_node_raises_decode_error(
        self, sdl_factory: SdlFactory, garbage: bytes, bad_cell_too: bool
    ) -> None:
        async def body(sdl: Sdl) -> str:
            await sdl.set(NS, {"RAN:bad": garbage, "PCI:bad:01": garbage})
            reader = RnibReader(sdl)
            with pytest.raises(DecodeError) as info:
                await reader.get_nodeb("bad")
            if bad_cell_too:
                with pytest.raises(DecodeError, match="Cell"):
                    await reader.get_cell("bad", 1)
            else:
                cell = await reader.get_cell("bad", 1)
                assert cell is not None and cell.WhichOneof("cell") is None
            return str(info.value)

        message = run(sdl_factory, body)
        assert "'RAN:bad'" in message and "NodebInfo" in message

    def test_writer_replaces_and_removes_a_malformed_node(
        self, sdl_factory: SdlFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def body(sdl: Sdl) -> None:
            writer, reader = RnibWriter(sdl), RnibReader(sdl)
            await sdl.set(NS, {"RAN:g": b"\x0f"})
            with caplog.at_level(logging.WARNING, logger="xtrust.ric.rnib"):
                await writer.save_nodeb(gnb("g", cells=()))
            assert (await reader.get_nodeb("g")) == gnb("g", cells=())
            await sdl.set(NS, {"RAN:g": b"\x0f"})
            with caplog.at_level(logging.WARNING, logger="xtrust.ric.rnib"):
                assert await writer.remove_nodeb("g") is True
            assert await reader.get_nodeb("g") is None
            assert await reader.list_nodebs() == []

        run(sdl_factory, body)
        assert "replacing a malformed RNIB node" in caplog.text
        assert "removing a malformed RNIB node" in caplog.text

    def test_malformed_identity_in_a_group(
        self, sdl_factory: SdlFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def body(sdl: Sdl) -> None:
            await sdl.add_member(NS, "GNB", b"\x0a\x10short")
            reader, writer = RnibReader(sdl), RnibWriter(sdl)
            with pytest.raises(DecodeError, match="group 'GNB'"):
                await reader.list_nodebs()
            with caplog.at_level(logging.WARNING, logger="xtrust.ric.rnib"):
                await writer.save_nodeb(gnb("g"))  # the writer works around it
            assert await sdl.group_size(NS, "GNB") == 2

        run(sdl_factory, body)
        assert "malformed RNIB identity" in caplog.text


# =========================================================================
# What a Go xApp (sdlgo + nodeb-rnib) would see in Redis
# =========================================================================


def test_redis_holds_what_e2_manager_would_write(redis_url: str) -> None:
    node = gnb("gnb_raw", cells=(("cell-a", 10),))

    async def body(sdl: Sdl) -> None:
        await RnibWriter(sdl).save_nodeb(node)

    run(lambda: RedisSdl(redis_url), body)
    raw = redis.Redis.from_url(redis_url)
    try:
        assert sorted(raw.keys("*")) == [
            b"{e2Manager},GNB",
            b"{e2Manager},GNB:13f184:0000019b",
            b"{e2Manager},NRCELL:cell-a",
            b"{e2Manager},PCI:gnb_raw:0a",
            b"{e2Manager},RAN:gnb_raw",
        ]
        assert raw.get("{e2Manager},RAN:gnb_raw") == node.SerializeToString()
        [member] = raw.smembers("{e2Manager},GNB")
        assert isinstance(member, bytes)
        assert NbIdentity.FromString(member).inventory_name == "gnb_raw"
    finally:
        raw.close()
