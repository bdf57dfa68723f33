"""Subscriptions: ids, ready, nosub, unsubscribe (cases adapted from Meteor's
livedata_connection_tests.js, MIT)."""

from __future__ import annotations

import pytest

from ddp.events import ProtocolViolation, SubscriptionReady, SubscriptionStopped
from ddp.exceptions import ClientClosedError, EJSONError, RateLimitedError, SubscriptionError
from ddp.ids import UNMISTAKABLE_CHARS


def test_subscribe_sends_sub_with_a_random_id(connected):
    first = connected.proto.subscribe("my_data")
    second = connected.proto.subscribe("my_data", [1, "a"])
    assert first != second
    assert len(first) == 17 and set(first) <= set(UNMISTAKABLE_CHARS)
    assert connected.sent() == [
        {"msg": "sub", "id": first, "name": "my_data", "params": []},
        {"msg": "sub", "id": second, "name": "my_data", "params": [1, "a"]},
    ]


def test_bad_subscriptions_raise(connected):
    with pytest.raises(TypeError):
        connected.proto.subscribe(None)
    with pytest.raises(EJSONError):
        connected.proto.subscribe("x", [{1, 2}])
    assert connected.sent() == []


def test_ready_is_reported_once(connected):
    sid = connected.proto.subscribe("my_data")
    connected.feed(msg="ready", subs=[sid])
    connected.feed(msg="ready", subs=[sid, "unknown", 7])
    assert connected.events() == [SubscriptionReady(sid)]


def test_ready_comes_after_its_data(connected):
    sid = connected.proto.subscribe("my_data")
    connected.feed(msg="added", collection="c", id="a")
    connected.feed(msg="ready", subs=[sid])
    assert connected.store.count("c") == 1
    assert connected.events() == [SubscriptionReady(sid)]


def test_nosub_without_error_is_a_normal_stop(connected):
    sid = connected.proto.subscribe("my_data")
    connected.feed(msg="nosub", id=sid)
    assert connected.events() == [SubscriptionStopped(sid, None)]


def test_subscribe_errors_and_no_resubscribe(connected):
    """Meteor's "subscribe errors": the error reaches the stop, and the sub stays dead."""
    sid = connected.proto.subscribe("unknownSub")
    connected.sent()
    connected.feed(msg="nosub", id=sid, error={"error": 404, "reason": "Subscription not found"})
    (event,) = connected.events()
    assert isinstance(event.error, SubscriptionError)
    assert (event.error.error, event.error.reason) == (404, "Subscription not found")
    assert connected.reconnect("S2") == []  # not re-sent after the reset


def test_rate_limited_nosub(connected):
    sid = connected.proto.subscribe("busy")
    error = {"error": "too-many-requests", "details": {"timeToReset": 2000}}
    connected.feed(msg="nosub", id=sid, error=error)
    (event,) = connected.events()
    assert isinstance(event.error, RateLimitedError) and event.error.retry_after == 2.0


def test_unsubscribe_stops_at_once_and_ignores_the_later_nosub(connected):
    """Meteor's "subscribe stop": the stop is reported with no error."""
    sid = connected.proto.subscribe("my_data")
    connected.feed(msg="ready", subs=[sid])
    connected.sent()
    connected.events()
    connected.proto.unsubscribe(sid)
    assert connected.sent() == [{"msg": "unsub", "id": sid}]
    assert connected.events() == [SubscriptionStopped(sid, None)]
    connected.feed(msg="nosub", id=sid)
    connected.feed(msg="ready", subs=[sid])
    assert connected.events() == []
    connected.proto.unsubscribe(sid)  # unknown by now
    assert connected.sent() == []


def test_unsubscribe_offline_before_announcing_sends_nothing(harness):
    sid = harness.proto.subscribe("x")
    harness.proto.unsubscribe(sid)
    assert harness.connect() == []


def test_subscribe_after_close_stops_at_once(connected):
    connected.proto.close()
    connected.events()
    sid = connected.proto.subscribe("x")
    (event,) = connected.events()
    assert event.sub_id == sid and isinstance(event.error, ClientClosedError)


@pytest.mark.parametrize(
    "frame",
    [
        '{"msg":"ready"}',
        '{"msg":"ready","subs":"abc"}',
        '{"msg":"nosub"}',
        '{"msg":"nosub","id":3}',
    ],
)
def test_malformed_ready_and_nosub_are_violations(connected, frame):
    sid = connected.proto.subscribe("x")
    connected.feed_text(frame)
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)
    connected.feed(msg="ready", subs=[sid])
    assert connected.events() == [SubscriptionReady(sid)]
