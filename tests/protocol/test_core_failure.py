"""ClientProtocol.failure: the typed error that ended the core for good, if any."""

from __future__ import annotations

from ddp.backoff import Backoff
from ddp.exceptions import ConnectionFailedError, VersionNegotiationError


def test_no_failure_while_connected_or_after_close(harness):
    assert harness.proto.failure is None
    harness.connect("S1")
    assert harness.lose() is not None  # retrying is not failing
    assert harness.proto.failure is None
    harness.proto.close()
    assert harness.proto.failure is None


def test_version_negotiation_failure(harness):
    harness.open()
    harness.feed(msg="failed", version="2")
    failure = harness.proto.failure
    assert type(failure) is VersionNegotiationError
    assert "server requested version 2" in str(failure)


def test_reconnect_off_is_a_connection_failure(make_harness):
    h = make_harness(backoff=False)
    h.connect("S1")
    assert h.lose("reset by peer") is None
    assert type(h.proto.failure) is ConnectionFailedError
    assert "reset by peer" in str(h.proto.failure)


def test_attempts_exhausted_is_a_connection_failure(make_harness):
    h = make_harness(backoff=Backoff(base=0.01), max_attempts=1)
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused") is not None
    assert h.proto.failure is None
    h.proto.dialing(h.now)
    assert h.proto.dial_failed(h.now, "refused again") is None
    assert type(h.proto.failure) is ConnectionFailedError
    assert "refused again" in str(h.proto.failure)
