"""The blocking ``ddp.Client`` against websockets' own blocking client, in the same run.

Run: ``python benchmarks/bench_sync.py`` (``--quick`` for a smoke run, ``--only rtt``,
``--only ingest`` or ``--only breakdown`` for one figure, ``--rounds N`` to repeat).

The baseline ("limit") is ``websockets.sync.client``: ``send`` then ``recv`` + ``json.loads``
for a round trip, ``recv`` + ``json.loads`` on every frame for an ingest. It is what a user
would write by hand with the same library, on the same threads model (websockets' reader
thread hands each message to the caller), so the ratio is the price of the client itself.
The frame server is ``bench_client.py``'s (pre-built frames, a separate process).

Figures:

- **round trip**: sequential ``client.call()`` p50 and p99 against ``send`` + ``recv``
  (target: p50 at most 1.1x);
- **ingest**: ``client.subscribe()`` until N documents are in the store, against ``recv`` +
  ``json.loads`` of the same frames (target: at least 0.9x the baseline's rate);
- **breakdown**: one round trip split into stages by timestamps (see :func:`breakdown`).

Every figure alternates the two loops in short rounds, so a change of the machine's load hits
both alike; each ratio is computed within one round.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_client import _method_frame, _serve, pct
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as sync_connect

_cpu: list[tuple[float, float]] = []
"""CPU seconds per round trip of each loop run: this process (all its threads), and the
calling thread alone."""

# -- the two loops --------------------------------------------------------------------------


def bare_rtt(url: str, n: int, probe: Callable[[], Callable[[], Any]]) -> list[Any]:
    """Sequential round trips of websockets' blocking client (what ``probe`` makes of each)."""
    samples = []
    with sync_connect(url, max_size=None, compression=None) as ws:
        cpu = time.process_time(), time.thread_time()
        for i in range(n):
            done = probe()
            ws.send(_method_frame(i))
            while json.loads(ws.recv())["msg"] != "result":
                pass
            samples.append(done())
            json.loads(ws.recv())  # the "updated" that follows
        _cpu.append(((time.process_time() - cpu[0]) / n, (time.thread_time() - cpu[1]) / n))
    return samples


def client_rtt(url: str, n: int, probe: Callable[[], Callable[[], Any]]) -> list[Any]:
    """Sequential ``client.call()`` round trips of the blocking Client."""
    import ddp

    samples = []
    with ddp.Client(url, heartbeat_interval=0) as client:
        cpu = time.process_time(), time.thread_time()
        for i in range(n):
            done = probe()
            client.call("m", i)
            samples.append(done())
        _cpu.append(((time.process_time() - cpu[0]) / n, (time.thread_time() - cpu[1]) / n))
    return samples


def bare_ingest(url: str, n: int) -> float:
    """Seconds for websockets' blocking client to receive and ``json.loads`` n frames."""
    with sync_connect(url, max_size=None, compression=None) as ws:
        loads = json.loads
        recv = ws.recv
        t0 = time.perf_counter()
        ws.send("ingest")
        for _ in range(n + 1):
            loads(recv())
        return time.perf_counter() - t0


def client_ingest(url: str, n: int) -> float:
    """Seconds for the blocking Client to subscribe and hold n documents."""
    import ddp

    with ddp.Client(url, heartbeat_interval=0) as client:
        t0 = time.perf_counter()
        client.subscribe("items", timeout=600)
        elapsed = time.perf_counter() - t0
        assert client.collection("items").count() == n
        return elapsed


