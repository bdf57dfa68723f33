"""Meteor streams (the "streamer" pattern Rocket.Chat uses): events for subscribers, unmerged.

On the wire a stream named ``room-messages`` is the publication ``stream-room-messages``. A
client subscribes with the event name it wants, ``[event, false]`` or
``[event, {"useCollection": false, "args": [...]}]``, gets ``ready``, then every event
emitted under that name as
``{"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":event,"args":[...]}}``.

Clients may emit too, as Rocket.Chat's do (typing notices): the method named like the
publication, ``stream-<name>``, with params ``[event_name, *args]``, emits when the stream's
``allow_write`` hook allows it (refused with ``not-allowed`` otherwise); the calling
connection does not get its own event back unless ``retransmit_to_self`` is set.

Events bypass the merge box on purpose: each emit is one message to each subscriber, in emit
order, even when two events carry identical payloads. Nothing is stored or replayed to later
subscribers; a session that lost its socket and resumes gets what it missed from its resume
queue, like any other message of that session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ddp import ejson
from ddp.exceptions import MethodError
from ddp.messages import encode_message
from ddp.server._util import logger

if TYPE_CHECKING:
    from ddp.server.method import MethodContext
    from ddp.server.publication import Subscription
    from ddp.server.server import Server

__all__ = [
    "STREAM_EVENT_ID",
    "STREAM_PREFIX",
    "AllowEmit",
    "AllowRead",
    "AllowWrite",
    "ServerStream",
]

STREAM_PREFIX = "stream-"
"""Prefix of every stream's publication and collection name."""

STREAM_EVENT_ID = "id"
"""The document id every stream event is sent under."""

AllowRead = Callable[["Subscription", str, list[Any]], bool]
"""``allow_read(sub, event_name, args) -> bool``: may this subscription follow ``event_name``?"""

AllowEmit = Callable[["Subscription", str, list[Any]], bool]
"""``allow_emit(sub, event_name, args) -> bool``: does this subscriber get this event?"""

AllowWrite = Callable[["MethodContext", str, list[Any]], bool]
"""``allow_write(ctx, event_name, args) -> bool``: may this client emit this event?"""


