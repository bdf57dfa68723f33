"""Helpers for the stream, update-listener and change-iterator tests (both clients)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from conformance_support import TIMEOUT, Driven


def on_client(d: Driven, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` where the client wants it: here (``Client``) or on the client's loop
    (``AsyncClient``, awaiting what it returns)."""
    loop = d._loop
    if loop is None:
        return fn()
    return loop.run(fn, timeout=3 * TIMEOUT)


def take(d: Driven, feed: Any, n: int) -> list[Any]:
    """Read ``n`` items from a feed or stream, each within :data:`TIMEOUT`."""
    if d._loop is None:
        return [feed.get(TIMEOUT) for _ in range(n)]

    async def read() -> list[Any]:
        return [await feed.get(TIMEOUT) for _ in range(n)]

    return on_client(d, read)


def drain(d: Driven, feed: Any) -> list[Any]:
    """Read what a feed holds until it ends (it must end within :data:`TIMEOUT`)."""
    if d._loop is None:
        return list(feed.iter(TIMEOUT))

    async def read() -> list[Any]:
        return [item async for item in feed]

    return on_client(d, read)


class Collector:
    """A callback that records its calls; :meth:`wait_for` blocks until enough arrived."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = TIMEOUT) -> list[Any]:
        """Return the items once there are at least ``n`` (raise on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.items) >= n, timeout):
                raise AssertionError(f"got {len(self.items)} of {n} items: {self.items[-5:]}")
            return list(self.items)


class Joins:
    """A stream's ``allow_read`` hook that records each subscription as it registers.

    The server calls it on its loop just before it adds the subscriber (synchronously), so
    once :meth:`wait_for` sees a join, the next event emitted reaches that subscriber. This
    is deterministic where polling the subscriber count is not.
    """

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self, sub: Any, event_name: str, args: list[Any]) -> bool:
        with self._cond:
            self.count += 1
            self._cond.notify_all()
        return True

    def wait_for(self, n: int, timeout: float = TIMEOUT) -> None:
        """Block until ``n`` subscriptions joined in all (raise on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= n, timeout):
                raise AssertionError(f"{self.count} of {n} stream subscriptions joined")
