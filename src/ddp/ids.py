"""Identifiers as Meteor's client makes them.

* Subscription ids (and our ping ids) are :func:`random_id`: 17 characters drawn from the
  "unmistakable" alphabet (no ``0``/``O``, ``1``/``l``/``I``...), as ``Random.id()`` does.
* Method ids are a per-client decimal counter, ``"1"``, ``"2"``, ..., as Meteor's
  ``_nextMethodId`` is: :class:`MethodIdCounter`.

The random source is injectable (any callable returning a float in ``[0, 1)``), so tests
get reproducible ids; the default is the operating system's generator, as Meteor uses a
cryptographic one.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

__all__ = ["UNMISTAKABLE_CHARS", "MethodIdCounter", "random_id"]

UNMISTAKABLE_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
"""The alphabet of Meteor's ``Random.id()``: characters nobody confuses when reading."""

_SYSTEM_RANDOM = _random.SystemRandom().random


def random_id(length: int = 17, *, random: Callable[[], float] | None = None) -> str:
    """Return a Meteor-style random id.

    Args:
        length: How many characters (Meteor's default is 17, about 98 bits).
        random: A source of floats in ``[0, 1)``; the operating system's by default.

    Raises:
        ValueError: ``length`` is not positive.
    """
    if length < 1:
        raise ValueError(f"an id needs at least one character, not {length}")
    fraction = random or _SYSTEM_RANDOM
    alphabet = UNMISTAKABLE_CHARS
    size = len(alphabet)
    # min() keeps a sloppy injected source that returns 1.0 inside the alphabet.
    return "".join(alphabet[min(int(fraction() * size), size - 1)] for _ in range(length))


class MethodIdCounter:
    """Hands out method ids ``"1"``, ``"2"``, ... for one client, never repeating."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        """Return the next method id."""
        self._last += 1
        return str(self._last)

    @property
    def last(self) -> int:
        """The number of ids handed out so far."""
        return self._last
