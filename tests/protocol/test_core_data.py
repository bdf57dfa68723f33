"""Data messages: validation, batching, flushing, the store contract."""

from __future__ import annotations

import datetime
import logging

import pytest

from ddp.events import ProtocolViolation, ServerErrorMessage


def test_data_waits_for_flush_and_goes_in_one_batch(connected):
    connected.feed(msg="added", collection="c", id="a", fields={"x": 1})
    connected.feed(msg="changed", collection="c", id="a", fields={"y": 2}, cleared=["x"])
    connected.feed(msg="added", collection="c", id="b")
    connected.feed(msg="removed", collection="c", id="b")
    assert connected.store.batches == []
    connected.proto.flush_data()
    ((batch, reset),) = connected.store.batches
    assert reset is False
    assert [m["msg"] for m in batch] == ["added", "changed", "added", "removed"]
    assert connected.store.docs == {"c": {"a": {"y": 2}}}
    connected.proto.flush_data()  # nothing pending: no empty batch
    assert len(connected.store.batches) == 1


def test_ordered_messages_pass_through(connected):
    connected.feed(msg="addedBefore", collection="o", id="a", fields={}, before=None)
    connected.feed(msg="addedBefore", collection="o", id="b", before="a")
    connected.feed(msg="movedBefore", collection="o", id="a", before="b")
    connected.proto.flush_data()
    ((batch, _),) = connected.store.batches
    assert [m["msg"] for m in batch] == ["addedBefore", "addedBefore", "movedBefore"]
    assert connected.events() == []


def test_max_batch_flushes_by_itself(make_harness):
    h = make_harness(max_batch=3)
    h.connect()
    for n in range(7):
        h.feed(msg="added", collection="c", id=str(n))
    assert [len(batch) for batch, _ in h.store.batches] == [3, 3]
    h.proto.flush_data()
    assert [len(batch) for batch, _ in h.store.batches] == [3, 3, 1]


def test_fields_are_ejson_decoded(connected):
    connected.feed_text('{"msg":"added","collection":"c","id":"a","fields":{"at":{"$date":1000}}}')
    connected.proto.flush_data()
    assert connected.store.doc("c", "a") == {
        "at": datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.UTC)
    }


@pytest.mark.parametrize(
    "frame",
    [
        '{"msg":"added","id":"a"}',
        '{"msg":"added","collection":"c"}',
        '{"msg":"added","collection":"c","id":5}',
        '{"msg":"removed","collection":null,"id":"a"}',
        '{"msg":"added","collection":"c","id":"a","fields":[1]}',
        '{"msg":"changed","collection":"c","id":"a","cleared":"x"}',
        '{"msg":"changed","collection":"c","id":"a","cleared":[1]}',
        '{"msg":"addedBefore","collection":"c","id":"a","before":3}',
        '{"msg":"added","collection":"c","id":"a","fields":{"d":{"$date":"soon"}}}',
    ],
)
def test_malformed_data_is_a_violation_and_not_stored(connected, frame, caplog):
    with caplog.at_level(logging.WARNING, logger="ddp.protocol"):
        connected.feed_text(frame)
    connected.proto.flush_data()
    (event,) = connected.events()
    assert isinstance(event, ProtocolViolation)
    assert event.frame == frame
    assert connected.store.batches == []
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_violation_frames_are_cut_short(connected):
    frame = '{"msg":"added","collection":"c","pad":"' + "x" * 1000 + '"}'
    connected.feed_text(frame)
    (event,) = connected.events()
    assert event.frame == frame[:300]


def test_error_message_is_reported(connected, caplog):
    with caplog.at_level(logging.WARNING, logger="ddp.protocol"):
        connected.feed(msg="error", reason="Bad request", offendingMessage={"msg": "zap"})
        connected.feed(msg="error")
    assert connected.events() == [
        ServerErrorMessage("Bad request", {"msg": "zap"}),
        ServerErrorMessage("unknown error", None),
    ]
    assert len(caplog.records) == 2


def test_without_a_store_data_is_dropped(make_harness):
    h = make_harness()
    h.proto._store = None  # as ClientProtocol(store=None)
    h.connect()
    h.feed(msg="added", collection="c", id="a")
    h.proto.flush_data()
    assert h.store.batches == []


def test_a_failing_store_is_logged_and_the_core_goes_on(connected, caplog):
    def explode(messages, reset):
        raise RuntimeError("boom")

    connected.store.apply_batch = explode
    sid = connected.proto.subscribe("x")
    connected.feed(msg="added", collection="c", id="a")
    with caplog.at_level(logging.ERROR, logger="ddp.protocol"):
        connected.feed(msg="ready", subs=[sid])
    assert "failed to apply" in caplog.text
    assert len(connected.events()) == 1
