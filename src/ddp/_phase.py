"""The client core's connection phase: one enum, one transition table, the public status.

The core (:mod:`ddp.protocol`) is always in exactly one :class:`Phase`. What may happen next
is the table :data:`TRANSITIONS`, ``(phase, trigger) -> phase``, in the manner of h11: a
pair that is not in it is a bug (in the core or in the driver that called it) and raises
:class:`PhaseError` instead of leaving the core in a state nobody planned for. The public
:class:`ddp.Status` is a function of the phase (:data:`STATUS`), so the two cannot disagree.

A *doomed* transport is one the core has asked the driver to close
(``TransportShouldClose``): frames still arriving on it are processed, but no timer runs
and no second request to close it is made.
"""

from __future__ import annotations

import enum
from typing import Final

from ddp.events import Status
from ddp.exceptions import InvalidStateError

__all__ = ["STATUS", "TRANSITIONS", "Phase", "PhaseError", "Trigger", "next_phase"]


class Phase(enum.Enum):
    """Where the core is in a connection's life."""

    IDLE = "idle"  # never dialed
    DIALING = "dialing"  # the first dial is in flight
    REDIALING = "redialing"  # a later dial is in flight
    CONNECTING = "connecting"  # the transport is open and `connect` is queued
    CONNECTING_DOOMED = "connecting, doomed"  # ... and the driver was asked to close it
    CONNECTED = "connected"  # `connected` arrived on this transport
    CONNECTED_DOOMED = "connected, doomed"  # ... and the driver was asked to close it
    WAITING = "waiting"  # no transport: waiting out the delay before the next dial
    CLOSING = "closing"  # close() was called; a dial or a transport has yet to end
    CLOSED = "closed"  # close() was called and nothing is left open
    FAILING = "failing"  # gave up for good; the transport has yet to end
    FAILED = "failed"  # gave up for good and nothing is left open

    # Members are singletons: identity hashing is exact, and far cheaper than Enum's own
    # (the core tests its phase against a set on every frame).
    __hash__ = object.__hash__


class Trigger(enum.Enum):
    """What moves the core from one phase to the next."""

    DIAL = "dial"  # the driver starts a dial (dialing)
    OPEN = "open"  # the transport is open (connection_made)
    HANDSHAKE = "handshake"  # `connected` arrived
    DOOM = "doom"  # the core asks the driver to close the transport
    RETRY = "retry"  # the dial or transport ended; another attempt is planned
    GIVE_UP = "give up"  # the dial or transport ended; no attempt is left
    REFUSE = "refuse"  # the server shares no DDP version with us (transport still open)
    CLOSE = "close"  # close()
    END = "end"  # the dial or transport ended after close() or a failure


_P = Phase
_T = Trigger
_AIRBORNE: Final = (_P.DIALING, _P.REDIALING)
_OPEN: Final = (_P.CONNECTING, _P.CONNECTING_DOOMED, _P.CONNECTED, _P.CONNECTED_DOOMED)

TRANSITIONS: Final[dict[tuple[Phase, Trigger], Phase]] = {
    (_P.IDLE, _T.DIAL): _P.DIALING,
    (_P.IDLE, _T.CLOSE): _P.CLOSED,
    **{(p, _T.OPEN): _P.CONNECTING for p in _AIRBORNE},
    **{(p, _T.CLOSE): _P.CLOSING for p in (*_AIRBORNE, *_OPEN)},
    # Every dial and every transport ends with a retry or with giving up.
    **{(p, _T.RETRY): _P.WAITING for p in (*_AIRBORNE, *_OPEN, _P.WAITING)},
    **{(p, _T.GIVE_UP): _P.FAILED for p in (*_AIRBORNE, *_OPEN, _P.WAITING)},
    (_P.CONNECTING, _T.HANDSHAKE): _P.CONNECTED,
    (_P.CONNECTING, _T.DOOM): _P.CONNECTING_DOOMED,
    (_P.CONNECTED, _T.DOOM): _P.CONNECTED_DOOMED,
    (_P.CONNECTING, _T.REFUSE): _P.FAILING,
    (_P.CONNECTING_DOOMED, _T.REFUSE): _P.FAILING,
    (_P.WAITING, _T.DIAL): _P.REDIALING,
    (_P.WAITING, _T.CLOSE): _P.CLOSED,
    # A dial still in flight at close() may yet open: the core asks for it to be closed.
    (_P.CLOSING, _T.OPEN): _P.CLOSING,
    (_P.CLOSING, _T.END): _P.CLOSED,
    (_P.CLOSING, _T.CLOSE): _P.CLOSING,
    (_P.FAILING, _T.END): _P.FAILED,
    (_P.FAILING, _T.CLOSE): _P.FAILING,
    (_P.FAILED, _T.OPEN): _P.FAILING,
    # Late reports (a dial that ends after the end) and repeated close() change nothing.
    (_P.CLOSED, _T.END): _P.CLOSED,
    (_P.CLOSED, _T.CLOSE): _P.CLOSED,
    (_P.FAILED, _T.END): _P.FAILED,
    (_P.FAILED, _T.CLOSE): _P.FAILED,
}
"""Every possible move; anything else raises :class:`PhaseError`."""

STATUS: Final[dict[Phase, Status]] = {
    _P.IDLE: Status.DISCONNECTED,
    _P.DIALING: Status.DIALING,
    _P.REDIALING: Status.RECONNECTING,
    _P.CONNECTING: Status.CONNECTING,
    _P.CONNECTING_DOOMED: Status.CONNECTING,
    _P.CONNECTED: Status.CONNECTED,
    _P.CONNECTED_DOOMED: Status.CONNECTED,
    _P.WAITING: Status.RECONNECTING,
    _P.CLOSING: Status.DISCONNECTING,
    _P.CLOSED: Status.DISCONNECTED,
    _P.FAILING: Status.FAILED,
    _P.FAILED: Status.FAILED,
}
"""The public status of each phase."""

TRANSPORT_OPEN: Final = frozenset(_OPEN)
"""Phases with a transport the core may still write to."""

ESTABLISHED: Final = frozenset((_P.CONNECTED, _P.CONNECTED_DOOMED))
"""Phases after ``connected`` on the current transport."""

TERMINAL: Final = frozenset((_P.CLOSING, _P.CLOSED, _P.FAILING, _P.FAILED))
"""Phases after ``close()`` or giving up: inbound frames are ignored, nothing restarts."""

DOOMED: Final = frozenset((_P.CONNECTING_DOOMED, _P.CONNECTED_DOOMED))
"""Phases whose transport the driver was asked to close."""


class PhaseError(InvalidStateError):
    """A move the transition table does not allow (a bug in the core or in its driver)."""


def next_phase(phase: Phase, trigger: Trigger) -> Phase:
    """Return the phase that ``trigger`` leads to from ``phase``.

    Raises:
        PhaseError: The table has no such move.
    """
    try:
        return TRANSITIONS[phase, trigger]
    except KeyError:
        raise PhaseError(f"{trigger.value!r} is impossible in phase {phase.value!r}") from None
