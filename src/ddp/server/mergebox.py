"""The per-connection merge box: what the client sees when several subscriptions overlap.

Theory of operation (Meteor's ``SessionCollectionView`` / ``SessionDocumentView``): for each
document the box remembers which subscriptions hold it and, for each top-level field, a
precedence list of ``(subscription, value)``. The client sees the value of the first entry.
A document is sent once (``added``) however many subscriptions publish it; ``changed``
carries only what the client's view actually gained or lost; ``removed`` goes out when the
last subscription lets go. A subscription's values behind the first entry stay hidden until
the subscriptions in front of them clear the field.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from ddp import ejson
from ddp.exceptions import InvalidStateError

__all__ = ["CLEARED", "MergeBox", "diff_views", "make_changed"]


class _Cleared:
    """Marker for a field that the client must delete (sent in ``cleared``)."""

    def __repr__(self) -> str:
        return "CLEARED"


CLEARED: Any = _Cleared()
"""Value in a change collector meaning "this field is gone" (Meteor's ``undefined``)."""

Send = Callable[[dict[str, Any]], None]
View = dict[str, dict[str, dict[str, Any]]]


def make_changed(collection: str, doc_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Build a ``changed`` message from a change collector, or ``None`` if nothing changed.

    ``fields`` and ``cleared`` are omitted when empty, as Meteor's ``stringifyDDP`` does.
    """
    if not changes:
        return None
    msg: dict[str, Any] = {"msg": "changed", "collection": collection, "id": doc_id}
    fields = {k: v for k, v in changes.items() if v is not CLEARED}
    cleared = [k for k, v in changes.items() if v is CLEARED]
    if fields:
        msg["fields"] = fields
    if cleared:
        msg["cleared"] = cleared
    return msg


def make_added(collection: str, doc_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Build an ``added`` message; ``fields`` is omitted when empty, as Meteor does."""
    msg: dict[str, Any] = {"msg": "added", "collection": collection, "id": doc_id}
    if fields:
        msg["fields"] = dict(fields)
    return msg


class _Precedence:
    __slots__ = ("owner", "value")

    def __init__(self, owner: Hashable, value: Any) -> None:
        self.owner = owner
        self.value = value


class _DocumentView:
    __slots__ = ("by_key", "exists_in")

    def __init__(self) -> None:
        self.exists_in: set[Hashable] = set()
        self.by_key: dict[str, list[_Precedence]] = {}

    def visible(self) -> dict[str, Any]:
        return {key: entries[0].value for key, entries in self.by_key.items()}

    def clear_field(self, owner: Hashable, key: str, changes: dict[str, Any]) -> None:
        entries = self.by_key.get(key)
        if entries is None:
            return  # clearing a field that never existed is fine
        for i, entry in enumerate(entries):
            if entry.owner == owner:
                del entries[i]
                # Only the front entry is visible, so only its removal can change the view.
                if not entries:
                    del self.by_key[key]
                    changes[key] = CLEARED
                elif i == 0 and not ejson.equals(entry.value, entries[0].value):
                    changes[key] = entries[0].value
                return

    def change_field(self, owner: Hashable, key: str, value: Any, changes: dict[str, Any]) -> None:
        # Never share state with the caller's data: later mutations must not leak in.
        value = ejson.clone(value)
        entries = self.by_key.get(key)
        if entries is None:
            self.by_key[key] = [_Precedence(owner, value)]
            changes[key] = value
            return
        for i, entry in enumerate(entries):
            if entry.owner == owner:
                if i == 0 and not ejson.equals(value, entry.value):
                    changes[key] = value
                entry.value = value
                return
        entries.append(_Precedence(owner, value))


class MergeBox:
    """The client's view of one connection's published documents.

    Args:
        send: Called with each message (``added``, ``changed``, ``removed``) to send.

    ``owner`` arguments identify a subscription (any hashable; the server passes the
    subscription object). Document ids are wire ids (already ``id_stringify``-ed).
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._collections: dict[str, dict[str, _DocumentView]] = {}

    def added(
        self, owner: Hashable, collection: str, doc_id: str, fields: Mapping[str, Any]
    ) -> None:
        """``owner`` publishes document ``doc_id`` with ``fields``."""
        docs = self._collections.setdefault(collection, {})
        view = docs.get(doc_id)
        is_new = view is None
        if view is None:
            view = docs[doc_id] = _DocumentView()
        view.exists_in.add(owner)
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            if key != "_id":
                view.change_field(owner, key, value, changes)
        if is_new:
            self._send(make_added(collection, doc_id, changes))
        else:
            self._emit_changed(collection, doc_id, changes)

    def changed(
        self,
        owner: Hashable,
        collection: str,
        doc_id: str,
        fields: Mapping[str, Any],
    ) -> None:
        """``owner`` changes fields of ``doc_id``; a value of :data:`CLEARED` deletes it.

        Raises:
            InvalidStateError: the document is not in the box.
        """
        view = self._view(collection, doc_id)
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "_id":
                continue
            if value is CLEARED:
                view.clear_field(owner, key, changes)
            else:
                view.change_field(owner, key, value, changes)
        self._emit_changed(collection, doc_id, changes)

    def removed(self, owner: Hashable, collection: str, doc_id: str) -> None:
        """``owner`` no longer publishes ``doc_id``.

        Raises:
            InvalidStateError: the document is not in the box.
        """
        view = self._view(collection, doc_id)
        view.exists_in.discard(owner)
        if not view.exists_in:
            del self._collections[collection][doc_id]
            if not self._collections[collection]:
                del self._collections[collection]
            self._send({"msg": "removed", "collection": collection, "id": doc_id})
            return
        changes: dict[str, Any] = {}
        for key in list(view.by_key):
            view.clear_field(owner, key, changes)
        self._emit_changed(collection, doc_id, changes)

    def snapshot(self) -> View:
        """Return what the client currently sees: collection -> id -> fields."""
        return {
            name: {doc_id: view.visible() for doc_id, view in docs.items()}
            for name, docs in self._collections.items()
        }

    def _view(self, collection: str, doc_id: str) -> _DocumentView:
        view = self._collections.get(collection, {}).get(doc_id)
        if view is None:
            raise InvalidStateError(f"document {doc_id!r} of {collection!r} was never added")
        return view

    def _emit_changed(self, collection: str, doc_id: str, changes: Mapping[str, Any]) -> None:
        msg = make_changed(collection, doc_id, changes)
        if msg is not None:
            self._send(msg)


def diff_views(before: View, after: View) -> list[dict[str, Any]]:
    """Return the messages that turn the client's view ``before`` into ``after``.

    Used when a connection's subscriptions re-run (login/logout) so that the client sees
    only the difference, never a remove-everything-then-add-back flicker.
    """
    out: list[dict[str, Any]] = []
    # Ordered (not a set union) so that the same change always gives the same messages.
    for name in [*before, *(n for n in after if n not in before)]:
        old_docs = before.get(name, {})
        new_docs = after.get(name, {})
        for doc_id, old in old_docs.items():
            new = new_docs.get(doc_id)
            if new is None:
                out.append({"msg": "removed", "collection": name, "id": doc_id})
                continue
            changes: dict[str, Any] = {k: CLEARED for k in old if k not in new}
            changes.update(
                (k, v) for k, v in new.items() if k not in old or not ejson.equals(old[k], v)
            )
            msg = make_changed(name, doc_id, changes)
            if msg is not None:
                out.append(msg)
        out.extend(
            make_added(name, doc_id, fields)
            for doc_id, fields in new_docs.items()
            if doc_id not in old_docs
        )
    return out
