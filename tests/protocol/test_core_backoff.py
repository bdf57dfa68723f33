"""The reconnect schedule (Meteor's Retry defaults) and how the core applies it."""

from __future__ import annotations

import math

import pytest

from ddp.backoff import Backoff
from ddp.events import ConnectionLost, MethodResult, Status, StatusChanged, SubscriptionStopped
from ddp.exceptions import ConnectionFailedError
from ddp.protocol import ClientProtocol


def test_first_retries_are_quick_and_not_fuzzed():
    backoff = Backoff()
    assert backoff.delay(0, lambda: 0.0) == 0.01
    assert backoff.delay(1, lambda: 0.99) == 0.01


def test_meteor_schedule_with_a_centred_random():
    backoff = Backoff()
    delays = [backoff.delay(n, lambda: 0.5) for n in range(2, 10)]
    expected = [2.2**n for n in range(2, 8)] + [300.0, 300.0]
    assert delays == pytest.approx(expected)
    assert delays[:3] == pytest.approx([4.84, 10.648, 23.4256])


@pytest.mark.parametrize(("fraction", "factor"), [(0.0, 0.75), (0.5, 1.0), (0.999999, 1.25)])
def test_fuzz_spreads_by_a_quarter_either_way(fraction, factor):
    assert Backoff().delay(4, lambda: fraction) == pytest.approx(2.2**4 * factor, rel=1e-5)


def test_cap_applies_before_fuzz_and_huge_attempts_do_not_overflow():
    backoff = Backoff()
    assert backoff.delay(10_000, lambda: 0.0) == pytest.approx(225.0)
    assert Backoff(max=1e308, fuzz=0.0).delay(10_000) == 1e308


def test_default_random_stays_within_bounds():
    backoff = Backoff()
    for _ in range(200):
        assert 2.2**3 * 0.75 <= backoff.delay(3) < 2.2**3 * 1.25


def test_custom_schedule():
    backoff = Backoff(base=0.5, exponent=2.0, max=3.0, min_timeout=0.0, min_count=1, fuzz=0.0)
    assert [backoff.delay(n) for n in range(5)] == [0.0, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"base": -1.0}, ValueError),
        ({"exponent": math.nan}, ValueError),
        ({"max": math.inf}, ValueError),
        ({"max": "5"}, TypeError),
        ({"fuzz": True}, TypeError),
        ({"fuzz": 2.5}, ValueError),
        ({"min_count": 1.5}, TypeError),
        ({"min_count": -1}, ValueError),
    ],
)
def test_bad_schedules_are_refused(kwargs, error):
    with pytest.raises(error):
        Backoff(**kwargs)


def test_backoff_is_a_frozen_value():
    backoff = Backoff()
    with pytest.raises(AttributeError):
        backoff.base = 2.0  # type: ignore[misc]
    assert backoff == Backoff(1.0, 2.2, 300.0, 0.01, 2, 0.5)


# -- the core's use of the schedule ------------------------------------------------------


def test_core_follows_the_schedule_and_resets_after_connected(make_harness):
    h = make_harness(random=lambda: 0.5)
    h.connect()
    delays = []
    for _ in range(4):
        delays.append(h.lose())
        h.open()  # transport opens but never gets `connected`
    assert delays == pytest.approx([0.01, 0.01, 2.2**2, 2.2**3])
    assert h.proto.attempts == 4
    h.feed(msg="connected", session="S2")
    assert h.proto.attempts == 0
    assert h.lose() == 0.01


def test_dial_failures_count_as_attempts(make_harness):
    h = make_harness(random=lambda: 0.5)
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused") == 0.01
    assert h.proto.status is Status.RECONNECTING
    h.proto.dialing(h.now)
    assert h.proto.status is Status.RECONNECTING
    assert h.proto.dial_failed(h.now, "refused") == 0.01
    assert h.proto.dial_failed(h.now, "refused") == pytest.approx(4.84)


def test_max_attempts_gives_up_with_connection_failed(make_harness):
    h = make_harness(max_attempts=2)
    h.connect()
    mid = h.proto.call("slow")
    sid = h.proto.subscribe("items")
    h.sent()
    h.events()
    assert h.lose() is not None
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused") is not None
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused") is None
    assert h.proto.status is Status.FAILED
    events = h.events()
    result = next(e for e in events if isinstance(e, MethodResult))
    assert result.method_id == mid and isinstance(result.error, ConnectionFailedError)
    stopped = next(e for e in events if isinstance(e, SubscriptionStopped))
    assert stopped.sub_id == sid and isinstance(stopped.error, ConnectionFailedError)
    assert isinstance(events[-1], StatusChanged) and events[-1].new is Status.FAILED
    assert "2 reconnect attempts" in str(result.error)


def test_max_attempts_zero_makes_the_first_loss_permanent(make_harness):
    h = make_harness(max_attempts=0)
    h.connect()
    h.events()
    assert h.lose("reset by peer") is None
    events = h.events()
    assert events[0] == ConnectionLost("reset by peer", will_retry=False)
    assert h.proto.status is Status.FAILED


def test_backoff_false_never_reconnects(make_harness):
    h = make_harness(backoff=False)
    h.connect()
    mid = h.proto.call("x")
    h.events()
    assert h.lose("eof") is None
    events = h.events()
    assert events[0] == ConnectionLost("eof", will_retry=False)
    assert any(isinstance(e, MethodResult) and e.method_id == mid for e in events)
    assert h.proto.status is Status.FAILED


def test_reconnect_now_is_immediate_and_not_counted_even_without_backoff(make_harness):
    h = make_harness(backoff=False)
    h.connect()
    h.proto.reconnect_now()
    assert h.lose() == 0.0
    assert h.proto.attempts == 0
    assert h.proto.status is Status.RECONNECTING
    h.open()
    assert h.lose() is None  # the next loss is a normal one again


def test_custom_schedule_object_is_used(make_harness):
    class Fixed:
        def delay(self, attempt, random):
            return 7.0 + attempt

    h = make_harness(backoff=Fixed())
    h.connect()
    assert h.lose() == 7.0
    h.open()
    assert h.lose() == 8.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"backoff": 3}, TypeError),
        ({"max_attempts": -1}, ValueError),
        ({"max_attempts": True}, ValueError),
        ({"max_batch": 0}, ValueError),
        ({"versions": ()}, ValueError),
        ({"versions": "1"}, ValueError),
        ({"versions": ("1", 2)}, TypeError),
        ({"heartbeat_timeout": 0}, ValueError),
        ({"heartbeat_interval": -1}, ValueError),
        ({"connect_timeout": -1}, ValueError),
        ({"resume_barrier_timeout": 0}, ValueError),
    ],
)
def test_bad_options_are_refused(kwargs, error):
    with pytest.raises(error):
        ClientProtocol(**kwargs)


def test_reconnect_now_is_used_up_by_the_next_dial(make_harness):
    h = make_harness(random=lambda: 0.5)
    h.connect()
    h.lose()
    h.proto.reconnect_now()  # while waiting out the delay: the driver dials at once
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused") == 0.01  # an ordinary, counted retry
    assert h.proto.attempts == 2
