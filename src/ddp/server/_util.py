"""Small helpers shared by the server modules: random ids and Meteor's error wrapping."""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ddp.exceptions import MethodError, RemoteError

__all__ = ["call_maybe_async", "internal_error", "logger", "random_id", "wire_error"]

logger = logging.getLogger("ddp.server")

# Meteor's Random.id() alphabet: no characters that are easily mistaken for one another.
_UNMISTAKABLE = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

T = TypeVar("T")


def random_id(length: int = 17) -> str:
    """Return a Meteor-style random id (17 characters of the unmistakable alphabet)."""
    return "".join(secrets.choice(_UNMISTAKABLE) for _ in range(length))


def internal_error() -> MethodError:
    """Meteor's answer to an unexpected exception: ``500 "Internal server error"``."""
    return MethodError(500, "Internal server error")


def wire_error(exc: BaseException, context: str) -> dict[str, Any]:
    """Return the wire error object for ``exc``, as Meteor's ``wrapInternalException``.

    A :class:`ddp.RemoteError` (``MethodError`` and its kin) is client-safe and sent as is;
    anything else is logged with ``context`` and hidden behind a 500.
    """
    if isinstance(exc, RemoteError):
        return exc.to_wire()
    logger.error("Exception %s", context, exc_info=exc)
    return internal_error().to_wire()


async def call_maybe_async(fn: Callable[..., T | Awaitable[T]], *args: Any) -> T:
    """Call ``fn(*args)`` and await the result when the function returned an awaitable."""
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result
