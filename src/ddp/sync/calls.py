"""Handles the blocking client gives out: :class:`MethodCall` and :class:`Subscription`.

Each handle wraps :class:`concurrent.futures.Future` objects that the client's I/O thread
resolves; waiting on them never touches the connection, so any number of threads can wait.
Every wait ends: with the outcome, with the ``timeout`` given, or with a typed error when the
client closes or gives up (:class:`ddp.ClientClosedError`, :class:`ddp.ConnectionFailedError`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import TYPE_CHECKING, Any

from ddp.exceptions import DDPError, DDPTimeoutError, InvalidStateError

if TYPE_CHECKING:
    from ddp.sync.client import Client

__all__ = ["MethodCall", "Subscription"]


def wait_for(future: Future[Any], timeout: float | None, what: str) -> Any:
    """Return ``future``'s result, turning a timeout into :class:`ddp.DDPTimeoutError`."""
    try:
        return future.result(timeout)
    except TimeoutError as exc:
        # A DDPTimeoutError set as the outcome (not our wait running out) passes through.
        if isinstance(exc, DDPError):
            raise
        raise DDPTimeoutError(f"{what} timed out after {timeout} s") from None


class MethodCall:
    """A method call in progress (what :meth:`Client.go` returns).

    Two milestones, as in Meteor: the *result* (:meth:`result`), and *data visible*
    (:meth:`data_visible`): every document the method wrote is in the local cache.

    Attributes:
        id: The DDP method id.
        method: The method's name.
        params: The arguments, as sent.
    """

    __slots__ = ("_client", "_hook", "_result", "_sent_at", "_visible", "id", "method", "params")

    def __init__(self, client: Client, method_id: str, method: str, params: tuple[Any, ...]):
        self._client = client
        self.id = method_id
        self.method = method
        self.params = params
        self._result: Future[Any] = Future()
        self._visible: Future[None] = Future()
        self._sent_at = 0.0
        # Run by the I/O thread on the outcome (login keeps its token this way).
        self._hook: Callable[[Any, DDPError | None], Any] | None = None

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the method's result and return it.

        Args:
            timeout: Seconds to wait (``None``: until the call ends). Running out of time
                raises but leaves the call running: wait again, or :meth:`cancel` it.

        Raises:
            ddp.MethodError: The server answered with an error (``RateLimitedError``,
                ``InvocationFailedError`` and ``LoginError`` are kinds of it).
            ddp.ConnectionClosedError: The client closed or gave up before the result.
            ddp.DDPTimeoutError: ``timeout`` ran out.
            concurrent.futures.CancelledError: The call was cancelled.
        """
        return wait_for(self._result, timeout, f"method {self.method!r}")

    def data_visible(self, timeout: float | None = None) -> None:
        """Wait until every write of the method is in the local cache (DDP's ``updated``).

        Raises:
            ddp.ConnectionClosedError: The client closed or gave up first.
            ddp.DDPTimeoutError: ``timeout`` ran out.
            concurrent.futures.CancelledError: The call was cancelled.
        """
        wait_for(self._visible, timeout, f"data of method {self.method!r}")

    def done(self) -> bool:
        """Whether the result (or the error) is known."""
        return self._result.done()

    def cancel(self) -> bool:
        """Stop waiting for this call: forget it locally; its eventual result is ignored.

        The server may still run it (DDP cannot take a call back). Waiters get
        ``concurrent.futures.CancelledError``. Returns whether anything was cancelled.
        """
        self._client._forget_call(self.id)
        cancelled = self._result.cancel()
        return self._visible.cancel() or cancelled

    def __repr__(self) -> str:
        state = "done" if self._result.done() else "pending"
        return f"<MethodCall {self.id} {self.method!r} {state}>"


class Subscription:
    """A subscription (what :meth:`Client.subscribe` returns), keyed by its id.

    It lives across reconnects (re-sent with the same id) until :meth:`stop` or the server
    ends it.

    Attributes:
        id: The DDP subscription id.
        name: The publication's name.
        params: The arguments, as sent.
    """

    __slots__ = ("_client", "_error", "_ready", "_stopped", "id", "name", "params")

    def __init__(self, client: Client, sub_id: str, name: str, params: tuple[Any, ...]):
        self._client = client
        self.id = sub_id
        self.name = name
        self.params = params
        self._ready: Future[None] = Future()
        self._error: DDPError | None = None
        self._stopped = False

    def ready(self, timeout: float | None = None) -> None:
        """Wait until the initial data is in the local cache (DDP's ``ready``).

        Raises:
            ddp.SubscriptionError: The server refused or ended it (``RateLimitedError``
                is a kind of it); the whole error object is kept.
            ddp.ConnectionClosedError: The client closed or gave up first.
            ddp.InvalidStateError: It was stopped before it became ready.
            ddp.DDPTimeoutError: ``timeout`` ran out.
        """
        try:
            wait_for(self._ready, timeout, f"subscription {self.name!r}")
        except CancelledError:
            raise InvalidStateError(
                f"subscription {self.name!r} was stopped before it became ready"
            ) from None

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

    # -- used by the client's I/O thread, under the client's lock ------------------------
    def _set_ready(self) -> None:
        if not self._ready.done():
            self._ready.set_result(None)

    def _set_stopped(self, error: DDPError | None) -> None:
        self._stopped = True
        self._error = error
        if not self._ready.done():
            if error is not None:
                self._ready.set_exception(error)
            else:
                self._ready.cancel()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "ready" if self.is_ready else "pending"
        return f"<Subscription {self.id} {self.name!r} {state}>"
