"""The blocking Client's caller receiving its own result: the I/O thread's duties still hold.

A thread blocked in ``client.call()`` takes the connection's messages itself while it waits
(on the default "direct" connection), so its result reaches it without a hop through the
I/O thread. These tests check what must not change meanwhile, on both receive paths: the
heartbeat still runs, a dropped connection still reconnects and the call still ends, a
timeout still names the time given, the I/O thread receives again once the caller is done
(a ``go()`` result nobody else waits for arrives), and ``close()`` from another thread
ends the wait.
"""

from __future__ import annotations

import concurrent.futures

import pytest
from sync_support import TIMEOUT, fast_client, server_wait, status_log, wait_status

import ddp
from ddp.server import ServerThread


@pytest.mark.usefixtures("receive_path")
def test_heartbeats_run_while_a_caller_waits_for_its_result(server_thread: ServerThread) -> None:
    st = server_thread
    client = fast_client(st, heartbeat_interval=0.2, heartbeat_timeout=0.2)
    statuses = status_log(client)
    with client, concurrent.futures.ThreadPoolExecutor(1) as pool:
        parked = pool.submit(client.call, "park", "heartbeat", timeout=TIMEOUT)
        server_wait(st, lambda: st.server.app.count("heartbeat") == 1)
        st.call(setattr, st.server.faults, "stall_heartbeats", True)
        wait_status(statuses, ddp.Status.RECONNECTING)
        st.call(setattr, st.server.faults, "stall_heartbeats", False)
        wait_status(statuses, ddp.Status.CONNECTED, 2)
        st.call(st.server.app.release.set)
        assert parked.result(TIMEOUT) == "heartbeat"
        assert client.call("echo", 2) == 2


@pytest.mark.usefixtures("receive_path")
def test_a_drop_while_a_caller_waits_ends_in_its_result(server_thread: ServerThread) -> None:
    st = server_thread
    client = fast_client(st)
    statuses = status_log(client)
    with client, concurrent.futures.ThreadPoolExecutor(1) as pool:
        parked = pool.submit(client.call, "park", "drop", timeout=TIMEOUT)
        server_wait(st, lambda: st.server.app.count("drop") == 1)
        assert st.call(st.server.faults.drop_all, keep_session=True) == 1
        wait_status(statuses, ddp.Status.CONNECTED, 2)
        st.call(st.server.app.release.set)
        assert parked.result(TIMEOUT) == "drop"
        assert client.call("echo", 3) == 3


@pytest.mark.usefixtures("receive_path")
def test_after_a_call_timeout_the_io_thread_receives_again(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        with pytest.raises(ddp.DDPTimeoutError, match=r"'park' timed out after 0\.1 s"):
            client.call("park", "timeout", timeout=0.1)
        # No caller waits in call() for this one: only the I/O thread can deliver it.
        assert client.go("echo", "after").result(TIMEOUT) == "after"
        st.call(st.server.app.release.set)
        assert client.call("add", 2, 2) == 4


@pytest.mark.usefixtures("receive_path")
def test_close_from_another_thread_ends_a_waiting_call(server_thread: ServerThread) -> None:
    st = server_thread
    client = ddp.Client(st.url, heartbeat_interval=0)  # no traffic would wake the caller
    client.connect()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(client.call, "park", "closed", timeout=TIMEOUT)
        server_wait(st, lambda: st.server.app.count("closed") == 1)
        client.close()
        with pytest.raises(ddp.ClientClosedError):
            waiting.result(TIMEOUT)
    st.call(st.server.app.release.set)
