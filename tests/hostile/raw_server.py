"""A scripted DDP server on a raw websocket, for hostile-server tests.

It is deliberately *not* :mod:`ddp.server`: it speaks just enough DDP to be useful (``connect``,
``ping``, ``sub``, ``unsub``, ``method``) and lets a test make it misbehave at every layer:
what it answers (hooks), which frames it pushes (:meth:`RawServer.push`), whether it reads
at all, and how the websocket handshake goes (:attr:`RawServer.handshake`). It runs on its
own event loop in its own thread, so the blocking client can be tested against it as well as
the asyncio one, and it counts dials, so a test can show that a client never spins.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import Any, TypeVar

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

T = TypeVar("T")

TIMEOUT = 5.0
"""The longest any wait in these tests may take: reached only when a test fails."""

Frame = str | bytes
"""A frame to push: text (str) or binary (bytes)."""


class LoopThread:
    """An asyncio event loop running in a daemon thread of its own."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        """Run ``coro`` on the loop and return its result (at most ``timeout`` seconds)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start ``coro`` on the loop; return a future of its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[[], T], timeout: float = TIMEOUT) -> T:
        """Run the plain function ``fn`` on the loop and return its result."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def stop(self) -> None:
        """Stop the loop and join the thread (bounded)."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the loop thread did not end"


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """Encode one unmasked websocket frame (as a server sends it)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def nested_json(depth: int) -> str:
    """The JSON text of a plain object nested ``depth`` levels (no ``$`` keys), built as text
    (the standard encoder would hit the recursion limit)."""
    return '{"a":' * (depth - 1) + '{"leaf":1}' + "}" * (depth - 1)


def deep_added(doc_id: str, depth: int) -> str:
    """An ``added`` for ``items`` whose fields are nested ``depth`` levels."""
    return f'{{"msg":"added","collection":"items","id":"{doc_id}","fields":{nested_json(depth)}}}'


@dataclass
class Conn:
    """One accepted connection, as the server sees it."""

    number: int
    ws: ServerConnection
    received: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str | bytes] = field(default_factory=list)  # every frame, as it came


Hook = Callable[["RawServer", Conn, dict[str, Any]], Coroutine[Any, Any, bool]]
"""An async hook for one message kind: returns True when it handled the message."""


class RawServer:
    """A raw-websocket DDP server in a thread; see the module docstring.

    Default behaviour: ``connect`` is answered ``connected`` with a new session every time;
    ``ping`` gets ``pong``; ``sub`` gets an ``added`` for each document of :attr:`docs` in
    that collection, then ``ready``; ``unsub`` gets ``nosub``; a ``method`` is answered by
    :attr:`methods` (``echo`` returns its first argument; ``poke`` first pushes the frames
    queued with :meth:`queue_on_poke`) with ``result`` then ``updated``.
    """

    def __init__(self, *, max_size: int | None = None, ssl: SSLContext | None = None) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {"items": {}}
        self.methods: dict[str, Callable[[list[Any]], Any]] = {
            "echo": lambda params: params[0] if params else None,
            "poke": lambda params: "poked",
        }
        self.hooks: dict[str, Hook] = {}
        self.extra_on_sub: list[str] = []  # raw texts sent after the documents, before ready
        self.conns: list[Conn] = []
        self.deaf: set[int] = set()  # connections that stop reading once connected
        self.handshake: Callable[[int], Coroutine[Any, Any, Response | None]] | None = None
        self.attempts = 0  # handshakes seen, including refused or stalled ones
        self._on_poke: list[list[Frame]] = []
        self._cond = threading.Condition()
        self._thread = LoopThread("raw-ddp-server")
        self._max_size = max_size
        self._ssl = ssl
        self._server: Any = None
        self.port = 0

    # -- life ------------------------------------------------------------------------------
    def __enter__(self) -> RawServer:
        self._server = self._thread.run(self._start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._thread.run(self._stop())
        finally:
            self._thread.stop()

    async def _start(self) -> Any:
        return await serve(
            self._handler,
            "127.0.0.1",
            0,
            max_size=self._max_size,
            ssl=self._ssl,
            ping_interval=None,
            compression=None,
            process_request=self._process_request,
        )

    async def _stop(self) -> None:
        # Abort rather than close: a connection the test made deaf would never finish a
        # closing handshake.
        for conn in self.conns:
            conn.ws.transport.abort()
        self._server.close()
        async with asyncio.timeout(TIMEOUT):
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The websocket URL of the DDP endpoint."""
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/websocket"

    # -- what the test reads -----------------------------------------------------------------
    @property
    def dials(self) -> int:
        """Websocket connections accepted so far."""
        with self._cond:
            return len(self.conns)

    def wait_for(self, check: Callable[[RawServer], Any], timeout: float = TIMEOUT) -> Any:
        """Wait until ``check(self)`` is truthy (re-checked on every event), or fail."""
        with self._cond:
            result = self._cond.wait_for(lambda: check(self), timeout)
        assert result, f"server condition not met within {timeout} s ({self.dials} dials)"
        return result

    def frames(self) -> list[str | bytes]:
        """Every frame received, on any connection, exactly as it came."""
        with self._cond:
            return [t for c in self.conns for t in c.texts]

    def received(self, kind: str) -> list[dict[str, Any]]:
        """Every message of ``kind`` received, on any connection, in order."""
        with self._cond:
            return [m for c in self.conns for m in c.received if m.get("msg") == kind]

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- what the test does ------------------------------------------------------------------
    def queue_on_poke(self, *frames: Frame | dict[str, Any]) -> None:
        """Push ``frames`` just before the result of the next ``poke`` call (once)."""
        self._on_poke.append([_frame(f) for f in frames])

    def push(self, *frames: Frame | dict[str, Any]) -> None:
        """Send ``frames`` now on the latest connection."""
        conn = self.conns[-1]
        self._thread.run(self._send_all(conn, [_frame(f) for f in frames]))

    def raw(self, data: bytes) -> None:
        """Write ``data`` as is on the latest connection's socket (no websocket framing)."""
        conn = self.conns[-1]
        self._thread.call(lambda: conn.ws.transport.write(data))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the server's loop."""
        return self._thread.run(coro)

    def add_doc(self, collection: str, doc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a document (sent to later subscribers) and return its ``added`` message."""
        self.docs.setdefault(collection, {})[doc_id] = fields
        return {"msg": "added", "collection": collection, "id": doc_id, "fields": fields}

    # -- the server side ---------------------------------------------------------------------
    async def _process_request(self, connection: ServerConnection, request: Request) -> Any:
        self.attempts += 1
        self._notify()
        if self.handshake is not None:
            return await self.handshake(self.attempts)
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        with self._cond:
            conn = Conn(len(self.conns) + 1, ws)
            self.conns.append(conn)
            self._cond.notify_all()
        try:
            async for data in ws:
                conn.texts.append(data)
                try:
                    msg = json.loads(data)
                except ValueError:
                    continue
                if not isinstance(msg, dict):
                    continue
                with self._cond:
                    conn.received.append(msg)
                    self._cond.notify_all()
                await self._dispatch(conn, msg)
                if conn.number in self.deaf and msg.get("msg") == "connect":
                    # Read nothing more: the client's writes pile up in the socket buffers.
                    ws.transport.pause_reading()
                    await ws.wait_closed()
                    return
        except Exception:  # a hostile test cuts connections every way it can
            pass

    async def _dispatch(self, conn: Conn, msg: dict[str, Any]) -> None:
        kind = msg.get("msg")
        hook = self.hooks.get(str(kind))
        if hook is not None and await hook(self, conn, msg):
            return
        ws = conn.ws
        if kind == "connect":
            await ws.send(json.dumps({"msg": "connected", "session": f"s{conn.number}"}))
        elif kind == "ping":
            pong: dict[str, Any] = {"msg": "pong"}
            if "id" in msg:
                pong["id"] = msg["id"]
            await ws.send(json.dumps(pong))
        elif kind == "sub":
            name = msg.get("name")
            for doc_id, fields in list(self.docs.get(str(name), {}).items()):
                added = {"msg": "added", "collection": name, "id": doc_id, "fields": fields}
                await ws.send(json.dumps(added))
            for text in self.extra_on_sub:
                await ws.send(text)
            await ws.send(json.dumps({"msg": "ready", "subs": [msg["id"]]}))
        elif kind == "unsub":
            await ws.send(json.dumps({"msg": "nosub", "id": msg["id"]}))
        elif kind == "method":
            name = msg.get("method")
            if name == "poke" and self._on_poke:
                await self._send_all(conn, self._on_poke.pop(0))
            fn = self.methods.get(str(name))
            if fn is None:
                answer: dict[str, Any] = {
                    "msg": "result",
                    "id": msg["id"],
                    "error": {"error": 404, "reason": f"Method '{name}' not found"},
                }
            else:
                answer = {"msg": "result", "id": msg["id"], "result": fn(msg.get("params", []))}
            await ws.send(json.dumps(answer))
            await ws.send(json.dumps({"msg": "updated", "methods": [msg["id"]]}))

    async def _send_all(self, conn: Conn, frames: list[Frame]) -> None:
        for frame in frames:
            await conn.ws.send(frame)


def _frame(frame: Frame | dict[str, Any]) -> Frame:
    return json.dumps(frame) if isinstance(frame, dict) else frame


def http_error(status: int = 503) -> Response:
    """An HTTP error response that refuses a websocket handshake."""
    return Response(status, "Refused", Headers({"Content-Length": "0"}), b"")


class FrontDoor:
    """A plain TCP listener in front of a :class:`RawServer`, for handshake-level faults.

    Connection number ``n`` (from 1) gets ``behaviour(n)``: ``"close"`` (accept, then close
    at once), ``"garbage"`` (answer the upgrade request with bytes that are not HTTP),
    ``"no-upgrade"`` (a well-formed ``200 OK`` that is not a websocket upgrade) or
    ``"forward"`` (pass bytes both ways to the raw server).
    """

    def __init__(self, raw: RawServer, behaviour: Callable[[int], str]) -> None:
        self._raw = raw
        self._behaviour = behaviour
        self.accepted = 0
        self._server: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    def __enter__(self) -> FrontDoor:
        self._server = self._raw.run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.run(self._stop())

    async def _stop(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        """The websocket URL through this front door."""
        return f"ws://127.0.0.1:{self.port}/websocket"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._raw._notify()
        kind = self._behaviour(self.accepted)
        try:
            if kind == "forward":
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._raw.port)
                pipes = [
                    asyncio.ensure_future(_pipe(reader, up_writer)),
                    asyncio.ensure_future(_pipe(up_reader, writer)),
                ]
                self._tasks.update(pipes)
                try:
                    await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for pipe in pipes:
                        pipe.cancel()
                        self._tasks.discard(pipe)
                    up_writer.close()
                return
            if kind != "close":
                await reader.readuntil(b"\r\n\r\n")
            if kind == "garbage":
                writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
            elif kind == "no-upgrade":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
