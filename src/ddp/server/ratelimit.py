"""Meteor's rate-limit error and a simple per-connection rate limiter."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ddp.exceptions import RateLimitedError

__all__ = ["RateLimiter", "rate_limited_error"]

Kind = Literal["method", "subscription"]


def rate_limited_error(time_to_reset_ms: float, message: str | None = None) -> RateLimitedError:
    """Return Meteor's ``too-many-requests`` error (a :class:`ddp.MethodError`).

    Args:
        time_to_reset_ms: Milliseconds until the client may try again (``details.timeToReset``).
        message: The reason; Meteor's default text when ``None``.
    """
    ms = max(0, math.ceil(time_to_reset_ms))
    if message is None:
        seconds = math.ceil(ms / 1000)
        message = (
            "Error, too many requests. Please slow down. "
            f"You must wait {seconds} seconds before trying again."
        )
    return RateLimitedError("too-many-requests", message, {"timeToReset": ms})


@dataclass(frozen=True, slots=True)
class _Rule:
    max_calls: int
    per_seconds: float


class RateLimiter:
    """Fixed-window limits per (kind, name) and per connection, as Meteor's DDPRateLimiter.

    Args:
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rules: dict[tuple[Kind, str], _Rule] = {}
        self._windows: dict[tuple[str, Kind, str], tuple[float, int]] = {}

    def add_rule(self, kind: Kind, name: str, max_calls: int, per_seconds: float) -> None:
        """Allow ``max_calls`` of ``name`` per ``per_seconds`` on each connection.

        Raises:
            ValueError: a limit is not positive or ``kind`` is unknown.
        """
        if kind not in ("method", "subscription"):
            raise ValueError(f"kind must be 'method' or 'subscription', not {kind!r}")
        if max_calls < 1 or per_seconds <= 0:
            raise ValueError("max_calls and per_seconds must be positive")
        self._rules[(kind, name)] = _Rule(max_calls, per_seconds)

    def check(self, connection_id: str, kind: Kind, name: str) -> RateLimitedError | None:
        """Count one call; return the error to send if it is over the limit."""
        rule = self._rules.get((kind, name))
        if rule is None:
            return None
        now = self._clock()
        key = (connection_id, kind, name)
        start, count = self._windows.get(key, (now, 0))
        if now - start >= rule.per_seconds:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if count <= rule.max_calls:
            return None
        return rate_limited_error((start + rule.per_seconds - now) * 1000)

    def forget(self, connection_id: str) -> None:
        """Drop the counters of a finished connection."""
        for key in [k for k in self._windows if k[0] == connection_id]:
            del self._windows[key]
