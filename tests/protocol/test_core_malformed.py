"""Whatever the server sends, receive_text never raises and the connection goes on."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddp.events import MethodDataVisible, MethodResult, ProtocolViolation

FRAMES = [
    "",
    "not json",
    "[1, 2]",
    '"text"',
    "null",
    "{}",
    '{"reason": "an error reply without msg"}',
    '{"msg": "bogus"}',
    '{"msg": null}',
    '{"msg": 5}',
    '{"msg": ["added"]}',
    '{"msg": {"a": 1}}',
    '{"msg": "connect", "version": "1"}',
    '{"msg": "result"}',
    '{"msg": "result", "id": ["x"]}',
    '{"msg": "result", "id": "404"}',
    '{"msg": "updated"}',
    '{"msg": "updated", "methods": null}',
    '{"msg": "ready", "subs": {}}',
    '{"msg": "nosub", "id": {}}',
    '{"msg": "pong", "id": 5}',
    '{"msg": "ping", "id": ["x"]}',
    '{"msg": "error", "reason": 5}',
    '{"msg": "added", "collection": "c", "id": "a", "fields": {"$binary": "***"}}',
    '{"msg": "changed", "collection": "c", "id": "a", "fields": 5}',
]


@pytest.mark.parametrize("frame", FRAMES)
def test_bad_frames_never_raise(connected, frame, caplog):
    with caplog.at_level(logging.WARNING, logger="ddp.protocol"):
        connected.feed_text(frame)
    assert len(caplog.records) <= 1
    connected.events()
    connected.sent()
    mid = connected.proto.call("still_works")
    assert [m["id"] for m in connected.sent()] == [mid]
    connected.feed(msg="result", id=mid, result=1)
    connected.feed(msg="updated", methods=[mid])
    assert connected.events() == [MethodResult(mid, result=1), MethodDataVisible(mid)]


def test_violations_name_the_problem(connected):
    connected.feed_text('{"msg": "bogus"}')
    connected.feed_text("{}")
    first, second = connected.events()
    assert isinstance(first, ProtocolViolation) and "unknown message type 'bogus'" in first.reason
    assert isinstance(second, ProtocolViolation) and "without 'msg'" in second.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(
    [
        "msg",
        "id",
        "collection",
        "fields",
        "cleared",
        "subs",
        "methods",
        "session",
        "version",
        "result",
        "error",
        "before",
        "reason",
    ]
)
kinds = st.sampled_from(
    [
        "added",
        "changed",
        "removed",
        "addedBefore",
        "movedBefore",
        "ready",
        "nosub",
        "result",
        "updated",
        "connected",
        "failed",
        "ping",
        "pong",
        "error",
        "other",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=kinds, body=st.dictionaries(keys, json_values, max_size=5))
def test_fuzzed_messages_never_raise(make_harness, kind, body):
    h = make_harness()
    h.connect()
    h.proto.subscribe("s")
    h.proto.call("m")
    h.sent()
    body = {"msg": kind, **body} if "msg" not in body else body
    h.feed_text(json.dumps(body))
    h.proto.flush_data()
    h.events()
    h.sent()


@pytest.mark.parametrize("levels", [129, 1000, 1025, 50_000])
def test_a_frame_nested_too_deep_costs_only_itself(connected, levels, caplog):
    h = connected
    h.proto.subscribe("s")
    h.sent()
    deep = "[" * (levels - 2) + "]" * (levels - 2)
    h.feed(msg="added", collection="c", id="before", fields={"n": 1})
    with caplog.at_level(logging.WARNING, logger="ddp.protocol"):
        h.feed_text(f'{{"msg":"added","collection":"c","id":"deep","fields":{{"x":{deep}}}}}')
    h.feed(msg="added", collection="c", id="after", fields={"n": 2})
    h.proto.flush_data()
    (violation,) = h.events(ProtocolViolation)
    assert "deeper than 128" in violation.reason or "not valid JSON" in violation.reason
    assert len(caplog.records) == 1
    assert h.store.doc("c", "before") == {"n": 1} and h.store.doc("c", "after") == {"n": 2}
    assert h.store.doc("c", "deep") is None
