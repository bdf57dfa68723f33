"""Sort order and projections.

Cases adapted from Meteor's minimongo tests (MIT), ``minimongo_tests_client.js``: "minimongo -
ordering", "minimongo - projection_compiler", "fetch with projection, subarrays" and
"fetch with projection, deep copy".
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddp import InvalidSelectorError
from ddp.collection import CollectionRegistry, compile_projection, compile_sort
from ddp.collection.sorter import plain_sort_path, plain_sort_values
from ddp.collection.values import sort_key
from ddp.ejson import ObjectId

DATE1 = datetime(2024, 5, 1, tzinfo=UTC)
DATE2 = DATE1 + timedelta(seconds=1)

VALUE_ORDER: list[Any] = [
    None,
    1,
    2.2,
    3,
    "03",
    "1",
    "11",
    "2",
    "a",
    "aaa",
    {},
    {"a": 2},
    {"a": 3},
    {"a": 3, "b": 4},
    {"b": 4},
    {"b": 4, "a": 3},
    {"b": {}},
    {"b": [1, 2, 3]},
    {"b": [1, 2, 4]},
    [],
    [1, 2],
    [1, 2, 3],
    [1, 2, 4],
    [1, 2, "4"],
    [1, 2, [4]],
    bytes([128]),
    bytes([0, 42]),
    bytes([0, 50]),
    ObjectId("1234567890abcd1234567890"),
    ObjectId("abcd1234567890abcd123456"),
    False,
    True,
    DATE1,
    DATE2,
]


def test_value_ordering() -> None:
    keys = [sort_key(v) for v in VALUE_ORDER]
    for i in range(len(keys) - 1):
        assert keys[i] < keys[i + 1], (VALUE_ORDER[i], VALUE_ORDER[i + 1])


def _assert_sorted(spec: Any, docs: list[dict[str, Any]]) -> None:
    key = compile_sort(spec)
    assert key is not None
    for i in range(len(docs) - 1):
        assert key(docs[i]) <= key(docs[i + 1]), (spec, docs[i], docs[i + 1])
        assert not key(docs[i + 1]) < key(docs[i])
    assert sorted(reversed(docs), key=key) == docs or _ties(key, docs)


def _ties(key: Any, docs: list[dict[str, Any]]) -> bool:
    return any(key(a) == key(b) for a, b in itertools.pairwise(docs))


ASC_A = [{"a": 1}, ["a"], [["a", "asc"]], [("a", 1)]]
DESC_A = [{"a": -1}, [["a", "desc"]], [("a", -1)]]


@pytest.mark.parametrize(
    ("specs", "docs"),
    [
        (ASC_A, [{"a": []}, {"a": 1}, {"a": {}}, {"a": True}]),
        (ASC_A, [{"c": 1}, {"a": 1}, {"a": {}}, {"a": True}]),
        (DESC_A, [{"a": True}, {"a": {}}, {"a": 1}, {"c": 1}]),
        (DESC_A, [{"a": True}, {"a": {}}, {"a": 1}, {"a": []}]),
        (
            [{"a": 1, "b": -1}, ["a", ["b", "desc"]], [["a", "asc"], ["b", "desc"]]],
            [{"c": 1}, {"a": 1, "b": 3}, {"a": 1, "b": 2}, {"a": 2, "b": 0}],
        ),
        (
            [{"a": 1, "b": 1}, ["a", "b"], [["a", "asc"], ["b", "asc"]]],
            [{"c": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 3}, {"a": 2, "b": 0}],
        ),
        ([{"a": 1}], [{"a": [1, 10, 20]}, {"a": [5, 2, 99]}]),
        ([{"a": -1}], [{"a": [5, 2, 99]}, {"a": [1, 10, 20]}]),
        ([{"a.1": 1}], [{"a": [5, 2, 99]}, {"a": [1, 10, 20]}]),
        ([{"a": 1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [-5, -20], 18]}]),
        ([{"a": -1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [-5, -20], 18]}]),
        ([{"a.0": 1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [-5, -20], 18]}]),
        ([{"a.0": -1}], [{"a": [5, [-5, -20], 18]}, {"a": [1, [10, 15], 20]}]),
        ([{"a.1": 1}], [{"a": [5, [-5, -20], 18]}, {"a": [1, [10, 15], 20]}]),
        ([{"a.1": -1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [-5, -20], 18]}]),
        ([{"a.1": 1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [19, 3], 18]}]),
        ([{"a.1": -1}], [{"a": [5, [19, 3], 18]}, {"a": [1, [10, 15], 20]}]),
        ([{"a": 1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [19, 3], 18]}]),
        ([{"a": -1}], [{"a": [5, [19, 3], 18]}, {"a": [1, [10, 15], 20]}]),
        ([{"a": -1}], [{"a": [1, [10, 15], 20]}, {"a": [5, [3, 19], 18]}]),
        ([{"a.b": 1}], [{"a": [{"b": 1}, {"b": 9}]}, {"a": [{"b": 2}]}, {"a": {"b": 3}}]),
    ],
)
def test_document_ordering(specs: list[Any], docs: list[dict[str, Any]]) -> None:
    for spec in specs:
        _assert_sorted(spec, docs)


@pytest.mark.parametrize(
    "spec", ["a", 123, {"$natural": 1}, [("a", 2)], [("a", True)], [(1, 1)], {"a": "up"}]
)
def test_bad_sort_raises(spec: Any) -> None:
    with pytest.raises(InvalidSelectorError):
        compile_sort(spec)


def test_empty_sort_is_no_sort() -> None:
    assert compile_sort({}) is None
    assert compile_sort([]) is None
    assert compile_sort(None) is None


def test_sorting_a_regex_raises() -> None:
    import re

    key = compile_sort({"a": 1})
    assert key is not None
    with pytest.raises(InvalidSelectorError):
        key({"a": re.compile("x")})


def test_parallel_arrays_are_keyed_per_field() -> None:
    pytest.skip(
        "deliberate difference: minimongo pairs 'a.x'/'a.y' keys from the same array element; "
        "we key each sort field independently (as MongoDB does)"
    )


PROJECTION_CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        {"foo": 1, "bar": 1},
        {"foo": 42, "bar": "something", "baz": "else"},
        {"foo": 42, "bar": "something"},
    ),
    ({"foo": 1, "bar": 1}, {"foo": {"nested": 17}, "baz": {}}, {"foo": {"nested": 17}}),
    ({"foo": 1, "bar": 1}, {"_id": "uid", "bazbaz": 42}, {"_id": "uid"}),
    ({"foo": 0, "bar": 0}, {"foo": 42, "bar": "something", "baz": "else"}, {"baz": "else"}),
    (
        {"foo": 0, "bar": 0},
        {"foo": {"nested": 17}, "baz": {"foo": "something"}},
        {"baz": {"foo": "something"}},
    ),
    ({"foo": 0, "bar": 0}, {"_id": "uid", "bazbaz": 42}, {"_id": "uid", "bazbaz": 42}),
    ({"_id": 0, "foo": 1}, {"foo": 42, "bar": 33, "_id": "uid"}, {"foo": 42}),
    ({"_id": 0, "foo": 0}, {"foo": 42, "bar": 33, "_id": "uid"}, {"bar": 33}),
    (
        {"foo.bar.baz": 1},
        {"foo": {"meh": "fur", "bar": {"baz": 42}, "tr": 1}, "bar": 33, "baz": "trolololo"},
        {"foo": {"bar": {"baz": 42}}},
    ),
    ({"foo.bar.baz": 1}, {"foo": {"meh": "fur", "bar": "nope", "tr": 1}, "bar": 33}, {"foo": {}}),
    (
        {"foo.bar.baz": 1},
        {"foo": {"meh": "fur", "bar": [], "tr": 1}, "bar": 33},
        {"foo": {"bar": []}},
    ),
    (
        {"hope.humanity": 0, "hope.people": 0},
        {"hope": {"humanity": "lost", "people": "broken", "candies": "long live!"}},
        {"hope": {"candies": "long live!"}},
    ),
    ({"hope.humanity": 0, "hope.people": 0}, {"hope": "new"}, {"hope": "new"}),
    ({"_id": 1}, {"_id": 42, "x": 1, "y": {"z": "2"}}, {"_id": 42}),
    ({"_id": 1}, {"_id": 33}, {"_id": 33}),
    ({"_id": 1}, {"x": 1}, {}),
    ({"_id": 0}, {"_id": 42, "x": 1, "y": {"z": "2"}}, {"x": 1, "y": {"z": "2"}}),
    ({"_id": 0}, {"_id": 33}, {}),
    ({"_id": 0}, {"x": 1}, {"x": 1}),
    (
        {"setA.fieldA": 1, "setB.anotherB": 1, "_id": 0},
        {
            "setA": [
                {"fieldA": 42, "fieldB": 33},
                {"fieldA": "the good", "fieldB": "the bad", "fieldC": "u"},
            ],
            "setB": [{"anotherA": {}, "anotherB": "meh"}, {"anotherA": 1234, "anotherB": 431}],
        },
        {
            "setA": [{"fieldA": 42}, {"fieldA": "the good"}],
            "setB": [{"anotherB": "meh"}, {"anotherB": 431}],
        },
    ),
    (
        {"setA.fieldA": 0, "setB.anotherA": 0, "_id": 0},
        {
            "setA": [
                {"fieldA": 42, "fieldB": 33},
                {"fieldA": "the good", "fieldB": "the bad", "fieldC": "u"},
            ],
            "setB": [{"anotherA": {}, "anotherB": "meh"}, {"anotherA": 1234, "anotherB": 431}],
        },
        {
            "setA": [{"fieldB": 33}, {"fieldB": "the bad", "fieldC": "u"}],
            "setB": [{"anotherB": "meh"}, {"anotherB": 431}],
        },
    ),
    (
        {"a.b": 1, "_id": 0},
        {"a": [[{"b": 1, "c": 2}, {"b": 2, "c": 4}], {"b": 3, "c": 5}, [{"b": 4, "c": 9}]]},
        {"a": [[{"b": 1}, {"b": 2}], {"b": 3}, [{"b": 4}]]},
    ),
    (
        {"a.b": 0, "_id": 0},
        {"a": [[{"b": 1, "c": 2}, {"b": 2, "c": 4}], {"b": 3, "c": 5}, [{"b": 4, "c": 9}]]},
        {"a": [[{"c": 2}, {"c": 4}], {"c": 5}, [{"c": 9}]]},
    ),
]


@pytest.mark.parametrize(("fields", "doc", "expected"), PROJECTION_CASES)
def test_projection(fields: dict[str, Any], doc: dict[str, Any], expected: dict[str, Any]) -> None:
    projection = compile_projection(fields)
    assert projection is not None
    assert projection(doc) == expected


def test_empty_projection_keeps_everything() -> None:
    assert compile_projection({}) is None
    assert compile_projection(None) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"inc": 1, "excl": 0},
        {"_id": 1, "a": 0},
        {"a": 1, "a.b": 1},
        {"a.b.c": 1, "a.b": 1, "a": 1},
        "some string",
        {"grades.$": 1},
        {"grades": {"$elemMatch": {"mean": 70}}},
        {"grades": {"$slice": [20, 10]}},
        {"a": 2},
        {"a": "yes"},
    ],
)
def test_bad_projection_raises(fields: Any) -> None:
    with pytest.raises(InvalidSelectorError):
        compile_projection(fields)


def test_fetched_documents_are_deep_copies() -> None:
    registry = CollectionRegistry()
    fields = {"a": {"x": 42}, "b": {"y": {"z": 33}}, "c": "asdf"}
    registry.apply_batch(
        [{"msg": "added", "collection": "c", "id": "d", "fields": fields}], reset=False
    )
    collection = registry.get("c")
    for spec in ({"a": 1, "b.y": 1}, {"c": 0}, None):
        doc = collection.find({}, fields=spec).fetch()[0]
        doc["a"]["x"] += 1
        doc["b"]["y"]["z"] -= 1
    assert collection.find_one("d") == {
        "_id": "d",
        "a": {"x": 42},
        "b": {"y": {"z": 33}},
        "c": "asdf",
    }


def test_fetch_with_fields_sort_skip_limit() -> None:
    registry = CollectionRegistry()
    registry.apply_batch(
        [
            {
                "msg": "added",
                "collection": "c",
                "id": f"id{i}",
                "fields": {
                    "something": f"s{i}",
                    "anything": {"foo": "bar", "cool": "hot"},
                    "nothing": i,
                    "i": i,
                },
            }
            for i in range(30)
        ],
        reset=False,
    )
    c = registry.get("c")
    docs = c.find({}, fields={"something": 1, "anything.foo": 1}).fetch()
    assert all(
        set(d) == {"_id", "something", "anything"} and d["anything"] == {"foo": "bar"} for d in docs
    )
    docs = c.find({"nothing": {"$gte": 5}}, fields={"nothing": 0}).fetch()
    assert len(docs) == 25
    assert all("nothing" not in d and d["i"] >= 5 for d in docs)
    docs = c.find(
        {}, sort={"nothing": -1}, skip=10, limit=10, fields={"i": 1, "something": 1}
    ).fetch()
    assert [d["i"] for d in docs] == list(range(19, 9, -1))


# -- the raw-value sort (Collection._query_items' fast path) ---------------------------------

_SCALARS = st.one_of(
    st.text(max_size=4),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)


@given(
    values=st.one_of(
        st.lists(st.text(max_size=4), max_size=30),  # the fast path: strings only
        st.lists(st.one_of(st.integers(-5, 5), st.floats(allow_nan=False)), max_size=30),
        st.lists(_SCALARS, max_size=30),  # mixed: falls back to the keyed sort
        st.lists(st.floats(allow_nan=True), max_size=30),  # NaN: falls back too
    ),
    data=st.data(),
)
def test_sorting_on_raw_values_orders_as_the_keyed_sort(values: list[Any], data: Any) -> None:
    """A sort on one top-level field uses the raw values when they are all strings or all
    numbers (not NaN); the result must be the one the type-ranked keys give, ties on the id."""
    registry = CollectionRegistry()
    registry.apply_batch(
        [
            {"msg": "added", "collection": "c", "id": f"id{i:02d}", "fields": {"v": v}}
            for i, v in enumerate(values)
        ],
        reset=False,
    )
    c = registry.get("c")
    skip = data.draw(st.integers(0, 5))
    limit = data.draw(st.one_of(st.none(), st.integers(0, 5)))
    cursor = c.find({}, sort=[("v", 1)], skip=skip, limit=limit)
    assert cursor.plain_sort_path == "v"
    expected = sorted(
        ((sort_key(v), f"id{i:02d}") for i, v in enumerate(values)),
    )
    stop = None if not limit else skip + limit  # a limit of 0 means no limit
    assert [d["_id"] for d in cursor.fetch()] == [wire_id for _, wire_id in expected[skip:stop]]


def test_only_one_ascending_top_level_field_sorts_on_raw_values() -> None:
    assert plain_sort_path([("a", 1)]) == "a"
    assert plain_sort_path({"a": "asc"}) == "a"
    assert plain_sort_path([("a", -1)]) is None  # descending keys wrap the value
    assert plain_sort_path([("a.b", 1)]) is None  # paths may cross arrays
    assert plain_sort_path([("a", 1), ("b", 1)]) is None
    assert plain_sort_path(None) is None
    assert plain_sort_values("a", [{"a": "x"}, {"a": 1}]) is None
    assert plain_sort_values("a", [{"a": 1}, {"a": True}]) is None  # a bool is not a number
    assert plain_sort_values("a", [{"a": 1.5}, {}]) is None  # missing sorts first
    assert plain_sort_values("a", [{"a": 2}, {"a": 1.5}]) == [2, 1.5]
