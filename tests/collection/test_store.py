"""The store's DDP semantics: tolerant operations, cleared fields, ordered collections, ids."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from collection_helpers import added, added_before, changed, moved_before, removed

from ddp import InvalidSelectorError
from ddp.collection import CollectionRegistry, CollectionStats
from ddp.ejson import ObjectId


@pytest.fixture
def registry() -> CollectionRegistry:
    return CollectionRegistry()


def test_added_changed_removed(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", x=1, y=2)], reset=False)
    registry.apply_batch([changed("c", "a", ["y"], x=5, z=3)], reset=False)
    assert registry.get("c").find_one("a") == {"_id": "a", "x": 5, "z": 3}
    registry.apply_batch([removed("c", "a")], reset=False)
    assert registry.get("c").find_one("a") is None
    assert registry.get("c").count() == 0


def test_added_for_existing_document_merges(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", x=1, y=2), added("c", "a", x=9)], reset=False)
    assert registry.get("c").find_one("a") == {"_id": "a", "x": 9, "y": 2}


def test_changed_for_missing_document_adds_without_cleared(registry: CollectionRegistry) -> None:
    registry.apply_batch([changed("c", "a", ["gone"], x=1)], reset=False)
    assert registry.get("c").find_one("a") == {"_id": "a", "x": 1}


def test_removed_for_missing_document_is_ignored(registry: CollectionRegistry) -> None:
    registry.apply_batch([removed("c", "nope"), added("c", "a")], reset=False)
    assert registry.get("c").find().fetch() == [{"_id": "a"}]


def test_added_without_fields_and_id_only_doc(registry: CollectionRegistry) -> None:
    registry.apply_batch([{"msg": "added", "collection": "c", "id": "a"}], reset=False)
    assert registry.get("c").find_one("a") == {"_id": "a"}


def test_wire_ids_are_parsed(registry: CollectionRegistry) -> None:
    oid = "0123456789abcdef01234567"
    registry.apply_batch(
        [
            added("c", oid, n=1),
            added("c", "~5", n=2),
            added("c", "-~x", n=3),
            added("c", "plain", n=4),
        ],
        reset=False,
    )
    c = registry.get("c")
    assert c.find_one(ObjectId(oid)) == {"_id": ObjectId(oid), "n": 1}
    assert c.find_one(5) == {"_id": 5, "n": 2}
    assert c.find_one("~x") == {"_id": "~x", "n": 3}
    assert c.find_one({"_id": "plain"}) == {"_id": "plain", "n": 4}
    assert [d["n"] for d in c.find({"_id": {"$in": [5, "~x"]}})] == [2, 3]


def test_reset_clears_every_collection_first(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("a", "1"), added("b", "2")], reset=False)
    registry.apply_batch([added("a", "3")], reset=True)
    assert [d["_id"] for d in registry.get("a").find()] == ["3"]
    assert registry.get("b").count() == 0
    assert registry.stats() == [CollectionStats("a", 1), CollectionStats("b", 0)]
    assert registry.names() == ["a", "b"]
    registry.clear()
    assert [s.count for s in registry.stats()] == [0, 0]


def test_get_creates_lazily_and_rejects_bad_names(registry: CollectionRegistry) -> None:
    assert registry.names() == []
    assert registry.get("x") is registry.get("x")
    assert registry.names() == ["x"]
    with pytest.raises(TypeError):
        registry.get(5)  # type: ignore[arg-type]


def test_bad_messages_are_logged_and_skipped(
    registry: CollectionRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    bad: list[dict[str, Any]] = [
        {"msg": "added", "id": "x"},
        {"msg": "added", "collection": "c"},
        {"msg": "added", "collection": "c", "id": 5},
        {"msg": "ready", "collection": "c", "id": "x"},
        {"msg": "added", "collection": "c", "id": "~{bad", "fields": {}},
        {"msg": "changed", "collection": "c", "id": "a", "fields": 7},
    ]
    with caplog.at_level(logging.DEBUG, logger="ddp.collection"):
        registry.apply_batch([added("c", "a", n=1), *bad, added("c", "b")], reset=False)
    assert sorted(d["_id"] for d in registry.get("c").find()) == ["a", "b"]
    logged = [r for r in caplog.records if "bad data message" in r.getMessage()]
    assert len(logged) == len(bad) == registry.bad_messages
    # Only the first at WARNING: a hostile server cannot flood the log.
    assert [r.levelno for r in logged] == [logging.WARNING] + [logging.DEBUG] * (len(bad) - 1)


def test_fields_are_adopted_and_keys_shared(registry: CollectionRegistry) -> None:
    first = {"".join(["na", "me"]): 1}  # fresh string objects, as json.loads makes them
    second = {"".join(["na", "me"]): 2}
    third = {next(iter(first)): 3}
    assert next(iter(first)) is not next(iter(second))
    registry.apply_batch(
        [
            {"msg": "added", "collection": "c", "id": "a", "fields": first},
            {"msg": "added", "collection": "c", "id": "b", "fields": second},
            {"msg": "added", "collection": "c", "id": "c", "fields": third},
            {"msg": "changed", "collection": "c", "id": "a", "fields": {"".join(["na", "me"]): 4}},
        ],
        reset=False,
    )
    docs = registry.get("c")._docs
    keys = [next(iter(docs[i])) for i in ("a", "b", "c")]
    assert keys[0] is keys[1] is keys[2]
    assert docs["a"] is first and docs["c"] is third  # adopted, not copied
    assert docs["b"] is not second  # rebuilt to share the key
    assert next(k for k in docs["a"] if k == "name") is keys[0]


def test_documents_are_copies(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", tags=["x"], sub={"k": 1})], reset=False)
    c = registry.get("c")
    doc = c.find_one("a")
    assert doc is not None
    doc["tags"].append("y")
    doc["sub"]["k"] = 2
    doc["new"] = True
    assert c.find_one("a") == {"_id": "a", "tags": ["x"], "sub": {"k": 1}}


def test_ordered_collection(registry: CollectionRegistry) -> None:
    registry.apply_batch(
        [
            added_before("o", "a", None, n=1),
            added_before("o", "c", None, n=3),
            added_before("o", "b", "c", n=2),
            added_before("o", "z", "unknown", n=26),
        ],
        reset=False,
    )
    o = registry.get("o")
    assert [d["_id"] for d in o.find()] == ["a", "b", "c", "z"]
    registry.apply_batch([moved_before("o", "z", "a"), moved_before("o", "a", None)], reset=False)
    assert [d["_id"] for d in o.find()] == ["z", "b", "c", "a"]
    registry.apply_batch([removed("o", "b"), moved_before("o", "missing", None)], reset=False)
    assert [d["_id"] for d in o.find()] == ["z", "c", "a"]
    assert [d["_id"] for d in o.find(sort={"n": 1})] == ["a", "c", "z"]
    assert [d["_id"] for d in o.find({}, skip=1, limit=1)] == ["c"]
    registry.apply_batch(
        [added_before("o", "c", "z", n=33)], reset=False
    )  # existing: change + move
    assert [(d["_id"], d["n"]) for d in o.find()] == [("c", 33), ("z", 26), ("a", 1)]


def test_find_options(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", f"d{i}", n=i % 5, i=i) for i in range(20)], reset=False)
    c = registry.get("c")
    cursor = c.find({"n": {"$gte": 3}}, sort=[("n", -1), ("i", 1)], skip=2, limit=3)
    assert [(d["n"], d["i"]) for d in cursor] == [(4, 14), (4, 19), (3, 3)]
    assert cursor.count() == 3
    assert cursor.first() == {"_id": "d14", "n": 4, "i": 14}
    assert cursor.map(lambda d: d["i"]) == [14, 19, 3]
    assert c.find({"n": 1}, limit=2).count() == 2
    assert c.find({"n": 99}).first() is None
    assert c.find_one({"n": 2}, sort={"i": -1}) == {"_id": "d17", "n": 2, "i": 17}
    assert c.find(lambda d: d["i"] > 17).count() == 2
    assert len(c) == c.count() == 20
    assert "c" in repr(c) and "Cursor" in repr(cursor)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"skip": -1},
        {"limit": -1},
        {"limit": 1.5},
        {"skip": "1"},
        {"sort": "a"},
        {"fields": {"a": 1, "b": 0}},
    ],
)
def test_bad_find_options_raise(registry: CollectionRegistry, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidSelectorError):
        registry.get("c").find({}, **kwargs)  # type: ignore[arg-type]


def test_id_lookup_with_unwritable_id(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a")], reset=False)
    assert registry.get("c").find_one({"_id": float("nan")}) is None
