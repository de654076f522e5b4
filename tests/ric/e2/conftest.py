from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.ric.e2.util import ListHandler


@pytest.fixture
def e2_log() -> Iterator[ListHandler]:
    """Records of the ``xtrust.ric.e2`` logger (attached directly: ``xtrust`` may not propagate)."""
    logger = logging.getLogger("xtrust.ric.e2")
    handler = ListHandler()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
