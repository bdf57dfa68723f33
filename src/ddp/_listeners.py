"""Listener registries: the callbacks a client calls for one kind of notification.

Each listener is isolated from the others (an exception is logged, never propagated); an
awaitable a listener returns is run as a task by the asyncio driver, or discarded with a
warning by the blocking one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Generic, ParamSpec

from ddp.collection import CollectionChange, CollectionRegistry
from ddp.exceptions import InvalidStateError

__all__ = ["ListenerRegistry", "add_change_listener"]

logger = logging.getLogger("ddp.client")

P = ParamSpec("P")


class ListenerRegistry(Generic[P]):
    """Callbacks for one kind of notification, each one isolated from the others.

    :meth:`emit` calls every listener in the order they were added; an exception is logged
    (with its traceback) on ``ddp.client`` and never propagates. A listener that returns an
    awaitable (a coroutine function) has it handed to ``on_awaitable`` (the asyncio driver
    runs it as a task); without one, it is closed and a warning is logged.

    Args:
        kind: What is notified, for log messages (``"status"``, ``"connected"``...).
        on_awaitable: What to do with an awaitable a listener returned.
    """

    __slots__ = ("_kind", "_listeners", "_on_awaitable")

    def __init__(
        self, kind: str, on_awaitable: Callable[[Awaitable[Any]], None] | None = None
    ) -> None:
        self._kind = kind
        self._listeners: tuple[Callable[P, Any], ...] = ()
        self._on_awaitable = on_awaitable

    def add(self, callback: Callable[P, Any]) -> Callable[[], None]:
        """Add ``callback``; return a function that removes it (safe to call twice)."""
        if not callable(callback):
            raise TypeError(f"a {self._kind} listener must be callable")
        # A tuple swapped whole keeps emit() safe when a listener adds or removes listeners.
        self._listeners = (*self._listeners, callback)

        def remove() -> None:
            listeners = list(self._listeners)
            for i, cb in enumerate(listeners):
                if cb is callback:
                    del listeners[i]
                    self._listeners = tuple(listeners)
                    return

        return remove

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def __len__(self) -> int:
        return len(self._listeners)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener with the given arguments, logging any exception."""
        for callback in self._listeners:
            try:
                result = callback(*args, **kwargs)
            except Exception:
                logger.exception("%s listener %r raised", self._kind, callback)
                continue
            if result is not None and isinstance(result, Awaitable):
                if self._on_awaitable is not None:
                    self._on_awaitable(result)
                else:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                    logger.warning(
                        "%s listener %r returned an awaitable; the blocking client cannot "
                        "run coroutines, it was discarded",
                        self._kind,
                        callback,
                    )


def add_change_listener(
    registry: CollectionRegistry | None,
    callback: Callable[[Sequence[CollectionChange]], Any],
    *,
    on_awaitable: Callable[[Awaitable[Any]], None] | None = None,
    defer: Callable[[Callable[[], None]], Any] | None = None,
) -> Callable[[], None]:
    """Hook an ``on_collection_change`` callback to a client's store.

    The store calls its change listeners through its own ``dispatch`` (the blocking
    client's dispatcher thread; at once, on the event loop, for the asyncio client);
    ``defer`` moves the call on once more (the asyncio client passes ``loop.call_soon``, so
    a listener never runs inside the receive loop). The callback is isolated like every
    other listener (see :class:`ListenerRegistry`).

    Returns:
        A function that removes the callback; nothing is delivered to it once it returns.

    Raises:
        InvalidStateError: The client keeps no collections (``collections=False``).
        TypeError: ``callback`` is not callable.
    """
    if registry is None:
        raise InvalidStateError("this client keeps no collections (collections=False)")
    listener: ListenerRegistry[[Sequence[CollectionChange]]] = ListenerRegistry(
        "collection change", on_awaitable
    )
    unlisten = listener.add(callback)
    if defer is None:
        unhook = registry.add_listener(listener.emit)
    else:

        def deferred(changes: Sequence[CollectionChange]) -> None:
            defer(partial(listener.emit, changes))

        unhook = registry.add_listener(deferred)

    def remove() -> None:
        unlisten()  # a deferred delivery already queued then reaches nobody
        unhook()

    return remove
