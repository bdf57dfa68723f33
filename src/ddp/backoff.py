"""The reconnect schedule: Meteor's ``Retry`` (``packages/retry``) as a pure value.

The first ``min_count`` retries come quickly (``min_timeout``, 10 ms by default), because a
dropped connection is most often a blip. After that the delay grows as
``base * exponent ** attempt`` up to ``max``, and every such delay is spread by ``fuzz``
(+-25 % by default) so that many clients cut off together do not come back together.

With Meteor's defaults the delays are about 10 ms, 10 ms, 4.8 s, 10.6 s, 23.4 s, 51.5 s,
113 s, 249 s, then 300 s (each +-25 %). ``attempt`` counts the retries since the last
successful ``connected``; :class:`ddp.protocol.ClientProtocol` keeps that count.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """A reconnect schedule (Meteor's defaults).

    Attributes:
        base: Seconds the exponential part starts from.
        exponent: Growth factor per attempt.
        max: Cap on the un-fuzzed delay, in seconds.
        min_timeout: The delay of the first ``min_count`` attempts, in seconds (not fuzzed).
        min_count: How many attempts use ``min_timeout``.
        fuzz: Relative width of the random spread: a delay ``d`` becomes a value in
            ``[d * (1 - fuzz / 2), d * (1 + fuzz / 2))``.
    """

    base: float = 1.0
    exponent: float = 2.2
    max: float = 300.0
    min_timeout: float = 0.01
    min_count: int = 2
    fuzz: float = 0.5

    def __post_init__(self) -> None:
        for name in ("base", "exponent", "max", "min_timeout", "fuzz"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"Backoff.{name} must be a number, not {type(value).__name__}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Backoff.{name} must be finite and >= 0, got {value!r}")
        if self.fuzz > 2:
            raise ValueError(
                f"Backoff.fuzz must be <= 2 (a delay cannot be negative), got {self.fuzz}"
            )
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int):
            raise TypeError("Backoff.min_count must be an integer")
        if self.min_count < 0:
            raise ValueError(f"Backoff.min_count must be >= 0, got {self.min_count}")

    def delay(self, attempt: int, random: Callable[[], float] = _random.random) -> float:
        """Return the seconds to wait before retry number ``attempt`` (counted from 0).

        Args:
            attempt: Retries already made since the last successful connection.
            random: A source of floats in ``[0, 1)`` for the spread.
        """
        if attempt < self.min_count:
            return self.min_timeout
        # Past the cap the power is pointless, and for a huge attempt it would overflow.
        try:
            grown = self.base * self.exponent**attempt
        except OverflowError:
            grown = math.inf
        capped = min(self.max, grown)
        return capped * (1.0 - self.fuzz / 2.0 + self.fuzz * random())
