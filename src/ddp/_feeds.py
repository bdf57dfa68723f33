"""Bounded queues between the receive path and a consumer: what every client iterator reads.

A stream's events, a collection's changes, every data message, the asyncio client's events:
each iterator a client hands out reads a :class:`Feed`. The receive path (the event loop, or
the blocking client's dispatcher thread) only ever *puts* into it, which never blocks and
never waits for the consumer, so a slow consumer cannot stall receiving or the heartbeats.

The overflow policy, the same everywhere: when a feed holds ``maxlen`` items and another
arrives, the **oldest** item is dropped. Nothing is lost silently: each drop is counted on
the feed (:attr:`Feed.dropped`) and in the client's statistics
(``ClientStats.dropped_events``), and each *overflow episode* (from the first drop until the
consumer empties the feed) logs one WARNING on ``ddp.client`` as it starts (and an INFO line
with the episode's count once the consumer has caught up), so a consumer that keeps falling
behind does not flood the log.

The waiting half differs per driver (an asyncio future, or a condition variable) and lives
in :mod:`ddp.asyncio._feeds` and :mod:`ddp.sync._feeds`; the buffer and its policy are here,
once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from ddp.exceptions import ClientClosedError, DDPError

__all__ = ["DEFAULT_FEED_SIZE", "Feed", "check_size"]

logger = logging.getLogger("ddp.client")

T = TypeVar("T")

DEFAULT_FEED_SIZE = 1000
"""How many items a feed holds before it drops its oldest (see the module docstring)."""


def check_size(max_queue: int) -> int:
    """Return ``max_queue`` if it is a positive int.

    Raises:
        ValueError: It is not.
    """
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
        raise ValueError("max_queue must be a positive integer")
    return max_queue


class Feed(Generic[T]):
    """A bounded, thread-safe FIFO that drops its oldest item when full (module docstring).

    Args:
        maxlen: The most items it holds.
        what: What it carries, for the overflow warning (``"stream-room-messages events"``).
        on_drop: Called with the number of items dropped, on the putting thread (the
            client's statistics counter).
    """

    def __init__(self, maxlen: int, what: str, on_drop: Callable[[int], None] | None = None):
        self._items: deque[T] = deque()
        self._maxlen = check_size(maxlen)
        self._what = what
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._ended = False
        self._error: DDPError | None = None
        self._episode = 0  # drops in the current overflow episode
        self._unhook: Callable[[], None] | None = None
        #: Items dropped so far because the consumer fell behind (see the module docstring).
        self.dropped = 0

    @property
    def ended(self) -> bool:
        """Whether nothing more will arrive (items already queued can still be read)."""
        return self._ended

    def __len__(self) -> int:
        return len(self._items)

    def _put(self, item: T) -> None:
        """Queue ``item`` (the receive path); drop the oldest when full. Never blocks."""
        with self._lock:
            if self._ended:
                return
            items = self._items
            if len(items) >= self._maxlen:
                items.popleft()
                self.dropped += 1
                self._episode += 1
                first = self._episode == 1
                dropping = True
            else:
                first = dropping = False
            items.append(item)
        if dropping:
            if first:
                logger.warning(
                    "%s: the consumer is too slow; the oldest items are dropped "
                    "(the queue holds %d; "
                    "counted in ClientStats.dropped_events)",
                    self._what,
                    self._maxlen,
                )
            if self._on_drop is not None:
                self._on_drop(1)
        self._wake()

    def close(self) -> None:
        """Stop following: nothing more is queued (the items already queued can still be
        read). Idempotent; leaving the ``with`` block calls it."""
        unhook, self._unhook = self._unhook, None
        if unhook is not None:
            unhook()
        self._end(None)

    def _end(self, error: DDPError | None = None) -> None:
        """Nothing more will come; readers get the items left, then the end (or ``error``)."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._error = error
        self._wake()

    def _take(self) -> tuple[bool, T | None]:
        """Return ``(True, item)`` for the oldest item, ``(False, None)`` when empty."""
        with self._lock:
            items = self._items
            if not items:
                return False, None
            item = items.popleft()
            episode = self._episode if not items else 0
            if episode:
                self._episode = 0
        if episode:
            logger.info("%s: the consumer caught up; %d dropped meanwhile", self._what, episode)
        return True, item

    def _finish(self) -> None:
        """At the end of the items: raise the error the feed ended with, if any (a closed
        client ends feeds quietly)."""
        error = self._error
        if error is not None and not isinstance(error, ClientClosedError):
            raise error

    def _wake(self) -> None:
        """Wake a waiting reader (each driver's subclass)."""
