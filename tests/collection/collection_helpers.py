"""Helpers for the collection tests: DDP data messages in one line each."""

from __future__ import annotations

from typing import Any


def added(coll: str, wire_id: str, **fields: Any) -> dict[str, Any]:
    return {"msg": "added", "collection": coll, "id": wire_id, "fields": fields}


def changed(
    coll: str, wire_id: str, cleared: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    msg: dict[str, Any] = {"msg": "changed", "collection": coll, "id": wire_id, "fields": fields}
    if cleared is not None:
        msg["cleared"] = cleared
    return msg


def removed(coll: str, wire_id: str) -> dict[str, Any]:
    return {"msg": "removed", "collection": coll, "id": wire_id}


def added_before(coll: str, wire_id: str, before: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "msg": "addedBefore",
        "collection": coll,
        "id": wire_id,
        "fields": fields,
        "before": before,
    }


def moved_before(coll: str, wire_id: str, before: str | None) -> dict[str, Any]:
    return {"msg": "movedBefore", "collection": coll, "id": wire_id, "before": before}
