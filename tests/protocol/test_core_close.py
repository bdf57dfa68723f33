"""close(): the disconnect message, failing every waiter, and the statuses."""

from __future__ import annotations

import pytest

from ddp.events import (
    ConnectionLost,
    MethodDataVisible,
    MethodResult,
    Status,
    StatusChanged,
    SubscriptionStopped,
    TransportShouldClose,
)
from ddp.exceptions import ClientClosedError, ConnectionFailedError, InvalidStateError


def test_close_sends_disconnect_and_fails_everything(connected):
    h = connected
    answered = h.proto.call("answered")
    pending = h.proto.call("pending")
    sid = h.proto.subscribe("s")
    h.sent()
    h.feed(msg="result", id=answered, result=1)
    h.events()
    queued = h.proto.call("queued")  # never written: must not go out after close
    h.proto.close()
    assert h.sent() == [{"msg": "disconnect"}]
    events = h.events()
    failures = [(type(e), getattr(e, "method_id", None) or e.sub_id) for e in events[:-2]]
    assert failures == [
        (MethodDataVisible, answered),
        (MethodResult, pending),
        (MethodDataVisible, pending),
        (MethodResult, queued),
        (MethodDataVisible, queued),
        (SubscriptionStopped, sid),
    ]
    assert all(isinstance(e.error, ClientClosedError) for e in events[:-2])
    assert events[-2:] == [
        StatusChanged(Status.CONNECTED, Status.DISCONNECTING),
        TransportShouldClose("client closed"),
    ]
    assert h.lose("closed") is None
    assert h.events() == [
        ConnectionLost("closed", will_retry=False),
        StatusChanged(Status.DISCONNECTING, Status.DISCONNECTED, "closed"),
    ]
    h.feed(msg="result", id=pending, result=2)  # late frames are ignored
    assert h.events() == []


def test_close_is_idempotent(connected):
    connected.proto.close()
    connected.events()
    connected.proto.close()
    assert connected.events() == []
    assert connected.sent() == [{"msg": "disconnect"}]


def test_close_while_waiting_to_redial_is_immediate(connected):
    connected.lose()
    connected.events()
    connected.proto.close()
    assert connected.sent() == []
    assert connected.events() == [StatusChanged(Status.RECONNECTING, Status.DISCONNECTED)]
    with pytest.raises(InvalidStateError):
        connected.proto.dialing(connected.now)
    with pytest.raises(InvalidStateError):
        connected.proto.send_raw({"msg": "ping"})


def test_close_during_a_dial_that_then_fails(harness):
    harness.proto.dialing(harness.now)
    harness.proto.close()
    assert harness.proto.status is Status.DISCONNECTING
    assert harness.proto.dial_failed(harness.now, "refused") is None
    assert harness.proto.status is Status.DISCONNECTED


def test_close_during_a_dial_that_then_opens(harness):
    harness.proto.dialing(harness.now)
    harness.proto.close()
    harness.events()
    harness.proto.connection_made(harness.now)
    assert harness.sent() == []
    assert harness.events() == [TransportShouldClose("client closed")]
    assert harness.lose() is None
    assert harness.proto.status is Status.DISCONNECTED


def test_close_before_connected_still_says_disconnect(harness):
    harness.open()
    harness.proto.close()
    assert harness.sent() == [{"msg": "disconnect"}]


def test_close_after_failing_keeps_failed(make_harness):
    h = make_harness(backoff=False)
    h.connect()
    h.lose()
    h.events()
    h.proto.close()
    assert h.proto.status is Status.FAILED
    assert h.events() == []


def test_close_applies_pending_data_and_drops_the_core_login_silently(connected):
    h = connected
    h.proto.set_resume_token("tok")
    h.reconnect("S2")
    h.events()
    h.proto.flush_data()
    batches = len(h.store.batches)
    h.proto.close()
    assert [type(e) for e in h.events()] == [StatusChanged, TransportShouldClose]
    assert len(h.store.batches) == batches


def test_pending_data_is_applied_on_close(connected):
    connected.feed(msg="added", collection="c", id="a")
    connected.proto.close()
    assert connected.store.count("c") == 1


def test_commands_after_a_permanent_failure_end_with_connection_failed(make_harness):
    h = make_harness(backoff=False)
    h.connect()
    h.lose()
    h.events()
    mid = h.proto.call("m")
    result, visible = h.events()
    assert result.method_id == visible.method_id == mid
    assert isinstance(result.error, ConnectionFailedError)
    assert not isinstance(result.error, ClientClosedError)
    assert h.proto.dial_failed(h.now, "late report") is None
