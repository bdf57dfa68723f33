"""The merge box and the collections' query language, without any network."""

from __future__ import annotations

import pytest

import ddp
from ddp.server import CLEARED, MergeBox, ServerCollection
from ddp.server.mergebox import diff_views
from ddp.server.query import apply_modifier, compile_selector


@pytest.fixture
def box():
    sent: list[dict] = []
    return MergeBox(sent.append), sent


def test_precedence_and_release(box):
    mb, sent = box
    mb.added("A", "c", "d", {"x": 1, "y": 1})
    mb.added("B", "c", "d", {"x": 2, "z": 2})
    mb.changed("B", "c", "d", {"x": 3})  # hidden behind A's value
    mb.changed("A", "c", "d", {"y": CLEARED})
    mb.removed("A", "c", "d")
    mb.removed("B", "c", "d")
    assert sent == [
        {"msg": "added", "collection": "c", "id": "d", "fields": {"x": 1, "y": 1}},
        {"msg": "changed", "collection": "c", "id": "d", "fields": {"z": 2}},
        {"msg": "changed", "collection": "c", "id": "d", "cleared": ["y"]},
        {"msg": "changed", "collection": "c", "id": "d", "fields": {"x": 3}},
        {"msg": "removed", "collection": "c", "id": "d"},
    ]


def test_equal_values_send_nothing_and_id_is_ignored(box):
    mb, sent = box
    mb.added("A", "c", "d", {"_id": "d"})
    mb.added("B", "c", "d", {"x": 1})
    mb.added("A", "c", "d", {"x": 1})  # same value behind B: nothing visible changes
    mb.changed("B", "c", "d", {"x": 1, "_id": "zz"})
    mb.removed("B", "c", "d")  # A still holds x=1
    assert sent == [
        {"msg": "added", "collection": "c", "id": "d"},
        {"msg": "changed", "collection": "c", "id": "d", "fields": {"x": 1}},
    ]


def test_values_are_copied(box):
    mb, _ = box
    value = {"nested": [1]}
    mb.added("A", "c", "d", {"v": value})
    value["nested"].append(2)
    assert mb.snapshot() == {"c": {"d": {"v": {"nested": [1]}}}}


def test_unknown_documents_are_reported(box):
    mb, _ = box
    with pytest.raises(ddp.InvalidStateError):
        mb.changed("A", "c", "nope", {"x": 1})
    with pytest.raises(ddp.InvalidStateError):
        mb.removed("A", "c", "nope")


def test_diff_views():
    before = {"c": {"same": {"a": 1}, "gone": {}, "edit": {"a": 1, "b": 2}}}
    after = {"c": {"same": {"a": 1}, "edit": {"a": 5, "n": 0}, "new": {"k": 1}}, "d": {"x": {}}}
    assert diff_views(before, after) == [
        {"msg": "removed", "collection": "c", "id": "gone"},
        {
            "msg": "changed",
            "collection": "c",
            "id": "edit",
            "fields": {"a": 5, "n": 0},
            "cleared": ["b"],
        },
        {"msg": "added", "collection": "c", "id": "new", "fields": {"k": 1}},
        {"msg": "added", "collection": "d", "id": "x"},
    ]


@pytest.mark.parametrize(
    ("selector", "doc", "expected"),
    [
        (None, {"_id": 1}, True),
        ({}, {"_id": 1}, True),
        ("a", {"_id": "a"}, True),
        ("a", {"_id": "b"}, False),
        ({"x": 1}, {"_id": 1, "x": 1.0}, True),
        ({"x": None}, {"_id": 1}, True),
        ({"x": 1}, {"_id": 1}, False),
        ({"a.b": 2}, {"_id": 1, "a": {"b": 2}}, True),
        ({"a.b": 2}, {"_id": 1, "a": 3}, False),
        (lambda d: d["_id"] > 1, {"_id": 2}, True),
    ],
)
def test_selectors(selector, doc, expected):
    assert compile_selector(selector)(doc) is expected


def test_operator_selectors_are_refused():
    with pytest.raises(ddp.InvalidSelectorError):
        compile_selector({"x": 1, "$or": []})


def test_modifiers():
    doc = {"_id": "i", "n": 1, "tags": ["a"], "o": {"p": 1}}
    assert apply_modifier(doc, {"$inc": {"n": 2}, "$push": {"tags": "b"}, "$set": {"o.q": 2}}) == {
        "_id": "i",
        "n": 3,
        "tags": ["a", "b"],
        "o": {"p": 1, "q": 2},
    }
    assert apply_modifier(doc, {"$unset": {"o.p": 1, "missing.x": 1}})["o"] == {}
    assert apply_modifier(doc, {"other": True, "_id": "ignored"}) == {"_id": "i", "other": True}
    assert doc == {"_id": "i", "n": 1, "tags": ["a"], "o": {"p": 1}}


@pytest.mark.parametrize(
    "modifier",
    [
        {"$rename": {"a": "b"}},
        {"$set": {"a": 1}, "b": 2},
        {"$set": 5},
        {"$set": {"_id": "x"}},
        {"$inc": {"n": "x"}},
        {"$push": {"n": 1}},
        {"$set": {"n.x": 1}},
        [],
    ],
)
def test_bad_modifiers(modifier):
    with pytest.raises(ddp.InvalidSelectorError):
        apply_modifier({"_id": "i", "n": 1}, modifier)


def test_collection_observers():
    coll = ServerCollection("c")
    events: list[tuple] = []
    coll.insert({"_id": "a", "k": 1})
    handle = coll.find({"k": 1}).observe_changes(
        added=lambda i, f: events.append(("added", i, f)),
        changed=lambda i, f: events.append(("changed", i, f)),
        removed=lambda i: events.append(("removed", i)),
    )
    new_id = coll.insert({"k": 1, "v": 0})
    assert isinstance(new_id, str) and len(new_id) == 17
    assert coll.update({"k": 1}, {"$set": {"v": 1}}, multi=True) == 2
    coll.update("a", {"$set": {"k": 2}})
    coll.remove(new_id)
    handle.stop()
    handle.stop()
    coll.insert({"k": 1})
    assert events == [
        ("added", "a", {"k": 1}),
        ("added", new_id, {"k": 1, "v": 0}),
        ("changed", "a", {"v": 1}),
        ("changed", new_id, {"v": 1}),
        ("removed", "a"),
        ("removed", new_id),
    ]
    assert coll.count() == 2 and coll.find({"k": 1}).count() == 1
    assert [d["_id"] for d in coll.find("a")] == ["a"]
    assert coll.find_one("zz") is None
    with pytest.raises(ddp.InvalidSelectorError):
        coll.insert({"_id": "a"})
    with pytest.raises(ddp.InvalidSelectorError):
        coll.insert([1])  # type: ignore[arg-type]


def test_a_failing_observer_does_not_break_writes(caplog):
    coll = ServerCollection("c")

    def boom(i, f):
        raise RuntimeError("observer bug")

    coll.find().observe_changes(added=boom)
    coll.insert({"_id": "x"})
    assert coll.count() == 1 and "observer bug" in caplog.text
