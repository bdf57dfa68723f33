"""Run a :class:`~ddp.server.Server` on its own event loop in a background thread.

For blocking tests (``ddp.Client``): the server keeps running while the test thread blocks.
Everything that touches the server's state must run on the server's loop; use
:meth:`ServerThread.call` for plain functions and :meth:`ServerThread.run` for coroutines.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from ddp.exceptions import DDPTimeoutError, InvalidStateError
from ddp.server.server import Server

__all__ = ["ServerThread", "server_in_thread"]

T = TypeVar("T")


class ServerThread:
    """A started server on a daemon thread; a context manager.

    Args:
        server: The server to run (not started yet).
        timeout: Seconds to wait for start, stop and each :meth:`call`/:meth:`run`.

    Example::

        with ServerThread(Server()) as st:
            st.call(st.server.collection("items").insert, {"text": "hi"})
            with ddp.Client(st.server.url) as client:
                ...
    """

    def __init__(self, server: Server, *, timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The server's raw websocket URL."""
        return self.server.url

    @property
    def port(self) -> int:
        """The server's port."""
        return self.server.port

    def start(self) -> Server:
        """Start the thread and return once the server is bound (its error is raised here).

        Raises:
            InvalidStateError: already started.
            DDPTimeoutError: the server did not start in time.
        """
        if self._thread is not None:
            raise InvalidStateError("the server thread is already started")
        self._thread = threading.Thread(target=self._main, name="ddp-server", daemon=True)
        self._thread.start()
        if not self._started.wait(self.timeout):
            raise DDPTimeoutError("the server thread did not start in time")
        if self._error is not None:
            self._thread.join(self.timeout)
            error, self._error = self._error, None
            raise error
        return self.server

    def stop(self) -> None:
        """Stop the server and join the thread; re-raise an error the server loop died of."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            # The loop may have finished between the check and the call: nothing to stop then.
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        thread.join(self.timeout)
        if thread.is_alive():
            raise DDPTimeoutError("the server thread did not stop in time")
        self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the server's loop and return its result (blocking).

        Example: ``st.run(st.server.wait_for_connections(2))``.
        """
        try:
            loop = self._running_loop()
        except InvalidStateError:
            coro.close()  # never to be awaited: do not leave a "never awaited" warning
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DDPTimeoutError("the coroutine did not finish in time") from None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` on the server's loop and return its result (blocking).

        Example: ``st.call(st.server.faults.drop_all)``.
        """
        self._running_loop()

        async def invoke() -> T:
            return fn(*args, **kwargs)

        return self.run(invoke())

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            raise InvalidStateError("the server thread is not running")
        return self._loop

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.server.start()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def server_in_thread(server: Server | None = None, **options: Any) -> ServerThread:
    """Return a :class:`ServerThread` for ``server`` (or ``Server(**options)``); use it as a
    context manager: ``with server_in_thread(heartbeat_interval=0) as st: ...``."""
    if server is not None and options:
        raise TypeError("give a server or options, not both")
    return ServerThread(server if server is not None else Server(**options))
