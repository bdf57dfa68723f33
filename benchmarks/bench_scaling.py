"""How the store's costs grow with its size: ingest per document, and the cost of one change
seen by an ordered ``observe()`` and by a sorted query with a ``limit``.

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--quick]``. Figures:

* ``ingest N``: ``apply_batch`` of N ``added`` messages (batches of 1,000, as the decoder
  hands them over: every document with a datetime, a short array and a subdocument), in
  microseconds per document, and its ratio to the figure at 10k (the target: at most 1.10
  at 1M). Each batch is built just before it is applied, outside the clock (as the client
  decodes a batch just before applying it); the cyclic garbage collector runs as it would
  in a user's process (enabled, default thresholds). "GC share" is the
  part of that time the collector takes (the same ingest timed with it disabled), and the
  last line how many stored documents it still has to walk.
  "baseline" is a plain dict of the messages' fields filled the same way: what the
  machine's memory costs per document at that size, whatever the store does.
* ``wire ingest N``: the client's own path for the same documents sent as DDP frames
  (every one with a ``{"$date": ...}``): ``parse_message`` with the store's
  ``adopt_fields`` (EJSON decoded in the walk that adopts the fields), then
  ``apply_adopted_batch``, in batches of 1,000, against ``json.loads`` of the same frames
  ("bare"); the ratio to the figure at the smallest size says whether it stays linear.
* ``observe ordered``: one ``changed`` that moves a document, with an ordered ``observe``
  (``added_at``/``changed_at``/``moved_to``) on a sorted query over 100k documents.
* ``sorted limit``: one ``changed`` of a window member's sort key that keeps it inside a
  ``limit=10`` window of a sorted query over 100k documents.

Every figure is the best of three runs in this process, in CPU time of this process (the
machines these run on are shared: wall time would measure the neighbours); ``--quick`` stops
at 100k.
"""

from __future__ import annotations

import datetime
import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ddp.collection import CollectionRegistry
from ddp.messages import parse_message

BATCH = 1000
REPEAT = 3
_T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def message(i: int, n: int) -> dict[str, Any]:
    """One decoded ``added`` message, built fresh (the store adopts its ``fields``)."""
    return {
        "msg": "added",
        "collection": "items",
        "id": f"item{i:07d}",
        "fields": {
            "name": f"name {i * 7919 % n:07d}",
            "qty": i % 100,
            "done": i % 3 == 0,
            "at": _T0 + datetime.timedelta(seconds=i),
            "tags": ["a", "b"] if i % 2 else ["c"],
            "owner": {"id": f"u{i % 50}", "role": "member"},
        },
    }


def messages(n: int) -> list[dict[str, Any]]:
    return [message(i, n) for i in range(n)]


def ingest(msgs: list[dict[str, Any]]) -> CollectionRegistry:
    registry = CollectionRegistry()
    for i in range(0, len(msgs), BATCH):
        registry.apply_batch(msgs[i : i + BATCH], reset=False)
    return registry


def _store(registry: CollectionRegistry, batch: list[dict[str, Any]]) -> None:
    registry.apply_batch(batch, reset=False)


def _plain(docs: dict[str, Any], batch: list[dict[str, Any]]) -> None:
    # The least a store can do: keep each message's fields by id (the baseline).
    for m in batch:
        docs[m["id"]] = m["fields"]


def timed_ingest(n: int, apply: Callable[[Any, list[dict[str, Any]]], None], target: Any) -> float:
    """CPU time of applying n messages in batches, each batch decoded just before (untimed).

    That is how the client feeds the store: a batch is fresh in the caches when it is applied,
    so the figure is the store's own, not the cost of walking a gigabyte of prepared messages.
    """
    total = 0.0
    clock = time.process_time
    for first in range(0, n, BATCH):
        batch = [message(i, n) for i in range(first, min(first + BATCH, n))]
        start = clock()
        apply(target, batch)
        total += clock() - start
    return total


def best_ingest(n: int, plain: bool = False, collector: bool = True) -> float:
    times = []
    for _ in range(REPEAT):
        gc.collect()
        if not collector:
            gc.disable()
        try:
            if plain:
                times.append(timed_ingest(n, _plain, {}))
            else:
                times.append(timed_ingest(n, _store, CollectionRegistry()))
        finally:
            gc.enable()
    return min(times) / n


def tracked_share(registry: CollectionRegistry) -> float:
    """The share of stored documents the cyclic GC still tracks after a full collection."""
    gc.collect()
    docs = list(registry.get("items")._docs.values())
    return sum(gc.is_tracked(d) for d in docs) / len(docs)


