"""The blocking client's iterators over a :class:`ddp._feeds.Feed` (the waiting half).

The dispatcher thread puts into the feed; any other thread reads it: ``for item in feed``
(blocks until the next item or the end), ``feed.iter(timeout=...)``, or ``feed.get(timeout)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Self, TypeVar

from ddp._feeds import Feed
from ddp.exceptions import DDPTimeoutError, InvalidStateError

__all__ = ["SyncFeed"]

T = TypeVar("T")


def _never() -> bool:
    return False


class SyncFeed(Feed[T]):
    """A blocking iterator over a bounded feed (changes, data messages, stream events).

    ``for item in feed`` yields every item in arrival order and ends once the feed ends
    (its ``close()``, or the client's); it raises the error a feed ended with, if that error
    is not the client's own close. :meth:`iter` does the same with a limit on each wait.
    When the consumer falls behind, the oldest items are dropped and counted
    (:attr:`dropped`, ``ClientStats.dropped_events``) with one WARNING per episode.
    ``with feed:`` closes it at the end. Waiting inside a client
    callback (on the dispatcher thread, which fills the feed) raises
    :class:`ddp.InvalidStateError` instead of deadlocking.
    """

    def __init__(
        self,
        maxlen: int,
        what: str,
        on_drop: Callable[[int], None] | None = None,
        in_callback: Callable[[], bool] = _never,
    ) -> None:
        super().__init__(maxlen, what, on_drop)
        self._cond = threading.Condition(self._lock)
        self._in_callback = in_callback

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __iter__(self) -> Iterator[T]:
        return self.iter(None)

    def iter(self, timeout: float | None = None) -> Iterator[T]:
        """Iterate, waiting at most ``timeout`` seconds for each item (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: No item arrived within ``timeout`` seconds.
        """
        while True:
            found, item = self._next(timeout)
            if not found:
                self._finish()
                return
            yield item  # type: ignore[misc]

    def get(self, timeout: float | None = None) -> T:
        """Return the next item, waiting up to ``timeout`` seconds (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: Nothing arrived in time.
            ddp.InvalidStateError: The feed has ended and holds nothing more (or the error
                it ended with, such as :class:`ddp.SubscriptionError`).
        """
        found, item = self._next(timeout)
        if not found:
            self._finish()
            raise InvalidStateError("this iterator has ended")
        return item  # type: ignore[return-value]

    def _next(self, timeout: float | None) -> tuple[bool, T | None]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found, item = self._take()
            if found:
                return True, item
            with self._cond:
                while not self._items and not self._ended:
                    if self._in_callback():
                        raise InvalidStateError(
                            "cannot wait for items inside a client callback (the callback "
                            "thread is the one that delivers them)"
                        )
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise DDPTimeoutError(f"nothing arrived within {timeout} s")
                    self._cond.wait(left)
                if not self._items:
                    return False, None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
