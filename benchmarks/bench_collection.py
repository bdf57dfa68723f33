"""Benchmark of ddp.collection against plain-dict baselines measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_collection.py``. Every figure is a ratio to a baseline
doing the least work possible with plain dicts (so > 1 means slower than the baseline), plus
the memory of 100,000 stored documents against a dict of dicts from ``json.loads``.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson

from ddp.collection import CollectionRegistry

N = 100_000
BATCH = 1000  # the protocol core's default max_batch
REPEAT = 3


def frames() -> list[str]:
    return [
        json.dumps(
            {
                "msg": "added",
                "collection": "items",
                "id": f"item{i:06d}",
                "fields": {
                    "name": f"name {i * 7919 % N:06d}",
                    "qty": i % 100,
                    "done": i % 3 == 0,
                    "tags": ["a", "b"] if i % 2 else ["c"],
                    "owner": {"id": f"u{i % 50}", "role": "member"},
                },
            }
        )
        for i in range(N)
    ]


def changes() -> list[dict[str, Any]]:
    return [
        {
            "msg": "changed",
            "collection": "items",
            "id": f"item{i:06d}",
            "fields": {"qty": i % 7, "seen": True},
        }
        for i in range(N)
    ]


def best(fn: Callable[..., Any], setup: Callable[[], Any]) -> float:
    """The best of REPEAT timings of ``fn(setup())`` (or ``fn()`` when setup gives None)."""
    times = []
    for _ in range(REPEAT):
        arg = setup()
        gc.collect()
        start = time.perf_counter()
        fn(arg) if arg is not None else fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    texts = frames()

    def decoded() -> list[dict[str, Any]]:
        return [orjson.loads(t) for t in texts]

    # -- 100k added -----------------------------------------------------------------------------
    def base_added(msgs: list[dict[str, Any]]) -> dict[str, Any]:
        docs: dict[str, Any] = {}
        for m in msgs:
            docs[m["id"]] = m["fields"]
        return docs

    def ours_added(msgs: list[dict[str, Any]]) -> CollectionRegistry:
        registry = CollectionRegistry()
        for i in range(0, len(msgs), BATCH):
            registry.apply_batch(msgs[i : i + BATCH], reset=False)
        return registry

    t_base = best(base_added, decoded)
    t_ours = best(ours_added, decoded)
    print(
        f"apply 100k added:    {t_ours * 1e3:8.1f} ms  = {t_ours / t_base:5.2f} x  "
        "docs[id] = fields"
    )

    # -- 100k changed --------------------------------------------------------------------------
    def base_state() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return base_added(decoded()), changes()

    def base_changed(state: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        docs, msgs = state
        for m in msgs:
            docs[m["id"]].update(m["fields"])

    def ours_state() -> tuple[CollectionRegistry, list[dict[str, Any]]]:
        return ours_added(decoded()), changes()

    def ours_changed(state: tuple[CollectionRegistry, list[dict[str, Any]]]) -> None:
        registry, msgs = state
        for i in range(0, len(msgs), BATCH):
            registry.apply_batch(msgs[i : i + BATCH], reset=False)

    t_base = best(base_changed, base_state)
    t_ours = best(ours_changed, ours_state)
    print(
        f"apply 100k changed:  {t_ours * 1e3:8.1f} ms  = {t_ours / t_base:5.2f} x  "
        "docs[id].update(fields)"
    )

    bench_find(base_added(decoded()), ours_added(decoded()))
    gc.collect()
    bench_memory(texts)


def bench_find(docs: dict[str, Any], registry: CollectionRegistry) -> None:
    """A selector and a sort over 100k documents, and the cost of copy-on-read."""
    items = registry.get("items")

    def base_find() -> list[dict[str, Any]]:
        hits = [
            d
            for d in docs.values()
            if type(d.get("qty")) is int and d["qty"] >= 50 and d.get("done") is False
        ]
        return sorted(hits, key=lambda d: d["name"])

    cursor = items.find({"qty": {"$gte": 50}, "done": False}, sort=[("name", 1)])
    t_base = best(base_find, lambda: None)
    t_fetch = best(cursor.fetch, lambda: None)
    t_count = best(cursor.count, lambda: None)
    assert [d["name"] for d in cursor.fetch()] == [d["name"] for d in base_find()]
    hits = len(base_find())
    print(
        f"find+sort ({hits} of 100k): fetch {t_fetch * 1e3:6.1f} ms = {t_fetch / t_base:5.2f} x, "
        f"count {t_count * 1e3:6.1f} ms = {t_count / t_base:5.2f} x  list comprehension + sorted"
    )
    everything = items.find()
    t_refs = best(lambda: items._query(everything), lambda: None)
    t_copies = best(everything.fetch, lambda: None)
    print(f"copy-on-read: fetch() of 100k docs = {t_copies / t_refs:5.2f} x  the stored references")


def bench_memory(texts: list[str]) -> None:
    """tracemalloc of 100k stored documents against a dict of dicts from json.loads."""

    def measure(build: Callable[[], Any]) -> int:
        gc.collect()
        tracemalloc.start()
        kept = build()
        gc.collect()
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del kept
        return size

    def build_base() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t in texts:
            m = json.loads(t)
            out[m["id"]] = m["fields"]
        return out

    def build_ours() -> CollectionRegistry:
        registry = CollectionRegistry()
        batch: list[dict[str, Any]] = []
        for t in texts:
            batch.append(orjson.loads(t))
            if len(batch) == BATCH:
                registry.apply_batch(batch, reset=False)
                batch = []
        return registry

    m_base = measure(build_base)
    m_ours = measure(build_ours)
    print(
        f"memory of 100k docs: {m_ours / 2**20:6.1f} MiB = {m_ours / m_base:5.2f} x  "
        f"dict of dicts from json.loads ({m_base / 2**20:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
