"""The asyncio client's stream handle: :class:`Stream` (what :meth:`AsyncClient.stream` returns)."""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from ddp._docs_streams import STREAM_DOC
from ddp._streams import StreamEvent, StreamMixin
from ddp.asyncio._feeds import AsyncFeed

if TYPE_CHECKING:
    from ddp.asyncio.client import AsyncClient

__all__ = ["Stream"]

_USAGE = """\
``async for event_name, args in stream`` or ``await stream.get(timeout)``;
``async with client.stream(...) as stream:`` waits for ``ready`` and stops it at the
end. A ``callback`` runs with ``call_soon`` (a coroutine function as a task)."""


class Stream(AsyncFeed[StreamEvent], StreamMixin):
    def __init__(
        self,
        client: AsyncClient,
        name: str,
        event_name: str,
        params: tuple[Any, ...],
        callback: Callable[..., Any] | None,
        max_queue: int,
        on_drop: Callable[[int], None],
    ) -> None:
        AsyncFeed.__init__(self, max_queue, f"stream {name!r} ({event_name!r})", on_drop)
        self._init_stream(name, event_name, params, callback)
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
        """Return the next event, waiting up to ``timeout`` seconds (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: Nothing arrived in time.
            ddp.InvalidStateError: The stream has ended and holds nothing more, or it
                delivers to its callback.
            ddp.SubscriptionError: The server ended the subscription with this error.
        """
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
