"""SockJS framing over a websocket, as Meteor's ``/sockjs`` endpoint speaks it (Sans-I/O).

Server to client, each websocket message is one frame: ``o`` (open), ``h`` (heartbeat),
``a["<msg>", ...]`` (DDP messages, each a JSON text inside a JSON string), ``m"<msg>"`` (one
message, rare) or ``c[code,"reason"]`` (close). Client to server, a frame is a JSON array of
such strings (a single JSON string is accepted too, as SockJS servers do).

URLs: Meteor's client turns ``http(s)://``, ``ddp(i)+sockjs://`` and bare hosts into a
websocket URL (:func:`websocket_url`); the SockJS one adds ``/sockjs/<3 digits>/<8 random
chars>/websocket`` (:func:`sockjs_websocket_url`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson

from ddp.exceptions import ProtocolError

__all__ = [
    "SOCKJS_HEARTBEAT",
    "SOCKJS_OPEN",
    "SockJSFrame",
    "SockJSFrameKind",
    "sockjs_client_encode",
    "sockjs_decode",
    "sockjs_encode_close",
    "sockjs_encode_messages",
    "sockjs_server_decode",
    "sockjs_url",
    "sockjs_websocket_url",
    "websocket_url",
]

SOCKJS_OPEN: Final = "o"
"""The frame a SockJS server sends first."""
SOCKJS_HEARTBEAT: Final = "h"
"""The SockJS keep-alive frame (the server sends one every 25 s by default)."""

# SockJS client's alphabet for connection ids (sockjs-client utils/random.js).
_SESSION_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz012345"
_DDP_SOCKJS_SCHEME: Final = re.compile(r"^ddp(i?)\+sockjs://")
_HTTP_SCHEME: Final = re.compile(r"^http(s?)://")


class SockJSFrameKind(StrEnum):
    """What a server frame is."""

    OPEN = "open"
    HEARTBEAT = "heartbeat"
    MESSAGES = "messages"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class SockJSFrame:
    """One decoded server-to-client SockJS frame.

    Attributes:
        kind: Open, heartbeat, messages or close.
        messages: The DDP message texts of a messages frame (empty otherwise).
        close_code: The close code of a close frame (e.g. 3000), else ``None``.
        close_reason: The close reason of a close frame, else ``None``.
    """

    kind: SockJSFrameKind
    messages: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None


def sockjs_decode(frame: str | bytes) -> SockJSFrame:
    """Decode a server-to-client frame (the client side).

    Raises:
        ProtocolError: the frame is empty or not a valid SockJS frame.
    """
    if isinstance(frame, bytes):
        try:
            text = frame.decode()
        except UnicodeDecodeError:
            raise ProtocolError("SockJS frame is not valid UTF-8") from None
    else:
        text = frame
    if not text:
        raise ProtocolError("empty SockJS frame")
    kind = text[0]
    if kind == "a":
        payload = _load(text[1:], "messages")
        if type(payload) is not list or not all(type(item) is str for item in payload):
            raise ProtocolError(f"SockJS 'a' frame must hold an array of strings: {text[:100]!r}")
        return SockJSFrame(SockJSFrameKind.MESSAGES, payload)
    if kind == "h" and len(text) == 1:
        return SockJSFrame(SockJSFrameKind.HEARTBEAT)
    if kind == "o" and len(text) == 1:
        return SockJSFrame(SockJSFrameKind.OPEN)
    if kind == "m":
        payload = _load(text[1:], "message")
        if type(payload) is not str:
            raise ProtocolError(f"SockJS 'm' frame must hold a string: {text[:100]!r}")
        return SockJSFrame(SockJSFrameKind.MESSAGES, [payload])
    if kind == "c":
        payload = _load(text[1:], "close")
        if (
            type(payload) is not list
            or len(payload) != 2
            or type(payload[0]) is not int
            or type(payload[1]) is not str
        ):
            raise ProtocolError(f"SockJS 'c' frame must be [code, reason]: {text[:100]!r}")
        return SockJSFrame(SockJSFrameKind.CLOSE, close_code=payload[0], close_reason=payload[1])
    raise ProtocolError(f"unknown SockJS frame: {text[:100]!r}")


def sockjs_encode_messages(messages: list[str]) -> str:
    """Build the ``a[...]`` frame carrying these DDP message texts (the server side)."""
    return "a" + orjson.dumps(messages).decode()


def sockjs_encode_close(code: int, reason: str) -> str:
    """Build a ``c[code,"reason"]`` close frame (the server side)."""
    return "c" + orjson.dumps([code, reason]).decode()


def sockjs_client_encode(messages: list[str]) -> str:
    """Build a client-to-server frame: a JSON array of the DDP message texts."""
    return orjson.dumps(messages).decode()


def sockjs_server_decode(frame: str | bytes) -> list[str]:
    """Decode a client-to-server frame (the server side) into DDP message texts.

    An array of strings and a single string are both accepted; an empty frame holds none.

    Raises:
        ProtocolError: the frame is neither (SockJS closes with 3000 "Broken framing").
    """
    if not frame:
        return []
    payload = _load(frame, "client")
    if type(payload) is str:
        return [payload]
    if type(payload) is list and all(type(item) is str for item in payload):
        return payload
    raise ProtocolError("a SockJS client frame must be a string or an array of strings")


def _load(text: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"SockJS {what} frame is not valid JSON: {exc}") from None


def websocket_url(base_url: str, rng: random.Random | None = None) -> str:
    """Translate a server URL to Meteor's raw websocket endpoint, as Meteor's client does.

    ``http(s)://host`` becomes ``ws(s)://host/websocket``; ``ddp+sockjs://`` means TLS and
    ``ddpi+sockjs://`` not (a ``*`` in their host becomes a random digit); a bare host gets
    ``ws://``; ``ws(s)://`` URLs keep their scheme. ``/websocket`` is always appended.

    Raises:
        ValueError: ``base_url`` is empty or relative (``/path``).
    """
    return _translate(base_url, "websocket", rng)


def sockjs_url(base_url: str, server_id: str, session_id: str) -> str:
    """Build the SockJS websocket URL ``<ws base>/sockjs/<server_id>/<session_id>/websocket``.

    Raises:
        ValueError: ``base_url`` is empty or relative.
    """
    return f"{_translate(base_url, 'sockjs', None)}/{server_id}/{session_id}/websocket"


def sockjs_websocket_url(base_url: str, rng: random.Random | None = None) -> str:
    """Build a SockJS websocket URL with fresh random ids, as the SockJS client does.

    The server id is three digits (``000`` to ``999``) and the session id eight characters of
    SockJS's alphabet.

    Args:
        base_url: The server's URL, in any form :func:`websocket_url` accepts.
        rng: Source of randomness (for reproducible tests); the ``random`` module by default.

    Raises:
        ValueError: ``base_url`` is empty or relative.
    """
    gen = rng if rng is not None else random
    server_id = f"{gen.randrange(1000):03d}"
    session_id = "".join(gen.choice(_SESSION_ALPHABET) for _ in range(8))
    return f"{_translate(base_url, 'sockjs', rng)}/{server_id}/{session_id}/websocket"


def _translate(url: str, sub_path: str, rng: random.Random | None) -> str:
    """Meteor's ``translateUrl`` (socket-stream-client urls.js), always to ws/wss."""
    if not url or url.startswith("/"):
        raise ValueError(f"a server URL must be absolute, got {url!r}")
    ddp_match = _DDP_SOCKJS_SCHEME.match(url)
    if ddp_match:
        scheme = "ws" if ddp_match.group(1) == "i" else "wss"
        rest = url[ddp_match.end() :]
        slash = rest.find("/")
        host, path = (rest, "") if slash == -1 else (rest[:slash], rest[slash:])
        gen = rng if rng is not None else random
        host = re.sub(r"\*", lambda _: str(gen.randrange(10)), host)
        url = f"{scheme}://{host}{path}"
    else:
        http_match = _HTTP_SCHEME.match(url)
        if http_match:
            url = ("wss" if http_match.group(1) else "ws") + "://" + url[http_match.end() :]
        elif "://" not in url:
            url = "ws://" + url
    return url + sub_path if url.endswith("/") else f"{url}/{sub_path}"
