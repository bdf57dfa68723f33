"""The blocking client's writes: in order, one writer at a time, never under the client's lock.

A socket write can block for as long as the server does not read. Whoever holds the client's
lock meanwhile would stall every other thread, the I/O thread's timers included, so the one
thing that could detect the stall (the heartbeat) could never fire. So the core's output is
taken under the lock and put here, tagged with the transport it was made for, and written
after the lock is released:

* a user thread writes what it queued itself (:meth:`Outbox.flush`): no thread hop on a
  call's way out;
* the I/O thread never writes (a blocked write would stop its reads and timers): it
  :meth:`Outbox.kick`\\ s the writer thread, which flushes.

One writer at a time (a mutex taken without waiting: a thread that finds it held leaves its
texts to the holder, which loops until the outbox is empty). A stalled write is ended by
the transport's ``abort`` (the socket is shut down, which wakes ``sendall``); texts made for a
transport that is gone are dropped (the core re-sends what matters after the reconnect).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from ddp._transport import SyncTransport, TransportClosed

__all__ = ["Outbox"]


class Outbox:
    """Ordered writes from any thread, outside the client's lock (see the module docstring).

    Args:
        current: Returns the client's current transport (``None`` between connections).
        name: The writer thread's name.
    """

    def __init__(self, current: Callable[[], SyncTransport | None], name: str) -> None:
        self._current = current
        self._batches: deque[tuple[SyncTransport, Sequence[str]]] = deque()
        self._mutex = threading.Lock()
        self._kicked = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def put(self, transport: SyncTransport, texts: Sequence[str]) -> None:
        """Queue ``texts`` for ``transport``, after everything queued before."""
        self._batches.append((transport, texts))

    def __bool__(self) -> bool:
        return bool(self._batches)

    def flush(self) -> None:
        """Write what is queued, unless another thread is writing (it then writes it)."""
        batches = self._batches
        while batches:
            if not self._mutex.acquire(blocking=False):
                return
            try:
                self._write_all()
            finally:
                self._mutex.release()
            # Re-checked after the release: a thread that queued meanwhile found the
            # mutex held and left its texts to us.

    def _write_all(self) -> None:
        batches = self._batches
        current = self._current
        while batches:
            transport, texts = batches.popleft()
            if transport is not current():
                continue  # made for a connection that is gone
            try:
                transport.send(texts)
            except TransportClosed:
                pass  # the I/O thread sees the end; the core re-sends what matters

    def kick(self) -> None:
        """Have the writer thread flush (for threads that must never block on a write)."""
        if not self._started:
            self._started = True
            self._thread.start()
        self._kicked.set()

    def write_before_close(self, transport: SyncTransport, timeout: float) -> bool:
        """Write what is queued for a close; False when another write is stuck past
        ``timeout`` (the caller then aborts the transport instead)."""
        if not self._mutex.acquire(timeout=timeout):
            return False
        try:
            self._write_all()
        finally:
            self._mutex.release()
        return True

    def stop(self, timeout: float | None) -> None:
        """End the writer thread (what is still queued is dropped)."""
        self._stopped = True
        self._batches.clear()
        self._kicked.set()
        if self._started and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        kicked = self._kicked
        while True:
            kicked.wait()
            kicked.clear()
            if self._stopped:
                return
            self.flush()
