"""Meteor streams, update listeners and change iterators: the part both clients share.

A Meteor *stream* (the streamer pattern Rocket.Chat uses) is a publication whose every event
is a ``changed`` of one fixed document, ``fields = {"eventName": ..., "args": [...]}``. The
store's stream hook (:meth:`ddp.collection.CollectionRegistry.add_stream`) turns each such
message into ``(event_name, args)``, unmerged and unstored; :class:`Hub` (owned by the
session) subscribes, routes each event to the streams that follow its event name, and ends
them when their subscription ends. Streams of the same publication and event name share one
DDP subscription, so each event reaches each of them once (data messages name no
subscription, so two subscriptions to one event would deliver it twice: opening a stream
with other params than the running one is refused).

The hub also keeps the other feeds (change and data-message iterators, the asyncio
``events()`` streams) so that they all end when the client closes or fails, and counts the
items their bounded queues dropped (:mod:`ddp._feeds`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, TypedDict

from ddp import ejson
from ddp._feeds import Feed
from ddp._handles import BaseSubscription
from ddp._listeners import ListenerRegistry
from ddp.collection import CollectionChange, CollectionRegistry, DataUpdate
from ddp.exceptions import DDPError, InvalidStateError

__all__ = [
    "Hub",
    "StreamEvent",
    "StreamMixin",
    "StreamOptions",
    "StreamTarget",
    "stream_params",
    "stream_target",
]

logger = logging.getLogger("ddp.client")


class StreamEvent(NamedTuple):
    """One event of a Meteor stream: unpack it as ``event_name, args = event``.

    Attributes:
        name: The event's name (``fields.eventName``: a room id, ``"<room>/typing"``...).
        args: The event's arguments, EJSON-decoded (the consumer's own copy).
    """

    name: Any
    args: list[Any]


def stream_params(
    event_name: str, args: Sequence[Any], with_options: bool | None
) -> tuple[Any, ...]:
    """Return the ``sub`` params of a stream, in one of Rocket.Chat's two forms.

    ``[event_name, false]`` when there are no ``args`` (``with_options`` unset or false);
    ``[event_name, {"useCollection": false, "args": [...]}]`` when there are, or when
    ``with_options`` is true.

    Raises:
        TypeError: ``event_name`` is not a non-empty string.
        ValueError: ``args`` given with ``with_options=False``.
    """
    if not isinstance(event_name, str) or not event_name:
        raise TypeError("a stream's event name must be a non-empty string")
    options = bool(args) if with_options is None else with_options
    if options:
        return (event_name, {"useCollection": False, "args": list(args)})
    if args:
        raise ValueError("a stream's args need the options form (with_options=True)")
    return (event_name, False)


class StreamOptions(TypedDict, total=False):
    """The keyword options of both clients' ``stream()`` (described in its docstring)."""

    with_options: bool | None
    callback: Callable[[Any, list[Any]], Any] | None
    max_queue: int | None


@dataclass(frozen=True, slots=True)
class StreamTarget:
    """What one ``stream()`` call follows: checked once, for both clients."""

    name: str
    event_name: str
    params: tuple[Any, ...]
    callback: Callable[..., Any] | None


