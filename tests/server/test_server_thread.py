"""The server in a background thread, driven from blocking code."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

import ddp
from ddp.server import Server, ServerThread, server_in_thread


def test_blocking_use():
    with server_in_thread(heartbeat_interval=0) as st:
        st.call(st.server.add_method, "add", lambda ctx, a, b: a + b)
        with connect(st.url, open_timeout=2) as ws:
            ws.send('{"msg":"connect","version":"1","support":["1"]}')
            session = json.loads(ws.recv(2))["session"]
            ws.send('{"msg":"method","id":"1","method":"add","params":[1,2]}')
            assert json.loads(ws.recv(2)) == {"msg": "result", "id": "1", "result": 3}
            record = st.run(st.server.wait_for_connections(1))
            assert record.session_id == session
            assert st.call(st.server.faults.drop_all) == 1
    with pytest.raises(ddp.InvalidStateError):
        st.call(print)


def test_start_errors_surface():
    with server_in_thread(heartbeat_interval=0) as first:
        taken = ServerThread(Server(port=first.port))
        with pytest.raises(OSError):
            taken.start()
    taken.stop()  # never started: a no-op


def test_timeouts_and_misuse():
    with server_in_thread(heartbeat_interval=0) as st:
        with pytest.raises(ddp.DDPTimeoutError):
            st.run(st.server.wait_for_connections(1, timeout=5), timeout=0.01)
        with pytest.raises(ddp.DDPTimeoutError):
            st.run(st.server.wait_for_connections(1, timeout=0.01))
        with pytest.raises(ddp.InvalidStateError):
            st.start()
    with pytest.raises(TypeError):
        server_in_thread(Server(), port=1)
