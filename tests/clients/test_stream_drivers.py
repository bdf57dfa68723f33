"""What only one driver has: the async ``events(data=True)``; the blocking iterator's
timeout and its guard against waiting inside a callback."""

from __future__ import annotations

import threading

import pytest
from conformance_support import TIMEOUT

import ddp
from ddp.collection import DataUpdate
from ddp.events import MethodDataVisible, MethodResult
from ddp.server import Server, ServerThread


async def test_events_with_data_yield_every_message_in_order(server: Server) -> None:
    async with ddp.AsyncClient(server.url) as client:
        await client.subscribe("items")
        plain = client.events()
        stream = client.events(data=True)
        call = client.go("insert", {"_id": "a", "n": 1})
        await call.data_visible(TIMEOUT)
        seen = [await stream.get(TIMEOUT) for _ in range(3)]
        # In the server's order: the method's write, its result, then "data visible".
        assert seen[0] == DataUpdate("items", "added", "a", {"n": 1})
        assert [type(e) for e in seen[1:]] == [MethodResult, MethodDataVisible]
        assert [type(await plain.get(TIMEOUT)) for _ in range(2)] == [
            MethodResult,
            MethodDataVisible,
        ]
    rest = [e async for e in stream]  # the close's own events, then the end (quietly)
    assert rest and not any(isinstance(e, DataUpdate) for e in rest)


async def test_events_data_needs_a_store(server: Server) -> None:
    async with ddp.AsyncClient(server.url, collections=False) as client:
        with pytest.raises(ddp.InvalidStateError):
            client.events(data=True)


def test_the_blocking_iterator_times_out_and_refuses_to_wait_in_a_callback(
    server_thread: ServerThread,
) -> None:
    with ddp.Client(server_thread.url) as client:
        client.subscribe("items")
        feed = client.changes("items")
        with pytest.raises(ddp.DDPTimeoutError):
            next(feed.iter(timeout=0.05))
        with pytest.raises(ddp.DDPTimeoutError):
            feed.get(0)
        outcome: list[BaseException] = []
        done = threading.Event()

        def in_callback(update: DataUpdate) -> None:
            try:
                feed.get(TIMEOUT)
            except ddp.InvalidStateError as exc:
                outcome.append(exc)
            done.set()

        client.on_update(in_callback)
        client.call("insert", {"_id": "b"})
        assert done.wait(TIMEOUT)
        assert len(outcome) == 1
        assert feed.get(TIMEOUT).id == "b"  # the change still arrived, after the callback
        with feed:
            pass
        assert list(feed) == []
        with pytest.raises(ddp.InvalidStateError):
            feed.get(0)
