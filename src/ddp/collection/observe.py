"""Live queries: ``observe`` and ``observe_changes`` kept up to date batch by batch.

Theory of operation. A :class:`LiveQuery` remembers which documents (by wire id) are in its
result, and in what order when order matters. After each batch the collection hands it the
snapshots of the documents the batch touched (``before``: wire id -> the document before the
batch, ``None`` if it did not exist). Only those documents are matched again, so a batch
costs the observer O(touched), not O(collection):

* unordered results (no ordered callbacks, no skip/limit): a membership set; each touched
  document is added, changed or removed;
* ordered results without skip/limit: a list kept sorted by key (``bisect``); each touched
  document is removed, inserted or moved in place, and its event emitted at once;
* windows (``limit``): the same list cut to the limit; when a member leaves a full window
  (or moves down in it) the window is refilled from the store, as minimongo does; the old and
  new windows are then diffed (longest increasing subsequence, so the fewest moves);
* ``skip``, or no sort (arrival order, or an ordered collection's order, is no key to bisect
  by): the result is recomputed and diffed, only when the batch touched a document that
  matches (or matched) the query.

Events go to a *sink*, which turns them into the user's callbacks (with copies of the
documents) and queues them in the registry's outbox; the registry delivers them through its
``dispatch`` after the lock is released. A callback that raises is logged (logger
``ddp.collection``) and changes nothing.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ddp import ejson
from ddp.collection.positions import PositionList
from ddp.collection.values import MISSING, clone_value

if TYPE_CHECKING:
    from ddp.collection.cursor import Cursor

__all__ = ["LiveQuery", "ObserveHandle", "observe", "observe_changes"]

logger = logging.getLogger("ddp.collection")

Callback = Callable[..., Any]
_Outbox = deque[Callable[[], None]]
_Doc = dict[str, Any]


class ObserveHandle:
    """What ``observe``/``observe_changes`` return: call :meth:`stop` to stop the callbacks.

    Also a context manager that stops on exit.
    """

    def __init__(self, live: LiveQuery) -> None:
        """Wrap a started live query."""
        self._live = live

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._live.stopped

    def stop(self) -> None:
        """Stop the observer; no callback runs after this returns (idempotent)."""
        self._live.stop()

    def __enter__(self) -> ObserveHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Sink:
    """Turns result events into queued user callbacks (base of the two callback styles)."""

    ordered = False

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.outbox: _Outbox = deque()  # replaced by the registry's at start
        self.live: LiveQuery | None = None

    def call(self, fn: Callback, *args: Any) -> None:
        live = self.live

        def run() -> None:
            if live is not None and live.stopped:
                return
            try:
                fn(*args)
            except Exception:
                logger.exception("an observer callback raised (ignored)")

        self.outbox.append(run)

    def project(self, doc: _Doc) -> _Doc:
        projection = self.cursor.projection
        return doc if projection is None else projection(doc)

    def id_of(self, wire_id: str | None) -> Any:
        if wire_id is None:
            return None
        # An anchor may be a document this batch removes further on (not yet processed).
        assert self.live is not None
        return self.live.doc_of(wire_id)["_id"]

    def added(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        raise NotImplementedError

    def changed(self, wire_id: str, new: _Doc, old: _Doc) -> None:
        raise NotImplementedError

    def removed(self, wire_id: str, old: _Doc) -> None:
        raise NotImplementedError

    def moved(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        raise NotImplementedError


def _fields_diff(old: _Doc, new: _Doc) -> _Doc:
    diff = {
        k: clone_value(v)
        for k, v in new.items()
        if k != "_id" and (k not in old or not ejson.equals(old[k], v))
    }
    for k in old:
        if k not in new and k != "_id":
            diff[k] = MISSING
    return diff


class _ChangesSink(_Sink):
    def __init__(self, cursor: Cursor, callbacks: dict[str, Callback | None]) -> None:
        super().__init__(cursor)
        self.cb = callbacks
        self.ordered = bool(callbacks["added_before"] or callbacks["moved_before"])

    def added(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        fields = clone_value(self.project(doc))
        fields.pop("_id", None)
        if self.cb["added_before"]:
            self.call(self.cb["added_before"], doc["_id"], fields, self.id_of(before))
        elif self.cb["added"]:
            self.call(self.cb["added"], doc["_id"], fields)

    def changed(self, wire_id: str, new: _Doc, old: _Doc) -> None:
        if self.cb["changed"]:
            diff = _fields_diff(self.project(old), self.project(new))
            if diff:
                self.call(self.cb["changed"], new["_id"], diff)

    def removed(self, wire_id: str, old: _Doc) -> None:
        if self.cb["removed"]:
            self.call(self.cb["removed"], old["_id"])

    def moved(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        if self.cb["moved_before"]:
            self.call(self.cb["moved_before"], doc["_id"], self.id_of(before))


class _DocsSink(_Sink):
    def __init__(self, cursor: Cursor, callbacks: dict[str, Callback | None]) -> None:
        super().__init__(cursor)
        self.cb = callbacks
        self.ordered = any(
            callbacks[k] for k in ("added_at", "changed_at", "removed_at", "moved_to")
        )
        # Wire ids in the order the user has seen (ordered only); a PositionList, because
        # every event needs an index and a list's index() is a scan (O(n) per event).
        self.mirror = PositionList()

    def _index(self, wire_id: str | None) -> int:
        return len(self.mirror) if wire_id is None else self.mirror.index(wire_id)

    def added(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        copy = self.cursor.present(doc)
        if self.ordered:
            index = self._index(before)
            self.mirror.insert(index, wire_id)
            if self.cb["added_at"]:
                self.call(self.cb["added_at"], copy, index, self.id_of(before))
                return
        if self.cb["added"]:
            self.call(self.cb["added"], copy)

    def changed(self, wire_id: str, new: _Doc, old: _Doc) -> None:
        new_view, old_view = self.project(new), self.project(old)
        if ejson.equals(new_view, old_view):
            return
        new_copy, old_copy = clone_value(new_view), clone_value(old_view)
        if self.ordered and self.cb["changed_at"]:
            self.call(self.cb["changed_at"], new_copy, old_copy, self._index(wire_id))
        elif self.cb["changed"]:
            self.call(self.cb["changed"], new_copy, old_copy)

    def removed(self, wire_id: str, old: _Doc) -> None:
        copy = self.cursor.present(old)
        if self.ordered:
            index = self._index(wire_id)
            self.mirror.delete(index)
            if self.cb["removed_at"]:
                self.call(self.cb["removed_at"], copy, index)
                return
        if self.cb["removed"]:
            self.call(self.cb["removed"], copy)

    def moved(self, wire_id: str, doc: _Doc, before: str | None) -> None:
        if not self.ordered:
            return
        source = self._index(wire_id)
        self.mirror.delete(source)
        target = self._index(before)
        self.mirror.insert(target, wire_id)
        if self.cb["moved_to"]:
            self.call(
                self.cb["moved_to"], self.cursor.present(doc), source, target, self.id_of(before)
            )


def _longest_increasing(seq: list[int]) -> set[int]:
    """Return the values of one longest strictly increasing subsequence of ``seq``."""
    tail_values: list[int] = []  # smallest tail value of an increasing run of each length
    tail_index: list[int] = []
    parents = [-1] * len(seq)
    for i, value in enumerate(seq):
        k = bisect_left(tail_values, value)
        if k:
            parents[i] = tail_index[k - 1]
        if k == len(tail_values):
            tail_values.append(value)
            tail_index.append(i)
        else:
            tail_values[k] = value
            tail_index[k] = i
    out: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        out.add(seq[i])
        i = parents[i]
    return out


class LiveQuery:
    """The state of one observer of one cursor (see the module docstring)."""

    def __init__(self, cursor: Cursor, sink: _Sink) -> None:
        """Prepare (not yet start) a live query of ``cursor`` feeding ``sink``."""
        self.cursor = cursor
        self.collection = cursor.collection
        self.sink = sink
        self.windowed = cursor.skip > 0 or cursor.limit is not None
        self.ordered = sink.ordered or self.windowed
        self.stopped = False
        self.members: set[str] = set()  # unordered results
        self.ids: list[str] = []  # ordered results ...
        self.keys: list[Any] = []  # ... and their sort keys, kept parallel
        self.key_of: dict[str, Any] = {}
        self._before: dict[str, _Doc | None] = {}  # the batch being applied

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, outbox: _Outbox) -> None:
        """Deliver the initial results (as adds) and register; call under the lock."""
        self.sink.outbox = outbox
        self.sink.live = self
        items = self.collection._query_items(self.cursor)
        for wire_id, doc in items:
            self.sink.added(wire_id, doc, None)
        self._load(items)
        collection = self.collection
        if collection._before is None:
            collection._before = {}
        collection._observers.append(self)

    def stop(self) -> None:
        """Unregister; queued callbacks of this query are dropped."""
        with self.collection._lock:
            if self.stopped:
                return
            self.stopped = True
            observers = self.collection._observers
            if self in observers:
                observers.remove(self)
            if not observers:
                self.collection._before = None

    def doc_of(self, wire_id: str) -> _Doc:
        """The document ``wire_id`` now, or as it was before the batch if it is gone."""
        doc = self.collection._docs.get(wire_id) or self._before.get(wire_id)
        assert doc is not None
        return doc

    def _key(self, wire_id: str, doc: _Doc) -> Any:
        sort_key = self.cursor.sort_key
        assert sort_key is not None  # only sorted results are kept by key
        return (sort_key(doc), wire_id)  # the same total order as Collection._query_items

    def _load(self, items: list[tuple[str, _Doc]]) -> None:
        if not self.ordered:
            self.members = {wire_id for wire_id, _ in items}
            return
        self.ids = [wire_id for wire_id, _ in items]
        if self.cursor.sort_key is None:
            self.keys = list(range(len(items)))  # positions: recomputed, never bisected
        else:
            self.keys = [self._key(wire_id, doc) for wire_id, doc in items]
        self.key_of = dict(zip(self.ids, self.keys, strict=True))

    # -- updates ------------------------------------------------------------------------------

    def update(self, before: dict[str, _Doc | None], order_changed: bool, reset: bool) -> None:
        """Bring the result up to date after a batch and emit the changes (under the lock).

        Args:
            before: The touched documents as they were before the batch.
            order_changed: An ordered collection's order changed.
            reset: The batch began by clearing the store (arrival order was rebuilt).
        """
        self._before = before
        try:
            self._update(before, order_changed, reset)
        finally:
            self._before = {}

    def _update(self, before: dict[str, _Doc | None], order_changed: bool, reset: bool) -> None:
        if not self.ordered:
            self._update_unordered(before)
        elif self.cursor.skip > 0 or self.cursor.sort_key is None:
            # Arrival order (or an ordered collection's order) is not a key we can bisect:
            # recompute, but only when the batch touched something relevant.
            if order_changed or reset or any(self._relevant(w, old) for w, old in before.items()):
                self._recompute(before)
        elif self.windowed:
            self._update_window(before)
        else:
            self._update_sequential(before)

    def _matches_now(self, wire_id: str) -> _Doc | None:
        doc = self.collection._docs.get(wire_id)
        return doc if doc is not None and self.cursor.matcher(doc) else None

    def _relevant(self, wire_id: str, old: _Doc | None) -> bool:
        was = old is not None and self.cursor.matcher(old)
        return was or self._matches_now(wire_id) is not None

    def _update_unordered(self, before: dict[str, _Doc | None]) -> None:
        members, sink = self.members, self.sink
        for wire_id, old in before.items():
            new = self._matches_now(wire_id)
            if wire_id in members:
                assert old is not None  # a member existed before the batch
                if new is not None:
                    sink.changed(wire_id, new, old)
                else:
                    members.discard(wire_id)
                    sink.removed(wire_id, old)
            elif new is not None:
                members.add(wire_id)
                sink.added(wire_id, new, None)

    def _index(self, wire_id: str) -> int:
        keys, ids = self.keys, self.ids
        i = bisect_left(keys, self.key_of[wire_id])
        while ids[i] != wire_id:
            i += 1
        return i

    def _take_out(self, wire_id: str) -> int:
        i = self._index(wire_id)
        del self.ids[i]
        del self.keys[i]
        del self.key_of[wire_id]
        return i

    def _put_in(self, wire_id: str, key: Any) -> int:
        i = bisect_right(self.keys, key)
        self.ids.insert(i, wire_id)
        self.keys.insert(i, key)
        self.key_of[wire_id] = key
        return i

    def _next(self, index: int) -> str | None:
        return self.ids[index + 1] if index + 1 < len(self.ids) else None

    def _update_sequential(self, before: dict[str, _Doc | None]) -> None:
        sink = self.sink
        for wire_id, old in before.items():
            new = self._matches_now(wire_id)
            was = wire_id in self.key_of
            if was and new is None:
                assert old is not None
                self._take_out(wire_id)
                sink.removed(wire_id, old)
            elif new is not None and not was:
                i = self._put_in(wire_id, self._key(wire_id, new))
                sink.added(wire_id, new, self._next(i))
            elif new is not None:
                assert old is not None
                sink.changed(wire_id, new, old)
                key = self._key(wire_id, new)
                if key != self.key_of[wire_id]:
                    i = self._take_out(wire_id)
                    old_next = self.ids[i] if i < len(self.ids) else None
                    j = self._put_in(wire_id, key)
                    if self._next(j) != old_next:
                        sink.moved(wire_id, new, self._next(j))

    def _update_window(self, before: dict[str, _Doc | None]) -> None:
        limit = self.cursor.limit
        assert limit is not None
        old_ids = list(self.ids)
        was_full = len(old_ids) >= limit
        # Every matching document outside a full window sorts after its last member (keys
        # are a total order): while the window can be refilled from documents that sort no
        # later than that boundary, the store need not be asked.
        boundary = self.keys[-1] if was_full else None
        for wire_id in list(before):
            new = self._matches_now(wire_id)
            if wire_id in self.key_of:
                old_key = self.key_of[wire_id]
                if new is None:
                    self._take_out(wire_id)
                    continue
                key = self._key(wire_id, new)
                if key != old_key:
                    self._take_out(wire_id)
                    self._put_in(wire_id, key)
            elif new is not None:
                self._put_in(wire_id, self._key(wire_id, new))
        if boundary is not None and bisect_right(self.keys, boundary) < limit:
            # A member left, or moved past documents we never held: ask the store.
            self._load(self.collection._query_items(self.cursor))
        else:
            for wire_id in self.ids[limit:]:
                del self.key_of[wire_id]
            del self.ids[limit:]
            del self.keys[limit:]
        self._emit_diff(old_ids, before)

    def _recompute(self, before: dict[str, _Doc | None]) -> None:
        old_ids = list(self.ids)
        self._load(self.collection._query_items(self.cursor))
        self._emit_diff(old_ids, before)

    def _emit_diff(self, old_ids: list[str], before: dict[str, _Doc | None]) -> None:
        """Emit the events turning ``old_ids`` into ``self.ids`` (few moves: LIS)."""
        docs, sink, new_ids = self.collection._docs, self.sink, self.ids

        def old_doc(wire_id: str) -> _Doc:
            doc = before.get(wire_id, MISSING) if wire_id in before else docs[wire_id]
            assert doc is not None and doc is not MISSING
            return doc

        new_set = set(new_ids)
        for wire_id in old_ids:
            if wire_id not in new_set:
                sink.removed(wire_id, old_doc(wire_id))
        old_index = {w: i for i, w in enumerate(old_ids) if w in new_set}
        stay = _longest_increasing([old_index[w] for w in new_ids if w in old_index])
        pending: list[str] = []

        def place(anchor: str | None) -> None:
            for wire_id in pending:
                doc = docs[wire_id]
                if wire_id in old_index:
                    if wire_id in before:
                        sink.changed(wire_id, doc, old_doc(wire_id))
                    sink.moved(wire_id, doc, anchor)
                else:
                    sink.added(wire_id, doc, anchor)
            pending.clear()

        for wire_id in new_ids:
            if wire_id in old_index and old_index[wire_id] in stay:
                place(wire_id)
                if wire_id in before:
                    sink.changed(wire_id, docs[wire_id], old_doc(wire_id))
            else:
                pending.append(wire_id)
        place(None)


def _start(cursor: Cursor, sink: _Sink) -> ObserveHandle:
    collection = cursor.collection
    live = LiveQuery(cursor, sink)
    registry = collection._registry
    with collection._lock:
        live.start(registry._outbox)
    registry._deliver()
    return ObserveHandle(live)


def observe_changes(
    cursor: Cursor,
    *,
    added: Callback | None = None,
    changed: Callback | None = None,
    removed: Callback | None = None,
    added_before: Callback | None = None,
    moved_before: Callback | None = None,
) -> ObserveHandle:
    """Watch the changes of a cursor's result, as Meteor's ``observeChanges``.

    The current results are delivered at once as adds, then every batch's net changes.
    Callbacks receive the document's ``_id`` and copies of its (projected) fields, never the
    ``_id`` field itself.

    Args:
        cursor: The query.
        added: ``added(id, fields)``.
        changed: ``changed(id, fields)``: only the fields that changed; a field that was
            removed maps to ``ddp.collection.MISSING``.
        removed: ``removed(id)``.
        added_before: ``added_before(id, fields, before_id)`` (``before_id`` ``None``: at the
            end); giving it (or ``moved_before``) makes the observer ordered, and it is used
            instead of ``added``.
        moved_before: ``moved_before(id, before_id)``.

    Returns:
        A handle; call ``stop()`` on it.
    """
    callbacks = {
        "added": added,
        "changed": changed,
        "removed": removed,
        "added_before": added_before,
        "moved_before": moved_before,
    }
    return _start(cursor, _ChangesSink(cursor, callbacks))


def observe(
    cursor: Cursor,
    *,
    added: Callback | None = None,
    changed: Callback | None = None,
    removed: Callback | None = None,
    added_at: Callback | None = None,
    changed_at: Callback | None = None,
    removed_at: Callback | None = None,
    moved_to: Callback | None = None,
) -> ObserveHandle:
    """Watch the documents of a cursor's result, as Meteor's ``observe``.

    Callbacks receive copies of whole (projected) documents. Giving any ``*_at`` or
    ``moved_to`` callback makes the observer ordered; then the ``*_at`` form is called where
    given, and the plain one otherwise.

    Args:
        cursor: The query.
        added: ``added(doc)``.
        changed: ``changed(new_doc, old_doc)``.
        removed: ``removed(old_doc)``.
        added_at: ``added_at(doc, index, before_id)``.
        changed_at: ``changed_at(new_doc, old_doc, index)``.
        removed_at: ``removed_at(old_doc, index)``.
        moved_to: ``moved_to(doc, from_index, to_index, before_id)``.

    Returns:
        A handle; call ``stop()`` on it.
    """
    callbacks = {
        "added": added,
        "changed": changed,
        "removed": removed,
        "added_at": added_at,
        "changed_at": changed_at,
        "removed_at": removed_at,
        "moved_to": moved_to,
    }
    return _start(cursor, _DocsSink(cursor, callbacks))
