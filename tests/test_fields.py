"""The shared field checks of the document validators."""

from __future__ import annotations

import math

import pytest

from xtrust._fields import FieldChecker
from xtrust.errors import ConfigError


def test_bounded_and_open_ranges() -> None:
    ctx = FieldChecker("doc.yaml")
    assert ctx.integer(3, "a", 1, 5) == 3 and ctx.integer(10**12, "a", 1) == 10**12
    assert ctx.number(2, "b", 0.0, 4.0) == 2.0 and ctx.number(1e300, "b", 0.0) == 1e300
    with pytest.raises(ConfigError, match=r"doc\.yaml: a: 6 is out of range \(1..5\)"):
        ctx.integer(6, "a", 1, 5)
    with pytest.raises(ConfigError, match=r"a: 0 is out of range \(at least 1\)"):
        ctx.integer(0, "a", 1)
    with pytest.raises(ConfigError, match=r"at least 0\.1"):
        ctx.number(0.05, "b", 0.1)
    for bad in (math.inf, -math.inf):  # open above, but never infinite
        with pytest.raises(ConfigError, match="a finite number"):
            ctx.number(bad, "b", -math.inf)
    with pytest.raises(ConfigError, match="must be a number"):
        ctx.number(math.nan, "b", 0.0)
    with pytest.raises(ConfigError, match="must be an integer"):
        ctx.integer(True, "a", 0)
