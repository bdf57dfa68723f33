"""Each fault of ``server.faults``, seen from a raw client."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import ddp
from ddp.server import Server


@pytest.fixture(autouse=True)
def echo(server: Server):
    @server.method("echo")
    def echo_(ctx, value=None):
        return value


async def assert_cut(raw):
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(raw.ws.recv(), 2)


async def test_drop_aborts_without_close_frame(client, server: Server):
    server.faults.drop(client.session)
    await assert_cut(client)
    assert client.ws.close_code is None or client.ws.close_code == 1006
    assert server.session(client.session).in_grace


async def test_drop_with_close_frame(client, server: Server):
    server.faults.drop(client.session, close_frame=True)
    await assert_cut(client)
    assert client.ws.close_code == 1001
    assert server.session(client.session).in_grace


async def test_drop_forgetting_the_session(client, server: Server):
    server.faults.drop(client.session, keep_session=False)
    await assert_cut(client)
    assert client.session not in server.sessions


async def test_drop_all_and_unknown_session(server: Server, open_client):
    clients = [await open_client(server.url) for _ in range(2)]
    for raw in clients:
        await raw.connect()
    assert server.faults.drop_all() == 2
    for raw in clients:
        await assert_cut(raw)
    assert server.faults.drop_all() == 0
    with pytest.raises(ddp.InvalidStateError):
        server.faults.drop("nope")


async def test_refuse_connections(server: Server, open_client):
    server.faults.refuse_connections()
    assert server.faults.refusing
    with pytest.raises(InvalidStatus) as info:
        await connect(server.url, open_timeout=2)
    assert info.value.response.status_code == 503
    assert server.monitor.refused == 1
    server.faults.accept_connections()
    await (await open_client(server.url)).connect()


async def test_refuse_connections_for_a_while(server: Server):
    server.faults.refuse_connections(60)
    assert server.faults.refusing
    server.faults.refuse_connections(0)
    assert not server.faults.refusing


async def test_result_delay_and_order_swap(client, server: Server):
    server.faults.results_after_updated = True
    assert [m["msg"] for m in await client.call("echo", 1)] == ["updated", "result"]
    server.faults.reset()
    server.faults.result_delay = 0.05
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.call("echo", 2, id="2")
    assert loop.time() - start >= 0.05


async def test_stall_heartbeats(open_client):
    async with Server(heartbeat_interval=0.02, heartbeat_timeout=0.02) as srv:
        srv.faults.stall_heartbeats = True
        raw = await open_client(srv.url)
        await raw.connect()
        await raw.send({"msg": "ping", "id": "1"})
        # A silent client outlives many heartbeat periods: the server neither pings nor
        # times out while stalled.
        with pytest.raises(ddp.DDPTimeoutError):
            await srv.wait_for_disconnections(1, timeout=0.2)
        await raw.send({"msg": "method", "id": "m", "method": "nope"})
        # No pong and no server ping came before the method's result.
        assert (await raw.recv())["msg"] == "result"
        srv.faults.stall_heartbeats = False
        await raw.send({"msg": "ping", "id": "2"})
        rest = []
        while not rest or rest[-1] != {"msg": "pong", "id": "2"}:
            msg = await raw.recv()
            if msg != {"msg": "ping"}:  # the server may ping again now
                rest.append(msg)
        assert rest == [{"msg": "updated", "methods": ["m"]}, {"msg": "pong", "id": "2"}]


async def test_send_raw_is_not_counted(client, server: Server):
    huge = "x" * 200_000
    assert server.faults.send_raw(client.session, "{broken") == 1
    assert server.faults.send_raw(None, '{"msg":"surprise"}') == 1
    assert server.faults.send_raw(client.session, huge) == 1
    assert await client.recv_text() == "{broken"
    assert await client.recv_text() == '{"msg":"surprise"}'
    assert await client.recv_text() == huge
    assert server.session(client.session).sent_count == 1


async def test_send_raw_on_sockjs(server: Server, open_client):
    raw = await open_client(server.sockjs_url, sockjs=True)
    session = await raw.connect()
    server.faults.send_raw(session, '{"msg":"x"}')
    assert await raw.recv_text() == '{"msg":"x"}'
    server.faults.send_raw(session, "zzz", framed=False)
    assert await asyncio.wait_for(raw.ws.recv(), 2) == "zzz"


async def test_send_message_is_counted_and_queued(client, server: Server):
    server.faults.send_message(client.session, {"msg": "nosub", "id": "ghost"})
    assert await client.recv() == {"msg": "nosub", "id": "ghost"}
    assert server.session(client.session).sent_count == client.received == 2
    server.faults.drop(client.session)
    server.faults.send_message(client.session, {"msg": "ready", "subs": ["x"]})
    assert server.session(client.session).queued == 1
    with pytest.raises(ddp.ProtocolError):
        server.faults.send_message(client.session, {"msg": "result", "id": 5})


async def test_restart_forgets_sessions_and_keeps_the_port(client, server: Server, open_client):
    port, old = server.port, client.session
    server.collection("keep").insert({"_id": "k"})
    server.faults.restart()
    await assert_cut(client)
    assert not server.sessions and server.port == port
    again = await open_client(server.url)
    assert await again.connect(session=old, receivedCount=1) != old
    assert server.collection("keep").count() == 1


async def test_restart_can_refuse_for_a_while(server: Server):
    server.faults.restart(refuse_for=60)
    assert server.faults.refusing
