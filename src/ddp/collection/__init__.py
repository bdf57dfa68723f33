"""``ddp.collection``: the local document store, minimongo queries and live queries.

The protocol core feeds a :class:`CollectionRegistry` through ``apply_batch``; users read a
:class:`Collection` (``client.collection(name)``) with ``find``/``find_one`` and watch queries
with ``Cursor.observe``/``Cursor.observe_changes``::

    registry = CollectionRegistry()
    registry.apply_batch([{"msg": "added", "collection": "items", "id": "a",
                           "fields": {"n": 1}}], reset=False)
    items = registry.get("items")
    items.find({"n": {"$gte": 1}}, sort=[("n", -1)]).fetch()   # [{"n": 1, "_id": "a"}]

Queries follow Meteor's minimongo semantics; see :mod:`ddp.collection.matcher`. Documents
nest at most :data:`MAX_DEPTH` levels (a deeper one is refused, alone, as a bad message).
Besides the net changes that observers and change listeners hear, the registry hands every
message to update listeners and turns a Meteor stream's messages into events (see
:mod:`ddp.collection.updates`).
"""

from __future__ import annotations

from ddp.collection.changes import ChangeOp, CollectionChange
from ddp.collection.collection import Collection
from ddp.collection.cursor import Cursor
from ddp.collection.matcher import compile_selector
from ddp.collection.observe import ObserveHandle
from ddp.collection.projection import compile_projection
from ddp.collection.registry import (
    ChangeListener,
    CollectionRegistry,
    CollectionStats,
    Dispatch,
    ErrorListener,
)
from ddp.collection.sorter import compile_sort
from ddp.collection.updates import DataUpdate, StreamCallback, UpdateKind, UpdateListener
from ddp.collection.values import MAX_DEPTH, MISSING, DocumentDepthError

__all__ = [
    "MAX_DEPTH",
    "MISSING",
    "ChangeListener",
    "ChangeOp",
    "Collection",
    "CollectionChange",
    "CollectionRegistry",
    "CollectionStats",
    "Cursor",
    "DataUpdate",
    "Dispatch",
    "DocumentDepthError",
    "ErrorListener",
    "ObserveHandle",
    "StreamCallback",
    "UpdateKind",
    "UpdateListener",
    "compile_projection",
    "compile_selector",
    "compile_sort",
]
