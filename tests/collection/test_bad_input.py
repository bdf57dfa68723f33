"""Deep and bad input: one bad message never costs another, and reads never raise a bare
RecursionError (issue 11, items 4 and 5)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from collection_helpers import added, changed

from ddp.collection import MAX_DEPTH, CollectionRegistry, DocumentDepthError
from ddp.exceptions import InvalidSelectorError, ProtocolError


def nested_dict(levels: int) -> dict[str, Any]:
    """A document of ``levels`` levels: ``{"a": {"a": ... {"leaf": 1}}}``."""
    doc: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        doc = {"a": doc}
    return doc


def nested_list(levels: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.fixture
def registry() -> CollectionRegistry:
    return CollectionRegistry()


def test_a_document_nested_1000_levels_is_refused_alone(registry: CollectionRegistry) -> None:
    errors: list[ProtocolError] = []
    registry.add_error_listener(errors.append)
    deep = nested_dict(1000)
    registry.apply_batch(
        [
            added("c", "before", n=1),
            {"msg": "added", "collection": "c", "id": "deep", "fields": deep},
            added("c", "deep-list", v=nested_list(1000)),
            added("c", "after", n=2),
        ],
        reset=False,
    )
    docs = registry.get("c").find({}, sort=[("n", 1)]).fetch()
    assert [d["_id"] for d in docs] == ["before", "after"]
    assert registry.bad_messages == 2
    assert len(errors) == 2
    assert all(isinstance(e, ProtocolError) for e in errors)
    assert isinstance(errors[0].__cause__, DocumentDepthError)
    assert "'deep'" in str(errors[0]) and "leaf" not in str(errors[0])  # no fields in it


def test_a_document_at_the_depth_limit_is_stored_and_fully_usable(
    registry: CollectionRegistry,
) -> None:
    # The document itself is level 1; its top-level field "a" holds level 2, and so on.
    doc = nested_dict(MAX_DEPTH)
    registry.apply_batch(
        [{"msg": "added", "collection": "c", "id": "x", "fields": doc}, added("c", "y", a=1)],
        reset=False,
    )
    c = registry.get("c")
    assert registry.bad_messages == 0
    assert len(c.find({}, sort=[("a", -1)]).fetch()) == 2
    assert c.find_one("x") == {**nested_dict(MAX_DEPTH), "_id": "x"}
    assert c.find({"a": nested_dict(MAX_DEPTH)["a"]}).count() == 1
    seen: list[Any] = []
    with c.find({}, sort=[("a", 1)]).observe(added_at=lambda d, i, b: seen.append(d["_id"])):
        pass
    assert seen == ["y", "x"]
    one_more = {"msg": "added", "collection": "c", "id": "z", "fields": nested_dict(MAX_DEPTH + 1)}
    registry.apply_batch([one_more], reset=False)
    assert registry.bad_messages == 1
    assert c.find_one("z") is None


def test_a_too_deep_change_leaves_the_document_as_it_was(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", n=1, m=1)], reset=False)
    heard: list[Any] = []
    with registry.get("c").find().observe_changes(changed=lambda i, f: heard.append(f)):
        registry.apply_batch(
            [
                # n comes first: it must not be written when m is refused
                changed("c", "a", n=2, m=nested_list(1000)),
                changed("c", "a", cleared=[{"not": "a name"}], n=3),  # type: ignore[list-item]
                changed("c", "a", m=5),
            ],
            reset=False,
        )
    assert registry.get("c").find_one("a") == {"_id": "a", "n": 1, "m": 5}
    assert heard == [{"m": 5}]
    assert registry.bad_messages == 2


def test_a_deep_selector_is_an_invalid_selector(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", "a", n=1)], reset=False)
    c = registry.get("c")
    with pytest.raises(InvalidSelectorError):
        c.find({"n": nested_dict(1000)})
    with pytest.raises(InvalidSelectorError):
        c.find({"$and": [{"$and": [{"n": 1}]}] * 2, "x": {"$in": [nested_list(1000)]}})
    selector: dict[str, Any] = {"n": 1}
    for _ in range(1000):
        selector = {"$or": [selector]}
    with pytest.raises(InvalidSelectorError):
        c.find(selector)


def test_a_limit_of_zero_means_no_limit(registry: CollectionRegistry) -> None:
    registry.apply_batch([added("c", f"d{i}", n=i) for i in range(5)], reset=False)
    c = registry.get("c")
    assert len(c.find(limit=0).fetch()) == 5
    assert c.find({}, sort=[("n", -1)], limit=0).count() == 5
    assert [d["n"] for d in c.find({}, sort=[("n", 1)], skip=3, limit=0)] == [3, 4]
    seen: list[Any] = []
    with c.find({}, sort=[("n", 1)], limit=0).observe_changes(added=lambda i, f: seen.append(i)):
        pass
    assert len(seen) == 5


def test_a_naive_datetime_in_a_selector_is_utc(registry: CollectionRegistry) -> None:
    utc = datetime.UTC
    registry.apply_batch(
        [
            added("c", "old", at=datetime.datetime(2020, 1, 1, tzinfo=utc)),
            added("c", "new", at=datetime.datetime(2024, 6, 1, 12, tzinfo=utc)),
        ],
        reset=False,
    )
    c = registry.get("c")
    naive = datetime.datetime(2024, 6, 1, 12)
    assert [d["_id"] for d in c.find({"at": {"$gte": naive}})] == ["new"]
    assert [d["_id"] for d in c.find({"at": {"$lt": naive}})] == ["old"]
    assert [d["_id"] for d in c.find({"at": naive})] == ["new"]
    assert [d["_id"] for d in c.find({"at": {"$in": [naive]}})] == ["new"]
    assert [d["_id"] for d in c.find({"$or": [{"at": {"$ne": naive}}]})] == ["old"]


@pytest.mark.parametrize(
    "selector",
    [
        {"a": {"$gt": {1, 2}}},
        {"a": {1, 2}},
        {"a": {"$in": [object()]}},
        {"a": {"$lt": object()}},
        {"a": {"$eq": frozenset()}},
    ],
    ids=repr,
)
def test_a_selector_holding_a_value_no_document_can_hold_is_invalid(
    registry: CollectionRegistry, selector: dict[str, Any]
) -> None:
    registry.apply_batch([added("c", "a", a=1)], reset=False)
    with pytest.raises(InvalidSelectorError):
        registry.get("c").find(selector).fetch()
