"""The soak: clients of both kinds against ``ddp.server`` under random faults.

Six clients (three blocking, three asyncio) call an idempotent method in a loop, each call
with its own key, and watch a publication that the calls write to, while a fault thread
injects a random fault every fraction of a second: dropped connections (session kept or
lost), server restarts, refused handshakes, delayed results, ``updated`` before ``result``,
stalled heartbeats, malformed and unknown frames. Then the faults stop and everything must
add up:

* every call returned its own result exactly once, within its bound (nothing lost, hung,
  swapped or duplicated);
* the server applied each call's effect exactly once (its idempotency ledger holds every
  key the clients completed, and no other);
* each client's cache equals the server's documents once quiet (nothing stale or missing);
* closing leaves no thread and no task behind.

``DDP_SOAK_SECONDS`` sets the length (default 60). The figures are printed (``-s`` shows
them; CI logs them).
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from typing import Any

import pytest
from either_client import AsyncUnderTest, SyncUnderTest

import ddp
from ddp.backoff import Backoff
from ddp.server import MethodContext, Server, ServerThread, server_in_thread

SECONDS = float(os.environ.get("DDP_SOAK_SECONDS", "60"))
CLIENTS = 6
WINDOW = 12
"""Each client writes to this many rolling documents (so the data set stays small and every
document is rewritten and removed many times)."""
CALL_TIMEOUT = 30.0
"""The bound on each call: far beyond any fault's cost, so reaching it means a hang."""

SOAK_BACKOFF = Backoff(base=0.05, exponent=1.5, max=0.5, min_timeout=0.01, min_count=2)

pytestmark = [pytest.mark.soak, pytest.mark.timeout(SECONDS + 180)]


class Ledger:
    """The server side's record: how often each key ran, and its effect (applied once)."""

    def __init__(self) -> None:
        self.runs: collections.Counter[str] = collections.Counter()
        self.effects: dict[str, int] = {}


def install(server: Server, ledger: Ledger) -> None:
    docs = server.collection("docs")

    @server.method("bump")
    def bump(ctx: MethodContext, cid: str, seq: int) -> int:
        key = f"{cid}:{seq}"
        ledger.runs[key] += 1
        if key in ledger.effects:
            return seq  # idempotent: a re-sent call after a new session changes nothing
        ledger.effects[key] = seq
        slot = f"{cid}:{seq % WINDOW}"
        if docs.find_one({"_id": slot}) is None:
            docs.insert({"_id": slot, "cid": cid, "seq": seq})
        else:
            docs.update({"_id": slot}, {"$set": {"seq": seq}, "$inc": {"writes": 1}})
        if seq % 5 == 0:  # exercise `removed` too
            docs.remove({"_id": f"{cid}:{(seq + WINDOW // 2) % WINDOW}"})
        return seq

    @server.method("echo")
    def echo(ctx: MethodContext, value: Any) -> Any:
        return value

    @server.publish("docs")
    def publish_docs(sub: Any) -> Any:
        return docs.find()


FAULTS = [
    "drop",
    "drop-new-session",
    "restart",
    "refuse",
    "delay-results",
    "updated-first",
    "stall-heartbeats",
    "malformed",
    "unknown",
]


def inject(st: ServerThread, rng: random.Random, kind: str) -> None:
    """Start one fault (the long-lived ones are turned off by the next round)."""
    faults = st.server.faults

    def apply() -> None:
        faults.reset()
        if kind == "drop":
            faults.drop_all(keep_session=True)
        elif kind == "drop-new-session":
            faults.drop_all(keep_session=False)
        elif kind == "restart":
            faults.restart()
        elif kind == "refuse":
            faults.refuse_connections(rng.uniform(0.1, 0.6))
            faults.drop_all(keep_session=True)
        elif kind == "delay-results":
            faults.result_delay = rng.uniform(0.01, 0.2)
        elif kind == "updated-first":
            faults.results_after_updated = True
        elif kind == "stall-heartbeats":
            faults.stall_heartbeats = True
        elif kind == "malformed":
            faults.send_raw(None, rng.choice(["{nope", "[]", '{"msg": 3}', '"x"', ""]))
        elif kind == "unknown":
            faults.send_raw(None, '{"msg": "surprise", "id": "x"}')

    st.call(apply)


