"""The AsyncClient's call path without the network, for instruction counts and profiles.

Run: ``python benchmarks/call_path.py go|recv|cycle N``. The client connects to
``bench_client.py``'s frame server, then its transport's sends are dropped and answers are
made up in process, so only the client's own work (and asyncio's) is measured:

- ``go``: N ``client.go()`` (handle, frame, core, write);
- ``recv``: the same, then each call's ``result`` and ``updated`` handed to the client;
- ``cycle``: N ``await client.call()``, each answered from a ``call_soon`` callback.

Instruction counts are repeatable where timings are not (a shared machine): run it under
``valgrind --tool=callgrind --callgrind-out-file=/dev/null`` for two values of N and divide
the difference by the difference of N (the start-up cancels out)::

    for n in 1000 6000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/call_path.py cycle $n 2>&1 | grep Collected; done
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from collections.abc import Sequence

from bench_client import _serve

import ddp


def result(method_id: str) -> str:
    """The server's ``result`` for a call."""
    return f'{{"msg":"result","id":"{method_id}","result":1}}'


def updated(method_id: str) -> str:
    """The server's ``updated`` for a call."""
    return f'{{"msg":"updated","methods":["{method_id}"]}}'


async def main(url: str, what: str, n: int) -> None:
    """Run ``n`` calls of the ``what`` shape on a client connected to ``url``."""
    async with ddp.AsyncClient(url, heartbeat_interval=0, transport="picows") as client:
        transport = client._transport
        assert transport is not None
        deliver = transport._deliver  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()

        def drop(texts: Sequence[str]) -> None:
            pass

        def answer(texts: Sequence[str]) -> None:
            for text in texts:
                method_id = text.split('"id":"')[1].split('"')[0]
                loop.call_soon(deliver, result(method_id))
                loop.call_soon(deliver, updated(method_id))

        transport.send = drop  # type: ignore[method-assign]
        if what == "go":
            for i in range(n):
                client.go("m", i)
        elif what == "recv":
            for handle in [client.go("m", i) for i in range(n)]:
                deliver(result(handle.id))
                deliver(updated(handle.id))
        else:
            transport.send = answer  # type: ignore[method-assign]
            for i in range(n):
                await client.call("m", i)
        transport.send = drop  # type: ignore[method-assign]


if __name__ == "__main__":
    shape, count = sys.argv[1], int(sys.argv[2])
    if shape not in ("go", "recv", "cycle"):
        raise SystemExit(__doc__)
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_queue, 10, (), "picows"), daemon=True)
    server.start()
    try:
        asyncio.run(main(f"ws://127.0.0.1:{port_queue.get(timeout=60)}/websocket", shape, count))
    finally:
        server.kill()
        server.join()
