"""The blocking client's stream handle: :class:`Stream` (what :meth:`Client.stream` returns)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Self

from ddp._docs_streams import STREAM_DOC
from ddp._streams import StreamEvent, StreamMixin
from ddp.sync._feeds import SyncFeed

if TYPE_CHECKING:
    from ddp.sync.client import Client

__all__ = ["Stream"]

_USAGE = """\
``for event_name, args in stream``, ``stream.iter(timeout=30)`` or
``stream.get(timeout)``; ``with client.stream(...) as stream:`` waits for ``ready`` and
stops it at the end. A ``callback`` runs on the client's dispatcher thread, in order."""


class Stream(SyncFeed[StreamEvent], StreamMixin):
    def __init__(
        self,
        client: Client,
        name: str,
        event_name: str,
        params: tuple[Any, ...],
        callback: Callable[..., Any] | None,
        max_queue: int,
        on_drop: Callable[[int], None],
        in_callback: Callable[[], bool],
    ) -> None:
        SyncFeed.__init__(
            self, max_queue, f"stream {name!r} ({event_name!r})", on_drop, in_callback
        )
        self._init_stream(name, event_name, params, callback)
        self._client = client

    def ready(self, timeout: float | None = None) -> None:
        """Wait until the server accepted the subscription (DDP's ``ready``).

        Raises:
            ddp.SubscriptionError: The server refused it.
            ddp.DDPTimeoutError: ``timeout`` ran out.
            ddp.ConnectionClosedError: The client closed or gave up first.
        """
        self.subscription.ready(timeout)  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop following: unsubscribe (when no other stream shares the subscription).

        Events already queued can still be read; idempotent.
        """
        self._client._stop_stream(self)

    def close(self) -> None:
        """The same as :meth:`stop`."""
        self.stop()

    def iter(self, timeout: float | None = None) -> Iterator[StreamEvent]:
        """Iterate, waiting at most ``timeout`` seconds for each event (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: No event arrived within ``timeout`` seconds.
            ddp.InvalidStateError: The stream delivers to its callback.
        """
        self._check_iterable()
        return super().iter(timeout)

    def get(self, timeout: float | None = None) -> StreamEvent:
        """Return the next event, waiting up to ``timeout`` seconds (``None``: no limit).

        Raises:
            ddp.DDPTimeoutError: Nothing arrived in time.
            ddp.InvalidStateError: The stream has ended and holds nothing more, or it
                delivers to its callback.
            ddp.SubscriptionError: The server ended the subscription with this error.
        """
        self._check_iterable()
        return super().get(timeout)

    def __enter__(self) -> Self:
        try:
            self.ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


Stream.__doc__ = STREAM_DOC.replace("<a_client>", "a :class:`~ddp.Client`").replace(
    "<usage>", _USAGE
)
