"""Connecting: the handshake, version negotiation, statuses and the connect timeout."""

from __future__ import annotations

import pytest

from ddp.events import (
    Connected,
    ConnectionLost,
    MethodDataVisible,
    MethodResult,
    ProtocolViolation,
    Status,
    StatusChanged,
    SubscriptionStopped,
    TransportShouldClose,
)
from ddp.exceptions import InvalidStateError, VersionNegotiationError


def statuses(events):
    return [(e.old, e.new) for e in events if isinstance(e, StatusChanged)]


def test_first_connect_message_and_statuses(harness):
    assert harness.proto.status is Status.DISCONNECTED
    assert harness.open() == {"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}
    harness.feed(msg="connected", session="S1")
    events = harness.events()
    assert statuses(events) == [
        (Status.DISCONNECTED, Status.DIALING),
        (Status.DIALING, Status.CONNECTING),
        (Status.CONNECTING, Status.CONNECTED),
    ]
    assert events[-1] == Connected("S1", "1", resumed=False, reconnect=False)
    assert harness.proto.session == "S1"
    assert harness.proto.version == "1"
    assert harness.proto.received_count == 1


def test_offered_versions_follow_the_option(make_harness):
    h = make_harness(versions=["pre2", "pre1"])
    assert h.open() == {"msg": "connect", "version": "pre2", "support": ["pre2", "pre1"]}


def test_reconnect_statuses_and_connect_carries_the_session(connected):
    connected.feed(msg="added", collection="c", id="a")
    connected.lose("eof")
    connect = connected.open()
    assert connect == {
        "msg": "connect",
        "version": "1",
        "support": ["1", "pre2", "pre1"],
        "session": "S1",
        "receivedCount": 2,
    }
    assert isinstance(connect["receivedCount"], int)
    connected.feed(msg="connected", session="S2")
    events = connected.events()
    assert events[0] == ConnectionLost("eof", will_retry=True)
    assert statuses(events) == [
        (Status.CONNECTED, Status.RECONNECTING),
        (Status.RECONNECTING, Status.CONNECTING),
        (Status.CONNECTING, Status.CONNECTED),
    ]
    assert events[1].reason == "eof"
    assert Connected("S2", "1", resumed=False, reconnect=True) in events


def test_connected_without_session_is_accepted(harness):
    harness.open()
    harness.feed(msg="connected")
    assert harness.events()[-1] == Connected("", "1", resumed=False, reconnect=False)
    assert harness.proto.session is None
    harness.lose()
    assert "session" not in harness.open()  # nothing to offer
    harness.feed(msg="connected")
    assert harness.events()[-1] == Connected("", "1", resumed=False, reconnect=True)


def test_numeric_session_is_taken_as_text(harness):
    harness.open()
    harness.feed(msg="connected", session=17)
    assert harness.proto.session == "17"
    harness.lose()
    assert harness.open()["session"] == "17"
    harness.feed(msg="connected", session=17)
    assert harness.events()[-1] == Connected("17", "1", resumed=True, reconnect=True)


def test_second_connected_is_a_violation_not_a_crash(connected):
    connected.feed(msg="connected", session="S9")
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)
    assert connected.proto.session == "S1"
    assert connected.proto.status is Status.CONNECTED


def test_server_id_frame_is_ignored_and_not_counted(harness):
    harness.open()
    harness.feed(server_id="0")
    harness.feed(msg="connected", session="S1")
    assert not any(isinstance(e, ProtocolViolation) for e in harness.events())
    assert harness.proto.received_count == 1


def test_calls_and_subscriptions_wait_for_connected(harness):
    mid = harness.proto.call("early", [1])
    sid = harness.proto.subscribe("items")
    harness.open()
    assert harness.sent() == []  # nothing behind `connect` before the server answers
    harness.feed(msg="connected", session="S1")
    assert harness.sent() == [
        {"msg": "method", "id": mid, "method": "early", "params": [1]},
        {"msg": "sub", "id": sid, "name": "items", "params": []},
    ]


# -- version negotiation -----------------------------------------------------------------


def test_failed_with_a_version_we_offer_retries_at_once_with_it(harness):
    harness.open()
    harness.feed(msg="failed", version="pre2")
    assert harness.events(TransportShouldClose) == [
        TransportShouldClose("server requested DDP version pre2")
    ]
    assert harness.lose("closed by server") == 0.0
    assert harness.proto.attempts == 0
    assert harness.open() == {"msg": "connect", "version": "pre2", "support": ["1", "pre2", "pre1"]}
    harness.feed(msg="connected", session="S1")
    assert harness.proto.version == "pre2"
    assert harness.proto.received_count == 1  # `failed` is never counted


def test_failed_with_an_unknown_version_is_permanent(harness):
    mid = harness.proto.call("m")
    sid = harness.proto.subscribe("s")
    harness.open()
    harness.events()
    harness.feed(msg="failed", version="2")
    events = harness.events()
    result, visible, stopped = (
        next(e for e in events if isinstance(e, kind))
        for kind in (MethodResult, MethodDataVisible, SubscriptionStopped)
    )
    assert result.method_id == mid and isinstance(result.error, VersionNegotiationError)
    assert visible.method_id == mid and isinstance(visible.error, VersionNegotiationError)
    assert stopped.sub_id == sid and isinstance(stopped.error, VersionNegotiationError)
    assert "server requested version 2" in str(result.error)
    assert statuses(events) == [(Status.CONNECTING, Status.FAILED)]
    assert isinstance(events[-1], TransportShouldClose)
    assert harness.lose("closed") is None
    assert harness.events() == [ConnectionLost("closed", will_retry=False)]
    assert harness.proto.status is Status.FAILED
    with pytest.raises(InvalidStateError):
        harness.proto.dialing(harness.now)


def test_failed_naming_the_version_we_proposed_is_an_ordinary_loss(make_harness):
    h = make_harness(random=lambda: 0.5)
    h.open()
    h.feed(msg="failed", version="1")
    assert h.events(TransportShouldClose) == [TransportShouldClose("server refused DDP version 1")]
    assert h.lose() == 0.01
    assert h.proto.attempts == 1


def test_failed_after_connected_is_a_violation(connected):
    connected.feed(msg="failed", version="pre1")
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)
    assert connected.proto.status is Status.CONNECTED


# -- connect timeout ---------------------------------------------------------------------


def test_connect_timeout_closes_the_transport_once(harness):
    harness.open()
    harness.events()
    assert harness.proto.next_deadline() == harness.now + 10.0
    harness.advance(9.9)
    assert harness.events() == []
    harness.advance(0.1)
    assert harness.events() == [TransportShouldClose("connect timeout")]
    assert harness.proto.next_deadline() is None
    harness.advance(100)
    assert harness.events() == []
    harness.feed(msg="connected", session="late")  # too late: ignored
    assert harness.proto.status is Status.CONNECTING
    assert harness.lose("timeout") is not None


def test_connect_timeout_zero_means_no_limit(make_harness):
    h = make_harness(connect_timeout=0)
    h.open()
    assert h.proto.next_deadline() is None
    h.advance(1000)
    assert h.events(TransportShouldClose) == []
