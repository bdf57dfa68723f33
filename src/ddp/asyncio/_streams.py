"""The asyncio client's stream handle: :class:`Stream` (what :meth:`AsyncClient.stream` returns)."""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from ddp._docs_streams import STREAM_DOC, STREAM_GET_DOC
from ddp._streams import StreamEvent, StreamMixin, StreamTarget
from ddp.asyncio._feeds import AsyncFeed

if TYPE_CHECKING:
    from ddp.asyncio.client import AsyncClient

__all__ = ["Stream"]

OnDrop = Callable[[int], None]  # counts the events a full queue dropped
Check = Callable[[], bool]  # whether the caller runs on the callback thread

_USAGE = """\
``async for event_name, args in stream`` or ``await stream.get(timeout)``;
``async with client.stream(...) as stream:`` waits for ``ready`` and stops it at the
end. A ``callback`` runs with ``call_soon`` (a coroutine function as a task)."""


class Stream(AsyncFeed[StreamEvent], StreamMixin):
    def __init__(self, client: AsyncClient, target: StreamTarget, size: int, on_drop: OnDrop):
        AsyncFeed.__init__(self, size, f"stream {target.name!r} ({target.event_name!r})", on_drop)
        self._init_stream(target)
        self._client = client

    async def ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until the server accepted the subscription (DDP's ``ready``).

        Raises:
            ddp.SubscriptionError: The server refused it.
            ddp.DDPTimeoutError: ``timeout`` ran out.
            ddp.ConnectionClosedError: The client closed or gave up first.
        """
        await self.subscription.ready(timeout)  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop following: unsubscribe (when no other stream shares the subscription).

        Events already queued can still be read; idempotent.
        """
        self._client._stop_stream(self)

    def close(self) -> None:
        """The same as :meth:`stop`."""
        self.stop()

    def __aiter__(self) -> Self:
        self._check_iterable()
        return self

    async def get(self, timeout: float | None = None) -> StreamEvent:  # noqa: ASYNC109
        self._check_iterable()
        return await super().get(timeout)

    async def __aenter__(self) -> Self:
        try:
            await self.ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()


Stream.__doc__ = STREAM_DOC.replace("<a_client>", "an :class:`~ddp.AsyncClient`").replace(
    "<usage>", _USAGE
)
Stream.get.__doc__ = STREAM_GET_DOC
