"""Cursors: a compiled query over one collection, evaluated each time it is read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ddp.collection.matcher import compile_selector, selector_is_id
from ddp.collection.observe import ObserveHandle, observe, observe_changes
from ddp.collection.projection import compile_projection
from ddp.collection.sorter import compile_sort, plain_sort_path
from ddp.collection.values import MAX_DEPTH, DocumentDepthError, clone_value
from ddp.exceptions import InvalidSelectorError

if TYPE_CHECKING:
    from ddp.collection.collection import Collection

__all__ = ["Cursor"]

T = TypeVar("T")
Callback = Callable[..., Any]


def _check_count(value: Any, name: str) -> None:
    if type(value) is not int or value < 0:
        raise InvalidSelectorError(f"{name} must be a non-negative int, not {value!r}")


class Cursor:
    """A query on a :class:`Collection`: iterate it, ``fetch()`` it, ``count()`` it, observe it.

    A cursor holds the compiled query, not results: every read runs it against the current
    documents (under the store's lock, so it never sees half a batch). Documents are handed
    out as independent copies.
    """

    def __init__(
        self,
        collection: Collection,
        selector: Any = None,
        *,
        sort: Any = None,
        skip: int = 0,
        limit: int | None = None,
        fields: Any = None,
    ) -> None:
        """Compile the query (see ``Collection.find``).

        Raises:
            InvalidSelectorError: If the selector, sort, projection, skip or limit is bad.
        """
        _check_count(skip, "skip")
        if limit is not None:
            _check_count(limit, "limit")
            if limit == 0:
                limit = None  # MongoDB and Meteor read a limit of 0 as no limit
        self.collection = collection
        self.selector = selector
        self.matcher = compile_selector(selector)
        try:
            self.sort_key = compile_sort(sort)
            self.plain_sort_path = plain_sort_path(sort)
            self.projection = compile_projection(fields)
        except RecursionError:
            raise InvalidSelectorError("a sort or projection nests too deeply") from None
        self.skip = skip
        self.limit = limit
        self.id_hint = _id_hint(selector)

    def matching(self) -> list[dict[str, Any]]:
        """The stored (not copied) matching documents in result order; call under the lock."""
        return self.collection._query(self)

    def present(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Return the projected, copied form of a stored document."""
        if self.projection is not None:
            doc = self.projection(doc)
        return clone_value(doc)  # type: ignore[no-any-return]

    def fetch(self) -> list[dict[str, Any]]:
        """Return every matching document (copies), in order.

        Returns:
            The list of documents.

        Raises:
            DocumentDepthError: If matching, sorting or copying ran out of stack; the store
                refuses documents deeper than ``MAX_DEPTH`` levels, so only a caller already
                deep in its own recursion can see this.
        """
        with self.collection._lock, _depth_guard():
            present = self.present
            return [present(doc) for doc in self.matching()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Iterate over a snapshot of the matching documents (see :meth:`fetch`)."""
        return iter(self.fetch())

    def count(self) -> int:
        """Return the number of matching documents (``skip`` and ``limit`` applied)."""
        with self.collection._lock, _depth_guard():
            return self.collection._count(self)

    def first(self) -> dict[str, Any] | None:
        """Return the first matching document (a copy), or ``None``."""
        with self.collection._lock, _depth_guard():
            docs = self.matching()
            return self.present(docs[0]) if docs else None

    def map(self, fn: Callable[[dict[str, Any]], T]) -> list[T]:
        """Return ``[fn(doc) for doc in self.fetch()]``."""
        return [fn(doc) for doc in self.fetch()]

    def observe(
        self,
        *,
        added: Callback | None = None,
        changed: Callback | None = None,
        removed: Callback | None = None,
        added_at: Callback | None = None,
        changed_at: Callback | None = None,
        removed_at: Callback | None = None,
        moved_to: Callback | None = None,
    ) -> ObserveHandle:
        """Watch the query's documents, as Meteor's ``observe``.

        See :func:`ddp.collection.observe.observe` for the callbacks.

        Returns:
            A handle; call ``stop()`` on it.
        """
        return observe(
            self,
            added=added,
            changed=changed,
            removed=removed,
            added_at=added_at,
            changed_at=changed_at,
            removed_at=removed_at,
            moved_to=moved_to,
        )

    def observe_changes(
        self,
        *,
        added: Callback | None = None,
        changed: Callback | None = None,
        removed: Callback | None = None,
        added_before: Callback | None = None,
        moved_before: Callback | None = None,
    ) -> ObserveHandle:
        """Watch the query's changes, as Meteor's ``observeChanges``.

        See :func:`ddp.collection.observe.observe_changes` for the callbacks.

        Returns:
            A handle; call ``stop()`` on it.
        """
        return observe_changes(
            self,
            added=added,
            changed=changed,
            removed=removed,
            added_before=added_before,
            moved_before=moved_before,
        )

    def __repr__(self) -> str:
        return f"<Cursor {self.collection.name!r} {self.selector!r}>"


@contextmanager
def _depth_guard() -> Iterator[None]:
    """Turn a RecursionError of a read into our own typed error (see ``fetch``)."""
    try:
        yield
    except RecursionError:
        raise DocumentDepthError(
            f"a document was too deep to read here (the store holds at most {MAX_DEPTH} levels)"
        ) from None


def _id_hint(selector: Any) -> tuple[Any] | None:
    """The ``_id`` a selector pins (a bare id or ``{"_id": scalar}``), for a direct lookup."""
    if selector_is_id(selector):
        return (selector,)
    if isinstance(selector, dict) and len(selector) == 1 and "_id" in selector:
        value = selector["_id"]
        if selector_is_id(value):
            return (value,)
    return None
