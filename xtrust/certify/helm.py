"""A safe, dependency-free renderer of Helm charts (Go ``text/template`` + Helm functions).

``helm`` is not required: this module lexes, parses and evaluates the Go
template language the way ``helm template`` does for typical charts, so that
the Kubernetes rules run on what a cluster would receive.

Language: text and actions ``{{ }}`` with ``{{-``/``-}}`` trim markers,
comments ``{{/* */}}``, pipelines with ``|``, parenthesised sub-pipelines,
variables (``$x := ...``, ``$x = ...``, ``$``), ``.`` and field chains
(``.Values.a.b``, ``$x.a``, ``(pipeline).a``), ``if``/``else if``/``else``,
``range`` (lists, maps in key order, integers; ``$i, $v :=``; ``else``;
``break``/``continue``), ``with``/``else``, ``define``/``template``/``block``,
and Helm's ``include`` and ``tpl``. Truthiness is Go's: false, 0, nil and
empty strings, lists and maps are false. Functions: Go's built-ins and the
Sprig/Helm functions charts commonly use (:data:`FUNCTION_NAMES`).

Objects, as ``helm template`` sets them: ``.Values`` (``values.yaml`` merged
with the caller's values), ``.Release`` (``release-name`` in ``default``,
``IsInstall``), ``.Chart`` (``Chart.yaml`` with capitalised keys),
``.Capabilities`` (Kubernetes ``v1.30.0``, ``APIVersions.Has`` is always
true), ``.Template`` (``Name``, ``BasePath``) and ``.Files`` (``Get``,
``Glob``, ``Lines``, ``AsConfig``, ``AsSecrets`` on files of the chart).
Subcharts under ``charts/`` get their own ``.Values`` scope
(``.Values.<name>`` of the parent over their ``values.yaml``, plus
``global``); ``condition`` and ``alias`` of ``Chart.yaml`` dependencies are
honoured; packaged ``charts/*.tgz`` subcharts are read in memory, never
written to disk (at most 16 MiB packed, 64 MiB unpacked, 10,000 entries;
entries leaving the chart are ignored with a note); library charts
contribute only their partials, as in Helm.

Chart content is hostile: evaluation steps, output size (all buffers,
including ``include`` results), template nesting and wall-clock time are
bounded; ``.Files`` never reads outside the chart root; every problem is a
:class:`TemplateError` whose message is one line starting ``file:line:``.

Deliberate differences from Helm: numbers keep their YAML type (an integer
in ``values.yaml`` stays an integer, so ``printf "%d"`` and ``eq`` with
integer literals work and large numbers are not printed in exponent form);
an ``include``/``template`` of a name that no chart file defines renders as
empty and is listed in :attr:`RenderedTemplate.missing`; unknown functions
are reported when called, not when parsed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import math
import posixpath
import random
import re
import stat
import string
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from xtrust.errors import InputError

__all__ = [
    "FUNCTION_NAMES",
    "ChartRender",
    "RenderLimits",
    "RenderedTemplate",
    "TemplateError",
    "render_chart",
    "render_string",
]

_MAX_FILE = 2 << 20


class TemplateError(InputError):
    """A template could not be parsed or evaluated; ``str()`` is ``file:line: message``."""

    def __init__(self, message: str, *, where: str = "", kind: str = "error"):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message
        #: ``error``, ``unknown-function``, ``required``, ``fail`` or ``limit``
        self.kind = kind


class _Fail(Exception):
    """Raised inside evaluation; turned into TemplateError with the position."""

    def __init__(self, message: str, kind: str = "error"):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RenderLimits:
    """Bounds of one chart rendering (all templates and subcharts together)."""

    max_steps: int = 2_000_000
    max_output: int = 16 << 20
    max_depth: int = 40
    max_seconds: float = 20.0
    max_list: int = 100_000


# --- lexer -----------------------------------------------------------------------------------

_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
)
_WS = " \t\r\n"
_TOKEN = re.compile(
    r"""
    (?P<space>[\ \t\r\n]+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
        |(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?))
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.X,
)


@dataclass
class _Tok:
    kind: str
    text: str
    line: int
    space: bool  # preceded by white space


@dataclass
class _Text:
    text: str
    line: int


@dataclass
class _ActionItem:
    toks: list[_Tok]
    line: int


def _lex(src: str, name: str) -> list[_Text | _ActionItem]:
    items: list[_Text | _ActionItem] = []
    pos = 0
    line = 1
    n = len(src)
    trim_next = False
    while pos < n or trim_next:
        start = src.find("{{", pos)
        text = src[pos:] if start < 0 else src[pos:start]
        text_line = line
        if trim_next:
            stripped = text.lstrip(_WS)
            text_line += text.count("\n") - stripped.count("\n")
            text = stripped
            trim_next = False
        if start < 0:
            if text:
                items.append(_Text(text, text_line))
            break
        p = start + 2
        if src.startswith("-", p) and p + 1 < n and src[p + 1] in _WS:
            text = text.rstrip(_WS)
            p += 2
        if text:
            items.append(_Text(text, text_line))
        line += src.count("\n", pos, start)
        action_line = line
        while p < n and src[p] in _WS:
            p += 1
        if src.startswith("/*", p):
            end = src.find("*/", p + 2)
            if end < 0:
                raise TemplateError("unclosed comment", where=f"{name}:{action_line}")
            q = end + 2
            if src.startswith(" -}}", q) or src.startswith("\t-}}", q):
                trim_next = True
                q += 4
            elif src.startswith("}}", q):
                q += 2
            else:
                raise TemplateError(
                    "comment ends before closing delimiter", where=f"{name}:{action_line}"
                )
            line += src.count("\n", start, q)
            pos = q
            continue
        toks: list[_Tok] = []
        tline = action_line + src.count("\n", start, p)
        space = True
        while True:
            if p >= n:
                raise TemplateError("unclosed action", where=f"{name}:{action_line}")
            if src.startswith("}}", p):
                p += 2
                break
            if src[p] == "-" and src.startswith("-}}", p) and space:
                trim_next = True
                p += 3
                break
            m = _TOKEN.match(src, p)
            if m is None:
                raise TemplateError(f"unexpected {src[p]!r} in action", where=f"{name}:{tline}")
            kind = m.lastgroup or ""
            tok = m.group(0)
            if kind == "space":
                tline += tok.count("\n")
                space = True
            else:
                if kind == "number" and tok[0] in "+-" and not space and toks:
                    raise TemplateError(f"bad number syntax: {tok!r}", where=f"{name}:{tline}")
                toks.append(_Tok(kind, tok, tline, space))
                space = False
            p = m.end()
        line = tline
        pos = p
        items.append(_ActionItem(toks, action_line))
    return items


# --- parser ----------------------------------------------------------------------------------


@dataclass
class _Node:
    line: int


@dataclass
class _TextNode(_Node):
    text: str


@dataclass
class _Dot(_Node):
    pass


@dataclass
class _Const(_Node):
    value: Any


@dataclass
class _FieldNode(_Node):
    names: list[str]  # .a.b on dot


@dataclass
class _VarNode(_Node):
    name: str
    names: list[str]


@dataclass
class _Ident(_Node):
    name: str


@dataclass
class _Chain(_Node):
    node: _Node
    names: list[str]


@dataclass
class _Command(_Node):
    args: list[_Node]


@dataclass
class _Pipe(_Node):
    decl: list[str]
    assign: bool  # `=` rather than `:=`
    cmds: list[_Command]


@dataclass
class _ListNode(_Node):
    nodes: list[_Node]


@dataclass
class _ActionNode(_Node):
    pipe: _Pipe


@dataclass
class _Branch(_Node):
    kind: str  # if | range | with
    pipe: _Pipe
    body: _ListNode
    else_: _ListNode | None


@dataclass
class _TemplateNode(_Node):
    name: str
    pipe: _Pipe | None


@dataclass
class _LoopCtl(_Node):
    kind: str  # break | continue


def _unquote(tok: _Tok, where: str) -> Any:
    t = tok.text
    if tok.kind == "raw":
        return t[1:-1]
    if tok.kind in ("string", "char"):
        try:
            val = _go_unescape(t[1:-1])
        except ValueError as exc:
            raise TemplateError(f"bad string {t[:40]}: {exc}", where=where) from None
        if tok.kind == "char":
            if len(val) != 1:
                raise TemplateError(f"bad character constant {t[:20]}", where=where)
            return ord(val)
        return val
    raise TemplateError(f"not a string: {t[:40]}", where=where)


_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESC.update({"\\": "\\", '"': '"', "'": "'"})


