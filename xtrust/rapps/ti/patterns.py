"""STIX 2.1 patterns: a parser and matcher for the comparison forms XTRUST needs.

Supported (STIX 2.1 section 9): observation expressions ``[...]`` joined by
``AND`` / ``OR`` (and parenthesised), comparison expressions joined by
``AND`` / ``OR`` / parentheses, the operators ``=``, ``!=``, ``<``, ``<=``,
``>``, ``>=``, ``IN``, ``LIKE``, ``MATCHES``, ``ISSUBSET``, ``ISSUPERSET``
(each optionally negated with ``NOT``), and string, integer, float, boolean,
``t'...'`` values. Object paths may quote a property (``hashes.'SHA-256'``).

Not supported (the indicator is counted as *unsupported*, never fatal):
``FOLLOWEDBY``, qualifiers (``WITHIN``, ``REPEATS``, ``START/STOP``), and an
observation expression that mixes object types.

A pattern is matched against :class:`Observables`: for each STIX cyber
observable type, a list of objects given as flat ``{property path: value}``
dictionaries. A comparison expression matches when one object of its type
satisfies it (so ``[software:name = 'x' AND software:version = '1']`` needs one
software object with both).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "Observables",
    "Pattern",
    "PatternError",
    "UnsupportedPattern",
    "compile_pattern",
    "index_value",
    "normalize_path",
]


class PatternError(ValueError):
    """The pattern is not valid STIX pattern syntax."""


class UnsupportedPattern(PatternError):
    """Valid STIX, but uses a feature this matcher does not implement."""


Observables: TypeAlias = Mapping[str, Sequence[Mapping[str, Any]]]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>[thb]?'(?:\\.|[^'\\])*')
  | (?P<num>[-+]?\d+(?:\.\d+)?(?![\w:]))
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[\[\]\(\),])
  | (?P<word>[A-Za-z0-9_\-]+(?::[A-Za-z0-9_\-]+)?
        (?:(?:\.(?:'(?:\\.|[^'\\])*'|[A-Za-z0-9_\-]+))|\[(?:\d+|\*)\])*)
    """,
    re.VERBOSE,
)

