"""The asyncio DDP client.

``from ddp.asyncio import AsyncClient`` (also ``ddp.AsyncClient``). The handles it gives out
are :class:`MethodCall` and :class:`Subscription`; :meth:`AsyncClient.events` returns an
:class:`EventStream`.
"""

from __future__ import annotations

from ddp.asyncio._calls import MethodCall, Subscription
from ddp.asyncio.client import AsyncClient, EventStream

__all__ = ["AsyncClient", "EventStream", "MethodCall", "Subscription"]