def _go_unescape(s: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = s[i + 1] if i + 1 < len(s) else ""
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            digits = s[i + 2 : i + 2 + size]
            if len(digits) != size or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(f"bad escape \\{e}{digits}")
            out.append(chr(int(digits, 16)))
            i += 2 + size
        elif e in "01234567":
            digits = s[i + 1 : i + 4]
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError(f"unknown escape \\{e}")
    return "".join(out)


def _number(text: str) -> int | float:
    t = text.replace("_", "")
    low = t.lower().lstrip("+-")
    sign = -1 if t.startswith("-") else 1
    if low.startswith("0x"):
        return sign * int(low[2:], 16)
    if low.startswith("0o"):
        return sign * int(low[2:], 8)
    if low.startswith("0b"):
        return sign * int(low[2:], 2)
    if re.fullmatch(r"0[0-7]+", low):
        return sign * int(low, 8)
    if re.fullmatch(r"\d+", low):
        return sign * int(low)
    return float(t)


#: nested parentheses a template may use (Go's own parser has no limit; charts use a few)
MAX_PARENS = 100


class _Parser:
    """Items of one source -> a list node; ``define``/``block`` go into ``defines``."""

    def __init__(self, items: list[_Text | _ActionItem], name: str):
        self.items = items
        self.i = 0
        self.name = name
        self.defines: dict[str, _ListNode] = {}

    def where(self, line: int) -> str:
        return f"{self.name}:{line}"

    def parse(self) -> _ListNode:
        body, stop = self._list(top=True)
        if stop is not None:
            raise TemplateError(f"unexpected {{{{{stop[0]}}}}}", where=self.where(stop[1]))
        return body

    def _list(self, top: bool = False) -> tuple[_ListNode, tuple[str, int, list[_Tok]] | None]:
        """Parse until end/else (returned as the stop), or EOF (stop None)."""
        nodes: list[_Node] = []
        line = self.items[self.i].line if self.i < len(self.items) else 1
        while self.i < len(self.items):
            item = self.items[self.i]
            self.i += 1
            if isinstance(item, _Text):
                nodes.append(_TextNode(item.line, item.text))
                continue
            toks = item.toks
            if not toks:
                raise TemplateError("missing value for command", where=self.where(item.line))
            head = toks[0]
            kw = head.text if head.kind == "ident" and head.text in _KEYWORDS else ""
            if kw in ("end", "else"):
                if top:
                    raise TemplateError(f"unexpected {{{{{kw}}}}}", where=self.where(item.line))
                return _ListNode(line, nodes), (kw, item.line, toks[1:])
            if kw in ("if", "range", "with"):
                nodes.append(self._branch(kw, toks[1:], item.line))
            elif kw in ("define", "block"):
                node = self._define(kw, toks[1:], item.line)
                if node is not None:
                    nodes.append(node)
            elif kw == "template":
                nodes.append(self._template(toks[1:], item.line))
            elif kw in ("break", "continue"):
                if len(toks) > 1:
                    raise TemplateError(
                        f"unexpected tokens after {kw}", where=self.where(item.line)
                    )
                nodes.append(_LoopCtl(item.line, kw))
            else:
                pipe = self._pipe(toks, item.line, allow_decl=True)
                nodes.append(_ActionNode(item.line, pipe))
        if not top:
            return _ListNode(line, nodes), None
        return _ListNode(line, nodes), None

    def _branch(self, kind: str, toks: list[_Tok], line: int) -> _Branch:
        pipe = self._pipe(toks, line, allow_decl=True, range_decl=kind == "range", what=kind)
        body, stop = self._list()
        if stop is None:
            raise TemplateError(
                f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}", where=self.where(line)
            )
        else_: _ListNode | None = None
        if stop[0] == "else":
            rest = stop[2]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                # {{else if ...}} / {{else with ...}}: a nested branch sharing our {{end}}
                nested = self._branch(rest[0].text, rest[1:], stop[1])
                else_ = _ListNode(stop[1], [nested])
                return _Branch(line, kind, pipe, body, else_)
            if rest:
                raise TemplateError("unexpected tokens after else", where=self.where(stop[1]))
            else_, stop2 = self._list()
            if stop2 is None or stop2[0] != "end":
                raise TemplateError(
                    f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}", where=self.where(line)
                )
            if stop2[2]:
                raise TemplateError("unexpected tokens after end", where=self.where(stop2[1]))
        elif stop[2]:
            raise TemplateError("unexpected tokens after end", where=self.where(stop[1]))
        return _Branch(line, kind, pipe, body, else_)

    def _name_and_pipe(self, toks: list[_Tok], line: int, what: str) -> tuple[str, _Pipe | None]:
        if not toks or toks[0].kind not in ("string", "raw"):
            raise TemplateError(
                f"{what}: the template name must be a string constant", where=self.where(line)
            )
        name = _unquote(toks[0], self.where(line))
        pipe = self._pipe(toks[1:], line) if len(toks) > 1 else None
        return str(name), pipe

    def _define(self, kw: str, toks: list[_Tok], line: int) -> _Node | None:
        name, pipe = self._name_and_pipe(toks, line, kw)
        if kw == "define" and pipe is not None:
            raise TemplateError("define takes only a name", where=self.where(line))
        body, stop = self._list()
        if stop is None or stop[0] != "end" or stop[2]:
            raise TemplateError(
                f"unexpected EOF: {{{{{kw} {name!r}}}}} has no {{{{end}}}}", where=self.where(line)
            )
        self.defines[name] = body
        if kw == "block":
            return _TemplateNode(line, name, pipe)
        return None

    def _template(self, toks: list[_Tok], line: int) -> _TemplateNode:
        name, pipe = self._name_and_pipe(toks, line, "template")
        return _TemplateNode(line, name, pipe)

    def _pipe(
        self,
        toks: list[_Tok],
        line: int,
        *,
        allow_decl: bool = False,
        range_decl: bool = False,
        what: str = "command",
    ) -> _Pipe:
        decl: list[str] = []
        assign = False
        pos = 0
        if allow_decl and toks and toks[0].kind == "var":
            # $x := / $x = / $i, $v :=
            if len(toks) > 1 and toks[1].kind in ("declare", "assign"):
                decl = [toks[0].text]
                assign = toks[1].kind == "assign"
                pos = 2
            elif (
                range_decl
                and len(toks) > 3
                and toks[1].kind == "comma"
                and toks[2].kind == "var"
                and toks[3].kind in ("declare", "assign")
            ):
                decl = [toks[0].text, toks[2].text]
                assign = toks[3].kind == "assign"
                pos = 4
        cmds: list[_Command] = []
        args: list[_Node] = []
        rest = toks[pos:]
        j = 0
        while j < len(rest):
            tok = rest[j]
            if tok.kind == "pipe":
                if not args:
                    raise TemplateError("missing command before |", where=self.where(tok.line))
                cmds.append(_Command(tok.line, args))
                args = []
                j += 1
                continue
            node, j = self._operand(rest, j)
            args.append(node)
        if args:
            cmds.append(_Command(line, args))
        elif cmds:
            raise TemplateError("missing command after |", where=self.where(line))
        if not cmds:
            raise TemplateError(f"missing value for {what}", where=self.where(line))
        return _Pipe(line, decl, assign, cmds)

    def _operand(self, toks: list[_Tok], j: int) -> tuple[_Node, int]:
        tok = toks[j]
        where = self.where(tok.line)
        node: _Node
        if tok.kind == "lparen":
            depth = 0
            k = j
            while k < len(toks):
                if toks[k].kind == "lparen":
                    depth += 1
                    if depth > MAX_PARENS:  # bounded here, not by Python's recursion limit
                        raise TemplateError(
                            f"more than {MAX_PARENS} nested parentheses", where=where, kind="limit"
                        )
                elif toks[k].kind == "rparen":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if k >= len(toks):
                raise TemplateError("unclosed left paren", where=where)
            node = self._pipe(toks[j + 1 : k], tok.line)
            j = k + 1
        elif tok.kind == "field":
            names = [tok.text[1:]]
            j += 1
            while j < len(toks) and toks[j].kind == "field" and not toks[j].space:
                names.append(toks[j].text[1:])
                j += 1
            return _FieldNode(tok.line, names), j
        elif tok.kind == "var":
            node = _VarNode(tok.line, tok.text, [])
            j += 1
        elif tok.kind == "dot":
            node = _Dot(tok.line)
            j += 1
        elif tok.kind in ("string", "raw", "char"):
            node = _Const(tok.line, _unquote(tok, where))
            j += 1
        elif tok.kind == "number":
            try:
                node = _Const(tok.line, _number(tok.text))
            except ValueError:
                raise TemplateError(f"bad number syntax: {tok.text!r}", where=where) from None
            j += 1
        elif tok.kind == "ident":
            if tok.text in ("true", "false"):
                node = _Const(tok.line, tok.text == "true")
            elif tok.text == "nil":
                node = _Const(tok.line, None)
            elif tok.text in _KEYWORDS:
                raise TemplateError(f"unexpected keyword {tok.text!r} in command", where=where)
            else:
                node = _Ident(tok.line, tok.text)
            j += 1
        else:
            raise TemplateError(f"unexpected {tok.text!r} in operand", where=where)
        names2: list[str] = []
        while j < len(toks) and toks[j].kind == "field" and not toks[j].space:
            names2.append(toks[j].text[1:])
            j += 1
        if names2:
            if isinstance(node, _VarNode):
                node.names = names2
            elif isinstance(node, (_Const, _Ident)):
                raise TemplateError(f"unexpected . after term {tok.text!r}", where=where)
            else:
                node = _Chain(tok.line, node, names2)
        return node, j


def _parse(src: str, name: str) -> tuple[_ListNode, dict[str, _ListNode]]:
    try:
        parser = _Parser(_lex(src, name), name)
        return parser.parse(), parser.defines
    except RecursionError:
        raise TemplateError("template nested too deeply", where=f"{name}:1", kind="limit") from None


# --- values: printing, truth, YAML/JSON ---------------------------------------------------------


def _go_float(f: float) -> str:
    """Go's %v for float64 (strconv 'g', shortest)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(str(d) for d in digits)
    e10 = len(ds) + int(exp) - 1
    neg = "-" if sign else ""
    if e10 < -4 or e10 >= 21:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    return neg + format(Decimal(repr(abs(f))).normalize(), "f")


def _str(v: Any) -> str:
    """Go fmt %v (Helm prints <no value> as nothing)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, Mapping):
        return "map[" + " ".join(f"{_str(k)}:{_inner(v[k])}" for k in _sorted_keys(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_inner(x) for x in v) + "]"
    if isinstance(v, _Obj):
        return v.go_string()
    return str(v)


def _inner(v: Any) -> str:
    return "<nil>" if v is None else _str(v)


def _strval(v: Any) -> str:
    """Sprig's strval (nil -> "<nil>" like fmt.Sprintf("%v", nil))."""
    return "<nil>" if v is None else _str(v)


def _sorted_keys(m: Mapping[Any, Any]) -> list[Any]:
    try:
        return sorted(m)
    except TypeError:
        return sorted(m, key=str)


def _truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, bytes, list, tuple, Mapping)):
        return len(v) > 0
    return True


def _plain(v: Any, depth: int = 0) -> Any:
    """JSON-like copy (str keys) for serialisation; cycles and depth are bounded."""
    if depth > 200:
        raise _Fail("value nested too deeply (a cycle?)", "limit")
    if isinstance(v, Mapping):
        return {
            _str(k) if not isinstance(k, str) else k: _plain(x, depth + 1) for k, x in v.items()
        }
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, _Obj):
        return v.go_string()
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


