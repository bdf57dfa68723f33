"""Fixtures for the client tests: a real :class:`ddp.server.Server` per test.

``server`` runs on the test's own event loop (for ``AsyncClient`` tests); ``server_thread``
runs one on a thread of its own (for the blocking ``Client``). Both carry the same methods,
publications and users (:func:`install`), so the two clients are tested against one app.

``receive_path`` runs a test once with each client's fast websocket connection and once with
websockets' stock one (what the clients use on a websockets release without the internals
the fast one needs). Setting ``DDP_TEST_STOCK_WEBSOCKETS=1`` runs every client test on the
stock one.

``AsyncClient`` dials picows where it is installed; ``DDP_TEST_TRANSPORT=websockets`` runs the
client tests on websockets instead (as on a platform without picows), and
``DDP_TEST_TRANSPORT=picows`` fails at once if picows cannot be used.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from client_app import install

from ddp.asyncio import _connection as async_connection
from ddp.asyncio import _dial as async_dial
from ddp.server import Server, ServerThread, server_in_thread
from ddp.sync import _connection as sync_connection


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A server on the test's event loop, with the test app installed (``server.app``)."""
    srv = Server(port=0, heartbeat_interval=0)
    srv.app = install(srv)  # type: ignore[attr-defined]
    async with srv:
        yield srv


@pytest.fixture
def server_thread() -> Iterator[ServerThread]:
    """A server on its own thread (for the blocking client), with the test app installed."""
    srv = Server(port=0, heartbeat_interval=0)
    srv.app = install(srv)  # type: ignore[attr-defined]
    with server_in_thread(srv) as st:
        yield st


def _use_websockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(async_dial, "PICOWS_AVAILABLE", False)


def _use_stock_websockets(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_websockets(monkeypatch)
    monkeypatch.setattr(async_connection, "FAST_PATH_SUPPORTED", False)
    monkeypatch.setattr(sync_connection, "FAST_PATH_SUPPORTED", False)


@pytest.fixture(autouse=True)
def _stock_websockets_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``DDP_TEST_STOCK_WEBSOCKETS=1``, dial websockets' stock connections only."""
    if os.environ.get("DDP_TEST_STOCK_WEBSOCKETS") == "1":
        _use_stock_websockets(monkeypatch)


@pytest.fixture(autouse=True)
def _transport_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``DDP_TEST_TRANSPORT``: the asyncio client's transport for every test (see above)."""
    chosen = os.environ.get("DDP_TEST_TRANSPORT", "auto")
    if chosen == "websockets":
        _use_websockets(monkeypatch)
    elif chosen == "picows" and not async_dial.PICOWS_AVAILABLE:
        pytest.fail("DDP_TEST_TRANSPORT=picows, but picows (2.3 or later) is not installed")
    elif chosen not in ("auto", "picows"):
        pytest.fail(f"DDP_TEST_TRANSPORT={chosen!r}: use picows or websockets")


@pytest.fixture(params=["direct", "stock"])
def receive_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the clients' fast websockets connections ("direct"), then on the stock
    ones (the asyncio client dials websockets for it)."""
    _use_websockets(monkeypatch)
    if request.param == "stock":
        _use_stock_websockets(monkeypatch)
    elif not (async_connection.FAST_PATH_SUPPORTED and sync_connection.FAST_PATH_SUPPORTED):
        pytest.skip("fast connections off (unsupported, or DDP_TEST_STOCK_WEBSOCKETS=1)")
    return str(request.param)


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage as each test ends, so that a transport or socket it leaked warns (and
    fails) in that test, not in whichever later test the collector happens to run."""
    yield
    gc.collect()  # about 40 ms a test: the price of a leak failing where it happens
