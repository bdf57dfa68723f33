"""Client benchmarks: each figure against a bare-websockets baseline measured in the same run.

Run: ``python benchmarks/bench_client.py`` for every figure of issue 13 with its target, on
both event loops (asyncio's and uvloop's, when installed) and both transports of the
``AsyncClient`` (picows and websockets). ``--quick`` for a smoke run, ``--only rtt`` for one
figure, ``--loop``/``--transport`` to narrow the matrix, ``--profile`` for a cProfile of the
AsyncClient ingest. See ``benchmarks/README.md`` for what each figure means.

A tiny DDP server runs in a separate process and answers from pre-built frames, so it is never
the bottleneck: ``connect`` -> ``connected``; ``sub`` -> the named set of ``added`` frames
then ``ready``; ``method`` -> ``result`` + ``updated`` (built by string formatting); ``ping``
-> ``pong``. The baseline ("limit") is a bare ``websockets`` asyncio client that does
``json.loads`` on every frame and nothing else, on the same event loop as the client it is
compared with.
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
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

DATE_SHARE = 0.2
"""Share of the ``items`` frames that carry a ``$date`` field (the kinder shape; the
``dated`` sets carry one in every frame, as users' data does)."""

SCALING = (10_000, 1_000_000)
"""Sizes of the all-``$date`` sets whose ingest time per document is compared."""


# -- the frame server (separate process) ----------------------------------------------------


def build_frames(n: int, seed: int = 7, date_share: float = DATE_SHARE) -> list[str]:
    """Return ``n`` ``added`` frames of about 150 bytes; ``date_share`` of them with a
    ``$date``."""
    rng = random.Random(seed)
    alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
    frames = []
    for i in range(n):
        doc_id = "".join(rng.choices(alphabet, k=17))
        fields: dict[str, Any] = {
            "name": f"item {i:06d}",
            "price": round(rng.uniform(1, 500), 2),
            "qty": rng.randrange(100),
            "owner": f"user{rng.randrange(1000):04d}",
            "active": rng.random() < 0.5,
        }
        if rng.random() < date_share:
            fields["at"] = {"$date": 1_700_000_000_000 + i}
        else:
            fields["tags"] = ["red", "blue"][: rng.randrange(3)]
        msg = {"msg": "added", "collection": "items", "id": doc_id, "fields": fields}
        frames.append(orjson.dumps(msg).decode())
    return frames


def frame_sets(n_docs: int, scaling: tuple[int, ...] = ()) -> dict[str, list[str]]:
    """The named sets of frames the server holds: ``items`` (``DATE_SHARE`` with a
    ``$date``), ``dated`` (all with one) and ``dated<N>`` for each scaling size."""
    sets = {"items": build_frames(n_docs), "dated": build_frames(n_docs, date_share=1.0)}
    for size in scaling:
        sets[f"dated{size}"] = build_frames(size, date_share=1.0)
    return sets


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


def answer(text: str, blobs: dict[str, bytes]) -> bytes | None:
    """The server's reply to one received message, as raw websocket frames (or None)."""
    if '"method"' in text:
        mid = orjson.loads(text)["id"]
        return wire(f'{{"msg":"result","id":"{mid}","result":1}}') + wire(
            f'{{"msg":"updated","methods":["{mid}"]}}'
        )
    if '"msg":"sub"' in text:
        sub = orjson.loads(text)
        return blobs[sub["name"]] + wire(f'{{"msg":"ready","subs":["{sub["id"]}"]}}')
    if '"msg":"connect"' in text:
        return wire('{"server_id":"0"}') + wire('{"msg":"connected","session":"bench"}')
    if '"msg":"ping"' in text:
        msg = orjson.loads(text)
        pong = {"msg": "pong"} if "id" not in msg else {"msg": "pong", "id": msg["id"]}
        return wire(orjson.dumps(pong).decode())
    if text.startswith("ingest"):  # the bare baseline's request: "ingest <set>"
        name = text.partition(" ")[2] or "items"
        return blobs[name] + wire('{"msg":"ready","subs":["bare"]}')
    return None


async def _handle(ws: ServerConnection, blobs: dict[str, bytes]) -> None:
    # Replies are raw websocket frames written straight to the socket (the whole initial
    # batch in one write), so the server costs next to nothing per message.
    write = ws.transport.write
    try:
        async for raw in ws:
            reply = answer(raw if isinstance(raw, str) else raw.decode(), blobs)
            if reply is not None:
                write(reply)
    except ConnectionClosed:
        pass  # clients may drop the connection without a closing handshake


async def _serve_websockets(port_queue: Any, blobs: dict[str, bytes]) -> None:
    async with serve(
        lambda ws: _handle(ws, blobs),
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


async def _serve_picows(port_queue: Any, blobs: dict[str, bytes]) -> None:
    from picows import WSListener, WSMsgType, ws_create_server

    class Answerer(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                reply = answer(frame.get_payload_as_utf8_text(), blobs)
                if reply is not None:
                    transport.underlying_transport.write(reply)
            elif frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

        def pause_writing(self) -> None:
            pass  # a client that reads slower than the server writes: the buffer grows

        def resume_writing(self) -> None:
            pass

    server = await ws_create_server(lambda request: Answerer(), "127.0.0.1", 0)
    port_queue.put(server.sockets[0].getsockname()[1])
    await asyncio.Future()


def _serve(
    port_queue: Any, n_docs: int, scaling: tuple[int, ...] = (), server: str = "websockets"
) -> None:
    blobs = {
        name: b"".join(wire(frame) for frame in frames)
        for name, frames in frame_sets(n_docs, scaling).items()
    }
    run = _serve_picows if server == "picows" else _serve_websockets
    asyncio.run(run(port_queue, blobs))


# -- event loops ------------------------------------------------------------------------------

T = TypeVar("T")


def loop_factories() -> dict[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The event loops to measure on: asyncio's, and uvloop's when it is installed."""
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {"asyncio": None}
    try:
        import uvloop
    except ImportError:
        return loops
    loops["uvloop"] = uvloop.new_event_loop
    return loops


def run_on(loop: str, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` on a fresh event loop of the given kind (never touching the policy)."""
    with asyncio.Runner(loop_factory=loop_factories()[loop]) as runner:
        return runner.run(main())


# -- measurements ---------------------------------------------------------------------------


async def bare_ingest(url: str, n: int, name: str = "items") -> float:
    """Seconds for a bare client to receive and ``json.loads`` n frames (plus ready)."""
    async with ws_connect(url, max_size=None, ping_interval=None) as ws:
        t0 = time.perf_counter()
        await ws.send(f"ingest {name}")
        loads = json.loads
        for _ in range(n + 1):
            loads(await ws.recv())
        return time.perf_counter() - t0


async def async_client_ingest(
    url: str, n: int, name: str = "items", transport: str = "auto"
) -> float:
    """Seconds for AsyncClient to subscribe and hold n documents in its collection store."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0, transport=transport) as client:
        t0 = time.perf_counter()
        await client.subscribe(name, timeout=600)
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


async def timed_calls(
    call: Callable[[str, int], Awaitable[Any]], total: int, in_flight: int, tasks: bool
) -> float:
    """Seconds for ``total`` awaits of ``call("m", i)`` with ``in_flight`` at a time.

    Without ``tasks``, ``in_flight`` workers each make their share one after the other, so
    exactly ``in_flight`` calls are outstanding, as in the bare loop; with ``tasks``, one
    task per call, at most ``in_flight`` at a time behind a semaphore (how users fan out:
    ``gather`` over a list).
    """
    if tasks:
        gate = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with gate:
                await call("m", i)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        return time.perf_counter() - t0

    async def worker(calls: int) -> None:
        for i in range(calls):
            await call("m", i)

    share, extra = divmod(total, in_flight)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(share + (w < extra)) for w in range(in_flight)))
    return time.perf_counter() - t0


async def async_client_calls(
    url: str, total: int, in_flight: int, transport: str = "auto"
) -> float:
    """Seconds for AsyncClient to complete ``total`` calls from ``in_flight`` workers."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0, transport=transport) as client:
        return await timed_calls(client.call, total, in_flight, tasks=False)


async def async_client_calls_tasks(
    url: str, total: int, in_flight: int, transport: str = "auto"
) -> float:
    """Seconds for AsyncClient to complete ``total`` calls, one task each, at most
    ``in_flight`` at a time behind a semaphore."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0, transport=transport) as client:
        return await timed_calls(client.call, total, in_flight, tasks=True)


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


async def async_client_rtt(
    url: str,
    n: int,
    probe: Probe[S] = elapsed,  # type: ignore[assignment]
    transport: str = "auto",
) -> list[S]:
    """Sequential ``await client.call()`` round trips (seconds each, by default)."""
    import ddp

    samples = []
    async with ddp.AsyncClient(url, heartbeat_interval=0, transport=transport) as client:
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
    frames = build_frames(n, date_share=1.0)
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


async def async_client_memory(url: str, n: int, transport: str = "auto") -> int:
    """Bytes held after AsyncClient cached n documents (traced from before the subscribe)."""
    import ddp

    async with ddp.AsyncClient(url, heartbeat_interval=0, transport=transport) as client:
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        await client.subscribe("dated", timeout=600)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert client.collection("items").count() == n
        return held


# -- the floor: the least a client can do on picows ----------------------------------------


class FloorClient:
    """The least any DDP client does, on picows: ``orjson.loads`` of every frame, ``added``
    fields kept in a dict by id, a future per call settled by its ``result``. No EJSON, no
    protocol state, no checks. Printed beside the ``AsyncClient`` as the floor a Python
    client on this transport and event loop can reach: what is left between the two is the
    client's own work."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.docs: dict[str, Any] = {}
        self.calls: dict[str, asyncio.Future[Any]] = {}
        self.ready: asyncio.Future[None] | None = None
        self.transport: Any = None
        self._text: Any = None
        self._next_id = 0

    async def __aenter__(self) -> FloorClient:
        from picows import WSListener, WSMsgType, ws_connect

        floor = self
        text = WSMsgType.TEXT
        loads = orjson.loads

        class Listener(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is not text:
                    return
                msg = loads(frame.get_payload_as_bytes())
                kind = msg.get("msg")
                if kind == "added":
                    floor.docs[msg["id"]] = msg["fields"]
                elif kind == "result":
                    floor.calls.pop(msg["id"]).set_result(msg.get("result"))
                elif kind == "ready" and floor.ready is not None:
                    floor.ready.set_result(None)

        self.transport, _ = await ws_connect(Listener, self._url)
        self._text = text
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.transport.disconnect()
        await self.transport.wait_disconnected()

    async def ingest(self, name: str) -> None:
        """Ask for the set ``name`` and wait for its ``ready``."""
        self.ready = asyncio.get_running_loop().create_future()
        self.transport.send(self._text, f"ingest {name}".encode())
        await self.ready

    async def call(self, method: str, *params: Any) -> Any:
        """Send a ``method`` frame and wait for its ``result``."""
        self._next_id += 1
        method_id = str(self._next_id)
        future = self.calls[method_id] = asyncio.get_running_loop().create_future()
        frame = {"msg": "method", "id": method_id, "method": method, "params": params}
        self.transport.send(self._text, orjson.dumps(frame))
        return await future


async def floor_ingest(url: str, n: int, name: str = "items") -> float:
    """Seconds for the floor client to receive and keep n documents."""
    async with FloorClient(url) as floor:
        t0 = time.perf_counter()
        await floor.ingest(name)
        elapsed = time.perf_counter() - t0
        assert len(floor.docs) == n
        return elapsed


async def floor_calls(url: str, total: int, in_flight: int, tasks: bool = False) -> float:
    """Seconds for the floor client to make ``total`` calls, ``in_flight`` at a time: from
    ``in_flight`` workers, or (``tasks``) one task per call behind a semaphore."""
    async with FloorClient(url) as floor:
        return await timed_calls(floor.call, total, in_flight, tasks)


async def floor_rtt(url: str, n: int) -> list[float]:
    """Sequential round trips of the floor client (seconds each)."""
    samples = []
    async with FloorClient(url) as floor:
        for i in range(n):
            done = elapsed()
            await floor.call("m", i)
            samples.append(done())
    return samples


# -- reporting ------------------------------------------------------------------------------


def best_pair(
    runs: int, bare: Callable[[], float], ours: Callable[[], float]
) -> tuple[float, float]:
    """Best (smallest) of ``runs`` timings of each, the two alternated so that a change of
    the machine's load during the run hits both alike."""
    best = best_of(runs, bare, ours)
    return best[0], best[1]


def best_of(runs: int, *measures: Callable[[], float]) -> list[float]:
    """Best (smallest) of ``runs`` timings of each measure, alternated run by run."""
    timings: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for timing, measure in zip(timings, measures, strict=True):
            timing.append(measure())
    return [min(timing) for timing in timings]


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


TARGETS: dict[str, tuple[str, float]] = {
    "ingest": (">=", 1.3),
    "calls": (">=", 1.5),
    "p50": ("<=", 0.67),
    "p99": ("<=", 1.0),
    "memory": ("<=", 0.6),
    "scaling": ("<=", 1.1),
}
"""Issue 13's targets for the ``AsyncClient`` on its default transport (picows); the other
transport's rows are printed for information."""


def report(name: str, value: str, ratio: float, target: str | None, transport: str = "") -> None:
    """Print one figure, its ratio to the baseline and whether it meets its target."""
    line = f"  {name:<58} {transport:<10} {value:>22}   ratio {ratio:5.2f}"
    if target is not None:
        op, bound = TARGETS[target]
        ok = ratio >= bound if op == ">=" else ratio <= bound
        if transport in ("", "picows"):
            line += f"  (target {op} {bound}) {'OK' if ok else 'MISS'}"
        else:
            line += f"  ({op} {bound} for picows; fallback, for information)"
    print(line, flush=True)


def report_floor(name: str, value: str, ratio: float) -> None:
    """Print the floor client's figure (see :class:`FloorClient`), for information."""
    print(f"  {name:<58} {'floor':<10} {value:>22}   ratio {ratio:5.2f}  (picows + orjson, no DDP)")


FIGURES = ("ingest", "calls", "rtt", "memory", "scaling")
"""The figures ``--only`` can pick."""

TRANSPORTS = ("picows", "websockets")
"""The AsyncClient transports measured (``--transport`` picks)."""


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
    parser.add_argument(
        "--loop", choices=tuple(loop_factories()), action="append", help="default: every one"
    )
    parser.add_argument("--transport", choices=TRANSPORTS, action="append", help="default: both")
    parser.add_argument(
        "--server",
        choices=("picows", "websockets"),
        default="picows",
        help="the frame server's websocket (default: picows, the faster one)",
    )
    args = parser.parse_args()
    only = set(args.only or FIGURES)
    loops = args.loop or list(loop_factories())
    transports = args.transport or list(TRANSPORTS)
    n_docs = 10_000 if args.quick else 100_000
    n_calls = 2_000 if args.quick else 10_000
    n_rtt = 300 if args.quick else 2_000
    runs = 1 if args.quick else 3
    scaling = (10_000, 100_000) if args.quick else SCALING
    if "scaling" not in only or args.profile:
        scaling = ()

    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(
        target=_serve, args=(port_queue, n_docs, scaling, args.server), daemon=True
    )
    server.start()
    try:
        url = f"ws://127.0.0.1:{port_queue.get(timeout=600)}/websocket"
        print(
            f"python {sys.version.split()[0]}; {n_docs:,} docs (all with a $date, and"
            f" {DATE_SHARE:.0%} with one); ratios to the bare websockets client on the same loop"
        )
        if not args.loop and "uvloop" not in loops:
            print("(uvloop is not installed: pip install 'ddp-client[uvloop]' for its figures)")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            run_on(loops[0], lambda: async_client_ingest(url, n_docs, "dated", transports[0]))
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return
        for loop in loops:
            print(f"event loop: {loop}")
            for transport in transports:
                if "ingest" in only:
                    measure_ingest(url, n_docs, runs, loop, transport)
                if "calls" in only:
                    measure_calls(url, n_calls, runs, loop, transport)
                if "rtt" in only:
                    measure_rtt(url, n_rtt, loop, transport)
            if "scaling" in only:
                measure_scaling(url, scaling, runs, loop, transports[0])
        if "memory" in only:
            print("memory (the store's; the same on every loop and transport)")
            measure_memory(url, n_docs)
        if not args.skip_sync and only & {"ingest", "rtt"}:
            print("the blocking Client (websockets' blocking client; no target here)")
            if "ingest" in only:
                measure_sync_ingest(url, n_docs, runs)
            if "rtt" in only:
                measure_sync_rtt(url, n_rtt)
    finally:
        server.kill()
        server.join()


def measure_ingest(url: str, n_docs: int, runs: int, loop: str, transport: str) -> None:
    """Report the subscription ingest against the bare client, for both shapes of data."""
    for name, label in (("dated", "every doc with a $date"), ("items", f"{DATE_SHARE:.0%} $date")):
        measures = [
            lambda name=name: run_on(loop, lambda: bare_ingest(url, n_docs, name)),
            lambda name=name: run_on(
                loop, lambda: async_client_ingest(url, n_docs, name, transport)
            ),
        ]
        with_floor = transport == "picows"
        if with_floor:
            measures.append(lambda name=name: run_on(loop, lambda: floor_ingest(url, n_docs, name)))
        limit, ours, *floor = best_of(runs, *measures)
        figure = f"ingest {n_docs:,} docs, {label} (docs/s)"
        report(
            figure,
            f"{n_docs / ours:,.0f} vs {n_docs / limit:,.0f}",
            limit / ours,
            "ingest",
            transport,
        )
        if floor:
            report_floor(
                figure, f"{n_docs / floor[0]:,.0f} vs {n_docs / limit:,.0f}", limit / floor[0]
            )


def measure_calls(url: str, n_calls: int, runs: int, loop: str, transport: str) -> None:
    """Report the throughput of calls with 500 in flight against the bare loop, for both
    shapes: 500 workers calling in turn, and one task per call behind a semaphore."""
    shapes: tuple[tuple[str, Callable[..., Awaitable[float]]], ...] = (
        ("500 workers", async_client_calls),
        (f"{n_calls:,} tasks, semaphore", async_client_calls_tasks),
    )
    for label, shape in shapes:
        measures = [
            lambda: run_on(loop, lambda: bare_calls(url, n_calls, 500)),
            lambda shape=shape: run_on(loop, lambda: shape(url, n_calls, 500, transport)),
        ]
        if transport == "picows":
            tasks = shape is async_client_calls_tasks
            measures.append(
                lambda tasks=tasks: run_on(loop, lambda: floor_calls(url, n_calls, 500, tasks))
            )
        limit, ours, *floor = best_of(runs, *measures)
        figure = f"{n_calls:,} calls, 500 in flight, {label} (calls/s)"
        report(
            figure,
            f"{n_calls / ours:,.0f} vs {n_calls / limit:,.0f}",
            limit / ours,
            "calls",
            transport,
        )
        if floor:
            report_floor(
                figure, f"{n_calls / floor[0]:,.0f} vs {n_calls / limit:,.0f}", limit / floor[0]
            )


def measure_rtt(url: str, n_rtt: int, loop: str, transport: str) -> None:
    """Report the sequential round trip's p50 and p99 against the bare loop's."""
    # Alternated rounds, samples pooled: load drift hits both alike.
    bare: list[float] = []
    mine: list[float] = []
    floor: list[float] = []
    for _ in range(5):
        bare += run_on(loop, lambda: bare_rtt(url, n_rtt // 5))
        mine += run_on(loop, lambda: async_client_rtt(url, n_rtt // 5, transport=transport))
        if transport == "picows":
            floor += run_on(loop, lambda: floor_rtt(url, n_rtt // 5))
    for q, target in ((0.5, "p50"), (0.99, "p99")):
        figure = f"sequential round trip p{round(q * 100)} (us)"
        limit = pct(bare, q)
        report(
            figure,
            f"{pct(mine, q) * 1e6:,.0f} vs {limit * 1e6:,.0f}",
            pct(mine, q) / limit,
            target,
            transport,
        )
        if floor:
            report_floor(
                figure, f"{pct(floor, q) * 1e6:,.0f} vs {limit * 1e6:,.0f}", pct(floor, q) / limit
            )


class CollectorClock:
    """Time the cyclic garbage collector takes while it is entered (``gc.callbacks``), and
    how many full collections it ran: the share of an ingest that grows with the store."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.full += info["generation"] == 2

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def measure_scaling(url: str, sizes: tuple[int, ...], runs: int, loop: str, transport: str) -> None:
    """Report the ingest time per document of the largest set against the smallest's, and
    the collector's share of the largest."""
    small, large = sizes[0], sizes[-1]
    per_doc: list[list[float]] = []
    clocks = (CollectorClock(), CollectorClock())

    def timed(measure: Callable[[], float], clock: CollectorClock) -> Callable[[], float]:
        def run() -> float:
            with clock:
                return measure()

        return run

    for size, tries in ((small, runs), (large, 1)):
        measures = [
            lambda size=size: run_on(
                loop, lambda: async_client_ingest(url, size, f"dated{size}", transport)
            ),
            lambda size=size: run_on(loop, lambda: floor_ingest(url, size, f"dated{size}")),
        ]
        if size == large:
            measures = [
                timed(measure, clock) for measure, clock in zip(measures, clocks, strict=True)
            ]
        per_doc.append([best / size for best in best_of(tries, *measures)])
    figure = f"ingest per doc, {large:,} vs {small:,} docs (us)"
    ours, floor = (
        (per_doc[1][i] / per_doc[0][i], f"{per_doc[1][i] * 1e6:.2f} vs {per_doc[0][i] * 1e6:.2f}")
        for i in (0, 1)
    )
    report(figure, ours[1], ours[0], "scaling", transport)
    report_floor(figure, floor[1], floor[0])
    shares = [clock.seconds / (per_doc[1][i] * large) for i, clock in enumerate(clocks)]
    print(
        f"  (at {large:,} docs the cyclic GC took {shares[0]:.0%} of the {transport} ingest,"
        f" {clocks[0].full} full collections; the floor's: {shares[1]:.0%},"
        f" {clocks[1].full} full collections)"
    )


def measure_memory(url: str, n_docs: int) -> None:
    """Report the memory of the cached documents against a plain dict of dicts."""
    plain = dict_memory(n_docs)
    cached = asyncio.run(async_client_memory(url, n_docs))
    report(
        f"memory of {n_docs:,} cached docs (MB)",
        f"{cached / 1e6:,.1f} vs {plain / 1e6:,.1f}",
        cached / plain,
        "memory",
    )


def measure_sync_ingest(url: str, n_docs: int, runs: int) -> None:
    """Report the blocking Client's ingest against the bare asyncio client, for information."""
    try:
        limit, sync = best_pair(
            runs,
            lambda: asyncio.run(bare_ingest(url, n_docs)),
            lambda: sync_client_ingest(url, n_docs),
        )
    except Exception as exc:  # report and go on to the other figures
        print(f"  ingest Client: failed: {exc!r}")
    else:
        report(
            f"ingest Client, {DATE_SHARE:.0%} $date (docs/s)",
            f"{n_docs / sync:,.0f} vs {n_docs / limit:,.0f}",
            limit / sync,
            None,
        )


def measure_sync_rtt(url: str, n_rtt: int) -> None:
    """Report the blocking Client's round trip against websockets' blocking client."""
    bare: list[float] = []
    mine: list[float] = []
    for _ in range(5):
        bare += bare_sync_rtt(url, n_rtt // 5)
        mine += sync_client_rtt(url, n_rtt // 5)
    for q in (0.5, 0.99):
        report(
            f"Client round trip p{round(q * 100)} (us)",
            f"{pct(mine, q) * 1e6:,.0f} vs {pct(bare, q) * 1e6:,.0f}",
            pct(mine, q) / pct(bare, q),
            None,
        )
    print(f"  (median of all samples: {statistics.median(mine) * 1e6:,.0f} us)")


if __name__ == "__main__":
    main()
