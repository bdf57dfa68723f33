"""The dispatcher thread: user callbacks run here, one at a time, in the order they were queued.

The I/O thread never runs user code. It queues zero-argument callables (listener calls,
observer callbacks of the collection store) and goes back to the socket, so a slow or blocking
callback delays only later callbacks, never receiving, heartbeats or method results.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

__all__ = ["Dispatcher"]

logger = logging.getLogger("ddp.client")


class Dispatcher:
    """Runs queued callables on one daemon thread, in order; exceptions are logged.

    Args:
        name: The thread's name (shown in thread dumps and logs).
    """

    def __init__(self, name: str) -> None:
        # None is the stop sentinel.
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (idempotent)."""
        with self._lock:
            if not self._started and not self._stopped:
                self._started = True
                self._thread.start()

    def submit(self, fn: Callable[[], object]) -> None:
        """Queue ``fn`` to run after everything queued before it.

        Callables queued after :meth:`stop` are dropped: the client is closed.
        """
        if not self._stopped:
            self._queue.put(fn)

    def stop(self, timeout: float | None) -> None:
        """Run what is queued, then end the thread; wait up to ``timeout`` seconds for it.

        Called from a callback (the dispatcher thread itself), it does not wait: the thread
        ends once that callback returns.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._queue.put(None)
            started = self._started
        if started and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def is_current(self) -> bool:
        """Whether the caller runs on the dispatcher thread (inside a callback)."""
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        get = self._queue.get
        while True:
            fn = get()
            if fn is None:
                return
            try:
                fn()
            except Exception:
                logger.exception("a callback raised; it is ignored")
