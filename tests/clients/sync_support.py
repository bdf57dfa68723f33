"""Helpers for the blocking client's tests: waiting on conditions without sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import ddp
from ddp.backoff import Backoff
from ddp.server import ServerThread

FAST = Backoff(base=0.02, exponent=1.5, max=0.2, min_timeout=0.01, min_count=2)
"""A reconnect schedule for tests: every retry within a fifth of a second."""

TIMEOUT = 5.0
"""The longest any single wait in these tests may take (a failing test, not a slow one)."""


class Events:
    """A thread-safe log of what callbacks saw, with waiting on a condition.

    Callbacks call :meth:`add`; a test calls :meth:`wait_for` with a predicate over the log.
    The condition is re-checked each time something is added: no polling, no sleeping.
    """

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def add(self, item: Any) -> None:
        """Append ``item`` and wake the waiters."""
        with self._cond:
            self.items.append(item)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def callback(self, tag: str) -> Callable[..., None]:
        """Return a callback that logs ``(tag, *args)``."""
        return lambda *args: self.add((tag, *args))

    def wait_for(self, check: Callable[[list[Any]], Any], timeout: float = TIMEOUT) -> Any:
        """Wait until ``check(items)`` is truthy and return it, or fail the test."""
        with self._cond:
            result = self._cond.wait_for(lambda: check(self.items), timeout)
        assert result, f"condition not met within {timeout} s; saw {self.items!r}"
        return result

    def count(self, item: Any) -> int:
        """How many times ``item`` was logged."""
        with self._cond:
            return self.items.count(item)


def status_log(client: ddp.Client) -> Events:
    """Log every new status of ``client`` (as ``("status", Status)``)."""
    events = Events()
    client.on_status(lambda change: events.add(("status", change.new)))
    return events


def wait_status(events: Events, status: ddp.Status, n: int = 1) -> None:
    """Wait until ``status`` was reported ``n`` times."""
    events.wait_for(lambda items: items.count(("status", status)) >= n)


def reconnected(client: ddp.Client) -> Events:
    """Log each ``connected`` (``("connected",)``) and each new-session reconnect
    (``("reconnect",)``) of ``client``."""
    events = Events()
    client.on_reconnect(lambda event: events.add(("reconnect",)))
    client.on_connected(lambda event: events.add(("connected",)))
    return events


def fast_client(st: ServerThread, **options: Any) -> ddp.Client:
    """A client of the thread server with the fast reconnect schedule (not connected yet)."""
    options.setdefault("reconnect", FAST)
    return ddp.Client(options.pop("url", st.url), **options)


def server_wait(st: ServerThread, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Wait (on the server's loop) until ``check()`` is truthy; ``check`` runs on that loop."""
    return st.run(st.server.wait_until(check, timeout), timeout + 1)


def elapsed(start: float) -> float:
    """Seconds since ``start`` (``time.monotonic()``)."""
    return time.monotonic() - start
