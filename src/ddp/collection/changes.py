"""Store-wide change notifications: what one applied batch did to the documents.

A :class:`ChangeWatcher` sits among a collection's observers while the registry has change
listeners (and only then, so a store without listeners pays nothing). It reads the same
before-the-batch snapshots the live queries read and turns them into the batch's *net*
effect on each touched document: a document added and removed within one batch is not
reported, and a reset followed by the same documents again (a reconnect onto a new session
swapping the cache at quiescence) reports only what actually differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ddp.collection.observe import _fields_diff

if TYPE_CHECKING:
    from ddp.collection.collection import Collection

__all__ = ["ChangeOp", "ChangeWatcher", "CollectionChange"]

ChangeOp = Literal["added", "changed", "removed"]
"""What happened to a document."""


@dataclass(frozen=True, slots=True)
class CollectionChange:
    """The net change of one document in one applied batch of data messages.

    What :meth:`on_collection_change` listeners and ``client.changes()`` iterators get.

    Attributes:
        collection: The collection's name.
        op: ``"added"``, ``"changed"`` or ``"removed"``.
        id: The document's ``_id`` (parsed, as in the documents).
        fields: For ``added``, the document's fields (without ``_id``); for ``changed``,
            the fields whose values changed, with :data:`ddp.collection.MISSING` for those
            cleared (as ``observe_changes`` reports them); ``None`` for ``removed``. The
            values are copies: changing them does not change the store.
    """

    collection: str
    op: ChangeOp
    id: Any
    fields: dict[str, Any] | None


class ChangeWatcher:
    """Reports the net changes of one collection's batches into a shared list.

    The collection calls :meth:`update` as it calls its live queries' (under the registry's
    lock); the registry hands the list to its listeners once the whole batch is applied.
    """

    __slots__ = ("_collection", "_sink")

    def __init__(self, collection: Collection, sink: list[CollectionChange]) -> None:
        """Watch ``collection``, appending its changes to ``sink``."""
        self._collection = collection
        self._sink = sink

    def update(
        self, before: dict[str, dict[str, Any] | None], order_changed: bool, reset: bool
    ) -> None:
        """Append the net change of every document the batch touched.

        Args:
            before: The touched documents as they were before the batch (``None``: absent).
            order_changed: Unused: a change of order alone is not a change of content.
            reset: Unused: the snapshots already hold every document the reset dropped.
        """
        docs = self._collection._docs
        name = self._collection.name
        append = self._sink.append
        for wire_id, old in before.items():
            new = docs.get(wire_id)
            if new is None:
                if old is not None:
                    append(CollectionChange(name, "removed", old["_id"], None))
            elif old is None:
                append(CollectionChange(name, "added", new["_id"], _fields_diff({}, new)))
            else:
                diff = _fields_diff(old, new)
                if diff:
                    append(CollectionChange(name, "changed", new["_id"], diff))
