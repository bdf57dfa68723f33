"""The store the protocol core feeds: every collection of one connection, by name.

``apply_batch`` is the one write path. It applies a batch of DDP data messages under a lock
and, only then, computes what each observer must hear (the net effect of the batch) and hands
those notifications to ``dispatch``. Notifications are queued in one outbox and delivered in
order, outside the lock, by whichever thread gets there first: a callback may read the store
(or even write to it) without deadlocking, and callbacks from two threads never interleave
out of order.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ddp.collection.collection import Collection
from ddp.exceptions import EJSONError

__all__ = ["CollectionRegistry", "CollectionStats", "Dispatch"]

logger = logging.getLogger("ddp.collection")

Dispatch = Callable[[Callable[[], None]], None]


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
                collection = self._collections.setdefault(name, Collection(name, self))
        return collection

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
