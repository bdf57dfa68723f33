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
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ddp.collection.changes import ChangeWatcher, CollectionChange
from ddp.collection.collection import Collection
from ddp.exceptions import EJSONError

__all__ = ["ChangeListener", "CollectionRegistry", "CollectionStats", "Dispatch"]

logger = logging.getLogger("ddp.collection")

Dispatch = Callable[[Callable[[], None]], None]

ChangeListener = Callable[[Sequence[CollectionChange]], object]
"""A change listener: called with the net changes of one applied batch (never empty)."""


@dataclass(frozen=True, slots=True)
class CollectionStats:
    """The size of one collection (the seed's ``CollectionStats``).

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

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        """Apply DDP data messages as one transaction (the core's ``DataStore`` interface).

        A malformed message (unknown ``msg``, missing ``collection`` or ``id``, a bad id) is
        logged and skipped; it never stops the rest of the batch.

        Args:
            messages: Decoded ``added``, ``changed``, ``removed``, ``addedBefore`` and
                ``movedBefore`` messages, applied in order. Their ``fields`` dicts become the
                store's own: the caller must not touch them afterwards.
            reset: First forget every document of every collection (after a reconnect).
        """
        with self._lock:
            touched: dict[str, Collection] = {}
            if reset:
                for name, collection in self._collections.items():
                    collection._reset()
                    if collection._observers:
                        touched[name] = collection
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
                        collection._added(wire_id, message.get("fields"))
                    elif kind == "changed":
                        collection._changed(wire_id, message.get("fields"), message.get("cleared"))
                    elif kind == "removed":
                        collection._removed(wire_id)
                    elif kind == "addedBefore":
                        collection._added_before(
                            wire_id, message.get("fields"), message.get("before")
                        )
                    elif kind == "movedBefore":
                        collection._moved_before(wire_id, message.get("before"))
                    else:
                        raise ValueError(f"not a data message: {kind!r}")
                except (KeyError, TypeError, ValueError, AttributeError, EJSONError) as exc:
                    logger.warning("ignored a bad data message (%s): %.200r", exc, message)
                    continue
                if collection._observers:
                    touched[name] = collection
            for collection in touched.values():
                collection._commit()
            if self._changes:
                self._queue_changes()
        self._deliver()

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