class Worker:
    """One client calling ``bump`` with its own increasing keys until told to stop."""

    def __init__(self, n: int, client: SyncUnderTest | AsyncUnderTest) -> None:
        self.cid = f"{client.kind}{n}"
        self.client = client
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.completed: list[int] = []
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"soak-{self.cid}", daemon=True)

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            try:
                result = self.client.call("bump", self.cid, seq, timeout=CALL_TIMEOUT)
            except ddp.DDPError as exc:
                self.outcomes[type(exc).__name__] += 1
                self.problems.append(f"{self.cid} call {seq}: {type(exc).__name__}: {exc}")
                continue
            except BaseException as exc:  # a hang shows as the face's AssertionError
                self.outcomes["crash"] += 1
                self.problems.append(f"{self.cid} call {seq}: {exc!r}")
                return
            if result != seq:
                self.outcomes["wrong result"] += 1
                self.problems.append(f"{self.cid} call {seq} returned {result!r}")
            else:
                self.outcomes["ok"] += 1
                self.completed.append(seq)


def test_soak_under_random_faults() -> None:
    rng = random.Random(os.environ.get("DDP_SOAK_SEED", str(time.time_ns())))
    ledger = Ledger()
    threads_before = set(threading.enumerate())
    server = Server(port=0, heartbeat_interval=0.5, heartbeat_timeout=0.5)
    install(server, ledger)
    injected: collections.Counter[str] = collections.Counter()
    reconnects: collections.Counter[str] = collections.Counter()
    with server_in_thread(server) as st:
        options: dict[str, Any] = {
            "reconnect": SOAK_BACKOFF,
            "heartbeat_interval": 0.3,
            "heartbeat_timeout": 0.5,
            "connect_timeout": 2.0,
        }
        clients: list[SyncUnderTest | AsyncUnderTest] = []
        for n in range(CLIENTS):
            face = (SyncUnderTest if n % 2 == 0 else AsyncUnderTest)(server.url, **options)
            clients.append(face)
        workers = [Worker(n, c) for n, c in enumerate(clients)]
        try:
            for c in clients:
                c.connect()
                c.subscribe("docs")
            for w in workers:
                w.thread.start()
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline:
                kind = rng.choice(FAULTS)
                inject(st, rng, kind)
                injected[kind] += 1
                # Pacing the faults, not synchronising anything: any interval is correct.
                time.sleep(rng.uniform(0.2, 0.8))
            st.call(st.server.faults.reset)
            for w in workers:
                w.stop.set()
            for w in workers:
                w.thread.join(CALL_TIMEOUT + 5)
            hung = [w.cid for w in workers if w.thread.is_alive()]
            assert not hung, f"workers still in a call: {hung}"

            # Quiet now: every client settles (its own `updated` comes after everything
            # the server sent it before), then caches must equal the server's data.
            for c in clients:
                c.connect(timeout=CALL_TIMEOUT)
                c.call_visible("echo", "settle", timeout=CALL_TIMEOUT)
            server_docs = st.call(
                lambda: {d["_id"]: d for d in st.server.collection("docs").find().fetch()}
            )
            stale = {}
            for c in clients:
                cached = {d["_id"]: d for d in c.find("docs")}
                wrong = sorted(
                    k for k in set(cached) | set(server_docs) if cached.get(k) != server_docs.get(k)
                )
                if wrong:
                    stale[f"{c.kind} client {clients.index(c)}"] = wrong[:10]
                reconnects[c.kind] += c.log.count(ddp.Status.CONNECTED) - 1
        finally:
            for w in workers:
                w.stop.set()
            for c in clients:
                c.finish()
    leaked = [t for t in set(threading.enumerate()) - threads_before if t.is_alive()]

    outcomes: collections.Counter[str] = collections.Counter()
    for w in workers:
        outcomes.update(w.outcomes)
    completed = {f"{w.cid}:{seq}" for w in workers for seq in w.completed}
    reruns = sum(1 for n in ledger.runs.values() if n > 1)
    print(
        f"\nsoak: {SECONDS:g} s, {CLIENTS} clients ({CLIENTS // 2} blocking, {CLIENTS // 2}"
        f" asyncio)\n  faults injected: {dict(sorted(injected.items()))}"
        f"\n  reconnects seen by clients: {dict(reconnects)}"
        f"\n  calls: {sum(outcomes.values())}, outcomes: {dict(outcomes)}"
        f"\n  server executions re-run after a new session (effect applied once): {reruns}"
        f"\n  documents checked: {len(server_docs)} x {len(clients)} caches"
    )
    problems = [p for w in workers for p in w.problems]
    assert not problems, problems[:10]
    assert set(ledger.effects) == completed, "effects differ from the calls that completed"
    assert not stale, f"caches differ from the server: {stale}"
    assert not leaked, f"threads left behind: {leaked}"
    assert sum(injected.values()) > 0 and outcomes["ok"] > 0
