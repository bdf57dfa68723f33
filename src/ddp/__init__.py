"""ddp: a client (asyncio and blocking) and a test server for Meteor's DDP protocol.

The drivers are imported lazily, so ``import ddp`` stays cheap and the blocking client never
pulls in asyncio. The types users annotate with are here too: :class:`ClientStats` (and its
:class:`IOStats`, :class:`LatencyStats`), :class:`LoginResult`, :class:`TokenStore` and
:class:`MemoryTokenStore`, :class:`Backoff`, :class:`StreamEvent` (what a stream yields); each
driver's handles are in its package
(``ddp.asyncio.MethodCall``, ``ddp.sync.Subscription``...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ddp.auth import LoginResult, MemoryTokenStore, TokenStore
from ddp.backoff import Backoff
from ddp.events import Status
from ddp.exceptions import (
    ClientClosedError,
    ConnectionClosedError,
    ConnectionFailedError,
    DDPError,
    DDPTimeoutError,
    DocumentDepthError,
    EJSONError,
    InvalidSelectorError,
    InvalidStateError,
    InvocationFailedError,
    LoginError,
    MethodError,
    ProtocolError,
    RateLimitedError,
    RemoteError,
    SubscriptionError,
    VersionNegotiationError,
)
from ddp.stats import ClientStats, IOStats, LatencyStats

if TYPE_CHECKING:
    from ddp._streams import StreamEvent
    from ddp.asyncio import AsyncClient
    from ddp.sync import Client

from ddp._version import __version__

__all__ = [
    "AsyncClient",
    "Backoff",
    "Client",
    "ClientClosedError",
    "ClientStats",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "DDPError",
    "DDPTimeoutError",
    "DocumentDepthError",
    "EJSONError",
    "IOStats",
    "InvalidSelectorError",
    "InvalidStateError",
    "InvocationFailedError",
    "LatencyStats",
    "LoginError",
    "LoginResult",
    "MemoryTokenStore",
    "MethodError",
    "ProtocolError",
    "RateLimitedError",
    "RemoteError",
    "Status",
    "StreamEvent",
    "SubscriptionError",
    "TokenStore",
    "VersionNegotiationError",
    "__version__",
]

_LAZY = {"AsyncClient": "ddp.asyncio", "Client": "ddp.sync", "StreamEvent": "ddp._streams"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddp' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
