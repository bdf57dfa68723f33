"""One collection of the local store: documents by id, DDP operations, queries.

Storage is lean on purpose (100k-document subscriptions are normal): ``_docs`` maps the wire
id string to the document dict itself. An ``added`` message's ``fields`` dict is *adopted* as
the stored document (the protocol core hands it over), with ``_id`` added and field names
interned so that every document shares its key strings, and arrays stored *frozen* as tuples
(``values.freeze_value``: lets the garbage collector untrack the documents; every read path
treats a tuple as an array and copies hand out lists). Fields from the wire are adopted as
the core parses them (:func:`adopt_wire_fields`): EJSON decoding, freezing and interning
are one walk. Ordered collections (``addedBefore``
/ ``movedBefore``, which Meteor servers never send but DDP allows) also keep an order list.

Writes come only from :class:`~ddp.collection.registry.CollectionRegistry.apply_batch`,
under the registry's lock; reads take the same lock, so a reader never sees half a batch.
Documents leave the store only as copies (see ``Cursor.present``).

The DDP operations are tolerant, as Meteor's client store is for the NO_MERGE publication
strategies: ``added`` for a present document merges its fields, ``changed`` for a missing one
adds it (without the cleared fields), ``removed`` for a missing one does nothing.

While observers exist, the first write to a document in a batch saves a shallow snapshot of
it in ``_before`` (enough, since writes replace top-level values and never mutate nested
ones); the observers then compare before and after once per batch, so they see its net effect.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from ddp import ejson
from ddp.collection.cursor import Cursor
from ddp.collection.sorter import plain_sort_values
from ddp.collection.values import decode_frozen, freeze_value
from ddp.exceptions import InvalidStateError
from ddp.mongo_id import id_parse, id_stringify

if TYPE_CHECKING:
    from ddp.collection.changes import ChangeWatcher
    from ddp.collection.observe import LiveQuery
    from ddp.collection.registry import CollectionRegistry

__all__ = ["Collection"]


def _parse_id(wire_id: str) -> Any:
    # Most ids are plain strings that id_parse returns unchanged; skip the call for them.
    # Only "", "-..." , "~..." and 24-character (ObjectId-like) texts need the real rules.
    if len(wire_id) != 24 and wire_id and wire_id[0] not in "-~":
        return wire_id
    return id_parse(wire_id)


def adopt_wire_fields(canonical: dict[str, str], fields: dict[str, Any]) -> Any:
    """Decode a data message's ``fields`` as parsed from JSON into a stored document's form.

    One walk does what EJSON decoding and :func:`_adopt` would do in two: typed values
    decoded, arrays frozen, keys canonical. ``fields`` is the caller's to give away: it is
    changed in place and becomes the document (building a new dict costs more than the
    collector's walks it would spare). ``fields`` that are themselves the wire form of a
    typed value decode to it (a ``datetime`` for ``{"$date": ...}``: no document).

    Raises:
        EJSONError: A malformed typed value.
        DocumentDepthError: A value nests deeper than the store's limit.
    """
    size = len(fields)
    if size <= 2 and size:
        typed = ejson.decode_typed(fields)
        if typed is not ejson.NOT_TYPED:
            return _adopt(typed, canonical) if type(typed) is dict else typed
    setdefault = canonical.setdefault
    for key, value in fields.items():
        if setdefault(key, key) is not key:
            # Not orjson's shared key strings: build the document with canonical ones.
            return _adopt(
                {
                    k: decode_frozen(v, 2) if type(v) in _CONTAINERS else v
                    for k, v in fields.items()
                },
                canonical,
            )
        cls = type(value)
        if cls is dict:
            if len(value) == 1 and "$date" in value:  # inline: most documents carry one
                ms = value["$date"]
                # ejson.decode_date's fast path, without its call (and below 2038, where
                # every platform's time_t reaches); anything else takes the full one.
                fields[key] = (
                    _fromtimestamp(ms / 1000, UTC)
                    if type(ms) is int and 0 <= ms < _FAST_DATE_LIMIT
                    else _decode_date(ms)
                )
            else:
                fields[key] = decode_frozen(value, 2)
        elif cls is list:
            fields[key] = _freeze_array(value)  # same key: the dict's size does not change
    return fields


def _freeze_array(value: list[Any]) -> tuple[Any, ...]:
    """A top-level array of a document, decoded and frozen."""
    for item in value:
        if type(item) is dict or type(item) is list:
            frozen: tuple[Any, ...] = decode_frozen(value, 2)
            return frozen
    return tuple(value)  # an array of scalars, the usual one: frozen in C


_decode_date = ejson.decode_date
_fromtimestamp = datetime.fromtimestamp
_FAST_DATE_LIMIT = 2**31 * 1000  # ms; exact below 2**32 s (see ejson.decode_date)
_CONTAINERS = frozenset({dict, list})


def _adopt(fields: dict[str, Any], canonical: dict[str, str]) -> dict[str, Any]:
    """Return ``fields`` with canonical keys and frozen arrays (see ``freeze_value``).

    The dict is rebuilt only if some key is not canonical yet; otherwise its list and dict
    values are frozen in place (it is the store's own) and atomic values cost one type test.

    The canonical key string is the first one seen (our own ``sys.intern`` table, per
    collection). orjson hands out the same key objects for every message, so its dicts pass
    as they are; any other decoder's are rebuilt, so that 100k documents share one string
    per field name instead of holding 100k copies.
    """
    setdefault = canonical.setdefault
    for key, value in fields.items():
        if setdefault(key, key) is not key:
            return {setdefault(k, k): freeze_value(v, 2) for k, v in fields.items()}
        cls = type(value)
        if cls is list or cls is dict:
            fields[key] = freeze_value(value, 2)  # same key: the dict's size does not change
    return fields


class Collection:
    """A named collection of documents, filled by DDP data messages; query it with ``find``.

    Get one from ``CollectionRegistry.get(name)`` (or ``client.collection(name)``); do not
    construct it yourself.
    """

    def __init__(self, name: str, registry: CollectionRegistry) -> None:
        """Create an empty collection of ``registry`` (guarded by its lock)."""
        self.name = name
        self._registry = registry
        self._lock: threading.RLock = registry._lock
        self._docs: dict[str, dict[str, Any]] = {}
        self._order: list[str] | None = None
        self._observers: list[LiveQuery | ChangeWatcher] = []
        # Snapshots of documents as they were before the current batch (observers only).
        self._before: dict[str, dict[str, Any] | None] | None = None
        self._order_changed = False
        self._was_reset = False
        self._keys: dict[str, str] = registry._keys  # canonical field names (see _adopt)

    # -- reading ------------------------------------------------------------------------------

    def find(
        self,
        selector: Any = None,
        *,
        sort: Any = None,
        skip: int = 0,
        limit: int | None = None,
        fields: Any = None,
    ) -> Cursor:
        """Return a cursor over the documents matching ``selector``.

        Args:
            selector: A Mongo selector dict (minimongo semantics), a bare ``_id`` value, a
                Python callable ``doc -> bool`` (``$where``), or ``None`` for every document.
            sort: ``[("a", 1), ("b", -1)]``, ``[["a", "asc"]]`` or ``{"a": 1}``. Without a
                sort, documents come in arrival order (or the server's order for an ordered
                collection).
            skip: How many leading results to leave out.
            limit: The most results to return (``None`` or ``0``: no limit, as in MongoDB).
            fields: A projection such as ``{"a": 1}`` or ``{"b": 0}``.

        Returns:
            A :class:`Cursor`; nothing is evaluated until it is read.

        Raises:
            InvalidSelectorError: If any part of the query is malformed.
        """
        return Cursor(self, selector, sort=sort, skip=skip, limit=limit, fields=fields)

    def find_one(
        self,
        id_or_selector: Any = None,
        *,
        sort: Any = None,
        skip: int = 0,
        fields: Any = None,
    ) -> dict[str, Any] | None:
        """Return the first matching document (a copy), or ``None``.

        Args:
            id_or_selector: An ``_id`` value or a selector, as for :meth:`find`.
            sort: As for :meth:`find`.
            skip: As for :meth:`find`.
            fields: As for :meth:`find`.

        Raises:
            InvalidSelectorError: If any part of the query is malformed.
        """
        return self.find(id_or_selector, sort=sort, skip=skip, limit=1, fields=fields).first()

    def count(self) -> int:
        """Return the number of documents in the collection."""
        return len(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def __repr__(self) -> str:
        return f"<Collection {self.name!r} ({len(self._docs)} documents)>"

    def _query_items(self, cursor: Cursor) -> list[tuple[str, dict[str, Any]]]:
        """The ``(wire id, stored doc)`` pairs matching ``cursor``, in order (under the lock)."""
        matcher = cursor.matcher
        candidates: Iterable[tuple[str, dict[str, Any]]]
        if cursor.id_hint is not None:
            try:
                wire_id = id_stringify(cursor.id_hint[0])
            except ValueError:  # an id that cannot be written: no document has it
                return []
            doc = self._docs.get(wire_id)
            candidates = [] if doc is None else [(wire_id, doc)]
        elif self._order is None:
            candidates = self._docs.items()
        else:
            docs = self._docs
            candidates = [(wire_id, docs[wire_id]) for wire_id in self._order]
        stop = None if cursor.limit is None else cursor.skip + cursor.limit
        sort_key = cursor.sort_key
        if sort_key is None:
            matching = (item for item in candidates if matcher(item[1]))
            return list(islice(matching, cursor.skip, stop))
        found = [item for item in candidates if matcher(item[1])]
        keys: list[Any] | None = None
        if cursor.plain_sort_path is not None:
            keys = plain_sort_values(cursor.plain_sort_path, [doc for _, doc in found])
        if keys is None:
            keys = [sort_key(doc) for _, doc in found]
        # Ties break on the id, so that results are a total order that live queries can
        # maintain incrementally and reproduce when they refill a window. Ids are unique:
        # the item itself is never compared.
        decorated = list(zip(keys, (wire_id for wire_id, _ in found), found, strict=True))
        if stop is not None and stop < len(decorated) // 4:
            decorated = heapq.nsmallest(stop, decorated)
        else:
            decorated.sort()
        return [entry[2] for entry in decorated[cursor.skip : stop]]

    def _count(self, cursor: Cursor) -> int:
        """How many documents ``cursor`` yields (under the lock); no sort is needed for it."""
        if cursor.id_hint is not None or cursor.skip or cursor.limit is not None:
            return len(self._query_items(cursor))
        matcher = cursor.matcher
        return sum(1 for doc in self._docs.values() if matcher(doc))

    def _query(self, cursor: Cursor) -> list[dict[str, Any]]:
        """The stored documents matching ``cursor``, in result order (under the lock)."""
        return [doc for _, doc in self._query_items(cursor)]

    def _commit(self) -> None:
        """After a batch: let every observer catch up with its net effect (under the lock)."""
        before = self._before
        if before is None:
            return
        self._before = {}
        order_changed, self._order_changed = self._order_changed, False
        was_reset, self._was_reset = self._was_reset, False
        for live in list(self._observers):
            live.update(before, order_changed, was_reset)

    # -- following ------------------------------------------------------------------------------

    def changes(self, *, max_queue: int | None = None) -> Any:
        """Iterate over this collection's changes, net per applied batch, as they happen.

        ``async for change in client.collection("items").changes():`` on an ``AsyncClient``;
        ``for change in client.collection("items").changes().iter(timeout=5):`` on a
        ``Client``. The same as ``client.changes("items")``: a bounded queue (``max_queue``
        items) that drops its oldest item when the consumer falls behind, counted in
        ``client.stats().dropped_events`` and logged, never silently; use it as a context
        manager (or call ``close()``) to stop following.

        Raises:
            ddp.InvalidStateError: The collection does not belong to a client.
        """
        return self._feed("changes", max_queue)

    def updates(self, *, max_queue: int | None = None) -> Any:
        """Iterate over every data message of this collection, unmerged, in arrival order.

        Like :meth:`changes`, but one :class:`~ddp.collection.DataUpdate` per ``added``,
        ``changed``, ``removed``, ``addedBefore`` or ``movedBefore`` message; the same as
        ``client.updates(name)``.

        Raises:
            ddp.InvalidStateError: The collection does not belong to a client.
        """
        return self._feed("updates", max_queue)

    def _feed(self, what: str, max_queue: int | None) -> Any:
        feeds = self._registry.feeds
        if feeds is None:
            raise InvalidStateError("only a client's collections can be followed")
        return feeds(what, self.name, max_queue)

    # -- writing (the registry calls these under the lock) -----------------------------------

    def _snapshot(self, wire_id: str, doc: dict[str, Any] | None) -> None:
        before = self._before
        if before is not None and wire_id not in before:
            before[wire_id] = None if doc is None else doc.copy()

    def _added(self, wire_id: str, fields: dict[str, Any] | None, adopted: bool = False) -> None:
        # ``adopted``: ``fields`` is already in the store's form (see adopt_wire_fields).
        docs = self._docs
        doc = docs.get(wire_id)
        if doc is not None:
            self._merge(wire_id, doc, fields, None, adopted)
            return
        # Adopt first: a refused document (too deep) must leave no trace.
        if fields is None:
            doc = {}
        elif adopted:
            doc = fields
        else:
            doc = _adopt(fields, self._keys)
        before = self._before
        if before is not None and wire_id not in before:
            before[wire_id] = None
        # _parse_id inlined: most ids are plain strings that stay as they are.
        doc["_id"] = (
            wire_id
            if len(wire_id) != 24 and wire_id and wire_id[0] not in "-~"
            else id_parse(wire_id)
        )
        docs[wire_id] = doc
        if self._order is not None:
            self._order.append(wire_id)

    def _insert(self, wire_id: str, fields: dict[str, Any] | None, adopted: bool) -> None:
        doc = {} if fields is None else fields if adopted else _adopt(fields, self._keys)
        if self._before is not None and wire_id not in self._before:
            self._before[wire_id] = None
        doc["_id"] = _parse_id(wire_id)
        self._docs[wire_id] = doc

    def _changed(
        self,
        wire_id: str,
        fields: dict[str, Any] | None,
        cleared: list[str] | None,
        adopted: bool = False,
    ) -> None:
        doc = self._docs.get(wire_id)
        if doc is None:
            self._added(wire_id, fields, adopted)
            return
        self._merge(wire_id, doc, fields, cleared, adopted)

    def _merge(
        self,
        wire_id: str,
        doc: dict[str, Any],
        fields: dict[str, Any] | None,
        cleared: list[str] | None,
        adopted: bool = False,
    ) -> None:
        updates: list[tuple[str, Any]] = []
        if fields:
            # Freeze everything before writing anything: a refused value (too deep) must
            # not leave the document half changed.
            for key, value in fields.items():
                if key != "_id":
                    cls = type(value)
                    if not adopted and (cls is list or cls is dict):
                        value = freeze_value(value, 2)
                    updates.append((key, value))
        if cleared is not None and (
            not isinstance(cleared, list | tuple) or any(type(k) is not str for k in cleared)
        ):
            raise TypeError("cleared must be a list of field names")
        if self._before is not None:
            self._snapshot(wire_id, doc)
        keys = self._keys
        for key, value in updates:
            doc[keys.setdefault(key, key)] = value
        if cleared:
            for key in cleared:
                if key != "_id":
                    doc.pop(key, None)

    def _removed(self, wire_id: str) -> None:
        doc = self._docs.pop(wire_id, None)
        if doc is None:
            return
        before = self._before
        if before is not None and wire_id not in before:
            before[wire_id] = doc  # no longer stored, so never mutated again: no copy
        if self._order is not None:
            self._order.remove(wire_id)
            self._order_changed = True

    def _ensure_order(self) -> list[str]:
        if self._order is None:
            self._order = list(self._docs)
        return self._order

    def _place(self, order: list[str], wire_id: str, before_id: str | None) -> None:
        # An unknown ``before`` id puts the document at the end rather than failing.
        if before_id is not None and before_id != wire_id and before_id in self._docs:
            order.insert(order.index(before_id), wire_id)
        else:
            order.append(wire_id)

    def _added_before(
        self,
        wire_id: str,
        fields: dict[str, Any] | None,
        before_id: str | None,
        adopted: bool = False,
    ) -> None:
        order = self._ensure_order()
        if wire_id in self._docs:
            self._merge(wire_id, self._docs[wire_id], fields, None, adopted)
            self._moved_before(wire_id, before_id)
            return
        self._insert(wire_id, fields, adopted)
        self._place(order, wire_id, before_id)
        self._order_changed = True

    def _moved_before(self, wire_id: str, before_id: str | None) -> None:
        if wire_id not in self._docs:
            return
        order = self._ensure_order()
        order.remove(wire_id)
        self._place(order, wire_id, before_id)
        self._order_changed = True

    def _reset(self) -> None:
        self._was_reset = True
        if self._before is not None:
            old = self._docs
            for wire_id, doc in old.items():
                if wire_id not in self._before:
                    self._before[wire_id] = doc
        self._docs = {}
        if self._order is not None:
            self._order = None
            self._order_changed = True
