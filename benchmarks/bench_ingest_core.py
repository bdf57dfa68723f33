"""The client's per-frame ingest work without a socket: frame text -> core -> store.

Run: ``.venv/bin/python benchmarks/bench_ingest_core.py [--profile] [--n N]``.

Feeds the ``added`` frames of ``bench_client.py`` (all with a ``$date``, then 20 % with one)
to a connected :class:`ddp.protocol.ClientProtocol` whose store is a real
:class:`ddp.collection.CollectionRegistry`, as a driver would (``receive_text`` per frame,
``flush_data`` at the end), and prints the CPU time per frame. The baseline is what the bare
client of ``bench_client.py`` does per frame, ``json.loads``, timed in the same process: the
ratio ``baseline / ours`` is the ceiling of the end-to-end ingest ratio, before the
transport and the event loop take their share. Best of five runs, in CPU time of this process.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_client import build_frames

from ddp.collection import CollectionRegistry
from ddp.protocol import ClientProtocol

RUNS = 5


def connected_core() -> tuple[ClientProtocol, CollectionRegistry]:
    """A core past its handshake, feeding a fresh registry."""
    store = CollectionRegistry()
    core = ClientProtocol(store=store)
    core.dialing(0.0)
    core.connection_made(0.0)
    core.data_to_send()
    core.receive_text('{"msg":"connected","session":"S"}', 0.0)
    core.events_received()
    return core, store


def ours(frames: list[str]) -> float:
    core, store = connected_core()
    gc.collect()
    receive = core.receive_text
    start = time.process_time()
    for text in frames:
        receive(text, 1.0)
    core.flush_data()
    took = time.process_time() - start
    assert len(store.get("items")) == len(frames)
    return took


def bare(frames: list[str]) -> float:
    loads = json.loads
    gc.collect()
    start = time.process_time()
    for text in frames:
        loads(text)
    return time.process_time() - start


def main() -> None:
    n = 100_000
    if "--n" in sys.argv:
        n = int(sys.argv[sys.argv.index("--n") + 1])
    for share in (1.0, 0.2):
        frames = build_frames(n, date_share=share)
        if "--profile" in sys.argv:
            prof = cProfile.Profile()
            prof.enable()
            ours(frames)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
            return
        limit = min(bare(frames) for _ in range(RUNS))
        mine = min(ours(frames) for _ in range(RUNS))
        print(
            f"core+store ingest {n:,} frames, {share:.0%} $date: "
            f"{mine / n * 1e6:5.2f} us/frame vs json.loads {limit / n * 1e6:5.2f} us/frame"
            f"  ratio {limit / mine:4.2f}"
        )


if __name__ == "__main__":
    main()
