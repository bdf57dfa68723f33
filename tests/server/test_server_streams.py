"""Meteor streams (the streamer protocol Rocket.Chat uses) over real websockets."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import pytest
from websockets.sync.client import connect

import ddp
from ddp.auth import password_login_params
from ddp.server import Server, server_in_thread


def event(name: str, event_name: str, *args) -> dict:
    return {
        "msg": "changed",
        "collection": f"stream-{name}",
        "id": "id",
        "fields": {"eventName": event_name, "args": list(args)},
    }


async def subscribe(raw, sub_id: str, name: str, *params) -> dict:
    await raw.send({"msg": "sub", "id": sub_id, "name": f"stream-{name}", "params": list(params)})
    return await raw.recv()


@pytest.mark.parametrize(
    "options", [False, {"useCollection": False, "args": []}, {"useCollection": False}, None]
)
async def test_subscribe_then_events_arrive_as_changed_messages(server: Server, client, options):
    stream = server.stream("room-messages")
    params = ["GENERAL"] if options is None else ["GENERAL", options]
    assert await subscribe(client, "s", "room-messages", *params) == {"msg": "ready", "subs": ["s"]}
    when = datetime(2026, 1, 2, tzinfo=UTC)
    stream.emit("GENERAL", {"msg": "hi", "ts": when}, 2)
    assert await client.recv() == event("room-messages", "GENERAL", {"msg": "hi", "ts": when}, 2)
    assert server.stream("room-messages") is stream


async def test_events_are_filtered_by_event_name(server: Server, client, open_client):
    stream = server.stream("notify-room")
    other = await open_client(server.url)
    await other.connect()
    await subscribe(client, "a", "notify-room", "r1/typing", False)
    await subscribe(client, "b", "notify-room", "r2/typing", False)
    await subscribe(other, "c", "notify-room", "r2/typing", False)
    stream.emit("r3/typing", "nobody")
    stream.emit("r2/typing", "bob", True)
    stream.emit("r1/typing", "alice", True)
    assert await client.recv_many(2) == [
        event("notify-room", "r2/typing", "bob", True),
        event("notify-room", "r1/typing", "alice", True),
    ]
    assert await other.recv() == event("notify-room", "r2/typing", "bob", True)
    assert server.streams["notify-room"].subscriber_count() == 3
    assert stream.subscriber_count("r2/typing") == 2


async def test_a_thousand_events_with_identical_bursts_arrive_complete_and_in_order(
    server: Server, client
):
    stream = server.stream("room-messages")
    await subscribe(client, "s", "room-messages", "GENERAL", False)
    sent = []
    for i in range(1000):
        # Bursts of ten identical payloads: a merge box would collapse each into one.
        payload = {"msg": f"m{i // 10}", "rid": "GENERAL"}
        sent.append(payload)
        stream.emit("GENERAL", payload)
    received = await client.recv_many(1000)
    assert received == [event("room-messages", "GENERAL", p) for p in sent]


async def test_unsubscribe_stops_the_events(server: Server, client):
    stream = server.stream("room-messages")
    await subscribe(client, "s", "room-messages", "GENERAL", False)
    await subscribe(client, "marker", "room-messages", "marker", False)
    await client.send({"msg": "unsub", "id": "s"})
    assert await client.recv() == {"msg": "nosub", "id": "s"}
    stream.emit("GENERAL", "after unsub")
    stream.emit("marker", "end")
    assert await client.recv() == event("room-messages", "marker", "end")
    assert stream.subscriber_count("GENERAL") == 0


async def test_a_closed_session_leaves_no_subscriber(server: Server, open_client):
    stream = server.stream("room-messages")
    raw = await open_client(server.url)
    await raw.connect()
    await subscribe(raw, "s", "room-messages", "GENERAL", False)
    await raw.send({"msg": "disconnect"})
    await raw.ws.close()
    await server.wait_until(lambda: stream.subscriber_count() == 0)
    stream.emit("GENERAL", "to nobody")


async def test_events_missed_while_dropped_come_with_the_resume(server: Server, open_client):
    stream = server.stream("room-messages")
    raw = await open_client(server.url)
    await raw.connect()
    await subscribe(raw, "s", "room-messages", "GENERAL", False)
    server.faults.drop(raw.session)
    await server.wait_for_disconnections(1)
    stream.emit("GENERAL", 1)
    stream.emit("GENERAL", 1)
    again = await open_client(server.url)
    assert await again.connect(session=raw.session, receivedCount=raw.received) == raw.session
    assert await again.recv_many(2) == [event("room-messages", "GENERAL", 1)] * 2


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ([], "invalid-event-name"),
        ([""], "invalid-event-name"),
        ([5, False], "invalid-event-name"),
        (["GENERAL", {"args": "x"}], 400),
        (["GENERAL", "yes"], 400),
    ],
)
async def test_malformed_stream_subscriptions_get_nosub(server: Server, client, params, code):
    server.stream("room-messages")
    reply = await subscribe(client, "s", "room-messages", *params)
    assert reply["msg"] == "nosub" and reply["error"]["error"] == code


async def test_allow_read_is_checked_on_subscribe_and_again_after_login(server: Server, client):
    alice = server.accounts.add_user("alice", "secret")
    seen = []

    def allow_read(sub, event_name, args):
        seen.append((sub.user_id, event_name, args))
        return sub.user_id is not None

    stream = server.stream("notify-user", allow_read=allow_read)
    reply = await subscribe(client, "s", "notify-user", "x", {"useCollection": False, "args": [1]})
    assert reply["msg"] == "nosub" and reply["error"]["error"] == "not-allowed"
    await client.call("login", password_login_params(user="alice", password="secret"))
    assert await subscribe(client, "s2", "notify-user", f"{alice}/n", False) == {
        "msg": "ready",
        "subs": ["s2"],
    }
    assert seen == [(None, "x", [1]), (alice, f"{alice}/n", [])]
    stream.emit(f"{alice}/n", "for alice")
    assert await client.recv() == event("notify-user", f"{alice}/n", "for alice")

    messages = await client.call("logout", id="o")  # the re-run refuses now
    assert messages[0]["msg"] == "nosub" and messages[0]["id"] == "s2"
    assert messages[0]["error"]["error"] == "not-allowed"
    stream.emit(f"{alice}/n", "gone")
    stream.emit("x", "nobody listens")
    assert stream.subscriber_count() == 0


async def test_allow_emit_filters_per_subscriber(server: Server, client, open_client, caplog):
    def allow_emit(sub, event_name, args):
        if args == ["boom"]:
            raise RuntimeError("hook failed")
        return args[0] != sub.session_id

    stream = server.stream("room-messages", allow_emit=allow_emit)
    other = await open_client(server.url)
    await other.connect()
    await subscribe(client, "s", "room-messages", "GENERAL", False)
    await subscribe(other, "s", "room-messages", "GENERAL", False)
    stream.emit("GENERAL", "boom")  # logged, sent to nobody
    stream.emit("GENERAL", client.session)  # not echoed to its sender
    stream.emit("GENERAL", "all")
    assert await client.recv() == event("room-messages", "GENERAL", "all")
    assert await other.recv_many(2) == [
        event("room-messages", "GENERAL", client.session),
        event("room-messages", "GENERAL", "all"),
    ]
    assert "hook failed" in caplog.text


async def test_no_event_is_lost_while_subscriptions_rerun_after_login(server: Server, client):
    server.accounts.add_user("alice", "secret")
    stream = server.stream("room-messages")
    entered, gate = asyncio.Event(), asyncio.Event()

    @server.publish("slow")
    async def slow(sub):
        if sub.user_id is not None:
            entered.set()
            await gate.wait()
        sub.ready()

    await client.send({"msg": "sub", "id": "slow", "name": "slow"})
    assert await client.recv() == {"msg": "ready", "subs": ["slow"]}
    await subscribe(client, "s", "room-messages", "GENERAL", False)
    await client.send(
        {
            "msg": "method",
            "id": "l",
            "method": "login",
            "params": [password_login_params(user="alice", password="secret")],
        }
    )
    await asyncio.wait_for(entered.wait(), 2)  # the re-run is suspended in `slow`
    stream.emit("GENERAL", "during the re-run")
    assert await client.recv() == event("room-messages", "GENERAL", "during the re-run")
    gate.set()
    kinds = [(await client.recv())["msg"] for _ in range(4)]
    assert kinds == ["added", "ready", "result", "updated"]
    stream.emit("GENERAL", "after")
    assert await client.recv() == event("room-messages", "GENERAL", "after")
    assert stream.subscriber_count() == 1


def test_emit_misuse_and_before_start():
    server = Server()
    stream = server.stream("s")
    stream.emit("e", 1)  # not started: nobody to send to
    with pytest.raises(TypeError):
        stream.emit(5)
    with pytest.raises(ddp.EJSONError):
        stream.emit("e", object())
    with pytest.raises(TypeError):
        server.stream("")


def _raw_sync_subscribe(ws, *subs: tuple[str, str]) -> None:
    ws.send('{"msg":"connect","version":"1","support":["1"]}')
    assert json.loads(ws.recv(2))["msg"] == "connected"
    for sub_id, event_name in subs:
        ws.send(
            json.dumps(
                {
                    "msg": "sub",
                    "id": sub_id,
                    "name": "stream-room-messages",
                    "params": [event_name, False],
                }
            )
        )
        assert json.loads(ws.recv(2)) == {"msg": "ready", "subs": [sub_id]}


def test_emit_from_other_threads_keeps_each_threads_order():
    with server_in_thread(heartbeat_interval=0) as st:
        stream = st.call(st.server.stream, "room-messages")
        with connect(st.url, open_timeout=2) as ws:
            _raw_sync_subscribe(ws, ("s", "GENERAL"))

            def emit_all(tag: str) -> None:
                for i in range(1000):
                    stream.emit("GENERAL", {"from": tag, "n": i // 5})  # bursts of five

            threads = [threading.Thread(target=emit_all, args=(t,)) for t in ("a", "b", "c")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            emit_all("main")
            received = [json.loads(ws.recv(2)) for _ in range(4000)]
        by_thread: dict[str, list[int]] = {}
        for msg in received:
            assert msg["collection"] == "stream-room-messages" and msg["id"] == "id"
            (payload,) = msg["fields"]["args"]
            by_thread.setdefault(payload["from"], []).append(payload["n"])
        expected = [i // 5 for i in range(1000)]
        assert by_thread == {"a": expected, "b": expected, "c": expected, "main": expected}
    stream.emit("GENERAL", "after stop")  # the loop is gone: a no-op


async def test_clients_emit_through_the_stream_method_when_allowed(
    server: Server, client, open_client
):
    stream = server.stream("notify-room")
    other = await open_client(server.url)
    await other.connect()
    for raw in (client, other):
        await subscribe(raw, "s", "notify-room", "r1/typing", False)
    name = "stream-notify-room"
    refused = await client.result(name, "r1/typing", "alice", True)
    assert refused["error"]["error"] == "not-allowed"

    writes = []
    stream.allow_write = lambda ctx, event_name, args: writes.append((event_name, args)) or True
    assert await client.call(name, "r1/typing", "alice", True, id="w") == [
        {"msg": "result", "id": "w"},
        {"msg": "updated", "methods": ["w"]},
    ]  # the sender does not get its own event back
    assert await other.recv() == event("notify-room", "r1/typing", "alice", True)
    assert writes == [("r1/typing", ["alice", True])]
    bad = await client.result(name, 5, id="b")
    assert bad["error"]["error"] == "invalid-event-name"

    server.stream("notify-room", retransmit_to_self=True)
    messages = await client.call(name, "r1/typing", "again", id="w2")
    assert messages[0] == event("notify-room", "r1/typing", "again")
    assert await other.recv() == event("notify-room", "r1/typing", "again")
