"""The publication context handed to ``@server.publish`` handlers (Meteor's ``this`` in publish)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ddp.exceptions import InvalidStateError
from ddp.mongo_id import id_stringify
from ddp.server._util import call_maybe_async, logger
from ddp.server.collection import Cursor
from ddp.server.mergebox import CLEARED

if TYPE_CHECKING:
    from ddp.server.session import ConnectionInfo, Session

__all__ = ["PublishHandler", "Subscription"]

PublishHandler = Callable[..., Any]
"""``handler(sub: Subscription, *params)``, plain or ``async``; may return cursor(s)."""


class Subscription:
    """One running subscription; the first argument of every publication handler.

    Call :meth:`added`, :meth:`changed`, :meth:`removed` and :meth:`ready` to publish by
    hand, or return a :class:`~ddp.server.collection.Cursor` (or a list of cursors of
    distinct collections) from the handler to publish it and mark the subscription ready.

    A universal subscription (of a publication without a name, started by the server for
    every connection) has no ``id`` and no ``name``: its :meth:`ready` sends nothing, and
    :meth:`stop` or :meth:`error` remove its documents without a ``nosub`` (an error is
    logged), as Meteor does.

    Attributes:
        id: The subscription id chosen by the client (``None`` for a universal one).
        name: The publication name (``None`` for a universal one).
        params: The EJSON-decoded parameters.
    """

    def __init__(
        self,
        session: Session,
        sub_id: str | None,
        name: str | None,
        params: list[Any],
        handler: PublishHandler,
    ) -> None:
        self.id = sub_id
        self.name = name
        self.params = params
        self._session = session
        self._handler = handler
        self._documents: dict[str, set[str]] = {}
        self._stop_callbacks: list[Callable[[], Any]] = []
        self._ready = False
        self._deactivated = False
        self._unblocked = asyncio.Event()

    @property
    def user_id(self) -> str | None:
        """The id of the logged-in user of the connection, or ``None``."""
        return self._session.user_id

    @property
    def connection(self) -> ConnectionInfo:
        """Information about the client connection (id, address, HTTP headers)."""
        return self._session.connection

    @property
    def session_id(self) -> str:
        """The DDP session id of the connection."""
        return self._session.id

    @property
    def universal(self) -> bool:
        """Whether this runs a publication without a name (no ``ready``, no ``nosub``)."""
        return self.id is None

    @property
    def bypasses_mergebox(self) -> bool:
        """Whether this is a stream subscription (events are sent as they come, unmerged)."""
        return bool(getattr(self._handler, "bypasses_mergebox", False))

    @property
    def is_ready(self) -> bool:
        """Whether :meth:`ready` was called."""
        return self._ready

    @property
    def stopped(self) -> bool:
        """Whether the subscription is over (stopped, errored, unsubscribed or re-run)."""
        return self._deactivated

    def added(self, collection: str, doc_id: Any, fields: Mapping[str, Any] | None = None) -> None:
        """Publish document ``doc_id`` (any Mongo id: str, ObjectId, ...) with ``fields``."""
        if self._deactivated:
            return
        wire_id = self._wire_id(collection, doc_id)
        self._documents.setdefault(collection, set()).add(wire_id)
        self._session.mergebox.added(self, collection, wire_id, fields or {})

    def changed(
        self,
        collection: str,
        doc_id: Any,
        fields: Mapping[str, Any] | None = None,
        cleared: Sequence[str] = (),
    ) -> None:
        """Change top-level ``fields`` of a document this subscription added; delete ``cleared``.

        Raises:
            InvalidStateError: this subscription never added the document.
        """
        if self._deactivated:
            return
        wire_id = self._wire_id(collection, doc_id)
        self._check_owned(collection, wire_id)
        changes: dict[str, Any] = dict(fields or {})
        changes.update((key, CLEARED) for key in cleared)
        self._session.mergebox.changed(self, collection, wire_id, changes)

    def removed(self, collection: str, doc_id: Any) -> None:
        """Unpublish a document this subscription added.

        Raises:
            InvalidStateError: this subscription never added the document.
        """
        if self._deactivated:
            return
        wire_id = self._wire_id(collection, doc_id)
        self._check_owned(collection, wire_id)
        self._documents[collection].discard(wire_id)
        self._session.mergebox.removed(self, collection, wire_id)

    def ready(self) -> None:
        """Tell the client the initial data is complete (sent once)."""
        if self._deactivated or self._ready:
            return
        self._ready = True
        if self.id is not None:
            self._session.send_ready(self.id)

    def error(self, exc: BaseException) -> None:
        """End the subscription with ``exc``: its documents go, then ``nosub`` with the error.

        A :class:`ddp.MethodError` (any :class:`ddp.RemoteError`) is sent as is; other
        exceptions become ``500 "Internal server error"`` and are logged.
        """
        if not self._deactivated:
            self._session.stop_subscription(self, exc)

    def stop(self) -> None:
        """End the subscription from the server: its documents go, then ``nosub``."""
        if not self._deactivated:
            self._session.stop_subscription(self)

    def on_stop(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` when the subscription ends (at once if it already has)."""
        if self._deactivated:
            self._run_stop_callback(callback)
        else:
            self._stop_callbacks.append(callback)

    def unblock(self) -> None:
        """Let the connection process its next messages while this handler still runs."""
        self._unblocked.set()

    # -- used by the session -------------------------------------------------------------

    def _wire_id(self, collection: str, doc_id: Any) -> str:
        if not isinstance(collection, str):
            raise InvalidStateError(f"collection name must be a str, not {collection!r}")
        return id_stringify(doc_id)

    def _check_owned(self, collection: str, wire_id: str) -> None:
        if wire_id not in self._documents.get(collection, ()):
            raise InvalidStateError(
                f"subscription {self.name!r} never added {wire_id!r} to {collection!r}"
            )

    def _recreate(self) -> Subscription:
        return Subscription(self._session, self.id, self.name, self.params, self._handler)

    async def _run(self) -> None:
        try:
            result = await call_maybe_async(self._handler, self, *self.params)
            if not self._deactivated:
                self._publish_result(result)
        except Exception as exc:
            self.error(exc)

    def _publish_result(self, result: Any) -> None:
        if result is None:
            return  # the handler publishes by hand and calls ready() itself
        cursors = [result] if isinstance(result, Cursor) else result
        if not isinstance(cursors, list | tuple) or not all(isinstance(c, Cursor) for c in cursors):
            raise InvalidStateError("a publication can only return a Cursor or a list of them")
        names = [c.collection.name for c in cursors]
        if len(set(names)) != len(names):
            raise InvalidStateError(
                f"publication {self.name!r} returned two cursors of one collection"
            )
        for cursor in cursors:
            self._publish_cursor(cursor)
        self.ready()

    def _publish_cursor(self, cursor: Cursor) -> None:
        name = cursor.collection.name

        def changed(doc_id: Any, fields: dict[str, Any]) -> None:
            if self._deactivated:
                return
            wire_id = self._wire_id(name, doc_id)
            self._session.mergebox.changed(self, name, wire_id, fields)

        handle = cursor.observe_changes(
            added=lambda doc_id, fields: self.added(name, doc_id, fields),
            changed=changed,
            removed=lambda doc_id: self.removed(name, doc_id),
        )
        self.on_stop(handle.stop)

    def _remove_all_documents(self) -> None:
        for collection, ids in self._documents.items():
            for wire_id in ids:
                self._session.mergebox.removed(self, collection, wire_id)
        self._documents.clear()

    def _deactivate(self) -> None:
        if self._deactivated:
            return
        self._deactivated = True
        callbacks, self._stop_callbacks = self._stop_callbacks, []
        for callback in callbacks:
            self._run_stop_callback(callback)

    def _run_stop_callback(self, callback: Callable[[], Any]) -> None:
        try:
            result = callback()
            if asyncio.iscoroutine(result):
                self._session.spawn(result)
        except Exception:
            logger.exception("on_stop callback of subscription %r failed", self.name)
