"""The method context handed to ``@server.method`` handlers (Meteor's ``this`` in a method)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ddp.exceptions import MethodError

if TYPE_CHECKING:
    from ddp.server.session import ConnectionInfo, Session

__all__ = ["MethodContext", "MethodHandler", "check_arguments"]

MethodHandler = Callable[..., Any]
"""``handler(ctx: MethodContext, *params)``, plain or ``async``; returns the result."""


class MethodContext:
    """The first argument of every method handler.

    Attributes:
        method_id: The client's id of this call.
        name: The method name.
        random_seed: The ``randomSeed`` the client sent, or ``None``.
    """

    def __init__(
        self, session: Session, method_id: str, name: str, random_seed: str | None
    ) -> None:
        self.method_id = method_id
        self.name = name
        self.random_seed = random_seed
        self._session = session
        self._unblocked = asyncio.Event()

    @property
    def user_id(self) -> str | None:
        """The id of the logged-in user of the connection, or ``None``."""
        return self._session.user_id

    @property
    def session_id(self) -> str:
        """The DDP session id of the connection."""
        return self._session.id

    @property
    def connection(self) -> ConnectionInfo:
        """Information about the client connection (id, address, HTTP headers)."""
        return self._session.connection

    def set_user_id(self, user_id: str | None) -> None:
        """Log the connection in as ``user_id`` (or out, with ``None``).

        The connection's subscriptions re-run as the new user; the client receives only the
        difference, before this method's ``result``.
        """
        self._session.set_user_id(user_id)

    def unblock(self) -> None:
        """Let the connection process its next messages while this method still runs."""
        self._unblocked.set()


_SIGNATURES: dict[Callable[..., Any], inspect.Signature | None] = {}


def check_arguments(handler: Callable[..., Any], context: Any, params: list[Any]) -> None:
    """Raise Meteor's ``400 "Match failed"`` if ``handler`` cannot take ``params``.

    Without this check a wrong argument count would surface as a 500 from deep inside.
    """
    try:
        signature = _SIGNATURES[handler]
    except KeyError:
        try:
            signature = inspect.signature(handler)
        except (TypeError, ValueError):
            signature = None  # builtins without a signature: let the call decide
        _SIGNATURES[handler] = signature
    if signature is None:
        return
    try:
        signature.bind(context, *params)
    except TypeError as exc:
        raise MethodError(400, "Match failed") from exc
