"""The event stream of the asyncio client: what :meth:`AsyncClient.events` returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddp._feeds import DEFAULT_FEED_SIZE
from ddp.asyncio._feeds import AsyncFeed

__all__ = ["DEFAULT_EVENT_QUEUE", "EventStream"]

DEFAULT_EVENT_QUEUE = DEFAULT_FEED_SIZE
"""Events an :meth:`AsyncClient.events` iterator holds before it drops the oldest."""


class EventStream(AsyncFeed[Any]):
    """An async iterator over a client's events (what :meth:`AsyncClient.events` returns).

    Yields the core's events (:mod:`ddp.events`: status changes, ``Connected``,
    ``ConnectionLost``, method results, subscription milestones...) in order, with
    ``data=True`` every data message too (:class:`ddp.collection.DataUpdate`, as
    :meth:`AsyncClient.on_update` sees them), and ends after the client is closed or gives
    up. The queue is bounded: when it is full the oldest event is dropped, counted in
    :attr:`dropped` (and ``ClientStats.dropped_events``) and logged once per overflow
    episode, so a slow consumer never stalls the client.
    """

    def __init__(self, maxlen: int, on_drop: Callable[[int], None] | None = None) -> None:
        super().__init__(maxlen, "events()", on_drop)

    def _close(self) -> None:
        self._end(None)

    def _finish(self) -> None:
        """The event stream always ends quietly (its last events say why)."""
