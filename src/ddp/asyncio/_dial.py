"""Which websocket the asyncio driver dials: picows when it can, websockets otherwise.

``AsyncClient(transport=...)`` takes ``"auto"`` (the default), ``"picows"``, ``"websockets"``
or a dial function of one's own (:data:`ddp._transport.AsyncDial`). ``"auto"`` is picows
(:mod:`ddp.asyncio._picows`, frames parsed in C) where it is installed, and websockets
(:mod:`ddp.asyncio._transport`) where it is not (a platform without picows wheels) or when
the client asked for something only websockets does: ``compression=True`` (permessage-
deflate; see :mod:`ddp.asyncio._picows` for why picows is not given it). Proxies, TLS,
SockJS, headers, ``max_size`` and close codes behave the same on both.
"""

from __future__ import annotations

from inspect import signature

from ddp._transport import AsyncDial
from ddp.asyncio._transport import dial as websockets_dial

__all__ = ["PICOWS_AVAILABLE", "select_dial"]

_picows_dial: AsyncDial | None
try:
    from picows import ws_connect

    from ddp.asyncio._picows import dial as _picows_dial
except ImportError:  # no picows wheel for this platform or interpreter
    _picows_dial = None
    PICOWS_AVAILABLE = False
else:
    # picows < 2.3 had no proxy support, which the transport relies on.
    PICOWS_AVAILABLE = "proxy" in signature(ws_connect).parameters
"""Whether picows is importable and recent enough; the tests switch it off to run the
client on websockets (``DDP_TEST_TRANSPORT=websockets``)."""


def select_dial(transport: str | AsyncDial, compression: bool | None) -> AsyncDial:
    """Return the dial function for a client's ``transport`` and ``compression`` options
    (already validated by :func:`ddp._options.validate_options`).

    Raises:
        ValueError: ``transport="picows"`` where picows is not installed.
    """
    if callable(transport):
        return transport
    if transport == "websockets":
        return websockets_dial
    picows = _picows_dial if PICOWS_AVAILABLE else None
    if transport == "picows":
        if picows is None:
            raise ValueError("transport='picows' needs the picows package (2.3 or later)")
        return picows
    if picows is None or compression is True:
        return websockets_dial
    return picows
