"""Reconnecting onto a new session: the replay plan and quiescence (cases adapted from
Meteor's livedata_connection_tests.js, MIT)."""

from __future__ import annotations

import pytest

from ddp.events import (
    LoginResumed,
    MethodDataVisible,
    MethodResult,
    ProtocolViolation,
    SubscriptionReady,
    SubscriptionStopped,
)
from ddp.exceptions import InvocationFailedError, LoginError


def test_reconnect(connected):
    """Meteor's "reconnect": re-send, hide data until quiescence, then swap atomically."""
    h = connected
    proto = h.proto
    sid = proto.subscribe("my_data")
    (sub_msg,) = h.sent()
    h.feed(msg="added", collection="c", id="1234", fields={"a": 1})
    h.feed(msg="changed", collection="c", id="1234", fields={"b": 2})
    h.feed(msg="ready", subs=[sid])
    assert h.events() == [SubscriptionReady(sid)]
    assert h.store.doc("c", "1234") == {"a": 1, "b": 2}

    first = proto.call("do_something")
    waiting = proto.call("do_something_else", wait=True)
    later = proto.call("do_something_later")
    (method_msg,) = h.sent()  # the wait method is blocked
    assert method_msg == {"msg": "method", "id": first, "method": "do_something", "params": []}
    h.feed(msg="changed", collection="c", id="1234", fields={"c": 3})
    proto.flush_data()
    assert h.store.doc("c", "1234") == {"a": 1, "b": 2, "c": 3}

    # The transport drops: nothing but `connect` until the server answers.
    h.lose()
    connect = h.open()
    assert (connect["session"], connect["receivedCount"]) == ("S1", 5)
    assert h.sent() == []
    h.feed(msg="connected", session="S2")
    assert h.sent() == [method_msg, sub_msg]  # same ids; methods first, then subs

    # The server sends everything again: held back, we are in reconnect quiescence.
    h.feed(msg="added", collection="c", id="1234", fields={"a": 1, "b": 2, "c": 3, "d": 4})
    h.feed(msg="added", collection="c", id="2345", fields={"e": 5})
    proto.flush_data()
    assert h.store.doc("c", "1234") == {"a": 1, "b": 2, "c": 3}
    assert h.store.doc("c", "2345") is None

    h.feed(msg="updated", methods=[first])
    h.feed(msg="result", id=first, result="bupkis")
    h.events()
    assert h.sent() == []  # the wait method still waits: quiescence goes on
    assert h.store.doc("c", "2345") is None

    batches_before = len(h.store.batches)
    h.feed(msg="ready", subs=[sid])
    # One reset batch: the old cache swapped for the new one in a single transaction.
    assert len(h.store.batches) == batches_before + 1
    batch, reset = h.store.batches[-1]
    assert reset is True and len(batch) == 2
    assert h.store.docs == {"c": {"1234": {"a": 1, "b": 2, "c": 3, "d": 4}, "2345": {"e": 5}}}
    assert h.events() == [MethodDataVisible(first)]  # no second SubscriptionReady
    (wait_msg,) = h.sent()
    assert wait_msg["id"] == waiting

    h.feed(msg="result", id=waiting, result="bupkis")
    assert h.sent() == []
    h.feed(msg="updated", methods=[waiting])
    assert [m["id"] for m in h.sent()] == [later]


def test_reconnect_non_idempotent_method(connected):
    """Meteor's "reconnect non-idempotent method": no_retry calls fail, nothing re-sent."""
    h = connected
    first = h.proto.call("do_something", no_retry=True)
    second = h.proto.call("do_something_else", no_retry=True)
    assert len(h.sent()) == 2  # handed to the driver: transmitted
    assert h.reconnect("S2") == []
    events = h.events(MethodResult, MethodDataVisible)
    assert [(type(e), e.method_id) for e in events] == [
        (MethodResult, first),
        (MethodDataVisible, first),
        (MethodResult, second),
        (MethodDataVisible, second),
    ]
    assert all(isinstance(e.error, InvocationFailedError) for e in events)
    assert events[0].error.error == "invocation-failed"


def test_no_retry_call_never_written_is_simply_sent(connected):
    h = connected
    h.lose()
    offline = h.proto.call("made_offline", no_retry=True)
    h.open()
    queued = h.proto.call("queued_unwritten", no_retry=True)  # waits for `connected`
    assert [m["id"] for m in h.reconnect_after_open("S2")] == [offline, queued]
    assert h.events(MethodResult) == []


