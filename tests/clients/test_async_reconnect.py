"""AsyncClient when the network or the server misbehaves: drops, stalls, restarts, resumption.

Every wait is on an event (the client's event stream, the server's monitor), never a sleep.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from async_support import TIMEOUT, client_docs, next_event, server_docs, synced
from client_app import PASSWORD

import ddp
from ddp import AsyncClient, Status
from ddp.backoff import Backoff
from ddp.events import Connected, ConnectionLost, StatusChanged
from ddp.server import Server


@pytest.fixture
async def client(server: Server):
    async with AsyncClient(server.url) as c:
        yield c


async def test_drop_during_a_method_completes_it_once(server: Server, client: AsyncClient) -> None:
    stream = client.events()
    call = client.go("park", "m")
    await server.wait_for_message("method")
    server.faults.drop_all(keep_session=False)
    connected = await next_event(stream, Connected)
    assert connected.reconnect and not connected.resumed
    await server.wait_for_message("method", count=2)  # re-sent with the same id
    ids = {r.msg["id"] for r in server.monitor.find_messages("method")}
    assert ids == {call.id}
    server.app.release.set()
    assert await call.result(timeout=TIMEOUT) == "m"
    await call.data_visible(timeout=TIMEOUT)
    assert client.stats().reconnects == 1


async def test_no_retry_call_fails_while_others_complete(
    server: Server, client: AsyncClient
) -> None:
    stream = client.events()
    risky = client.go("park", "risky", no_retry=True)
    safe = client.go("park", "safe")
    # Both calls are running on the server (received is not enough: a drop could cancel a
    # call that has not started yet).
    await server.wait_until(lambda: server.app.count("risky") and server.app.count("safe"))
    server.faults.drop_all(keep_session=False)
    await next_event(stream, Connected)
    with pytest.raises(ddp.InvocationFailedError):
        await risky.result(timeout=TIMEOUT)
    server.app.release.set()
    assert await safe.result(timeout=TIMEOUT) == "safe"
    assert server.app.count("risky") == 1


async def test_drop_during_initial_batch(server: Server, client: AsyncClient) -> None:
    stream = client.events()
    sub = await client.subscribe("gated", 3, wait=False)
    await server.wait_for_message("sub")
    server.faults.drop_all(keep_session=False)
    await next_event(stream, Connected)
    await server.wait_for_message("sub", count=2)  # re-sent with the same id
    server.app.gate.set()
    await sub.ready(timeout=TIMEOUT)
    assert sorted(client_docs(client, "gated")) == [f"g{i}" for i in range(6)]


async def test_restart_after_ready_leaves_no_stale_data_and_no_flicker(
    server: Server, client: AsyncClient
) -> None:
    items = server.collection("items")
    ids = [items.insert({"n": n}) for n in range(4)]
    await client.subscribe("items")
    seen: list[tuple[str, Any]] = []
    handle = (
        client.collection("items")
        .find()
        .observe_changes(
            added=lambda i, f: seen.append(("added", i)),
            changed=lambda i, f: seen.append(("changed", i)),
            removed=lambda i: seen.append(("removed", i)),
        )
    )
    seen.clear()  # the initial adds
    stream = client.events()
    server.faults.restart(refuse_for=None)  # new sessions only; refuse until we are done
    await next_event(stream, ConnectionLost)
    items.update(ids[0], {"$set": {"n": 100}})
    items.remove(ids[1])
    new_id = items.insert({"n": 7})
    server.faults.accept_connections()
    connected = await next_event(stream, Connected)
    assert not connected.resumed
    await synced(client)
    assert client_docs(client, "items") == server_docs(server, "items")
    assert sorted(seen) == sorted([("changed", ids[0]), ("removed", ids[1]), ("added", new_id)])
    handle.stop()


async def test_heartbeat_stall_is_noticed(server: Server) -> None:
    interval, timeout = 0.2, 0.2
    async with AsyncClient(
        server.url, heartbeat_interval=interval, heartbeat_timeout=timeout
    ) as client:
        stream = client.events()
        loop = asyncio.get_running_loop()
        start = loop.time()
        server.faults.stall_heartbeats = True
        lost = await next_event(stream, ConnectionLost)
        assert lost.reason == "heartbeat timeout" and lost.will_retry
        # Noticed within interval + timeout (plus scheduling slack), not a second later.
        assert loop.time() - start < interval + timeout + 0.5
        server.faults.stall_heartbeats = False
        await next_event(stream, Connected)
        assert await client.call("echo", 1) == 1
        assert client.stats().pings_sent >= 1


async def test_login_survives_three_reconnects(server: Server, client: AsyncClient) -> None:
    login = await client.login("alice", PASSWORD)
    stream = client.events()
    for n in range(3):
        server.faults.drop_all(keep_session=False)
        connected = await next_event(stream, Connected)
        assert not connected.resumed
        assert await client.call("whoami") == login.id, f"after reconnect {n + 1}"
    assert client.user_id == login.id
    logins = server.monitor.find_messages("method", predicate=lambda m: m["method"] == "login")
    assert [m.msg["params"][0].keys() for m in logins][1:] == [{"resume"}] * 3


async def test_session_resumption(server: Server, client: AsyncClient) -> None:
    server.collection("items").insert({"n": 1})
    sub = await client.subscribe("items")
    session = client.session
    reconnects: list[Connected] = []
    client.on_reconnect(reconnects.append)
    stream = client.events()
    client.reconnect()
    connected = await next_event(stream, Connected)
    assert connected.resumed and connected.session == session == client.session
    assert sub.is_ready
    assert await client.call("echo", 5) == 5
    record = await server.wait_for_connections(2)
    assert record.resumed
    assert reconnects == []  # a resumed session needs no reconnect hooks
    assert client.collection("items").count() == 1


async def test_resumed_session_delivers_what_was_queued(
    server: Server, client: AsyncClient
) -> None:
    await client.subscribe("items")
    stream = client.events()
    server.faults.refuse_connections()
    server.faults.drop_all()  # the session stays, in its grace period
    await next_event(stream, StatusChanged, new=Status.RECONNECTING)
    doc_id = server.collection("items").insert({"queued": True})
    server.faults.accept_connections()
    client.reconnect()  # skip the backoff delay
    connected = await next_event(stream, Connected)
    assert connected.resumed
    await synced(client)
    assert client_docs(client, "items") == {doc_id: {"_id": doc_id, "queued": True}}


async def test_reconnect_false_fails_pending_calls(server: Server) -> None:
    async with AsyncClient(server.url, reconnect=False) as client:
        call = client.go("park", "p")
        await server.wait_for_message("method")
        server.faults.drop_all()
        with pytest.raises(ddp.ConnectionFailedError):
            await call.result(timeout=TIMEOUT)
        assert client.status is Status.FAILED
        with pytest.raises(ddp.ConnectionFailedError):
            await client.connect()


async def test_max_attempts_gives_up(server: Server) -> None:
    backoff = Backoff(min_count=5)
    async with AsyncClient(server.url, reconnect=backoff, max_attempts=2) as client:
        stream = client.events()
        server.faults.refuse_connections()
        server.faults.drop_all(keep_session=False)
        failed = await next_event(stream, StatusChanged, new=Status.FAILED)
        assert "2 reconnect attempts" in (failed.reason or "")
        with pytest.raises(ddp.ConnectionFailedError):
            await client.call("echo", 1)
