"""ddp: a client (asyncio and blocking) and a test server for Meteor's DDP protocol.

The drivers are imported lazily, so ``import ddp`` stays cheap and the blocking client never
pulls in asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ddp.events import Status
from ddp.exceptions import (
    ClientClosedError,
    ConnectionClosedError,
    ConnectionFailedError,
    DDPError,
    DDPTimeoutError,
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

if TYPE_CHECKING:
    from ddp.asyncio import AsyncClient
    from ddp.sync import Client

from ddp._version import __version__

__all__ = [
    "AsyncClient",
    "Client",
    "ClientClosedError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "DDPError",
    "DDPTimeoutError",
    "EJSONError",
    "InvalidSelectorError",
    "InvalidStateError",
    "InvocationFailedError",
    "LoginError",
    "MethodError",
    "ProtocolError",
    "RateLimitedError",
    "RemoteError",
    "Status",
    "SubscriptionError",
    "VersionNegotiationError",
    "__version__",
]

_LAZY = {"AsyncClient": "ddp.asyncio", "Client": "ddp.sync"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddp' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
