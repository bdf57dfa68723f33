"""Session resumption (Meteor 3.5): grace period, exact count, queue limit, disconnect."""

from __future__ import annotations

import pytest

from ddp.server import Server


@pytest.fixture
async def server():
    async with Server(heartbeat_interval=0, max_message_queue_length=3) as srv:
        counter = srv.collection("counter")
        counter.insert({"_id": "c", "n": 0})

        @srv.publish("counter")
        def publish(sub):
            return counter.find()

        @srv.method("inc")
        def inc(ctx):
            counter.update("c", {"$inc": {"n": 1}})
            return counter.find_one("c")["n"]

        yield srv


async def subscribed(open_client, server):
    raw = await open_client(server.url)
    await raw.connect()
    await raw.send({"msg": "sub", "id": "s", "name": "counter"})
    await raw.recv_many(2)
    return raw


async def drop(raw, server, n=1):
    server.faults.drop(raw.session)
    record = await server.wait_for_disconnections(n)
    assert record.kept
    return record


async def test_resume_with_the_right_count_replays_the_queue(open_client, server: Server):
    raw = await subscribed(open_client, server)
    assert raw.received == server.session(raw.session).sent_count == 3
    await drop(raw, server)
    # While it is away, another connection changes the data: the change is queued.
    other = await open_client(server.url)
    await other.connect()
    await other.call("inc")
    assert server.session(raw.session).queued == 1

    again = await open_client(server.url)
    again.received = raw.received
    session = await again.connect(session=raw.session, receivedCount=raw.received)
    assert session == raw.session
    assert await again.recv() == {
        "msg": "changed",
        "collection": "counter",
        "id": "c",
        "fields": {"n": 1},
    }
    record = await server.wait_for_connections(3)
    assert record.resumed and record.session_id == raw.session
    # The subscription survived: re-sending it is a no-op, new changes flow.
    await again.send({"msg": "sub", "id": "s", "name": "counter"})
    messages = await again.call("inc")
    assert [m["msg"] for m in messages] == ["changed", "result", "updated"]
    assert again.received == server.session(session).sent_count


async def test_method_results_produced_while_away_are_replayed(open_client, server: Server):
    raw = await subscribed(open_client, server)
    gate_session = raw.session

    @server.method("inc_then_drop")
    def inc_then_drop(ctx):
        server.faults.drop(ctx.session_id)
        return inc(ctx)

    inc = server._methods["inc"]
    await raw.send({"msg": "method", "id": "x", "method": "inc_then_drop"})
    await server.wait_for_disconnections(1)
    again = await open_client(server.url)
    assert await again.connect(session=gate_session, receivedCount=3) == gate_session
    assert [m["msg"] for m in await again.recv_many(3)] == ["changed", "result", "updated"]


@pytest.mark.parametrize("count", [2, 4, "3", 3.0, None])
async def test_a_wrong_count_gives_a_new_session(open_client, server: Server, count):
    raw = await subscribed(open_client, server)
    await drop(raw, server)
    again = await open_client(server.url)
    extra = {"receivedCount": count} if count is not None else {}
    session = await again.connect(session=raw.session, **extra)
    assert session != raw.session
    assert raw.session not in server.sessions  # the stale session is over


async def test_queue_overflow_kills_the_session(open_client, server: Server):
    raw = await subscribed(open_client, server)
    await drop(raw, server)
    other = await open_client(server.url)
    await other.connect()
    for i in range(3):
        await other.call("inc", id=str(i))
    assert server.session(raw.session).queued == 3
    await other.call("inc", id="overflow")
    assert raw.session not in server.sessions
    again = await open_client(server.url)
    assert await again.connect(session=raw.session, receivedCount=3) != raw.session


async def test_disconnect_message_ends_the_session_at_close(open_client, server: Server):
    raw = await subscribed(open_client, server)
    await raw.send({"msg": "disconnect"})
    await raw.ws.close()
    record = await server.wait_for_disconnections(1)
    assert not record.kept and raw.session not in server.sessions


async def test_server_initiated_close_has_no_grace(open_client, server: Server):
    raw = await subscribed(open_client, server)
    server.session(raw.session).close()
    await raw.closed()
    record = await server.wait_for_disconnections(1)
    assert not record.kept


async def test_grace_period_expiry(open_client):
    async with Server(heartbeat_interval=0, disconnect_grace_period=0.05) as srv:
        raw = await open_client(srv.url)
        await raw.connect()
        srv.faults.drop(raw.session)
        await srv.wait_until(lambda: raw.session not in srv.sessions, timeout=2)


async def test_no_grace_when_disabled(open_client):
    async with Server(heartbeat_interval=0, disconnect_grace_period=0) as srv:
        raw = await open_client(srv.url)
        await raw.connect()
        srv.faults.drop(raw.session)
        assert not (await srv.wait_for_disconnections(1)).kept
        assert not srv.sessions


async def test_a_connected_session_cannot_be_taken_over(open_client, server: Server):
    raw = await subscribed(open_client, server)
    thief = await open_client(server.url)
    assert await thief.connect(session=raw.session, receivedCount=3) != raw.session
    assert server.session(raw.session).connected


async def test_messages_queued_but_unwritten_at_a_drop_are_replayed(open_client, server: Server):
    raw = await subscribed(open_client, server)
    # Same event-loop turn: the writer task has not written the message when the drop cuts.
    server.faults.send_message(raw.session, {"msg": "nosub", "id": "late"})
    server.faults.drop(raw.session)
    assert server.session(raw.session).sent_count == raw.received == 3
    again = await open_client(server.url)
    assert await again.connect(session=raw.session, receivedCount=3) == raw.session
    assert await again.recv() == {"msg": "nosub", "id": "late"}


async def test_a_heartbeat_timeout_keeps_the_session(open_client):
    async with Server(heartbeat_interval=0.02, heartbeat_timeout=0.02) as srv:
        raw = await open_client(srv.url)
        session = await raw.connect()
        record = await srv.wait_for_disconnections(1)
        assert record.kept
        again = await open_client(srv.url)
        assert await again.connect(session=session, receivedCount=1) == session
