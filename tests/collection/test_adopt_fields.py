"""The store decodes a frame's ``fields`` in the walk that adopts them (``adopt_fields``):
it must give exactly what EJSON decoding followed by the store's freezing gives, and the
core must treat a malformed value exactly as before (a violation, nothing stored)."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddp import ejson
from ddp.collection import CollectionRegistry
from ddp.collection.values import freeze_value
from ddp.events import ProtocolViolation
from ddp.exceptions import EJSONError
from ddp.messages import encode_message, parse_message
from ddp.protocol import ClientProtocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_ejson_properties import DOLLAR_KEYS, values

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def two_walks(fields_text: str) -> Any:
    """What the store held before: EJSON-decoded, then frozen."""
    return freeze_value(ejson.from_json_value(orjson.loads(fields_text)), 1)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text() | st.sampled_from(DOLLAR_KEYS), values, max_size=4))
def test_adopt_fields_is_decode_then_freeze(fields: dict[str, Any]) -> None:
    text = ejson.dumps(fields)
    expected = two_walks(text)
    adopted = CollectionRegistry().adopt_fields(orjson.loads(text))
    assert type(adopted) is type(expected)
    assert ejson.equals(adopted, expected, key_order_sensitive=True)
    assert _shape(adopted) == _shape(expected)  # tuples where the store keeps tuples


def _shape(value: Any) -> Any:
    """The container types of ``value``, recursively (equals() sees lists and tuples alike)."""
    if type(value) is dict:
        return {k: _shape(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return (type(value).__name__, [_shape(v) for v in value])
    return None


@pytest.mark.parametrize(
    "fields",
    [
        {"$date": 5},
        {"$escape": {"$date": 5, "list": [1, [2]]}},
        {"$type": "oid", "$value": "0123456789abcdef01234567"},
        {"a": {"$escape": {"$binary": "x"}}, "b": [{"$date": -1}, {"$InfNaN": -1}]},
        {"deep": [[[{"k": [1]}]]], "s": {"$regexp": "a", "$flags": "gz"}},
    ],
)
def test_adopt_fields_typed_and_escaped(fields: dict[str, Any]) -> None:
    text = orjson.dumps(fields).decode()
    adopted = CollectionRegistry().adopt_fields(orjson.loads(text))
    expected = two_walks(text)
    assert ejson.equals(adopted, expected, key_order_sensitive=True)
    assert _shape(adopted) == _shape(expected)


@pytest.mark.parametrize("bad", [{"d": {"$date": "x"}}, {"b": [{"$binary": 1}]}, {"$date": None}])
def test_adopt_fields_refuses_malformed_values(bad: dict[str, Any]) -> None:
    with pytest.raises(EJSONError):
        CollectionRegistry().adopt_fields(bad)


def test_keys_are_shared_across_documents() -> None:
    registry = CollectionRegistry()
    first = registry.adopt_fields({"name" + "x" * 80: 1})
    second = registry.adopt_fields(orjson.loads(orjson.dumps({"name" + "x" * 80: 2})))
    assert next(iter(first)) is next(iter(second))


BOUNDS = [0, 1, 999, 1000, 2**31 * 1000 - 1, 2**32 * 1000 - 1, 2**32 * 1000, 2**32 * 1000 + 1]


@pytest.mark.parametrize("ms", [*BOUNDS, -1, -1000, -62135596800000, 253402300799999])
def test_decode_date_is_exact(ms: int) -> None:
    assert ejson.decode_date(ms) == EPOCH + timedelta(milliseconds=ms)
    assert ejson.decode_date(ms).tzinfo is UTC


def test_decode_date_is_exact_on_random_milliseconds() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        ms = rng.randrange(0, 2**32 * 1000)
        decoded = ejson.decode_date(ms)
        assert decoded == EPOCH + timedelta(milliseconds=ms)
        assert decoded.microsecond % 1000 == 0


def test_decode_date_floats_truncate_and_bad_values_refused() -> None:
    assert ejson.decode_date(1500.9) == EPOCH + timedelta(milliseconds=1500)
    assert ejson.decode_date(-1500.9) == EPOCH - timedelta(milliseconds=1500)
    for bad in (True, "1", None, float("nan"), float("inf"), 10**20):
        with pytest.raises(EJSONError):
            ejson.decode_date(bad)


def test_parse_message_with_adopt_fields_matches_without() -> None:
    registry = CollectionRegistry()
    msg = {
        "msg": "added",
        "collection": "c",
        "id": "a",
        "fields": {"at": datetime(2024, 5, 1, tzinfo=UTC), "tags": ["x"], "sub": {"k": [1]}},
    }
    text = encode_message(msg)
    plain = parse_message(text)
    adopted = parse_message(text, registry.adopt_fields)
    assert ejson.equals(adopted, plain, key_order_sensitive=True)
    assert type(adopted["fields"]["tags"]) is tuple and type(plain["fields"]["tags"]) is list
    # Only data messages with an object as fields are adopted; others decode as before.
    for other in ('{"msg":"result","id":"1","result":[{"$date":0}]}', '{"msg":"removed"}'):
        assert parse_message(other, registry.adopt_fields) == parse_message(other)


def connected_core() -> tuple[ClientProtocol, CollectionRegistry]:
    store = CollectionRegistry()
    core = ClientProtocol(store=store)
    core.dialing(0.0)
    core.connection_made(0.0)
    core.data_to_send()
    core.receive_text('{"msg":"connected","session":"S"}', 0.0)
    core.events_received()
    return core, store


@pytest.mark.parametrize(
    "frame",
    [
        '{"msg":"added","collection":"c","id":"a","fields":{"d":{"$date":"soon"}}}',
        '{"msg":"added","collection":"c","id":"a","fields":{"$date":1}}',
        '{"msg":"changed","collection":"c","id":"a","fields":{"b":[{"$binary":"*"}]}}',
    ],
)
def test_malformed_fields_are_a_violation_with_a_real_store(frame: str) -> None:
    core, store = connected_core()
    count = core.received_count
    core.receive_text(frame, 1.0)
    core.flush_data()
    (event,) = core.events_received()
    assert isinstance(event, ProtocolViolation)
    assert store.get("c").count() == 0
    assert store.bad_messages == 0
    # as before: a frame whose EJSON cannot be read is not counted; one without an object
    # as fields is, like any other data message the core refuses after reading it
    assert core.received_count - count == (1 if '"fields":{"$date"' in frame else 0)


def test_documents_through_the_core_are_decoded_frozen_and_copied_out() -> None:
    core, store = connected_core()
    core.receive_text(
        '{"msg":"added","collection":"c","id":"a",'
        '"fields":{"at":{"$date":1000},"tags":["x",["y"]],"sub":{"k":[1]}}}',
        1.0,
    )
    core.receive_text(
        '{"msg":"changed","collection":"c","id":"a","fields":{"more":[{"$date":0}]}}', 1.0
    )
    core.flush_data()
    stored = store.get("c")._docs["a"]
    assert stored["tags"] == ("x", ("y",)) and stored["sub"] == {"k": (1,)}
    assert stored["more"] == (EPOCH,)
    doc = store.get("c").find_one("a")
    assert doc == {
        "_id": "a",
        "at": EPOCH + timedelta(seconds=1),
        "tags": ["x", ["y"]],
        "sub": {"k": [1]},
        "more": [EPOCH],
    }


def test_stream_events_through_the_core_get_lists() -> None:
    core, store = connected_core()
    seen: list[tuple[Any, Any]] = []
    store.add_stream("stream-x", lambda name, args: seen.append((name, args)))
    core.receive_text(
        '{"msg":"changed","collection":"stream-x","id":"id",'
        '"fields":{"eventName":"e","args":[{"at":{"$date":0}},[1,2]]}}',
        1.0,
    )
    core.flush_data()
    assert seen == [("e", [{"at": EPOCH}, [1, 2]])]
    assert type(seen[0][1]) is list and type(seen[0][1][1]) is list


@pytest.mark.parametrize(
    "ms", [*BOUNDS, 2**31 * 1000, -1, -1500.5, 1500.5, 253402300799999, -62135596800000]
)
def test_dates_adopted_exactly(ms: float) -> None:
    adopted = CollectionRegistry().adopt_fields({"at": {"$date": ms}, "n": 1})
    assert adopted["at"] == EPOCH + timedelta(milliseconds=int(ms))
    assert adopted["at"].tzinfo is UTC


@pytest.mark.parametrize("ms", [True, "1", None, 10**20, -(10**20)])
def test_bad_dates_refused_when_adopted(ms: Any) -> None:
    with pytest.raises(EJSONError):
        CollectionRegistry().adopt_fields({"at": {"$date": ms}, "n": 1})
