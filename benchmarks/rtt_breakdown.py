"""Where a sequential method round trip spends its time: AsyncClient against the bare loop.

Run: ``python benchmarks/rtt_breakdown.py`` (``--rounds 3`` by default).

Against the same frame server as ``bench_client.py``, both loops make sequential calls while
two hooks take timestamps: the first ``transport.write`` after the call starts, and the start
and end of the first websocket ``data_received`` after it. Each round trip then splits into

- **send**: from the start of the call to the socket write;
- **net**: from the write to the answer's arrival (the server's share, the same for both);
- **recv**: handling the bytes read (websockets' parsing, and for the client everything it
  does before the caller can run);
- **wake**: from the end of that to the caller having its result.

The hooks cost a little time of their own, alike for both loops; the figures are medians in
microseconds, to be compared with each other, not with ``bench_client.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from asyncio import selector_events
from collections.abc import Callable
from typing import Any

from bench_client import _serve, async_client_rtt, bare_rtt
from websockets.asyncio.connection import Connection

Sample = tuple[float, dict[str, float], float]
"""One round trip: its start, the hooks' first timestamps, its end."""

_marks: dict[str, float] = {}


def install_hooks() -> None:
    """Wrap the transport's ``write`` and the connection's ``data_received`` with timestamps."""
    clock = time.perf_counter
    write = selector_events._SelectorSocketTransport.write
    data_received = Connection.data_received

    def timed_write(self: Any, data: Any) -> None:
        _marks.setdefault("write", clock())
        write(self, data)

    def timed_data_received(self: Connection, data: bytes) -> None:
        _marks.setdefault("read", clock())
        data_received(self, data)
        _marks.setdefault("handled", clock())

    selector_events._SelectorSocketTransport.write = timed_write  # type: ignore[method-assign]
    Connection.data_received = timed_data_received  # type: ignore[method-assign]


def probe() -> Callable[[], Sample]:
    """Start a round trip with fresh hooks; the function returned ends it."""
    _marks.clear()
    start = time.perf_counter()
    return lambda: (start, dict(_marks), time.perf_counter())


def summarize(name: str, samples: list[Sample]) -> None:
    """Print the medians of the four parts and of the whole."""
    whole = [s for s in samples if {"write", "read", "handled"} <= s[1].keys()]
    parts = {
        "total": [end - start for start, _, end in whole],
        "send": [m["write"] - start for start, m, _ in whole],
        "net": [m["read"] - m["write"] for _, m, _ in whole],
        "recv": [m["handled"] - m["read"] for _, m, _ in whole],
        "wake": [end - m["handled"] for _, m, end in whole],
    }
    shown = "  ".join(f"{key} {statistics.median(v) * 1e6:6.1f}" for key, v in parts.items())
    print(f"{name:<12} {shown}   (us, median of {len(whole)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 2,000 calls each")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_queue, 10), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{port_queue.get(timeout=60)}/websocket"
        install_hooks()
        for _ in range(args.rounds):
            bare: list[Sample] = []
            ours: list[Sample] = []
            for _ in range(5):  # alternated, so that load drift hits both alike
                bare += asyncio.run(bare_rtt(url, 400, probe))
                ours += asyncio.run(async_client_rtt(url, 400, probe, transport="websockets"))
            summarize("bare", bare)
            summarize("AsyncClient", ours)
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    main()
