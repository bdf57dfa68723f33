"""``ddp demo`` and ``ddp serve``'s default server: the client and the test server at work.

:func:`demo_server` builds the server that ``ddp serve`` runs by default: a user ``alice``
(password ``secret``), a collection ``items`` published as ``items`` (an optional argument
limits it to the N newest at the time of subscribing), and the methods ``add(a, b)``,
``echo(*args)`` (its argument, or the list of them), ``items.insert(text)`` (or
``{"text": ...}``) and ``items.complete(text)`` (both need a login), ``items.remove(id)``
and ``sleep(seconds)`` (at most 60); and a chat room as Rocket.Chat streams it: the stream
``stream-room-messages`` (one event name per room id), ``sendMessage({rid, msg})`` (logged
in) emitting to it, and a user ``bot`` (same password) for bots such as ``examples/bot.py``.

:func:`run_demo` starts that server on a free loopback port, then shows what the client
does: login, calls, a typed error, a subscription and a live query changing as calls are
made, the connection dropped (the session resumes) and the server restarted (a new session:
logged in again, a call made meanwhile goes through, no flicker), a chat stream's events,
and the statistics.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ddp.collection import CollectionChange
from ddp.events import Connected
from ddp.exceptions import DDPTimeoutError, MethodError
from ddp.server import MethodContext, Server, Subscription, server_in_thread
from ddp.sync import Client

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "build_demo_server", "demo_server", "run_demo"]

DEMO_USER = "alice"
"""The demo server's user."""
DEMO_PASSWORD = "secret"
"""Her password."""

_WAIT = 10.0


def build_demo_server(server: Server) -> None:
    """Install the demo's user, collection, methods and publication on ``server``."""
    server.accounts.add_user(DEMO_USER, DEMO_PASSWORD)
    items = server.collection("items")
    for text in ("write the README", "port the minimongo tests", "ship it"):
        items.insert({"text": text, "done": False, "createdAt": datetime.now(UTC)})

    @server.method("add")
    def add(ctx: MethodContext, a: float, b: float) -> float:
        return a + b

    @server.method("echo")
    def echo(ctx: MethodContext, *args: Any) -> Any:
        return args[0] if len(args) == 1 else list(args)

    @server.method("items.insert")
    def insert(ctx: MethodContext, item: str | dict[str, Any]) -> str:
        if ctx.user_id is None:
            raise MethodError(403, "Log in first", {"method": "items.insert"})
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise MethodError(400, "Match failed", {"expected": "a text or {text}"})
        doc = {"text": text, "done": False, "createdAt": datetime.now(UTC), "owner": ctx.user_id}
        return str(items.insert(doc))

    @server.method("items.complete")
    def complete(ctx: MethodContext, text: str) -> int:
        if ctx.user_id is None:
            raise MethodError(403, "Log in first", {"method": "items.complete"})
        return items.update({"text": text}, {"$set": {"done": True}})

    @server.method("items.remove")
    def remove(ctx: MethodContext, item_id: str) -> int:
        return items.remove(item_id)

    @server.method("sleep")
    async def sleep(ctx: MethodContext, seconds: float) -> float:
        ctx.unblock()  # later calls of the connection run meanwhile
        await asyncio.sleep(min(max(float(seconds), 0.0), 60.0))
        return seconds

    @server.publish("items")
    def publish_items(sub: Subscription, limit: int | None = None) -> Any:
        if limit is None:
            return items.find()
        # The newest `limit` items; the selector is a predicate over the current documents.
        newest = sorted(items.find().fetch(), key=lambda d: d["createdAt"], reverse=True)
        keep = {doc["_id"] for doc in newest[: max(0, int(limit))]}
        return items.find(lambda doc: doc["_id"] in keep)

    # A chat room as Rocket.Chat streams it (stream-room-messages, one event per room id),
    # for bots such as examples/bot.py; `bot` logs in with the same password.
    server.accounts.add_user("bot", DEMO_PASSWORD)
    rooms = server.stream("room-messages")

    @server.method("sendMessage")
    def send_message(ctx: MethodContext, message: dict[str, Any]) -> None:
        user = server.accounts.find_user(user_id=ctx.user_id) if ctx.user_id else None
        if user is None:
            raise MethodError(403, "Log in first", {"method": "sendMessage"})
        if not isinstance(message, dict) or not all(
            isinstance(message.get(key), str) for key in ("rid", "msg")
        ):
            raise MethodError(400, "Match failed", {"expected": "{rid, msg}"})
        rooms.emit(message["rid"], {**message, "u": {"_id": user.id, "username": user.username}})


