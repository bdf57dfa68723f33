"""The asyncio client's iterators over a :class:`ddp._feeds.Feed` (the waiting half).

The receive path puts into the feed on the event loop; a consumer task iterates it with
``async for`` or takes one item with :meth:`AsyncFeed.get` and a timeout.
"""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
import asyncio
from collections.abc import Callable
from typing import Self, TypeVar

from ddp._feeds import Feed
from ddp.exceptions import DDPTimeoutError, InvalidStateError

__all__ = ["AsyncFeed"]

T = TypeVar("T")


class AsyncFeed(Feed[T]):
    """An async iterator over a bounded feed (changes, data messages, events).

    ``async for item in feed`` yields every item in arrival order and ends once the feed
    ends (its ``close()``, or the client's); it raises the error a feed ended with, if that
    error is not the client's own close. When the consumer falls behind, the oldest items
    are dropped and counted (:attr:`dropped`, ``ClientStats.dropped_events``) with one
    WARNING per episode. ``async with feed:`` closes it at the end.
    """

    def __init__(
        self, maxlen: int, what: str, on_drop: Callable[[int], None] | None = None
    ) -> None:
        super().__init__(maxlen, what, on_drop)
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        found, item = await self._next(None)
        if not found:
            self._finish()
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def get(self, timeout: float | None = None) -> T:  # noqa: ASYNC109
        """Return the next item, waiting up to ``timeout`` seconds (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: Nothing arrived in time.
            ddp.InvalidStateError: The feed has ended and holds nothing more (or the error
                it ended with, such as :class:`ddp.SubscriptionError`).
        """
        found, item = await self._next(timeout)
        if not found:
            self._finish()
            raise InvalidStateError("this iterator has ended")
        return item  # type: ignore[return-value]

    async def _next(self, timeout: float | None) -> tuple[bool, T | None]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            found, item = self._take()
            if found:
                return True, item
            if self._ended:
                return False, None
            self._waiter = waiter = loop.create_future()
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                if not waiter.done():
                    raise DDPTimeoutError(f"nothing arrived within {timeout} s") from None
            finally:
                self._waiter = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
