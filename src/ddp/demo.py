"""``ddp demo``: a local DDP server and the blocking client, end to end, in a few seconds.

It starts :class:`ddp.server.Server` on a free loopback port, then shows what the client does:
login, a method call, a typed error, a subscription with a live query, a change pushed by the
server, a dropped connection survived (re-login, same data, no flicker), and the statistics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ddp.events import Connected
from ddp.exceptions import DDPTimeoutError, MethodError
from ddp.server import MethodContext, Server, Subscription, server_in_thread
from ddp.sync import Client

__all__ = ["build_demo_server", "run_demo"]


def build_demo_server(server: Server) -> None:
    """Install the demo's user, collection, methods and publication on ``server``."""
    server.accounts.add_user("alice", "secret")
    tasks = server.collection("tasks")
    for text in ("write the README", "port the minimongo tests", "ship it"):
        tasks.insert({"text": text, "done": False, "createdAt": datetime.now(UTC)})

    @server.method("add")
    def add(ctx: MethodContext, a: float, b: float) -> float:
        return a + b

    @server.method("tasks.complete")
    def complete(ctx: MethodContext, text: str) -> int:
        if ctx.user_id is None:
            raise MethodError(403, "Log in first")
        return tasks.update({"text": text}, {"$set": {"done": True}})

    @server.publish("tasks")
    def publish_tasks(sub: Subscription) -> Any:
        return tasks.find()


def _wait(event: threading.Event, what: str) -> None:
    if not event.wait(10):
        raise DDPTimeoutError(f"demo: {what} did not happen within 10 s")


def run_demo(out: Callable[[str], Any] = print) -> None:
    """Run the demo, writing its narration through ``out``."""
    server = Server(heartbeat_interval=0)
    build_demo_server(server)
    with server_in_thread(server) as st:
        out(f"server listening on {st.url}")
        with Client(st.url) as client:
            out(f"connected: session {client.session}, DDP version {client.version}")
            login = client.login(user="alice", password="secret")
            out(f"logged in as {login.id} (token expires {login.token_expires:%Y-%m-%d})")
            out(f"add(2, 40) = {client.call('add', 2, 40)}")
            try:
                client.call("no.such.method")
            except MethodError as exc:
                out(f"no.such.method raised {type(exc).__name__}: {exc}")

            sub = client.subscribe("tasks")
            tasks = client.collection("tasks")
            out(f"subscription ready: {tasks.count()} tasks")
            changed = threading.Event()

            def on_removed(doc_id: Any) -> None:
                out(f"  live query: task {doc_id} is done")
                changed.set()

            handle = tasks.find({"done": False}).observe_changes(removed=on_removed)
            client.call("tasks.complete", "ship it")
            _wait(changed, "the live query")

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
                _wait(reconnected, "the reconnect")
                sub.ready(timeout=10)
                how = (
                    "session resumed" if reconnects[-1].resumed else "new session, logged in again"
                )
                out(
                    f"  reconnected ({how}): user {client.user_id}, "
                    f"{tasks.find({'done': False}).count()} open tasks, no flicker"
                )
            out(f"ping: {client.ping() * 1000:.2f} ms")
            handle.stop()
            out(f"stats: {client.stats()}")
    out("done.")
