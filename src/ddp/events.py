"""What the protocol core (:mod:`ddp.protocol`) reports to the drivers, and to users.

Events are small frozen dataclasses (the two every method call makes store their fields
through their slots, which is cheaper than a frozen dataclass's ``__init__``). Data messages
(``added``, ``changed``, ...) are *not* events: they go to the data store in batches (see
:class:`ddp.protocol.DataStore`), because they are the hot path.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ddp.exceptions import DDPError, RemoteError

__all__ = [
    "Connected",
    "ConnectionLost",
    "Event",
    "LoginResumed",
    "MethodDataVisible",
    "MethodResult",
    "Pong",
    "ProtocolViolation",
    "ServerErrorMessage",
    "Status",
    "StatusChanged",
    "SubscriptionReady",
    "SubscriptionStopped",
    "TransportShouldClose",
]


class Status(enum.IntEnum):
    """The client's connection status (``client.status``).

    ``FAILED`` means the client gave up for good (``reconnect=False`` and the connection
    was lost, ``max_attempts`` failed attempts, or no DDP version in common); every other
    value may change again. The names match the Go DDP client's status constants.
    """

    DISCONNECTED = 0
    DISCONNECTING = 1
    CONNECTED = 2
    DIALING = 3
    CONNECTING = 4
    RECONNECTING = 5
    FAILED = 6


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The status moved from ``old`` to ``new``; ``reason`` says why when it is a loss."""

    old: Status
    new: Status
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Connected:
    """``connected`` arrived: a DDP session is established.

    ``resumed`` is true when the server kept our previous session (Meteor 3.5 resumption);
    ``reconnect`` is true on every connection after the first.
    """

    session: str
    version: str
    resumed: bool
    reconnect: bool


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The transport went away; ``will_retry`` says whether a reconnect is planned."""

    reason: str
    will_retry: bool


@dataclass(frozen=True, slots=True)
class TransportShouldClose:
    """The core decided the transport is dead (heartbeat or connect timeout, ``failed``).

    The driver must close the socket, then call ``connection_lost``.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class MethodResult:
    """A method's first milestone: its result, or the error it ended with.

    ``error`` is a :class:`ddp.MethodError` from the server, or a local
    :class:`ddp.DDPError` (``InvocationFailedError``, ``ClientClosedError``, ...).
    """

    method_id: str
    result: Any = None
    error: DDPError | None = None

    def __init__(self, method_id: str, result: Any = None, error: DDPError | None = None) -> None:
        # Every call makes one: the slots' own setters cost a third of the object.__setattr__
        # per field of a frozen dataclass's generated __init__ (same fields, same freezing).
        _SET_RESULT_ID(self, method_id)
        _SET_RESULT(self, result)
        _SET_RESULT_ERROR(self, error)


@dataclass(frozen=True, slots=True)
class MethodDataVisible:
    """A method's second milestone: every write it made is in the local store.

    ``error`` is set when the call ended locally before the server said ``updated``.
    """

    method_id: str
    error: DDPError | None = None

    def __init__(self, method_id: str, error: DDPError | None = None) -> None:
        # As MethodResult's: every call makes one.
        _SET_VISIBLE_ID(self, method_id)
        _SET_VISIBLE_ERROR(self, error)


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The ``__set__`` of ``cls``'s slots ``names``: they store a field of a frozen instance."""
    return tuple(vars(cls)[name].__set__ for name in names)


_SET_RESULT_ID, _SET_RESULT, _SET_RESULT_ERROR = _slot_setters(
    MethodResult, "method_id", "result", "error"
)
_SET_VISIBLE_ID, _SET_VISIBLE_ERROR = _slot_setters(MethodDataVisible, "method_id", "error")


@dataclass(frozen=True, slots=True)
class SubscriptionReady:
    """A subscription's initial data is in the local store."""

    sub_id: str


@dataclass(frozen=True, slots=True)
class SubscriptionStopped:
    """A subscription ended: ``error`` is ``None`` for a normal stop (``nosub`` without error)
    or a :class:`ddp.SubscriptionError` / local :class:`ddp.DDPError`."""

    sub_id: str
    error: DDPError | None = None


@dataclass(frozen=True, slots=True)
class Pong:
    """A ``pong`` arrived (``ping_id`` is ``None`` when it carried no id)."""

    ping_id: str | None


@dataclass(frozen=True, slots=True)
class LoginResumed:
    """The resume-token login the core sent after a reconnect ended.

    ``result`` is the server's login result (``id``, ``token``, ``tokenExpires``) on success;
    ``error`` is the server's refusal, after which the core forgets the token.
    """

    result: Any = None
    error: RemoteError | None = None


@dataclass(frozen=True, slots=True)
class ServerErrorMessage:
    """The server sent DDP's ``error`` message (it found one of our frames malformed)."""

    reason: str
    offending_message: Any = None


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """A frame from the server could not be understood; it was ignored.

    ``frame`` is the raw text (cut to a few hundred characters).
    """

    reason: str
    frame: str


Event = (
    StatusChanged
    | Connected
    | ConnectionLost
    | TransportShouldClose
    | MethodResult
    | MethodDataVisible
    | SubscriptionReady
    | SubscriptionStopped
    | Pong
    | LoginResumed
    | ServerErrorMessage
    | ProtocolViolation
)
