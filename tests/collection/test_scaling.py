"""No O(n) per event: the structures behind ordered observers and sorted windows (issue 13).

Figures are in ``benchmarks/bench_scaling.py``; these tests check the behaviour (same results
as a plain list, no rescans of the store) without timing anything.
"""

from __future__ import annotations

import random
from typing import Any

from collection_helpers import added, changed, removed

from ddp.collection import CollectionRegistry
from ddp.collection.positions import PositionList


def test_position_list_behaves_as_a_list_across_block_splits() -> None:
    rng = random.Random(13)
    positions, model = PositionList(), []
    serial = 0
    for step in range(6000):
        roll = rng.random()
        if model and roll < 0.3:
            i = rng.randrange(len(model))
            assert positions.delete(i) == model.pop(i)
        elif model and roll < 0.4:
            item = rng.choice(model)
            assert positions.index(item) == model.index(item)
        else:
            item = f"x{serial}"
            serial += 1
            # Mostly appends (an observer's first load), then inserts anywhere.
            i = len(model) if step < 1500 else rng.randrange(len(model) + 1)
            positions.insert(i, item)
            model.insert(i, item)
        assert len(positions) == len(model)
    assert list(positions) == model
    assert [positions.index(x) for x in model] == list(range(len(model)))
    while model:  # down to empty, and usable again
        assert positions.delete(0) == model.pop(0)
    positions.insert(0, "again")
    assert list(positions) == ["again"] and positions.index("again") == 0


def test_an_ordered_observer_of_thousands_keeps_every_index_right() -> None:
    registry = CollectionRegistry()
    rng = random.Random(7)
    registry.apply_batch([added("c", f"d{i:05d}", n=rng.randrange(50)) for i in range(3000)], False)
    cursor = registry.get("c").find({}, sort=[("n", 1)])
    order: list[Any] = []

    def added_at(doc: dict[str, Any], index: int, before: Any) -> None:
        order.insert(index, doc["_id"])

    def changed_at(new: dict[str, Any], old: dict[str, Any], index: int) -> None:
        assert order[index] == new["_id"]

    def removed_at(old: dict[str, Any], index: int) -> None:
        assert order.pop(index) == old["_id"]

    def moved_to(doc: dict[str, Any], source: int, target: int, before: Any) -> None:
        assert order.pop(source) == doc["_id"]
        order.insert(target, doc["_id"])

    with cursor.observe(
        added_at=added_at, changed_at=changed_at, removed_at=removed_at, moved_to=moved_to
    ):
        for _ in range(100):
            batch: list[dict[str, Any]] = []
            for _ in range(20):
                wire_id = f"d{rng.randrange(3500):05d}"
                roll = rng.random()
                if roll < 0.6:
                    batch.append(changed("c", wire_id, n=rng.randrange(50)))
                elif roll < 0.8:
                    batch.append(removed("c", wire_id))
                else:
                    batch.append(added("c", wire_id, n=rng.randrange(50)))
            registry.apply_batch(batch, reset=False)
            assert order == [d["_id"] for d in cursor.fetch()]


def test_a_sorted_window_asks_the_store_only_when_a_member_leaves() -> None:
    registry = CollectionRegistry()
    registry.apply_batch([added("c", f"d{i:03d}", n=i) for i in range(200)], reset=False)
    collection = registry.get("c")
    scans = [0]
    query_items = collection._query_items

    def counting(cursor: Any) -> Any:
        scans[0] += 1
        return query_items(cursor)

    collection._query_items = counting  # type: ignore[method-assign]
    cursor = collection.find({}, sort=[("n", 1)], limit=5)
    window: list[Any] = []
    with cursor.observe(
        added_at=lambda d, i, b: window.insert(i, d["_id"]),
        removed_at=lambda d, i: window.pop(i),
        moved_to=lambda d, s, t, b: window.insert(t, window.pop(s)),
    ):
        scans[0] = 0
        # Members whose sort keys change but stay inside the window: no scan.
        registry.apply_batch([changed("c", "d003", n=-1)], reset=False)
        registry.apply_batch([changed("c", "d000", n=2.5)], reset=False)
        # A document that enters (and pushes the last member out): no scan either.
        registry.apply_batch([changed("c", "d150", n=-2)], reset=False)
        # Outside documents changing outside the window: nothing to do.
        registry.apply_batch([changed("c", "d100", n=500)], reset=False)
        assert scans[0] == 0
        assert window == [d["_id"] for d in cursor.fetch()]
        scans[0] = 0  # (that fetch was a scan of its own)
        # A member moving past documents the window never held must ask the store.
        registry.apply_batch([changed("c", "d001", n=1000)], reset=False)
        assert scans[0] == 1
        registry.apply_batch([removed("c", "d150")], reset=False)
        assert scans[0] == 2
        assert window == [d["_id"] for d in cursor.fetch()]