def demo_server(host: str = "127.0.0.1", port: int = 0) -> Server:
    """Return the demo server (not started), listening on ``host``:``port``."""
    # The demo records nothing: `ddp serve` may run for days.
    server = Server(host, port, record_messages=False)
    build_demo_server(server)
    return server


def _wait(event: threading.Event, what: str) -> None:
    if not event.wait(_WAIT):
        raise DDPTimeoutError(f"demo: {what} did not happen within {_WAIT:.0f} s")


def run_demo(
    out: Callable[[str], Any] = print,
    *,
    on_changes: Callable[[Sequence[CollectionChange]], Any] | None = None,
    on_status: Callable[[str], Any] | None = None,
    pace: float = 0.0,
) -> None:
    """Run the demo, narrating through ``out``.

    Args:
        out: Called with each line of narration.
        on_changes: Called with every batch of changes to the client's cache (on the
            client's callback thread), to show the subscription live.
        on_status: Called with the connection's status (``"reconnecting"``...) as it changes.
        pace: Seconds to pause after each step, so that a person can follow (0 in CI).
    """

    def step(text: str) -> None:
        out(text)
        if pace:
            time.sleep(pace)  # for the reader's eyes only; nothing waits on it

    server = Server(heartbeat_interval=0, record_messages=False)
    build_demo_server(server)
    with server_in_thread(server) as st:
        step(f"server listening on {st.url}")
        with Client(st.url) as client:
            if on_changes is not None:
                client.on_collection_change(on_changes)
            if on_status is not None:
                report = on_status
                client.on_status(lambda change: report(change.new.name.lower()))
            step(f"connected: session {client.session}, DDP version {client.version}")
            login = client.login(user=DEMO_USER, password=DEMO_PASSWORD)
            step(f"logged in as {login.id} (token expires {login.token_expires:%Y-%m-%d})")
            step(f"add(2, 40) = {client.call('add', 2, 40)}")
            try:
                client.call("no.such.method")
            except MethodError as exc:
                step(f"no.such.method raised {type(exc).__name__}: {exc}")

            sub = client.subscribe("items")
            items = client.collection("items")
            step(f"subscription ready: {items.count()} items")
            done = threading.Event()

            def on_removed(doc_id: Any) -> None:
                out(f"  live query: item {doc_id} is done")
                done.set()

            handle = items.find({"done": False}).observe_changes(removed=on_removed)
            client.go("items.insert", "try ddp watch").data_visible(_WAIT)
            step("items.insert('try ddp watch'): the new item is in the cache")
            client.call("items.complete", "ship it")
            _wait(done, "the live query")
            step("items.complete('ship it'): the live query saw it leave")

            reconnects: list[Connected] = []
            reconnected = threading.Event()

            def on_connected(event: Connected) -> None:
                if event.reconnect:
                    reconnects.append(event)
                    reconnected.set()

            client.on_connected(on_connected)
            for fault, what in (
                (st.server.faults.drop_all, "server dropped every connection"),
                (st.server.faults.restart, "server restarted and forgot every session"),
            ):
                reconnected.clear()
                st.call(fault)
                out(f"{what} ...")
                # Made while the connection is down: queued, and sent once it is back.
                pending = client.go("items.insert", f"written during: {what.split()[1]}")
                _wait(reconnected, "the reconnect")
                pending.data_visible(_WAIT)
                sub.ready(timeout=_WAIT)
                how = (
                    "session resumed" if reconnects[-1].resumed else "new session, logged in again"
                )
                step(
                    f"  reconnected ({how}): user {client.user_id}, "
                    f"{items.find({'done': False}).count()} open items, the call made "
                    "meanwhile went through, no flicker"
                )
            first = items.find_one({"done": True})
            if first is not None:
                client.go("items.remove", first["_id"]).data_visible(_WAIT)
                step(f"items.remove: {first['text']!r} is gone")
            # A Rocket.Chat-style stream: every event arrives, in order, identical ones
            # included, and none of them lands in the cache.
            with client.stream("stream-room-messages", "GENERAL") as room:
                for text in ("hello", "hello", "bye"):
                    client.call("sendMessage", {"rid": "GENERAL", "msg": text})
                events = itertools.islice(room.iter(timeout=_WAIT), 3)
                got = [args[0]["msg"] for _name, args in events]
            step(f"stream-room-messages GENERAL: {got} (every event, none cached)")
            step(f"ping: {client.ping() * 1000:.2f} ms")
            handle.stop()
            stats = client.stats()
            out(
                f"stats: {stats.total_reads.ops} frames read, {stats.total_writes.ops} written, "
                f"{stats.reconnects} reconnects, methods {stats.methods}"
            )
    out("done.")
