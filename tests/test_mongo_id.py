"""Document ids in the ``id`` field (cases adapted from Meteor's mongo-id rules, MIT)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddp import ejson
from ddp.ejson import ObjectId
from ddp.exceptions import EJSONError
from ddp.mongo_id import id_parse, id_stringify

HEX = "0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        ("", ""),
        ("-abc", "--abc"),
        ("-", "--"),
        ("~1", "-~1"),
        ("{x}", "-{x}"),
        (HEX, "-" + HEX),
        (HEX.upper(), HEX.upper()),  # only lowercase looks like an ObjectId
        (HEX[:-1], HEX[:-1]),
        (ObjectId(HEX), HEX),
        (None, "-"),
        (1, "~1"),
        (1.0, "~1"),
        (-2.5, "~-2.5"),
        (1e21, "~1e+21"),
        (True, "~true"),
        (False, "~false"),
        (math.inf, '~{"$InfNaN":1}'),
        ({"b": 1, "a": 2}, '~{"a":2,"b":1}'),
    ],
)
def test_stringify(value, text):
    assert id_stringify(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("abc", "abc"),
        ("", ""),
        ("-", None),
        ("--abc", "-abc"),
        ("-" + HEX, HEX),
        (HEX, ObjectId(HEX)),
        ("~1", 1),
        ("~1.5", 1.5),
        ("~true", True),
        ("~null", None),
        ('~{"$date":0}', datetime(1970, 1, 1, tzinfo=UTC)),
        ("{x}", "{x}"),
    ],
)
def test_parse(text, value):
    parsed = id_parse(text)
    assert type(parsed) is type(value)
    assert parsed == value


def test_parse_errors():
    with pytest.raises(EJSONError, match="must be a string"):
        id_parse(5)  # type: ignore[arg-type]
    with pytest.raises(EJSONError, match="invalid JSON"):
        id_parse("~{")
    with pytest.raises(EJSONError):
        id_stringify({1, 2})


ids = st.one_of(
    st.text(),
    st.from_regex(r"[-~{]?[0-9a-f]{24}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{24}", fullmatch=True).map(ObjectId),
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=True),
    st.dictionaries(st.text(), st.integers(), max_size=3),
)


@given(ids)
def test_round_trip(value: Any) -> None:
    text = id_stringify(value)
    assert isinstance(text, str)
    assert ejson.equals(id_parse(text), value)


@given(st.text())
def test_every_string_parses(text: str) -> None:
    try:
        value = id_parse(text)
    except EJSONError:
        assert text.startswith("~")
        return
    if not isinstance(value, float):  # "~1.0" and "~1" both mean the number 1
        assert id_parse(id_stringify(value)) == value
