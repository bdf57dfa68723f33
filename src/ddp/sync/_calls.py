"""Handles the blocking client gives out: :class:`MethodCall` and :class:`Subscription`.

Each handle wraps :class:`concurrent.futures.Future` objects that the client's I/O thread
resolves; waiting on them never touches the connection, so any number of threads can wait.
Every wait ends: with the outcome, with the ``timeout`` given, or with a typed error when the
client closes or gives up (:class:`ddp.ClientClosedError`, :class:`ddp.ConnectionFailedError`).
The state both clients' handles share is in :mod:`ddp._handles`.
"""

from __future__ import annotations

from concurrent.futures import CancelledError, Future
from typing import TYPE_CHECKING, Any

from ddp._handles import BaseMethodCall, BaseSubscription
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


class MethodCall(BaseMethodCall):
    """A method call in progress (what :meth:`Client.go` returns).

    Two milestones, as in Meteor: the *result* (:meth:`result`), and *data visible*
    (:meth:`data_visible`): every document the method wrote is in the local cache.

    Attributes:
        id: The DDP method id.
        method: The method's name.
        params: The arguments, as sent.
    """

    __slots__ = ()

    _result: Future[Any]
    _visible: Future[None]

    def __init__(self, client: Client, method_id: str, method: str, params: tuple[Any, ...]):
        super().__init__(client, method_id, method, params)
        self._result = Future()
        self._visible = Future()

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


class Subscription(BaseSubscription):
    """A subscription (what :meth:`Client.subscribe` returns), keyed by its id.

    It lives across reconnects (re-sent with the same id) until :meth:`stop` or the server
    ends it. One publication may be subscribed several times, with other arguments.

    Attributes:
        id: The DDP subscription id.
        name: The publication's name.
        params: The arguments, as sent.
    """

    __slots__ = ()

    _ready: Future[None]

    def __init__(self, client: Client, sub_id: str, name: str, params: tuple[Any, ...]):
        super().__init__(client, sub_id, name, params)
        self._ready = Future()

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
