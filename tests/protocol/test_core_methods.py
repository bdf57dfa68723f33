"""Method calls: ids, milestones, errors, Meteor's blocks, cancel (cases adapted from
Meteor's livedata_connection_tests.js, MIT)."""

from __future__ import annotations

import datetime

import pytest

from ddp.events import MethodDataVisible, MethodResult, ProtocolViolation
from ddp.exceptions import (
    ClientClosedError,
    EJSONError,
    MethodError,
    ProtocolError,
    RateLimitedError,
)


def test_call_sends_a_method_with_a_counter_id(connected):
    first = connected.proto.call("add", [1, 2])
    second = connected.proto.call("echo", ("x",), random_seed="seed")
    assert (first, second) == ("1", "2")
    assert connected.sent() == [
        {"msg": "method", "id": "1", "method": "add", "params": [1, 2]},
        {"msg": "method", "id": "2", "method": "echo", "params": ["x"], "randomSeed": "seed"},
    ]


def test_params_are_ejson_encoded(connected):
    when = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    connected.proto.call("at", [when, b"\x00"])
    (msg,) = connected.sent()
    assert msg["params"] == [{"$date": int(when.timestamp() * 1000)}, {"$binary": "AA=="}]


def test_bad_calls_raise_our_errors_and_queue_nothing(connected):
    with pytest.raises(TypeError):
        connected.proto.call(5)
    with pytest.raises(TypeError):
        connected.proto.call("m", "not a list")
    with pytest.raises(EJSONError):
        connected.proto.call("m", [object()])
    assert connected.sent() == []


def test_result_then_updated(connected):
    mid = connected.proto.call("m")
    connected.feed(msg="result", id=mid, result={"a": 1})
    assert connected.events() == [MethodResult(mid, result={"a": 1})]
    connected.feed(msg="updated", methods=[mid])
    assert connected.events() == [MethodDataVisible(mid)]


def test_updated_then_result_reports_both_milestones_in_order(connected):
    mid = connected.proto.call("m")
    connected.feed(msg="updated", methods=[mid])
    assert connected.events() == []
    connected.feed(msg="result", id=mid)  # no `result` field: the method returned nothing
    assert connected.events() == [MethodResult(mid, result=None), MethodDataVisible(mid)]


def test_result_values_are_ejson_decoded(connected):
    mid = connected.proto.call("m")
    connected.feed_text('{"msg":"result","id":"' + mid + '","result":{"$date":0}}')
    (event,) = connected.events()
    assert event.result == datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def test_error_result_becomes_method_error(connected):
    mid = connected.proto.call("m")
    connected.feed(
        msg="result",
        id=mid,
        error={"error": 404, "reason": "Method 'm' not found", "details": {"x": 1}},
    )
    (event,) = connected.events()
    assert isinstance(event.error, MethodError)
    assert (event.error.error, event.error.reason, event.error.details) == (
        404,
        "Method 'm' not found",
        {"x": 1},
    )
    assert event.result is None


def test_rate_limited_result(connected):
    mid = connected.proto.call("m")
    error = {"error": "too-many-requests", "reason": "slow down", "details": {"timeToReset": 1500}}
    connected.feed(msg="result", id=mid, error=error)
    (event,) = connected.events()
    assert isinstance(event.error, RateLimitedError)
    assert event.error.retry_after == 1.5


def test_data_before_a_result_is_in_the_store_when_the_result_is_reported(connected):
    mid = connected.proto.call("m")
    connected.feed(msg="added", collection="c", id="a", fields={"x": 1})
    assert connected.store.batches == []
    connected.feed(msg="result", id=mid, result=1)
    assert connected.store.doc("c", "a") == {"x": 1}


def test_unknown_and_duplicate_results_are_violations(connected):
    connected.feed(msg="result", id="99", result=1)
    mid = connected.proto.call("m")
    connected.feed(msg="result", id=mid, result=1)
    connected.feed(msg="result", id=mid, result=2)
    events = connected.events()
    assert [type(e) for e in events] == [ProtocolViolation, MethodResult, ProtocolViolation]
    assert "unknown method id '99'" in events[0].reason
    assert "second 'result'" in events[2].reason


def test_updated_tolerates_unknown_ids_and_odd_entries(connected):
    mid = connected.proto.call("m")
    connected.feed(msg="result", id=mid, result=1)
    connected.events()
    connected.feed(msg="updated", methods=["77", 5, None, mid, mid])
    assert connected.events() == [MethodDataVisible(mid)]


def test_a_result_for_a_call_not_yet_sent_is_refused(connected):
    connected.proto.call("first", wait=True)
    later = connected.proto.call("later")  # queued behind the wait method
    connected.sent()
    connected.feed(msg="result", id=later, result=1)
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)