def stream_target(
    name: str, event_name: str, args: Sequence[Any], options: StreamOptions
) -> StreamTarget:
    """Check a ``stream()`` call's arguments and return what it follows.

    Raises:
        TypeError: A bad name, event name or callback.
        ValueError: ``args`` given with ``with_options=False``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("a stream name must be a non-empty string")
    callback = options.get("callback")
    if callback is not None and not callable(callback):
        raise TypeError("a stream callback must be callable")
    params = stream_params(event_name, args, options.get("with_options"))
    return StreamTarget(name, event_name, params, callback)


class StreamMixin:
    """What both clients' ``Stream`` handles hold (set by :meth:`Hub.open_stream`).

    A stream yields every event of its event name as a :class:`StreamEvent`, in arrival
    order, never merged (two identical payloads are two events), and stores nothing. As a
    context manager it waits for the subscription to be ready (raising
    :class:`ddp.SubscriptionError` if the server refuses it) and stops it at the end. It
    survives reconnects (re-subscribed like any subscription); events the server sent
    while the client was disconnected are not invented: a resumed session gets what the
    server queued for it, a new one starts from its new subscription. Reading ends when
    the stream or the client is closed, and raises the error when the server ends the
    subscription with one. The queue is bounded (``max_queue``): a consumer that falls
    behind loses the oldest events, counted in ``dropped`` and
    ``ClientStats.dropped_events``, with one WARNING per overflow episode. With a
    ``callback``, events go to it instead and the stream cannot be read.

    Attributes:
        name: The stream's publication (and collection) name, ``"stream-room-messages"``.
        event_name: The event name it follows (the first ``sub`` param).
        params: The ``sub`` params sent.
        subscription: The DDP subscription behind it (shared by the streams of the same
            publication and params).
    """

    name: str
    event_name: str
    params: tuple[Any, ...]
    subscription: BaseSubscription
    _callback: Callable[..., Any] | None

    def _init_stream(self, target: StreamTarget) -> None:
        self.name = target.name
        self.event_name = target.event_name
        self.params = target.params
        self._callback = target.callback

    def _check_iterable(self) -> None:
        if self._callback is not None:
            raise InvalidStateError("this stream delivers to its callback; it cannot be read")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.event_name!r}>"


@dataclass(eq=False)
class _Shared:
    """One DDP subscription and the streams that read it."""

    key: tuple[str, Any]
    sub: BaseSubscription
    streams: list[Any] = field(default_factory=list)


def _ignore(event_name: Any, args: list[Any]) -> None:
    """The guard hook: a stream collection's events never reach the store."""


