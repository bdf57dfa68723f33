"""Every exception ``ddp`` raises, in one tree.

.. code-block:: text

    DDPError
    ├── RemoteError                  the server answered with a Meteor error object
    │   ├── MethodError              ``result`` with ``error`` (error, reason, details)
    │   │   ├── InvocationFailedError    ``no_retry`` call cut off by a dropped connection
    │   │   └── LoginError               ``login`` refused
    │   ├── SubscriptionError        ``nosub`` with ``error``
    │   └── RateLimitedError         Meteor's ``too-many-requests`` (also a MethodError and a
    │                                SubscriptionError), with ``retry_after`` in seconds
    ├── ConnectionClosedError        the connection is gone and the call cannot complete
    │   ├── ClientClosedError        ``close()`` was called
    │   └── ConnectionFailedError    permanent failure: no more reconnect attempts
    │       └── VersionNegotiationError  the server shares no DDP version with us
    ├── DDPTimeoutError              a wait ran out of time (also a builtin ``TimeoutError``)
    ├── ProtocolError                the peer sent something DDP does not allow
    │   └── DocumentDepthError       a document nests deeper than 128 levels (also ValueError)
    ├── EJSONError                   a value cannot be encoded or decoded as EJSON (also ValueError)
    ├── InvalidSelectorError         a local query is malformed (also ValueError)
    └── InvalidStateError            an operation that the client's state does not allow

Names never shadow builtins: catch ``ddp.DDPTimeoutError`` or the builtin ``TimeoutError``,
both work.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "ClientClosedError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "DDPError",
    "DDPTimeoutError",
    "DocumentDepthError",
    "EJSONError",
    "InvalidSelectorError",
    "InvalidStateError",
    "InvocationFailedError",
    "LoginError",
    "MethodError",
    "ProtocolError",
    "RateLimitedError",
    "RemoteError",
    "SubscriptionError",
    "VersionNegotiationError",
]


class DDPError(Exception):
    """Base class of every exception raised by ``ddp``."""


class RemoteError(DDPError):
    """An error object sent by the server (Meteor's ``Meteor.Error`` on the wire).

    Attributes:
        error: The error code: a string such as ``"not-authorized"`` or a number such as
            ``404`` (DDP allows both).
        reason: A human-readable reason, or ``None``.
        details: Any JSON value the server attached, or ``None``.
    """

    def __init__(
        self, error: str | int | float, reason: str | None = None, details: Any = None
    ) -> None:
        self.error = error
        self.reason = reason
        self.details = details
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Meteor's formatting: ``"<reason> [<error>]"``, or ``"[<error>]"`` without a reason."""
        return f"{self.reason} [{self.error}]" if self.reason else f"[{self.error}]"

    def to_wire(self) -> dict[str, Any]:
        """Return the error object as Meteor sends it (``isClientSafe``, ``errorType``, ...)."""
        obj: dict[str, Any] = {
            "isClientSafe": True,
            "error": self.error,
            "reason": self.reason,
            "message": self.message,
            "errorType": "Meteor.Error",
        }
        if self.reason is None:
            del obj["reason"]
        if self.details is not None:
            obj["details"] = self.details
        return obj

    @classmethod
    def from_wire(cls, obj: Any) -> RemoteError:
        """Build the most specific error for a wire error object, tolerating any shape.

        A missing ``error`` becomes ``500``; a non-object becomes a 500 whose reason is its
        text. ``too-many-requests`` becomes :class:`RateLimitedError` whatever ``cls`` is.
        """
        if not isinstance(obj, dict):
            return cls(500, str(obj) if obj is not None else "Unknown error", None)
        error = obj.get("error", 500)
        if not isinstance(error, str | int | float) or isinstance(error, bool):
            error = str(error)
        reason = obj.get("reason", obj.get("message"))
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
        details = obj.get("details")
        if error == "too-many-requests":
            return RateLimitedError(error, reason, details)
        return cls(error, reason, details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error!r}, {self.reason!r}, {self.details!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.error, self.reason, self.details))


class MethodError(RemoteError):
    """A method call answered with an error (``result`` carrying ``error``).

    Raise it from a :mod:`ddp.server` method handler to send that error to the client.
    """


class InvocationFailedError(MethodError):
    """A ``no_retry`` call was in flight when the connection dropped.

    Meteor's code ``invocation-failed``: the call may or may not have run on the server.
    """

    def __init__(
        self,
        error: str | int | float = "invocation-failed",
        reason: str | None = (
            "Method invocation might have failed due to dropped connection. "
            "Failing because no_retry was set."
        ),
        details: Any = None,
    ) -> None:
        super().__init__(error, reason, details)


class LoginError(MethodError):
    """The server refused a ``login`` (wrong password, expired or unknown token)."""


class SubscriptionError(RemoteError):
    """A subscription ended with an error (``nosub`` carrying ``error``)."""


class RateLimitedError(MethodError, SubscriptionError):
    """Meteor's rate limiter refused a method or subscription (``too-many-requests``).

    Attributes:
        retry_after: Seconds until the limit resets (``details.timeToReset`` / 1000), or
            ``None`` when the server did not say.
    """

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, from ``details.timeToReset``."""
        details = self.details
        if isinstance(details, dict):
            ms = details.get("timeToReset")
            if isinstance(ms, int | float) and not isinstance(ms, bool) and math.isfinite(ms):
                return max(0.0, ms / 1000.0)
        return None


class ConnectionClosedError(DDPError):
    """The connection is closed and the operation cannot complete."""


class ClientClosedError(ConnectionClosedError):
    """The client was closed with ``close()`` while the operation was pending."""


class ConnectionFailedError(ConnectionClosedError):
    """The client gave up connecting (attempts exhausted or reconnect disabled)."""


class VersionNegotiationError(ConnectionFailedError):
    """The server supports none of the DDP versions the client offered."""


class DDPTimeoutError(DDPError, TimeoutError):
    """A wait (connect, call, subscribe, ping) ran out of time."""


class ProtocolError(DDPError):
    """The peer sent a frame that DDP does not allow."""


class DocumentDepthError(ProtocolError, ValueError):
    """A document nests deeper than the store's limit (128 levels, as
    :data:`ddp.collection.MAX_DEPTH` says): the message carrying it is refused on its own,
    and a query that meets one raises this instead of a bare ``RecursionError``."""


class EJSONError(DDPError, ValueError):
    """A value cannot be encoded to, or decoded from, EJSON."""


class InvalidSelectorError(DDPError, ValueError):
    """A query selector, sort specification or projection is malformed."""


class InvalidStateError(DDPError):
    """The operation is not allowed in the client's current state."""
