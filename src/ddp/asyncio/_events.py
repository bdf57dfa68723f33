"""The event stream of the asyncio client: what :meth:`AsyncClient.events` returns."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from ddp.events import Event

__all__ = ["DEFAULT_EVENT_QUEUE", "EventStream"]

logger = logging.getLogger("ddp.client")

DEFAULT_EVENT_QUEUE = 1000
"""Events an :meth:`AsyncClient.events` iterator holds before it drops the oldest."""


class EventStream:
    """An async iterator over a client's events (what :meth:`AsyncClient.events` returns).

    Yields the core's events (:mod:`ddp.events`: status changes, ``Connected``,
    ``ConnectionLost``, method results, subscription milestones...) in order, and ends after
    the client is closed. The queue is bounded: when it is full the oldest event is dropped,
    counted in :attr:`dropped` and logged, so a slow consumer never stalls the client.
    """

    __slots__ = ("__weakref__", "_closed", "_items", "_maxlen", "_waiter", "dropped")

    def __init__(self, maxlen: int) -> None:
        self._items: deque[Event] = deque()
        self._maxlen = maxlen
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        #: Events dropped because the queue was full.
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % self._maxlen == 0:
                logger.warning(
                    "events() consumer too slow: dropped %d event(s) so far", self.dropped
                )
        self._items.append(event)
        self._wake()

    def _close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()
