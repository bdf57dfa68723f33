"""A one-lock flag: the blocking client's waker, and the latch of a call's outcome."""

from __future__ import annotations

import threading

__all__ = ["Flag"]


class Flag:
    """A :class:`threading.Event` (``set``, ``clear``, ``is_set``, ``wait``) on one plain
    lock, held while the flag is clear: setting it releases the lock, a waiter takes the
    lock and gives it back. ``Event`` takes a ``Condition`` for each of these and builds a
    lock per wait; this is the waker of every round trip (the reader thread sets it, the
    caller waits on it), and the latch of a call's outcome. Any thread may set or clear it;
    while nobody clears it, any number of threads pass a wait, one after the other.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def is_set(self) -> bool:
        return not self._lock.locked()

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:
            pass  # set already

    def clear(self) -> None:
        self._lock.acquire(blocking=False)

    def wait(self, timeout: float | None) -> bool:
        lock = self._lock
        if not lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return False
        self.set()  # still set for whoever looks next (a set() meanwhile changes nothing)
        return True
