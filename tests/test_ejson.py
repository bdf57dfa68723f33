"""EJSON conformance.

The ``test_meteor_*`` cases are adapted from Meteor's ``packages/ejson/ejson_tests.js`` and
``custom_models_for_tests.js`` (MIT); the rest covers Python-specific decisions.
"""

from __future__ import annotations

import enum
import math
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from ddp import ejson
from ddp.ejson import ObjectId, OpaqueCustomType, Regex
from ddp.exceptions import EJSONError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Custom models (after Meteor's custom_models_for_tests.js)


class Address:
    def __init__(self, city: str, state: str) -> None:
        self.city = city
        self.state = state

    def clone(self) -> Address:
        return Address(self.city, self.state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and ejson.dumps(self) == ejson.dumps(other)

    __hash__ = None  # type: ignore[assignment]

    def to_json_value(self) -> Any:
        return {"city": self.city, "state": self.state}

    @classmethod
    def from_json_value(cls, value: Any) -> Address:
        return cls(value["city"], value["state"])


class Person:
    def __init__(self, name: str, dob: datetime, address: Address) -> None:
        self.name = name
        self.dob = dob
        self.address = address

    def clone(self) -> Person:
        return Person(self.name, self.dob, self.address)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Person) and ejson.dumps(self) == ejson.dumps(other)

    __hash__ = None  # type: ignore[assignment]

    def to_json_value(self) -> Any:
        return {
            "name": self.name,
            "dob": ejson.to_json_value(self.dob),
            "address": ejson.to_json_value(self.address),
        }

    @classmethod
    def from_json_value(cls, value: Any) -> Person:
        return cls(
            value["name"],
            ejson.from_json_value(value["dob"]),
            ejson.from_json_value(value["address"]),
        )


class Holder:
    """A custom type without clone() or __eq__: the generic fallbacks apply."""

    def __init__(self, content: Any) -> None:
        self.content = content

    def to_json_value(self) -> Any:
        return self.content

    @classmethod
    def from_json_value(cls, value: Any) -> Holder:
        return cls(value)


@pytest.fixture(scope="module", autouse=True)
def custom_types() -> Iterator[None]:
    ejson.register_type("Address", Address)
    ejson.register_type("Person", Person)
    ejson.register_type("Holder", Holder)
    yield
    for name in ("Address", "Person", "Holder"):
        ejson.unregister_type(name)


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"])
def local_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's local time zone set to something else than UTC."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def roundtrip(value: Any) -> Any:
    return ejson.loads(ejson.dumps(value))


# --------------------------------------------------------------------------------------------
# Meteor's ejson_tests.js


def test_meteor_key_order_sensitive():
    a = {"a": {"b": 1, "c": 2}, "d": {"e": 3, "f": 4}}
    assert ejson.equals(a, {"d": {"f": 4, "e": 3}, "a": {"c": 2, "b": 1}})
    assert not ejson.equals(
        a, {"d": {"f": 4, "e": 3}, "a": {"c": 2, "b": 1}}, key_order_sensitive=True
    )
    assert not ejson.equals(
        a, {"a": {"c": 2, "b": 1}, "d": {"f": 4, "e": 3}}, key_order_sensitive=True
    )
    assert ejson.equals(a, {"a": {"b": 1, "c": 2}, "d": {"e": 3, "f": 4}}, key_order_sensitive=True)
    assert not ejson.equals({"a": {}}, {"a": {"b": 2}}, key_order_sensitive=True)
    assert not ejson.equals({"a": {"b": 2}}, {"a": {}}, key_order_sensitive=True)


def test_meteor_nesting_and_literal():
    d = datetime.now(UTC).replace(microsecond=123000)
    obj = {"$date": d}
    e_obj = ejson.to_json_value(obj)
    assert e_obj == {"$escape": {"$date": {"$date": ejson.to_json_value(d)["$date"]}}}
    assert ejson.from_json_value(e_obj) == obj


def test_meteor_some_equality_tests():
    assert ejson.equals({"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3, "b": 2})
    assert not ejson.equals({"a": 1, "b": 2}, {"a": 1, "c": 3, "b": 2})
    assert not ejson.equals({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2})
    assert not ejson.equals({"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3, "b": 4})
    assert not ejson.equals({"a": {}}, {"a": {"b": 2}})
    assert not ejson.equals({"a": {"b": 2}}, {"a": {}})
    assert ejson.equals([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert not ejson.equals([1, 2, 3, 4, 5], [1, 2, 3, 4])
    assert not ejson.equals([1, 2, 3, 4], {"0": 1, "1": 2, "2": 3, "3": 4})
    assert not ejson.equals({"0": 1, "1": 2, "2": 3, "3": 4}, [1, 2, 3, 4])
    assert not ejson.equals({}, [])
    assert not ejson.equals([], {})


def test_meteor_equality_and_falsiness():
    assert ejson.equals(None, None)
    assert not ejson.equals({"foo": "foo"}, None)
    assert not ejson.equals(None, {"foo": "foo"})
    # JavaScript's ``===`` on falsy values: none of these is equal to another.
    falsy = [None, False, 0, "", [], {}]
    for i, a in enumerate(falsy):
        for j, b in enumerate(falsy):
            assert ejson.equals(a, b) is (i == j), (a, b)


def test_meteor_nan_and_inf():
    assert ejson.loads('{"$InfNaN": 1}') == math.inf
    assert ejson.loads('{"$InfNaN": -1}') == -math.inf
    assert math.isnan(ejson.loads('{"$InfNaN": 0}'))
    assert roundtrip(math.inf) == math.inf
    assert roundtrip(-math.inf) == -math.inf
    assert math.isnan(roundtrip(math.nan))
    assert ejson.equals(math.nan, math.nan)
    assert ejson.equals(math.inf, math.inf)
    assert ejson.equals(-math.inf, -math.inf)
    assert not ejson.equals(math.inf, -math.inf)
    assert not ejson.equals(math.inf, math.nan)
    assert not ejson.equals(math.inf, 0)
    assert not ejson.equals(math.nan, 0)
    assert ejson.equals(ejson.loads('{"a": {"$InfNaN": 1}}'), {"a": math.inf})
    assert ejson.equals(ejson.loads('{"a": {"$InfNaN": 0}}'), {"a": math.nan})


@pytest.mark.parametrize(
    ("value", "identical"),
    [
        (None, True),
        (42, True),
        ("asdf", True),
        ([1, 2, 3], False),
        ([1, "fasdf", {"foo": 42}], False),
        ({"x": 42, "y": "asdf"}, False),
    ],
)
def test_meteor_clone(value, identical):
    copy = ejson.clone(value)
    assert ejson.equals(value, copy)
    assert (copy is value) is identical


def test_meteor_clone_arguments():
    # JavaScript's ``arguments`` object; a tuple here, equal to the list of its items.
    assert ejson.equals(ejson.clone((1, 2, "foo", [4])), [1, 2, "foo", [4]])


def test_meteor_stringify():
    assert ejson.dumps(None) == "null"
    assert ejson.dumps(True) == "true"
    assert ejson.dumps(False) == "false"
    assert ejson.dumps(123) == "123"
    assert ejson.dumps("abc") == '"abc"'
    assert ejson.dumps([1, 2, 3]) == "[1,2,3]"
    assert ejson.dumps([1, 2, 3], indent=True) == "[\n  1,\n  2,\n  3\n]"
    assert ejson.dumps([1, 2, 3], canonical=False) == "[1,2,3]"
    assert ejson.dumps([1, 2, 3], indent=True, canonical=False) == "[\n  1,\n  2,\n  3\n]"
    assert ejson.dumps([1, 2, 3], indent=4) == "[\n    1,\n    2,\n    3\n]"
    assert ejson.dumps([1, 2, 3], indent="--") == "[\n--1,\n--2,\n--3\n]"
    value = {"b": [2, {"d": 4, "c": 3}], "a": 1}
    assert ejson.dumps(value, canonical=True) == '{"a":1,"b":[2,{"c":3,"d":4}]}'
    assert ejson.dumps(value, indent=True, canonical=True) == (
        '{\n  "a": 1,\n  "b": [\n    2,\n    {\n      "c": 3,\n      "d": 4\n    }\n  ]\n}'
    )
    assert ejson.dumps(value, canonical=False) == '{"b":[2,{"d":4,"c":3}],"a":1}'
    assert ejson.dumps(value, indent=True, canonical=False) == (
        '{\n  "b": [\n    2,\n    {\n      "d": 4,\n      "c": 3\n    }\n  ],\n  "a": 1\n}'
    )
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(EJSONError, match="cycle"):
        ejson.dumps(circular)


def test_meteor_parse():
    assert ejson.loads("[1,2,3]") == [1, 2, 3]
    with pytest.raises(EJSONError, match="must be str or bytes"):
        ejson.loads(None)  # type: ignore[arg-type]


def test_meteor_regexp():
    assert ejson.dumps(Regex("foo", "gi")) == '{"$regexp":"foo","$flags":"gi"}'
    obj = {"$regexp": "foo", "$flags": "gi"}
    e_obj = ejson.to_json_value(obj)
    assert e_obj == {"$escape": obj}
    assert ejson.from_json_value(e_obj) == obj


def test_meteor_custom_types():
    def same_types(a: Any, b: Any) -> None:
        assert type(a) is type(b)
        if isinstance(a, dict):
            for key in a:
                same_types(a[key], b[key])
        elif isinstance(a, Address | Person):
            for key in vars(a):
                same_types(getattr(a, key), getattr(b, key))

    def really_equal(a: Any, b: Any) -> None:
        assert ejson.equals(a, b)
        same_types(a, b)

    def custom_object(value: Any) -> None:
        really_equal(value, roundtrip(value))
        really_equal(value, ejson.clone(value))

    a = Address("Montreal", "Quebec")
    custom_object({"address": a})
    # A difference is detected even when the JSON values look alike.
    naked = {"city": "Montreal", "state": "Quebec"}
    assert not ejson.equals(naked, a)
    assert not ejson.equals(a, naked)
    holder = Holder(naked)
    assert holder.to_json_value() == a.to_json_value()
    assert not ejson.equals(holder, a)
    assert not ejson.equals(a, holder)

    d = datetime.now(UTC).replace(microsecond=5000)
    person = Person("John Doe", d, a)
    custom_object(person)
    # clone is deep when the type says so
    copy = ejson.clone(person)
    copy.address = Address("Sherbrooke", "Quebec")
    assert not ejson.equals(person, copy)


def test_meteor_objects_with_a_length_property():
    widget = {"length": 10}
    assert ejson.to_json_value(widget) == widget
    assert ejson.from_json_value(widget) == widget
    assert ejson.dumps(widget) == '{"length":10}'
    assert ejson.loads('{"length":10}') == {"length": 10}
    assert ejson.clone(widget) == widget


# --------------------------------------------------------------------------------------------
# Dates


def test_date_wire_form():
    at = datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)
    assert ejson.to_json_value(at) == {"$date": 1709251199999}
    assert ejson.loads('{"$date":1709251199999}') == at


def test_dates_ignore_the_local_time_zone(local_tz):
    assert ejson.loads('{"$date":0}') == EPOCH
    assert ejson.loads('{"$date":0}').tzinfo is UTC
    naive = datetime(2001, 9, 9, 1, 46, 40)  # naive means UTC, never local time
    assert ejson.to_json_value(naive) == {"$date": 1_000_000_000_000}
    assert ejson.dumps(naive) == '{"$date":1000000000000}'
    other_zone = datetime(2001, 9, 9, 3, 46, 40, tzinfo=timezone(timedelta(hours=2)))
    assert ejson.to_json_value(other_zone) == {"$date": 1_000_000_000_000}
    assert ejson.equals(naive.replace(tzinfo=UTC), other_zone)


@pytest.mark.parametrize(
    ("at", "ms"),
    [
        (datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), -1),
        (datetime(1900, 1, 1, tzinfo=UTC), -2208988800000),
        (datetime(1, 1, 1, tzinfo=UTC), -62135596800000),
        (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), 253402300799999),
    ],
)
def test_pre_1970_and_extreme_dates(local_tz, at, ms):
    assert ejson.to_json_value(at) == {"$date": ms}
    assert ejson.from_json_value({"$date": ms}) == at
    assert roundtrip(at) == at


def test_sub_millisecond_digits_are_floored():
    assert ejson.to_json_value(EPOCH + timedelta(microseconds=1999)) == {"$date": 1}
    assert ejson.to_json_value(EPOCH - timedelta(microseconds=1)) == {"$date": -1}
    assert ejson.equals(EPOCH + timedelta(microseconds=1999), EPOCH + timedelta(milliseconds=1))


def test_float_milliseconds_truncate_toward_zero():
    assert ejson.from_json_value({"$date": 1.9}) == EPOCH + timedelta(milliseconds=1)
    assert ejson.from_json_value({"$date": -1.9}) == EPOCH - timedelta(milliseconds=1)


@pytest.mark.parametrize(
    "wire", ['{"$date":"2020-01-01"}', '{"$date":true}', '{"$date":1e300}', '{"$date":null}']
)
def test_bad_dates(wire):
    with pytest.raises(EJSONError, match=r"\$date"):
        ejson.loads(wire)


def test_non_finite_float_date():
    with pytest.raises(EJSONError, match="finite"):
        ejson.from_json_value({"$date": math.inf})


# --------------------------------------------------------------------------------------------
# Binary, InfNaN, Regex


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\xff\xfe\xfd", bytes(range(256))])
def test_binary(raw):
    wire = ejson.to_json_value(raw)
    assert wire == {"$binary": __import__("base64").b64encode(raw).decode()}
    assert ejson.from_json_value(wire) == raw
    assert ejson.to_json_value(bytearray(raw)) == wire
    assert ejson.to_json_value(memoryview(raw)) == wire
    assert ejson.dumps([bytearray(raw)]) == ejson.dumps([raw])


@pytest.mark.parametrize("bad", ['"A"', '"@@@@"', "5"])
def test_bad_binary(bad):
    with pytest.raises(EJSONError, match=r"\$binary"):
        ejson.loads('{"$binary":' + bad + "}")


def test_infnan_accepts_any_sign_like_meteor():
    assert ejson.from_json_value({"$InfNaN": 2}) == math.inf
    assert ejson.from_json_value({"$InfNaN": -0.5}) == -math.inf
    for bad in ("1", None, True, math.nan):
        with pytest.raises(EJSONError, match="InfNaN"):
            ejson.from_json_value({"$InfNaN": bad})


def test_regex_flags_are_filtered_like_meteor():
    assert ejson.loads('{"$regexp":"a+","$flags":"gixy"}') == Regex("a+", "giy")
    assert ejson.loads('{"$regexp":"a","$flags":"igig"}') == Regex("a", "ig")  # last kept
    assert ejson.loads('{"$regexp":"a","$flags":"s"}') == Regex("a", "")
    long_flags = "x" * 49 + "im"
    assert ejson.from_json_value({"$regexp": "a", "$flags": long_flags}) == Regex("a", "i")
    with pytest.raises(EJSONError, match="strings"):
        ejson.from_json_value({"$regexp": 1, "$flags": ""})


def test_regex_compile_and_patterns():
    pattern = Regex("^a.b$", "gims").compile()
    assert pattern.flags & (re.I | re.M | re.S) == re.I | re.M | re.S
    assert pattern.match("A\nB")
    with pytest.raises(EJSONError, match="cannot compile"):
        Regex("(?<x>a)").compile()
    assert ejson.to_json_value(re.compile("x", re.I | re.S | re.M)) == {
        "$regexp": "x",
        "$flags": "ims",
    }
    assert ejson.loads(ejson.dumps(re.compile("a|b", re.I))) == Regex("a|b", "i")
    assert ejson.equals(re.compile("a", re.I), Regex("a", "i"))
    assert not ejson.equals(Regex("a"), Regex("b"))
    with pytest.raises(EJSONError, match="JavaScript"):
        ejson.to_json_value(re.compile("a", re.VERBOSE))
    with pytest.raises(EJSONError, match="bytes"):
        ejson.to_json_value(re.compile(b"a"))
    with pytest.raises(EJSONError, match="string"):
        Regex(1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Escaping and decode candidates


@pytest.mark.parametrize(
    "literal",
    [
        {"$date": 5},
        {"$InfNaN": 1},
        {"$binary": "AA=="},
        {"$escape": {"a": 1}},
        {"$regexp": "a", "$flags": "g"},
        {"$flags": "g", "$regexp": "a"},
        {"$type": "oid", "$value": "x"},
        {"$value": 1, "$type": "T"},
    ],
)
def test_dicts_shaped_like_converters_are_escaped(literal):
    wire = ejson.to_json_value(literal)
    assert wire == {"$escape": literal}
    assert ejson.from_json_value(wire) == literal
    assert ejson.loads(ejson.dumps({"x": [literal]})) == {"x": [literal]}


@pytest.mark.parametrize(
    "plain",
    [
        {},
        {"$foo": 1},
        {"$date": 1, "x": 2},
        {"$date": 1, "$foo": 2},
        {"$type": "T", "$value": 1, "$x": 2},
        {"$b": 1, "$c": 2},
        {"$value": 1},
    ],
)
def test_non_candidates_stay_plain(plain):
    assert ejson.to_json_value(plain) == plain
    assert ejson.from_json_value(plain) == plain


def test_escape_values_are_still_decoded():
    value = ejson.loads('{"$escape":{"$date":{"$date":32491}}}')
    assert value == {"$date": EPOCH + timedelta(milliseconds=32491)}
    assert ejson.to_json_value(value) == {"$escape": {"$date": {"$date": 32491}}}
    with pytest.raises(EJSONError, match="escape"):
        ejson.loads('{"$escape":[1]}')


def test_decoding_does_not_modify_input():
    wire = {"a": [{"$date": 0}], "b": {"c": {"$binary": ""}}}
    ejson.from_json_value(wire)
    assert wire == {"a": [{"$date": 0}], "b": {"c": {"$binary": ""}}}


def test_encoding_does_not_modify_input():
    value = {"a": [EPOCH], "b": {"$date": 1}, "c": (math.nan,)}
    ejson.to_json_value(value)
    assert value["a"] == [EPOCH] and value["b"] == {"$date": 1}


# --------------------------------------------------------------------------------------------
# Custom types, ObjectId, Decimal, opaque types


def test_object_id():
    oid = ObjectId("0123456789ABCDEF01234567")
    assert oid.hex == str(oid) == "0123456789abcdef01234567"
    assert repr(oid) == "ObjectId('0123456789abcdef01234567')"
    assert oid == ObjectId("0123456789abcdef01234567")
    assert hash(oid) == hash(ObjectId(oid.hex))
    assert oid != "0123456789abcdef01234567"
    assert ObjectId("0" * 24) < oid
    assert ejson.to_json_value(oid) == {"$type": "oid", "$value": oid.hex}
    assert roundtrip({"_id": oid}) == {"_id": oid}
    assert ejson.clone(oid) is oid
    generated = {ObjectId.generate() for _ in range(100)}
    assert len(generated) == 100
    assert all(re.fullmatch("[0-9a-f]{24}", g.hex) for g in generated)
    for bad in ("", "0" * 23, "g" * 24, 5):
        with pytest.raises(EJSONError, match="24 hexadecimal"):
            ObjectId(bad)  # type: ignore[arg-type]
    with pytest.raises(EJSONError, match="string"):
        ejson.from_json_value({"$type": "oid", "$value": 1})


def test_decimal():
    wire = ejson.to_json_value(Decimal("1.10"))
    assert wire == {"$type": "Decimal", "$value": "1.10"}
    assert ejson.from_json_value(wire) == Decimal("1.10")
    assert str(ejson.from_json_value(wire)) == "1.10"
    assert roundtrip(Decimal("-Infinity")) == Decimal("-Infinity")
    assert ejson.equals(Decimal("1.0"), Decimal("1"))
    assert not ejson.equals(Decimal("1"), 1)
    assert not ejson.equals(1, Decimal("1"))
    for bad in ('"x"', "1"):
        with pytest.raises(EJSONError, match="Decimal"):
            ejson.loads('{"$type":"Decimal","$value":' + bad + "}")


def test_unknown_custom_type_round_trips_opaquely():
    text = '{"$type":"Mystery","$value":{"a":{"$date":1},"b":[{"$InfNaN":0}]}}'
    value = ejson.loads(text)
    assert value == OpaqueCustomType("Mystery", {"a": {"$date": 1}, "b": [{"$InfNaN": 0}]})
    assert ejson.dumps(value) == text
    copy = ejson.clone(value)
    assert copy == value and copy.value is not value.value
    assert ejson.equals(OpaqueCustomType("x", math.nan), OpaqueCustomType("x", math.nan))
    assert not ejson.equals(OpaqueCustomType("x", 1), OpaqueCustomType("y", 1))
    with pytest.raises(EJSONError, match=r"\$type must be a string"):
        ejson.loads('{"$type":1,"$value":2}')


def test_custom_type_value_is_raw_json():
    # As Meteor: the $value is handed to the factory undecoded.
    assert ejson.loads('{"$type":"Holder","$value":{"$date":1}}').content == {"$date": 1}
    assert ejson.to_json_value(Holder(EPOCH)) == {"$type": "Holder", "$value": EPOCH}


def test_holder_without_clone_or_eq_uses_json_fallbacks():
    holder = Holder({"a": [1, 2]})
    copy = ejson.clone(holder)
    assert type(copy) is Holder and copy is not holder and copy.content is not holder.content
    assert ejson.equals(holder, copy)
    assert not ejson.equals(holder, Holder({"a": [1]}))


def test_register_type_rules():
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    ejson.register_type("Point", Point, to_json=lambda p: p.x, from_json=Point)
    try:
        assert ejson.dumps(Point(3)) == '{"$type":"Point","$value":3}'
        assert ejson.loads('{"$type":"Point","$value":4}').x == 4

        class SubPoint(Point):
            pass

        assert ejson.to_json_value(SubPoint(5)) == {"$type": "Point", "$value": 5}
        with pytest.raises(EJSONError, match="already registered"):
            ejson.register_type("Point", dict)
        with pytest.raises(EJSONError, match="already registered"):
            ejson.register_type("Point2", Point)
    finally:
        ejson.unregister_type("Point")
    assert ejson.loads('{"$type":"Point","$value":4}') == OpaqueCustomType("Point", 4)
    with pytest.raises(EJSONError, match="not registered"):
        ejson.unregister_type("Point")
    with pytest.raises(EJSONError, match="built-in"):
        ejson.unregister_type("oid")
    with pytest.raises(EJSONError, match="to_json_value"):
        ejson.register_type("Bare", Point)
    with pytest.raises(EJSONError, match="from_json_value"):
        ejson.register_type("Bare", Point, to_json=lambda p: p.x)


def test_custom_type_factory_errors_become_ejson_errors():
    with pytest.raises(EJSONError, match="cannot decode EJSON type 'Address'"):
        ejson.loads('{"$type":"Address","$value":5}')


def test_custom_type_protocol():
    assert isinstance(Address("a", "b"), ejson.CustomType)
    assert isinstance(ObjectId.generate(), ejson.CustomType)
    assert not isinstance(object(), ejson.CustomType)


# --------------------------------------------------------------------------------------------
# Python types: what is accepted, what is refused


class Color(enum.Enum):
    RED = "red"


def test_tuples_enums_and_uuids():
    u = uuid.UUID(int=5)
    assert ejson.to_json_value((1, (2,))) == [1, [2]]
    assert ejson.dumps({"t": (1, 2), "c": Color.RED, "u": u}) == (
        '{"t":[1,2],"c":"red","u":"00000000-0000-0000-0000-000000000005"}'
    )
    # The walk agrees with orjson's native handling.
    assert ejson.to_json_value([Color.RED, u, EPOCH]) == [
        "red",
        str(u),
        {"$date": 0},
    ]


@pytest.mark.parametrize(
    "value",
    [{1, 2}, frozenset(), date(2020, 1, 1), object(), 1j, {"a": [{1: "x"}]}, {(1,): 2}],
)
def test_unsupported_values_raise(value):
    with pytest.raises(EJSONError):
        ejson.dumps(value)
    with pytest.raises(EJSONError):
        ejson.to_json_value(value)


def test_unsupported_values_in_clone_and_equals():
    with pytest.raises(EJSONError, match="clone"):
        ejson.clone({"a": object()})
    with pytest.raises(EJSONError):
        ejson.equals(object(), object())


def test_big_integers_are_written_exactly():
    assert ejson.dumps(2**53 + 1) == "9007199254740993"
    assert ejson.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert ejson.dumps([-(2**64)]) == "[-18446744073709551616]"
    assert ejson.loads(ejson.dumps(2**63)) == 2**63


def test_subclasses_of_plain_types():
    class MyDict(dict):  # type: ignore[type-arg]
        pass

    class MyFloat(float):
        pass

    class MyStr(str):
        pass

    value = [MyDict(a=MyFloat("inf")), MyStr("s"), MyDict({"$date": 1})]
    assert ejson.to_json_value(value) == [
        {"a": {"$InfNaN": 1}},
        "s",
        {"$escape": {"$date": 1}},
    ]
    assert orjson.loads(ejson.dumps(value)) == ejson.to_json_value(value)
    assert ejson.to_json_value(MyFloat("1.5")) == 1.5


def test_loads_errors_and_bytes():
    assert ejson.loads(b'{"$date":0}') == EPOCH
    assert ejson.loads(bytearray(b"[1]")) == [1]
    with pytest.raises(EJSONError, match="invalid JSON"):
        ejson.loads("{")


def nested(levels: int, inner: Any = None) -> Any:
    """``inner`` inside ``levels`` arrays (their JSON text nests ``levels`` deep)."""
    value = inner
    for _ in range(levels):
        value = [value]
    return value


def test_texts_as_deep_as_max_depth_round_trip():
    deep = nested(ejson.MAX_DEPTH - 2, [EPOCH])  # the date's own object is level 128
    text = ejson.dumps(deep)
    assert ejson.loads(text) == deep
    assert ejson.loads(text.encode()) == deep


@pytest.mark.parametrize("levels", [ejson.MAX_DEPTH + 1, 300, 1024, 5000])
def test_texts_deeper_than_max_depth_are_refused_both_ways(levels):
    text = "[" * levels + "]" * levels
    with pytest.raises(EJSONError, match=rf"deeper than {ejson.MAX_DEPTH}|invalid JSON"):
        ejson.loads(text)
    with pytest.raises(EJSONError, match="deep"):
        ejson.dumps(nested(levels - 1, []))
    with pytest.raises(EJSONError, match="deep"):
        ejson.dumps(nested(levels - 1, []), canonical=True)


def test_a_typed_value_counts_its_own_object_as_a_level():
    with pytest.raises(EJSONError, match="deeper than"):
        ejson.dumps(nested(ejson.MAX_DEPTH, EPOCH))  # {"$date": ...} is level 129


def test_brackets_inside_strings_are_not_nesting():
    text = ejson.dumps(["[{" * 500])
    assert ejson.loads(text) == ["[{" * 500]
    assert not ejson.exceeds_max_depth(text)
    tricky = '["\\"[[[[", ' + "[" * 3 + "]" * 3 + "]"
    assert ejson.exceeds_max_depth(tricky, limit=3)
    assert not ejson.exceeds_max_depth(tricky, limit=4)


def test_values_too_deep_for_the_stack_raise_ejson_errors():
    too_deep: Any = {}
    for _ in range(100_000):
        too_deep = {"a": too_deep}
    for walk in (
        ejson.to_json_value,
        ejson.from_json_value,
        ejson.clone,
        ejson.dumps,
        lambda value: ejson.dumps(value, canonical=True),
        lambda value: ejson.equals(value, {"a": value}),
    ):
        with pytest.raises(EJSONError, match="deep"):
            walk(too_deep)


def test_lone_surrogates_cannot_be_written():
    with pytest.raises(EJSONError, match="cannot write JSON"):
        ejson.dumps("\ud800")


# --------------------------------------------------------------------------------------------
# Canonical stringify


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.2345e25, "1.2345e+25"),
        (123456789012.5, "123456789012.5"),
        (5e-324, "5e-324"),
        (-2.5, "-2.5"),
    ],
)
def test_canonical_numbers_are_written_as_javascript_does(number, text):
    assert ejson.dumps(number, canonical=True) == text
    assert ejson.dumps([number], indent=1) == f"[\n {text}\n]"


def test_canonical_with_ejson_types_and_strings():
    value = {"z": EPOCH, "a": [math.inf, {}, []], "é": 'q"\n\u2028'}
    assert ejson.dumps(value, canonical=True) == (
        '{"a":[{"$InfNaN":1},{},[]],"z":{"$date":0},"é":"q\\"\\n\u2028"}'
    )
    assert ejson.dumps({"b": 1, "a": {}}, indent=2, canonical=True) == (
        '{\n  "a": {},\n  "b": 1\n}'
    )
    assert ejson.dumps({"a": 1}, indent=0) == '{"a":1}'
    with pytest.raises(EJSONError, match="indent"):
        ejson.dumps(1, indent=1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The fast paths


def test_loads_does_not_walk_text_without_dollar(monkeypatch):
    monkeypatch.setattr(ejson, "from_json_value", lambda value: pytest.fail("walked"))
    assert ejson.loads('{"a":[1,{"b":null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ({"a": 1, "b": [True, "x"]}, True),
        ({"at": EPOCH, "raw": b"\x01", "id": ObjectId("a" * 24)}, True),
        ({"a": None}, False),  # null might have been NaN
        ({"a": math.nan}, False),
        ({"$date": 1}, False),  # needs escaping
        ({"a": "$5"}, False),  # a "$ the hook did not write (safe false positive)
        ({"a": Decimal(1)}, False),
        ({"a": bytearray(b"x")}, False),
        ({1: 2}, False),
    ],
)
def test_fast_dump_is_used_only_when_correct(value, fast):
    out = ejson.try_fast_dumps(value)
    assert (out is not None) is fast
    if out is not None:
        assert out == ejson.serialize_json(ejson.to_json_value(value))


def test_equals_corner_cases():
    oid = ObjectId("a" * 24)
    assert not ejson.equals(oid, [1])
    assert not ejson.equals(oid, "a" * 24)
    assert not ejson.equals(oid, ObjectId("b" * 24))
    assert ejson.equals(1, 1.0)
    assert ejson.equals(2**53 + 1, float(2**53))  # the same JavaScript number
    assert not ejson.equals(2**53 + 1, 2**53)
    assert not ejson.equals(10**400, 1.0)
    assert not ejson.equals(True, 1)
    assert not ejson.equals(0, False)
    assert ejson.equals((1, [2]), [1, (2,)])
    assert ejson.equals(b"ab", bytearray(b"ab"))
    assert not ejson.equals(b"ab", "ab")
    assert not ejson.equals(EPOCH, 0)
    with pytest.raises(TypeError):
        _ = oid < 1  # type: ignore[operator]


def test_clone_copies_mutable_binaries_and_subclasses():
    raw = bytearray(b"ab")
    copy = ejson.clone({"r": raw, "m": memoryview(b"cd")})
    assert copy == {"r": bytearray(b"ab"), "m": bytearray(b"cd")}
    assert copy["r"] is not raw

    class MyList(list):  # type: ignore[type-arg]
        pass

    assert ejson.to_json_value(MyList([math.inf])) == [{"$InfNaN": 1}]
    assert ejson.clone(MyList([1])) == [1]


def test_canonical_literals_and_same_size_dicts():
    assert ejson.dumps([None, True, False, {"$InfNaN": 0}], canonical=True) == (
        '[null,true,false,{"$escape":{"$InfNaN":0}}]'
    )
    assert not ejson.equals({"a": 1, "b": 2}, {"a": 1, "c": 2})
