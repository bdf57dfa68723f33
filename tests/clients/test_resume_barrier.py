"""A call the server is still running when the session resumes is not sent again.

meteor/meteor #1285 and #4290: re-sending methods on reconnect makes non-idempotent methods
run twice ("give 10 points -> 20"). Meteor's client re-sends at once; ours holds the calls
without a result until the server has worked through everything it received before the
drop (the resume barrier of ``ddp.protocol``), so only calls the server never got are sent
again.
"""

from __future__ import annotations

from typing import Any

import ddp
from ddp import AsyncClient
from ddp.asyncio import EventStream
from ddp.events import Connected
from ddp.protocol import RESUME_BARRIER
from ddp.server import Server, ServerThread

TIMEOUT = 5.0


def _is_barrier(msg: dict[str, Any]) -> bool:
    return msg.get("name") == RESUME_BARRIER


async def _resume(server: Server, client: AsyncClient, stream: EventStream) -> None:
    client.reconnect()  # abort the socket: the server keeps the session in its grace period
    async for event in stream:
        if isinstance(event, Connected):
            assert event.resumed
            break
    await server.wait_for_message("sub", predicate=_is_barrier)


async def test_a_running_call_runs_once_across_a_resume(server: Server) -> None:
    app = server.app  # type: ignore[attr-defined]
    async with AsyncClient(server.url) as client:
        stream = client.events()
        call = client.go("hold", "once")
        await server.wait_until(lambda: app.count("once") == 1)
        await _resume(server, client, stream)
        later = client.go("echo", "after")  # held behind the barrier, like the running call
        app.release.set()
        assert await call.result(timeout=TIMEOUT) == "once"
        assert await later.result(timeout=TIMEOUT) == "after"
        assert app.count("once") == 1
        holds = server.monitor.find_messages("method", predicate=lambda m: m["method"] == "hold")
        assert len(holds) == 1  # never sent a second time


async def test_a_call_lost_in_flight_is_sent_again_after_the_barrier(server: Server) -> None:
    app = server.app  # type: ignore[attr-defined]
    async with AsyncClient(server.url) as client:
        stream = client.events()
        server.faults.refuse_connections()
        server.faults.drop_all()  # the session stays resumable
        call = client.go("count", "lost")  # made offline: the server never saw it
        server.faults.accept_connections()
        await _resume(server, client, stream)
        assert await call.result(timeout=TIMEOUT) == 1
        assert app.count("lost") == 1


def test_the_blocking_client_holds_a_running_call_across_a_resume(
    server_thread: ServerThread,
) -> None:
    st = server_thread
    app = st.server.app  # type: ignore[attr-defined]
    with ddp.Client(st.url) as client:
        call = client.go("hold", "sync-once")
        st.run(st.server.wait_until(lambda: app.count("sync-once") == 1))
        client.reconnect()
        st.run(st.server.wait_for_message("sub", predicate=_is_barrier))
        st.call(app.release.set)
        assert call.result(timeout=TIMEOUT) == "sync-once"
        assert client.call("echo", 1) == 1
        assert app.count("sync-once") == 1
