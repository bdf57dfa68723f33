"""Live queries: observe / observe_changes, batches as transactions, windows, dispatch."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import pytest
from collection_helpers import added, added_before, changed, moved_before, removed

from ddp.collection import MISSING, CollectionRegistry, Cursor


@pytest.fixture
def registry() -> CollectionRegistry:
    return CollectionRegistry()


def recorder() -> tuple[list[tuple[Any, ...]], Callable[[str], Callable[..., None]]]:
    log: list[tuple[Any, ...]] = []

    def cb(name: str) -> Callable[..., None]:
        return lambda *args: log.append((name, *args))

    return log, cb


def test_observe_changes_unordered(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", n=1, x=1), added("c", "b", n=5)], reset=False)
    log, cb = recorder()
    handle = (
        registry.get("c")
        .find({"n": {"$lt": 3}})
        .observe_changes(added=cb("added"), changed=cb("changed"), removed=cb("removed"))
    )
    assert log == [("added", "a", {"n": 1, "x": 1})]
    log.clear()
    registry.apply_batch([changed("c", "a", ["x"], n=2)], reset=False)
    assert log == [("changed", "a", {"n": 2, "x": MISSING})]
    log.clear()
    registry.apply_batch([changed("c", "a", n=2)], reset=False)  # EJSON-equal: nothing
    registry.apply_batch([changed("c", "b", n=4)], reset=False)  # outside the query
    assert log == []
    registry.apply_batch([changed("c", "b", n=0), changed("c", "a", n=9)], reset=False)
    assert log == [("added", "b", {"n": 0}), ("removed", "a")]
    log.clear()
    handle.stop()
    assert handle.stopped
    registry.apply_batch([removed("c", "b")], reset=False)
    assert log == []
    assert registry.get("c")._before is None  # no observer: no bookkeeping


def test_batch_is_one_transaction(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "keep", n=1)], reset=False)
    log, cb = recorder()
    registry.get("c").find().observe_changes(
        added=cb("added"), changed=cb("changed"), removed=cb("removed")
    )
    log.clear()
    registry.apply_batch(
        [
            added("c", "tmp", n=1),
            changed("c", "tmp", n=2),
            removed("c", "tmp"),
            added("c", "new", n=1),
            changed("c", "new", n=2),
            changed("c", "keep", n=2),
            changed("c", "keep", n=3),
        ],
        reset=False,
    )
    assert log == [("added", "new", {"n": 2}), ("changed", "keep", {"n": 3})]
    log.clear()
    # A reset that re-adds the same data is invisible; one that drops a document removes it.
    registry.apply_batch([added("c", "keep", n=3)], reset=True)
    assert log == [("removed", "new")]


def test_observe_documents_and_callback_errors(
    registry: CollectionRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    log, cb = recorder()

    def boom(doc: dict[str, Any]) -> None:
        raise RuntimeError("user bug")

    registry.get("c").find({}, fields={"secret": 0}).observe(
        added=boom, changed=cb("changed"), removed=cb("removed")
    )
    with caplog.at_level(logging.ERROR, logger="ddp.collection"):
        registry.apply_batch([added("c", "a", n=1, secret="s")], reset=False)
    assert "observer callback raised" in caplog.text
    registry.apply_batch([changed("c", "a", n=2, secret="t")], reset=False)
    registry.apply_batch([changed("c", "a", secret="u")], reset=False)  # projected away: no event
    registry.apply_batch([removed("c", "a")], reset=False)
    assert log == [
        ("changed", {"_id": "a", "n": 2}, {"_id": "a", "n": 1}),
        ("removed", {"_id": "a", "n": 2}),
    ]


def test_callbacks_receive_copies(registry: CollectionRegistry) -> None:
    seen: list[dict[str, Any]] = []
    registry.get("c").find().observe(added=seen.append)
    registry.apply_batch([added("c", "a", tags=["x"])], reset=False)
    seen[0]["tags"].append("mutated")
    assert registry.get("c").find_one("a") == {"_id": "a", "tags": ["x"]}


def test_sorted_limited_observe_matches_meteor(registry: CollectionRegistry) -> None:
    # Adapted from Meteor's "minimongo - observe ordered with projection" (MIT), skip/limit part.
    log, cb = recorder()
    c = registry.get("c")
    c.find({}, sort={"a": 1}, skip=1, limit=2, fields={"blacklisted": 0}).observe(
        added_at=cb("added"),
        changed_at=cb("changed"),
        removed_at=cb("removed"),
        moved_to=cb("moved"),
    )
    registry.apply_batch([added("c", "x1", a=1, blacklisted=1324)], reset=False)
    assert log == []
    registry.apply_batch([added("c", "foo", a=2, blacklisted=["s"])], reset=False)
    assert log.pop(0) == ("added", {"_id": "foo", "a": 2}, 0, None)
    registry.apply_batch([added("c", "x3", a=3, blacklisted={"2": 3})], reset=False)
    assert log.pop(0) == ("added", {"_id": "x3", "a": 3}, 1, None)
    registry.apply_batch([added("c", "x4", a=4, blacklisted=6)], reset=False)
    assert log == []
    registry.apply_batch([changed("c", "x1", a=0, blacklisted=4444)], reset=False)
    assert log == []
    registry.apply_batch([changed("c", "x1", a=5, blacklisted=11111)], reset=False)
    assert log.pop(0) == ("removed", {"_id": "foo", "a": 2}, 0)
    assert log.pop(0) == ("added", {"_id": "x4", "a": 4}, 1, None)
    registry.apply_batch([changed("c", "x3", a=3.5, blacklisted=333.4444)], reset=False)
    assert log.pop(0) == ("changed", {"_id": "x3", "a": 3.5}, {"_id": "x3", "a": 3}, 0)
    assert log == []


def test_ordered_observe_with_moves(registry: CollectionRegistry) -> None:
    # Adapted from Meteor's "minimongo - observe ordered with projection" (MIT).
    log, cb = recorder()
    handle = (
        registry.get("c")
        .find({}, sort={"a": 1}, fields={"a": 1})
        .observe(
            added_at=cb("added"),
            changed_at=cb("changed"),
            removed_at=cb("removed"),
            moved_to=cb("moved"),
        )
    )
    registry.apply_batch([added("c", "foo", a=1, b=2)], reset=False)
    assert log.pop(0) == ("added", {"_id": "foo", "a": 1}, 0, None)
    registry.apply_batch([changed("c", "foo", a=2, b=1)], reset=False)
    assert log.pop(0) == ("changed", {"_id": "foo", "a": 2}, {"_id": "foo", "a": 1}, 0)
    registry.apply_batch([added("c", "bar", a=10, c=33)], reset=False)
    assert log.pop(0) == ("added", {"_id": "bar", "a": 10}, 1, None)
    registry.apply_batch([changed("c", "foo", a=3), changed("c", "bar", a=11)], reset=False)
    assert log.pop(0) == ("changed", {"_id": "foo", "a": 3}, {"_id": "foo", "a": 2}, 0)
    assert log.pop(0) == ("changed", {"_id": "bar", "a": 11}, {"_id": "bar", "a": 10}, 1)
    registry.apply_batch([changed("c", "bar", a=1, b=44)], reset=False)
    assert log.pop(0) == ("changed", {"_id": "bar", "a": 1}, {"_id": "bar", "a": 11}, 1)
    assert log.pop(0) == ("moved", {"_id": "bar", "a": 1}, 1, 0, "foo")
    registry.apply_batch([removed("c", "foo")], reset=False)
    assert log.pop(0) == ("removed", {"_id": "foo", "a": 3}, 1)
    handle.stop()
    registry.apply_batch([added("c", "baz", a=2)], reset=False)
    assert log == []


def test_observe_changes_ordered_before_ids(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "b", n=2), added("c", "~3", n=3)], reset=False)
    log, cb = recorder()
    registry.get("c").find({}, sort=[("n", -1)]).observe_changes(
        added_before=cb("added_before"), moved_before=cb("moved_before"), changed=cb("changed")
    )
    assert log == [("added_before", 3, {"n": 3}, None), ("added_before", "b", {"n": 2}, None)]
    log.clear()
    registry.apply_batch([added("c", "a", n=1), changed("c", "b", n=4)], reset=False)
    assert log == [
        ("added_before", "a", {"n": 1}, None),
        ("changed", "b", {"n": 4}),
        ("moved_before", "b", 3),
    ]


def test_custom_dispatch_defers_callbacks() -> None:
    queued: list[Callable[[], None]] = []
    registry = CollectionRegistry(dispatch=queued.append)
    log, cb = recorder()
    handle = registry.get("c").find().observe_changes(added=cb("added"))
    registry.apply_batch([added("c", "a")], reset=False)
    assert log == [] and len(queued) == 1
    queued.pop()()
    assert log == [("added", "a", {})]
    registry.apply_batch([added("c", "b")], reset=False)
    handle.stop()
    queued.pop()()  # stopped before it ran: dropped
    assert log == [("added", "a", {})]


def test_failing_dispatch_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(fn: Callable[[], None]) -> None:
        raise RuntimeError("queue closed")

    registry = CollectionRegistry(dispatch=broken)
    registry.get("c").find().observe_changes(added=lambda *a: None)
    with caplog.at_level(logging.ERROR, logger="ddp.collection"):
        registry.apply_batch([added("c", "a")], reset=False)
    assert "dispatching" in caplog.text
    assert registry.get("c").count() == 1


# -- differential check: the callbacks' mirror always equals a fresh query ---------------------


class Mirror:
    """Rebuilds a cursor's result from observe callbacks alone."""

    def __init__(self, cursor: Cursor, ordered: bool, use_changes: bool) -> None:
        self.docs: dict[Any, dict[str, Any]] = {}
        self.order: list[Any] = []
        self.ordered = ordered
        if use_changes:
            kwargs: dict[str, Any] = {"changed": self.changed_fields, "removed": self.removed_id}
            if ordered:
                kwargs.update(added_before=self.added_before, moved_before=self.moved_before)
            else:
                kwargs.update(added=lambda i, f: self.added_before(i, f, None))
            self.handle = cursor.observe_changes(**kwargs)
        else:
            if ordered:
                self.handle = cursor.observe(
                    added_at=self.added_at,
                    changed_at=self.changed_at,
                    removed_at=self.removed_at,
                    moved_to=self.moved_to,
                )
            else:
                self.handle = cursor.observe(
                    added=lambda d: self.added_at(d, len(self.order), None),
                    changed=lambda new, old: self.changed_at(
                        new, old, self.order.index(new["_id"])
                    ),
                    removed=lambda old: self.removed_id(old["_id"]),
                )

    def added_before(self, id_: Any, fields: dict[str, Any], before: Any) -> None:
        assert id_ not in self.docs
        self.docs[id_] = {"_id": id_, **fields}
        self.order.insert(len(self.order) if before is None else self.order.index(before), id_)

    def moved_before(self, id_: Any, before: Any) -> None:
        self.order.remove(id_)
        self.order.insert(len(self.order) if before is None else self.order.index(before), id_)

    def changed_fields(self, id_: Any, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            if value is MISSING:
                del self.docs[id_][key]
            else:
                self.docs[id_][key] = value

    def removed_id(self, id_: Any) -> None:
        del self.docs[id_]
        self.order.remove(id_)

    def added_at(self, doc: dict[str, Any], index: int, before: Any) -> None:
        assert before is None or self.order[index] == before
        self.docs[doc["_id"]] = doc
        self.order.insert(index, doc["_id"])

    def changed_at(self, new: dict[str, Any], old: dict[str, Any], index: int) -> None:
        assert self.order[index] == new["_id"]
        assert self.docs[new["_id"]] == old
        self.docs[new["_id"]] = new

    def removed_at(self, old: dict[str, Any], index: int) -> None:
        assert self.order[index] == old["_id"]
        assert self.docs.pop(old["_id"]) == old
        del self.order[index]

    def moved_to(self, doc: dict[str, Any], source: int, target: int, before: Any) -> None:
        assert self.order[source] == doc["_id"]
        del self.order[source]
        self.order.insert(target, doc["_id"])
        assert (self.order[target + 1] if target + 1 < len(self.order) else None) == before

    def result(self) -> list[dict[str, Any]]:
        return [self.docs[i] for i in self.order]


QUERIES: list[dict[str, Any]] = [
    {"selector": {"n": {"$lt": 6}}},
    {"selector": {"n": {"$lt": 6}}, "sort": [("n", 1), ("m", -1)]},
    {"selector": {}, "sort": {"m": -1}, "limit": 3},
    {"selector": {"tags": "x"}, "sort": [("n", 1), ("_id", 1)], "limit": 2},
    {"selector": {"n": {"$gte": 2}}, "sort": {"n": 1, "_id": 1}, "skip": 2, "limit": 3},
    {"selector": {"n": {"$ne": 3}}, "limit": 4},
    {"selector": {}, "fields": {"m": 0}, "sort": {"n": -1}},
]


def random_batch(rng: random.Random, ordered: bool) -> list[dict[str, Any]]:
    batch = []
    for _ in range(rng.randint(1, 6)):
        doc_id = f"d{rng.randrange(12)}"
        fields = {
            "n": rng.randrange(8),
            "m": rng.randrange(3),
            "tags": rng.choice([["x"], ["y"], ["x", "y"], []]),
        }
        roll = rng.random()
        if roll < 0.35:
            if ordered:
                batch.append(
                    added_before("c", doc_id, rng.choice([None, f"d{rng.randrange(12)}"]), **fields)
                )
            else:
                batch.append(added("c", doc_id, **fields))
        elif roll < 0.65:
            some = dict(rng.sample(sorted(fields.items()), rng.randint(0, 2)))
            batch.append(changed("c", doc_id, rng.choice([None, ["m"], ["tags"]]), **some))
        elif roll < 0.9:
            batch.append(removed("c", doc_id))
        elif ordered:
            batch.append(moved_before("c", doc_id, rng.choice([None, f"d{rng.randrange(12)}"])))
    return batch


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("ordered_collection", [False, True])
@pytest.mark.parametrize(
    ("ordered", "use_changes"), [(False, True), (True, True), (False, False), (True, False)]
)
def test_observers_track_the_query(
    query: dict[str, Any], ordered_collection: bool, ordered: bool, use_changes: bool
) -> None:
    rng = random.Random(f"{query}{ordered_collection}{ordered}{use_changes}")
    registry = CollectionRegistry()
    registry.apply_batch(random_batch(rng, ordered_collection), reset=False)
    query = dict(query)
    cursor = registry.get("c").find(query.pop("selector"), **query)
    mirror = Mirror(cursor, ordered, use_changes)
    for step in range(60):
        registry.apply_batch(random_batch(rng, ordered_collection), reset=step % 25 == 24)
        expected = cursor.fetch()
        if ordered or "limit" in query or "skip" in query:
            got = mirror.result()
        else:
            got = sorted(mirror.result(), key=lambda d: d["_id"])
            expected = sorted(expected, key=lambda d: d["_id"])
        if not ordered and ("limit" in query or "skip" in query):
            # An unordered observer of a window sees the right set, in no promised order.
            got = sorted(got, key=lambda d: d["_id"])
            expected = sorted(expected, key=lambda d: d["_id"])
        assert got == expected, step
    mirror.handle.stop()
