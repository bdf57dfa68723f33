"""What the two clients' handles share: the state of a method call and of a subscription.

:class:`ddp.asyncio.MethodCall` and :class:`ddp.sync.MethodCall` (and the two
``Subscription`` classes) differ only in how one *waits*: awaiting an :class:`asyncio.Future`
or blocking on a :class:`concurrent.futures.Future`. Both future types offer the same
non-waiting methods (:class:`FutureLike`), so settling them, cancelling them and reporting
their state is written once, here; each driver's subclass creates its futures and adds the
waiting methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, Self, TypeVar

from ddp.exceptions import DDPError

__all__ = [
    "CANCELLED",
    "PENDING",
    "BaseMethodCall",
    "BaseSubscription",
    "FutureLike",
    "HandleOwner",
    "settle",
]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


PENDING: Any = object()
"""A call's *data visible* milestone is not reached yet."""
CANCELLED: Any = object()
"""A call was cancelled before its *data visible* milestone."""


class FutureLike(Protocol[T_contra]):
    """The part of ``asyncio.Future`` and ``concurrent.futures.Future`` the handles use."""

    def done(self) -> bool:
        """Whether the outcome is set (or the future was cancelled)."""
        ...

    def cancelled(self) -> bool:
        """Whether the future was cancelled."""
        ...

    def cancel(self) -> bool:
        """Cancel the future; return whether it was cancelled by this call."""
        ...

    def set_result(self, result: T_contra, /) -> None:
        """Set the outcome to ``result``."""
        ...

    def set_exception(self, exception: BaseException, /) -> None:
        """Set the outcome to ``exception``."""
        ...

    def exception(self) -> BaseException | None:
        """Return the exception set (the future must be done)."""
        ...


class HandleOwner(Protocol):
    """The client a handle belongs to (both clients implement these two methods)."""

    def _forget_call(self, method_id: str) -> None: ...

    def _stop_subscription(self, sub: Any) -> None: ...


def settle(future: FutureLike[T], result: T, error: BaseException | None) -> None:
    """Set ``future``'s outcome unless it is already done (a cancelled call stays cancelled).

    A failure is marked as retrieved: nobody may ever wait on it, and asyncio would log
    "exception was never retrieved" otherwise.
    """
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
        future.exception()


class BaseMethodCall:
    """The state of a method call: its two milestones, *result* and *data visible*.

    Attributes:
        id: The DDP method id.
        method: The method's name.
        params: The arguments, as sent.
    """

    __slots__ = (
        "_client",
        "_hook",
        "_result",
        "_sent_at",
        "_visible",
        "_visible_outcome",
        "id",
        "method",
        "params",
    )

    _result: FutureLike[Any]
    # Most callers never wait for *data visible*: the outcome is kept in
    # ``_visible_outcome`` and a future is made only for a waiter (see ``_visible_future``).
    _visible: FutureLike[None] | None

    def __init__(
        self,
        client: HandleOwner,
        method_id: str,
        method: str,
        params: tuple[Any, ...],
        result: FutureLike[Any] | None = None,
    ) -> None:
        """Record the call; ``result`` is its result future, else the subclass creates
        ``_result`` (and may create ``_visible``)."""
        if result is not None:
            self._result = result
        self._client = client
        self.id = method_id
        self.method = method
        self.params = params
        self._sent_at = 0.0
        # Turns the outcome into the result as it arrives (login keeps its token this way).
        self._hook: Callable[[Any, DDPError | None], Any] | None = None
        self._visible = None
        #: ``PENDING``, ``CANCELLED``, or the milestone's error (``None``: it was reached).
        self._visible_outcome: Any = PENDING

    def done(self) -> bool:
        """Whether the result (or the error) is known."""
        return self._result.done()

    def cancel(self) -> bool:
        """Stop waiting for this call: forget it locally; its eventual result is ignored.

        The server may still run it (DDP cannot take a call back). Waiters get the future
        type's ``CancelledError``. Returns whether anything was cancelled.
        """
        self._client._forget_call(self.id)
        cancelled = self._result.cancel()
        if self._visible_outcome is PENDING:
            self._visible_outcome = CANCELLED
            cancelled = True
        visible = self._visible
        if visible is not None:
            visible.cancel()
        return cancelled

    def _set_result(self, result: Any, error: BaseException | None) -> None:
        settle(self._result, result, error)

    def _set_visible(self, error: BaseException | None) -> None:
        """Reach the second milestone (the first outcome stands, as with a future)."""
        if self._visible_outcome is PENDING:
            self._visible_outcome = error
            if self._visible is not None:
                settle(self._visible, None, error)

    def _settle_visible(self, future: FutureLike[None]) -> None:
        """Adopt ``future``, made for a waiter, giving it the outcome already known."""
        outcome = self._visible_outcome
        if outcome is CANCELLED:
            future.cancel()
        elif outcome is not PENDING:
            settle(future, None, outcome)
        self._visible = future

    def __repr__(self) -> str:
        state = "done" if self._result.done() else "pending"
        return f"<{type(self).__name__} {self.id} {self.method!r} {state}>"


class BaseSubscription:
    """The state of a subscription, keyed by its id, across reconnects.

    It lives across reconnects (re-sent with the same id) until ``stop()`` or the server
    ends it. One publication may be subscribed several times, with other arguments.

    Attributes:
        id: The DDP subscription id.
        name: The publication's name.
        params: The arguments, as sent.
    """

    __slots__ = ("_client", "_error", "_ready", "_stopped", "id", "name", "params")

    _ready: FutureLike[None]

    def __init__(self, client: HandleOwner, sub_id: str, name: str, params: tuple[Any, ...]):
        """Record the subscription; the subclass creates ``_ready``."""
        self._client = client
        self.id = sub_id
        self.name = name
        self.params = params
        self._error: DDPError | None = None
        self._stopped = False

    @property
    def is_ready(self) -> bool:
        """Whether the initial data arrived (stays true across reconnects)."""
        fut = self._ready
        return fut.done() and not fut.cancelled() and fut.exception() is None

    @property
    def error(self) -> DDPError | None:
        """Why the subscription ended, or ``None`` while it runs or after a normal stop."""
        return self._error

    @property
    def stopped(self) -> bool:
        """Whether the subscription has ended (stopped, refused, or the client closed)."""
        return self._stopped

    def stop(self) -> None:
        """End the subscription (``unsub``); its documents leave the cache as the server
        removes them. Idempotent."""
        self._client._stop_subscription(self)

    def _set_ready(self) -> None:
        settle(self._ready, None, None)

    def _set_stopped(self, error: DDPError | None) -> None:
        self._stopped = True
        self._error = error
        if error is not None:
            settle(self._ready, None, error)
        elif not self._ready.done():
            self._ready.cancel()  # waiters learn it was stopped before it became ready

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "ready" if self.is_ready else "pending"
        return f"<{type(self).__name__} {self.id} {self.name!r} {state}>"
