"""Fixtures for the client tests: a real :class:`ddp.server.Server` per test.

``server`` runs on the test's own event loop (for ``AsyncClient`` tests); ``server_thread``
runs one on a thread of its own (for the blocking ``Client``). Both carry the same methods,
publications and users (:func:`install`), so the two clients are tested against one app.

``receive_path`` runs a test once with each client's fast websocket connection and once with
websockets' stock one (what the clients use on a websockets release without the internals
the fast one needs). Setting ``DDP_TEST_STOCK_WEBSOCKETS=1`` runs every client test on the
stock one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import ddp
from ddp.asyncio import _connection as async_connection
from ddp.server import MethodContext, Server, ServerThread, Subscription, server_in_thread
from ddp.sync import _connection as sync_connection

PASSWORD = "s3cret-pässword"
"""Alice's password (non-ASCII on purpose: the digest is of its UTF-8 bytes)."""


class App:
    """What the test app counts, so tests can check "exactly once" on the server side."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.release = asyncio.Event()  # lets every parked method return
        self.gate = asyncio.Event()  # lets the "gated" publication become ready

    def count(self, key: str) -> int:
        """Return how many times ``key`` ran."""
        return self.calls.get(key, 0)


def install(server: Server) -> App:
    """Register the test app on ``server``: methods, publications, users."""
    app = App()
    items = server.collection("items")
    server.accounts.add_user("alice", PASSWORD, email="alice@example.com")
    server.accounts.add_user("bob", "hunter2")

    @server.method("echo")
    def echo(ctx: MethodContext, *args: Any) -> Any:
        return args[0] if len(args) == 1 else list(args)

    @server.method("add")
    def add(ctx: MethodContext, a: float, b: float) -> float:
        return a + b

    @server.method("fail")
    def fail(ctx: MethodContext, code: Any = "boom") -> None:
        raise ddp.MethodError(code, "it failed", {"why": "asked to"})

    @server.method("whoami")
    def whoami(ctx: MethodContext) -> str | None:
        return ctx.user_id

    @server.method("count")
    def count(ctx: MethodContext, key: str) -> int:
        # Counts executions, so a test can tell "ran once" from "ran twice".
        app.calls[key] = app.calls.get(key, 0) + 1
        return app.calls[key]

    @server.method("insert")
    def insert(ctx: MethodContext, doc: dict[str, Any]) -> Any:
        return items.insert(doc)

    @server.method("park")
    async def park(ctx: MethodContext, key: str) -> str:
        # Runs until the test sets app.release: a call guaranteed to be in flight.
        app.calls[key] = app.calls.get(key, 0) + 1
        ctx.unblock()
        await app.release.wait()
        return key

    @server.method("hold")
    async def hold(ctx: MethodContext, key: str) -> str:
        # Like "park", but without unblock(): later messages of the connection wait for it,
        # as they do for most Meteor methods.
        app.calls[key] = app.calls.get(key, 0) + 1
        await app.release.wait()
        return key

    @server.publish("items")
    def publish_items(sub: Subscription, selector: dict[str, Any] | None = None) -> Any:
        return items.find(selector)

    @server.publish("gated")
    async def gated(sub: Subscription, n: int) -> None:
        # Half an initial batch, then nothing until the test opens the gate.
        for i in range(n):
            sub.added("gated", f"g{i}", {"i": i})
        await app.gate.wait()
        for i in range(n, 2 * n):
            sub.added("gated", f"g{i}", {"i": i})
        sub.ready()

    @server.publish("refuse")
    def refuse(sub: Subscription) -> None:
        raise ddp.MethodError("not-allowed", "no items for you", {"hint": 1})

    @server.publish("mine")
    def mine(sub: Subscription) -> Any:
        return items.find({"owner": sub.user_id}) if sub.user_id else None

    server.rate_limit("limited", 1, 60.0, kind="method")

    @server.method("limited")
    def limited(ctx: MethodContext) -> str:
        return "ok"

    return app


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


def _use_stock_websockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(async_connection, "FAST_PATH_SUPPORTED", False)
    monkeypatch.setattr(sync_connection, "FAST_PATH_SUPPORTED", False)


@pytest.fixture(autouse=True)
def _stock_websockets_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``DDP_TEST_STOCK_WEBSOCKETS=1``, dial websockets' stock connections only."""
    if os.environ.get("DDP_TEST_STOCK_WEBSOCKETS") == "1":
        _use_stock_websockets(monkeypatch)


@pytest.fixture(params=["direct", "stock"])
def receive_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the clients' fast connections ("direct"), then on the stock ones."""
    if request.param == "stock":
        _use_stock_websockets(monkeypatch)
    elif not (async_connection.FAST_PATH_SUPPORTED and sync_connection.FAST_PATH_SUPPORTED):
        pytest.skip("fast connections off (unsupported, or DDP_TEST_STOCK_WEBSOCKETS=1)")
    return str(request.param)
