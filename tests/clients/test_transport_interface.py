"""The transport interface (``ddp._transport``) is all a client needs: a transport written
against it, here an in-memory DDP peer, plugs into both clients with ``transport=``."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import Sequence

import ddp
from ddp._transport import Deliver, DialSpec, FrameMeter, TransportClosed


def _answers(text: str) -> list[str]:
    """What a tiny DDP server answers to ``text``: connect and ``add`` only."""
    msg = json.loads(text)
    if msg["msg"] == "connect":
        return [json.dumps({"msg": "connected", "session": "mem"})]
    if msg["msg"] == "method":
        result = sum(msg["params"])
        return [
            json.dumps({"msg": "result", "id": msg["id"], "result": result}),
            json.dumps({"msg": "updated", "methods": [msg["id"]]}),
        ]
    return []


class MemoryTransport:
    """A :class:`ddp._transport.SyncTransport` that talks to :func:`_answers`."""

    def __init__(self, meter: FrameMeter) -> None:
        self._meter = meter
        self._inbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._closed: str | None = None

    def recv(self, timeout: float | None) -> Sequence[str]:
        if self._closed is not None:
            raise TransportClosed(self._closed)
        try:
            text = self._inbox.get(timeout=timeout) if timeout != 0 else self._inbox.get_nowait()
        except queue.Empty:
            raise TimeoutError from None
        if text is None:
            raise TransportClosed(self._closed or "closed")
        self._meter.read(text)
        return (text,)

    def send(self, texts: Sequence[str]) -> None:
        if self._closed is not None:
            raise TransportClosed(self._closed)
        self._meter.wrote(texts)
        for text in texts:
            for answer in _answers(text):
                self._inbox.put(answer)

    def close(self) -> None:
        self.abort("closed")

    def abort(self, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
            self._inbox.put(None)


class AsyncMemoryTransport:
    """A :class:`ddp._transport.AsyncTransport` that talks to :func:`_answers`."""

    def __init__(self, meter: FrameMeter) -> None:
        self._meter = meter
        self._deliver: Deliver | None = None
        self._early: list[str] = []
        self._ended = asyncio.get_running_loop().create_future()

    def deliver_to(self, deliver: Deliver) -> None:
        self._deliver = deliver
        early, self._early = self._early, []
        for text in early:
            self._receive(text)

    def _receive(self, text: str) -> None:
        if self._deliver is None:
            self._early.append(text)
            return
        self._meter.read(text)
        self._deliver(text)

    def send(self, texts: Sequence[str]) -> None:
        if self._ended.done():
            return
        self._meter.wrote(texts)
        loop = asyncio.get_running_loop()
        for text in texts:
            for answer in _answers(text):
                loop.call_soon(self._receive, answer)

    async def wait_closed(self) -> str:
        return await asyncio.shield(self._ended)

    async def close(self) -> None:
        self.abort("closed")

    def abort(self, reason: str) -> None:
        if not self._ended.done():
            self._ended.set_result(reason)


def test_the_blocking_client_runs_on_a_transport_of_its_own() -> None:
    dialed: list[DialSpec] = []

    def dial(spec: DialSpec, meter: FrameMeter) -> MemoryTransport:
        dialed.append(spec)
        return MemoryTransport(meter)

    with ddp.Client("ws://memory/websocket", transport=dial, heartbeat_interval=0) as client:
        assert client.session == "mem"
        assert client.call("add", 2, 40) == 42
        stats = client.stats()
    assert [spec.url for spec in dialed] == ["ws://memory/websocket"]
    assert stats.writes.ops == 2 and stats.reads.ops >= 2  # counted by the meter


async def test_the_async_client_runs_on_a_transport_of_its_own() -> None:
    dialed: list[DialSpec] = []

    async def dial(spec: DialSpec, meter: FrameMeter) -> AsyncMemoryTransport:
        dialed.append(spec)
        return AsyncMemoryTransport(meter)

    async with ddp.AsyncClient(
        "ws://memory/websocket", transport=dial, heartbeat_interval=0
    ) as client:
        assert client.session == "mem"
        assert await client.call("add", 2, 40) == 42
        stats = client.stats()
    assert [spec.url for spec in dialed] == ["ws://memory/websocket"]
    assert stats.writes.ops == 2 and stats.reads.ops >= 2
