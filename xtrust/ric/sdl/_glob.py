"""Redis glob patterns: escaping, and a matcher with Redis' exact semantics.

Redis (``KEYS``, ``SCAN MATCH``) matches keys byte by byte:

* ``*`` any run of bytes (also empty), ``?`` exactly one byte;
* ``[abc]`` one of the bytes, ``[^abc]`` none of them, ``[a-z]`` a range
  (a reversed range ``[z-a]`` is the same range), ``\\`` escapes inside;
* ``\\x`` is the byte ``x`` taken literally (a trailing ``\\`` is literal);
* an unclosed ``[`` runs to the end of the pattern.

:func:`glob_match` reproduces that behaviour (including its corner cases) so
that :class:`~xtrust.ric.sdl.MemorySdl` finds exactly the keys Redis would;
``tests/ric/test_sdl.py`` checks it against a real ``redis-server``.
"""

from __future__ import annotations

__all__ = ["GLOB_SPECIAL", "escape_glob", "glob_match"]

GLOB_SPECIAL = frozenset("*?[]\\")
"""Characters with a meaning in a Redis glob pattern."""

_STAR, _QMARK, _LBRACKET, _RBRACKET = ord("*"), ord("?"), ord("["), ord("]")
_CARET, _DASH, _BACKSLASH = ord("^"), ord("-"), ord("\\")


def escape_glob(text: str) -> str:
    """``text`` as a glob pattern that matches exactly ``text``.

    >>> escape_glob("cell[1]*")
    'cell\\\\[1\\\\]\\\\*'
    """
    return "".join("\\" + ch if ch in GLOB_SPECIAL else ch for ch in text)


def glob_match(pattern: bytes, subject: bytes) -> bool:
    """Whether ``subject`` matches the Redis glob ``pattern`` (both bytes)."""
    plen, slen = len(pattern), len(subject)
    # Results of matching pattern[p:] against subject[s:] after a '*', so that
    # patterns with many stars stay polynomial.
    memo: dict[tuple[int, int], bool] = {}

    def after_star(p: int, s: int) -> bool:
        key = (p, s)
        if key not in memo:
            memo[key] = match_from(p, s)
        return memo[key]

    def match_from(p: int, s: int) -> bool:
        while p < plen and s < slen:
            c = pattern[p]
            if c == _STAR:
                while p + 1 < plen and pattern[p + 1] == _STAR:
                    p += 1
                if p + 1 == plen:
                    return True
                return any(after_star(p + 1, start) for start in range(s, slen))
            if c == _QMARK:
                pass
            elif c == _LBRACKET:
                p, ok = _bracket(pattern, p + 1, subject[s])
                if not ok:
                    return False
            elif c == _BACKSLASH:
                if plen - p >= 2:
                    p += 1
                if pattern[p] != subject[s]:
                    return False
            elif c != subject[s]:
                return False
            s += 1
            p += 1
            if s == slen:
                while p < plen and pattern[p] == _STAR:
                    p += 1
                break
        return p == plen and s == slen

    return match_from(0, 0)


def _bracket(pattern: bytes, p: int, ch: int) -> tuple[int, bool]:
    """Match one byte against the set opening at ``pattern[p]`` (after ``[``).

    Returns the index of the closing ``]`` (or of the last byte when the set is
    not closed) and whether ``ch`` is in the set.
    """
    plen = len(pattern)
    negate = p < plen and pattern[p] == _CARET
    if negate:
        p += 1
    found = False
    while True:
        if p < plen and pattern[p] == _BACKSLASH and plen - p >= 2:
            p += 1
            found = found or pattern[p] == ch
        elif p < plen and pattern[p] == _RBRACKET:
            break
        elif p >= plen:
            p -= 1
            break
        elif plen - p >= 3 and pattern[p + 1] == _DASH:
            low, high = sorted((pattern[p], pattern[p + 2]))
            found = found or low <= ch <= high
            p += 2
        else:
            found = found or pattern[p] == ch
        p += 1
    return p, found != negate
