"""Client statistics: what ``client.stats()`` returns, on both clients.

:class:`ClientStats` is an immutable snapshot: the reads and writes (:class:`IOStats`:
bytes, frames, errors and the seconds they cover) of the current connection and of all of
them, reconnects, pings, method round-trip percentiles (:class:`LatencyStats`), cached
documents per collection, and the events that slow iterators dropped.
``client.reset_stats()`` zeroes the counters.

Bytes are the UTF-8 payload bytes of DDP text frames (before permessage-deflate and without
websocket or SockJS headers), as :func:`text_size` counts them.

:class:`StatsRecorder` is the set of counters a client keeps up to date as it runs, and from
which it takes each snapshot; programs only read snapshots.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "RESERVOIR_SIZE",
    "ClientStats",
    "CollectionCount",
    "IOStats",
    "LatencyStats",
    "StatsRecorder",
    "text_size",
]

RESERVOIR_SIZE = 1024
"""How many method round-trip samples are kept (uniform reservoir sampling beyond that)."""


def text_size(text: str) -> int:
    """Return the UTF-8 size of ``text`` in bytes.

    ``str.isascii()`` reads a flag CPython keeps on every string, so ASCII frames (nearly all
    DDP traffic) are measured without encoding them.
    """
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class CollectionCount(Protocol):
    """Anything with a collection ``name`` and a document ``count``.

    ``ddp.collection.CollectionStats`` is one.
    """

    @property
    def name(self) -> str:
        """The collection's name."""
        ...

    @property
    def count(self) -> int:
        """How many documents the local cache holds."""
        ...


