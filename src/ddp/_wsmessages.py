"""Websocket data frames to text messages, for both clients' push-delivery connections.

``websockets`` reassembles messages inside ``recv``; the clients' connections
(:mod:`ddp.asyncio._connection`, :mod:`ddp.sync._connection`) take frames straight from the
protocol instead, so they do this part themselves, with ``recv``'s rules: fragments are
joined, text is decoded as UTF-8 (invalid UTF-8 raises, and the caller fails the connection
with close code 1007, as ``recv`` does), binary messages are dropped (Meteor's client
ignores them too).

It also holds :func:`assigned_in_init`, which the modules relying on websockets internals use
to check, at import, that the installed release has them, and :func:`connect_options`, the
arguments both websockets transports dial with.
"""

from __future__ import annotations

from typing import Any, Final

from websockets.frames import Frame, Opcode

from ddp._transport import DialSpec

__all__ = ["DATA_OPCODES", "TextMessages", "assigned_in_init", "connect_options"]

_TEXT: Final = Opcode.TEXT
_CONT: Final = Opcode.CONT

DATA_OPCODES: Final = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})
"""The frames :meth:`TextMessages.feed` takes; the others (control frames) are not its."""


def assigned_in_init(cls: type, name: str) -> bool:
    """Return whether an ``__init__`` of ``cls`` (or of a base class) assigns ``self.<name>``.

    Instance attributes are not on the class for ``hasattr`` to see; the names an
    ``__init__`` stores are in its code object.
    """
    for klass in cls.__mro__:
        code = getattr(vars(klass).get("__init__"), "__code__", None)
        if code is not None and name in code.co_names:
            return True
    return False


def connect_options(spec: DialSpec) -> dict[str, Any]:
    """Return the keyword arguments of websockets' ``connect`` (asyncio or sync) for ``spec``.

    TLS and the origin are left out when not set, so websockets applies its defaults (a
    verified default context for ``wss://``).
    """
    options: dict[str, Any] = {
        "additional_headers": list(spec.headers) or None,
        "compression": "deflate" if spec.compression else None,
        "proxy": spec.proxy,
        "open_timeout": spec.open_timeout,
        # DDP has its own heartbeats; websockets' pings would only double them.
        "ping_interval": None,
        "close_timeout": spec.close_timeout,
        "max_size": spec.max_size,
    }
    if spec.ssl is not None:
        options["ssl"] = spec.ssl
    if spec.origin is not None:
        options["origin"] = spec.origin
    return options


class TextMessages:
    """Turns the data frames of one connection, in order, into complete text messages."""

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        """Start with no message in progress."""
        self._partial: bytearray | None = None  # a fragmented text message, so far

    def feed(self, frame: Frame) -> str | None:
        """Take the next data frame; return the text message it completes, if any.

        Raises:
            UnicodeDecodeError: The completed text message is not valid UTF-8.
        """
        opcode = frame.opcode
        if opcode is _TEXT:
            if frame.fin:
                return str(frame.data, "utf-8")
            self._partial = bytearray(frame.data)
        elif opcode is _CONT:
            partial = self._partial
            if partial is not None:  # else the rest of a binary message
                partial += frame.data
                if frame.fin:
                    self._partial = None
                    return str(partial, "utf-8")
        return None
