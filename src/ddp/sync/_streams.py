"""The blocking client's stream handle: :class:`Stream` (what :meth:`Client.stream` returns)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Self

from ddp._docs_streams import STREAM_DOC, STREAM_GET_DOC
from ddp._streams import StreamEvent, StreamMixin, StreamTarget
from ddp.sync._feeds import SyncFeed

if TYPE_CHECKING:
    from ddp.sync.client import Client

__all__ = ["Stream"]

OnDrop = Callable[[int], None]  # counts the events a full queue dropped
Check = Callable[[], bool]  # whether the caller runs on the callback thread

_USAGE = """\
``for event_name, args in stream``, ``stream.iter(timeout=30)`` or
``stream.get(timeout)``; ``with client.stream(...) as stream:`` waits for ``ready`` and
stops it at the end. A ``callback`` runs on the client's dispatcher thread, in order."""


class Stream(SyncFeed[StreamEvent], StreamMixin):
    def __init__(
        self, client: Client, target: StreamTarget, size: int, on_drop: OnDrop, in_callback: Check
    ) -> None:
        label = f"stream {target.name!r} ({target.event_name!r})"
        SyncFeed.__init__(self, size, label, on_drop, in_callback)
        self._init_stream(target)
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
Stream.get.__doc__ = STREAM_GET_DOC