def elapsed() -> Callable[[], float]:
    """A probe whose sample is the round trip's duration in seconds."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


# -- the breakdown --------------------------------------------------------------------------

_marks: dict[str, float] = {}


@contextmanager
def _hooked(
    cls: type, name: str, before: str | None, after: str | None, requires: str = "start"
) -> Iterator[None]:
    """Wrap ``cls.name`` so that its first call in a round trip (after the stamp
    ``requires``) stamps ``before`` and ``after``."""
    original = getattr(cls, name)
    clock = time.perf_counter
    marks = _marks

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if requires != "start" and requires not in marks:
            return original(*args, **kwargs)
        if before is not None and before not in marks:
            marks[before] = clock()
        result = original(*args, **kwargs)
        if after is not None and after not in marks:
            marks[after] = clock()
        return result

    setattr(cls, name, wrapper)
    try:
        yield
    finally:
        setattr(cls, name, original)


def _data_frame_hook(cls: type) -> Callable[[], Any]:
    """Stamp ``read``/``queued`` around the reader thread's handling of the first data
    frame (not the handshake, not control frames) in a round trip."""
    from websockets.frames import Frame, Opcode

    original = cls.process_event
    clock = time.perf_counter
    marks = _marks

    def process_event(self: Any, event: Any) -> None:
        first = type(event) is Frame and event.opcode is Opcode.TEXT and "read" not in marks
        if first:
            marks["read"] = clock()
        original(self, event)
        if first:
            marks["queued"] = clock()

    cls.process_event = process_event

    def undo() -> None:
        cls.process_event = original

    return undo


def _probe() -> Callable[[], tuple[float, dict[str, float], float]]:
    _marks.clear()
    start = time.perf_counter()
    return lambda: (start, dict(_marks), time.perf_counter())


STAGES = {
    "send": ("start", "write"),  # build and queue the call; take the write lock
    "write": ("write", "written"),  # the socket write (websockets' send)
    "net": ("written", "read"),  # the server, the loopback, the reader thread's parse
    "queue": ("read", "queued"),  # the reader thread hands the message over
    "hop": ("queued", "taken"),  # ... and the consumer thread wakes up with it
    "apply": ("taken", "applied"),  # the client's lock, the core, the result's future
    "wake": ("applied", "end"),  # the caller wakes and returns
}


def breakdown(url: str, rounds: int, n: int) -> None:
    """Print, per stage, the medians of timestamped round trips of both loops.

    Hooks stamp the first call in each round trip of: the transport's ``send`` (websockets'
    ``send`` for the bare loop) before and after; the reader thread's handling of the first
    text frame, before and after; the consumer taking it (the Client's transport ``take``,
    by the caller waiting in ``call()``; the bare loop's ``recv``); and, for the Client,
    the end of the session's ``process`` after that (the result's future is set). The
    hooks cost time of their own, alike for both loops: compare the figures with each
    other, not with the round trip's.
    """
    from ddp._session import Session
    from ddp.sync._connection import DirectConnection
    from ddp.sync._transport import WebsocketsTransport

    hooks = [
        _hooked(WebsocketsTransport, "send", "write", "written"),
        _hooked(WebsocketsTransport, "take", None, "taken"),
        _hooked(Session, "process", None, "applied", requires="taken"),
        _hooked(ClientConnection, "send", "write", "written"),
        _hooked(ClientConnection, "recv", None, "taken"),
    ]
    undo = [_data_frame_hook(ClientConnection), _data_frame_hook(DirectConnection)]
    for hook in hooks:
        hook.__enter__()
    try:
        for _ in range(rounds):
            bare: list[Any] = []
            ours: list[Any] = []
            for _ in range(5):
                bare += bare_rtt(url, n // 5, _probe)
                ours += client_rtt(url, n // 5, _probe)
            _summarize("websockets", bare, {"apply": ("taken", "taken"), "wake": ("taken", "end")})
            _summarize("Client", ours, {})
    finally:
        for hook in reversed(hooks):
            hook.__exit__(None, None, None)
        for fn in undo:
            fn()


def _summarize(
    name: str,
    samples: list[tuple[float, dict[str, float], float]],
    override: dict[str, tuple[str, str]],
) -> None:
    stages = {**STAGES, **override}
    rows = []
    for start, marks, end in samples:
        stamps = {"start": start, "end": end, **marks}
        if all(a in stamps and b in stamps for a, b in stages.values()):
            rows.append(stamps)
    parts = {
        stage: statistics.median(r[b] - r[a] for r in rows) * 1e6
        for stage, (a, b) in stages.items()
    }
    total = statistics.median(r["end"] - r["start"] for r in rows) * 1e6
    shown = "  ".join(f"{stage} {value:5.1f}" for stage, value in parts.items())
    print(f"{name:<11} total {total:6.1f}  {shown}   (us, medians of {len(rows)})")


# -- reporting ------------------------------------------------------------------------------


def measure_rtt(url: str, rounds: int, n: int) -> None:
    """Print the round trip's p50 and p99 per round, each against its own round's baseline,
    and the CPU time spent per round trip by this process (all its threads) and by the
    calling thread alone (connecting and closing left out; medians of the five runs)."""
    for _ in range(rounds):
        bare: list[float] = []
        mine: list[float] = []
        cpu: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
        for _ in range(5):
            bare += bare_rtt(url, n // 5, elapsed)
            cpu[0].append(_cpu.pop())
            mine += client_rtt(url, n // 5, elapsed)
            cpu[1].append(_cpu.pop())
        p50 = pct(mine, 0.5) / pct(bare, 0.5)
        p99 = pct(mine, 0.99) / pct(bare, 0.99)
        process = [statistics.median(c[0] for c in runs) * 1e6 for runs in cpu]
        caller = [statistics.median(c[1] for c in runs) * 1e6 for runs in cpu]
        print(
            f"round trip p50 {pct(mine, 0.5) * 1e6:4.0f} vs {pct(bare, 0.5) * 1e6:4.0f} us"
            f"  ratio {p50:4.2f} (target <= 1.10 {'OK' if p50 <= 1.1 else 'MISS'})"
            f"  p99 {pct(mine, 0.99) * 1e6:4.0f} vs {pct(bare, 0.99) * 1e6:4.0f} us"
            f"  ratio {p99:4.2f}\n  cpu per call: process {process[1]:4.0f} vs"
            f" {process[0]:4.0f} us, calling thread {caller[1]:4.0f} vs {caller[0]:4.0f} us"
        )


def measure_ingest(url: str, rounds: int, n_docs: int, runs: int) -> None:
    """Print the ingest rate per round (best of ``runs`` alternated runs of each)."""
    for _ in range(rounds):
        bare: list[float] = []
        mine: list[float] = []
        for _ in range(runs):
            bare.append(bare_ingest(url, n_docs))
            mine.append(client_ingest(url, n_docs))
        ratio = min(bare) / min(mine)
        print(
            f"ingest {n_docs / min(mine):9,.0f} vs {n_docs / min(bare):9,.0f} docs/s"
            f"  ratio {ratio:4.2f} (target >= 0.90 {'OK' if ratio >= 0.9 else 'MISS'})"
        )


def main() -> None:
    """Run the figures asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each figure")
    parser.add_argument(
        "--only", choices=("rtt", "ingest", "breakdown"), action="append", help="one figure"
    )
    args = parser.parse_args()
    only = set(args.only or ("rtt", "ingest", "breakdown"))
    n_docs = 10_000 if args.quick else 100_000
    n_rtt = 500 if args.quick else 2_000
    runs = 1 if args.quick else 3

    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_queue, n_docs), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{port_queue.get(timeout=60)}/websocket"
        print(f"python {sys.version.split()[0]}, blocking Client vs websockets.sync")
        if "rtt" in only:
            measure_rtt(url, args.rounds, n_rtt)
        if "ingest" in only:
            measure_ingest(url, args.rounds, n_docs, runs)
        if "breakdown" in only:
            breakdown(url, args.rounds, n_rtt)
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    main()
