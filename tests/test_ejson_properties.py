"""Property tests: EJSON values survive every encode/decode path unchanged."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ddp import ejson
from ddp.ejson import ObjectId, OpaqueCustomType, Regex
from ddp.messages import encode_message, parse_message

settings.register_profile("ddp", max_examples=100, deadline=None)
settings.load_profile("ddp")

DOLLAR_KEYS = ["$date", "$binary", "$InfNaN", "$escape", "$regexp", "$flags", "$type", "$value"]

dates = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
flags = st.permutations("gimuy").flatmap(lambda p: st.integers(0, 5).map(lambda n: "".join(p[:n])))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    dates,
    st.binary(),
    st.from_regex(r"[0-9a-f]{24}", fullmatch=True).map(ObjectId),
    st.decimals(allow_nan=False).map(lambda d: Decimal(str(d))),
    st.builds(Regex, st.text(), flags),
    st.builds(OpaqueCustomType, st.sampled_from(["X", "Y"]), st.integers() | st.text()),
)
keys = st.text() | st.sampled_from(DOLLAR_KEYS)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=3)
        | st.tuples(children, children)
    ),
    max_leaves=20,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text().filter(lambda k: not k.startswith("$")), children, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_json_value_round_trip(value: Any) -> None:
    assert ejson.equals(ejson.from_json_value(ejson.to_json_value(value)), value)


@given(values)
def test_text_round_trip(value: Any) -> None:
    text = ejson.dumps(value)
    assert ejson.equals(ejson.loads(text), value)
    assert ejson.equals(ejson.loads(text.encode()), value)


@given(values)
def test_fast_and_walked_encodings_agree(value: Any) -> None:
    assert ejson.dumps(value) == ejson.serialize_json(ejson.to_json_value(value))


@given(values)
def test_canonical_text_round_trips_and_ignores_key_order(value: Any) -> None:
    text = ejson.dumps(value, canonical=True)
    assert ejson.equals(ejson.loads(text), value)
    shuffled = _shuffle_keys(value, random.Random(0))
    assert ejson.dumps(shuffled, canonical=True) == text
    assert ejson.equals(shuffled, value)
    assert ejson.equals(ejson.loads(ejson.dumps(value, indent=True)), value)


@given(values)
def test_clone_is_equal_and_independent(value: Any) -> None:
    copy = ejson.clone(value)
    assert ejson.equals(copy, value, key_order_sensitive=True)
    assert ejson.to_json_value(copy) == ejson.to_json_value(value) or _has_nan(value)


@given(values)
def test_json_form_is_stable(value: Any) -> None:
    wire = ejson.to_json_value(value)
    again = ejson.to_json_value(ejson.from_json_value(wire))
    assert ejson.serialize_json(again) == ejson.serialize_json(wire)


@given(json_values)
def test_plain_json_is_untouched(value: Any) -> None:
    assert ejson.from_json_value(value) == value
    assert ejson.to_json_value(value) == value
    assert ejson.loads(orjson.dumps(value)) == value


@given(st.dictionaries(st.sampled_from(["fields", "params", "result", "x"]), values))
def test_message_round_trip(fields: dict[str, Any]) -> None:
    msg = {"msg": "added", "id": "a", **fields}
    back = parse_message(encode_message(msg))
    for key in ("fields", "params", "result"):
        if key in msg:
            assert ejson.equals(back[key], msg[key])


def _shuffle_keys(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffle_keys(v, rng) for k, v in items}
    if isinstance(value, list | tuple):
        return [_shuffle_keys(v, rng) for v in value]
    return value


def _has_nan(value: Any) -> bool:
    return "NaN" in repr(value) or "nan" in repr(value)