@dataclass(frozen=True, slots=True)
class IOStats:
    """Statistics of the reads or the writes of one connection, or of all of them.

    Attributes:
        bytes: UTF-8 payload bytes of the DDP text frames.
        ops: Frames (websocket text messages).
        errors: I/O errors (a failed read or write, a connection lost with an error).
        runtime: Seconds over which these figures were gathered.
    """

    bytes: int = 0
    ops: int = 0
    errors: int = 0
    runtime: float = 0.0

    def __str__(self) -> str:
        return f"bytes={self.bytes} ops={self.ops} errors={self.errors} runtime={self.runtime:.1f}s"


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Method round-trip times (``method`` sent to ``result`` received), in seconds.

    Percentiles come from a bounded uniform sample (:data:`RESERVOIR_SIZE`) of all the calls
    since the last reset; they are ``None`` when no call completed.

    Attributes:
        count: Round trips measured (all of them, not only the sampled ones).
        p50: Median.
        p90: 90th percentile.
        p99: 99th percentile.
        max: Slowest round trip seen.
    """

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None

    def __str__(self) -> str:
        if not self.count:
            return "n=0"
        assert self.p50 is not None and self.p90 is not None and self.p99 is not None
        assert self.max is not None
        return (
            f"n={self.count} p50={self.p50 * 1000:.2f}ms p90={self.p90 * 1000:.2f}ms "
            f"p99={self.p99 * 1000:.2f}ms max={self.max * 1000:.2f}ms"
        )


@dataclass(frozen=True, slots=True)
class ClientStats:
    """A snapshot of a client's statistics, as ``client.stats()`` returns it.

    Immutable; ``str()`` gives a one-line summary and :meth:`as_dict` plain values for
    logs and JSON.

    Attributes:
        reads: Reads of the current connection (zero when not connected).
        total_reads: Reads of every connection since the client was made or reset.
        writes: Writes of the current connection.
        total_writes: Writes of every connection.
        reconnects: Transports opened after the first one.
        pings_sent: ``ping`` messages the client sent (heartbeats and :meth:`ping`).
        pings_received: ``ping`` messages the server sent (each one answered).
        methods: Method round-trip percentiles.
        collections: Documents per cached collection, as ``(name, count)`` pairs.
        dropped_events: Items the client's bounded iterators (streams, change and data
            iterators, ``events()``) dropped because their consumer fell behind; each
            overflow episode also logs one WARNING.
    """

    reads: IOStats = field(default_factory=IOStats)
    total_reads: IOStats = field(default_factory=IOStats)
    writes: IOStats = field(default_factory=IOStats)
    total_writes: IOStats = field(default_factory=IOStats)
    reconnects: int = 0
    pings_sent: int = 0
    pings_received: int = 0
    methods: LatencyStats = field(default_factory=LatencyStats)
    collections: tuple[tuple[str, int], ...] = ()
    dropped_events: int = 0

    def __str__(self) -> str:
        def io(s: IOStats) -> str:
            return f"{s.ops}/{s.bytes}B/{s.errors}err"

        text = (
            f"reads {io(self.reads)} (total {io(self.total_reads)}), "
            f"writes {io(self.writes)} (total {io(self.total_writes)}), "
            f"reconnects {self.reconnects}, pings {self.pings_sent}/{self.pings_received}, "
            f"methods {self.methods}"
        )
        if self.dropped_events:
            text += f", dropped events {self.dropped_events}"
        if self.collections:
            text += ", collections " + " ".join(f"{n}={c}" for n, c in self.collections)
        return text

    def as_dict(self) -> dict[str, Any]:
        """Return the statistics as plain JSON-compatible values (for logs and the CLI)."""

        def io(s: IOStats) -> dict[str, Any]:
            return {"bytes": s.bytes, "ops": s.ops, "errors": s.errors, "runtime": s.runtime}

        m = self.methods
        return {
            "reads": io(self.reads),
            "total_reads": io(self.total_reads),
            "writes": io(self.writes),
            "total_writes": io(self.total_writes),
            "reconnects": self.reconnects,
            "pings_sent": self.pings_sent,
            "pings_received": self.pings_received,
            "methods": {"count": m.count, "p50": m.p50, "p90": m.p90, "p99": m.p99, "max": m.max},
            "collections": dict(self.collections),
            "dropped_events": self.dropped_events,
        }


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


class StatsRecorder:
    """The mutable counters behind :class:`ClientStats`, owned by one driver.

    The driver adds to the ``read_*``/``write_*`` counters directly on its hot path and calls
    :meth:`connection_opened` / :meth:`connection_closed` around each transport. Counters of
    the current connection are folded into the totals when it closes, so the totals never
    count a frame twice.

    Args:
        now: The driver's monotonic clock reading at creation.
        reservoir_size: How many round-trip samples to keep.
        rng: Random source for reservoir sampling (a seeded one makes tests repeatable).
    """

    __slots__ = (
        "_closed_read_bytes",
        "_closed_read_errors",
        "_closed_read_frames",
        "_closed_write_bytes",
        "_closed_write_errors",
        "_closed_write_frames",
        "_connected_at",
        "_reservoir",
        "_reservoir_size",
        "_rng",
        "_rtt_count",
        "_rtt_max",
        "_started_at",
        "pings_received",
        "pings_sent",
        "read_bytes",
        "read_errors",
        "read_frames",
        "reconnects",
        "write_bytes",
        "write_errors",
        "write_frames",
    )

    def __init__(
        self,
        now: float,
        *,
        reservoir_size: int = RESERVOIR_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        if reservoir_size < 1:
            raise ValueError("reservoir_size must be at least 1")
        self._reservoir_size = reservoir_size
        self._rng = rng if rng is not None else random.Random()
        self._connected_at: float | None = None
        self.reset(now)

    def reset(self, now: float) -> None:
        """Zero every counter (``reset_stats()``); an open connection's runtime restarts."""
        #: Counters of the current connection (the driver adds to these directly).
        self.read_bytes = 0
        self.read_frames = 0
        self.read_errors = 0
        self.write_bytes = 0
        self.write_frames = 0
        self.write_errors = 0
        self.reconnects = 0
        self.pings_sent = 0
        self.pings_received = 0
        self._closed_read_bytes = 0
        self._closed_read_frames = 0
        self._closed_read_errors = 0
        self._closed_write_bytes = 0
        self._closed_write_frames = 0
        self._closed_write_errors = 0
        self._started_at = now
        if self._connected_at is not None:
            self._connected_at = now
        self._reservoir: list[float] = []
        self._rtt_count = 0
        # Below any round trip, so record_rtt needs no test for "none yet"; latency() reads
        # it only once a round trip is counted.
        self._rtt_max = -math.inf

    # -- lifecycle ------------------------------------------------------------------------
    def connection_opened(self, now: float, *, reconnect: bool) -> None:
        """A transport opened; ``reconnect`` is true for every one after the first."""
        self._fold_connection()
        self._connected_at = now
        if reconnect:
            self.reconnects += 1

    def connection_closed(self) -> None:
        """The current transport closed: its figures move into the totals."""
        self._fold_connection()
        self._connected_at = None

    def _fold_connection(self) -> None:
        self._closed_read_bytes += self.read_bytes
        self._closed_read_frames += self.read_frames
        self._closed_read_errors += self.read_errors
        self._closed_write_bytes += self.write_bytes
        self._closed_write_frames += self.write_frames
        self._closed_write_errors += self.write_errors
        self.read_bytes = self.read_frames = self.read_errors = 0
        self.write_bytes = self.write_frames = self.write_errors = 0

    # -- recording ------------------------------------------------------------------------
    def record_read(self, text: str) -> None:
        """Count one received text frame (drivers may inline this on their hot path)."""
        self.read_bytes += text_size(text)
        self.read_frames += 1

    def record_write(self, text: str) -> None:
        """Count one sent text frame."""
        self.write_bytes += text_size(text)
        self.write_frames += 1

    def record_rtt(self, seconds: float) -> None:
        """Record one method round trip (Vitter's algorithm R keeps a uniform sample)."""
        count = self._rtt_count = self._rtt_count + 1
        if seconds > self._rtt_max:
            self._rtt_max = seconds
        # The reservoir holds min(count - 1, size) samples before this one: no len() needed.
        if count <= self._reservoir_size:
            self._reservoir.append(seconds)
        else:
            slot = int(self._rng.random() * count)  # randrange's cost, a tenth
            if slot < self._reservoir_size:
                self._reservoir[slot] = seconds

    # -- reading --------------------------------------------------------------------------
    def snapshot(self, now: float, collections: Sequence[CollectionCount] = ()) -> ClientStats:
        """Return the statistics as of ``now`` (the same clock as the other calls)."""
        conn_runtime = 0.0 if self._connected_at is None else now - self._connected_at
        total_runtime = now - self._started_at
        reads = IOStats(self.read_bytes, self.read_frames, self.read_errors, conn_runtime)
        writes = IOStats(self.write_bytes, self.write_frames, self.write_errors, conn_runtime)
        total_reads = IOStats(
            self._closed_read_bytes + self.read_bytes,
            self._closed_read_frames + self.read_frames,
            self._closed_read_errors + self.read_errors,
            total_runtime,
        )
        total_writes = IOStats(
            self._closed_write_bytes + self.write_bytes,
            self._closed_write_frames + self.write_frames,
            self._closed_write_errors + self.write_errors,
            total_runtime,
        )
        return ClientStats(
            reads=reads,
            total_reads=total_reads,
            writes=writes,
            total_writes=total_writes,
            reconnects=self.reconnects,
            pings_sent=self.pings_sent,
            pings_received=self.pings_received,
            methods=self.latency(),
            collections=tuple((c.name, c.count) for c in collections),
        )

    def latency(self) -> LatencyStats:
        """Return the method round-trip percentiles recorded so far."""
        if not self._rtt_count:
            return LatencyStats()
        ordered = sorted(self._reservoir)
        return LatencyStats(
            count=self._rtt_count,
            p50=_percentile(ordered, 0.50),
            p90=_percentile(ordered, 0.90),
            p99=_percentile(ordered, 0.99),
            max=self._rtt_max,
        )
