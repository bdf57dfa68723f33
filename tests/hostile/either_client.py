"""One blocking face over both clients, so that every hostile case runs on each.

:class:`SyncUnderTest` wraps :class:`ddp.Client` as is; :class:`AsyncUnderTest` runs a
:class:`ddp.AsyncClient` on an event loop in a thread of its own and waits on its
coroutines from the test's thread. Every wait is bounded by :data:`raw_server.TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from raw_server import TIMEOUT, LoopThread, T

import ddp
from ddp.backoff import Backoff
from ddp.events import StatusChanged

FAST = Backoff(base=0.02, exponent=1.5, max=0.2, min_timeout=0.01, min_count=2)
"""A reconnect schedule for tests: every retry within a fifth of a second."""

DEFAULTS: dict[str, Any] = {
    "reconnect": FAST,
    "heartbeat_interval": 0,
    "connect_timeout": 2.0,
    "proxy": None,
}


class StatusLog:
    """Status changes seen by a client, with bounded waiting."""

    def __init__(self) -> None:
        self.changes: list[StatusChanged] = []
        self._cond = threading.Condition()

    def add(self, change: StatusChanged) -> None:
        """Record one change (a listener)."""
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    def count(self, status: ddp.Status) -> int:
        """How many times the client entered ``status``."""
        with self._cond:
            return sum(1 for c in self.changes if c.new is status)

    def reasons(self) -> list[str]:
        """Every reason given for a change, in order."""
        with self._cond:
            return [c.reason for c in self.changes if c.reason]

    def wait_count(self, status: ddp.Status, n: int, timeout: float = TIMEOUT) -> None:
        """Wait until ``status`` was entered ``n`` times, or fail."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self.count_unlocked(status) >= n, timeout)
            seen = [(c.new.name, c.reason) for c in self.changes]
        assert ok, f"{status.name} not reached {n} time(s) within {timeout} s; saw {seen}"

    def count_unlocked(self, status: ddp.Status) -> int:
        return sum(1 for c in self.changes if c.new is status)


class SyncUnderTest:
    """The blocking :class:`ddp.Client`."""

    kind = "sync"

    def __init__(self, url: str, **options: Any) -> None:
        self.client = ddp.Client(url, **{**DEFAULTS, **options})
        self.log = StatusLog()
        self.client.on_status(self.log.add)

    def connect(self, timeout: float = TIMEOUT) -> None:
        self.client.connect(timeout=timeout)

    def call(self, method: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        return self.client.call(method, *args, timeout=timeout)

    def call_visible(self, method: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        call = self.client.go(method, *args)
        result = call.result(timeout=timeout)
        call.data_visible(timeout=timeout)
        return result

    def subscribe(self, name: str, *args: Any) -> None:
        self.client.subscribe(name, *args, timeout=TIMEOUT)

    def ids(self, collection: str) -> set[str]:
        return {d["_id"] for d in self.client.collection(collection).find({})}

    def find(self, collection: str) -> list[dict[str, Any]]:
        return list(self.client.collection(collection).find({}))

    def login(self, **kwargs: Any) -> Any:
        return self.client.login(**kwargs, timeout=TIMEOUT)

    @property
    def status(self) -> ddp.Status:
        return self.client.status

    def close(self) -> None:
        self.client.close(timeout=TIMEOUT)

    def finish(self) -> None:
        """Close (bounded) and check it returned."""
        done = threading.Event()

        def closer() -> None:
            self.close()
            done.set()

        t = threading.Thread(target=closer, daemon=True)
        t.start()
        assert done.wait(TIMEOUT + 1), "close() did not return"


class AsyncUnderTest:
    """:class:`ddp.AsyncClient` on a loop of its own, driven from the test's thread."""

    kind = "async"

    def __init__(self, url: str, **options: Any) -> None:
        self._thread = LoopThread("async-client-under-test")
        self.log = StatusLog()

        def make() -> ddp.AsyncClient:
            client = ddp.AsyncClient(url, **{**DEFAULTS, **options})
            client.on_status(self.log.add)
            return client

        self.client = self._thread.call(make)

    def _run(self, coro: Any, timeout: float = TIMEOUT + 1) -> Any:
        try:
            return self._thread.run(coro, timeout)
        except TimeoutError as exc:
            if isinstance(exc, ddp.DDPError):
                raise
            raise AssertionError("the AsyncClient did not answer in time") from exc

    def _on_loop(self, fn: Callable[[], T]) -> T:
        return self._thread.call(fn)

    def connect(self, timeout: float = TIMEOUT) -> None:
        self._run(self.client.connect(timeout=timeout))

    def call(self, method: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        return self._run(self.client.call(method, *args, timeout=timeout))

    def call_visible(self, method: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        async def go() -> Any:
            call = self.client.go(method, *args)
            result = await call.result(timeout=timeout)
            await call.data_visible(timeout=timeout)
            return result

        return self._run(go())

    def subscribe(self, name: str, *args: Any) -> None:
        self._run(self.client.subscribe(name, *args, timeout=TIMEOUT))

    def ids(self, collection: str) -> set[str]:
        return self._on_loop(lambda: {d["_id"] for d in self.client.collection(collection).find()})

    def find(self, collection: str) -> list[dict[str, Any]]:
        return self._on_loop(lambda: list(self.client.collection(collection).find()))

    def login(self, **kwargs: Any) -> Any:
        return self._run(self.client.login(**kwargs, timeout=TIMEOUT))

    @property
    def status(self) -> ddp.Status:
        return self._on_loop(lambda: self.client.status)

    def close(self) -> None:
        self._run(self.client.close(timeout=TIMEOUT))

    def finish(self) -> None:
        """Close (bounded), check it returned, and stop the loop with no task left."""
        try:
            self.close()
        finally:
            left = self._on_loop(
                lambda: [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            )
            self._thread.stop()
        assert not left, f"tasks left after close(): {left}"


UnderTest = SyncUnderTest | AsyncUnderTest
KINDS: dict[str, type[SyncUnderTest] | type[AsyncUnderTest]] = {
    "sync": SyncUnderTest,
    "async": AsyncUnderTest,
}


@pytest.fixture(params=sorted(KINDS))
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., UnderTest]]:
    """Build clients of one kind (``async`` or ``sync``: each test runs with both); every
    client made is closed as the test ends, and that ``close()`` must return."""
    made: list[UnderTest] = []

    def make(url: str, **options: Any) -> UnderTest:
        client = KINDS[request.param](url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.finish()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage as each test ends, so that a socket a test leaked warns (and fails)
    in that test, not in whichever later test the collector happens to run."""
    yield
    gc.collect()
