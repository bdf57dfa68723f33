"""The DDP message codec: fast path, EJSON fields only, clear errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from ddp import ejson
from ddp.exceptions import EJSONError, ProtocolError
from ddp.messages import EJSON_FIELDS, encode_message, parse_message

ADDED = '{"msg":"added","collection":"items","id":"a1","fields":{"text":"hi","n":3}}'


def test_plain_frame_is_exactly_orjson_output():
    assert parse_message(ADDED) == orjson.loads(ADDED)


def test_plain_frame_is_not_walked(monkeypatch):
    def boom(value):
        raise AssertionError("walked a frame without '$'")

    monkeypatch.setattr(ejson, "from_json_value", boom)
    assert parse_message(ADDED)["fields"] == {"text": "hi", "n": 3}


def test_dollar_frame_decodes_ejson_fields():
    text = (
        '{"msg":"added","collection":"c","id":"x","fields":{"at":{"$date":1000},'
        '"raw":{"$binary":"AQI="},"inf":{"$InfNaN":-1},"lit":{"$escape":{"$date":5}}}}'
    )
    fields = parse_message(text)["fields"]
    assert fields["at"] == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert fields["raw"] == b"\x01\x02"
    assert fields["inf"] == -math.inf
    assert fields["lit"] == {"$date": 5}


@pytest.mark.parametrize("field", EJSON_FIELDS)
def test_each_ejson_field_is_decoded(field):
    msg = parse_message(orjson.dumps({"msg": "x", field: [{"$date": 0}]}))
    assert msg[field] == [datetime(1970, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize("field", ["error", "details", "other", "offendingMessage"])
def test_other_fields_stay_plain_json(field):
    msg = parse_message(orjson.dumps({"msg": "x", field: {"$date": 0}}))
    assert msg[field] == {"$date": 0}


def test_bytes_frame_is_accepted():
    assert parse_message(ADDED.encode()) == orjson.loads(ADDED)
    msg = parse_message(b'{"msg":"result","id":"1","result":{"$InfNaN":1}}')
    assert msg["result"] == math.inf


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        ("", "not valid JSON"),
        ("{nope", "not valid JSON"),
        ("[1,2]", "JSON object, got an array"),
        ("null", "JSON object, got null"),
        ('"text"', "JSON object, got str"),
        ("42", "JSON object, got int"),
        (b"\xff\xfe{}", "not valid JSON"),
        ('{"msg":"added","fields":{"d":{"$date":"soon"}}}', "malformed EJSON in DDP 'fields'"),
        ('{"msg":"result","result":{"$binary":"%%%"}}', "malformed EJSON in DDP 'result'"),
    ],
)
def test_bad_frames_raise_protocol_error(frame, match):
    with pytest.raises(ProtocolError, match=match):
        parse_message(frame)


def test_non_text_frame_raises_protocol_error():
    with pytest.raises(ProtocolError, match="must be bytes, bytearray, memoryview, or str"):
        parse_message(42)  # type: ignore[arg-type]


def test_encode_plain_message_is_compact_json():
    msg = {"msg": "method", "method": "add", "params": [1, 2], "id": "1"}
    assert encode_message(msg) == '{"msg":"method","method":"add","params":[1,2],"id":"1"}'


def test_encode_ejson_fields():
    at = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    oid = ejson.ObjectId("0123456789abcdef01234567")
    msg = {
        "msg": "method",
        "method": "m",
        "params": [at, b"\x00", oid, math.nan, None, Decimal("1.5"), {"$date": 1}],
        "id": "7",
    }
    text = encode_message(msg)
    assert orjson.loads(text)["params"] == [
        {"$date": 1714564800123},
        {"$binary": "AA=="},
        {"$type": "oid", "$value": "0123456789abcdef01234567"},
        {"$InfNaN": 0},
        None,
        {"$type": "Decimal", "$value": "1.5"},
        {"$escape": {"$date": 1}},
    ]
    back = parse_message(text)["params"]
    assert ejson.equals(back, msg["params"])


def test_encode_round_trips_through_parse():
    msg = {
        "msg": "added",
        "collection": "c",
        "id": "x",
        "fields": {"a": {"$type": "T", "$value": {"$date": 1}}, "b": [math.inf]},
    }
    assert ejson.equals(parse_message(encode_message(msg)), msg)


def test_encode_leaves_error_object_unescaped():
    msg = {"msg": "result", "id": "1", "error": {"error": 400, "details": {"$date": 5}}}
    assert orjson.loads(encode_message(msg)) == msg


def test_encode_does_not_modify_the_message():
    params = [{"$date": 1}, datetime(2020, 1, 1, tzinfo=UTC)]
    msg = {"msg": "method", "method": "m", "params": params, "id": "1"}
    encode_message(msg)
    assert msg["params"] is params
    assert params[0] == {"$date": 1}


@pytest.mark.parametrize("bad_id", [1, 1.5, ["1"], {"a": 1}])
def test_non_string_id_is_refused(bad_id):
    with pytest.raises(ProtocolError, match="ids must be strings"):
        encode_message({"msg": "sub", "id": bad_id, "name": "items"})


def test_non_dict_message_is_refused():
    with pytest.raises(ProtocolError, match="must be a dict"):
        encode_message([1])  # type: ignore[arg-type]


def test_unencodable_value_raises_ejson_error():
    with pytest.raises(EJSONError, match="set"):
        encode_message({"msg": "method", "method": "m", "params": [{1, 2}], "id": "1"})
    with pytest.raises(EJSONError, match="keys must be strings"):
        encode_message({"msg": "method", "method": "m", "params": [{1: 2}], "id": "1"})


def test_plain_json_fields_are_written_leniently():
    at = datetime(1970, 1, 1, tzinfo=UTC)
    details = {"at": at, "n": math.nan, "lit": {"$date": 5}}
    msg = {"msg": "result", "id": "1", "error": {"error": 500, "details": details}}
    assert orjson.loads(encode_message(msg))["error"]["details"] == {
        "at": {"$date": 0},
        "n": None,  # as JSON.stringify writes NaN outside EJSON fields
        "lit": {"$date": 5},
    }
    assert '"big":1180591620717411303424' in encode_message({"msg": "x", "error": {"big": 2**70}})
    with pytest.raises(EJSONError, match="set"):
        encode_message({"msg": "x", "error": {"big": 2**70, "bad": {1}}})


# -- depth -----------------------------------------------------------------------------------


def deep_added(levels: int) -> str:
    """An ``added`` frame whose text nests ``levels`` deep (the frame's object is level 1)."""
    inner = "[" * (levels - 2) + "]" * (levels - 2)
    return f'{{"msg":"added","collection":"c","id":"a","fields":{{"x":{inner}}}}}'


def test_a_frame_as_deep_as_the_limit_is_read():
    msg = parse_message(deep_added(ejson.MAX_DEPTH))
    assert msg["id"] == "a"
    assert parse_message(deep_added(ejson.MAX_DEPTH).encode())["id"] == "a"


@pytest.mark.parametrize("levels", [ejson.MAX_DEPTH + 1, 255, 1024, 1025, 100_000])
def test_a_frame_deeper_than_the_limit_is_a_protocol_error(levels):
    with pytest.raises(ProtocolError, match=r"deeper than 128|not valid JSON"):
        parse_message(deep_added(levels))
    with pytest.raises(ProtocolError, match=r"deeper than 128|not valid JSON"):
        parse_message(deep_added(levels).encode())


def test_a_deep_frame_with_ejson_is_refused_before_the_walk():
    frame = deep_added(300).replace('"x":', '"d":{"$date":0},"x":')
    with pytest.raises(ProtocolError, match="deeper than 128"):
        parse_message(frame)


def test_a_message_that_would_be_too_deep_is_not_written():
    params: list[object] = []
    for _ in range(ejson.MAX_DEPTH - 2):  # the frame and `params` take the other two levels
        params = [params]
    assert parse_message(encode_message({"msg": "method", "id": "1", "params": params}))
    with pytest.raises(EJSONError, match="deeper than 128"):
        encode_message({"msg": "method", "id": "1", "params": [params]})
    for _ in range(10_000):
        params = [params]
    with pytest.raises(EJSONError, match="deep"):
        encode_message({"msg": "method", "id": "1", "params": params})


def test_a_plain_field_infinity_beside_a_huge_integer_is_written_as_orjson_would() -> None:
    # Found by hypothesis: an integer beyond 64 bits sends the frame down the stdlib path,
    # which used to refuse the infinity in a plain field that orjson writes as null.
    msg = {
        "msg": "added",
        "id": "a",
        "x": [float("inf")],
        "params": ejson.OpaqueCustomType(name="X", value=-(2**63) - 1),
    }
    text = encode_message(msg)
    assert '"x":[null]' in text
    assert '"$value":-9223372036854775809' in text
