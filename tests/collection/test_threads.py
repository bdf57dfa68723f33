"""Readers on other threads never see half a batch, and observers stay consistent."""

from __future__ import annotations

import threading

from collection_helpers import changed

from ddp.collection import CollectionRegistry

DOCS = 200
BATCHES = 300


def test_reader_never_sees_half_a_batch() -> None:
    # Every batch sets the same generation number on every document, so a consistent read
    # sees one generation only.
    registry = CollectionRegistry()
    registry.apply_batch([changed("c", f"d{i}", gen=0) for i in range(DOCS)], reset=False)
    collection = registry.get("c")
    done = threading.Event()
    torn: list[set[int]] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            generations = {doc["gen"] for doc in collection.find({"gen": {"$gte": 0}})}
            if len(generations) != 1:
                torn.append(generations)
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for gen in range(1, BATCHES + 1):
            registry.apply_batch(
                [changed("c", f"d{i}", gen=gen) for i in range(DOCS)], reset=gen % 50 == 0
            )
    finally:
        done.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert torn == []
    assert reads > 0
    assert {doc["gen"] for doc in collection.find()} == {BATCHES}


def test_observer_on_dispatcher_thread_sees_every_batch_in_order() -> None:
    # The blocking client's pattern: dispatch queues callbacks to another thread.
    import queue

    jobs: queue.Queue[object] = queue.Queue()
    registry = CollectionRegistry(dispatch=jobs.put)
    seen: list[int] = []
    finished = threading.Event()

    def on_changed(doc_id: str, fields: dict[str, int]) -> None:
        seen.append(fields["gen"])
        if fields["gen"] == BATCHES:
            finished.set()

    def worker() -> None:
        while True:
            job = jobs.get(timeout=30)
            if job is None:
                return
            job()  # type: ignore[operator]

    registry.apply_batch([changed("c", "d", gen=0)], reset=False)
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        registry.get("c").find({}).observe_changes(changed=on_changed)
        for gen in range(1, BATCHES + 1):
            registry.apply_batch([changed("c", "d", gen=gen)], reset=False)
        assert finished.wait(timeout=30)
    finally:
        jobs.put(None)
        thread.join(timeout=30)
    assert seen == list(range(1, BATCHES + 1))
