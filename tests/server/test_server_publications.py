"""Publications over the wire: cursors, the merge box, unsub, reactive updates, errors."""

from __future__ import annotations

import asyncio

import pytest

import ddp
from ddp.ejson import ObjectId
from ddp.server import Server


@pytest.fixture
def items(server: Server):
    coll = server.collection("items")
    coll.insert({"_id": "a", "color": "red", "n": 1})
    coll.insert({"_id": "b", "color": "blue", "n": 2})

    @server.publish("items")
    def publish_items(sub, color=None):
        return coll.find({"color": color} if color else None)

    @server.method("items.set")
    def set_field(ctx, doc_id, fields):
        coll.update(doc_id, {"$set": fields})

    @server.method("items.insert")
    def insert(ctx, doc):
        return coll.insert(doc)

    @server.method("items.remove")
    def remove(ctx, doc_id):
        coll.remove(doc_id)

    return coll


async def test_cursor_publication_then_ready(client, items):
    await client.send({"msg": "sub", "id": "s1", "name": "items"})
    assert await client.recv_many(3) == [
        {"msg": "added", "collection": "items", "id": "a", "fields": {"color": "red", "n": 1}},
        {"msg": "added", "collection": "items", "id": "b", "fields": {"color": "blue", "n": 2}},
        {"msg": "ready", "subs": ["s1"]},
    ]


async def test_method_writes_arrive_before_updated(client, items):
    await client.send({"msg": "sub", "id": "s1", "name": "items", "params": ["red"]})
    await client.recv_many(2)
    messages = await client.call("items.set", "a", {"n": 5})
    assert messages == [
        {"msg": "changed", "collection": "items", "id": "a", "fields": {"n": 5}},
        {"msg": "result", "id": "m"},
        {"msg": "updated", "methods": ["m"]},
    ]
    # A change that makes the document leave the selector removes it; one that makes another
    # document enter adds it.
    messages = await client.call("items.set", "a", {"color": "green"}, id="m2")
    assert messages[0] == {"msg": "removed", "collection": "items", "id": "a"}
    messages = await client.call("items.set", "b", {"color": "red"}, id="m3")
    assert messages[0] == {
        "msg": "added",
        "collection": "items",
        "id": "b",
        "fields": {"color": "red", "n": 2},
    }
    messages = await client.call("items.insert", {"_id": "c", "color": "red"}, id="m4")
    assert messages[:2] == [
        {"msg": "added", "collection": "items", "id": "c", "fields": {"color": "red"}},
        {"msg": "result", "id": "m4", "result": "c"},
    ]
    messages = await client.call("items.remove", "c", id="m5")
    assert messages[0] == {"msg": "removed", "collection": "items", "id": "c"}


async def test_writes_reach_other_connections_before_the_callers_updated(
    server: Server, open_client, items
):
    watcher = await open_client(server.url)
    await watcher.connect()
    await watcher.send({"msg": "sub", "id": "w", "name": "items"})
    await watcher.recv_many(3)
    writer = await open_client(server.url)
    await writer.connect()
    await writer.call("items.set", "b", {"n": 3})
    # The watcher's change was queued before the writer's `updated` was.
    assert await watcher.recv() == {
        "msg": "changed",
        "collection": "items",
        "id": "b",
        "fields": {"n": 3},
    }


async def test_cleared_fields(client, server: Server, items):
    await client.send({"msg": "sub", "id": "s1", "name": "items", "params": ["red"]})
    await client.recv_many(2)

    @server.method("unset")
    def unset(ctx):
        items.update("a", {"$unset": {"n": 1}, "$set": {"k": True}})

    messages = await client.call("unset")
    assert messages[0] == {
        "msg": "changed",
        "collection": "items",
        "id": "a",
        "fields": {"k": True},
        "cleared": ["n"],
    }


