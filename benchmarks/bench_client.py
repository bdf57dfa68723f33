"""Client benchmarks: each figure against a bare-websockets baseline measured in the same run.

Run: ``python benchmarks/bench_client.py`` (``--quick`` for a smoke run, ``--only rtt`` for
one figure, ``--profile`` for a cProfile of the AsyncClient ingest). See
``benchmarks/README.md`` for what each figure means.

A tiny DDP server runs in a separate process and answers from pre-built frames, so it is never
the bottleneck: ``connect`` -> ``connected``; ``sub`` -> N ``added`` frames then ``ready``;
``method`` -> ``result`` + ``updated`` (built by string formatting); ``ping`` -> ``pong``.
The baseline ("limit") is a bare ``websockets`` asyncio client that does ``json.loads`` on
every frame and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import multiprocessing
import pstats
import random
import socket
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

DATE_SHARE = 0.2
"""Share of ``added`` frames that carry a ``$date`` field (EJSON decoding on the hot path)."""


# -- the frame server (separate process) ----------------------------------------------------


def build_frames(n: int, seed: int = 7) -> list[str]:
    """Return ``n`` ``added`` frames of about 150 bytes; DATE_SHARE of them with a ``$date``."""
    rng = random.Random(seed)
    alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
    frames = []
    for i in range(n):
        doc_id = "".join(rng.choice(alphabet) for _ in range(17))
        fields: dict[str, Any] = {
            "name": f"item {i:06d}",
            "price": round(rng.uniform(1, 500), 2),
            "qty": rng.randrange(100),
            "owner": f"user{rng.randrange(1000):04d}",
            "active": rng.random() < 0.5,
        }
        if rng.random() < DATE_SHARE:
            fields["at"] = {"$date": 1_700_000_000_000 + i}
        else:
            fields["tags"] = ["red", "blue"][: rng.randrange(3)]
        msg = {"msg": "added", "collection": "items", "id": doc_id, "fields": fields}
        frames.append(orjson.dumps(msg).decode())
    return frames


def wire(text: str) -> bytes:
    """Encode ``text`` as one unmasked, uncompressed websocket text frame (server side)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


async def _handle(ws: ServerConnection, blob: bytes) -> None:
    # Replies are raw websocket frames written straight to the socket (the whole initial
    # batch in one write), so the server costs next to nothing per message.
    try:
        await _answer(ws, blob)
    except ConnectionClosed:
        pass  # clients may drop the connection without a closing handshake


async def _answer(ws: ServerConnection, blob: bytes) -> None:
    write = ws.transport.write
    async for raw in ws:
        text = raw if isinstance(raw, str) else raw.decode()
        if '"method"' in text:
            mid = orjson.loads(text)["id"]
            write(
                wire(f'{{"msg":"result","id":"{mid}","result":1}}')
                + wire(f'{{"msg":"updated","methods":["{mid}"]}}')
            )
        elif '"msg":"sub"' in text:
            sub_id = orjson.loads(text)["id"]
            write(blob + wire(f'{{"msg":"ready","subs":["{sub_id}"]}}'))
        elif '"msg":"connect"' in text:
            write(wire('{"server_id":"0"}') + wire('{"msg":"connected","session":"bench"}'))
        elif '"msg":"ping"' in text:
            msg = orjson.loads(text)
            pong = {"msg": "pong"} if "id" not in msg else {"msg": "pong", "id": msg["id"]}
            write(wire(orjson.dumps(pong).decode()))
        elif text == "ingest":  # the bare baseline's request
            write(blob + wire('{"msg":"ready","subs":["bare"]}'))


