"""A raw websocket server that accepts the handshake, says ``connected``, then stops reading.

What a blackholed network or an overloaded peer looks like to a client writing a large
message: its socket's buffers fill and ``sendall`` (or the transport's buffer) stops moving.
Plain sockets and threads: no DDP server logic, nothing that reads after the handshake.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from types import TracebackType

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _server_frame(text: str) -> bytes:
    payload = text.encode()
    header = bytes([0x81])
    n = len(payload)
    if n < 126:
        header += bytes([n])
    elif n < 65536:
        header += bytes([126]) + n.to_bytes(2, "big")
    else:
        header += bytes([127]) + n.to_bytes(8, "big")
    return header + payload


class StallingServer:
    """Accepts websocket connections; each gets ``connected`` and is then never read again.

    Use as a context manager; :attr:`url` is where to connect; :attr:`connections` counts
    the handshakes done (a reconnecting client makes more).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        # Small buffers so that a few hundred kilobytes fill them.
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0
        self.handshaken = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._stopped = False

    @property
    def url(self) -> str:
        """The websocket URL."""
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/websocket"

    def __enter__(self) -> StallingServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._thread.join(5.0)

    def wait_for_connections(self, n: int, timeout: float) -> bool:
        """Wait until ``n`` handshakes were done."""
        with self.handshaken:
            return self.handshaken.wait_for(lambda: self.connections >= n, timeout)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            with self._lock:
                self._sockets.append(sock)
            self._handshake(sock)

    def _handshake(self, sock: socket.socket) -> None:
        request = b""
        try:
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
        except OSError:
            return
        key = ""
        for line in request.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        response = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        connected = json.dumps({"msg": "connected", "session": f"s{self.connections}"})
        try:
            # The client's connect frame is left unread: nothing is read from here on.
            sock.sendall(response.encode() + _server_frame(connected))
        except OSError:
            return
        with self._lock:
            self.connections += 1
            self.handshaken.notify_all()
