"""Every data message, one by one: update listeners and streams (the registry's hooks).

Change listeners and observers report the *net* effect of a batch, which is what a view of
the data wants. Some users need every message instead: an audit log, a bot following a
Meteor stream (Rocket.Chat's ``stream-room-messages``), a custom store. The registry hands
them each applied message as a :class:`DataUpdate` (see
:meth:`~ddp.collection.registry.CollectionRegistry.add_update_listener`), or, for a
collection marked as a stream, each ``changed`` as an ``(event_name, args)`` pair (see
:meth:`~ddp.collection.registry.CollectionRegistry.add_stream`).

The registry keeps a :class:`Route` per hooked collection name; while there is none (and no
registry-wide listener), the write path checks one attribute per batch and does nothing
else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DataUpdate", "Route", "StreamCallback", "Tap", "UpdateKind", "UpdateListener"]

UpdateKind = Literal["added", "changed", "removed", "addedBefore", "movedBefore"]
"""The DDP data message kinds."""


@dataclass(frozen=True, slots=True)
class DataUpdate:
    """One data message as the local store applied it: what :meth:`on_update` listeners hear.

    Attributes:
        collection: The collection's name.
        msg: The message kind: ``"added"``, ``"changed"``, ``"removed"``, ``"addedBefore"``
            or ``"movedBefore"``.
        id: The document's ``_id`` (parsed, as in the documents: an ``ObjectId`` for a
            ``-``-prefixed wire id, and so on).
        fields: The message's fields, EJSON-decoded, without ``_id`` (``{}`` when the
            message had none); ``None`` for ``removed`` and ``movedBefore``. A copy: change
            it as you like.
        cleared: The field names a ``changed`` message cleared (``()`` otherwise).
        before: For ``addedBefore`` and ``movedBefore``: the ``_id`` of the document it now
            precedes, ``None`` for the end; ``None`` for the other kinds.
        replay: True for the messages of a new session's first batch, which replace the
            whole store after a reconnect: the server sends every document again, so these
            repeat data already seen (the documents the new session no longer has are simply
            absent; a change listener reports that difference as removals).
    """

    collection: str
    msg: UpdateKind
    id: Any
    fields: dict[str, Any] | None
    cleared: tuple[str, ...] = ()
    before: Any = None
    replay: bool = False


UpdateListener = Callable[[DataUpdate], object]
"""An update listener: called with each applied data message, in arrival order."""

StreamCallback = Callable[[Any, list[Any]], object]
"""A stream callback: called as ``callback(event_name, args)`` for each event, in order."""


class Tap:
    """One registered hook; ``active`` turns false when it is removed.

    Deliveries queued before the removal check it, so that nothing is heard after the
    remover returns.
    """

    __slots__ = ("active", "fn")

    def __init__(self, fn: Callable[..., object]) -> None:
        """Wrap ``fn``."""
        self.fn = fn
        self.active = True


@dataclass(slots=True)
class Route:
    """The hooks of one collection name (kept by the registry, under its lock).

    Attributes:
        taps: Update listeners of this collection, then the registry-wide ones.
        own: This collection's own update listeners.
        stream: Stream callbacks; when there are any, the collection is a stream.
    """

    taps: tuple[Tap, ...] = ()
    own: tuple[Tap, ...] = ()
    stream: tuple[Tap, ...] = ()
