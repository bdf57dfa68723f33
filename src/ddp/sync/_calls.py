"""Handles the blocking client gives out: :class:`MethodCall` and :class:`Subscription`.

Each handle wraps :class:`concurrent.futures.Future` objects that the client's I/O thread
resolves; waiting on them never touches the connection, so any number of threads can wait.
Every wait ends: with the outcome, with the ``timeout`` given, or with a typed error when the
client closes or gives up (:class:`ddp.ClientClosedError`, :class:`ddp.ConnectionFailedError`).
The state both clients' handles share is in :mod:`ddp._handles`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import InvalidStateError as FutureStateError
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ddp._docs import HANDLE_METHODS, SUBSCRIPTION_DOC, document
from ddp._handles import BaseMethodCall, BaseSubscription
from ddp.exceptions import DDPError, DDPTimeoutError, InvalidStateError
from ddp.sync._flag import Flag

if TYPE_CHECKING:
    from ddp.sync.client import Client

__all__ = ["MethodCall", "Outcome", "Subscription"]

logger = logging.getLogger("ddp.client")

T = TypeVar("T")

_PENDING, _FINISHED, _CANCELLED = "pending", "finished", "cancelled"


class Outcome(Generic[T]):
    """A one-shot outcome with the part of :class:`concurrent.futures.Future` the client
    uses (``done``, ``cancelled``, ``cancel``, ``set_result``, ``set_exception``,
    ``exception``, ``result``, ``add_done_callback``), the same exceptions included, at a
    fraction of its cost: a method call makes two of these per round trip.

    ``Future`` builds a ``Condition`` (an ``RLock`` and Python-level waiting) per instance
    and takes it on every ``done()``. Here a plain lock guards the one transition from
    pending, and a :class:`~ddp.sync._flag.Flag`, set then and never cleared, is the latch
    waiters pass. Both are ``threading`` locks (gevent-patchable).
    """

    __slots__ = ("_callbacks", "_exception", "_latch", "_mutex", "_result", "_state")

    def __init__(self) -> None:
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Outcome[T]], object]] | None = None
        self._mutex = threading.Lock()
        self._latch = Flag()  # set once, when the outcome is

    def done(self) -> bool:
        return self._state is not _PENDING

    def cancelled(self) -> bool:
        return self._state is _CANCELLED

    def set_result(self, result: T) -> None:
        if not self._settle(_FINISHED, result, None):
            raise FutureStateError(f"{self._state}: {self!r}")

    def set_exception(self, exception: BaseException) -> None:
        if not self._settle(_FINISHED, None, exception):
            raise FutureStateError(f"{self._state}: {self!r}")

    def cancel(self) -> bool:
        """Cancel unless done; True when cancelled (now or before), as ``Future.cancel``."""
        return self._settle(_CANCELLED, None, None) or self._state is _CANCELLED

    def add_done_callback(self, fn: Callable[[Outcome[T]], object]) -> None:
        with self._mutex:
            if self._state is _PENDING:
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
                return
        self._call(fn)

    def result(self, timeout: float | None = None) -> T:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise CancelledError
        if self._exception is not None:
            raise self._exception
        result: T = self._result
        return result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise CancelledError
        return self._exception

    def _wait(self, timeout: float | None) -> None:
        if self._state is not _PENDING:
            return
        if not self._latch.wait(timeout):
            raise TimeoutError

    def _settle(self, state: str, result: Any, exception: BaseException | None) -> bool:
        with self._mutex:
            if self._state is not _PENDING:
                return False
            self._result = result
            self._exception = exception
            self._state = state
            callbacks = self._callbacks
            self._callbacks = None
        self._latch.set()
        if callbacks is not None:
            for fn in callbacks:
                self._call(fn)
        return True

    def _call(self, fn: Callable[[Outcome[T]], object]) -> None:
        try:
            fn(self)
        except Exception:
            logger.exception("exception calling callback for %r", self)

    def __repr__(self) -> str:
        return f"<Outcome {self._state}>"


def wait_for(future: Future[Any] | Outcome[Any], timeout: float | None, what: str) -> Any:
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

    _result: Outcome[Any]
    _visible: Outcome[None]

    def __init__(self, client: Client, method_id: str, method: str, params: tuple[Any, ...]):
        super().__init__(client, method_id, method, params)
        self._result = Outcome()
        self._visible = Outcome()

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
