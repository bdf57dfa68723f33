"""Heartbeats (Meteor's heartbeat.js rules) and ping/pong (cases adapted from Meteor's
livedata_connection_tests.js, MIT)."""

from __future__ import annotations

import pytest

from ddp.events import Pong, TransportShouldClose
from ddp.exceptions import InvalidStateError


def test_ping_after_an_idle_interval_then_timeout(connected):
    start = connected.now
    assert connected.proto.next_deadline() == start + 17.5
    connected.advance(17.4)
    assert connected.sent() == []
    connected.advance(0.1)
    assert connected.sent() == [{"msg": "ping"}]
    assert connected.proto.pings_sent == 1
    assert connected.proto.next_deadline() == pytest.approx(start + 17.5 + 15.0)
    connected.advance(10)
    assert connected.sent() == []  # one ping outstanding at most
    connected.advance(5)
    assert connected.events() == [TransportShouldClose("heartbeat timeout")]
    assert connected.proto.next_deadline() is None
    connected.advance(100)
    assert connected.events() == []


def test_any_inbound_frame_answers_the_heartbeat(connected):
    connected.advance(17.5)
    assert connected.sent() == [{"msg": "ping"}]
    connected.advance(3)
    connected.feed(msg="added", collection="c", id="a")  # data counts as the pong
    assert connected.proto.next_deadline() == connected.now + 17.5
    connected.advance(15)
    assert connected.events() == []


def test_inbound_data_postpones_the_ping(connected):
    connected.advance(10)
    connected.feed(msg="ready", subs=[])
    connected.advance(10)
    assert connected.sent() == []
    connected.advance(7.5)
    assert connected.sent() == [{"msg": "ping"}]


@pytest.mark.parametrize("interval", [0, None])
def test_heartbeats_can_be_turned_off(make_harness, interval):
    h = make_harness(heartbeat_interval=interval)
    h.connect()
    assert h.proto.next_deadline() is None
    h.advance(1000)
    assert h.sent() == []


def test_no_heartbeats_under_pre1(make_harness):
    h = make_harness(versions=["pre1"])
    h.connect()
    assert h.proto.version == "pre1"
    assert h.proto.next_deadline() is None
    with pytest.raises(InvalidStateError):
        h.proto.ping()


def test_server_ping_without_id(connected):
    connected.feed(msg="ping")
    assert connected.sent() == [{"msg": "pong"}]
    assert connected.proto.pings_received == 1


def test_server_ping_with_id(connected):
    connected.feed(msg="ping", id="abc")
    assert connected.sent() == [{"msg": "pong", "id": "abc"}]
    assert connected.proto.received_count == 1  # ping/pong are not counted


def test_user_ping_and_pong(connected):
    ping_id = connected.proto.ping()
    assert connected.sent() == [{"msg": "ping", "id": ping_id}]
    connected.feed(msg="pong", id=ping_id)
    connected.feed(msg="pong")
    assert connected.events() == [Pong(ping_id), Pong(None)]
    assert connected.proto.pongs_received == 2
    assert connected.proto.pings_sent == 1


def test_ping_needs_a_connection(harness):
    with pytest.raises(InvalidStateError):
        harness.proto.ping()
    harness.open()
    with pytest.raises(InvalidStateError):
        harness.proto.ping()
