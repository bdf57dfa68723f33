"""Wire behaviour: negotiation, ping/pong, malformed input, routing, SockJS framing."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ddp.server import Server


async def test_connect_gives_a_new_random_session_each_time(server: Server, open_client):
    first = await open_client(server.url)
    second = await open_client(server.url)
    a, b = await first.connect(), await second.connect()
    assert a != b and len(a) == 17
    assert set(server.sessions) == {a, b}
    record = await server.wait_for_connections(2)
    assert record.session_id == b and not record.resumed and record.transport == "websocket"


@pytest.mark.parametrize(
    ("version", "support", "expected"),
    [
        ("pre1", ["pre1", "1"], "pre1"),  # the client's preference order wins
        ("pre2", ["pre2"], "pre2"),
    ],
)
async def test_versions_the_client_prefers_are_accepted(
    server: Server, open_client, version: str, support: list[str], expected: str
):
    raw = await open_client(server.url)
    session = await raw.connect(version, support)
    assert server.session(session).version == expected


@pytest.mark.parametrize(
    ("connect_msg", "suggested"),
    [
        ({"version": "pre2", "support": ["1", "pre2"]}, "1"),  # we would pick "1"
        ({"version": "2", "support": ["2"]}, "1"),  # nothing in common: our best
        ({"version": 1, "support": ["1"]}, "1"),  # malformed: not a string
        ({"version": "1", "support": ["pre1"]}, "1"),  # malformed: version not in support
        ({"version": "1", "support": "1"}, "1"),  # malformed: support not a list
        ({"version": "1"}, "1"),
    ],
)
async def test_failed_then_close(server: Server, open_client, connect_msg, suggested):
    raw = await open_client(server.url)
    await raw.send({"msg": "connect", **connect_msg})
    assert await raw.recv() == {"msg": "failed", "version": suggested}
    await raw.closed()
    assert not server.sessions


async def test_failed_suggests_the_servers_top_version_when_nothing_is_shared():
    async with Server(versions=("pre2", "pre1"), heartbeat_interval=0) as srv:
        async with connect(srv.url) as ws:
            await ws.send('{"msg":"connect","version":"1","support":["1"]}')
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 2)) == {
                "msg": "failed",
                "version": "pre2",
            }


async def test_ping_pong_echoes_the_id_and_is_not_counted(client, server: Server):
    await client.send({"msg": "ping", "id": "x1"})
    assert await client.recv() == {"msg": "pong", "id": "x1"}
    await client.send({"msg": "ping"})
    assert await client.recv() == {"msg": "pong"}
    assert server.session(client.session).sent_count == 1  # only `connected`


async def test_ping_under_pre1_is_a_bad_request(server: Server, open_client):
    raw = await open_client(server.url)
    await raw.connect("pre1")
    await raw.send({"msg": "ping", "id": "1"})
    msg = await raw.expect("error")
    assert msg["reason"] == "Bad request"
    assert msg["offendingMessage"] == {"msg": "ping", "id": "1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", {"msg": "error", "reason": "Parse error"}),
        ('{"msg":"method","params":[{"$date":"x"}]}', {"msg": "error", "reason": "Parse error"}),
        ("[1,2]", {"msg": "error", "reason": "Bad request", "offendingMessage": [1, 2]}),
        ('{"a":1}', {"msg": "error", "reason": "Bad request", "offendingMessage": {"a": 1}}),
        (
            '{"msg":"sub","id":"1","name":"x"}',
            {
                "msg": "error",
                "reason": "Must connect first",
                "offendingMessage": {"msg": "sub", "id": "1", "name": "x"},
            },
        ),
    ],
)
async def test_socket_level_errors_before_connect(
    server: Server, open_client, text: str, expected: dict
):
    raw = await open_client(server.url)
    await raw.send(text)
    assert await raw.recv() == expected
    session = await raw.connect()  # the socket is still usable
    assert server.session(session).sent_count == 1


async def test_already_connected_is_not_counted(client, server: Server):
    await client.send({"msg": "connect", "version": "1", "support": ["1"]})
    msg = await client.expect("error")
    assert msg["reason"] == "Already connected"
    assert server.session(client.session).sent_count == 1


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ({"msg": "nonsense"}, "Bad request"),
        ({"msg": "method", "id": 1, "method": "m"}, "Malformed method invocation"),
        ({"msg": "method", "id": "1", "method": "m", "params": {}}, "Malformed method invocation"),
        (
            {"msg": "method", "id": "1", "method": "m", "randomSeed": 5},
            "Malformed method invocation",
        ),
        ({"msg": "method", "id": "1"}, "Malformed method invocation"),
        ({"msg": "sub", "id": "1"}, "Malformed subscription"),
        ({"msg": "sub", "id": 2, "name": "x"}, "Malformed subscription"),
        ({"msg": "sub", "id": "1", "name": "x", "params": "no"}, "Malformed subscription"),
    ],
)
async def test_session_level_errors_are_counted(client, server: Server, msg, reason):
    await client.send(msg)
    error = await client.expect("error")
    assert error == {"msg": "error", "reason": reason, "offendingMessage": msg}
    assert server.session(client.session).sent_count == 2


async def test_unknown_paths_are_404(server: Server):
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{server.port}/nope", open_timeout=2)
    assert info.value.response.status_code == 404


async def test_sockjs_framing(server: Server, open_client):
    @server.method("echo")
    def echo(ctx, *args):
        return list(args)

    raw = await open_client(server.sockjs_url, sockjs=True)
    session = await raw.connect()
    assert server.monitor.connects[0].transport == "sockjs"
    # Two messages in one client frame are both processed, in order.
    await raw.ws.send(
        orjson.dumps(
            [
                '{"msg":"method","id":"a","method":"echo","params":[1]}',
                '{"msg":"method","id":"b","method":"echo","params":[2]}',
            ]
        ).decode()
    )
    results = [m for m in await raw.recv_many(4) if m["msg"] == "result"]
    assert [(m["id"], m["result"]) for m in results] == [("a", [1]), ("b", [2])]
    # Broken framing closes the socket with a SockJS close frame.
    await raw.ws.send('{"not": "an array"}')
    await raw.closed()
    assert raw.ws.close_code == 1000
    # The server notices the close on its own schedule (since 3.12 the client side can see the
    # close a loop iteration earlier): wait for it rather than race it.
    await server.wait_for_disconnections(1)
    assert server.session(session).in_grace


async def test_sockjs_heartbeat_frames():
    async with Server(heartbeat_interval=0, sockjs_heartbeat_interval=0.05) as srv:
        async with connect(srv.sockjs_url) as ws:
            assert await asyncio.wait_for(ws.recv(), 2) == "o"
            assert await asyncio.wait_for(ws.recv(), 2) == "h"


async def test_sockjs_info_endpoint(server: Server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /sockjs/info HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await asyncio.wait_for(reader.read(4096), 2)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert b'"websocket":true' in data


async def test_server_heartbeat_pings_and_times_out(open_client):
    async with Server(heartbeat_interval=0.05, heartbeat_timeout=0.5) as srv:
        raw = await open_client(srv.url)
        session = await raw.connect()
        assert await raw.recv() == {"msg": "ping"}
        await raw.send({"msg": "pong"})  # any frame counts as the answer
        assert await raw.recv() == {"msg": "ping"}
        # Silence: the server drops the socket but keeps the session resumable.
        record = await srv.wait_for_disconnections(1)
        assert record.session_id == session and record.kept
        assert srv.session(session).in_grace


async def test_binary_frames_are_ignored(client):
    await client.ws.send(b"\x00\x01")
    await client.send({"msg": "ping", "id": "after"})
    assert await client.recv() == {"msg": "pong", "id": "after"}


async def test_received_messages_are_logged(client, server: Server):
    await client.send({"msg": "ping", "id": "z"})
    received = await server.wait_for_message("ping")
    assert received.session_id == client.session and received.msg["id"] == "z"
    assert [r.msg["msg"] for r in server.monitor.messages] == ["connect", "ping"]
