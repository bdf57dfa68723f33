"""Session resumption (Meteor 3.5): receivedCount, resumed vs new, the replay and re-sends."""

from __future__ import annotations

import pytest

from ddp.events import (
    Connected,
    MethodDataVisible,
    MethodResult,
    Pong,
    SubscriptionReady,
    TransportShouldClose,
)
from ddp.exceptions import InvocationFailedError
from ddp.protocol import RESUME_BARRIER


def private_messages(h):
    """Read what a resume sends after the subs: the private ping and the ordering barrier."""
    ping, barrier = h.sent()[-2:]
    assert ping["msg"] == "ping" and isinstance(ping["id"], str)
    assert barrier == {"msg": "sub", "id": barrier["id"], "name": RESUME_BARRIER, "params": []}
    return ping, barrier


def resume(h):
    """Drop the transport, reconnect, have the server resume session S1; return what the
    resume sends privately (see :func:`private_messages`)."""
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    return private_messages(h)


def test_received_count_counts_exactly_what_the_server_counts(connected):
    h = connected
    sid = h.proto.subscribe("s")
    mid = h.proto.call("m")
    h.sent()
    h.feed(msg="added", collection="c", id="a")  # 2
    h.feed(msg="ready", subs=[sid])  # 3
    h.feed(msg="ping")  # not counted
    h.feed(msg="pong")  # not counted
    h.feed(server_id="0")  # no msg: not counted
    h.feed_text("not json")  # not a message: not counted
    h.feed(msg="result", id=mid)  # 4
    h.feed(msg="updated", methods=[mid])  # 5
    h.feed(msg="whatever")  # 6: unknown types count
    h.feed(msg="error", reason="Bad request")  # 7
    h.feed(msg="nosub", id="unknown")  # 8
    h.feed(msg="result", id="999")  # 9: even a result we cannot use
    h.feed_text('{"msg":"added","collection":"c"}')  # 10: malformed, but the server sent it
    assert h.proto.received_count == 10
    h.lose()
    connect = h.open()
    assert (connect["session"], connect["receivedCount"]) == ("S1", 10)
    h.feed(msg="error", reason="Already connected")  # before `connected`: socket-level
    h.feed(msg="connected", session="S1")
    assert h.proto.received_count == 11  # resumed: one more than offered
    h.lose()
    h.open()
    h.feed(msg="connected", session="S2")
    assert h.proto.received_count == 1  # new session: starts over


def test_resumed_session_keeps_store_login_and_subs(connected):
    h = connected
    h.proto.set_resume_token("tok")
    sid = h.proto.subscribe("items")
    h.feed(msg="added", collection="c", id="a")
    h.feed(msg="ready", subs=[sid])
    h.sent()
    h.events()
    batches = len(h.store.batches)
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    assert Connected("S1", "1", resumed=True, reconnect=True) in h.events()
    sent = h.sent()
    assert sent[0] == {"msg": "sub", "id": sid, "name": "items", "params": []}
    assert sent[1]["msg"] == "ping" and sent[2]["name"] == RESUME_BARRIER
    assert len(sent) == 3  # no login, no methods yet
    assert len(h.store.batches) == batches  # no reset
    h.feed(msg="changed", collection="c", id="a", fields={"x": 1})
    h.proto.flush_data()  # no quiescence on a resume
    assert h.store.doc("c", "a") == {"x": 1}
    h.feed(msg="ready", subs=[sid])
    assert h.events() == []  # already ready


def test_methods_are_resent_only_after_the_replay(connected):
    h = connected
    replied = h.proto.call("replied")
    unanswered = h.proto.call("unanswered")
    fragile = h.proto.call("fragile", no_retry=True)
    h.sent()
    h.lose()
    late = h.proto.call("made_offline")
    h.open()
    h.feed(msg="connected", session="S1")
    ping, barrier = private_messages(h)
    # The server answers the ping at once, replays what it queued for us, and answers the
    # barrier once it has worked through everything it received before it.
    h.feed(msg="pong", id=ping["id"])
    h.feed(msg="result", id=replied, result=1)
    h.feed(msg="updated", methods=[replied])
    assert h.sent() == []
    h.feed(msg="nosub", id=barrier["id"], error={"error": 404})
    assert [m["id"] for m in h.sent()] == [unanswered, late]
    events = h.events(MethodResult, MethodDataVisible, Pong)
    assert events[:2] == [MethodResult(replied, result=1), MethodDataVisible(replied)]
    assert [(type(e), e.method_id) for e in events[2:]] == [
        (MethodResult, fragile),
        (MethodDataVisible, fragile),
    ]
    assert isinstance(events[2].error, InvocationFailedError)  # no Pong for the private ping


def test_calls_made_before_the_barrier_wait_for_it(connected):
    h = connected
    ping, barrier = resume(h)
    mid = h.proto.call("eager")
    h.feed(msg="pong", id=ping["id"])
    assert h.sent() == []
    h.feed(msg="nosub", id=barrier["id"])
    assert [m["id"] for m in h.sent()] == [mid]