def test_no_retry_call_lost_in_the_outbox_is_not_failed(connected):
    h = connected
    mid = h.proto.call("m", no_retry=True)  # queued, but the driver never wrote it
    assert [m["id"] for m in h.reconnect("S2")] == [mid]
    assert h.events(MethodResult) == []


def test_reconnect_method_which_only_got_data(connected):
    """Meteor's: an `updated` before the drop does not count; same id; blocks quiescence."""
    h = connected
    mid = h.proto.call("doLittle")
    (method_msg,) = h.sent()
    h.feed(msg="added", collection="c", id="photo", fields={"baz": 42})
    h.feed(msg="updated", methods=[mid])
    assert h.store.doc("c", "photo") == {"baz": 42}
    assert h.events() == []

    assert h.reconnect("S2") == [method_msg]
    assert h.store.doc("c", "photo") == {"baz": 42}
    h.feed(msg="result", id=mid, result="res")
    assert h.events() == [MethodResult(mid, result="res")]  # not yet data-visible
    h.feed(msg="updated", methods=[mid])
    assert h.store.count("c") == 0  # the reset removed what the new session did not send
    assert h.store.batches[-1] == ([], True)
    assert h.events() == [MethodDataVisible(mid)]


def test_reconnect_method_which_only_got_result(connected):
    """Meteor's: not re-sent; quiescence (and its data-visible) comes with `connected`."""
    h = connected
    mid = h.proto.call("writeSomething")
    h.sent()
    h.feed(msg="added", collection="c", id="x", fields={"baz": 42})
    h.feed(msg="result", id=mid, result="bla")
    assert h.events() == [MethodResult(mid, result="bla")]
    h.lose()
    h.open()
    assert h.events(MethodDataVisible) == []
    h.feed(msg="connected", session="S2")
    assert h.sent() == []
    assert h.store.batches[-1] == ([], True)
    assert h.store.count("c") == 0
    assert h.events(MethodDataVisible) == [MethodDataVisible(mid)]
    h.feed(msg="added", collection="c", id="x", fields={"baz": 42})
    h.proto.flush_data()
    assert h.store.doc("c", "x") == {"baz": 42}


def test_reconnect_double_wait_method_with_resume_login(connected):
    """Meteor's "reconnect double wait method", with our resume login as the reconnect hook."""
    h = connected
    output = []
    halfway = h.proto.call("halfwayMethod", wait=True)
    h.sent()
    h.feed(msg="result", id=halfway, result="bla")
    output += h.events()
    h.proto.set_resume_token("tok")
    (login,) = h.reconnect("S2")  # halfway is not re-sent; the login goes first
    assert login["method"] == "login" and login["params"] == [{"resume": "tok"}]
    assert h.events(MethodDataVisible) == []

    h.feed(msg="updated", methods=[login["id"]])  # quiescence: halfway's data is visible
    assert h.events(MethodDataVisible) == [MethodDataVisible(halfway)]
    h.feed(msg="result", id=login["id"], result={"id": "u1", "token": "tok"})
    assert h.events() == [LoginResumed(result={"id": "u1", "token": "tok"})]

    last = h.proto.call("lastMethod")  # no empty block left in the way
    assert [m["id"] for m in h.sent()] == [last]
    assert output == [MethodResult(halfway, result="bla")]


def test_resume_login_goes_first_then_methods_then_nothing_else_waits(connected):
    h = connected
    h.proto.set_resume_token("tok")
    sid = h.proto.subscribe("items")
    h.feed(msg="ready", subs=[sid])
    mid = h.proto.call("pending")
    h.sent()
    h.events()
    sent = h.reconnect("S2")
    assert [(m["msg"], m.get("method")) for m in sent] == [("method", "login"), ("sub", None)]
    login_id = sent[0]["id"]
    h.feed(msg="result", id=login_id, result={"token": "tok"})
    assert h.sent() == []  # a wait method: the old calls follow its `updated`
    h.feed(msg="ready", subs=[sid])
    h.feed(msg="updated", methods=[login_id])
    assert [m["id"] for m in h.sent()] == [mid]
    assert h.events() == [LoginResumed(result={"token": "tok"})]


def test_refused_resume_token_is_forgotten(connected):
    h = connected
    h.proto.set_resume_token("old")
    (login,) = h.reconnect("S2")
    error = {"error": 403, "reason": "You've been logged out by the server."}
    h.feed(msg="result", id=login["id"], error=error)
    (event,) = h.events(LoginResumed)
    assert isinstance(event.error, LoginError) and event.error.error == 403
    assert h.proto.resume_token is None
    h.feed(msg="updated", methods=[login["id"]])
    assert h.reconnect("S3") == []  # no token: no login


