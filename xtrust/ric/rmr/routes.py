"""RMR route tables: the librmr text format, lookups, round robin, fan-out and MEID maps.

A table is a sequence of newline-terminated records with ``|``-separated
fields (white space around fields is ignored, ``#`` starts a comment at the
start of a line or after white space)::

    newrt | start | rt-0928                  # a complete new table (or "begin")
    rte   | 2000 | logger:30311              # old form: mtype | groups [| sub_id]
    mse   | 1000 | 10 | forwarder:43086      # mtype | sub_id | groups
    mse   | 1000,forwarder:43086 | 10 | app2:43086   # only for that sender
    mse   | 1001 | -1 | a:4560,b:4560; logger:20311  # rr group a/b + logger
    mse   | 1002 | -1 | %meid                # route by the message's MEID
    newrt | end | 5                          # optional record count

    updatert | start | id-2                  # incremental update of the live table
    del | 1000 | 10                          # remove an entry
    mse | 3000 | -1 | c:4560
    updatert | end | 2

    meid_map | start | id-3                  # MEID ownership (kept across new tables)
    mme_ar | e2term:38000 | gnb1 gnb2        # add or replace owners
    mme_del | gnb7                           # forget
    meid_map | end | 2 [| md5]

Groups are separated by ``;``, endpoints inside a group by ``,``. A message
goes to one endpoint of every group, round robin inside each group. A lookup
uses (mtype, sub_id) and falls back to (mtype, -1). The last entry for a key
wins. An entry naming senders applies only when one of them is this
application; this application's own address is dropped from every group.
The optional md5 of an ``meid_map`` end record is accepted and not checked
(librmr 4.9 does not check it either).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xtrust.errors import ConfigError

__all__ = [
    "MEID_ROUTE",
    "RouteEntry",
    "RouteTable",
    "RouteTableError",
    "RouteTableParser",
    "TableResult",
    "load_route_table",
    "parse_route_table",
]

MEID_ROUTE = "%meid"

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1
_COMMENT = re.compile(r"(^|\s)#.*$")
_KINDS = "newrt, updatert, mse, rte, del, meid_map, mme_ar, mme_del"


class RouteTableError(ConfigError):
    """A route-table record is malformed or the table is inconsistent."""


@dataclass(slots=True)
class RouteEntry:
    """Where messages of one (mtype, sub_id) go."""

    mtype: int
    sub_id: int
    groups: tuple[tuple[str, ...], ...] = ()
    by_meid: bool = False
    _next: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._next = [0] * len(self.groups)

    def pick(self) -> list[str]:
        """One endpoint from each group, advancing the round robin."""
        out = []
        nxt = self._next
        for i, group in enumerate(self.groups):
            k = nxt[i]
            out.append(group[k])
            nxt[i] = (k + 1) % len(group)
        return out


class RouteTable:
    """An installed route table: entries by (mtype, sub_id) and the MEID owner map."""

    __slots__ = ("entries", "meids", "table_id")

    def __init__(
        self,
        entries: dict[tuple[int, int], RouteEntry] | None = None,
        meids: dict[str, str] | None = None,
        table_id: str | None = None,
    ):
        self.entries: dict[tuple[int, int], RouteEntry] = dict(entries or {})
        self.meids: dict[str, str] = dict(meids or {})
        self.table_id = table_id

    def __repr__(self) -> str:
        return (
            f"RouteTable(id={self.table_id!r}, {len(self.entries)} entries, "
            f"{len(self.meids)} meids)"
        )

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, mtype: int, sub_id: int = -1) -> RouteEntry | None:
        """The entry for (mtype, sub_id), else for (mtype, -1), else None."""
        entry = self.entries.get((mtype, sub_id))
        if entry is None and sub_id != -1:
            entry = self.entries.get((mtype, -1))
        return entry

    def targets(self, mtype: int, sub_id: int = -1, meid: str = "") -> list[str]:
        """Endpoints a message goes to (empty when there is no route or no MEID owner)."""
        entry = self.lookup(mtype, sub_id)
        if entry is None:
            return []
        if entry.by_meid:
            owner = self.meids.get(meid) if meid else None
            return [owner] if owner else []
        return entry.pick()

    def endpoints(self) -> set[str]:
        """Every endpoint named by an entry or as an MEID owner."""
        out = {ep for e in self.entries.values() for g in e.groups for ep in g}
        out.update(self.meids.values())
        return out

    def copy(self, *, entries: bool = True, meids: bool = True) -> RouteTable:
        """A copy (round-robin positions restart) with the chosen parts."""
        new = RouteTable(meids=self.meids if meids else None, table_id=self.table_id)
        if entries:
            for key, e in self.entries.items():
                new.entries[key] = RouteEntry(e.mtype, e.sub_id, e.groups, e.by_meid)
        return new

    def to_text(self) -> str:
        """The table as route-table records (a newrt section and an meid_map section)."""
        lines = [f"newrt|start|{self.table_id}" if self.table_id else "newrt|start"]
        for (mtype, sub_id), e in sorted(self.entries.items()):
            dest = MEID_ROUTE if e.by_meid else ";".join(",".join(g) for g in e.groups)
            lines.append(f"mse|{mtype}|{sub_id}|{dest}")
        lines.append(f"newrt|end|{len(self.entries)}")
        if self.meids:
            owners: dict[str, list[str]] = {}
            for meid, owner in sorted(self.meids.items()):
                owners.setdefault(owner, []).append(meid)
            lines.append("meid_map|start")
            lines.extend(f"mme_ar|{o}|{' '.join(m)}" for o, m in owners.items())
            lines.append(f"meid_map|end|{len(owners)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class TableResult:
    """The outcome of a table section: what librmr acknowledges to the route manager.

    ``kind`` is ``newrt``, ``updatert`` or ``meid_map``; ``ok`` says whether
    ``table`` (the new live table) was accepted; ``reason`` explains a refusal.
    """

    kind: str
    ok: bool
    table_id: str | None
    reason: str = ""
    table: RouteTable | None = None

    def ack_payload(self) -> bytes:
        """The type-22 payload librmr sends: ``OK <id> \\n`` or ``ERR <id> <reason>\\n``, NUL."""
        state = "OK" if self.ok else "ERR"
        tid = self.table_id or "<id-missing>"
        return f"{state} {tid} {self.reason}\n".encode() + b"\0"


def _int(text: str, what: str, lo: int = _INT32_MIN, hi: int = _INT32_MAX) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise RouteTableError(f"{what} {text!r} is not an integer") from None
    if not lo <= value <= hi:
        raise RouteTableError(f"{what} {value} is out of range ({lo}..{hi})")
    return value


def _endpoint(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise RouteTableError(f"endpoint {text!r} is not host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RouteTableError(f"endpoint {text!r} has no valid port (1..65535)")
    if any(c.isspace() for c in text):
        raise RouteTableError(f"endpoint {text!r} contains white space")
    return text


class RouteTableParser:
    """Turns route-table records into route tables, the way librmr's collector does.

    ``me`` is the set of names of this application (``host:port``,
    ``ip:port``): entries restricted to senders apply only when one of them is
    in ``me``, and these names are dropped from endpoint groups. ``current``
    is the live table that ``updatert`` and ``meid_map`` sections start from.

    :meth:`feed` takes one record and returns a :class:`TableResult` when a
    section ends (or when a new start abandons an unfinished section). A
    malformed record raises :class:`RouteTableError`; the caller decides
    whether to :meth:`abandon` the section in progress (the route-manager
    collector does, and refuses the table).
    """

    def __init__(self, me: Collection[str] = (), current: RouteTable | None = None):
        self.me = frozenset(me)
        self.current = current
        self._kind: str | None = None  # section in progress
        self._table: RouteTable | None = None
        self._id: str | None = None
        self._count = 0

    @property
    def in_progress(self) -> str | None:
        """The kind of section being built, or None."""
        return self._kind

    def abandon(self, reason: str) -> TableResult | None:
        """Drop the section in progress; its refusal, if there was one."""
        if self._kind is None:
            return None
        result = TableResult(self._kind, False, self._id, reason)
        self._kind = self._table = self._id = None
        return result

    def feed(self, record: str) -> list[TableResult]:
        """Process one record; the results of the sections it closed."""
        line = _COMMENT.sub("", record).strip()
        if not line:
            return []
        fields = [f.strip() for f in line.split("|")]
        kind = fields[0]
        if kind in ("newrt", "updatert", "meid_map"):
            return self._frame(kind, fields)
        if kind in ("mse", "rte", "del"):
            self._route_record(kind, fields)
        elif kind in ("mme_ar", "mme_del"):
            self._meid_record(kind, fields)
        else:
            raise RouteTableError(f"unknown record type {kind!r} (expected one of {_KINDS})")
        return []

    # -- section framing --------------------------------------------------------------------
    def _frame(self, kind: str, fields: list[str]) -> list[TableResult]:
        if len(fields) < 2 or not fields[1]:
            raise RouteTableError(f"{kind} record needs start or end")
        what = fields[1]
        if what in ("start", "begin"):
            out = []
            pending = self.abandon("table not complete")
            if pending is not None:
                out.append(pending)
            self._kind = kind
            self._id = fields[2] if len(fields) > 2 and fields[2] else None
            self._count = 0
            cur = self.current
            if kind == "newrt":  # a new table keeps only the MEID map
                self._table = cur.copy(entries=False) if cur is not None else RouteTable()
            else:
                self._table = cur.copy() if cur is not None else RouteTable()
            if kind == "newrt" or self._id is not None:
                self._table.table_id = self._id  # updates without an id keep the table's
            return out
        if what != "end":
            raise RouteTableError(f"{kind} record: expected start or end, got {what!r}")
        if self._kind != kind:
            if self._kind is None:
                raise RouteTableError(f"{kind}|end without a {kind}|start")
            raise RouteTableError(f"{kind}|end inside a {self._kind} section")
        if len(fields) > 2 and fields[2]:
            expected = _int(fields[2], f"{kind}|end record count", 0)
            if expected != self._count:
                result = self.abandon(
                    f"missing table records: expected {expected} got {self._count}"
                )
                return [result] if result else []
        table = self._table
        assert table is not None
        result = TableResult(kind, True, self._id, "", table)
        self.current = table
        self._kind = self._table = self._id = None
        return [result]

    def _need(self, kind: str) -> RouteTable:
        if self._table is None or self._kind is None:
            raise RouteTableError(f"{kind} record outside a table (no start record before it)")
        return self._table

    # -- entries ----------------------------------------------------------------------------
    def _applies(self, mtype_field: str) -> tuple[int, bool]:
        mtype_text, _, senders = mtype_field.partition(",")
        mtype = _int(mtype_text.strip(), "message type")
        if not senders:
            return mtype, True
        names = {s.strip() for s in senders.split(",") if s.strip()}
        return mtype, bool(names & self.me)

    def _groups(self, text: str) -> tuple[tuple[str, ...], ...] | None:
        """Endpoint groups, or None for ``%meid``."""
        parts = [g.strip() for g in text.split(";")]
        if parts and parts[0] == MEID_ROUTE:
            return None
        groups = []
        for part in parts:
            if not part:
                raise RouteTableError(f"empty endpoint group in {text!r}")
            names = [n.strip() for n in part.split(",")]
            if any(not n for n in names):
                raise RouteTableError(f"empty endpoint name in group {part!r}")
            kept = tuple(_endpoint(n) for n in names if n not in self.me)
            if kept:
                groups.append(kept)
        return tuple(groups)

    def _route_record(self, kind: str, fields: list[str]) -> None:
        if self._kind == "meid_map":
            raise RouteTableError(f"{kind} record inside an meid_map section")
        table = self._need(kind)
        if kind == "mse":
            if len(fields) < 4:
                raise RouteTableError("mse record needs 4 fields: mse|mtype[,sender]|sub_id|groups")
            mtype_field, sub_text, dest = fields[1], fields[2], fields[3]
        elif kind == "rte":
            if len(fields) < 3:
                raise RouteTableError("rte record needs 3 fields: rte|mtype[,sender]|groups")
            mtype_field, dest = fields[1], fields[2]
            sub_text = fields[3] if len(fields) > 3 and fields[3] else "-1"
        else:
            if len(fields) < 3:
                raise RouteTableError("del record needs 3 fields: del|mtype[,sender]|sub_id")
            mtype_field, sub_text, dest = fields[1], fields[2], ""
        mtype, applies = self._applies(mtype_field)
        sub_id = _int(sub_text, "subscription id")
        groups = self._groups(dest) if kind != "del" else ()
        self._count += 1
        if not applies:
            return
        if kind == "del":
            table.entries.pop((mtype, sub_id), None)
        elif groups is None:
            table.entries[(mtype, sub_id)] = RouteEntry(mtype, sub_id, (), by_meid=True)
        else:
            table.entries[(mtype, sub_id)] = RouteEntry(mtype, sub_id, groups)

    def _meid_record(self, kind: str, fields: list[str]) -> None:
        if self._kind != "meid_map":
            raise RouteTableError(f"{kind} record outside an meid_map section")
        table = self._need(kind)
        if kind == "mme_ar":
            if len(fields) < 3 or not fields[2]:
                raise RouteTableError("mme_ar record needs 3 fields: mme_ar|owner|meid ...")
            owner = _endpoint(fields[1])
            for meid in fields[2].split():
                table.meids[meid] = owner
        else:
            if len(fields) < 2 or not fields[1]:
                raise RouteTableError("mme_del record needs 2 fields: mme_del|meid ...")
            for meid in fields[1].split():
                table.meids.pop(meid, None)
        self._count += 1


def parse_route_table(
    text: str,
    *,
    me: Collection[str] = (),
    source: str = "<route table>",
    current: RouteTable | None = None,
) -> RouteTable:
    """Parse a complete route table (a seed file's content), strictly.

    Every section must be well formed and closed; any error raises
    :class:`RouteTableError` naming ``source`` and the line. Returns the
    table in force after the last section.
    """
    parser = RouteTableParser(me, current)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    table: RouteTable | None = None
    start_line = 0
    for lineno, line in enumerate(lines, 1):
        if parser.in_progress is None:
            start_line = lineno
        try:
            results = parser.feed(line)
        except RouteTableError as exc:
            raise RouteTableError(exc.message, source=f"{source}:{lineno}") from None
        for result in results:
            if not result.ok:
                raise RouteTableError(
                    f"{result.kind} section starting at line {start_line} refused: {result.reason}",
                    source=f"{source}:{lineno}",
                )
            table = result.table
    if parser.in_progress is not None:
        raise RouteTableError(
            f"{parser.in_progress}|start at line {start_line} has no {parser.in_progress}|end",
            source=source,
        )
    if table is None:
        raise RouteTableError(
            "no table in the text (expected newrt|start ... newrt|end)", source=source
        )
    return table


def load_route_table(path: str | os.PathLike[str], *, me: Iterable[str] = ()) -> RouteTable:
    """Read and parse a seed route table file (what ``RMR_SEED_RT`` names)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteTableError(
            f"cannot read route table: {exc.strerror or exc}", source=str(p)
        ) from None
    except UnicodeDecodeError:
        raise RouteTableError("route table is not UTF-8 text", source=str(p)) from None
    return parse_route_table(text, me=frozenset(me), source=str(p))