class ServerStream:
    """One stream of events (get it with ``server.stream(name)``).

    Args:
        server: The server it belongs to.
        name: The stream's name, without the ``stream-`` prefix.
        allow_read: Checked when a client subscribes (and again when its user changes, as
            every subscription re-runs then): ``allow_read(sub, event_name, args)``, where
            ``args`` are the ``args`` of the subscription's options. A false answer ends the
            subscription with ``nosub`` and the error ``not-allowed``. ``None`` allows all.
        allow_emit: Checked for each event and each subscriber: ``allow_emit(sub,
            event_name, args)`` with the event's arguments; a false answer (or an exception,
            which is logged) skips that subscriber. ``None`` sends to all.
        allow_write: Checked when a client emits through the method ``stream-<name>``:
            ``allow_write(ctx, event_name, args)``. ``None`` (the default) refuses every
            client emit with ``not-allowed``.
        retransmit_to_self: Whether a client's own emits come back to its connection.

    The hooks are plain functions, called on the server's event loop: they must not block.

    Attributes:
        name: The stream's name.
        publication: The publication (and collection) name, ``"stream-" + name``.
        allow_read: The subscription hook (may be replaced at any time, on the loop).
        allow_emit: The per-event hook (may be replaced at any time, on the loop).
        allow_write: The client-emit hook (may be replaced at any time, on the loop).
        retransmit_to_self: As the argument.
        handler: The publication handler the server registers as ``publication``.
    """

    def __init__(
        self,
        server: Server,
        name: str,
        *,
        allow_read: AllowRead | None = None,
        allow_emit: AllowEmit | None = None,
        allow_write: AllowWrite | None = None,
        retransmit_to_self: bool = False,
    ) -> None:
        self.name = name
        self.publication = STREAM_PREFIX + name
        self.allow_read = allow_read
        self.allow_emit = allow_emit
        self.allow_write = allow_write
        self.retransmit_to_self = retransmit_to_self
        self._server = server
        # event name -> subscriptions, as an ordered set (dict keys): events reach the
        # subscribers of one event in the order they subscribed.
        self._subscribers: dict[str, dict[Subscription, None]] = {}
        self.handler = _StreamPublication(self)

    def emit(self, event_name: str, *args: Any) -> None:
        """Send an event to every subscriber of ``event_name`` (safe from any thread).

        The arguments are encoded at once (later changes to them are not seen); events
        emitted from one thread reach every subscriber in that order, never merged. On the
        server's loop the event is queued for sending before this returns; from another
        thread (a server in ``server_in_thread()``) it is handed to the loop.

        Raises:
            TypeError: ``event_name`` is not a str.
            EJSONError: an argument cannot be encoded as EJSON.
        """
        if not isinstance(event_name, str):
            raise TypeError(f"an event name must be a str, not {type(event_name).__name__}")
        self._emit(event_name, list(args), None)

    def _emit(self, event_name: str, event_args: list[Any], origin: object) -> None:
        text = encode_message(
            {
                "msg": "changed",
                "collection": self.publication,
                "id": STREAM_EVENT_ID,
                "fields": {"eventName": event_name, "args": event_args},
            }
        )
        loop = self._server._loop
        if loop is None:
            return  # never started: nobody can be subscribed
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event_name, event_args, text, origin)
            return
        if self.allow_emit is not None:
            event_args = ejson.clone(event_args)  # the hook runs later, on the loop
        try:
            loop.call_soon_threadsafe(self._deliver, event_name, event_args, text, origin)
        except RuntimeError:
            pass  # the loop is closed: the server stopped, so nobody is subscribed

    def subscriber_count(self, event_name: str | None = None) -> int:
        """Return how many live subscriptions follow ``event_name`` (all events: ``None``).

        Call it on the server's loop (``st.call(stream.subscriber_count)`` from a thread).
        """
        groups = (
            self._subscribers.values()
            if event_name is None
            else [self._subscribers.get(event_name, {})]
        )
        return sum(1 for group in groups for sub in group if not sub.stopped)

    # -- on the loop -------------------------------------------------------------------------

    def _deliver(self, event_name: str, args: list[Any], text: str, origin: object) -> None:
        group = self._subscribers.get(event_name)
        if not group:
            return
        allow_emit = self.allow_emit
        for sub in list(group):
            if sub.stopped:
                self._unregister(event_name, sub)
                continue
            if sub._session is origin:
                continue
            if allow_emit is not None and not self._emit_allowed(allow_emit, sub, event_name, args):
                continue
            sub._session.send_encoded(text)

    def _emit_allowed(
        self, allow_emit: AllowEmit, sub: Subscription, event_name: str, args: list[Any]
    ) -> bool:
        try:
            return bool(allow_emit(sub, event_name, args))
        except Exception:
            logger.exception("allow_emit of stream %r failed: event not sent", self.name)
            return False

    def _subscribe(self, sub: Subscription, params: tuple[Any, ...]) -> None:
        event_name, args = _parse_params(params)
        if self.allow_read is not None and not self.allow_read(sub, event_name, args):
            raise MethodError("not-allowed", f"Not allowed to read {self.publication}")
        self._subscribers.setdefault(event_name, {})[sub] = None
        sub.on_stop(lambda: self._unregister(event_name, sub))
        sub.ready()

    def client_emit(self, ctx: MethodContext, event_name: Any = None, *args: Any) -> None:
        """The method ``stream-<name>``: a client emits ``event_name`` with ``args``.

        Raises:
            MethodError: ``invalid-event-name`` without a name, ``not-allowed`` when
                ``allow_write`` is unset or refuses.
        """
        if not isinstance(event_name, str) or not event_name:
            raise MethodError("invalid-event-name", "A stream event needs a name")
        event_args = list(args)
        if self.allow_write is None or not self.allow_write(ctx, event_name, event_args):
            raise MethodError("not-allowed", f"Not allowed to write to {self.publication}")
        self._emit(event_name, event_args, None if self.retransmit_to_self else ctx._session)

    def _unregister(self, event_name: str, sub: Subscription) -> None:
        group = self._subscribers.get(event_name)
        if group is not None:
            group.pop(sub, None)
            if not group:
                del self._subscribers[event_name]


class _StreamPublication:
    """The publication handler of a stream; marked so that re-runs keep it delivering."""

    bypasses_mergebox = True

    def __init__(self, stream: ServerStream) -> None:
        self._stream = stream

    def __call__(self, sub: Subscription, *params: Any) -> None:
        self._stream._subscribe(sub, params)


def _parse_params(params: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """Return ``(event_name, args)`` from a stream subscription's params (Rocket.Chat's forms)."""
    if not params or not isinstance(params[0], str) or not params[0]:
        raise MethodError("invalid-event-name", "A stream subscription needs an event name")
    options = params[1] if len(params) > 1 else False
    args: Any = []
    if isinstance(options, dict):
        args = options.get("args", [])
    elif not isinstance(options, bool) and options is not None:
        raise MethodError(400, "Match failed")
    if not isinstance(args, list):
        raise MethodError(400, "Match failed")
    return params[0], args
