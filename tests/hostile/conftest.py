"""Fixtures for the hostile-server tests: a raw DDP server, and each client in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from either_client import KINDS, UnderTest
from raw_server import RawServer


@pytest.fixture
def raw() -> Iterator[RawServer]:
    """A raw-websocket DDP server on a thread of its own (no size limit on what it reads)."""
    with RawServer() as server:
        yield server


@pytest.fixture(params=sorted(KINDS))
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., UnderTest]]:
    """Build clients of one kind (``async`` or ``sync``: each test runs with both); every
    client made is closed as the test ends, and that ``close()`` must return."""
    made: list[UnderTest] = []

    def make(url: str, **options: Any) -> UnderTest:
        client = KINDS[request.param](url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.finish()