async def test_two_subscriptions_share_a_document(client, server: Server):
    @server.publish("left")
    def left(sub):
        sub.added("docs", "d", {"a": 1, "shared": "L"})
        sub.ready()

    @server.publish("right")
    def right(sub):
        sub.added("docs", "d", {"b": 2, "shared": "R"})
        sub.ready()

    await client.send({"msg": "sub", "id": "L", "name": "left"})
    assert await client.recv_many(2) == [
        {"msg": "added", "collection": "docs", "id": "d", "fields": {"a": 1, "shared": "L"}},
        {"msg": "ready", "subs": ["L"]},
    ]
    await client.send({"msg": "sub", "id": "R", "name": "right"})
    # Only what the client gains: the first subscription keeps precedence on "shared".
    assert await client.recv_many(2) == [
        {"msg": "changed", "collection": "docs", "id": "d", "fields": {"b": 2}},
        {"msg": "ready", "subs": ["R"]},
    ]
    await client.send({"msg": "unsub", "id": "L"})
    assert await client.recv_many(2) == [
        {
            "msg": "changed",
            "collection": "docs",
            "id": "d",
            "fields": {"shared": "R"},
            "cleared": ["a"],
        },
        {"msg": "nosub", "id": "L"},
    ]
    await client.send({"msg": "unsub", "id": "R"})
    assert await client.recv_many(2) == [
        {"msg": "removed", "collection": "docs", "id": "d"},
        {"msg": "nosub", "id": "R"},
    ]


async def test_unknown_publication_and_unknown_unsub(client):
    await client.send({"msg": "sub", "id": "x", "name": "nope"})
    nosub = await client.expect("nosub")
    assert nosub["id"] == "x"
    assert (nosub["error"]["error"], nosub["error"]["reason"]) == (
        404,
        "Subscription 'nope' not found",
    )
    await client.send({"msg": "unsub", "id": "never"})
    assert await client.recv() == {"msg": "nosub", "id": "never"}


async def test_resubscribing_an_active_id_is_ignored(client, server: Server, items):
    runs = []

    @server.publish("counted")
    def counted(sub):
        runs.append(sub.id)
        sub.ready()

    await client.send({"msg": "sub", "id": "c", "name": "counted"})
    await client.expect("ready")
    await client.send({"msg": "sub", "id": "c", "name": "counted"})
    await client.send({"msg": "ping", "id": "after"})
    assert await client.recv() == {"msg": "pong", "id": "after"}
    await client.send({"msg": "method", "id": "1", "method": "items.remove", "params": ["zz"]})
    assert (await client.recv())["msg"] == "result"  # the duplicate sub produced nothing
    assert runs == ["c"]


async def test_publication_error_and_server_stop(client, server: Server):
    stopped = asyncio.Event()

    @server.publish("fails")
    def fails(sub):
        sub.added("docs", 1, {"x": 1})
        raise ddp.MethodError("nope", "Not for you")

    @server.publish("crashes")
    def crashes(sub):
        raise KeyError("hidden")

    @server.publish("stops")
    async def stops(sub):
        sub.on_stop(stopped.set)
        sub.added("docs", ObjectId("0123456789abcdef01234567"), {})
        sub.ready()
        await asyncio.sleep(0)
        sub.stop()

    await client.send({"msg": "sub", "id": "f", "name": "fails"})
    added, removed, nosub = await client.recv_many(3)
    assert added == {"msg": "added", "collection": "docs", "id": "~1", "fields": {"x": 1}}
    assert removed == {"msg": "removed", "collection": "docs", "id": "~1"}
    assert nosub["id"] == "f" and nosub["error"]["error"] == "nope"

    await client.send({"msg": "sub", "id": "c", "name": "crashes"})
    nosub = await client.expect("nosub")
    assert (nosub["error"]["error"], nosub["error"]["reason"]) == (500, "Internal server error")

    await client.send({"msg": "sub", "id": "s", "name": "stops"})
    assert await client.recv_many(4) == [
        {"msg": "added", "collection": "docs", "id": "0123456789abcdef01234567"},
        {"msg": "ready", "subs": ["s"]},
        {"msg": "removed", "collection": "docs", "id": "0123456789abcdef01234567"},
        {"msg": "nosub", "id": "s"},
    ]
    assert stopped.is_set()


