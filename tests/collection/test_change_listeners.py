"""CollectionRegistry.add_listener: the net changes of each applied batch, store-wide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ddp.collection import MISSING, CollectionChange, CollectionRegistry


def added(coll: str, doc_id: str, **fields: Any) -> dict[str, Any]:
    return {"msg": "added", "collection": coll, "id": doc_id, "fields": fields}


def changed(
    coll: str, doc_id: str, cleared: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    msg: dict[str, Any] = {"msg": "changed", "collection": coll, "id": doc_id, "fields": fields}
    if cleared:
        msg["cleared"] = cleared
    return msg


def removed(coll: str, doc_id: str) -> dict[str, Any]:
    return {"msg": "removed", "collection": coll, "id": doc_id}


def recorder(
    registry: CollectionRegistry,
) -> tuple[list[tuple[CollectionChange, ...]], Callable[[], None]]:
    batches: list[tuple[CollectionChange, ...]] = []

    def listener(changes: Sequence[CollectionChange]) -> None:
        assert isinstance(changes, tuple)
        batches.append(changes)

    return batches, registry.add_listener(listener)


def test_one_call_per_batch_with_every_kind_of_change() -> None:
    registry = CollectionRegistry()
    registry.apply_batch([added("a", "x", n=1, tag="t"), added("a", "y", n=2)], reset=False)
    batches, _ = recorder(registry)
    registry.apply_batch(
        [
            changed("a", "x", cleared=["tag"], n=5),
            removed("a", "y"),
            added("b", "z", k=[1, 2]),
            changed("a", "x", n=6),  # merged into the first change of x
        ],
        reset=False,
    )
    assert batches == [
        (
            CollectionChange("a", "changed", "x", {"n": 6, "tag": MISSING}),
            CollectionChange("a", "removed", "y", None),
            CollectionChange("b", "added", "z", {"k": [1, 2]}),
        )
    ]


def test_net_effect_hides_what_cancels_out() -> None:
    registry = CollectionRegistry()
    registry.apply_batch([added("a", "x", n=1)], reset=False)
    batches, _ = recorder(registry)
    registry.apply_batch(
        [
            added("a", "tmp", n=0),
            removed("a", "tmp"),
            changed("a", "x", n=2),
            changed("a", "x", n=1),
        ],
        reset=False,
    )
    registry.apply_batch([changed("a", "x", n=1)], reset=False)  # same value: no change
    assert batches == []


def test_a_reset_reports_only_the_difference() -> None:
    """The cache swap after a reconnect onto a new session: no removed+added pairs."""
    registry = CollectionRegistry()
    registry.apply_batch(
        [added("a", "same", n=1), added("a", "edited", n=1), added("a", "gone", n=1)],
        reset=False,
    )
    batches, _ = recorder(registry)
    registry.apply_batch(
        [added("a", "same", n=1), added("a", "edited", n=2), added("a", "new", n=3)],
        reset=True,
    )
    assert sorted(batches[0], key=lambda c: c.id) == [
        CollectionChange("a", "changed", "edited", {"n": 2}),
        CollectionChange("a", "removed", "gone", None),
        CollectionChange("a", "added", "new", {"n": 3}),
    ]
    registry.clear()
    assert sorted(c.op + ":" + c.id for c in batches[1]) == [
        "removed:edited",
        "removed:new",
        "removed:same",
    ]


def test_fields_are_copies_and_ids_are_parsed() -> None:
    registry = CollectionRegistry()
    batches, _ = recorder(registry)
    oid = "0123456789abcdef01234567"
    registry.apply_batch([added("a", "-" + oid, nested={"k": 1})], reset=False)
    (change,) = batches[0]
    assert change.id != "-" + oid and registry.get("a").find_one(change.id) is not None
    assert change.fields is not None
    change.fields["nested"]["k"] = 99
    assert registry.get("a").find_one(change.id)["nested"] == {"k": 1}  # type: ignore[index]


def test_removing_the_listener_makes_the_store_pay_nothing() -> None:
    registry = CollectionRegistry()
    items = registry.get("a")
    assert items._before is None and items._observers == []
    batches, remove = recorder(registry)
    assert items._before == {} and len(items._observers) == 1
    registry.apply_batch([added("new", "x")], reset=False)  # a collection created meanwhile
    assert registry.get("new")._observers
    handle = items.find().observe_changes(added=lambda *a: None)
    remove()
    remove()  # idempotent
    assert registry.get("new")._before is None and registry.get("new")._observers == []
    assert len(items._observers) == 1 and items._before is not None  # the observer stays
    handle.stop()
    assert items._before is None
    registry.apply_batch([added("a", "y")], reset=False)
    assert batches == [(CollectionChange("new", "added", "x", {}),)]


def test_listeners_run_through_dispatch_after_observers_and_errors_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queued: list[Callable[[], None]] = []
    registry = CollectionRegistry(dispatch=queued.append)
    order: list[str] = []
    registry.get("a").find().observe_changes(added=lambda i, f: order.append(f"observer {i}"))

    def broken(changes: Sequence[CollectionChange]) -> None:
        raise RuntimeError("listener bug")

    registry.add_listener(broken)
    remove_late = registry.add_listener(lambda changes: order.append("late"))
    registry.add_listener(lambda changes: order.append(f"listener {len(changes)}"))
    registry.apply_batch([added("a", "x")], reset=False)
    assert order == []  # nothing runs until dispatch does
    remove_late()  # removed before delivery: it must not hear of the batch
    for fn in queued:
        fn()
    assert order == ["observer x", "listener 1"]
    assert "listener bug" in caplog.text


def test_a_listener_must_be_callable() -> None:
    with pytest.raises(TypeError):
        CollectionRegistry().add_listener(42)  # type: ignore[arg-type]
