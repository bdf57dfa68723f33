"""A real HTTP ``CONNECT`` proxy on loopback, for the clients' proxy tests.

It runs on threads of its own (so the async tests' event loop and the blocking client alike
can dial through it), tunnels bytes both ways, and records each ``CONNECT`` target, which is
how a test knows the connection went through it.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Proxy:
    """A running proxy: its URL and the ``host:port`` targets it was asked to tunnel to."""

    url: str
    targets: list[str] = field(default_factory=list)


class _Server(socketserver.ThreadingTCPServer):
    # server_close() joins the tunnel threads, so no socket outlives the proxy.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.targets: list[str] = []
        self.open_sockets: list[socket.socket] = []
        self.lock = threading.Lock()


class _Tunnel(socketserver.StreamRequestHandler):
    rbufsize = 0  # read the request line by line, never past it into the tunnelled bytes

    server: _Server

    def handle(self) -> None:
        with self.server.lock:
            self.server.open_sockets.append(self.connection)
        request_line = self.rfile.readline(65536).decode("latin-1")
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass  # headers: none matter here
        method, target, _ = [*request_line.split(" ", 2), "", ""][:3]
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        with self.server.lock:
            self.server.targets.append(target)
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            with self.server.lock:
                self.server.open_sockets.append(upstream)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(self.connection, upstream)


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select(timeout=1):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


@contextmanager
def http_proxy() -> Iterator[Proxy]:
    """Run a ``CONNECT`` proxy for the duration of the block; every tunnel ends with it."""
    server = _Server()
    port = server.server_address[1]
    proxy = Proxy(url=f"http://127.0.0.1:{port}")
    proxy.targets = server.targets
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-proxy", daemon=True
    )
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        with server.lock:
            for sock in server.open_sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already gone
        server.server_close()
        thread.join(5)
