"""Helpers for the AsyncClient tests: waiting on events (never sleeping) and comparing caches."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from ddp import AsyncClient
from ddp.asyncio import EventStream
from ddp.server import Server

E = TypeVar("E")

TIMEOUT = 5.0
"""Upper bound of every wait in the tests: reached only when a test fails."""


async def next_event(stream: EventStream, kind: type[E], **attrs: Any) -> E:
    """Return the next event of ``kind`` (with the given attribute values) from ``stream``."""
    async with asyncio.timeout(TIMEOUT):
        async for event in stream:
            if isinstance(event, kind) and all(getattr(event, k) == v for k, v in attrs.items()):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


def client_docs(client: AsyncClient, name: str) -> dict[str, dict[str, Any]]:
    """The client's cache of collection ``name``, by id."""
    return {doc["_id"]: doc for doc in client.collection(name).find()}


def server_docs(server: Server, name: str) -> dict[str, dict[str, Any]]:
    """The server's documents of collection ``name``, by id."""
    return {doc["_id"]: doc for doc in server.collection(name).find().fetch()}


async def synced(client: AsyncClient) -> None:
    """Return once every message the server sent before now has been applied.

    A method's ``updated`` comes after everything the server sent before it, and the core
    holds it back until quiescence: when it is visible, the cache is settled.
    """
    await client.go("echo", "sync").data_visible(timeout=TIMEOUT)
