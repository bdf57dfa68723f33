"""The store keeps arrays frozen as tuples; users must only ever see lists, and queries must
treat the tuples exactly as arrays."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from collection_helpers import added, changed, removed

from ddp.collection import CollectionChange, CollectionRegistry
from ddp.collection.values import clone_value, freeze_value

NESTED = {
    "tags": ["red", "blue"],
    "grid": [[1, 2], [3, [4, 5]]],
    "items": [{"name": "a", "sizes": [1, 2]}, {"name": "b", "sizes": [3], "meta": {"k": [9]}}],
    "obj": {"inner": [{"deep": [7, 8]}], "plain": 1},
    "n": 3,
}


def assert_no_tuple(value: Any) -> None:
    """Fail if a tuple hides anywhere inside ``value``."""
    assert type(value) is not tuple, value
    if isinstance(value, dict):
        for item in value.values():
            assert_no_tuple(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_tuple(item)


def fresh(**extra: Any) -> dict[str, Any]:
    """A fresh copy of NESTED (the store adopts what it is given)."""
    return {**clone_value(NESTED), **extra}


@pytest.fixture
def registry() -> CollectionRegistry:
    reg = CollectionRegistry()
    reg.apply_batch(
        [added("c", "x", **fresh()), added("c", "y", **fresh(tags=["green"], n=1))], reset=False
    )
    return reg


def test_the_store_freezes_arrays_and_the_collector_untracks_atomic_documents() -> None:
    reg = CollectionRegistry()
    reg.apply_batch([added("c", "x", tags=["a", "b"], n=1), added("c", "y", **fresh())], False)
    docs = reg.get("c")._docs
    assert docs["x"]["tags"] == ("a", "b")
    assert type(docs["y"]["items"][0]["sizes"]) is tuple
    assert type(docs["y"]["obj"]["inner"][0]["deep"]) is tuple
    gc.collect()
    # The point of freezing: a document holding only atomic values and arrays of them
    # leaves the garbage collector's lists.
    assert not gc.is_tracked(docs["x"])


def test_freeze_value_shares_what_has_no_list() -> None:
    plain = {"a": 1, "b": {"c": "d"}}
    assert freeze_value(plain) is plain
    assert freeze_value(plain["b"]) is plain["b"]
    holder = {"a": {"b": [1]}}
    frozen = freeze_value(holder)
    assert frozen == {"a": {"b": (1,)}}
    assert holder == {"a": {"b": [1]}}  # nested dicts are copied, not changed


def test_find_fetch_and_find_one_return_lists(registry: CollectionRegistry) -> None:
    coll = registry.get("c")
    docs = coll.find(sort={"n": 1}).fetch()
    assert docs[1] == {"_id": "x", **NESTED}
    for doc in docs:
        assert_no_tuple(doc)
    one = coll.find_one("x")
    assert one == {"_id": "x", **NESTED}
    assert_no_tuple(one)
    assert_no_tuple(list(coll.find({"tags": "red"})))
    assert_no_tuple(coll.find().map(lambda d: d))


@pytest.mark.parametrize(
    "fields",
    [{"items.sizes": 1}, {"items.name": 0}, {"grid": 1, "obj.inner": 1}, {"obj.plain": 0}],
)
def test_projections_through_arrays_return_lists(
    registry: CollectionRegistry, fields: dict[str, int]
) -> None:
    doc = registry.get("c").find_one("x", fields=fields)
    assert doc is not None
    assert_no_tuple(doc)


def test_projection_results_match_unfrozen_semantics(registry: CollectionRegistry) -> None:
    coll = registry.get("c")
    assert coll.find_one("x", fields={"items.sizes": 1}) == {
        "_id": "x",
        "items": [{"sizes": [1, 2]}, {"sizes": [3]}],
    }
    assert coll.find_one("x", fields={"items.name": 0, "_id": 0, "n": 0, "grid": 0}) == {
        "tags": ["red", "blue"],
        "items": [{"sizes": [1, 2]}, {"sizes": [3], "meta": {"k": [9]}}],
        "obj": {"inner": [{"deep": [7, 8]}], "plain": 1},
    }


def test_where_callables_see_lists(registry: CollectionRegistry) -> None:
    seen: list[Any] = []

    def where(doc: dict[str, Any]) -> bool:
        seen.append(doc)
        return isinstance(doc.get("tags", doc.get("sizes")), list)

    assert registry.get("c").find(where).count() == 2
    assert registry.get("c").find({"items": {"$elemMatch": {"$where": where}}}).count() == 2
    assert seen
    for doc in seen:
        assert_no_tuple(doc)


def test_observe_callbacks_get_lists(registry: CollectionRegistry) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def record(name: str) -> Any:
        return lambda *args: calls.append((name, args))

    handle = (
        registry.get("c")
        .find({}, sort={"n": 1})
        .observe(added=record("added"), changed=record("changed"), removed=record("removed"))
    )
    ordered = (
        registry.get("c")
        .find({}, sort={"n": 1})
        .observe(
            added_at=record("added_at"),
            changed_at=record("changed_at"),
            removed_at=record("removed_at"),
            moved_to=record("moved_to"),
        )
    )
    registry.apply_batch(
        [
            changed("c", "x", items=[{"name": "z", "sizes": [[1], [2]]}], n=0),
            added("c", "w", **fresh(n=5)),
            removed("c", "y"),
        ],
        reset=False,
    )
    handle.stop()
    ordered.stop()
    names = {name for name, _ in calls}
    assert {"added", "changed", "removed", "added_at", "changed_at", "removed_at"} <= names
    assert_no_tuple([list(args) for _, args in calls])
    new, old = next(args for name, args in calls if name == "changed")
    assert new["items"] == [{"name": "z", "sizes": [[1], [2]]}]
    assert old["items"] == NESTED["items"]


def test_observe_changes_callbacks_get_lists(registry: CollectionRegistry) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def record(name: str) -> Any:
        return lambda *args: calls.append((name, args))

    handle = (
        registry.get("c")
        .find({"tags": "red"})
        .observe_changes(
            added=record("added"), changed=record("changed"), removed=record("removed")
        )
    )
    registry.apply_batch(
        [changed("c", "x", grid=[[0]], tags=["red", "new"]), added("c", "v", **fresh())],
        reset=False,
    )
    handle.stop()
    assert [name for name, _ in calls] == ["added", "changed", "added"]
    assert_no_tuple([list(args) for _, args in calls])
    assert calls[1][1] == ("x", {"grid": [[0]], "tags": ["red", "new"]})


def test_observe_changes_reports_no_change_for_an_equal_array(
    registry: CollectionRegistry,
) -> None:
    diffs: list[Any] = []
    handle = registry.get("c").find().observe_changes(changed=lambda _id, f: diffs.append(f))
    registry.apply_batch([changed("c", "x", tags=["red", "blue"], n=4)], reset=False)
    handle.stop()
    assert diffs == [{"n": 4}]


def test_change_listeners_get_lists(registry: CollectionRegistry) -> None:
    heard: list[CollectionChange] = []
    registry.add_listener(heard.extend)
    registry.apply_batch(
        [added("c", "z", **fresh()), changed("c", "x", items=[{"sizes": [[5]]}])], reset=False
    )
    assert [change.op for change in heard] == ["added", "changed"]
    for change in heard:
        assert_no_tuple(change.fields)
    assert heard[1].fields == {"items": [{"sizes": [[5]]}]}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"tags": ["red", "blue"]}, ["x"]),
        ({"tags": ["blue", "red"]}, []),
        ({"tags": "green"}, ["y"]),
        ({"tags": {"$in": [["red", "blue"]]}}, ["x"]),
        ({"tags": {"$all": ["blue", "red"]}}, ["x"]),
        ({"tags": {"$size": 2}}, ["x"]),
        ({"tags": {"$type": 4}}, []),
        ({"grid": {"$type": 4}}, ["x", "y"]),
        ({"grid": [3, [4, 5]]}, ["x", "y"]),
        ({"grid.1": [3, [4, 5]]}, ["x", "y"]),
        ({"grid.1.1": {"$size": 2}}, ["x", "y"]),
        ({"items.sizes": 3}, ["x", "y"]),
        ({"items.sizes": [1, 2]}, ["x", "y"]),
        ({"items.0.sizes.1": 2}, ["x", "y"]),
        ({"items": {"$elemMatch": {"name": "b", "sizes": {"$size": 1}}}}, ["x", "y"]),
        ({"items": {"$elemMatch": {"name": "a", "sizes": 3}}}, []),
        ({"items.meta": {"k": [9]}}, ["x", "y"]),
        ({"items.meta.k": {"$elemMatch": {"$gt": 8}}}, ["x", "y"]),
        ({"obj.inner.deep": 8}, ["x", "y"]),
        ({"obj": {"inner": [{"deep": [7, 8]}], "plain": 1}}, ["x", "y"]),
        ({"obj.inner": {"$in": [{"deep": [7, 8]}]}}, ["x", "y"]),
        ({"tags": {"$ne": ["green"]}}, ["x"]),
        ({"tags": {"$nin": [["green"], "red"]}}, []),
    ],
)
def test_array_queries_on_stored_data(
    registry: CollectionRegistry, selector: dict[str, Any], expected: list[str]
) -> None:
    found = [doc["_id"] for doc in registry.get("c").find(selector, sort={"_id": 1})]
    assert found == expected


def test_sorting_by_arrays_uses_their_elements() -> None:
    reg = CollectionRegistry()
    reg.apply_batch(
        [
            added("c", "a", v=[5, 1], w={"k": [2]}),
            added("c", "b", v=[3], w={"k": [1, 9]}),
            added("c", "c", v=2, w={"k": [3]}),
        ],
        reset=False,
    )
    coll = reg.get("c")
    assert [d["_id"] for d in coll.find(sort={"v": 1})] == ["a", "c", "b"]
    assert [d["_id"] for d in coll.find(sort={"v": -1})] == ["a", "b", "c"]
    assert [d["_id"] for d in coll.find(sort={"w.k": -1})] == ["b", "c", "a"]
    assert [d["_id"] for d in coll.find(sort=[("w", 1)])] == ["b", "a", "c"]