def test_a_call_the_server_is_still_running_is_not_sent_again(connected):
    """meteor/meteor #1285 / #4290: a re-sent call ran twice. On a resumed session the
    barrier is answered only after the running call's result, so nothing is re-sent."""
    h = connected
    slow = h.proto.call("slow")
    h.sent()
    ping, barrier = resume(h)
    h.feed(msg="pong", id=ping["id"])  # answered at once, while `slow` still runs
    h.advance(30.0)  # the call takes long; the connection stays up (heartbeats go on)
    h.feed(msg="result", id=slow, result="done")
    h.feed(msg="updated", methods=[slow])
    h.feed(msg="nosub", id=barrier["id"])
    assert [m for m in h.sent() if m["msg"] == "method"] == []
    assert h.events(MethodResult) == [MethodResult(slow, result="done")]


def test_a_barrier_that_is_never_answered_releases_the_calls_after_its_timeout(connected):
    h = connected
    mid = h.proto.call("m")
    h.sent()
    ping, _barrier = resume(h)
    h.feed(msg="pong", id=ping["id"])
    assert h.proto.next_deadline() is not None
    h.advance(60.0)
    assert [m["id"] for m in h.sent() if m["msg"] == "method"] == [mid]


def test_a_server_that_publishes_the_barrier_gets_it_stopped(connected):
    h = connected
    mid = h.proto.call("m")
    h.sent()
    _ping, barrier = resume(h)
    h.feed(msg="ready", subs=[barrier["id"]])
    sent = h.sent()
    assert sent[0] == {"msg": "unsub", "id": barrier["id"]}
    assert [m["id"] for m in sent[1:]] == [mid]
    assert h.events(SubscriptionReady) == []


def test_result_without_updated_waits_for_the_replayed_updated(connected):
    h = connected
    mid = h.proto.call("m")
    h.sent()
    h.feed(msg="result", id=mid, result="r")
    h.events()
    ping, barrier = resume(h)
    h.feed(msg="pong", id=ping["id"])
    h.feed(msg="nosub", id=barrier["id"])
    assert h.sent() == []  # it had its result: never re-sent
    assert h.events(MethodDataVisible) == []
    h.feed(msg="updated", methods=[mid])
    assert h.events(MethodDataVisible) == [MethodDataVisible(mid)]


def test_unsubs_made_offline_are_sent_on_resume(connected):
    h = connected
    keep = h.proto.subscribe("keep")
    drop = h.proto.subscribe("drop")
    h.sent()
    h.lose()
    h.proto.unsubscribe(drop)
    h.open()
    h.feed(msg="connected", session="S1")
    sent = h.sent()
    assert sent[:2] == [
        {"msg": "sub", "id": keep, "name": "keep", "params": []},
        {"msg": "unsub", "id": drop},
    ]


def test_a_wait_method_in_flight_keeps_holding_data_across_a_resume(connected):
    h = connected
    login = h.proto.call("login", wait=True)
    h.sent()
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    h.feed(msg="added", collection="c", id="a")
    h.proto.flush_data()
    assert h.store.count("c") == 0
    h.feed(msg="result", id=login, result={})
    h.feed(msg="updated", methods=[login])
    assert h.store.count("c") == 1


def test_resume_under_pre1_releases_methods_at_once(make_harness):
    h = make_harness(versions=["pre1"])
    h.connect()
    mid = h.proto.call("m")
    h.sent()
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    assert [m["id"] for m in h.sent()] == [mid]


def test_a_resume_without_pong_closes_the_transport(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    h.events()
    assert h.proto.next_deadline() == pytest.approx(h.now + 15.0)
    h.feed(msg="added", collection="c", id="a")  # replayed data does not end the wait
    h.advance(15.0)
    assert h.events(TransportShouldClose) == [
        TransportShouldClose("no pong after resuming the session")
    ]


def test_a_different_session_is_a_new_one_even_after_a_resume(connected):
    h = connected
    sid = h.proto.subscribe("s")
    h.feed(msg="ready", subs=[sid])
    h.events()
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    h.lose()
    h.open()
    h.feed(msg="connected", session="S2")
    assert h.proto.received_count == 1
    assert h.sent()[-1] == {"msg": "sub", "id": sid, "name": "s", "params": []}
    h.feed(msg="ready", subs=[sid])
    assert h.store.batches[-1] == ([], True)
    assert h.events(SubscriptionReady) == []


def test_a_failed_no_retry_wait_call_releases_held_data_on_resume(connected):
    h = connected
    h.proto.call("login", wait=True, no_retry=True)
    h.sent()
    ping, barrier = resume(h)
    h.feed(msg="pong", id=ping["id"])
    h.feed(msg="added", collection="c", id="a")  # replayed, held: the wait call is open
    h.proto.flush_data()
    assert h.store.count("c") == 0
    h.feed(msg="nosub", id=barrier["id"])  # the call is cut off: nothing holds the data now
    assert h.store.count("c") == 1
    assert isinstance(h.events(MethodResult)[0].error, InvocationFailedError)
