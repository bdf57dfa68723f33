"""One blocking face for both clients, so that one test runs against ``Client`` and ``AsyncClient``.

:class:`Driven` wraps a client. For ``ddp.Client`` it calls straight through. For
``ddp.AsyncClient`` it runs the client on an event loop of its own thread and waits for each
coroutine from the test's thread (bounded by :data:`TIMEOUT`), so a test reads the same for
both: ``client.call("echo", 1)``. Plain methods of the async client (``stats()``,
``on_status()``) also run on its loop, as the client requires.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ddp

TIMEOUT = 10.0
"""The longest a test waits for any one operation (a failing test, not a slow one)."""

KINDS = ("sync", "async")
"""The drivers every conformance test runs on."""


class _LoopThread:
    """An event loop on a daemon thread, ended by :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
        """Run ``fn()`` on the loop (awaiting it if it returns an awaitable)."""

        async def invoke() -> Any:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        self.loop.close()


class Driven:
    """A client of either kind, driven with blocking calls (see the module docstring).

    Attributes:
        kind: ``"sync"`` or ``"async"``.
        client: The wrapped ``ddp.Client`` or ``ddp.AsyncClient``.
    """

    def __init__(self, kind: str, url: str, **options: Any) -> None:
        self.kind = kind
        self._loop: _LoopThread | None = None
        if kind == "sync":
            self.client: Any = ddp.Client(url, **options)
        else:
            self._loop = _LoopThread()
            self.client = self._loop.run(lambda: ddp.AsyncClient(url, **options))

    def do(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the client's method ``name`` and return its outcome (awaited if async)."""
        method = getattr(self.client, name)
        if self._loop is None:
            return method(*args, **kwargs)
        return self._loop.run(lambda: method(*args, **kwargs))

    def start(self, name: str, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Start ``name`` without waiting; return a future of its outcome."""
        if self._loop is None:
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()

            def run() -> None:
                try:
                    future.set_result(getattr(self.client, name)(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)

            threading.Thread(target=run, daemon=True).start()
            return future
        return asyncio.run_coroutine_threadsafe(
            getattr(self.client, name)(*args, **kwargs), self._loop.loop
        )

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: self.do(name, *args, **kwargs)

    @property
    def status(self) -> ddp.Status:
        """The client's status."""
        status: ddp.Status = self.client.status
        return status

    def dispose(self) -> None:
        """Close the client, then stop its loop (a closed client may be used again before)."""
        try:
            self.do("close")
        finally:
            if self._loop is not None:
                self._loop.stop()


@contextmanager
def driven(kind: str, url: str, *, connect: bool = True, **options: Any) -> Iterator[Driven]:
    """Make a :class:`Driven` client (connected unless ``connect=False``); close it after."""
    client = Driven(kind, url, **options)
    try:
        if connect:
            client.do("connect")
        yield client
    finally:
        client.dispose()
