"""The test app every client test runs against: methods, publications and users.

It lives in its own module (not ``conftest.py``) so that test modules can import it by a
name no other test directory uses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ddp
from ddp.server import MethodContext, Server, Subscription

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
        server.monitor.notify()  # wakes a test waiting (wait_until) for the call to run
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
