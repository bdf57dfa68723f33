"""Fixtures for the hostile-server tests: a raw DDP server, and each client in turn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from either_client import _collect_garbage_after_each_test, make_client
from raw_server import RawServer

__all__ = ["_collect_garbage_after_each_test", "make_client", "raw"]


@pytest.fixture
def raw() -> Iterator[RawServer]:
    """A raw-websocket DDP server on a thread of its own (no size limit on what it reads)."""
    with RawServer() as server:
        yield server
