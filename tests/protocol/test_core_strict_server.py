"""A strict server (older than Meteor 3.5) refuses a resuming ``connect``: fall back at once.

Such a server answers the unknown fields ``session`` and ``receivedCount`` with
``{"msg": "error", "reason": "Malformed connect"}`` and never sends ``connected``. The core
must then ask for a new session on the same transport at once, and never offer that server a
resumption again.
"""

from __future__ import annotations

import logging

from ddp.events import Connected, ServerErrorMessage, TransportShouldClose

MALFORMED = "Malformed connect"


def plain_connect(version: str = "1") -> dict[str, object]:
    return {"msg": "connect", "version": version, "support": ["1", "pre2", "pre1"]}


def test_a_refused_resuming_connect_falls_back_to_a_plain_one_at_once(connected, caplog):
    h = connected
    h.proto.set_resume_token("tok")
    sid = h.proto.subscribe("items")
    mid = h.proto.call("slow")
    h.feed(msg="added", collection="items", id="old")
    h.feed(msg="ready", subs=[sid])
    h.sent()
    h.events()
    h.lose()
    connect = h.open()
    assert (connect["session"], connect["receivedCount"]) == ("S1", 3)
    offending = dict(connect)
    with caplog.at_level(logging.INFO, logger="ddp.protocol"):
        h.feed(msg="error", reason=MALFORMED, offendingMessage=offending)
    assert h.sent() == [plain_connect()]
    assert h.events(ServerErrorMessage) == [ServerErrorMessage(MALFORMED, offending)]
    assert h.events(TransportShouldClose) == []
    assert not h.proto.offers_resumption
    assert [r.levelname for r in caplog.records] == ["INFO"]
    # The new session follows the usual plan: login first, the call again, the subscription.
    h.feed(msg="connected", session="S2")
    (event,) = h.events(Connected)
    assert event == Connected("S2", "1", resumed=False, reconnect=True)
    sent = h.sent()
    assert [m["msg"] for m in sent] == ["method", "sub"]
    assert sent[0]["method"] == "login"
    login = sent[0]["id"]
    h.feed(msg="ready", subs=[sid])
    h.feed(msg="result", id=login, result={"token": "tok"})
    h.feed(msg="updated", methods=[login])
    assert [m.get("id") for m in h.sent()] == [mid]
    h.feed(msg="result", id=mid, result=1)
    h.feed(msg="updated", methods=[mid])
    assert h.store.batches[-1][1] is True  # the cache was swapped: `old` is gone
    assert h.store.doc("items", "old") is None


def test_the_fallback_is_remembered_for_every_later_connect(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="error", reason=MALFORMED)
    h.sent()
    h.feed(msg="connected", session="S2")
    for _ in range(3):
        h.lose()
        assert h.open() == plain_connect()
        h.feed(msg="connected", session="S3")
        assert h.events(Connected)[0].resumed is False


def test_a_server_that_closes_after_refusing_gets_a_plain_connect_next_time(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="error", reason=MALFORMED)
    h.sent()  # the plain connect never reached it
    assert h.lose("closed by server") is not None
    assert h.open() == plain_connect()


def test_the_fallback_happens_once_per_refusal(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="error", reason=MALFORMED)
    assert h.sent() == [plain_connect()]
    h.feed(msg="error", reason=MALFORMED)  # refusing the plain one too: nothing to fall back to
    assert h.sent() == []
    h.advance(10.0)
    assert h.events(TransportShouldClose) == [TransportShouldClose("connect timeout")]


def test_an_error_on_a_first_connect_changes_nothing(harness):
    harness.open()
    harness.feed(msg="error", reason="Bad request")
    assert harness.sent() == []
    assert harness.proto.offers_resumption


def test_already_connected_is_not_a_refusal(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="error", reason="Already connected")
    assert h.sent() == []
    assert h.proto.offers_resumption
    h.feed(msg="connected", session="S1")
    assert h.events(Connected)[0].resumed is True


def test_an_error_after_connected_is_only_reported(connected):
    h = connected
    h.lose()
    h.open()
    h.feed(msg="connected", session="S1")
    h.sent()
    h.feed(msg="error", reason=MALFORMED)
    assert h.sent() == []
    assert h.proto.offers_resumption