_KEYWORD_OPS = {"IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"}
_UNSUPPORTED = {"FOLLOWEDBY", "WITHIN", "REPEATS", "START", "STOP"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Tok]:
    pos = 0
    out: list[_Tok] = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise PatternError(f"unexpected character {text[pos]!r} at offset {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group()))
    return out


def normalize_path(path: str) -> str:
    """``hashes.'SHA-256'`` -> ``hashes.SHA-256``; list indexes become ``[*]``."""
    path = re.sub(r"\[(?:\d+|\*)\]", "[*]", path)
    return re.sub(r"'((?:\\.|[^'\\])*)'", lambda m: m.group(1).replace("\\'", "'"), path)


# ----------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class _Cmp:
    obj_type: str
    path: str
    op: str
    negated: bool
    value: Any

    def test(self, obj: Mapping[str, Any]) -> bool:
        if self.path not in obj:
            return False  # STIX: a comparison on an absent property is false
        result = _compare(self.op, self.path, obj[self.path], self.value)
        return result != self.negated


@dataclass(frozen=True, slots=True)
class _BoolExpr:
    op: str  # "AND" | "OR"
    items: tuple[Any, ...]

    def test(self, obj: Mapping[str, Any]) -> bool:
        if self.op == "AND":
            return all(i.test(obj) for i in self.items)
        return any(i.test(obj) for i in self.items)


@dataclass(frozen=True, slots=True)
class _Observation:
    obj_type: str
    expr: Any

    def match(self, observables: Observables) -> bool:
        return any(self.expr.test(o) for o in observables.get(self.obj_type, ()))


@dataclass(frozen=True, slots=True)
class _ObsBool:
    op: str
    items: tuple[Any, ...]

    def match(self, observables: Observables) -> bool:
        if self.op == "AND":
            return all(i.match(observables) for i in self.items)
        return any(i.match(observables) for i in self.items)


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern; :meth:`match` tests it against observables."""

    text: str
    root: Any
    object_types: frozenset[str] = field(default_factory=frozenset)

    def match(self, observables: Observables) -> bool:
        return bool(self.root.match(observables))

    def index_keys(self) -> frozenset[tuple[str, str, Any]] | None:
        """Keys ``(type, path, value)`` of which at least one must be observed for a match.

        None when the pattern has no such equality (it must then be scanned).
        Used by the indicator store to find candidate indicators by hash lookup.
        """
        return _keys(self.root)


# ----------------------------------------------------------------- values


def _parse_value(tok: _Tok) -> Any:
    if tok.kind == "num":
        return float(tok.text) if "." in tok.text else int(tok.text)
    if tok.kind == "str":
        prefix = tok.text[0] if tok.text[0] in "thb" else ""
        body = tok.text[len(prefix) + 1 : -1]
        body = body.replace("\\'", "'").replace("\\\\", "\\")
        return body
    if tok.kind == "word" and tok.text.lower() in ("true", "false"):
        return tok.text.lower() == "true"
    raise PatternError(f"expected a value, found {tok.text!r}")


def _like_regex(like: str) -> re.Pattern[str]:
    out = []
    for ch in like:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _is_ip_path(path: str) -> bool:
    return path == "value"


def _ip_compare(op: str, have: str, want: str) -> bool | None:
    try:
        have_net = ipaddress.ip_network(have, strict=False)
        want_net = ipaddress.ip_network(want, strict=False)
    except ValueError:
        return None
    if have_net.version != want_net.version:
        return False
    if op in ("=", "ISSUBSET"):
        return have_net.subnet_of(want_net)  # type: ignore[arg-type]
    if op == "ISSUPERSET":
        return have_net.supernet_of(want_net)  # type: ignore[arg-type]
    return None


def _compare(op: str, path: str, have: Any, want: Any) -> bool:
    if isinstance(have, list | tuple | set | frozenset):
        return any(_compare(op, path, h, want) for h in have)
    if op == "IN":
        return any(_compare("=", path, have, w) for w in want)
    if isinstance(have, str) and isinstance(want, str):
        if (
            op in ("=", "ISSUBSET", "ISSUPERSET")
            and _is_ip_path(path)
            and ("/" in want or "/" in have or op != "=")
        ):
            res = _ip_compare(op, have, want)
            if res is not None:
                return res
        if path.startswith("hashes."):
            have, want = have.lower(), want.lower()
        if op == "=":
            return have == want
        if op == "!=":
            return have != want
        if op == "LIKE":
            return _like_regex(want).fullmatch(have) is not None
        if op == "MATCHES":
            try:
                return re.search(want, have) is not None
            except re.error:
                return False
    if op == "=":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    try:
        if op == "<":
            return bool(have < want)
        if op == "<=":
            return bool(have <= want)
        if op == ">":
            return bool(have > want)
        if op == ">=":
            return bool(have >= want)
    except TypeError:
        return False
    return False


# ----------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise PatternError("unexpected end of pattern")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text:
            raise PatternError(f"expected {text!r}, found {tok.text!r}")

    def kw(self) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "word":
            return tok.text.upper()
        return None

    # pattern := obs_or
    def pattern(self) -> Any:
        node = self.obs_or()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "word" and tok.text.upper() in _UNSUPPORTED:
                raise UnsupportedPattern(f"{tok.text.upper()} is not supported")
            raise PatternError(f"unexpected {tok.text!r} after the pattern")
        return node

    def obs_or(self) -> Any:
        items = [self.obs_and()]
        while self.kw() == "OR":
            self.next()
            items.append(self.obs_and())
        return items[0] if len(items) == 1 else _ObsBool("OR", tuple(items))

    def obs_and(self) -> Any:
        items = [self.obs_atom()]
        while self.kw() == "AND":
            self.next()
            items.append(self.obs_atom())
        return items[0] if len(items) == 1 else _ObsBool("AND", tuple(items))

    def obs_atom(self) -> Any:
        tok = self.next()
        if tok.text == "(":
            node = self.obs_or()
            self.expect(")")
        elif tok.text == "[":
            expr = self.cmp_or()
            self.expect("]")
            types = _types(expr)
            if len(types) != 1:
                raise UnsupportedPattern("an observation mixing object types is not supported")
            node = _Observation(next(iter(types)), expr)
        else:
            raise PatternError(f"expected '[' or '(', found {tok.text!r}")
        kw = self.kw()
        if kw in _UNSUPPORTED:
            raise UnsupportedPattern(f"{kw} is not supported")
        return node

    def cmp_or(self) -> Any:
        items = [self.cmp_and()]
        while self.kw() == "OR":
            self.next()
            items.append(self.cmp_and())
        return items[0] if len(items) == 1 else _BoolExpr("OR", tuple(items))

    def cmp_and(self) -> Any:
        items = [self.cmp_atom()]
        while self.kw() == "AND":
            self.next()
            items.append(self.cmp_atom())
        return items[0] if len(items) == 1 else _BoolExpr("AND", tuple(items))

    def cmp_atom(self) -> Any:
        tok = self.next()
        if tok.text == "(":
            node = self.cmp_or()
            self.expect(")")
            return node
        if tok.kind != "word" or ":" not in tok.text:
            raise PatternError(f"expected an object path, found {tok.text!r}")
        obj_type, _, prop = tok.text.partition(":")
        if not prop:
            raise PatternError(f"object path {tok.text!r} has no property")
        negated = False
        op_tok = self.next()
        if op_tok.kind == "word" and op_tok.text.upper() == "NOT":
            negated = True
            op_tok = self.next()
        op = op_tok.text.upper() if op_tok.kind == "word" else op_tok.text
        if op_tok.kind == "op":
            pass
        elif op not in _KEYWORD_OPS:
            raise PatternError(f"unknown comparison operator {op_tok.text!r}")
        if op == "IN":
            self.expect("(")
            values = [_parse_value(self.next())]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.next()
                values.append(_parse_value(self.next()))
            self.expect(")")
            value: Any = tuple(values)
        else:
            value = _parse_value(self.next())
        return _Cmp(obj_type, normalize_path(prop), op, negated, value)


def _types(expr: Any) -> set[str]:
    if isinstance(expr, _Cmp):
        return {expr.obj_type}
    out: set[str] = set()
    for item in expr.items:
        out |= _types(item)
    return out


def _obs_types(node: Any) -> set[str]:
    if isinstance(node, _Observation):
        return {node.obj_type}
    out: set[str] = set()
    for item in node.items:
        out |= _obs_types(item)
    return out


def index_value(path: str, value: Any) -> Any:
    """The form a value takes in an index key (hashes compare case-insensitively)."""
    if isinstance(value, str) and path.startswith("hashes."):
        return value.lower()
    return value


def _cmp_key(node: Any) -> frozenset[tuple[str, str, Any]] | None:
    if isinstance(node, _Cmp):
        if node.negated or node.op not in ("=", "IN"):
            return None
        values: tuple[Any, ...] = node.value if node.op == "IN" else (node.value,)
        for v in values:
            if not isinstance(v, str | int) or isinstance(v, bool):
                return None
            if node.path == "value" and "/" in str(v):  # CIDR: matched by containment
                return None
        return frozenset((node.obj_type, node.path, index_value(node.path, v)) for v in values)
    if isinstance(node, _BoolExpr):
        if node.op == "AND":
            for item in node.items:
                k = _cmp_key(item)
                if k is not None:
                    return k
            return None
        out: set[tuple[str, str, Any]] = set()
        for item in node.items:
            k = _cmp_key(item)
            if k is None:
                return None
            out |= k
        return frozenset(out)
    return None


def _keys(node: Any) -> frozenset[tuple[str, str, Any]] | None:
    if isinstance(node, _Observation):
        return _cmp_key(node.expr)
    if node.op == "AND":
        for item in node.items:
            k = _keys(item)
            if k is not None:
                return k
        return None
    out: set[tuple[str, str, Any]] = set()
    for item in node.items:
        k = _keys(item)
        if k is None:
            return None
        out |= k
    return frozenset(out)


def compile_pattern(text: str) -> Pattern:
    """Parse ``text``; raises :class:`PatternError` or :class:`UnsupportedPattern`."""
    if not isinstance(text, str) or not text.strip():
        raise PatternError("empty pattern")
    root = _Parser(text).pattern()
    return Pattern(text, root, frozenset(_obs_types(root)))