def test_two_wait_methods(connected):
    """Meteor's "two wait methods": blocks, ordering and both milestone orders."""
    proto = connected.proto
    one = proto.call("do_something", ["one!"])
    assert [m["params"] for m in connected.sent()] == [["one!"]]
    two = proto.call("do_something", ["two!"], wait=True)
    three = proto.call("do_something", ["three!"])
    four = proto.call("do_something", ["four!"])
    five = proto.call("do_something", ["five!"], wait=True)
    six = proto.call("do_something", ["six!"])
    assert connected.sent() == []  # all wait behind "one!" and the wait method "two!"

    # "one" is not a wait method: its data is applied at once.
    connected.feed(msg="added", collection="c", id="foo", fields={"x": 1})
    connected.proto.flush_data()
    assert connected.store.doc("c", "foo") == {"x": 1}

    # Both messages are needed before the next block goes out.
    connected.feed(msg="result", id=one)
    assert connected.sent() == []
    connected.feed(msg="updated", methods=[one])
    assert [m["id"] for m in connected.sent()] == [two]
    connected.events()

    # "two" is a wait method: data is held until its `updated`.
    connected.feed(msg="changed", collection="c", id="foo", fields={"y": 3})
    connected.proto.flush_data()
    assert connected.store.doc("c", "foo") == {"x": 1}
    connected.feed(msg="updated", methods=[two])  # end messages in the opposite order
    assert connected.store.doc("c", "foo") == {"x": 1, "y": 3}
    assert connected.sent() == []
    assert connected.events() == []
    connected.feed(msg="result", id=two)
    assert connected.events() == [MethodResult(two), MethodDataVisible(two)]
    assert [m["id"] for m in connected.sent()] == [three, four]

    # Out-of-order results are fine for non-wait methods.
    connected.feed(msg="result", id=three)
    connected.feed(msg="result", id=four)
    connected.feed(msg="updated", methods=[four])
    assert connected.events() == [MethodResult(three), MethodResult(four), MethodDataVisible(four)]
    assert connected.sent() == []
    connected.feed(msg="updated", methods=[three])
    assert connected.events() == [MethodDataVisible(three)]
    assert [m["id"] for m in connected.sent()] == [five]

    connected.feed(msg="result", id=five)
    connected.feed(msg="updated", methods=[five])
    assert [m["id"] for m in connected.sent()] == [six]


def test_non_wait_calls_join_the_block_in_flight(connected):
    a = connected.proto.call("a")
    b = connected.proto.call("b")
    assert [m["id"] for m in connected.sent()] == [a, b]


def test_cancel_a_queued_call_keeps_it_off_the_wire(connected):
    mid = connected.proto.call("m")
    connected.proto.cancel(mid)
    assert connected.sent() == []
    connected.feed(msg="result", id=mid, result=1)
    assert isinstance(connected.events()[0], ProtocolViolation)


def test_cancel_a_sent_call_ignores_its_result_silently(connected):
    mid = connected.proto.call("m")
    connected.sent()
    connected.proto.cancel(mid)
    connected.feed(msg="result", id=mid, result=1)
    connected.feed(msg="updated", methods=[mid])
    assert connected.events() == []
    connected.proto.cancel(mid)  # unknown by now: a no-op
    connected.proto.cancel("nope")


def test_cancel_a_wait_call_in_flight_releases_the_next_block_and_the_data(connected):
    waiting = connected.proto.call("login", wait=True)
    later = connected.proto.call("later")
    assert [m["id"] for m in connected.sent()] == [waiting]
    connected.feed(msg="added", collection="c", id="a")
    connected.proto.flush_data()
    assert connected.store.count("c") == 0
    connected.proto.cancel(waiting)
    assert connected.store.count("c") == 1
    assert [m["id"] for m in connected.sent()] == [later]


def test_call_after_close_ends_at_once(connected):
    connected.proto.close()
    connected.events()
    mid = connected.proto.call("m")
    result, visible = connected.events()
    assert result.method_id == visible.method_id == mid
    assert isinstance(result.error, ClientClosedError)
    assert isinstance(visible.error, ClientClosedError)


def test_send_raw(connected):
    connected.proto.send_raw({"msg": "method", "id": "raw", "method": "x", "params": []})
    assert connected.sent() == [{"msg": "method", "id": "raw", "method": "x", "params": []}]
    with pytest.raises(ProtocolError):
        connected.proto.send_raw({"msg": "sub", "id": 5})
    connected.feed(msg="updated", methods=["raw"])  # the core does not know it: ignored
    assert connected.events() == []


def test_a_wait_call_applies_earlier_data_before_holding_later_data(connected):
    connected.feed(msg="added", collection="c", id="before")
    connected.proto.call("login", wait=True)
    assert connected.store.count("c") == 1
    connected.feed(msg="added", collection="c", id="after")
    connected.proto.flush_data()
    assert connected.store.count("c") == 1


def test_cancel_a_call_queued_behind_a_wait_call(connected):
    connected.proto.call("first", wait=True)
    later = connected.proto.call("later")
    connected.sent()
    connected.proto.cancel(later)
    connected.feed(msg="result", id=later, result=1)
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)  # never sent, so never expected
