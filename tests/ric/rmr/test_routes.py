"""Route tables: the librmr text format, lookups, round robin, fan-out, MEID maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtrust.ric.rmr.routes import (
    RouteTable,
    RouteTableError,
    RouteTableParser,
    load_route_table,
    parse_route_table,
)

TABLE = """\
newrt | start | rt-0928
rte   | 2000  | logger:30311
mse   | 1000  | 10 | forwarder:43086          # comment after a field
# a comment line

mse   | 1000,forwarder:43086 | 10 | app2:43086
mse   | 1000  | -1 | app0:43086,app1:43086; logger:20311
rte   | 3000  | a:1,b:2 | 5
newrt | end   | 5
"""


def test_parse_documented_table() -> None:
    table = parse_route_table(TABLE)
    assert table.table_id == "rt-0928"
    assert set(table.entries) == {(2000, -1), (1000, 10), (1000, -1), (3000, 5)}
    assert table.lookup(1000, 10).groups == (("forwarder:43086",),)  # type: ignore[union-attr]
    assert table.lookup(1000, -1).groups == (  # type: ignore[union-attr]
        ("app0:43086", "app1:43086"),
        ("logger:20311",),
    )


def test_sender_specific_entry_applies_only_to_that_sender() -> None:
    mine = parse_route_table(TABLE, me={"forwarder:43086"})
    assert mine.targets(1000, 10) == ["app2:43086"]
    other = parse_route_table(TABLE, me={"app9:1"})
    assert other.targets(1000, 10) == ["forwarder:43086"]


def test_own_address_is_dropped_from_groups() -> None:
    table = parse_route_table("newrt|start\nmse|1|-1|me:1,you:2;me:1\nnewrt|end\n", me={"me:1"})
    assert table.lookup(1).groups == (("you:2",),)  # type: ignore[union-attr]


def test_round_robin_within_group_and_fanout_across_groups() -> None:
    table = parse_route_table("newrt|start\nmse|7|-1|a:1,b:1,c:1;log:9\nnewrt|end\n")
    picks = [table.targets(7) for _ in range(4)]
    assert picks == [["a:1", "log:9"], ["b:1", "log:9"], ["c:1", "log:9"], ["a:1", "log:9"]]


def test_sub_id_lookup_falls_back_to_wildcard() -> None:
    table = parse_route_table("newrt|start\nmse|7|3|a:1\nmse|7|-1|b:1\nnewrt|end\n")
    assert table.targets(7, 3) == ["a:1"]
    assert table.targets(7, 99) == ["b:1"]
    assert table.targets(8, 3) == []


def test_last_entry_for_a_key_wins() -> None:
    table = parse_route_table("newrt|start\nmse|7|-1|a:1\nrte|7|b:1\nnewrt|end|2\n")
    assert table.targets(7) == ["b:1"]


def test_meid_routing_and_meid_map() -> None:
    text = """\
newrt|start | id-64306
mse|0|-1| %meid
mse|1|-1|172.19.0.2:4560
newrt|end

