"""Update listeners and streams: every message, once, in order, never merged (issue 12)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from collection_helpers import added, added_before, changed, moved_before, removed

from ddp import ejson
from ddp.collection import CollectionRegistry, DataUpdate


@pytest.fixture
def registry() -> CollectionRegistry:
    return CollectionRegistry()


def event(name: str, *args: Any, wire_id: str = "id") -> dict[str, Any]:
    """A Meteor streamer event, as Rocket.Chat sends it."""
    return {
        "msg": "changed",
        "collection": "stream-room-messages",
        "id": wire_id,
        "fields": {"eventName": name, "args": list(args)},
    }


def test_update_listeners_hear_every_message_in_order_never_merged(
    registry: CollectionRegistry,
) -> None:
    heard: list[DataUpdate] = []
    registry.add_update_listener(heard.append)
    batch = [
        added("c", "a", n=1, tags=["x"]),
        changed("c", "a", n=2),
        changed("c", "a", n=2),  # identical: still heard
        changed("c", "a", cleared=["tags"]),
        added_before("o", "p", None, k=1),
        added_before("o", "q", "p", k=2),
        moved_before("o", "q", None),
        removed("c", "a"),
        removed("c", "never-there"),
        added("c", "~1", n=0),  # a numeric wire id is parsed as the documents have it
    ]
    registry.apply_batch(batch, reset=False)
    assert [(u.collection, u.msg, u.id) for u in heard] == [
        ("c", "added", "a"),
        ("c", "changed", "a"),
        ("c", "changed", "a"),
        ("c", "changed", "a"),
        ("o", "addedBefore", "p"),
        ("o", "addedBefore", "q"),
        ("o", "movedBefore", "q"),
        ("c", "removed", "a"),
        ("c", "removed", "never-there"),
        ("c", "added", 1),
    ]
    assert heard[0].fields == {"n": 1, "tags": ["x"]}  # a list, as decoded, without _id
    assert heard[1].fields == heard[2].fields == {"n": 2}
    assert heard[3].fields == {} and heard[3].cleared == ("tags",)
    assert heard[5].before == "p" and heard[6].before is None
    assert heard[7].fields is None
    assert not any(u.replay for u in heard)


def test_update_listeners_get_copies(registry: CollectionRegistry) -> None:
    heard: list[DataUpdate] = []
    registry.add_update_listener(heard.append)
    registry.apply_batch([added("c", "a", tags=["x"], sub={"k": 1})], reset=False)
    assert heard[0].fields is not None
    heard[0].fields["tags"].append("y")
    heard[0].fields["sub"]["k"] = 2
    assert registry.get("c").find_one("a") == {"_id": "a", "tags": ["x"], "sub": {"k": 1}}


def test_a_collection_listener_hears_only_its_collection(registry: CollectionRegistry) -> None:
    mine: list[DataUpdate] = []
    everything: list[DataUpdate] = []
    registry.add_update_listener(mine.append, "c")
    registry.add_update_listener(everything.append)
    registry.apply_batch([added("c", "a"), added("d", "b"), changed("c", "a", n=1)], reset=False)
    assert [(u.collection, u.msg) for u in mine] == [("c", "added"), ("c", "changed")]
    assert [u.collection for u in everything] == ["c", "d", "c"]


def test_a_new_sessions_batch_is_heard_as_replay(registry: CollectionRegistry) -> None:
    heard: list[DataUpdate] = []
    registry.apply_batch([added("c", "a", n=1), added("c", "b", n=1)], reset=False)
    registry.add_update_listener(heard.append)
    # A reconnect onto a new session: the server sends what it has now, the store is reset.
    registry.apply_batch([added("c", "a", n=1)], reset=True)
    registry.apply_batch([changed("c", "a", n=2)], reset=False)
    assert [(u.msg, u.id, u.replay) for u in heard] == [
        ("added", "a", True),
        ("changed", "a", False),
    ]


def test_update_listeners_come_before_observers_of_the_same_batch(
    registry: CollectionRegistry,
) -> None:
    order: list[str] = []
    registry.add_update_listener(lambda u: order.append(f"update {u.msg}"))
    with (
        registry.get("c").find().observe_changes(added=lambda i, f: order.append("observer added"))
    ):
        registry.apply_batch([added("c", "a"), changed("c", "a", n=1)], reset=False)
    assert order == ["update added", "update changed", "observer added"]


def test_refused_messages_are_not_heard(registry: CollectionRegistry) -> None:
    heard: list[DataUpdate] = []
    registry.add_update_listener(heard.append)
    registry.apply_batch(
        [
            {"msg": "added", "collection": "c", "id": 5},
            {"msg": "nosub", "collection": "c", "id": "x"},
            {"msg": "changed", "collection": "c", "id": "a", "fields": 7},
            added("c", "ok"),
        ],
        reset=False,
    )
    assert [u.id for u in heard] == ["ok"]
    assert registry.bad_messages == 3


def test_a_removed_listener_hears_nothing_more(registry: CollectionRegistry) -> None:
    queued: list[Any] = []
    heard: list[DataUpdate] = []
    # The dispatcher holds the callbacks back, as the blocking client's thread may.
    registry = CollectionRegistry(dispatch=queued.append)
    remove = registry.add_update_listener(heard.append, "c")
    registry.apply_batch([added("c", "a")], reset=False)
    remove()
    remove()  # twice is fine
    registry.apply_batch([added("c", "b")], reset=False)
    for run in queued:
        run()
    assert heard == []
    assert not registry._hooked  # back on the write path without hooks


def test_a_listener_that_raises_costs_nothing_else(
    registry: CollectionRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[Any] = []

    def broken(update: DataUpdate) -> None:
        raise RuntimeError("bug in user code")

    registry.add_update_listener(broken)
    registry.add_update_listener(heard.append)
    with caplog.at_level(logging.ERROR, logger="ddp.collection"):
        registry.apply_batch([added("c", "a"), added("c", "b")], reset=False)
    assert [u.id for u in heard] == ["a", "b"]
    assert len(caplog.records) == 2


def test_a_stream_turns_every_changed_into_one_event(registry: CollectionRegistry) -> None:
    events: list[tuple[Any, Any]] = []
    registry.add_stream("stream-room-messages", lambda name, args: events.append((name, args)))
    message = {"_id": "m1", "msg": "hello", "ts": {"$date": 1_700_000_000_000}}
    decoded = ejson.from_json_value(message)
    registry.apply_batch(
        [event("room1", decoded), event("room1", decoded), event("room1", decoded)], reset=False
    )
    registry.apply_batch([event("room1", decoded), event("room2", 1, 2)], reset=False)
    assert events == [("room1", [decoded])] * 4 + [("room2", [1, 2])]
    assert len(registry.get("stream-room-messages")) == 0
    assert registry.is_stream("stream-room-messages")


def test_a_stream_never_grows_the_store(registry: CollectionRegistry) -> None:
    count = [0]
    registry.add_stream("s", lambda name, args: count.__setitem__(0, count[0] + 1))
    registry.apply_batch(
        [
            {"msg": "added", "collection": "s", "id": "id", "fields": {"eventName": "e"}},
            *({**event("e", i), "collection": "s", "id": f"id{i}"} for i in range(100)),
            {"msg": "removed", "collection": "s", "id": "id"},
        ],
        reset=False,
    )
    assert count[0] == 100
    assert registry.get("s").count() == 0
    assert registry.bad_messages == 0


def test_update_listeners_hear_a_streams_messages_too(registry: CollectionRegistry) -> None:
    heard: list[DataUpdate] = []
    registry.add_update_listener(heard.append)
    registry.add_stream("stream-room-messages", lambda name, args: None)
    registry.apply_batch([event("r", "x"), event("r", "x")], reset=False)
    assert [(u.msg, u.fields) for u in heard] == [
        ("changed", {"eventName": "r", "args": ["x"]}),
    ] * 2


def test_a_malformed_stream_event_is_refused_alone(registry: CollectionRegistry) -> None:
    events: list[Any] = []
    registry.add_stream("stream-room-messages", lambda name, args: events.append(args))
    bad_args = event("r")
    bad_args["fields"]["args"] = "not a list"
    too_deep = event("r")
    deep: Any = 1
    for _ in range(1000):
        deep = [deep]
    too_deep["fields"]["args"] = [deep]
    registry.apply_batch([event("r", 1), bad_args, too_deep, event("r", 2)], reset=False)
    assert events == [[1], [2]]
    assert registry.bad_messages == 2


def test_a_stream_without_callbacks_is_a_collection_again(registry: CollectionRegistry) -> None:
    events: list[Any] = []
    remove = registry.add_stream("s", lambda name, args: events.append(args))
    registry.apply_batch([{**event("e", 1), "collection": "s"}], reset=False)
    remove()
    assert not registry.is_stream("s")
    registry.apply_batch([{**event("e", 2), "collection": "s"}], reset=False)
    assert events == [[1]]
    assert registry.get("s").find_one("id") == {"_id": "id", "eventName": "e", "args": [2]}


def test_hooks_reject_what_is_not_callable(registry: CollectionRegistry) -> None:
    with pytest.raises(TypeError):
        registry.add_update_listener("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.add_update_listener(print, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.add_stream("s", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.add_stream(5, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.add_error_listener(3)  # type: ignore[arg-type]


def test_errors_keep_their_place_among_the_updates(registry: CollectionRegistry) -> None:
    order: list[str] = []
    registry.add_update_listener(lambda u: order.append(f"update {u.id}"))
    registry.add_error_listener(lambda e: order.append("error"))
    registry.apply_batch(
        [added("c", "a"), {"msg": "added", "collection": "c", "id": 5}, added("c", "b")],
        reset=False,
    )
    registry.apply_batch([{"msg": "added", "collection": "c"}], reset=False)
    assert order == ["update a", "error", "update b", "error"]


def test_a_collection_outside_a_client_cannot_be_followed() -> None:
    from ddp.collection import CollectionRegistry
    from ddp.exceptions import InvalidStateError

    items = CollectionRegistry().get("items")
    with pytest.raises(InvalidStateError):
        items.changes()
    with pytest.raises(InvalidStateError):
        items.updates()