def bench_ingest(sizes: list[int]) -> None:
    per_doc: dict[int, float] = {}
    for n in sizes:
        per_doc[n] = best_ingest(n)
        without = best_ingest(n, collector=False)
        base = best_ingest(n, plain=True)
        gc.collect()
        print(
            f"ingest {n:>9,}: {per_doc[n] * 1e6:5.2f} us/doc "
            f"= {per_doc[n] / per_doc[sizes[0]]:4.2f} x the figure at {sizes[0]:,}; "
            f"GC share {1 - without / per_doc[n]:+6.1%}; "
            f"baseline {base * 1e6:4.2f} us/doc; over it {(per_doc[n] - base) * 1e6:4.2f}"
        )
    registry = ingest(messages(sizes[0]))
    print(f"documents still tracked by the GC after a collection: {tracked_share(registry):.0%}")


def frame(i: int, n: int) -> str:
    """``message(i, n)`` as the server writes it: one ``added`` frame, its date a ``$date``."""
    done = "true" if i % 3 == 0 else "false"
    tags = '["a","b"]' if i % 2 else '["c"]'
    return (
        f'{{"msg":"added","collection":"items","id":"item{i:07d}","fields":{{'
        f'"name":"name {i * 7919 % n:07d}","qty":{i % 100},"done":{done},'
        f'"at":{{"$date":{1_704_067_200_000 + i * 1000}}},"tags":{tags},'
        f'"owner":{{"id":"u{i % 50}","role":"member"}}}}}}'
    )


def timed_wire_ingest(n: int, mode: str) -> float:
    """CPU time of parsing and storing n frames, each batch of frames built just before.

    ``mode``: ``"bare"`` (``json.loads`` only), ``"two walks"`` (``parse_message`` decodes,
    then ``apply_batch`` freezes) or ``"adopted"`` (the client's path: one walk).
    """
    registry = CollectionRegistry()
    adopt = registry.adopt_fields
    total = 0.0
    clock = time.process_time
    loads = json.loads
    for first in range(0, n, BATCH):
        texts = [frame(i, n) for i in range(first, min(first + BATCH, n))]
        start = clock()
        if mode == "bare":
            for text in texts:
                loads(text)
        elif mode == "two walks":
            registry.apply_batch([parse_message(text) for text in texts], False)
        else:
            registry.apply_adopted_batch([parse_message(text, adopt) for text in texts], False)
        total += clock() - start
    return total


def best_wire_ingest(n: int, mode: str) -> float:
    times = []
    for _ in range(REPEAT):
        gc.collect()
        times.append(timed_wire_ingest(n, mode))
    return min(times) / n


def bench_wire_ingest(sizes: list[int]) -> None:
    first = 0.0
    for n in sizes:
        ours = best_wire_ingest(n, "adopted")
        two = best_wire_ingest(n, "two walks")
        bare = best_wire_ingest(n, "bare")
        first = first or ours
        print(
            f"wire ingest {n:>9,}: {ours * 1e6:5.2f} us/doc = {ours / first:4.2f} x the figure at "
            f"{sizes[0]:,}; ratio to json.loads {bare / ours:4.2f} "
            f"(decoding and adopting in two walks: {bare / two:4.2f})"
        )


def _change_cost(registry: CollectionRegistry, make: Callable[[int], dict[str, Any]]) -> float:
    """Best per-change time of 200 single-message batches."""
    rounds = []
    for r in range(REPEAT):
        start = time.process_time()
        for k in range(200 * r, 200 * r + 200):  # every round makes changes of its own
            registry.apply_batch([make(k)], reset=False)
        rounds.append((time.process_time() - start) / 200)
    return min(rounds)


def bench_observers(n: int) -> None:
    registry = ingest(messages(n))
    items = registry.get("items")
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    with items.find({}, sort=[("qty", 1), ("name", 1)]).observe(
        added_at=count, changed_at=count, removed_at=count, moved_to=count
    ):
        cost = _change_cost(
            registry,
            lambda k: {
                "msg": "changed",
                "collection": "items",
                "id": f"item{(k * 7919) % n:07d}",
                "fields": {"qty": (k * 31 + k // 100) % 100},
            },
        )
    print(f"observe ordered, {n:,} docs: {cost * 1e6:8.1f} us per change")

    with items.find({}, sort=[("name", 1)], limit=10).observe_changes(
        added=count, changed=count, removed=count
    ):
        first = items.find({}, sort=[("name", 1)], limit=1).fetch()[0]["_id"]
        cost = _change_cost(
            registry,
            lambda k: {
                "msg": "changed",
                "collection": "items",
                "id": first,
                # stays the first of the window, but its sort key changes every time
                "fields": {"name": "name" + " " * (k % 3 + 2)},
            },
        )
    print(f"sorted limit=10, {n:,} docs: {cost * 1e6:8.1f} us per change")


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    bench_ingest(sizes)
    bench_wire_ingest(sizes)
    bench_observers(100_000)


if __name__ == "__main__":
    main()
