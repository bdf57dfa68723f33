"""``ddp bench URL``: N concurrent clients calling a method (and subscribing), measured.

Every client is an :class:`ddp.AsyncClient` on one event loop, each making its calls one
after the other, so ``--clients`` is the concurrency. Reported: calls per second, latency
percentiles (p50/p90/p99, max), errors, and with ``--publication`` the time until each
subscription is ready and the ingest rate in documents per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from ddp import ejson
from ddp.cli.connect import Connection, connection_options, open_async_client
from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.values import parse_arg, write_line
from ddp.exceptions import RemoteError

__all__ = ["BenchResult", "bench", "percentile"]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class BenchResult:
    """What a run measured (seconds, except the rates)."""

    clients: int
    calls: int = 0
    errors: int = 0
    first_error: str | None = None
    duration: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    documents: int = 0
    ready_times: list[float] = field(default_factory=list, repr=False)
    ingest_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Plain values for ``--json`` and the table."""
        lat = sorted(self.latencies)
        ready = sorted(self.ready_times)
        out: dict[str, Any] = {
            "clients": self.clients,
            "calls": self.calls,
            "errors": self.errors,
            "duration_s": round(self.duration, 6),
            "calls_per_s": round(self.calls / self.duration, 1) if self.duration else 0.0,
            "latency_ms": {
                name: round(percentile(lat, q) * 1000, 3)
                for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
            },
        }
        if self.ready_times:
            out["subscriptions"] = {
                "documents": self.documents,
                "docs_per_s": round(self.documents / self.ingest_seconds, 1)
                if self.ingest_seconds
                else 0.0,
                "ready_ms_p50": round(percentile(ready, 0.5) * 1000, 3),
                "ready_ms_max": round(percentile(ready, 1.0) * 1000, 3),
            }
        if self.first_error:
            out["first_error"] = self.first_error
        return out


async def _run(
    connection: Connection,
    *,
    clients: int,
    calls: int,
    method: str | None,
    params: list[Any],
    publication: str | None,
    timeout: float,  # noqa: ASYNC109 -- passed on to each call, not a deadline of its own
    advance: Callable[[int], None],
) -> BenchResult:
    result = BenchResult(clients=clients)
    # Spread the calls as evenly as possible: the first `extra` clients make one more.
    share, extra = divmod(calls, clients)
    all_set = asyncio.Event()
    start = asyncio.Event()
    set_up = 0
    sub_spans: list[tuple[float, float]] = []

    async def one(index: int) -> None:
        nonlocal set_up
        async with open_async_client(connection, timeout=timeout) as client:
            if publication is not None:
                begun = time.perf_counter()
                await client.subscribe(publication, timeout=timeout)
                ended = time.perf_counter()
                sub_spans.append((begun, ended))
                result.ready_times.append(ended - begun)
                result.documents += sum(stats.count for stats in client.collection_stats())
            set_up += 1
            if set_up == clients:
                all_set.set()
            # Every client connects (and subscribes) first: the call phase measures calls only.
            await start.wait()
            for _ in range(share + (1 if index < extra else 0)):
                assert method is not None
                sent = time.perf_counter()
                try:
                    await client.call(method, *params, timeout=timeout)
                except RemoteError as exc:
                    result.errors += 1
                    result.first_error = result.first_error or str(exc)
                else:
                    result.latencies.append(time.perf_counter() - sent)
                result.calls += 1
                advance(1)

    tasks = [asyncio.create_task(one(i)) for i in range(clients)]
    waiter = asyncio.create_task(all_set.wait())
    try:
        pending: set[asyncio.Task[Any]] = {waiter, *tasks}
        while not all_set.is_set():
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        if sub_spans:
            first = min(begun for begun, _ in sub_spans)
            last = max(ended for _, ended in sub_spans)
            result.ingest_seconds = last - first
        started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        result.duration = time.perf_counter() - started
    finally:
        for task in (waiter, *tasks):
            task.cancel()
        await asyncio.gather(waiter, *tasks, return_exceptions=True)
    return result


def _ignore(count: int) -> None:
    """No progress bar to advance."""


def _table(summary: dict[str, Any], method: str | None, publication: str | None) -> Any:
    from rich.table import Table

    table = Table(title="ddp bench", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("clients", str(summary["clients"]))
    if method is not None:
        lat = summary["latency_ms"]
        table.add_row(f"calls of {method}", str(summary["calls"]))
        table.add_row("errors", str(summary["errors"]))
        table.add_row("calls/s", f"{summary['calls_per_s']:,.1f}")
        for name in ("p50", "p90", "p99", "max"):
            table.add_row(f"latency {name}", f"{lat[name]:.3f} ms")
    subs = summary.get("subscriptions")
    if subs is not None:
        table.add_row(f"documents of {publication}", f"{subs['documents']:,}")
        table.add_row("ingest", f"{subs['docs_per_s']:,.1f} docs/s")
        table.add_row(
            "ready p50 / max", f"{subs['ready_ms_p50']:.1f} / {subs['ready_ms_max']:.1f} ms"
        )
    return table


@click.command()
@connection_options
@click.option(
    "--method",
    "-m",
    default=None,
    help="The method to call (default: echo, unless --publication is given).",
)
@click.option(
    "--args",
    "-a",
    "args_text",
    default="[]",
    show_default=True,
    help="The method's arguments, as an EJSON array.",
)
@click.option(
    "--clients",
    "-c",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Concurrent clients, each with its own connection.",
)
@click.option(
    "--calls",
    "-n",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Calls in all, shared among the clients.",
)
@click.option("--publication", "-s", default=None, help="Also subscribe each client to this.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one EJSON line.")
@click.option(
    "--timeout",
    "-t",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds for each connect, subscription and call.",
)
def bench(
    connection: Connection,
    method: str | None,
    args_text: str,
    clients: int,
    calls: int,
    publication: str | None,
    as_json: bool,
    timeout: float,
) -> int:
    """Benchmark a server: calls per second and latency percentiles of --clients concurrent
    clients, and the ingest rate of --publication. Exit status 1 if any call failed."""
    params = parse_arg(args_text)
    if not isinstance(params, list):
        raise CLIError("--args must be an EJSON array, e.g. '[1, \"two\"]'", ExitCode.USAGE)
    if method is None and publication is None:
        method = "echo"  # the demo server's (`ddp serve`)
    if method is None:
        calls = 0  # --publication alone measures the subscriptions only
    show = not as_json and sys.stdout.isatty()
    progress: Any = contextlib.nullcontext()
    advance: Callable[[int], None] = _ignore
    if show and calls:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        )
        advance = functools.partial(
            progress.advance, progress.add_task(f"{clients} clients calling {method}", total=calls)
        )
    with progress:
        result = asyncio.run(
            _run(
                connection,
                clients=clients,
                calls=calls,
                method=method,
                params=params,
                publication=publication,
                timeout=timeout,
                advance=advance,
            )
        )
    summary = result.summary()
    if show:
        from rich.console import Console

        Console().print(_table(summary, method, publication))
    else:
        write_line(ejson.dumps(summary))
    if result.errors:
        raise CLIError(
            f"{result.errors} of {result.calls} calls failed (first: {result.first_error})",
            ExitCode.REMOTE_ERROR,
        )
    return 0