class _GoYamlDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Close to go-yaml v2 as Helm's toYaml uses it: sorted keys, no wrapping."""


def _repr_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    resolved = dumper.resolve(yaml.ScalarNode, data, (True, False))
    if resolved != "tag:yaml.org,2002:str":
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _repr_float(dumper: yaml.SafeDumper, data: float) -> yaml.Node:
    if data.is_integer() and abs(data) < 1e15:
        # Go prints a whole float64 without a fraction (cpu: 1, not 1.0)
        return dumper.represent_int(int(data))
    return dumper.represent_float(data)


_GoYamlDumper.add_representer(str, _repr_str)
_GoYamlDumper.add_representer(float, _repr_float)


def _to_yaml(v: Any) -> str:
    data = _plain(v)
    try:
        out = yaml.dump(
            data,
            Dumper=_GoYamlDumper,
            default_flow_style=False,
            sort_keys=True,
            allow_unicode=True,
            width=1 << 30,
        )
    except (yaml.YAMLError, RecursionError, TypeError) as exc:
        raise _Fail(f"toYaml: {exc}") from None
    if out.endswith("\n...\n"):
        out = out[:-5]
    return out.removesuffix("\n")


def _whole_floats(v: Any) -> Any:
    """Go's encoding/json writes a whole float64 without a fraction (1, not 1.0)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, dict):
        return {k: _whole_floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_whole_floats(x) for x in v]
    return v


def _to_json(v: Any, indent: int | None = None, escape_html: bool = True) -> str:
    data = _whole_floats(_plain(v))
    sep = (",", ":") if indent is None else (",", ": ")
    out = json.dumps(data, sort_keys=True, separators=sep, indent=indent, ensure_ascii=False)
    if escape_html:
        out = out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return out


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append(
                {
                    "\a": "\\a",
                    "\b": "\\b",
                    "\f": "\\f",
                    "\n": "\\n",
                    "\r": "\\r",
                    "\t": "\\t",
                    "\v": "\\v",
                }[ch]
            )
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    return type(v).__name__


def _kind(v: Any) -> str:
    if v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Mapping):
        return "map"
    if isinstance(v, (list, tuple)):
        return "slice"
    return "struct"


# --- printf ---------------------------------------------------------------------------------

_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])")


def _go_sprintf(fmt: str, args: list[Any]) -> str:
    out: list[str] = []
    pos = 0
    argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width_s, prec_s, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        prec: int | None = None
        if width_s == "*":
            width = int(args[argi]) if argi < len(args) and isinstance(args[argi], int) else 0
            argi += 1
        elif width_s:
            width = int(width_s)
        if prec_s == "*":
            prec = int(args[argi]) if argi < len(args) and isinstance(args[argi], int) else 0
            argi += 1
        elif prec_s:
            prec = int(prec_s)
        elif m.group(0).find(".") >= 0:
            prec = 0
        if (width or 0) > 4096 or (prec or 0) > 4096:
            raise _Fail("printf: width or precision over 4096", "limit")
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_fmt_one(flags, width, prec, verb, arg))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{_go_type(a)}={_inner(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _fmt_one(flags: str, width: int | None, prec: int | None, verb: str, arg: Any) -> str:
    num = isinstance(arg, (int, float)) and not isinstance(arg, bool)
    s: str
    if verb in "vs":
        s = _inner(arg) if verb == "v" or not isinstance(arg, str) else arg
        if prec is not None and verb == "s":
            s = s[:prec]
    elif verb == "q":
        if isinstance(arg, str):
            s = _go_quote(arg)
        elif isinstance(arg, int) and not isinstance(arg, bool):
            s = "'" + _go_quote(chr(arg))[1:-1].replace("'", "\\'") + "'"
        else:
            return f"%!q({_go_type(arg)}={_inner(arg)})"
    elif verb == "t":
        if not isinstance(arg, bool):
            return f"%!t({_go_type(arg)}={_inner(arg)})"
        s = "true" if arg else "false"
    elif verb in "dboxXc" and isinstance(arg, int) and not isinstance(arg, bool):
        if verb == "c":
            s = chr(arg) if 0 <= arg < 0x110000 else "\ufffd"
        else:
            base = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
            s = format(abs(arg), base)
            if "#" in flags and verb in "xX":
                s = ("0x" if verb == "x" else "0X") + s
            if arg < 0:
                s = "-" + s
            elif "+" in flags:
                s = "+" + s
            elif " " in flags:
                s = " " + s
    elif verb in "xX" and isinstance(arg, str):
        s = arg.encode().hex()
        s = s.upper() if verb == "X" else s
    elif verb in "eEfFgG" and num:
        f = float(arg)
        if verb in "gG" and prec is None:
            s = _go_float(f)
            s = s.upper() if verb == "G" else s
        else:
            p = 6 if prec is None else prec
            s = format(f, f"{'+' if '+' in flags else ''}.{p}{verb}")
    else:
        return f"%!{verb}({_go_type(arg)}={_inner(arg)})"
    if width is not None and len(s) < width:
        if "-" in flags:
            s = s.ljust(width)
        elif "0" in flags and num:
            sign = s[0] if s[:1] in "+- " and s else ""
            s = sign + s[len(sign) :].rjust(width - len(sign), "0")
        else:
            s = s.rjust(width)
    return s


# --- Helm objects --------------------------------------------------------------------------


class _Obj:
    """A Go struct-like object: fields and methods reached with .Name."""

    def field(self, name: str) -> Any:
        raise _Fail(f"can't evaluate field {name} in type {type(self).__name__}")

    def go_string(self) -> str:
        return "{}"


class _Method:
    def __init__(self, fn: Callable[..., Any], name: str):
        self.fn = fn
        self.name = name


class _Capabilities(_Obj):
    def __init__(self, kube_version: str):
        self.kube = kube_version

    def field(self, name: str) -> Any:
        if name == "KubeVersion":
            parts = self.kube.lstrip("v").split(".")
            return {
                "Version": self.kube,
                "GitVersion": self.kube,
                "Major": parts[0],
                "Minor": parts[1] if len(parts) > 1 else "0",
            }
        if name == "APIVersions":
            return _APIVersions()
        if name == "HelmVersion":
            return {"Version": "v3.16.0", "GitCommit": "", "GoVersion": "go1.22"}
        return super().field(name)


class _APIVersions(_Obj):
    def field(self, name: str) -> Any:
        if name == "Has":
            return _Method(lambda _v: True, "Has")
        return super().field(name)


class _Files(_Obj):
    """Helm's .Files: chart files except templates/, charts/, Chart.yaml, values.yaml."""

    def __init__(self, tree: _Tree, names: list[str], budget: _Budget):
        self.tree = tree
        self.names = sorted(names)
        self.budget = budget

    def _read(self, name: Any) -> str:
        rel = _str(name)
        norm = posixpath.normpath(rel.replace("\\", "/")) if rel else ""
        if not rel or rel.startswith("/") or norm == ".." or norm.startswith("../"):
            raise _Fail(f"Files.Get {_go_quote(rel)}: path is outside the chart")
        if norm not in self.names:
            return ""
        try:
            data = self.tree.read(norm)
        except _TooBig:
            raise _Fail(f"Files.Get {_go_quote(rel)}: file over 2 MiB", "limit") from None
        return "" if data is None else data.decode("utf-8", "replace")

    def _glob(self, pattern: Any) -> _Files:
        patterns = [_glob_tokens(p) for p in _glob_expand(_str(pattern))]
        self.budget.step(len(self.names) * len(patterns))
        names = [n for n in self.names if any(_glob_match(t, n) for t in patterns)]
        return _Files(self.tree, names, self.budget)

    def _as(self, secret: bool) -> str:
        data = {}
        for n in self.names:
            text = self._read(n)
            data[posixpath.basename(n)] = (
                base64.b64encode(text.encode()).decode() if secret else text
            )
        return _to_yaml(data) if data else ""

    def field(self, name: str) -> Any:
        if name == "Get":
            return _Method(self._read, "Get")
        if name == "GetBytes":
            return _Method(lambda n: self._read(n).encode(), "GetBytes")
        if name == "Glob":
            return _Method(self._glob, "Glob")
        if name == "Lines":
            return _Method(lambda n: self._read(n).split("\n"), "Lines")
        if name == "AsConfig":
            return _Method(lambda: self._as(False), "AsConfig")
        if name == "AsSecrets":
            return _Method(lambda: self._as(True), "AsSecrets")
        return super().field(name)

    def items(self) -> Iterator[tuple[str, str]]:
        for n in self.names:
            yield n, self._read(n)

    def go_string(self) -> str:
        return "map[" + " ".join(self.names) + "]"


def _glob_expand(pat: str) -> list[str]:
    """Expand ``{a,b}`` alternatives (at most 64 patterns)."""
    out = [pat]
    for _ in range(8):
        nxt: list[str] = []
        for p in out:
            start = p.find("{")
            end = p.find("}", start + 1)
            if start < 0 or end < 0:
                nxt.append(p)
                continue
            nxt.extend(p[:start] + alt + p[end + 1 :] for alt in p[start + 1 : end].split(","))
        if len(nxt) > 64:
            raise _Fail("Files.Glob: too many {} alternatives", "limit")
        if nxt == out:
            break
        out = nxt
    return out


def _glob_tokens(pat: str) -> list[tuple[str, str, bool]]:
    toks: list[tuple[str, str, bool]] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**", i):
            toks.append(("any", "", False))
            i += 2
            while pat.startswith("*", i):
                i += 1
            continue
        if c == "*":
            toks.append(("seg", "", False))
        elif c == "?":
            toks.append(("one", "", False))
        elif c == "[" and pat.find("]", i + 2) > 0:
            end = pat.find("]", i + 2)
            body = pat[i + 1 : end]
            neg = body[:1] in ("!", "^")
            toks.append(("class", body[1:] if neg else body, neg))
            i = end + 1
            continue
        else:
            if c == "\\" and i + 1 < len(pat):
                i += 1
                c = pat[i]
            toks.append(("lit", c, False))
        i += 1
    return toks