class Hub:
    """The session's table of streams and feeds (see the module docstring).

    Args:
        registry: The store (``None`` with ``collections=False``: no streams, no feeds).
        notify: Runs a function later, in order with the store's hook calls (the driver's
            loop or dispatcher thread).
        defer: How user callbacks leave the receive path (``None``: the store already
            calls its hooks on the dispatcher thread).
        on_awaitable: What to do with an awaitable a user callback returned.
    """

    def __init__(
        self,
        registry: CollectionRegistry | None,
        notify: Callable[[Callable[[], None]], None],
        defer: Callable[[Callable[[], None]], None] | None,
        on_awaitable: Callable[[Awaitable[Any]], None] | None,
    ) -> None:
        self._registry = registry
        self._notify = notify
        self._defer = defer
        self._on_awaitable = on_awaitable
        self._shared: dict[tuple[str, Any], _Shared] = {}
        self._by_sub: dict[str, _Shared] = {}
        self._guards: set[str] = set()
        self._feeds: set[Feed[Any]] = set()
        #: Items the bounded feeds dropped (``ClientStats.dropped_events``).
        self.dropped = 0

    def count_drop(self, n: int) -> None:
        """A feed dropped ``n`` items (its ``on_drop``)."""
        self.dropped += n

    def registry(self) -> CollectionRegistry:
        """The store, or raise: this client keeps none."""
        if self._registry is None:
            raise InvalidStateError("this client keeps no collections (collections=False)")
        return self._registry

    # -- user callbacks ----------------------------------------------------------------
    def _isolated(self, kind: str, callback: Callable[..., Any]) -> Callable[..., None]:
        """``callback`` isolated (exceptions logged, awaitables run) and off the receive path."""
        listeners: ListenerRegistry[...] = ListenerRegistry(kind, self._on_awaitable)
        listeners.add(callback)
        emit = listeners.emit
        defer = self._defer
        if defer is None:
            return emit

        def deferred(*args: Any) -> None:
            defer(partial(emit, *args))

        return deferred

    def on_update(
        self, callback: Callable[[DataUpdate], Any], collection: str | None
    ) -> Callable[[], None]:
        """Register an update listener (``client.on_update``); return its remover."""
        if not callable(callback):
            raise TypeError("an update listener must be callable")
        registry = self.registry()
        return registry.add_update_listener(self._isolated("update", callback), collection)

    # -- feeds -------------------------------------------------------------------------
    def watch_updates(self, feed: Feed[DataUpdate], collection: str | None) -> None:
        """Feed every data message (of ``collection``, or all) into ``feed``."""
        self._attach(feed, self.registry().add_update_listener(feed._put, collection))

    def watch_changes(self, feed: Feed[CollectionChange], collection: str | None) -> None:
        """Feed the net changes of every batch (of ``collection``, or all) into ``feed``."""
        if collection is not None and not isinstance(collection, str):
            raise TypeError(f"a collection name must be a string, not {collection!r}")
        put = feed._put

        def listener(changes: Sequence[CollectionChange]) -> None:
            for change in changes:
                if collection is None or change.collection == collection:
                    put(change)

        self._attach(feed, self.registry().add_listener(listener))

    def _attach(self, feed: Feed[Any], unhook: Callable[[], None]) -> None:
        self.track(feed)

        def remove() -> None:
            unhook()
            self._feeds.discard(feed)

        feed._unhook = remove

    def track(self, feed: Feed[Any]) -> None:
        """End ``feed`` with the client (:meth:`end_all`)."""
        self._feeds.add(feed)

    # -- streams -----------------------------------------------------------------------
    def open_stream(self, stream: Any, subscribe: Callable[[], BaseSubscription]) -> None:
        """Start ``stream`` (a driver's ``Stream``): hook it, then share or make its sub.

        ``subscribe()`` makes the subscription when none with the same name and params
        runs. Events are routed from now on (the hook is in place before the ``sub`` goes
        out).
        """
        registry = self.registry()
        name: str = stream.name
        key = (name, stream.event_name)
        shared = self._shared.get(key)
        if shared is not None and not shared.sub.stopped:
            if not ejson.equals(list(shared.sub.params), list(stream.params)):
                # DDP data messages name no subscription: a second subscription to the
                # same events would deliver each event twice to every stream of them.
                raise InvalidStateError(
                    f"{name} {stream.event_name!r} is already followed with other params "
                    f"({shared.sub.params!r}); stop those streams first"
                )
        if name not in self._guards:
            # Once followed as a stream, a collection stays one for this client: a late
            # event (after the last stream stopped) must not become a stored document.
            registry.add_stream(name, _ignore)
            self._guards.add(name)
        callback = stream._callback
        if callback is None:
            put = stream._put
            event_name = stream.event_name

            def tap(name: Any, args: list[Any]) -> None:
                if name == event_name:
                    put(StreamEvent(name, args))

        else:
            deliver = self._isolated("stream", callback)
            event_name = stream.event_name

            def tap(name: Any, args: list[Any]) -> None:
                if name == event_name:
                    deliver(name, args)

        unhook = registry.add_stream(name, tap)
        try:
            if shared is None or shared.sub.stopped:
                shared = _Shared(key, subscribe())
                self._shared[key] = shared
                self._by_sub[shared.sub.id] = shared
        except BaseException:
            unhook()
            raise
        shared.streams.append(stream)
        stream.subscription = shared.sub
        stream._unhook = unhook
        self._feeds.add(stream)

    def close_stream(self, stream: Any) -> BaseSubscription | None:
        """Stop ``stream``; return the subscription to stop when it was the last reader."""
        unhook, stream._unhook = stream._unhook, None
        if unhook is not None:
            unhook()
        sub: BaseSubscription | None = getattr(stream, "subscription", None)
        # Stopped after the server refused or ended it: readers still learn why.
        stream._end(None if sub is None else sub.error)
        self._feeds.discard(stream)
        shared = None if sub is None else self._by_sub.get(sub.id)
        if shared is None or stream not in shared.streams:
            return None
        shared.streams.remove(stream)
        if shared.streams:
            return None
        self._forget(shared)
        return shared.sub

    def _forget(self, shared: _Shared) -> None:
        self._by_sub.pop(shared.sub.id, None)
        if self._shared.get(shared.key) is shared:
            del self._shared[shared.key]

    def sub_stopped(self, sub_id: str, error: DDPError | None) -> None:
        """A subscription ended (``nosub``, or stopped by hand): end its streams, after the
        events already on their way."""
        shared = self._by_sub.get(sub_id)
        if shared is None:
            return
        self._forget(shared)
        for stream in shared.streams:
            unhook, stream._unhook = stream._unhook, None
            if unhook is not None:
                unhook()
            self._feeds.discard(stream)
            self._notify(partial(stream._end, error))

    def end_all(self, error: DDPError, *, now: bool = False) -> None:
        """The client closed or failed: end every feed (after what is already queued for
        them, unless ``now``)."""
        shared, self._shared, self._by_sub = list(self._shared.values()), {}, {}
        for entry in shared:
            for stream in entry.streams:
                unhook, stream._unhook = stream._unhook, None
                if unhook is not None:
                    unhook()
        feeds = list(self._feeds)
        if now:
            self._feeds.clear()
        for feed in feeds:
            if now:
                feed._end(error)
            else:
                self._notify(partial(feed._end, error))
