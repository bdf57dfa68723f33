"""The quiescence machine of the client core (Meteor's ``_subsBeingRevived`` and
``_methodsBlockingQuiescence``).

While a hold is *active*, data messages and the ``ready``, ``updated`` and ``nosub`` that
follow them are kept here instead of being applied. The hold ends when no subscription is
being revived and no blocking method lacks its ``updated``; the core then takes everything
out with :meth:`Quiescence.release` and applies it in arrival order, in one store batch.
The core (:mod:`ddp.protocol`) decides when a hold starts and what it waits for; this class
only keeps the books.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Quiescence"]

M = TypeVar("M")


class Quiescence(Generic[M]):
    """What is held back until quiescence, and what the hold waits for.

    Attributes:
        active: Whether data is being held.
        reviving: Subscriptions ready before a drop, not ready again yet.
        blocking: Methods whose ``updated`` the hold waits for.
        data: The held data messages, in arrival order.
        held: The held deferred messages: ``(apply, argument)`` pairs, in arrival order.
        reset: Whether the store is to be cleared first (a new session after a reconnect).
        half_finished: Calls that had their ``result`` but not their ``updated`` when a new
            session began: data-visible once the hold ends.
    """

    __slots__ = ("active", "blocking", "data", "half_finished", "held", "reset", "reviving")

    def __init__(self) -> None:
        self.active = False
        self.reviving: set[str] = set()
        self.blocking: set[str] = set()
        self.data: list[dict[str, Any]] = []
        self.held: list[tuple[Callable[[Any], None], Any]] = []
        self.reset = False
        self.half_finished: list[M] = []

    def settled(self) -> bool:
        """Whether an active hold has nothing left to wait for."""
        return self.active and not self.reviving and not self.blocking

    def release(
        self,
    ) -> tuple[list[dict[str, Any]], list[tuple[Callable[[Any], None], Any]], bool, list[M]]:
        """End the hold; return (and forget) the data, the deferred messages, whether to
        reset the store, and the half-finished calls."""
        released = (self.data, self.held, self.reset, self.half_finished)
        self.active = False
        self.data = []
        self.held = []
        self.reset = False
        self.half_finished = []
        return released

    def clear(self) -> None:
        """Drop everything held and every wait (a new session, ``close()``, a failure)."""
        self.active = False
        self.reviving.clear()
        self.blocking.clear()
        self.data.clear()
        self.held.clear()
        self.reset = False
        self.half_finished.clear()