def _class_has(body: str, ch: str) -> bool:
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            if body[i] <= ch <= body[i + 2]:
                return True
            i += 3
        else:
            if body[i] == ch:
                return True
            i += 1
    return False


def _glob_match(toks: list[tuple[str, str, bool]], name: str) -> bool:
    """gobwas/glob as Helm uses it (``*`` within a path segment, ``**`` across);
    a set-of-states matcher: linear in the name, never backtracking."""

    def closure(states: set[int]) -> set[int]:
        out = set(states)
        for i in sorted(states):
            j = i
            while j < len(toks) and toks[j][0] in ("seg", "any"):
                j += 1
                out.add(j)
        return out

    states = closure({0})
    for ch in name:
        nxt: set[int] = set()
        for i in states:
            if i >= len(toks):
                continue
            kind, arg, neg = toks[i]
            if kind == "any" or (kind == "seg" and ch != "/"):
                nxt.add(i)
            elif (
                (kind == "one" and ch != "/")
                or (kind == "lit" and ch == arg)
                or (kind == "class" and ch != "/" and _class_has(arg, ch) != neg)
            ):
                nxt.add(i + 1)
        if not nxt:
            return False
        states = closure(nxt)
    return len(toks) in states


# --- evaluation ---------------------------------------------------------------------------


class _Budget:
    def __init__(self, limits: RenderLimits):
        self.limits = limits
        self.steps = 0
        self.output = 0
        self.deadline = time.monotonic() + limits.max_seconds
        self.next_check = 1024

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.limits.max_steps:
            raise _Fail(f"more than {self.limits.max_steps} evaluation steps", "limit")
        if self.steps >= self.next_check:
            self.next_check = self.steps + 1024
            if time.monotonic() > self.deadline:
                raise _Fail(f"rendering took longer than {self.limits.max_seconds:g} s", "limit")

    def write(self, n: int) -> None:
        self.output += n
        if self.output > self.limits.max_output:
            raise _Fail(f"output larger than {self.limits.max_output} bytes", "limit")


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Set:
    """The named templates of a chart render (all charts share one set, as in Helm)."""

    def __init__(self) -> None:
        self.defs: dict[str, tuple[str, _ListNode]] = {}  # name -> (file, body)

    def add(self, file: str, defines: dict[str, _ListNode]) -> None:
        for name, body in defines.items():
            self.defs[name] = (file, body)


