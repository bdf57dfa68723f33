"""The asyncio DDP client.

``from ddp.asyncio import AsyncClient`` (also ``ddp.AsyncClient``). The handles it gives out
are :class:`MethodCall`, :class:`Subscription` and :class:`Stream`; :meth:`AsyncClient.events`
returns an :class:`EventStream`, :meth:`AsyncClient.changes` and :meth:`AsyncClient.updates`
an :class:`AsyncFeed`.
"""

from __future__ import annotations

from ddp.asyncio._calls import MethodCall, Subscription
from ddp.asyncio._feeds import AsyncFeed
from ddp.asyncio._streams import Stream
from ddp.asyncio.client import AsyncClient, EventStream

__all__ = ["AsyncClient", "AsyncFeed", "EventStream", "MethodCall", "Stream", "Subscription"]