async def test_publication_misuse_is_reported(client, server: Server):
    @server.publish("bad")
    def bad(sub):
        sub.changed("docs", "never-added", {"x": 1})

    @server.publish("returns")
    def returns(sub):
        return 42

    await client.send({"msg": "sub", "id": "b", "name": "bad"})
    assert (await client.expect("nosub"))["error"]["error"] == 500
    await client.send({"msg": "sub", "id": "r", "name": "returns"})
    assert (await client.expect("nosub"))["error"]["error"] == 500


async def test_subscription_context(client, server: Server):
    seen = {}

    @server.publish("ctx")
    def ctx(sub, *params):
        seen.update(
            id=sub.id, name=sub.name, params=params, user=sub.user_id, session=sub.session_id
        )
        sub.ready()
        sub.ready()  # only once on the wire

    await client.send({"msg": "sub", "id": "q", "name": "ctx", "params": [1, "two"]})
    await client.expect("ready")
    assert seen == {
        "id": "q",
        "name": "ctx",
        "params": (1, "two"),
        "user": None,
        "session": client.session,
    }
    await client.send({"msg": "ping"})
    assert await client.recv() == {"msg": "pong"}


async def test_subscription_rate_limit(client, server: Server, items):
    server.rate_limit("items", 1, 60, kind="subscription")
    await client.send({"msg": "sub", "id": "1", "name": "items"})
    await client.recv_many(3)
    await client.send({"msg": "sub", "id": "2", "name": "items"})
    nosub = await client.expect("nosub")
    assert nosub["error"]["error"] == "too-many-requests"


async def test_a_slow_publication_can_unblock(client, server: Server):
    gate = asyncio.Event()

    @server.publish("slow")
    async def slow(sub):
        sub.unblock()
        await gate.wait()
        sub.ready()

    @server.method("open")
    def open_gate(ctx):
        gate.set()

    await client.send({"msg": "sub", "id": "s", "name": "slow"})
    await client.send({"msg": "method", "id": "o", "method": "open"})
    kinds = [m["msg"] for m in await client.recv_many(3)]
    assert kinds.index("result") < kinds.index("ready")


async def test_publishing_by_hand(client, server: Server):
    handles = {}
    stops: list[str] = []

    @server.publish("manual")
    def manual(sub):
        handles["sub"] = sub
        sub.added("docs", "d", {"a": 1, "b": 2})
        sub.ready()

    async def async_stop():
        stops.append("async")

    await client.send({"msg": "sub", "id": "m", "name": "manual"})
    await client.recv_many(2)
    sub = handles["sub"]
    assert sub.is_ready and not sub.stopped and sub.connection.id == client.session
    sub.changed("docs", "d", {"a": 5}, cleared=["b"])
    assert await client.recv() == {
        "msg": "changed",
        "collection": "docs",
        "id": "d",
        "fields": {"a": 5},
        "cleared": ["b"],
    }
    with pytest.raises(ddp.InvalidStateError):
        sub.removed("docs", "other")
    with pytest.raises(ddp.InvalidStateError):
        sub.added(5, "d", {})  # type: ignore[arg-type]
    sub.removed("docs", "d")
    assert await client.recv() == {"msg": "removed", "collection": "docs", "id": "d"}
    sub.on_stop(async_stop)
    await client.send({"msg": "unsub", "id": "m"})
    assert await client.recv() == {"msg": "nosub", "id": "m"}
    assert sub.stopped
    # A stopped subscription ignores further calls; late on_stop callbacks run at once.
    sub.added("docs", "late", {})
    sub.changed("docs", "d", {"a": 1})
    sub.removed("docs", "d")
    sub.ready()
    sub.error(RuntimeError("ignored"))
    sub.stop()
    sub.on_stop(lambda: stops.append("late"))
    assert stops[-1] == "late"
    await server.wait_until(lambda: "async" in stops)


async def test_unsub_with_a_bad_id(client):
    await client.send({"msg": "unsub", "id": 5})
    error = await client.expect("error")
    assert error["reason"] == "Bad request"
