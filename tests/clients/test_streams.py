"""Streams, update listeners and change iterators: every message, in order, on both clients.

Each test runs on ``ddp.Client`` and ``ddp.AsyncClient`` (:mod:`conformance_support`)
against a real ``ddp.server`` over loopback websockets.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from client_app import PASSWORD
from conformance_support import KINDS, TIMEOUT, driven
from stream_support import Collector, Joins, drain, on_client, take
from sync_support import FAST

import ddp
from ddp.collection import CollectionChange, DataUpdate
from ddp.server import ServerStream, ServerThread

ROOM = "stream-room-messages"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """The driver under test."""
    return str(request.param)


def _server_stream(st: ServerThread, **hooks: Any) -> ServerStream:
    stream: ServerStream = st.call(st.server.stream, "room-messages", **hooks)
    return stream


def _subscribers(st: ServerThread, stream: ServerStream, event: str = "GENERAL") -> int:
    """How many subscriptions follow ``event`` now (read on the server's loop)."""
    count: int = st.call(stream.subscriber_count, event)
    return count


def test_a_thousand_events_with_identical_bursts_arrive_complete_in_order(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    room = _server_stream(st)
    # Bursts of ten identical payloads: a merging client would keep one of each burst.
    payloads = [{"msg": f"m{i // 10}", "u": {"username": "bob"}} for i in range(1000)]
    with driven(kind, st.url) as d:
        stream = d.stream(ROOM, "GENERAL", max_queue=2000)
        on_client(d, lambda: stream.ready(TIMEOUT))

        def emit_all() -> None:
            for payload in payloads:
                room.emit("GENERAL", payload)
            room.emit("OTHER", {"msg": "not for this stream"})

        st.call(emit_all)  # on the server's loop, as fast as it goes
        events = take(d, stream, 1000)
        assert [name for name, _ in events] == ["GENERAL"] * 1000
        assert [args for _, args in events] == [[p] for p in payloads]
        # Nothing stored: the stream's document never enters the cache.
        assert d.collection(ROOM).count() == 0
        stats = d.stats()
        assert stats.dropped_events == 0
        on_client(d, stream.stop)
        assert d.call("echo", 1) == 1  # the server handles the unsub before this call
        assert _subscribers(st, room) == 0
        assert drain(d, stream) == []


def test_the_options_form_and_a_callback(kind: str, server_thread: ServerThread) -> None:
    st = server_thread
    seen: list[list[Any]] = []
    room = _server_stream(st, allow_read=lambda sub, event, args: seen.append(args) or True)
    got = Collector()
    with driven(kind, st.url) as d:
        stream = d.stream(ROOM, "GENERAL", "x", 1, callback=got)
        assert stream.params == ("GENERAL", {"useCollection": False, "args": ["x", 1]})
        on_client(d, lambda: stream.ready(TIMEOUT))
        with pytest.raises(ddp.InvalidStateError):
            d.stream(ROOM, "GENERAL", with_options=True)  # would get every event twice
        bare = d.stream(ROOM, "OTHER", with_options=True)
        assert bare.params == ("OTHER", {"useCollection": False, "args": []})
        on_client(d, lambda: bare.ready(TIMEOUT))
        assert seen == [["x", 1], []]
        for _ in range(3):
            room.emit("GENERAL", "same")
            room.emit("OTHER", "same")
        assert got.wait_for(3) == [("GENERAL", ["same"])] * 3
        assert len(got.threads) == 1  # the callback thread (or loop), never the reader's
        assert take(d, bare, 3) == [("OTHER", ["same"])] * 3
        with pytest.raises(ddp.InvalidStateError):
            drain(d, stream)
        with pytest.raises(ddp.InvalidStateError):
            take(d, stream, 1)
        with pytest.raises(ValueError):
            d.stream(ROOM, "GENERAL", "x", with_options=False)


def test_streams_of_one_event_share_the_subscription(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    room = _server_stream(st)
    with driven(kind, st.url) as d:
        one = d.stream(ROOM, "GENERAL")
        two = d.stream(ROOM, "GENERAL")
        assert one.subscription is two.subscription
        on_client(d, lambda: one.ready(TIMEOUT))
        assert _subscribers(st, room) == 1  # one subscription for both
        room.emit("GENERAL", 1)
        assert take(d, one, 1) == [("GENERAL", [1])]
        assert take(d, two, 1) == [("GENERAL", [1])]
        on_client(d, one.stop)
        room.emit("GENERAL", 2)
        assert take(d, two, 1) == [("GENERAL", [2])]  # still subscribed for the other
        on_client(d, two.stop)
        assert d.call("echo", 1) == 1  # the server handles the unsub before this call
        assert _subscribers(st, room) == 0
        # A late event of a stopped stream is not stored either.
        st.call(st.server.faults.send_message, None, _event("GENERAL", [3]))
        assert d.call("echo", 1) == 1
        assert d.collection(ROOM).count() == 0


def test_a_refused_stream_raises_when_entered(kind: str, server_thread: ServerThread) -> None:
    st = server_thread
    _server_stream(st, allow_read=lambda sub, event, args: False)
    with driven(kind, st.url) as d:
        stream = d.stream(ROOM, "secret")

        def enter() -> Any:
            if d.kind == "sync":
                with stream:
                    pass
                return None

            async def aenter() -> None:
                async with stream:
                    pass

            return aenter()

        with pytest.raises(ddp.SubscriptionError):
            on_client(d, enter)
        assert stream.subscription.stopped
        with pytest.raises(ddp.SubscriptionError):
            drain(d, stream)


def test_a_stream_survives_a_dropped_connection_and_a_server_restart(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    joins = Joins()
    room = _server_stream(st, allow_read=joins)
    reconnects = Collector()
    with driven(kind, st.url, reconnect=FAST) as d:
        d.on_connected(reconnects)
        stream = d.stream(ROOM, "GENERAL")
        on_client(d, lambda: stream.ready(TIMEOUT))
        room.emit("GENERAL", "before")
        assert take(d, stream, 1) == [("GENERAL", ["before"])]
        st.call(st.server.faults.drop_all)
        room.emit("GENERAL", "while dropped")  # queued for the resumable session
        record = st.run(st.server.wait_for_connections(2))
        assert record.resumed
        assert take(d, stream, 1) == [("GENERAL", ["while dropped"])]
        st.call(st.server.faults.restart)
        room.emit("GENERAL", "lost")  # nobody is subscribed: gone, and not invented later
        joins.wait_for(2)  # subscribed again on the new session
        room.emit("GENERAL", "after")
        assert take(d, stream, 1) == [("GENERAL", ["after"])]
        assert [c.resumed for c in reconnects.wait_for(2)] == [True, False]
        assert d.collection(ROOM).count() == 0
        assert len(stream) == 0


def test_a_slow_consumer_neither_stalls_the_client_nor_loses_silently(
    kind: str, server_thread: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    st = server_thread
    room = _server_stream(st)
    caplog.set_level(logging.INFO, logger="ddp.client")
    with driven(kind, st.url) as d:
        stream = d.stream(ROOM, "GENERAL", max_queue=10)
        on_client(d, lambda: stream.ready(TIMEOUT))
        # A second reader of the same events, called after the stream's queue is filled:
        # once it has seen an event, so has the stream (a barrier, not a sleep).
        seen = Collector()
        d.stream(ROOM, "GENERAL", callback=seen)
        st.call(lambda: [room.emit("GENERAL", i) for i in range(100)])
        # Nobody reads the stream; the connection goes on all the same.
        assert d.ping(timeout=TIMEOUT) >= 0
        assert d.call("echo", "alive") == "alive"
        seen.wait_for(100)
        assert take(d, stream, 10) == [("GENERAL", [i]) for i in range(90, 100)]
        assert stream.dropped == 90
        assert d.stats().dropped_events == 90
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "too slow" in warnings[0]  # one per episode, not per drop
        caught_up = [r.getMessage() for r in caplog.records if "caught up" in r.getMessage()]
        assert caught_up and "90 dropped" in caught_up[0]
        # A second episode: one more warning, the counter goes on.
        st.call(lambda: [room.emit("GENERAL", i) for i in range(20)])
        seen.wait_for(120)
        assert take(d, stream, 10) == [("GENERAL", [i]) for i in range(10, 20)]
        assert d.stats().dropped_events == 100
        assert sum(r.levelno >= logging.WARNING for r in caplog.records) == 2
        d.reset_stats()
        assert d.stats().dropped_events == 0


def _event(name: str, args: list[Any]) -> dict[str, Any]:
    return {
        "msg": "changed",
        "collection": ROOM,
        "id": "id",
        "fields": {"eventName": name, "args": args},
    }


def _busy_messages() -> list[dict[str, Any]]:
    """Every kind of data message, repeats included, on a collection no sub names."""
    messages: list[dict[str, Any]] = []
    for i in range(50):
        messages.append({"msg": "added", "collection": "log", "id": f"d{i}", "fields": {"n": i}})
        for _ in range(3):  # three identical changes: three messages
            messages.append(
                {"msg": "changed", "collection": "log", "id": f"d{i}", "fields": {"n": -1}}
            )
        messages.append({"msg": "changed", "collection": "log", "id": f"d{i}", "cleared": ["n"]})
        if i % 2:
            messages.append({"msg": "removed", "collection": "log", "id": f"d{i}"})
    messages.append(
        {"msg": "addedBefore", "collection": "queue", "id": "q1", "fields": {}, "before": None}
    )
    messages.append(
        {
            "msg": "addedBefore",
            "collection": "queue",
            "id": "q0",
            "fields": {"a": [1]},
            "before": "q1",
        }
    )
    messages.append({"msg": "movedBefore", "collection": "queue", "id": "q1", "before": "q0"})
    return messages


def _as_update(message: dict[str, Any]) -> DataUpdate:
    kind = message["msg"]
    fields = None if kind in ("removed", "movedBefore") else message.get("fields", {})
    return DataUpdate(
        collection=message["collection"],
        msg=kind,
        id=message["id"],
        fields=fields,
        cleared=tuple(message.get("cleared", ())),
        before=message.get("before"),
    )


def test_update_listeners_see_every_message_of_a_busy_collection_in_order(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    messages = _busy_messages()
    expected = [_as_update(m) for m in messages]
    everything = Collector()
    only_log = Collector()
    with driven(kind, st.url) as d:
        d.on_update(everything)
        remove = d.on_update(only_log, "log")
        feed = d.updates("queue")

        def send_all() -> None:
            for message in messages:
                st.server.faults.send_message(None, message)

        st.call(send_all)
        assert everything.wait_for(len(messages)) == expected
        assert only_log.wait_for(len(messages) - 3) == [
            u for u in expected if u.collection == "log"
        ]
        assert take(d, feed, 3) == expected[-3:]
        assert len(everything.threads) == 1
        remove()
        st.call(st.server.faults.send_message, None, messages[0])
        assert everything.wait_for(len(messages) + 1)[-1] == expected[0]
        assert len(only_log.items) == len(messages) - 3
        on_client(d, feed.close)


def test_update_listeners_around_a_resume_and_a_new_session(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    items = st.server.collection("items")
    st.call(items.insert, {"_id": "a", "n": 1})
    got = Collector()
    with driven(kind, st.url, reconnect=FAST) as d:
        d.on_update(got, "items")
        d.subscribe("items")
        assert got.wait_for(1) == [DataUpdate("items", "added", "a", {"n": 1})]
        st.call(st.server.faults.drop_all)
        st.call(items.update, "a", {"$set": {"n": 2}})  # queued for the resumed session
        assert st.run(st.server.wait_for_connections(2)).resumed
        # The resume replays only what was missed: one change, no repeat of the add.
        assert got.wait_for(2)[1] == DataUpdate("items", "changed", "a", {"n": 2})
        st.call(st.server.faults.restart)
        st.call(items.insert, {"_id": "b", "n": 3})
        assert not st.run(st.server.wait_for_connections(3)).resumed
        # A new session sends everything again: flagged as a replay, in one batch.
        replay = got.wait_for(4)[2:]
        assert sorted(replay, key=lambda u: u.id) == [
            DataUpdate("items", "added", "a", {"n": 2}, replay=True),
            DataUpdate("items", "added", "b", {"n": 3}, replay=True),
        ]
        assert d.call("echo", 1) == 1
        assert len(got.items) == 4


def test_change_iterators_yield_net_changes(kind: str, server_thread: ServerThread) -> None:
    st = server_thread
    with driven(kind, st.url) as d:
        feed = d.changes("items")
        everything = d.changes()
        # The collection's own iterators are the client's, for that collection.
        items = d.collection("items")
        via_collection = d._loop.run(items.changes) if d._loop else items.changes()
        raw = d._loop.run(items.updates) if d._loop else items.updates()
        d.subscribe("items")
        d.call("insert", {"_id": "x", "n": 1})
        st.call(st.server.collection("items").update, "x", {"$set": {"n": 2}})
        expected = [
            CollectionChange("items", "added", "x", {"n": 1}),
            CollectionChange("items", "changed", "x", {"n": 2}),
        ]
        assert take(d, feed, 2) == expected
        assert take(d, everything, 2) == expected
        assert take(d, via_collection, 2) == expected
        assert [(u.msg, u.id) for u in take(d, raw, 2)] == [("added", "x"), ("changed", "x")]
        on_client(d, feed.close)
        assert drain(d, feed) == []
    # The client closed: every iterator ends.
    assert feed.ended and everything.ended


def test_login_and_logout_return_once_the_user_document_is_visible(
    kind: str, server_thread: ServerThread
) -> None:
    st = server_thread
    with driven(kind, st.url) as d:
        result = d.login(user="alice", password=PASSWORD, timeout=TIMEOUT)
        user = d.collection("users").find_one(result.id)
        assert user is not None and user["username"] == "alice"
        d.logout(timeout=TIMEOUT)
        assert d.collection("users").find_one(result.id) is None


def test_iterators_and_streams_need_a_store(kind: str, server_thread: ServerThread) -> None:
    with driven(kind, server_thread.url, collections=False) as d:
        with pytest.raises(ddp.InvalidStateError):
            d.stream(ROOM, "GENERAL")
        with pytest.raises(ddp.InvalidStateError):
            d.changes()
        with pytest.raises(ddp.InvalidStateError):
            d.on_update(print)


def test_a_malformed_stream_event_is_refused_alone(kind: str, server_thread: ServerThread) -> None:
    st = server_thread
    _server_stream(st)
    with driven(kind, st.url) as d:
        stream = d.stream(ROOM, "GENERAL")
        on_client(d, lambda: stream.ready(TIMEOUT))
        bad = _event("GENERAL", [])
        bad["fields"]["args"] = "not a list"
        for message in (bad, {**bad, "fields": None}, _event("GENERAL", ["fine"])):
            st.call(st.server.faults.send_message, None, message)
        assert take(d, stream, 1) == [("GENERAL", ["fine"])]
        assert d.call("echo", 1) == 1  # the connection goes on
        assert d.collection(ROOM).count() == 0
