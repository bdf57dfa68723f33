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

from ddp._docs import HANDLE_METHODS, SUBSCRIPTION_DOC, document
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
        return wait_for(self._result, timeout, f"method {self.method!r}")

    def data_visible(self, timeout: float | None = None) -> None:
        wait_for(self._visible, timeout, f"data of method {self.method!r}")


class Subscription(BaseSubscription):
    __slots__ = ()

    _ready: Future[None]

    def __init__(self, client: Client, sub_id: str, name: str, params: tuple[Any, ...]):
        super().__init__(client, sub_id, name, params)
        self._ready = Future()

    def ready(self, timeout: float | None = None) -> None:
        try:
            wait_for(self._ready, timeout, f"subscription {self.name!r}")
        except CancelledError:
            raise InvalidStateError(
                f"subscription {self.name!r} was stopped before it became ready"
            ) from None


# The waiting methods' docstrings are shared by both drivers' handles (see ddp._docs).
document(MethodCall, HANDLE_METHODS, {"cancelled": "concurrent.futures.CancelledError"})
Subscription.__doc__ = SUBSCRIPTION_DOC.replace("<client>", "Client")
document(Subscription, HANDLE_METHODS, {})