meid_map | start | id-028919
mme_ar| 172.19.0.2:4560 | meid000 meid001 meid002
mme_ar| 172.19.0.42:4560 | meid100 meid101
mme_del | meid001
meid_map | end | 3 | 0123456789abcdef0123456789abcdef
"""
    table = parse_route_table(text)
    assert table.lookup(0).by_meid  # type: ignore[union-attr]
    assert table.targets(0, -1, "meid000") == ["172.19.0.2:4560"]
    assert table.targets(0, -1, "meid101") == ["172.19.0.42:4560"]
    assert table.targets(0, -1, "meid001") == []  # deleted
    assert table.targets(0, -1, "unknown") == []
    assert table.targets(1) == ["172.19.0.2:4560"]


def test_new_table_keeps_meid_map_update_keeps_entries() -> None:
    parser = RouteTableParser()
    for rec in ("meid_map|start|m1", "mme_ar|o:1|g1", "meid_map|end|1"):
        results = parser.feed(rec)
    assert results[0].ok
    for rec in ("newrt|start|t1", "mse|5|-1|%meid", "mse|6|-1|x:1", "newrt|end|2"):
        results = parser.feed(rec)
    table = results[0].table
    assert table is not None and table.targets(5, -1, "g1") == ["o:1"]
    for rec in ("updatert|start|u1", "del|6|-1", "mse|7|-1|y:1", "updatert|end|2"):
        results = parser.feed(rec)
    updated = results[0].table
    assert results[0].ok and results[0].table_id == "u1" and updated is not None
    assert updated.targets(6) == [] and updated.targets(7) == ["y:1"]
    assert updated.targets(5, -1, "g1") == ["o:1"]
    assert table.targets(6) == ["x:1"]  # the previous table object is untouched


def test_count_mismatch_is_refused_with_librmr_reason() -> None:
    parser = RouteTableParser()
    parser.feed("newrt|start|t9")
    parser.feed("mse|1|-1|a:1")
    (result,) = parser.feed("newrt|end|2")
    assert not result.ok and result.table is None
    assert result.reason == "missing table records: expected 2 got 1"
    assert result.ack_payload() == b"ERR t9 missing table records: expected 2 got 1\n\0"


def test_new_start_abandons_unfinished_table() -> None:
    parser = RouteTableParser()
    parser.feed("newrt|start|first")
    parser.feed("mse|1|-1|a:1")
    (nack,) = parser.feed("newrt|start|second")
    assert (nack.ok, nack.table_id, nack.reason) == (False, "first", "table not complete")
    (ok,) = parser.feed("newrt|end")
    assert ok.ok and ok.table_id == "second" and ok.table is not None and len(ok.table) == 0
    assert ok.ack_payload() == b"OK second \n\0"


def test_missing_id_is_reported_as_librmr_does() -> None:
    parser = RouteTableParser()
    parser.feed("newrt|start")
    (ok,) = parser.feed("newrt|end")
    assert ok.ack_payload() == b"OK <id-missing> \n\0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("newrt|start\nmse|abc|-1|a:1\nnewrt|end\n", r"<route table>:2: message type 'abc'"),
        ("newrt|start\nmse|1|x|a:1\nnewrt|end\n", "subscription id 'x' is not an integer"),
        ("newrt|start\nmse|1|-1\nnewrt|end\n", "mse record needs 4 fields"),
        ("newrt|start\nmse|1|-1|a:1,,b:2\nnewrt|end\n", "empty endpoint name"),
        ("newrt|start\nmse|1|-1|nohostport\nnewrt|end\n", "is not host:port"),
        ("newrt|start\nmse|1|-1|h:99999\nnewrt|end\n", "no valid port"),
        ("newrt|start\nmes|1|-1|a:1\nnewrt|end\n", "unknown record type 'mes'"),
        ("mse|1|-1|a:1\n", "outside a table"),
        ("newrt|start|x\nmse|1|-1|a:1\n", "newrt|start at line 1 has no newrt|end"),
        ("newrt|start\nmse|1|-1|a:1\nnewrt|end|3\n", "expected 3 got 1"),
        ("newrt|end\n", "newrt|end without a newrt|start"),
        ("newrt|middle\n", "expected start or end"),
        ("newrt|start\nmme_ar|a:1|m\nnewrt|end\n", "outside an meid_map section"),
        ("meid_map|start\nmse|1|-1|a:1\nmeid_map|end\n", "inside an meid_map section"),
        ("# only comments\n\n", "no table"),
        ("newrt|start\nmse|99999999999|-1|a:1\nnewrt|end\n", "out of range"),
    ],
)
def test_parse_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(RouteTableError, match=message):
        parse_route_table(text)


def test_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "seed.rt"
    path.write_text("newrt|start\nmse|1|-1|a:1\nrte|x|b:2\nnewrt|end\n")
    with pytest.raises(RouteTableError) as info:
        load_route_table(path)
    assert str(info.value).startswith(f"{path}:3: message type 'x'")
    with pytest.raises(RouteTableError, match="cannot read route table"):
        load_route_table(tmp_path / "missing.rt")


def test_crlf_and_cr_line_ends() -> None:
    table = parse_route_table("newrt|start\r\nmse|1|-1|a:1\rnewrt|end|1\r\n")
    assert table.targets(1) == ["a:1"]


def test_to_text_round_trips() -> None:
    table = parse_route_table(TABLE + "meid_map|start\nmme_ar|o:1|g1 g2\nmeid_map|end|1\n")
    again = parse_route_table(table.to_text())
    assert {k: e.groups for k, e in again.entries.items()} == {
        k: e.groups for k, e in table.entries.items()
    }
    assert again.meids == table.meids == {"g1": "o:1", "g2": "o:1"}
    assert isinstance(again, RouteTable) and again.table_id == "rt-0928"