class _Exec:
    def __init__(
        self,
        tset: _Set,
        budget: _Budget,
        template_name: str,
        base_path: str,
        missing: set[str],
    ):
        self.tset = tset
        self.budget = budget
        self.template_name = template_name
        self.base_path = base_path
        self.missing = missing
        self.depth = 0
        self.file = template_name
        self.line = 0
        self.rand_calls = 0  # random stand-ins differ per call, yet every run is the same

    # entry points
    def run(self, body: _ListNode, dot: Any, file: str) -> str:
        out: list[str] = []
        saved = self.file, self.line
        self.file = file
        with contextlib.suppress(_Break, _Continue):
            self._list(body, dot, [["$", dot]], out)
        self.file, self.line = saved
        return "".join(out)

    def call_template(self, name: str, dot: Any, via: str = "template") -> str:
        entry = self.tset.defs.get(name)
        if entry is None:
            self.missing.add(f"{via} {_go_quote(name)}")
            return ""
        self.depth += 1
        if self.depth > self.budget.limits.max_depth:
            raise _Fail(
                f"template {_go_quote(name)}: more than {self.budget.limits.max_depth} nested include/template calls (recursion?)",
                "limit",
            )
        try:
            return self.run(entry[1], dot, entry[0])
        finally:
            self.depth -= 1

    # nodes
    def _list(self, node: _ListNode, dot: Any, vars_: list[list[Any]], out: list[str]) -> None:
        mark = len(vars_)
        try:
            for n in node.nodes:
                self.budget.step()
                self.line = n.line
                if isinstance(n, _TextNode):
                    self._emit(out, n.text)
                elif isinstance(n, _ActionNode):
                    val = self._pipe(n.pipe, dot, vars_)
                    if not n.pipe.decl:
                        self._emit(out, _str(val))
                elif isinstance(n, _Branch):
                    self._branch(n, dot, vars_, out)
                elif isinstance(n, _TemplateNode):
                    arg = self._pipe(n.pipe, dot, vars_) if n.pipe is not None else None
                    self._emit(out, self.call_template(n.name, arg))
                elif isinstance(n, _LoopCtl):
                    raise _Break() if n.kind == "break" else _Continue()
        finally:
            del vars_[mark:]

    def _emit(self, out: list[str], s: str) -> None:
        if s:
            self.budget.write(len(s))
            out.append(s)

    def _branch(self, n: _Branch, dot: Any, vars_: list[list[Any]], out: list[str]) -> None:
        mark = len(vars_)
        try:
            if n.kind == "range":
                self._range(n, dot, vars_, out)
                return
            val = self._pipe(n.pipe, dot, vars_, decl_range=False)
            if _truth(val):
                self._list(n.body, val if n.kind == "with" else dot, vars_, out)
            elif n.else_ is not None:
                self._list(n.else_, dot, vars_, out)
        finally:
            del vars_[mark:]

    def _range(self, n: _Branch, dot: Any, vars_: list[list[Any]], out: list[str]) -> None:
        val = self._pipe(n.pipe, dot, vars_, decl_range=True)
        pairs: Iterator[tuple[Any, Any]]
        if val is None:
            count = 0
            pairs = iter(())
        elif isinstance(val, Mapping):
            keys = _sorted_keys(val)
            count = len(keys)
            pairs = ((k, val[k]) for k in keys)
        elif isinstance(val, (list, tuple)):
            count = len(val)
            pairs = iter(enumerate(list(val)))
        elif isinstance(val, _Files):
            items = list(val.items())
            count = len(items)
            pairs = iter(items)
        elif isinstance(val, int) and not isinstance(val, bool):
            count = max(val, 0)
            if count > self.budget.limits.max_list:
                raise _Fail(
                    f"range over {val}: more than {self.budget.limits.max_list} iterations", "limit"
                )
            pairs = ((i, i) for i in range(count))
        else:
            raise _Fail(f"range can't iterate over {_inner(val)[:60]}")
        if count == 0:
            if n.else_ is not None:
                self._list(n.else_, dot, vars_, out)
            return
        decl = n.pipe.decl
        for k, v in pairs:
            self.budget.step()
            mark = len(vars_)
            if len(decl) == 1:
                self._declare(vars_, decl[0], v, n.pipe.assign)
            elif len(decl) == 2:
                self._declare(vars_, decl[0], k, n.pipe.assign)
                self._declare(vars_, decl[1], v, n.pipe.assign)
            try:
                self._list(n.body, v, vars_, out)
            except _Break:
                break
            except _Continue:
                continue
            finally:
                del vars_[mark:]

    def _declare(self, vars_: list[list[Any]], name: str, val: Any, assign: bool) -> None:
        if assign:
            for entry in reversed(vars_):
                if entry[0] == name:
                    entry[1] = val
                    return
            raise _Fail(f"undefined variable: {name}")
        vars_.append([name, val])

    def _pipe(self, p: _Pipe, dot: Any, vars_: list[list[Any]], decl_range: bool = False) -> Any:
        val: Any = None
        first = True
        for cmd in p.cmds:
            val = self._command(cmd, dot, vars_, None if first else (val,))
            first = False
        if p.decl and not decl_range:
            for name in p.decl:
                self._declare(vars_, name, val, p.assign)
        return val

    def _command(
        self, cmd: _Command, dot: Any, vars_: list[list[Any]], final: tuple[Any] | None
    ) -> Any:
        self.budget.step()
        head = cmd.args[0]
        self.line = cmd.line
        if isinstance(head, _Ident):
            return self._call(head.name, cmd.args[1:], dot, vars_, final)
        if isinstance(head, _FieldNode):
            return self._field_chain(
                dot, head.names, cmd.args[1:], dot, vars_, final, head_name="."
            )
        if isinstance(head, _Chain):
            base = self._arg(head.node, dot, vars_)
            return self._field_chain(
                base, head.names, cmd.args[1:], dot, vars_, final, head_name=""
            )
        if isinstance(head, _VarNode) and head.names:
            base = self._var(head.name, vars_)
            return self._field_chain(
                base, head.names, cmd.args[1:], dot, vars_, final, head_name=head.name
            )
        if len(cmd.args) > 1 or final is not None:
            raise _Fail(f"can't give argument to non-function {self._describe(head)}")
        return self._arg(head, dot, vars_)

    def _describe(self, node: _Node) -> str:
        if isinstance(node, _Const):
            return repr(node.value)
        if isinstance(node, _VarNode):
            return node.name
        return type(node).__name__.strip("_").lower()

    def _var(self, name: str, vars_: list[list[Any]]) -> Any:
        for entry in reversed(vars_):
            if entry[0] == name:
                return entry[1]
        raise _Fail(f"undefined variable: {name}")

    def _arg(self, node: _Node, dot: Any, vars_: list[list[Any]]) -> Any:
        self.budget.step()
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Dot):
            return dot
        if isinstance(node, _FieldNode):
            return self._field_chain(dot, node.names, [], dot, vars_, None, head_name=".")
        if isinstance(node, _VarNode):
            base = self._var(node.name, vars_)
            if node.names:
                return self._field_chain(
                    base, node.names, [], dot, vars_, None, head_name=node.name
                )
            return base
        if isinstance(node, _Pipe):
            inner: list[list[Any]] = vars_
            mark = len(inner)
            try:
                return self._pipe(node, dot, inner)
            finally:
                del inner[mark:]
        if isinstance(node, _Chain):
            base = self._arg(node.node, dot, vars_)
            return self._field_chain(base, node.names, [], dot, vars_, None, head_name="")
        if isinstance(node, _Ident):
            return self._call(node.name, [], dot, vars_, None)
        raise _Fail(f"can't evaluate {type(node).__name__}")

    def _field_chain(
        self,
        recv: Any,
        names: list[str],
        args: list[_Node],
        dot: Any,
        vars_: list[list[Any]],
        final: tuple[Any] | None,
        head_name: str,
    ) -> Any:
        for i, name in enumerate(names):
            last = i == len(names) - 1
            recv = self._field(recv, name, names[:i])
            if isinstance(recv, _Method):
                call_args = [self._arg(a, dot, vars_) for a in args] if last else []
                if last and final is not None:
                    call_args.append(final[0])
                try:
                    recv = recv.fn(*call_args)
                except TypeError:
                    raise _Fail(f"wrong number of arguments for {recv.name}") from None
                if last:
                    return recv
        if args or final is not None:
            raise _Fail(f".{'.'.join(names)} is not a method but has arguments")
        return recv

    def _field(self, recv: Any, name: str, path: list[str]) -> Any:
        if isinstance(recv, _Obj):
            return recv.field(name)
        if isinstance(recv, Mapping):
            return recv.get(name)
        where = ".".join(["", *path]) or "."
        if recv is None:
            raise _Fail(f"nil pointer evaluating interface {{}}.{name} (at {where})")
        raise _Fail(f"can't evaluate field {name} in type {_go_type(recv)}")

    def _call(
        self,
        name: str,
        arg_nodes: list[_Node],
        dot: Any,
        vars_: list[list[Any]],
        final: tuple[Any] | None,
    ) -> Any:
        if name in ("and", "or"):
            count = len(arg_nodes) + (final is not None)
            if not count:
                raise _Fail(f"wrong number of args for {name}: want at least 1 got 0")
            v: Any = None
            for i in range(count):
                v = self._arg(arg_nodes[i], dot, vars_) if i < len(arg_nodes) else final[0]  # type: ignore[index]
                if _truth(v) != (name == "and"):
                    return v
            return v
        fn = _FUNCS.get(name)
        if fn is None:
            raise _Fail(f'function "{name}" not defined', "unknown-function")
        args = [self._arg(a, dot, vars_) for a in arg_nodes]
        if final is not None:
            args.append(final[0])
        try:
            result = fn(self, *args)
        except TypeError as exc:
            if "positional argument" in str(exc) or "required" in str(exc):
                raise _Fail(f"wrong number of args for {name}: got {len(args)}") from None
            raise _Fail(f"error calling {name}: {exc}") from None
        except (ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise _Fail(f"error calling {name}: {exc}") from None
        if isinstance(result, str) and len(result) > 64:
            # work proportional to the size of what a function built (toYaml, repeat ...)
            self.budget.step(len(result) // 64)
        return result

    def tpl(self, text: str, dot: Any) -> str:
        """Helm's tpl; an error inside the string is reported at the calling action."""
        file, line = self.file, self.line
        try:
            body, defines = _parse(text, "tpl")
        except TemplateError as exc:
            raise _Fail(f"error calling tpl: {exc}", exc.kind) from None
        self.tset.add(file, defines)
        self.depth += 1
        if self.depth > self.budget.limits.max_depth:
            raise _Fail(
                f"tpl: more than {self.budget.limits.max_depth} nested calls (recursion?)", "limit"
            )
        try:
            return self.run(body, dot, "tpl")
        except _Fail as exc:
            if self.file != "tpl":
                raise
            inner = self.line
            self.file, self.line = file, line
            raise _Fail(f"error calling tpl: tpl:{inner}: {exc}", exc.kind) from None
        finally:
            self.depth -= 1


# --- functions ------------------------------------------------------------------------------


def _need_str(fn: str, v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return _strval(v)


def _int(v: Any) -> int:
    """cast.ToInt as Sprig uses it: strings are parsed, junk is 0."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return 0
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s, 0)
        except ValueError:
            try:
                return int(float(s)) if re.fullmatch(r"[+-]?\d+\.\d*", s) else 0
            except ValueError:
                return 0
    return 0


def _float(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return 0.0
    return 0.0


def _empty(v: Any) -> bool:
    return not _truth(v)


def _cmp_args(name: str, a: Any, b: Any) -> tuple[Any, Any]:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        if type(a) is not type(b):
            raise _Fail(f"{name}: incompatible types for comparison")
        return a, b
    if isinstance(a, num) and isinstance(b, num):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if a is None or b is None:
        return a, b
    raise _Fail(f"{name}: incompatible types for comparison ({_go_type(a)} and {_go_type(b)})")


def _eq(_: _Exec, a: Any, *bs: Any) -> bool:
    if not bs:
        raise _Fail("missing argument for comparison")
    for b in bs:
        if isinstance(a, (Mapping, list)) or isinstance(b, (Mapping, list)):
            raise _Fail("eq: non-comparable type")
        x, y = _cmp_args("eq", a, b)
        if x == y:
            return True
    return False


def _order(op: str) -> Callable[..., bool]:
    def f(_: _Exec, a: Any, b: Any) -> bool:
        if a is None or b is None or isinstance(a, (bool, Mapping, list)):
            raise _Fail(f"{op}: invalid type for comparison")
        x, y = _cmp_args(op, a, b)
        return bool({"lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y}[op])

    return f


def _len(_: _Exec, v: Any) -> int:
    if isinstance(v, (str, list, tuple, Mapping, bytes)):
        return len(v)
    if isinstance(v, _Files):
        return len(v.names)
    raise _Fail(f"len of type {_go_type(v)}")


def _index(_: _Exec, coll: Any, *keys: Any) -> Any:
    cur = coll
    for k in keys:
        if isinstance(cur, Mapping):
            cur = cur.get(k)
        elif isinstance(cur, (list, tuple, str)):
            if not isinstance(k, int) or isinstance(k, bool):
                raise _Fail(f"cannot index slice/array with type {_go_type(k)}")
            if not 0 <= k < len(cur):
                raise _Fail(f"index out of range: {k}")
            cur = cur[k] if not isinstance(cur, str) else ord(cur[k])
        elif cur is None:
            raise _Fail("index of untyped nil")
        else:
            raise _Fail(f"can't index item of type {_go_type(cur)}")
    return cur


def _go_print(args: tuple[Any, ...], ln: bool) -> str:
    out: list[str] = []
    for i, a in enumerate(args):
        if i and (ln or not (isinstance(a, str) or isinstance(args[i - 1], str))):
            out.append(" ")
        out.append(_inner(a))
    if ln:
        out.append("\n")
    return "".join(out)


def _default(_: _Exec, dflt: Any, *given: Any) -> Any:
    if not given or _empty(given[0]):
        return dflt
    return given[0]


def _required(_: _Exec, msg: Any, val: Any) -> Any:
    if val is None or (isinstance(val, str) and val == ""):
        raise _Fail(_str(msg), "required")
    return val


def _fail(_: _Exec, msg: Any) -> Any:
    raise _Fail(_str(msg), "fail")


def _title(s: str) -> str:
    out = []
    prev_letter = False
    for ch in s:
        letter = ch.isalnum() or ch in "_'"
        out.append(ch.upper() if letter and not prev_letter else ch)
        prev_letter = letter
    return "".join(out)


def _trunc(_: _Exec, n: Any, s: Any) -> str:
    s = _need_str("trunc", s)
    n = _int(n)
    if n < 0:
        return s[max(len(s) + n, 0) :]
    return s[:n]


def _indent(_: _Exec, n: Any, s: Any) -> str:
    n = _int(n)
    if n > 1024:
        raise _Fail("indent over 1024", "limit")
    pad = " " * max(n, 0)
    return pad + _need_str("indent", s).replace("\n", "\n" + pad)


def _check_size(ex: _Exec, s: str) -> str:
    if len(s) > ex.budget.limits.max_output:
        raise _Fail(f"string larger than {ex.budget.limits.max_output} bytes", "limit")
    return s


def _dict(_: _Exec, *kv: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(kv), 2):
        out[_strval(kv[i])] = kv[i + 1] if i + 1 < len(kv) else ""
    return out


def _get(_: _Exec, d: Any, key: Any) -> Any:
    if not isinstance(d, Mapping):
        raise _Fail(f"get: first argument is {_go_type(d)}, not a map")
    return d.get(_str(key), "")


def _set(_: _Exec, d: Any, key: Any, val: Any) -> Any:
    if not isinstance(d, dict):
        raise _Fail(f"set: first argument is {_go_type(d)}, not a map")
    d[_str(key)] = val
    return d


def _has_key(_: _Exec, d: Any, key: Any) -> bool:
    if not isinstance(d, Mapping):
        raise _Fail(f"hasKey: first argument is {_go_type(d)}, not a map")
    return _str(key) in d


def _keys(_: _Exec, *ds: Any) -> list[Any]:
    out: list[Any] = []
    for d in ds:
        if not isinstance(d, Mapping):
            raise _Fail(f"keys: argument is {_go_type(d)}, not a map")
        out.extend(d.keys())
    return out


def _deep_merge(
    dst: dict[str, Any], src: Mapping[str, Any], overwrite: bool, depth: int = 0
) -> None:
    if depth > 100:
        raise _Fail("merge: values nested too deeply", "limit")
    for k, v in src.items():
        if k in dst and isinstance(dst[k], dict) and isinstance(v, Mapping):
            _deep_merge(dst[k], v, overwrite, depth + 1)
        elif k not in dst or (overwrite and v is not None) or (not overwrite and _empty(dst[k])):
            dst[k] = _copy(v)


def _copy(v: Any, depth: int = 0) -> Any:
    if depth > 200:
        raise _Fail("value nested too deeply (a cycle?)", "limit")
    if isinstance(v, Mapping):
        return {k: _copy(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x, depth + 1) for x in v]
    return v


def _merge(overwrite: bool) -> Callable[..., Any]:
    def f(_: _Exec, dst: Any, *srcs: Any) -> Any:
        if not isinstance(dst, dict):
            raise _Fail(f"merge: destination is {_go_type(dst)}, not a map")
        for s in srcs:
            if isinstance(s, Mapping):
                _deep_merge(dst, s, overwrite)
        return dst

    return f


def _semver(text: str) -> tuple[tuple[int, int, int], tuple[Any, ...]] | None:
    m = re.fullmatch(
        r"\s*[vV]?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*",
        text,
    )
    if not m:
        return None
    nums = tuple(int(x) if x and x.isdigit() else 0 for x in m.group(1, 2, 3))
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return (nums[0], nums[1], nums[2]), pre


def _ver_key(v: tuple[tuple[int, int, int], tuple[Any, ...]]) -> tuple[Any, ...]:
    nums, pre = v
    # a pre-release sorts before its release; ints before strings inside pre-releases
    pre_key = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in pre)
    return (nums, 0 if pre else 1, pre_key)


def _semver_compare(_: _Exec, constraint: Any, version: Any) -> bool:
    ver = _semver(_str(version))
    if ver is None:
        raise _Fail(f"semverCompare: invalid semantic version {_str(version)!r}")
    key = _ver_key(ver)
    if not ver[1]:
        key = (ver[0], 1, ())
    for alt in _str(constraint).split("||"):
        ok = True
        for part in re.findall(r"(?:[<>=!~^]+\s*)?[^\s,]+", alt.replace(",", " ")):
            m = re.fullmatch(r"([<>=!~^]*)\s*(.+)", part)
            if not m:
                continue
            op, vs = m.group(1) or "=", m.group(2)
            if vs in ("*", "x", "X"):
                continue
            cv = _semver(vs)
            if cv is None:
                raise _Fail(f"semverCompare: invalid constraint {part!r}")
            wild = bool(re.search(r"\.[xX*]", vs)) or vs.count(".") < 2
            lo = _ver_key(cv)
            (ma, mi, _pa), _pre = cv
            if op in ("~", "~>"):
                hi = (ma, mi + 1, 0) if vs.count(".") >= 1 else (ma + 1, 0, 0)
                ok = key >= lo and key < (hi, 0, ())
            elif op == "^":
                hi = (
                    (ma + 1, 0, 0)
                    if ma > 0
                    else ((0, mi + 1, 0) if vs.count(".") >= 1 else (1, 0, 0))
                )
                ok = key >= lo and key < (hi, 0, ())
            elif op in ("=", "==") and wild:
                hi = (ma, mi + 1, 0) if vs.count(".") >= 1 else (ma + 1, 0, 0)
                ok = key >= lo and key < (hi, 0, ())
            else:
                cmp = {
                    "=": key == lo,
                    "==": key == lo,
                    "!=": key != lo,
                    ">": key > lo,
                    "<": key < lo,
                    ">=": key >= lo,
                    "<=": key <= lo,
                }
                if op not in cmp:
                    raise _Fail(f"semverCompare: unknown operator {op!r}")
                ok = cmp[op]
            if not ok:
                break
        if ok:
            return True
    return False


def _b64dec(_: _Exec, s: Any) -> str:
    try:
        return base64.b64decode(_need_str("b64dec", s), validate=True).decode("utf-8", "replace")
    except (ValueError, TypeError) as exc:
        return str(exc)


def _from_yaml(_: _Exec, s: Any) -> Any:
    from xtrust.certify.analyzers.k8s import YamlProblem, load_yaml_documents

    try:
        docs = load_yaml_documents(_need_str("fromYaml", s))
    except YamlProblem as exc:
        return {"Error": str(exc)}
    data = docs[0].data if docs else {}
    return data if isinstance(data, dict) else {}


def _from_json(_: _Exec, s: Any) -> Any:
    try:
        return json.loads(_need_str("fromJson", s))
    except (ValueError, RecursionError) as exc:
        return {"Error": str(exc)}


def _until(ex: _Exec, n: Any) -> list[int]:
    n = _int(n)
    if abs(n) > ex.budget.limits.max_list:
        raise _Fail(f"until {n}: more than {ex.budget.limits.max_list} elements", "limit")
    return list(range(n)) if n >= 0 else list(range(0, n, -1))


def _repeat(ex: _Exec, n: Any, s: Any) -> str:
    s = _need_str("repeat", s)
    n = _int(n)
    if n * len(s) > ex.budget.limits.max_output:
        raise _Fail(f"repeat: result larger than {ex.budget.limits.max_output} bytes", "limit")
    return s * max(n, 0)


def _coalesce(_: _Exec, *vals: Any) -> Any:
    for v in vals:
        if not _empty(v):
            return v
    return None


def _list_of(name: str, v: Any) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return list(v)
    raise _Fail(f"{name}: argument is {_go_type(v)}, not a list")


def _arith(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def f(_: _Exec, a: Any, b: Any) -> Any:
        return op(_int(a), _int(b))

    return f


def _div(_: _Exec, a: Any, b: Any) -> int:
    a, b = _int(a), _int(b)
    if b == 0:
        raise _Fail("integer divide by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mod(_: _Exec, a: Any, b: Any) -> int:
    a, b = _int(a), _int(b)
    if b == 0:
        raise _Fail("integer divide by zero")
    return int(math.fmod(a, b))


def _tpl(ex: _Exec, text: Any, dot: Any) -> str:
    return ex.tpl(_need_str("tpl", text), dot)


def _include(ex: _Exec, name: Any, dot: Any = None) -> str:
    return ex.call_template(_str(name), dot, "include")


def _to_string(_: _Exec, v: Any) -> str:
    return _strval(v)


def _join(_: _Exec, sep: Any, v: Any) -> str:
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    return _str(sep).join(_strval(x) for x in items if x is not None)


def _split_list(_: _Exec, sep: Any, s: Any) -> list[str]:
    sep_s, text = _str(sep), _need_str("splitList", s)
    return text.split(sep_s) if sep_s else list(text)


def _split(_: _Exec, sep: Any, s: Any) -> dict[str, str]:
    parts = _split_list(_, sep, s)
    return {f"_{i}": p for i, p in enumerate(parts)}


def _hash(algo: str) -> Callable[..., str]:
    def f(_: _Exec, s: Any) -> str:
        return hashlib.new(algo, _need_str(algo, s).encode()).hexdigest()

    return f


def _s(fn: Callable[[str], Any]) -> Callable[..., Any]:
    """A one-string function taking its argument last."""

    def f(_: _Exec, s: Any) -> Any:
        return fn(_need_str("", s))

    return f


def _s2(fn: Callable[[str, str], Any]) -> Callable[..., Any]:
    def f(_: _Exec, a: Any, s: Any) -> Any:
        return fn(_need_str("", a), _need_str("", s))

    return f


def _lookup(_: _Exec, *args: Any) -> dict[str, Any]:
    if len(args) != 4:
        raise _Fail(f"wrong number of args for lookup: want 4 got {len(args)}")
    return {}


def _dig(_: _Exec, *args: Any) -> Any:
    if len(args) < 3:
        raise _Fail("dig: needs keys, a default and a map")
    keys, dflt, d = args[:-2], args[-2], args[-1]
    cur = d
    for k in keys:
        if not isinstance(cur, Mapping) or _str(k) not in cur:
            return dflt
        cur = cur[_str(k)]
    return cur


def _uniq(_: _Exec, v: Any) -> list[Any]:
    out: list[Any] = []
    for x in _list_of("uniq", v):
        if x not in out:
            out.append(x)
    return out


def _has(_: _Exec, needle: Any, hay: Any) -> bool:
    return hay is not None and needle in _list_of("has", hay)


def _pick_omit(pick: bool) -> Callable[..., Any]:
    def f(_: _Exec, d: Any, *ks: Any) -> dict[str, Any]:
        if not isinstance(d, Mapping):
            raise _Fail(f"{'pick' if pick else 'omit'}: argument is {_go_type(d)}, not a map")
        names = {_str(k) for k in ks}
        return {k: v for k, v in d.items() if (k in names) == pick}

    return f


def _substr(_: _Exec, start: Any, end: Any, s: Any) -> str:
    text = _need_str("substr", s)
    a, b = _int(start), _int(end)
    if a < 0:
        return text[:b]
    if b < 0 or b > len(text):
        return text[a:]
    return text[a:b]


def _slice(_: _Exec, v: Any, *ix: Any) -> Any:
    items = v if isinstance(v, str) else _list_of("slice", v)
    start = _int(ix[0]) if ix else 0
    end = _int(ix[1]) if len(ix) > 1 else len(items)
    if not 0 <= start <= end <= len(items):
        raise _Fail(f"slice: index out of range [{start}:{end}] with length {len(items)}")
    return items[start:end]


def _abbrev(n: int, s: str) -> str:
    if n < 4 or len(s) <= n:
        return s
    return s[: n - 3] + "..."


def _words_join(s: str, sep: str) -> str:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", s)
    return sep.join(w.lower() for w in words)


def _rand(alphabet: str) -> Callable[..., str]:
    def f(ex: _Exec, n: Any) -> str:
        count = _int(n)
        if count > 4096:
            raise _Fail("random string longer than 4096", "limit")
        ex.rand_calls += 1
        rng = random.Random(f"{ex.template_name}:{count}:{ex.rand_calls}")
        return "".join(rng.choice(alphabet) for _ in range(max(count, 0)))

    return f


_FUNCS: dict[str, Callable[..., Any]] = {
    # Go text/template built-ins
    "not": lambda _, v: not _truth(v),
    "eq": _eq,
    "ne": lambda ex, a, b: not _eq(ex, a, b),
    "lt": _order("lt"),
    "le": _order("le"),
    "gt": _order("gt"),
    "ge": _order("ge"),
    "len": _len,
    "index": _index,
    "print": lambda _, *a: _go_print(a, False),
    "println": lambda _, *a: _go_print(a, True),
    "printf": lambda _, f, *a: _go_sprintf(_str(f), list(a)),
    "html": _s(
        lambda s: (
            s.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&#34;")
            .replace("'", "&#39;")
        )
    ),
    # Helm
    "include": _include,
    "tpl": _tpl,
    "required": _required,
    "fail": _fail,
    "lookup": _lookup,
    "toYaml": lambda _, v: _to_yaml(v),
    "toYamlPretty": lambda _, v: _to_yaml(v),
    "fromYaml": _from_yaml,
    "toJson": lambda _, v: _to_json(v),
    "mustToJson": lambda _, v: _to_json(v),
    "toPrettyJson": lambda _, v: _to_json(v, indent=2),
    "toRawJson": lambda _, v: _to_json(v, escape_html=False),
    "fromJson": _from_json,
    # Sprig: defaults, logic, types
    "default": _default,
    "empty": lambda _, v: _empty(v),
    "coalesce": _coalesce,
    "ternary": lambda _, t, f, c: t if _truth(c) else f,
    "toString": _to_string,
    "toStrings": lambda _, v: [_strval(x) for x in _list_of("toStrings", v)],
    "int": lambda _, v: _int(v),
    "int64": lambda _, v: _int(v),
    "float64": lambda _, v: _float(v),
    "atoi": lambda _, v: _int(v) if re.fullmatch(r"\s*[+-]?\d+\s*", _str(v)) else 0,
    "kindOf": lambda _, v: _kind(v),
    "kindIs": lambda _, k, v: _kind(v) == _str(k),
    "typeOf": lambda _, v: _go_type(v),
    "typeIs": lambda _, t, v: _go_type(v) == _str(t),
    "deepCopy": lambda _, v: _copy(v),
    # strings
    "quote": lambda _, *a: " ".join(_go_quote(_strval(x)) for x in a if x is not None),
    "squote": lambda _, *a: " ".join(f"'{_strval(x)}'" for x in a if x is not None),
    "upper": _s(str.upper),
    "lower": _s(str.lower),
    "title": _s(_title),
    "trim": _s(lambda s: s.strip(" \t\n\r\v\f\u0085\u00a0")),
    "trimAll": _s2(lambda c, s: s.strip(c)),
    "trimSuffix": _s2(lambda suf, s: s.removesuffix(suf)),
    "trimPrefix": _s2(lambda pre, s: s.removeprefix(pre)),
    "trunc": _trunc,
    "replace": lambda _, old, new, s: _need_str("replace", s).replace(_str(old), _str(new)),
    "contains": _s2(lambda sub, s: sub in s),
    "hasPrefix": _s2(lambda pre, s: s.startswith(pre)),
    "hasSuffix": _s2(lambda suf, s: s.endswith(suf)),
    "indent": _indent,
    "nindent": lambda ex, n, s: "\n" + _indent(ex, n, s),
    "nospace": _s(lambda s: "".join(s.split())),
    "repeat": _repeat,
    "substr": _substr,
    "cat": lambda _, *a: " ".join(_strval(x) for x in a if x is not None),
    "join": _join,
    "splitList": _split_list,
    "split": _split,
    "b64enc": _s(lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": _b64dec,
    "sha256sum": _hash("sha256"),
    "sha1sum": _hash("sha1"),
    # lists and dicts
    "list": lambda _, *a: list(a),
    "tuple": lambda _, *a: list(a),
    "first": lambda _, v: (_list_of("first", v) or [None])[0],
    "last": lambda _, v: (_list_of("last", v) or [None])[-1],
    "rest": lambda _, v: _list_of("rest", v)[1:],
    "initial": lambda _, v: _list_of("initial", v)[:-1],
    "append": lambda _, v, x: [*_list_of("append", v), x],
    "prepend": lambda _, v, x: [x, *_list_of("prepend", v)],
    "concat": lambda _, *ls: [x for v in ls for x in _list_of("concat", v)],
    "uniq": _uniq,
    "has": _has,
    "compact": lambda _, v: [x for x in _list_of("compact", v) if not _empty(x)],
    "sortAlpha": lambda _, v: sorted(_strval(x) for x in _list_of("sortAlpha", v)),
    "until": _until,
    "dict": _dict,
    "get": _get,
    "set": _set,
    "unset": lambda _, d, k: (d.pop(_str(k), None), d)[1] if isinstance(d, dict) else d,
    "hasKey": _has_key,
    "keys": _keys,
    "values": lambda _, d: list(d.values()) if isinstance(d, Mapping) else [],
    "pick": _pick_omit(True),
    "omit": _pick_omit(False),
    "dig": _dig,
    "merge": _merge(False),
    "mergeOverwrite": _merge(True),
    # numbers and versions
    "add": lambda _, *a: sum(_int(x) for x in a),
    "add1": lambda _, a: _int(a) + 1,
    "sub": _arith(lambda a, b: a - b),
    "mul": lambda _, *a: math.prod(_int(x) for x in a),
    "div": _div,
    "mod": _mod,
    "max": lambda _, *a: max(_int(x) for x in a),
    "min": lambda _, *a: min(_int(x) for x in a),
    "semverCompare": _semver_compare,
    "ceil": lambda _, a: float(math.ceil(_float(a))),
    "floor": lambda _, a: float(math.floor(_float(a))),
    "round": lambda _, a, p, *r: round(_float(a), _int(p)),
    # more lists and strings
    "reverse": lambda _, v: _list_of("reverse", v)[::-1],
    "without": lambda _, v, *xs: [x for x in _list_of("without", v) if x not in xs],
    "slice": _slice,
    "abbrev": lambda _, n, s: _abbrev(_int(n), _need_str("abbrev", s)),
    "plural": lambda _, one, many, n: one if _int(n) == 1 else many,
    "snakecase": _s(lambda s: _words_join(s, "_")),
    "kebabcase": _s(lambda s: _words_join(s, "-")),
    "camelcase": _s(lambda s: "".join(w[:1].upper() + w[1:] for w in re.split(r"[_\-\s]+", s))),
    "base": _s(posixpath.basename),
    "dir": _s(lambda s: posixpath.dirname(s) or "."),
    "ext": _s(lambda s: posixpath.splitext(s)[1]),
    "clean": _s(posixpath.normpath),
    # deterministic stand-ins for random values (rendering stays reproducible)
    "randAlphaNum": _rand(string.ascii_letters + string.digits),
    "randAlpha": _rand(string.ascii_letters),
    "randNumeric": _rand(string.digits),
    "randAscii": _rand("".join(chr(c) for c in range(33, 127))),
    "uuidv4": lambda _: str(uuid.UUID(int=random.Random(4).getrandbits(128), version=4)),
}
for _name in (
    "merge",
    "mergeOverwrite",
    "toYaml",
    "fromJson",
    "first",
    "last",
    "append",
    "uniq",
    "has",
    "dig",
):
    _FUNCS.setdefault("must" + _name[0].upper() + _name[1:], _FUNCS[_name])

#: every function the renderer evaluates (``and`` and ``or`` are built in)
FUNCTION_NAMES: frozenset[str] = frozenset(_FUNCS) | {"and", "or"}


# --- charts ---------------------------------------------------------------------------------


@dataclass
class RenderedTemplate:
    """One rendered template file of a chart (or of one of its subcharts)."""

    path: str  # relative to the chart root, e.g. templates/deploy.yaml, charts/db/templates/x.yaml
    text: str
    error: TemplateError | None = None
    #: ``include "name"`` / ``template "name"`` calls of names no chart file defines
    #: (rendered as empty)
    missing: set[str] = field(default_factory=set)


@dataclass
class ChartRender:
    templates: list[RenderedTemplate] = field(default_factory=list)
    #: chart-level problems: unreadable Chart.yaml/values.yaml, packaged subcharts ...
    notes: list[str] = field(default_factory=list)


def render_string(
    text: str,
    dot: Any = None,
    *,
    name: str = "template",
    defines: Mapping[str, str] | None = None,
    limits: RenderLimits | None = None,
) -> str:
    """Render one template text with ``dot``; ``defines`` maps file names to helper sources.

    Raises :class:`TemplateError`.
    """
    tset = _Set()
    for fname, src in (defines or {}).items():
        tset.add(fname, _parse(src, fname)[1])
    body, defs = _parse(text, name)
    tset.add(name, defs)
    budget = _Budget(limits or RenderLimits())
    return _execute(tset, budget, body, dot, name, posixpath.dirname(name), set())


def _execute(
    tset: _Set, budget: _Budget, body: _ListNode, dot: Any, name: str, base: str, missing: set[str]
) -> str:
    ex = _Exec(tset, budget, name, base, missing)
    try:
        return ex.run(body, dot, name)
    except _Fail as exc:
        raise TemplateError(str(exc), where=f"{ex.file}:{ex.line}", kind=exc.kind) from None
    except RecursionError:
        raise TemplateError(
            "templates nested too deeply", where=f"{ex.file}:{ex.line}", kind="limit"
        ) from None
    except TemplateError as exc:
        # a parse error inside tpl: keep its own position
        raise exc from None
    except Exception as exc:  # hostile input must never crash the scan
        raise TemplateError(
            f"renderer error ({type(exc).__name__}): {exc}", where=f"{ex.file}:{ex.line}"
        ) from None


class _TooBig(Exception):
    pass


_MAX_TGZ = 16 << 20  # a packaged subchart
_MAX_TGZ_CONTENT = 64 << 20  # what its archive may expand to
_MAX_TGZ_MEMBERS = 10_000


class _Tree:
    """The files of one chart: a directory (regular files only, never through symbolic
    links) or a packaged ``.tgz`` subchart read into memory (never written to disk)."""

    def __init__(self, files: Mapping[str, Path | bytes]):
        self.files = dict(files)

    @classmethod
    def from_dir(cls, root: Path) -> _Tree:
        from xtrust.certify.targets import iter_files

        return cls(dict(iter_files(root)))

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self.files if n.startswith(prefix))

    def has(self, rel: str) -> bool:
        return rel in self.files

    def read(self, rel: str) -> bytes | None:
        src = self.files.get(rel)
        if src is None or isinstance(src, bytes):
            if src is not None and len(src) > _MAX_FILE:
                raise _TooBig(rel)
            return src
        try:
            st = src.lstat()
            if not stat.S_ISREG(st.st_mode):
                return None
            if st.st_size > _MAX_FILE:
                raise _TooBig(rel)
            with src.open("rb") as fh:
                data = fh.read(_MAX_FILE + 1)
        except OSError:
            return None
        if len(data) > _MAX_FILE:
            raise _TooBig(rel)
        return data

    def sub(self, prefix: str) -> _Tree:
        return _Tree({k[len(prefix) :]: v for k, v in self.files.items() if k.startswith(prefix)})


def _tree_from_tgz(data: bytes, rel: str, notes: list[str]) -> _Tree | None:
    """A packaged chart (``NAME/Chart.yaml`` ...) in memory, within bounds."""
    files: dict[str, Path | bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for i, member in enumerate(tf):
                if i >= _MAX_TGZ_MEMBERS or member.offset_data + member.size > _MAX_TGZ_CONTENT:
                    notes.append(f"{rel}: packaged subchart too large, not rendered")
                    return None
                if not member.isfile():
                    continue
                norm = posixpath.normpath(member.name)
                if member.name.startswith("/") or norm.startswith("..") or "\x00" in norm:
                    notes.append(f"{rel}: entry {member.name[:80]!r} leaves the chart, ignored")
                    continue
                _top, _, inner = norm.partition("/")
                if not inner or member.size > _MAX_FILE:
                    continue
                fh = tf.extractfile(member)
                if fh is None:
                    continue
                files[inner] = fh.read(_MAX_FILE + 1)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        notes.append(f"{rel}: not a readable chart archive ({exc})")
        return None
    if "Chart.yaml" not in files:
        notes.append(f"{rel}: no Chart.yaml in the archive, not rendered")
        return None
    return _Tree(files)


def _load_yaml_map(tree: _Tree, name: str, notes: list[str], rel: str) -> dict[str, Any]:
    if not tree.has(name):
        return {}
    try:
        raw = tree.read(name)
    except _TooBig:
        notes.append(f"{rel}: over 2 MiB, ignored")
        return {}
    if raw is None:
        return {}
    from xtrust.certify.analyzers.k8s import YamlProblem, load_yaml_documents

    try:
        docs = load_yaml_documents(raw.decode("utf-8", "replace"))
    except YamlProblem as exc:
        notes.append(f"{rel}: {exc}")
        return {}
    data = docs[0].data if docs else {}
    if not isinstance(data, dict):
        notes.append(f"{rel}: not a mapping, ignored")
        return {}
    return data


def _chart_object(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in meta.items():
        key = str(k)
        key = "APIVersion" if key == "apiVersion" else key[:1].upper() + key[1:]
        out[key] = v
    for k in ("Name", "Version", "AppVersion", "Description", "Type"):
        out.setdefault(k, "")
    out.setdefault("IsRoot", True)
    return out


def _dotted(values: Mapping[str, Any], path: str) -> Any:
    cur: Any = values
    for part in path.strip().split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


@dataclass
class _ChartDir:
    tree: _Tree
    rel: str  # "" for the top chart, "charts/db" ...
    name: str  # template-name prefix, e.g. mychart/charts/db
    meta: dict[str, Any]
    values: dict[str, Any]
    is_root: bool


def _collect(
    tree: _Tree,
    rel: str,
    tname: str,
    values: dict[str, Any],
    is_root: bool,
    notes: list[str],
    out: list[_ChartDir],
    depth: int = 0,
) -> None:
    prefix = rel + "/" if rel else ""
    meta = _load_yaml_map(tree, "Chart.yaml", notes, prefix + "Chart.yaml")
    out.append(_ChartDir(tree, rel, tname, meta, values, is_root))
    entries = sorted({n.split("/", 2)[1] for n in tree.names("charts/") if n.count("/") >= 1})
    if not entries:
        return
    if depth >= 5:
        notes.append(f"{prefix}charts: subcharts nested more than 5 deep are not rendered")
        return
    deps = {}
    for d in meta.get("dependencies") or []:
        if isinstance(d, dict) and d.get("name"):
            deps[str(d["name"])] = d
    for entry in entries:
        srel = f"{prefix}charts/{entry}"
        sub: _Tree | None
        if tree.has(f"charts/{entry}"):
            if not entry.endswith((".tgz", ".tar.gz")):
                continue
            try:
                raw = tree.read(f"charts/{entry}") if len(notes) < 1000 else None
            except _TooBig:
                raw = None
            if raw is None or len(raw) > _MAX_TGZ:
                notes.append(f"{srel}: packaged subchart unreadable or too large, not rendered")
                continue
            sub = _tree_from_tgz(raw, srel, notes)
            if sub is None:
                continue
        elif tree.has(f"charts/{entry}/Chart.yaml"):
            sub = tree.sub(f"charts/{entry}/")
        else:
            continue
        smeta = _load_yaml_map(sub, "Chart.yaml", notes, f"{srel}/Chart.yaml")
        sname = str(smeta.get("name") or entry)
        dep = deps.get(sname, {})
        key = str(dep.get("alias") or sname)
        cond = dep.get("condition")
        if cond:
            enabled = None
            for c in str(cond).split(","):
                v = _dotted(values, c)
                if isinstance(v, bool):
                    enabled = v
                    break
            if enabled is False:
                continue
        sub_values = _load_yaml_map(sub, "values.yaml", notes, f"{srel}/values.yaml")
        scoped = values.get(key)
        if isinstance(scoped, Mapping):
            _deep_merge(sub_values, scoped, True)
        glob = values.get("global")
        if isinstance(glob, Mapping):
            sub_values.setdefault("global", {})
            if isinstance(sub_values["global"], dict):
                _deep_merge(sub_values["global"], glob, True)
        _collect(sub, srel, f"{tname}/charts/{key}", sub_values, False, notes, out, depth + 1)


def _chart_files(tree: _Tree) -> list[str]:
    skip = ("templates/", "charts/")
    return [
        rel
        for rel in tree.names()
        if not rel.startswith(skip)
        and rel not in ("Chart.yaml", "values.yaml", "values.schema.json", "Chart.lock")
    ]


def render_chart(
    chart_root: Path,
    values: Mapping[str, Any] | None = None,
    *,
    release_name: str = "release-name",
    namespace: str = "default",
    kube_version: str = "v1.30.0",
    limits: RenderLimits | None = None,
) -> ChartRender:
    """Render every template of the chart at ``chart_root`` (and its directory subcharts).

    ``values`` are merged over ``values.yaml`` as ``helm template -f`` would.
    Partials (``_*``) and ``NOTES.txt`` are not output. Never raises for chart
    content: problems are on the templates (``error``) or in ``notes``.
    """
    result = ChartRender()
    notes = result.notes
    top = _Tree.from_dir(chart_root)
    charts: list[_ChartDir] = []
    try:
        root_values = _load_yaml_map(top, "values.yaml", notes, "values.yaml")
        if values:
            _deep_merge(root_values, values, True)
        top_meta = _load_yaml_map(top, "Chart.yaml", [], "Chart.yaml")
        top_name = str(top_meta.get("name") or chart_root.name)
        _collect(top, "", top_name, root_values, True, notes, charts)
    except (_Fail, RecursionError) as exc:
        notes.append(f"values could not be merged: {exc or 'nested too deeply'}")
        return result
    budget = _Budget(limits or RenderLimits())
    tset = _Set()
    parsed: list[tuple[_ChartDir, str, str, _ListNode | None, TemplateError | None]] = []
    # subcharts first, so that the parent's defines win (Helm parses deeper charts first)
    for chart in sorted(charts, key=lambda c: -c.rel.count("/")):
        library = chart.meta.get("type") == "library"
        for name in chart.tree.names("templates/"):
            if library and not posixpath.basename(name).startswith("_"):
                continue  # a library chart only contributes its partials (as in Helm)
            crel = (chart.rel + "/" if chart.rel else "") + name
            tname = f"{chart.name}/{name}"
            try:
                try:
                    raw = chart.tree.read(name)
                except _TooBig:
                    raise TemplateError(
                        "template over 2 MiB, not rendered", where=f"{crel}:1", kind="limit"
                    ) from None
                if raw is None:
                    continue
                body, defs = _parse(raw.decode("utf-8", "replace"), crel)
                tset.add(crel, defs)
                parsed.append((chart, crel, tname, body, None))
            except TemplateError as exc:
                parsed.append((chart, crel, tname, None, exc))
    objects: dict[str, tuple[dict[str, Any], _Files]] = {}
    for chart in charts:
        objects[chart.rel] = (
            _chart_object({**chart.meta, "IsRoot": chart.is_root}),
            _Files(chart.tree, _chart_files(chart.tree), budget),
        )
    caps = _Capabilities(kube_version)
    release = {
        "Name": release_name,
        "Namespace": namespace,
        "Service": "Helm",
        "IsInstall": True,
        "IsUpgrade": False,
        "Revision": 1,
    }
    for chart, crel, tname, tbody, error in sorted(parsed, key=lambda t: t[1]):
        base = posixpath.basename(crel)
        if base.startswith("_") or base == "NOTES.txt":
            if error is not None:
                result.templates.append(RenderedTemplate(crel, "", error))
            continue
        if error is not None or tbody is None:
            result.templates.append(RenderedTemplate(crel, "", error))
            continue
        chart_obj, files = objects[chart.rel]
        dot = {
            "Values": chart.values,
            "Release": release,
            "Chart": chart_obj,
            "Capabilities": caps,
            "Files": files,
            "Template": {"Name": tname, "BasePath": f"{chart.name}/templates"},
        }
        missing: set[str] = set()
        try:
            text = _execute(tset, budget, tbody, dot, crel, f"{chart.name}/templates", missing)
            result.templates.append(RenderedTemplate(crel, text, None, missing))
        except TemplateError as exc:
            result.templates.append(RenderedTemplate(crel, "", exc, missing))
            if exc.kind == "limit" and (
                "evaluation steps" in exc.reason
                or "longer than" in exc.reason
                or "output larger" in exc.reason
            ):
                notes.append(f"rendering stopped: {exc}")
                break
    return result
