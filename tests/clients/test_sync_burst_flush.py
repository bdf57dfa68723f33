"""The blocking client applies a burst's data even when nothing follows it.

Its receive loop takes a burst of queued messages (up to 512 after the first) before it
flushes the data to the store. A burst that filled that budget exactly, with nothing queued
behind it, used to leave its data messages in the core until the next frame arrived (with
heartbeats off: never). A transport written against the interface makes the burst exact.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Sequence

import ddp
from ddp._transport import DialSpec, FrameMeter, TransportClosed

BURST_DOCS = 511  # result + updated + 511 added = 1 message, then 512 more


def _answers(text: str) -> list[str]:
    msg = json.loads(text)
    if msg["msg"] == "connect":
        return [json.dumps({"msg": "connected", "session": "burst"})]
    if msg["msg"] == "method":
        return [
            json.dumps({"msg": "result", "id": msg["id"], "result": "ok"}),
            json.dumps({"msg": "updated", "methods": [msg["id"]]}),
            *(
                json.dumps({"msg": "added", "collection": "c", "id": f"d{n}", "fields": {"n": n}})
                for n in range(BURST_DOCS)
            ),
        ]
    return []


class BurstTransport:
    """A SyncTransport whose answers to one frame are queued all at once."""

    def __init__(self, meter: FrameMeter) -> None:
        self._meter = meter
        self._inbox: deque[str] = deque()
        self._ready = threading.Condition()
        self._closed: str | None = None

    def recv(self, timeout: float | None) -> Sequence[str]:
        with self._ready:
            if not self._inbox and timeout != 0 and self._closed is None:
                self._ready.wait(timeout)
            if self._closed is not None:
                raise TransportClosed(self._closed)
            if not self._inbox:
                raise TimeoutError
            text = self._inbox.popleft()
        self._meter.read(text)
        return (text,)

    def send(self, texts: Sequence[str]) -> None:
        self._meter.wrote(texts)
        answers = [answer for text in texts for answer in _answers(text)]
        with self._ready:
            if self._closed is not None:
                raise TransportClosed(self._closed)
            self._inbox.extend(answers)
            self._ready.notify_all()

    def close(self) -> None:
        self.abort("closed")

    def abort(self, reason: str) -> None:
        with self._ready:
            if self._closed is None:
                self._closed = reason
            self._ready.notify_all()


def test_a_burst_that_fills_the_budget_exactly_reaches_the_store() -> None:
    def dial(spec: DialSpec, meter: FrameMeter) -> BurstTransport:
        return BurstTransport(meter)

    all_in = threading.Event()
    with ddp.Client("ws://burst/websocket", transport=dial, heartbeat_interval=0) as client:
        docs = client.collection("c")
        client.on_collection_change(
            lambda changes: all_in.set() if docs.count() == BURST_DOCS else None
        )
        assert client.call("burst") == "ok"
        assert all_in.wait(10), f"{docs.count()} of {BURST_DOCS} documents applied"
