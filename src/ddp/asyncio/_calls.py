"""Handles the asyncio client gives out: :class:`MethodCall` and :class:`Subscription`.

Each handle wraps :class:`asyncio.Future` objects that the client resolves from its event
loop. Every wait ends: with the outcome, with the ``timeout`` given, or with a typed error when
the client closes or gives up (:class:`ddp.ClientClosedError`, :class:`ddp.ConnectionFailedError`).
The blocking twins are in :mod:`ddp.sync._calls`; the two share names and semantics.
"""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
import asyncio
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from ddp._docs import HANDLE_METHODS, SUBSCRIPTION_DOC, document
from ddp._handles import BaseMethodCall, BaseSubscription
from ddp.exceptions import DDPError, DDPTimeoutError, InvalidStateError

if TYPE_CHECKING:
    from ddp.asyncio.client import AsyncClient

__all__ = ["MethodCall", "Subscription"]

T = TypeVar("T")


async def wait_for(future: asyncio.Future[T], timeout: float | None, what: str) -> T:  # noqa: ASYNC109
    """Wait for ``future`` without cancelling it, turning a timeout into ``DDPTimeoutError``.

    ``asyncio.shield`` keeps the shared future alive when this one waiter gives up, so other
    waiters (and the client) still see the outcome.
    """
    if future.done():
        return future.result()
    if timeout is None:
        return await asyncio.shield(future)
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.shield(future)
    except TimeoutError as exc:
        if isinstance(exc, DDPError) or future.done():
            raise
        raise DDPTimeoutError(f"{what} timed out after {timeout} s") from None


class MethodCall(BaseMethodCall):
    """A method call in progress (what :meth:`AsyncClient.go` returns).

    Two milestones, as in Meteor: the *result* (:meth:`result`, or ``await call``), and
    *data visible* (:meth:`data_visible`): every document the method wrote is in the cache.

    Attributes:
        id: The DDP method id.
        method: The method's name.
        params: The arguments, as sent.
    """

    __slots__ = ()

    _result: asyncio.Future[Any]
    _visible: asyncio.Future[None] | None

    # No __init__ of its own (one frame less per call): the client makes it as
    # ``MethodCall(client, method_id, method, params, loop.create_future())``.

    async def result(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        return await wait_for(self._result, timeout, f"method {self.method!r}")

    async def data_visible(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        visible = self._visible
        if visible is None:
            # Made on the first wait only: most calls are never asked (see BaseMethodCall).
            visible = self._result.get_loop().create_future()
            self._settle_visible(visible)
        await wait_for(visible, timeout, f"data of method {self.method!r}")

    def __await__(self) -> Generator[Any, None, Any]:
        return self.result().__await__()


class Subscription(BaseSubscription):
    __slots__ = ()

    _ready: asyncio.Future[None]

    def __init__(
        self,
        client: AsyncClient,
        sub_id: str,
        name: str,
        params: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(client, sub_id, name, params)
        self._ready = loop.create_future()

    async def ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        try:
            await wait_for(self._ready, timeout, f"subscription {self.name!r}")
        except asyncio.CancelledError:
            if not self._ready.cancelled():
                raise  # our own task is being cancelled
            raise InvalidStateError(
                f"subscription {self.name!r} was stopped before it became ready"
            ) from None

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()


# The waiting methods' docstrings are shared by both drivers' handles (see ddp._docs).
document(MethodCall, HANDLE_METHODS, {"cancelled": "asyncio.CancelledError"})
Subscription.__doc__ = SUBSCRIPTION_DOC.replace("<client>", "AsyncClient")
document(Subscription, HANDLE_METHODS, {})
