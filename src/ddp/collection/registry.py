"""The store the protocol core feeds: every collection of one connection, by name.

``apply_batch`` is the one write path. It applies a batch of DDP data messages under a lock
and, only then, computes what each observer must hear (the net effect of the batch) and hands
those notifications to ``dispatch``. Notifications are queued in one outbox and delivered in
order, outside the lock, by whichever thread gets there first: a callback may read the store
(or even write to it) without deadlocking, and callbacks from two threads never interleave
out of order.

Change listeners (:meth:`CollectionRegistry.add_listener`) hear every batch's net changes,
store-wide, after the observers' callbacks of that batch. While there are none, no
collection carries a :class:`~ddp.collection.changes.ChangeWatcher` and the write path
does no extra work.

Update listeners (:meth:`CollectionRegistry.add_update_listener`) and streams
(:meth:`CollectionRegistry.add_stream`) hear every message instead, before the observers'
callbacks of the batch (see :mod:`ddp.collection.updates`).

A bad message (not a data message, a wrong type, a document deeper than
:data:`~ddp.collection.values.MAX_DEPTH`) is refused alone: the rest of its batch is
applied, the refusal is counted (:attr:`CollectionRegistry.bad_messages`), logged, and
handed to error listeners as a :class:`~ddp.exceptions.ProtocolError`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ddp.collection.changes import ChangeWatcher, CollectionChange
from ddp.collection.collection import Collection, _parse_id, adopt_wire_fields
from ddp.collection.updates import DataUpdate, Route, StreamCallback, Tap, UpdateListener
from ddp.collection.values import clone_value, exceeds_depth
from ddp.exceptions import EJSONError, ProtocolError

__all__ = [
    "ChangeListener",
    "CollectionRegistry",
    "CollectionStats",
    "Dispatch",
    "ErrorListener",
]

logger = logging.getLogger("ddp.collection")

Dispatch = Callable[[Callable[[], None]], None]

ChangeListener = Callable[[Sequence[CollectionChange]], object]
"""A change listener: called with the net changes of one applied batch (never empty)."""

ErrorListener = Callable[[ProtocolError], object]
"""An error listener: called with a :class:`~ddp.exceptions.ProtocolError` per refused message."""

# What applying a malformed message can raise; anything else is a bug of ours and propagates.
_BAD_MESSAGE = (KeyError, TypeError, ValueError, AttributeError, EJSONError, ProtocolError)
_DATA_KINDS = frozenset({"added", "changed", "removed", "addedBefore", "movedBefore"})
_Event = tuple[tuple[Tap, ...], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class CollectionStats:
    """How many documents one cached collection holds (``client.collection_stats()``).

    Attributes:
        name: The collection's name.
        count: How many documents it holds.
    """

    name: str
    count: int


def _call_now(fn: Callable[[], None]) -> None:
    fn()


class CollectionRegistry:
    """Every local collection of a connection; the protocol core's ``DataStore``.

    Args:
        dispatch: How observer callbacks are run: called with a no-argument function to run
            (on whatever thread it likes, in the order given). The default runs it at once
            on the thread that applied the batch; the blocking client passes a function that
            queues it to its dispatcher thread.
    """

    def __init__(self, dispatch: Dispatch | None = None) -> None:
        """Create an empty registry."""
        self._lock = threading.RLock()
        self._collections: dict[str, Collection] = {}
        self._dispatch: Dispatch = dispatch or _call_now
        self._outbox: deque[Callable[[], None]] = deque()
        self._delivering = threading.Lock()
        self._listeners: tuple[ChangeListener, ...] = ()
        self._changes: list[CollectionChange] = []  # the watchers' output for this batch
        self._watchers: dict[str, ChangeWatcher] = {}
        self._routes: dict[str, Route] = {}  # hooked collection names (see updates.py)
        self._global_taps: tuple[Tap, ...] = ()
        self._hooked = False  # any route or registry-wide update listener
        #: Makes the iterators of :meth:`Collection.changes` and :meth:`Collection.updates`
        #: (``feeds(what, collection_name, max_queue)``); a client sets it to its own.
        self.feeds: Callable[[str, str, int | None], Any] | None = None
        self._error_taps: tuple[Tap, ...] = ()
        self._bad_messages = 0
        # Canonical field-name strings, shared by every collection (see collection._adopt).
        self._keys: dict[str, str] = {}
        # A C-level partial: one Python call per frame on the ingest path.
        self._adopt_fields = functools.partial(adopt_wire_fields, self._keys)

    @property
    def bad_messages(self) -> int:
        """How many data messages were refused as malformed so far (see :meth:`apply_batch`)."""
        return self._bad_messages

    def get(self, name: str) -> Collection:
        """Return the collection called ``name``, creating it (empty) if need be.

        Raises:
            TypeError: If ``name`` is not a string.
        """
        collection = self._collections.get(name)
        if collection is None:
            if not isinstance(name, str):
                raise TypeError(f"a collection name must be a string, not {name!r}")
            with self._lock:
                collection = self._collections.get(name)
                if collection is None:
                    collection = self._collections[name] = Collection(name, self)
                    if self._listeners:
                        self._watch(collection)
        return collection

    def add_listener(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(changes)`` after every batch that changed documents.

        ``changes`` is a tuple of :class:`~ddp.collection.changes.CollectionChange`, the
        batch's net effect on each document it touched, across all collections, in the
        order the documents were first touched. A document that ends the batch as it began
        is not reported, so a reconnect that swaps the cache for the same documents reports
        only the real differences. Listeners run through ``dispatch``, after the observer
        callbacks of the same batch; an exception is logged and ignored. Documents already
        in the store when the listener is added are not reported (read them with ``find``).

        Args:
            listener: A callable taking the tuple of changes.

        Returns:
            A function that removes the listener (safe to call twice).

        Raises:
            TypeError: If ``listener`` is not callable.
        """
        if not callable(listener):
            raise TypeError("a change listener must be callable")
        with self._lock:
            if not self._listeners:
                for collection in self._collections.values():
                    self._watch(collection)
            self._listeners = (*self._listeners, listener)

        def remove() -> None:
            with self._lock:
                listeners = list(self._listeners)
                for i, known in enumerate(listeners):
                    if known is listener:
                        del listeners[i]
                        break
                else:
                    return
                self._listeners = tuple(listeners)
                if not listeners:
                    self._unwatch_all()

        return remove

    def _watch(self, collection: Collection) -> None:
        watcher = ChangeWatcher(collection, self._changes)
        self._watchers[collection.name] = watcher
        collection._observers.append(watcher)
        if collection._before is None:
            collection._before = {}

    def _unwatch_all(self) -> None:
        watchers, self._watchers = self._watchers, {}
        for name, watcher in watchers.items():
            collection = self._collections[name]
            collection._observers.remove(watcher)
            if not collection._observers:
                collection._before = None
        self._changes.clear()

    def _queue_changes(self) -> None:
        """Queue the batch's changes for the listeners (under the lock, after the commits)."""
        changes = tuple(self._changes)
        self._changes.clear()
        listeners = self._listeners

        def run() -> None:
            current = self._listeners
            for listener in listeners:
                if listener not in current:
                    continue  # removed since the batch: it must not hear of it any more
                try:
                    listener(changes)
                except Exception:
                    logger.exception("a collection change listener raised (ignored)")

        self._outbox.append(run)

    def add_update_listener(
        self, listener: UpdateListener, collection: str | None = None
    ) -> Callable[[], None]:
        """Call ``listener(update)`` for every data message applied from now on.

        Each ``added``, ``changed``, ``removed``, ``addedBefore`` and ``movedBefore`` message
        of ``collection`` (or of every collection, when ``collection`` is ``None``) becomes
        one :class:`~ddp.collection.updates.DataUpdate`, exactly once, in arrival order,
        never merged with another: four ``changed`` of one document are four calls, even
        when they carry the same fields. Collections no subscription names and streams
        (:meth:`add_stream`) are included; refused messages are not.

        Messages reach the store when the protocol core applies them, so the listener hears
        them then: after a method's writes wait for its ``updated``, and after a reconnect
        when the new session's subscriptions are all ready; that first batch of a new
        session replaces the whole store, and its messages carry ``replay=True``. The calls
        run through ``dispatch`` before the observer callbacks of the same batch; an
        exception is logged and ignored. With no listener and no stream, applying a batch
        costs nothing extra.

        Args:
            listener: A callable taking a ``DataUpdate``.
            collection: A collection name, or ``None`` for every collection.

        Returns:
            A function that removes the listener (safe to call twice); the listener hears
            nothing more once it returns.

        Raises:
            TypeError: If ``listener`` is not callable or ``collection`` not a string.
        """
        if not callable(listener):
            raise TypeError("an update listener must be callable")
        if collection is not None and not isinstance(collection, str):
            raise TypeError(f"a collection name must be a string, not {collection!r}")
        tap = Tap(listener)
        with self._lock:
            if collection is None:
                self._global_taps = (*self._global_taps, tap)
            else:
                route = self._routes.setdefault(collection, Route())
                route.own = (*route.own, tap)
            self._rebuild_routes()

        def remove() -> None:
            with self._lock:
                if not tap.active:
                    return
                tap.active = False
                if collection is None:
                    self._global_taps = tuple(t for t in self._global_taps if t is not tap)
                else:
                    route = self._routes[collection]
                    route.own = tuple(t for t in route.own if t is not tap)
                self._rebuild_routes()

        return remove

    def add_stream(self, name: str, callback: StreamCallback) -> Callable[[], None]:
        """Treat collection ``name`` as a Meteor stream: each ``changed`` is one event.

        In the streamer protocol (Rocket.Chat's ``stream-room-messages``, ``stream-notify-*``)
        every event arrives as ``changed`` of one fixed document, with the fields
        ``eventName`` and ``args``. From now on the registry calls ``callback(event_name,
        args)`` for each such message, in arrival order, one call per message (repeated
        identical events included), and never stores the stream's messages, so the store
        does not grow. ``added`` and ``removed`` of a stream are ignored (update listeners
        still hear every message). A ``changed`` without a list ``args`` is refused as a bad
        message. The calls run through ``dispatch`` like observer callbacks; an exception
        is logged and ignored. Several callbacks may follow one stream.

        Args:
            name: The stream's collection name, as the server publishes it.
            callback: ``callback(event_name, args)``; ``args`` is the list of the event's
                decoded arguments (the callback's own: it may keep it).

        Returns:
            A function that removes the callback (safe to call twice). Once the last
            callback of a stream is removed, its name is an ordinary collection again.

        Raises:
            TypeError: If ``name`` is not a string or ``callback`` not callable.
        """
        if not isinstance(name, str):
            raise TypeError(f"a stream name must be a string, not {name!r}")
        if not callable(callback):
            raise TypeError("a stream callback must be callable")
        tap = Tap(callback)
        with self._lock:
            route = self._routes.setdefault(name, Route())
            route.stream = (*route.stream, tap)
            self._rebuild_routes()

        def remove() -> None:
            with self._lock:
                if not tap.active:
                    return
                tap.active = False
                route = self._routes[name]
                route.stream = tuple(t for t in route.stream if t is not tap)
                self._rebuild_routes()

        return remove

    def is_stream(self, name: str) -> bool:
        """Return whether ``name`` is followed as a stream (see :meth:`add_stream`)."""
        route = self._routes.get(name)
        return route is not None and bool(route.stream)

    def add_error_listener(self, listener: ErrorListener) -> Callable[[], None]:
        """Call ``listener(error)`` for every data message refused as malformed.

        ``error`` is a :class:`~ddp.exceptions.ProtocolError` naming the message's kind,
        collection and id (never its fields) and why it was refused (its ``__cause__`` is
        the original exception). The calls run through ``dispatch``, in order with the
        other callbacks; an exception is logged and ignored.

        Args:
            listener: A callable taking the error.

        Returns:
            A function that removes the listener (safe to call twice).

        Raises:
            TypeError: If ``listener`` is not callable.
        """
        if not callable(listener):
            raise TypeError("an error listener must be callable")
        tap = Tap(listener)
        with self._lock:
            self._error_taps = (*self._error_taps, tap)

        def remove() -> None:
            with self._lock:
                tap.active = False
                self._error_taps = tuple(t for t in self._error_taps if t is not tap)

        return remove

    def _rebuild_routes(self) -> None:
        """Recompute every route's taps after a registration changed (under the lock)."""
        global_taps = self._global_taps
        for name, route in list(self._routes.items()):
            if not route.own and not route.stream:
                del self._routes[name]
            else:
                route.taps = route.own + global_taps
        self._hooked = bool(self._routes or global_taps)

    def names(self) -> list[str]:
        """Return the names of the collections known so far, sorted."""
        with self._lock:
            return sorted(self._collections)

    def stats(self) -> list[CollectionStats]:
        """Return the size of every collection, sorted by name."""
        with self._lock:
            return [CollectionStats(name, len(c)) for name, c in sorted(self._collections.items())]

    def clear(self) -> None:
        """Forget every document (observers hear the removals, as one batch)."""
        self.apply_batch((), reset=True)

    @property
    def adopt_fields(self) -> Callable[[dict[str, Any]], Any]:
        """``adopt_fields(fields)``: EJSON-decode a data message's ``fields`` into the store's form.

        The protocol core calls it for each ``added``, ``changed`` and ``addedBefore``
        message as it parses it (see :func:`ddp.messages.parse_message`), then hands the
        messages to :meth:`apply_adopted_batch`: the one walk over the fields that decodes
        dates and other typed values also freezes arrays and shares key strings, so the
        store has nothing left to walk. Thread-safe: it reads no document, only the shared
        table of field-name strings.

        The function takes ``fields``, the object as parsed (plain JSON values), which the
        caller gives away, and returns the message's new ``fields`` (or, for ``fields``
        that are the wire form of a typed value, that value, which the core then refuses
        as not an object).

        Raises:
            EJSONError: A malformed typed value.
            DocumentDepthError: A value nests deeper than
                :data:`~ddp.collection.values.MAX_DEPTH` (a DDP frame within
                :data:`ddp.ejson.MAX_DEPTH` never does).
        """
        return self._adopt_fields

    def apply_adopted_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        """:meth:`apply_batch` for messages whose ``fields`` came from :meth:`adopt_fields`.

        The store takes those dicts as they are (their values are not walked again).
        """
        self._apply_batch(messages, reset, True)

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        """Apply DDP data messages as one transaction (the core's ``DataStore`` interface).

        A bad message (unknown ``msg``, missing or mistyped ``collection``, ``id``,
        ``fields`` or ``cleared``, a document nested deeper than
        :data:`~ddp.collection.values.MAX_DEPTH`) is refused alone and leaves no trace in
        the store: the others of the batch are applied. Each refusal is counted in
        :attr:`bad_messages`, handed to error listeners (:meth:`add_error_listener`), and
        logged (logger ``ddp.collection``) with the message's kind, collection and id, never
        its fields: the first at WARNING, the rest at DEBUG, so that a hostile server cannot
        flood the log.

        Args:
            messages: Decoded ``added``, ``changed``, ``removed``, ``addedBefore`` and
                ``movedBefore`` messages, applied in order. Their ``fields`` dicts become the
                store's own: the caller must not touch them afterwards.
            reset: First forget every document of every collection (after a reconnect).
        """
        self._apply_batch(messages, reset, False)

    def _apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool, adopted: bool) -> None:
        with self._lock:
            touched: dict[str, Collection] = {}
            if reset:
                for name, collection in self._collections.items():
                    collection._reset()
                    if collection._observers:
                        touched[name] = collection
            if self._hooked:
                self._apply_hooked(messages, reset, touched, adopted)
            else:
                # The hot path of ingest: ``_apply`` inlined (a call per message shows).
                collections = self._collections
                for message in messages:
                    try:
                        name = message["collection"]
                        collection = collections.get(name) or self.get(name)
                        kind = message["msg"]
                        wire_id = message["id"]
                        if type(wire_id) is not str:
                            raise TypeError("id must be a string")
                        if kind == "added":
                            collection._added(wire_id, message.get("fields"), adopted)
                        elif kind == "changed":
                            collection._changed(
                                wire_id, message.get("fields"), message.get("cleared"), adopted
                            )
                        else:
                            _apply(collection, message, adopted)
                    except _BAD_MESSAGE as exc:
                        self._refuse(message, exc)
                        continue
                    except RecursionError:
                        self._refuse(message, ProtocolError("a value nests too deeply"))
                        continue
                    if collection._observers:
                        touched[name] = collection
            for collection in touched.values():
                collection._commit()
            if self._changes:
                self._queue_changes()
        self._deliver()

    def _apply_hooked(
        self,
        messages: Sequence[dict[str, Any]],
        reset: bool,
        touched: dict[str, Collection],
        adopted: bool,
    ) -> None:
        """``apply_batch``'s loop while update listeners or streams exist (under the lock)."""
        collections, routes, global_taps = self._collections, self._routes, self._global_taps
        events: list[_Event] = []
        for message in messages:
            try:
                name = message["collection"]
                route = routes.get(name) if type(name) is str else None
                if route is not None and route.stream:
                    event = _stream_event(message, adopted)
                    if event is not None:
                        events.append((route.stream, event))
                else:
                    collection = collections.get(name) or self.get(name)
                    _apply(collection, message, adopted)
                    if collection._observers:
                        touched[name] = collection
                taps = global_taps if route is None else route.taps
                if taps:
                    events.append((taps, (_data_update(name, message, reset),)))
            except _BAD_MESSAGE as exc:
                self._refuse(message, exc, events)
            except RecursionError:
                self._refuse(message, ProtocolError("a value nests too deeply"), events)
        if events:
            self._outbox.append(lambda: _run_events(events))

    def _refuse(self, message: Any, exc: Exception, events: list[_Event] | None = None) -> None:
        """Count, log and report one refused message (under the lock).

        The report joins ``events`` when given (the batch's hook calls, so that it keeps its
        place among them), the outbox otherwise.
        """
        self._bad_messages += 1
        if isinstance(message, dict):
            what = (
                f"{_short(message.get('msg'))} of {_short(message.get('collection'))}"
                f" id {_short(message.get('id'))}"
            )
        else:
            what = f"a {type(message).__name__}"
        error = ProtocolError(f"refused a bad data message ({what}): {exc}")
        error.__cause__ = exc
        if self._bad_messages == 1:
            logger.warning("%s; further ones are logged at DEBUG (see bad_messages)", error)
        else:
            logger.debug("%s (%d so far)", error, self._bad_messages)
        taps = self._error_taps
        if taps:
            if events is not None:
                events.append((taps, (error,)))
            else:
                self._outbox.append(lambda: _run_events([(taps, (error,))]))

    def _deliver(self) -> None:
        """Hand queued notifications to ``dispatch``, in order, from one thread at a time."""
        outbox = self._outbox
        while outbox:
            # Whoever holds the delivery lock empties the outbox; the re-check after
            # releasing it catches items queued meanwhile by a thread that gave up.
            if not self._delivering.acquire(blocking=False):
                return
            try:
                while outbox:
                    try:
                        self._dispatch(outbox.popleft())
                    except Exception:
                        logger.exception("dispatching an observer callback failed")
            finally:
                self._delivering.release()