def _serve(port_queue: Any, n_docs: int) -> None:
    blob = b"".join(wire(frame) for frame in build_frames(n_docs))

    async def main() -> None:
        async with serve(
            lambda ws: _handle(ws, blob),
            "127.0.0.1",
            0,
            max_size=None,
            ping_interval=None,
            # Frames are pre-built uncompressed; both clients are measured without deflate.
            compression=None,
        ) as server:
            sock: socket.socket = next(iter(server.sockets))
            port_queue.put(sock.getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


# -- measurements ---------------------------------------------------------------------------


async def bare_ingest(url: str, n: int) -> float:
    """Seconds for a bare client to receive and ``json.loads`` n frames (plus ready)."""
    async with ws_connect(url, max_size=None, ping_interval=None) as ws:
        t0 = time.perf_counter()
        await ws.send("ingest")
        loads = json.loads
        for _ in range(n + 1):
            loads(await ws.recv())
        return time.perf_counter() - t0


async def async_client_ingest(url: str, n: int) -> float:
    """Seconds for AsyncClient to subscribe and hold n documents in its collection store."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0) as client:
        t0 = time.perf_counter()
        await client.subscribe("items", timeout=120)
        elapsed = time.perf_counter() - t0
        assert client.collection("items").count() == n, client.collection("items").count()
        return elapsed


def sync_client_ingest(url: str, n: int) -> float:
    """Seconds for the blocking Client to subscribe and hold n documents."""
    import ddp

    with ddp.Client(url, heartbeat_interval=0) as client:
        t0 = time.perf_counter()
        client.subscribe("items", timeout=120)
        elapsed = time.perf_counter() - t0
        assert client.collection("items").count() == n
        return elapsed


def _method_frame(i: int) -> str:
    return json.dumps({"msg": "method", "id": str(i), "method": "m", "params": [i]})


async def bare_calls(url: str, total: int, in_flight: int) -> float:
    """Seconds for a bare client to complete ``total`` calls keeping ``in_flight`` pending."""
    async with ws_connect(url, max_size=None, ping_interval=None) as ws:
        t0 = time.perf_counter()
        sent = 0
        done = 0
        for _ in range(min(in_flight, total)):
            sent += 1
            await ws.send(_method_frame(sent))
        while done < total:
            msg = json.loads(await ws.recv())
            if msg["msg"] == "result":
                done += 1
                if sent < total:
                    sent += 1
                    await ws.send(_method_frame(sent))
        return time.perf_counter() - t0


async def async_client_calls(url: str, total: int, in_flight: int) -> float:
    """Seconds for AsyncClient to complete ``total`` calls with ``in_flight`` at a time.

    ``in_flight`` tasks each make their share of calls one after the other, so exactly
    ``in_flight`` calls are outstanding, as in the bare loop.
    """
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0) as client:

        async def worker(calls: int) -> None:
            for i in range(calls):
                await client.call("m", i)

        share, extra = divmod(total, in_flight)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(share + (w < extra)) for w in range(in_flight)))
        return time.perf_counter() - t0


S = TypeVar("S")

Probe = Callable[[], Callable[[], S]]
"""Starts measuring one round trip; what it returns ends it and gives the sample."""


def elapsed() -> Callable[[], float]:
    """The default probe: a round trip's sample is its duration in seconds."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


async def bare_rtt(url: str, n: int, probe: Probe[S] = elapsed) -> list[S]:  # type: ignore[assignment]
    """Sequential method round trips of a bare client (seconds each, by default)."""
    samples = []
    async with ws_connect(url, max_size=None, ping_interval=None) as ws:
        for i in range(n):
            done = probe()
            await ws.send(_method_frame(i))
            while json.loads(await ws.recv())["msg"] != "result":
                pass
            samples.append(done())
            json.loads(await ws.recv())  # the "updated" that follows
    return samples


async def async_client_rtt(url: str, n: int, probe: Probe[S] = elapsed) -> list[S]:  # type: ignore[assignment]
    """Sequential ``await client.call()`` round trips (seconds each, by default)."""
    import ddp

    samples = []
    async with ddp.AsyncClient(url, heartbeat_interval=0) as client:
        for i in range(n):
            done = probe()
            await client.call("m", i)
            samples.append(done())
    return samples


def bare_sync_rtt(url: str, n: int) -> list[float]:
    """Sequential round trips of websockets' own blocking client (seconds each)."""
    from websockets.sync.client import connect as sync_connect

    samples = []
    with sync_connect(url, max_size=None, compression=None) as ws:
        for i in range(n):
            done = elapsed()
            ws.send(_method_frame(i))
            while json.loads(ws.recv())["msg"] != "result":
                pass
            samples.append(done())
            json.loads(ws.recv())  # the "updated" that follows
    return samples


def sync_client_rtt(url: str, n: int) -> list[float]:
    """Sequential ``client.call()`` round trips of the blocking Client (seconds each)."""
    import ddp

    samples = []
    with ddp.Client(url, heartbeat_interval=0) as client:
        for i in range(n):
            done = elapsed()
            client.call("m", i)
            samples.append(done())
    return samples


def dict_memory(n: int) -> int:
    """Bytes held by a plain ``{id: fields}`` dict built with ``json.loads`` from the frames."""
    frames = build_frames(n)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    docs = {}
    for frame in frames:
        msg = json.loads(frame)
        docs[msg["id"]] = msg["fields"]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(docs) == n
    return held


async def async_client_memory(url: str, n: int) -> int:
    """Bytes held after AsyncClient cached n documents (traced from before the subscribe)."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0) as client:
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        await client.subscribe("items", timeout=600)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert client.collection("items").count() == n
        return held


# -- reporting ------------------------------------------------------------------------------


def best_pair(
    runs: int, bare: Callable[[], float], ours: Callable[[], float]
) -> tuple[float, float]:
    """Best (smallest) of ``runs`` timings of each, the two alternated so that a change of
    the machine's load during the run hits both alike."""
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        timings[0].append(bare())
        timings[1].append(ours())
    return min(timings[0]), min(timings[1])


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def report(name: str, value: str, ratio: float, target: str, ok: bool) -> None:
    """Print one figure and its ratio to the baseline."""
    print(
        f"{name:<44} {value:>26}   ratio {ratio:5.2f}  (target {target}) {'OK' if ok else 'MISS'}"
    )


FIGURES = ("ingest", "calls", "rtt", "memory")
"""The figures ``--only`` can pick."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--profile", action="store_true", help="cProfile the AsyncClient ingest")
    parser.add_argument("--skip-sync", action="store_true", help="skip the blocking Client")
    parser.add_argument(
        "--only",
        choices=FIGURES,
        action="append",
        help="measure only this figure (repeatable; default: all)",
    )
    args = parser.parse_args()
    only = set(args.only or FIGURES)
    n_docs = 10_000 if args.quick else 100_000
    n_calls = 2_000 if args.quick else 10_000
    n_rtt = 300 if args.quick else 2_000
    runs = 1 if args.quick else 3

    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_queue, n_docs), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{port_queue.get(timeout=60)}/websocket"
        print(f"python {sys.version.split()[0]}, {n_docs} docs ({DATE_SHARE:.0%} with $date)")

        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            asyncio.run(async_client_ingest(url, n_docs))
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return

        if "ingest" in only:
            measure_ingest(url, n_docs, runs, args.skip_sync)
        if "calls" in only:
            measure_calls(url, n_calls, runs)
        if "rtt" in only:
            measure_rtt(url, n_rtt, args.skip_sync)
        if "memory" in only:
            measure_memory(url, n_docs)
    finally:
        server.kill()
        server.join()


def measure_ingest(url: str, n_docs: int, runs: int, skip_sync: bool) -> None:
    """Report the subscription ingest of both clients against the bare client."""
    limit, ours = best_pair(
        runs,
        lambda: asyncio.run(bare_ingest(url, n_docs)),
        lambda: asyncio.run(async_client_ingest(url, n_docs)),
    )
    ratio = limit / ours
    report(
        "ingest AsyncClient (docs/s)",
        f"{n_docs / ours:,.0f} vs {n_docs / limit:,.0f}",
        ratio,
        ">= 0.80",
        ratio >= 0.8,
    )
    if not skip_sync:
        try:
            limit, sync = best_pair(
                runs,
                lambda: asyncio.run(bare_ingest(url, n_docs)),
                lambda: sync_client_ingest(url, n_docs),
            )
        except Exception as exc:  # report and go on to the other figures
            print(f"ingest Client: failed: {exc!r}")
        else:
            ratio = limit / sync
            report(
                "ingest Client (docs/s)",
                f"{n_docs / sync:,.0f} vs {n_docs / limit:,.0f}",
                ratio,
                ">= 0.70",
                ratio >= 0.7,
            )


def measure_calls(url: str, n_calls: int, runs: int) -> None:
    """Report the throughput of calls with 500 in flight against the bare loop."""
    limit, ours = best_pair(
        runs,
        lambda: asyncio.run(bare_calls(url, n_calls, 500)),
        lambda: asyncio.run(async_client_calls(url, n_calls, 500)),
    )
    ratio = limit / ours
    report(
        f"{n_calls} calls, 500 in flight (calls/s)",
        f"{n_calls / ours:,.0f} vs {n_calls / limit:,.0f}",
        ratio,
        ">= 0.80",
        ratio >= 0.8,
    )


def measure_rtt(url: str, n_rtt: int, skip_sync: bool) -> None:
    """Report the sequential round trip's p50 and p99 against the bare loop's.

    The blocking Client's figure, against websockets' own blocking client, has no target:
    it is printed for information.
    """
    # Alternated rounds, samples pooled: load drift hits both alike.
    bare: list[float] = []
    mine: list[float] = []
    for _ in range(5):
        bare += asyncio.run(bare_rtt(url, n_rtt // 5))
        mine += asyncio.run(async_client_rtt(url, n_rtt // 5))
    for q, target in ((0.5, 1.1), (0.99, 1.3)):
        ratio = pct(mine, q) / pct(bare, q)
        report(
            f"sequential round trip p{round(q * 100)} (us)",
            f"{pct(mine, q) * 1e6:,.0f} vs {pct(bare, q) * 1e6:,.0f}",
            ratio,
            f"<= {target}",
            ratio <= target,
        )
    print(
        f"  (median of all samples: {statistics.median(mine) * 1e6:,.0f} us vs "
        f"{statistics.median(bare) * 1e6:,.0f} us)"
    )
    if skip_sync:
        return
    bare, mine = [], []
    for _ in range(5):
        bare += bare_sync_rtt(url, n_rtt // 5)
        mine += sync_client_rtt(url, n_rtt // 5)
    for q in (0.5, 0.99):
        print(
            f"{f'Client round trip p{round(q * 100)} (us)':<44} "
            f"{f'{pct(mine, q) * 1e6:,.0f} vs {pct(bare, q) * 1e6:,.0f}':>26}   "
            f"ratio {pct(mine, q) / pct(bare, q):5.2f}  (websockets.sync; no target)"
        )


def measure_memory(url: str, n_docs: int) -> None:
    """Report the memory of the cached documents against a plain dict of dicts."""
    plain = dict_memory(n_docs)
    cached = asyncio.run(async_client_memory(url, n_docs))
    ratio = cached / plain
    report(
        "memory of the cached documents (MB)",
        f"{cached / 1e6:,.1f} vs {plain / 1e6:,.1f}",
        ratio,
        "<= 0.75",
        ratio <= 0.75,
    )


if __name__ == "__main__":
    main()
