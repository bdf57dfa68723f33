"""``ddp ping URL``: DDP round trips, printed and summed up the way ping(8) does."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import click

from ddp.cli.connect import Connection, connection_options, open_client
from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.values import write_line
from ddp.exceptions import (
    ClientClosedError,
    ConnectionClosedError,
    DDPTimeoutError,
    InvalidStateError,
)

__all__ = ["PingSummary", "ping"]


@dataclass(frozen=True)
class PingSummary:
    """Round-trip statistics of a run, in seconds (``mdev`` as ping(8) computes it)."""

    sent: int
    received: int
    minimum: float
    average: float
    maximum: float
    mdev: float

    @classmethod
    def of(cls, sent: int, rtts: Sequence[float]) -> PingSummary:
        """Summarise ``sent`` pings of which ``rtts`` came back."""
        if not rtts:
            return cls(sent, 0, 0.0, 0.0, 0.0, 0.0)
        mean = sum(rtts) / len(rtts)
        square = sum(rtt * rtt for rtt in rtts) / len(rtts)
        return cls(
            sent, len(rtts), min(rtts), mean, max(rtts), math.sqrt(max(0.0, square - mean**2))
        )

    def lines(self, url: str, elapsed: float) -> list[str]:
        """ping(8)'s closing lines."""
        loss = 0 if not self.sent else round(100 * (self.sent - self.received) / self.sent)
        out = [
            f"--- {url} ddp ping statistics ---",
            f"{self.sent} pings sent, {self.received} pongs received, {loss}% loss, "
            f"time {elapsed * 1000:.0f}ms",
        ]
        if self.received:
            ms = [value * 1000 for value in (self.minimum, self.average, self.maximum, self.mdev)]
            out.append("rtt min/avg/max/mdev = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms".format(*ms))
        return out


@click.command()
@connection_options
@click.option(
    "--count",
    "-c",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many pings (default: until Ctrl-C).",
)
@click.option(
    "--interval",
    "-i",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between pings.",
)
@click.option(
    "--timeout",
    "-W",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds to connect, and to wait for each pong.",
)
def ping(connection: Connection, count: int | None, interval: float, timeout: float) -> int:
    """Send DDP pings and print each round trip, then min/avg/max/mdev.

    A lost connection is re-established and counted as lost pongs. Ends after --count
    pings or on Ctrl-C (with the summary, as ping(8)); exit status 5 if no pong came back.
    """
    rtts: list[float] = []
    sent = 0
    started = time.monotonic()
    with open_client(connection, timeout=timeout, reconnect=True) as client:
        url = client.url
        write_line(f"PING {url}: DDP {client.version}, session {client.session}")
        try:
            while count is None or sent < count:
                if sent and interval:
                    time.sleep(interval)  # the pace the user asked for, not a synchronisation
                sent += 1
                try:
                    rtt = client.ping(timeout=timeout)
                except ClientClosedError:
                    raise
                except (DDPTimeoutError, ConnectionClosedError, InvalidStateError) as exc:
                    write_line(f"no pong from {url}: seq={sent} ({exc})")
                    continue
                rtts.append(rtt)
                write_line(f"pong from {url}: seq={sent} time={rtt * 1000:.2f} ms")
        except KeyboardInterrupt:
            pass  # as ping(8): Ctrl-C ends the run and prints the summary
    for line in PingSummary.of(sent, rtts).lines(url, time.monotonic() - started):
        write_line(line)
    if not rtts:
        raise CLIError(f"no pong from {url}", ExitCode.TIMEOUT)
    return 0