def _apply(collection: Collection, message: dict[str, Any], adopted: bool) -> None:
    """Apply one data message to its collection (under the lock); raises if it is bad."""
    kind = message["msg"]
    wire_id = message["id"]
    if type(wire_id) is not str:
        raise TypeError("id must be a string")
    if kind == "added":
        collection._added(wire_id, message.get("fields"), adopted)
    elif kind == "changed":
        collection._changed(wire_id, message.get("fields"), message.get("cleared"), adopted)
    elif kind == "removed":
        collection._removed(wire_id)
    elif kind == "addedBefore":
        collection._added_before(wire_id, message.get("fields"), message.get("before"), adopted)
    elif kind == "movedBefore":
        collection._moved_before(wire_id, message.get("before"))
    else:
        raise ValueError(f"not a data message: {_short(kind)}")


def _stream_event(message: dict[str, Any], adopted: bool) -> tuple[Any, list[Any]] | None:
    """The ``(event_name, args)`` of a stream's message, ``None`` if it is no event."""
    kind = message["msg"]
    if type(message["id"]) is not str:
        raise TypeError("id must be a string")
    if kind != "changed":
        if kind not in _DATA_KINDS:
            raise ValueError(f"not a data message: {_short(kind)}")
        return None
    fields = message.get("fields")
    if type(fields) is not dict:
        raise TypeError("a stream event needs fields")
    args: Any = fields.get("args")
    if type(args) is not (tuple if adopted else list):
        raise TypeError("a stream event's args must be a list")
    if exceeds_depth(fields):
        raise ProtocolError("a stream event nests too deeply")
    if adopted:
        # Adopted fields (see CollectionRegistry.adopt_fields) hold arrays frozen: the
        # callback gets lists, as from any other source.
        args = clone_value(args)
    return fields.get("eventName"), args


