"""Reactive in-memory collections: what publications return and methods write to.

Writes notify observers synchronously, so by the time a method handler returns, every
subscription (on every connection) has queued its data messages; the method's ``updated``
is queued after them, which is exactly Meteor's write-fence guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ddp import ejson
from ddp.exceptions import InvalidSelectorError
from ddp.mongo_id import id_stringify
from ddp.server._util import logger, random_id
from ddp.server.mergebox import CLEARED
from ddp.server.query import Predicate, apply_modifier, compile_projection, compile_selector

__all__ = ["Cursor", "ObserveHandle", "ServerCollection"]

AddedCallback = Callable[[Any, dict[str, Any]], None]
ChangedCallback = Callable[[Any, dict[str, Any]], None]
RemovedCallback = Callable[[Any], None]


def _without_id(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ejson.clone(v) for k, v in doc.items() if k != "_id"}


class _Observer:
    __slots__ = ("added", "changed", "matches", "removed")

    def __init__(
        self,
        matches: Predicate,
        added: AddedCallback | None,
        changed: ChangedCallback | None,
        removed: RemovedCallback | None,
    ) -> None:
        self.matches = matches
        self.added = added
        self.changed = changed
        self.removed = removed


class ObserveHandle:
    """Returned by :meth:`Cursor.observe_changes`; :meth:`stop` ends the observation."""

    def __init__(self, collection: ServerCollection, observer: _Observer) -> None:
        self._collection = collection
        self._observer = observer

    def stop(self) -> None:
        """Stop delivering changes (idempotent)."""
        self._collection._observers.discard(self._observer)


class Cursor:
    """A live query over a :class:`ServerCollection`: fetch it, observe it, or publish it.

    Return one (or a list of them, of distinct collections) from a publication handler to
    publish its documents and keep the subscriber up to date.
    """

    def __init__(
        self, collection: ServerCollection, selector: Any, fields: Mapping[str, Any] | None = None
    ) -> None:
        self.collection = collection
        self._matches = compile_selector(selector)
        self._project = compile_projection(fields)

    def _matching(self) -> Iterator[dict[str, Any]]:
        return (doc for doc in self.collection._docs.values() if self._matches(doc))

    def fetch(self) -> list[dict[str, Any]]:
        """Return copies of the matching documents, in insertion order."""
        return [{"_id": doc["_id"], **self._project(_without_id(doc))} for doc in self._matching()]

    def count(self) -> int:
        """Return how many documents match."""
        return sum(1 for _ in self._matching())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.fetch())

    def observe_changes(
        self,
        *,
        added: AddedCallback | None = None,
        changed: ChangedCallback | None = None,
        removed: RemovedCallback | None = None,
    ) -> ObserveHandle:
        """Call ``added(id, fields)`` for each current match now, then follow changes.

        ``changed(id, fields)`` gets only the changed top-level fields; a deleted field has
        the value :data:`ddp.server.mergebox.CLEARED`. ``removed(id)`` is called when a
        document is removed or stops matching. Callbacks run synchronously in the write.
        """
        project = self._project
        if added is not None:
            original_added = added
            added = lambda doc_id, fields: original_added(doc_id, project(fields))  # noqa: E731
        if changed is not None:
            original_changed = changed

            def changed(doc_id: Any, fields: dict[str, Any]) -> None:
                # A change to fields outside the projection is no change for this cursor.
                visible = project(fields)
                if visible:
                    original_changed(doc_id, visible)

        observer = _Observer(self._matches, added, changed, removed)
        if added is not None:
            for doc in list(self._matching()):
                added(doc["_id"], _without_id(doc))
        self.collection._observers.add(observer)
        return ObserveHandle(self.collection, observer)


class ServerCollection:
    """A named, reactive, in-memory document collection on the server.

    Documents are dicts with an ``_id`` (generated as a Meteor-style random string when
    missing). Get one with ``server.collection(name)``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._docs: dict[str, dict[str, Any]] = {}
        self._observers: set[_Observer] = set()

    def find(self, selector: Any = None, *, fields: Mapping[str, Any] | None = None) -> Cursor:
        """Return a :class:`Cursor` over the documents matching ``selector``.

        ``selector`` is ``None``/``{}`` for all documents, an ``_id``, a dict of field
        equalities, or a predicate ``fn(doc) -> bool``. ``fields`` is a projection of
        top-level fields, as Mongo's: ``{"name": 1, ...}`` keeps only those (and ``_id``),
        ``{"secret": 0, ...}`` drops those; what a cursor hides is never published.

        Raises:
            InvalidSelectorError: the projection mixes inclusion and exclusion, or names a
                dotted path or ``_id``.
        """
        return Cursor(self, selector, fields)

    def find_one(self, selector: Any = None) -> dict[str, Any] | None:
        """Return a copy of the first matching document, or ``None``."""
        matches = compile_selector(selector)
        for doc in self._docs.values():
            if matches(doc):
                return ejson.clone(doc)  # type: ignore[no-any-return]
        return None

    def count(self) -> int:
        """Return the number of documents."""
        return len(self._docs)

    def insert(self, doc: Mapping[str, Any]) -> Any:
        """Insert a copy of ``doc`` and return its ``_id``.

        Raises:
            InvalidSelectorError: ``doc`` is not a dict or its ``_id`` already exists.
        """
        if not isinstance(doc, Mapping):
            raise InvalidSelectorError(f"a document must be a dict, not {type(doc).__name__}")
        stored: dict[str, Any] = ejson.clone(dict(doc))
        stored.setdefault("_id", random_id())
        key = id_stringify(stored["_id"])
        if key in self._docs:
            raise InvalidSelectorError(f"duplicate _id {stored['_id']!r} in {self.name!r}")
        self._docs[key] = stored
        for observer in list(self._observers):
            if observer.matches(stored) and observer.added is not None:
                self._notify(observer.added, stored["_id"], _without_id(stored))
        return stored["_id"]

    def update(self, selector: Any, modifier: Mapping[str, Any], *, multi: bool = False) -> int:
        """Apply ``modifier`` to the first (or, with ``multi``, every) matching document.

        Returns:
            The number of documents matched.
        """
        matches = compile_selector(selector)
        targets = [key for key, doc in self._docs.items() if matches(doc)]
        if not multi:
            targets = targets[:1]
        for key in targets:
            old = self._docs[key]
            new = apply_modifier(old, modifier)
            self._docs[key] = new
            self._notify_update(old, new)
        return len(targets)

    def remove(self, selector: Any = None) -> int:
        """Remove every matching document and return how many were removed."""
        matches = compile_selector(selector)
        targets = [key for key, doc in self._docs.items() if matches(doc)]
        for key in targets:
            doc = self._docs.pop(key)
            for observer in list(self._observers):
                if observer.matches(doc) and observer.removed is not None:
                    self._notify(observer.removed, doc["_id"])
        return len(targets)

    def _notify_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        changes: dict[str, Any] = {k: CLEARED for k in old if k not in new}
        changes.update(
            (k, v)
            for k, v in new.items()
            if k != "_id" and (k not in old or not ejson.equals(old[k], v))
        )
        doc_id = new["_id"]
        for observer in list(self._observers):
            was, now = observer.matches(old), observer.matches(new)
            if was and now and changes and observer.changed is not None:
                fields = {k: v if v is CLEARED else ejson.clone(v) for k, v in changes.items()}
                self._notify(observer.changed, doc_id, fields)
            elif was and not now and observer.removed is not None:
                self._notify(observer.removed, doc_id)
            elif now and not was and observer.added is not None:
                self._notify(observer.added, doc_id, _without_id(new))

    def _notify(self, callback: Callable[..., None], *args: Any) -> None:
        # One failing observer must not stop the write or the other observers.
        try:
            callback(*args)
        except Exception:
            logger.exception("observer of collection %r failed", self.name)