def test_a_refusal_does_not_forget_a_token_set_since(connected):
    h = connected
    h.proto.set_resume_token("old")
    (login,) = h.reconnect("S2")
    h.proto.set_resume_token("new")  # e.g. the user logged in meanwhile
    h.feed(msg="result", id=login["id"], error={"error": 403})
    assert h.proto.resume_token == "new"


def test_bad_tokens_are_refused(connected):
    with pytest.raises(TypeError):
        connected.proto.set_resume_token("")
    with pytest.raises(TypeError):
        connected.proto.set_resume_token(5)
    connected.proto.set_resume_token(None)
    assert connected.proto.resume_token is None


def test_token_set_before_the_first_connection_logs_in_first(harness):
    harness.proto.set_resume_token("tok")
    mid = harness.proto.call("after_login")
    (login,) = harness.connect()
    assert login["method"] == "login"
    harness.feed(msg="result", id=login["id"], result={})
    harness.feed(msg="updated", methods=[login["id"]])
    assert [m["id"] for m in harness.sent()] == [mid]


def test_an_unfinished_resume_login_is_replaced_on_the_next_new_session(connected):
    h = connected
    h.proto.set_resume_token("tok")
    (first_login,) = h.reconnect("S2")
    (second_login,) = h.reconnect("S3")
    assert second_login["id"] != first_login["id"]
    h.feed(msg="result", id=first_login["id"], result={})  # forgotten with its session
    h.feed(msg="result", id=second_login["id"], result={})
    first, second = h.events()
    assert isinstance(first, ProtocolViolation)
    assert second == LoginResumed(result={})


def test_subs_not_ready_are_resent_but_do_not_hold_quiescence(connected):
    h = connected
    pending = h.proto.subscribe("slow")
    h.sent()
    assert h.reconnect("S2") == [{"msg": "sub", "id": pending, "name": "slow", "params": []}]
    assert h.store.batches[-1] == ([], True)  # nothing was ready: reset at once
    h.feed(msg="ready", subs=[pending])
    assert h.events(SubscriptionReady) == [SubscriptionReady(pending)]


def test_nosub_releases_quiescence_and_held_messages_follow_the_data(connected):
    h = connected
    a = h.proto.subscribe("a")
    b = h.proto.subscribe("b")
    h.feed(msg="ready", subs=[a, b])
    h.events()
    h.reconnect("S2")
    new = h.proto.subscribe("new")
    h.feed(msg="added", collection="c", id="1")
    h.feed(msg="ready", subs=[a, new])
    assert h.events() == []  # held until quiescence
    h.feed(msg="nosub", id=b, error={"error": "gone"})
    assert h.store.docs == {"c": {"1": {}}}
    events = h.events()
    assert events[0] == SubscriptionReady(new)  # `a` was ready all along: no second event
    assert isinstance(events[1], SubscriptionStopped) and events[1].sub_id == b
    assert events[1].error.error == "gone"
    assert len(events) == 2


def test_unsubscribing_a_reviving_sub_releases_quiescence(connected):
    h = connected
    sid = h.proto.subscribe("a")
    h.feed(msg="ready", subs=[sid])
    h.reconnect("S2")
    h.feed(msg="added", collection="c", id="1")
    h.proto.flush_data()
    assert h.store.count("c") == 0
    h.proto.unsubscribe(sid)
    assert h.store.batches[-1][1] is True
    assert h.store.count("c") == 1


def test_unsubscribe_offline_is_not_sent_to_a_new_session(connected):
    h = connected
    sid = h.proto.subscribe("a")
    h.sent()
    h.lose()
    h.proto.unsubscribe(sid)
    assert h.reconnect_after_open("S2", reopen=True) == []


def test_cancelled_call_stops_holding_quiescence(connected):
    h = connected
    mid = h.proto.call("m")
    h.sent()
    h.reconnect("S2")
    h.feed(msg="added", collection="c", id="1")
    h.proto.flush_data()
    assert h.store.count("c") == 0
    h.proto.cancel(mid)
    assert h.store.count("c") == 1


def test_drop_during_quiescence_starts_over(connected):
    h = connected
    sid = h.proto.subscribe("a")
    h.feed(msg="ready", subs=[sid])
    h.events()
    h.reconnect("S2")
    h.feed(msg="added", collection="c", id="stale")
    h.reconnect("S3")
    h.feed(msg="added", collection="c", id="fresh")
    h.feed(msg="ready", subs=[sid])
    assert h.store.docs == {"c": {"fresh": {}}}
    assert h.events() == []  # the sub was ready all along