def _data_update(name: str, message: dict[str, Any], replay: bool) -> DataUpdate:
    """The listeners' copy of one applied message (its values already checked for depth)."""
    kind = message["msg"]
    fields: dict[str, Any] | None = None
    if kind != "removed" and kind != "movedBefore":
        raw = message.get("fields")
        # For a new document, ``raw`` is now the stored document itself (adopted, frozen,
        # with its ``_id``): the copy turns its arrays back into lists and drops the id.
        fields = {} if raw is None else {k: clone_value(v) for k, v in raw.items() if k != "_id"}
    before = message.get("before")
    return DataUpdate(
        collection=name,
        msg=kind,
        id=_parse_id(message["id"]),
        fields=fields,
        cleared=_names(message.get("cleared")) if kind == "changed" else (),
        before=_parse_id(before) if type(before) is str else None,
        replay=replay,
    )


def _names(cleared: Any) -> tuple[str, ...]:
    # ``cleared`` of a change to a missing document is never looked at by the store.
    if not isinstance(cleared, list | tuple):
        return ()
    return tuple(name for name in cleared if type(name) is str)


def _run_events(events: list[_Event]) -> None:
    """Deliver queued hook calls in order, skipping hooks removed since they were queued."""
    for taps, args in events:
        for tap in taps:
            if tap.active:
                try:
                    tap.fn(*args)
                except Exception:
                    logger.exception("a collection update listener or stream callback raised")


def _short(value: Any) -> str:
    """A bounded, printable form of a message part (for logs: never a whole document)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
