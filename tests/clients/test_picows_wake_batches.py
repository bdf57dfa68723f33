"""The picows transport hands held-back texts that wake tasks over in batches.

Against a real websockets server on loopback that writes many frames in one write, so that
the client reads them in one go (see ``ddp.asyncio._picows.WAKE_BATCH``).
"""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("picows")

from async_support import TIMEOUT
from websockets.asyncio.server import ServerConnection, serve

from ddp._transport import DialSpec, FrameMeter
from ddp.asyncio import _picows
from ddp.stats import StatsRecorder


def text_frame(payload: bytes) -> bytes:
    """One unmasked websocket text frame, as a server writes it (payloads under 126 bytes)."""
    assert len(payload) < 126
    return bytes((0x81, len(payload))) + payload


async def test_texts_that_wake_tasks_are_handed_over_a_batch_per_loop_turn() -> None:
    # 200 results in one read, each waking a task: the first one alone (its task runs
    # first), then WAKE_BATCH per loop iteration, so that the tasks each batch woke run
    # before the next batch (a semaphore they release then never scans hundreds of waiters).
    count = 200

    async def handler(ws: ServerConnection) -> None:
        assert await ws.recv() == "go"
        ws.transport.write(b"".join(text_frame(b"r%d" % i) for i in range(count)))
        await ws.wait_closed()

    loop = asyncio.get_running_loop()
    turn = 0
    ticking = True

    def tick() -> None:  # counts the loop's iterations
        nonlocal turn
        turn += 1
        if ticking:
            loop.call_soon(tick)

    texts: list[str] = []
    turns: list[int] = []
    all_in = asyncio.Event()

    def deliver(text: str) -> bool:
        texts.append(text)
        turns.append(turn)
        if len(texts) == count:
            all_in.set()
        return True  # every text woke a task

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        spec = DialSpec(
            url=f"ws://127.0.0.1:{port}/websocket",
            ssl=None,
            origin=None,
            headers=(),
            compression=False,
            proxy=None,
            open_timeout=TIMEOUT,
            max_size=1 << 20,
        )
        transport = await _picows.dial(spec, FrameMeter(StatsRecorder(time.monotonic)))
        tick()
        transport.deliver_to(deliver)
        transport.send(["go"])
        async with asyncio.timeout(TIMEOUT):
            await all_in.wait()
        ticking = False
        await transport.close()
        await transport.wait_closed()
    assert texts == [f"r{i}" for i in range(count)]
    sizes = [turns.count(t) for t in sorted(set(turns))]
    batch = _picows.WAKE_BATCH
    assert sizes == [1, *[batch] * ((count - 1) // batch), (count - 1) % batch]
