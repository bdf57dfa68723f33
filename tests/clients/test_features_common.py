"""The shared helpers behind the features both clients gained: custom login params and the
error a client ends with."""

from __future__ import annotations

import pytest

import ddp
from ddp._login import login_params, permanent_failure


def test_login_params_are_sent_as_given_and_exclusive() -> None:
    params = {"apiKey": "k", "nested": {"a": 1}}
    sent = login_params(params=params)
    assert sent == params and sent is not params  # a copy: later edits do not leak in
    for other in ({"user": "u"}, {"token": "t"}, {"password": "p"}, {"code": "1"}):
        with pytest.raises(TypeError):
            login_params(params=params, **other)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        login_params(params="apiKey=k")  # type: ignore[arg-type]


def test_permanent_failure_keeps_the_type_and_names_the_server() -> None:
    cause = ddp.VersionNegotiationError("server requested version 9")
    error = permanent_failure(cause, "ws://h/websocket")
    assert type(error) is ddp.VersionNegotiationError and error.__cause__ is cause
    assert str(error) == "cannot connect to ws://h/websocket: server requested version 9"
    fallback = permanent_failure(None, "ws://h/websocket")
    assert type(fallback) is ddp.ConnectionFailedError


def test_both_clients_report_the_resolved_url() -> None:
    """The twin clients share one implementation of their non-I/O state (ddp._session)."""
    for client_type in (ddp.Client, ddp.AsyncClient):
        client = client_type("http://localhost:3000")
        assert client.url == "ws://localhost:3000/websocket"
        assert client.status is ddp.Status.DISCONNECTED
        assert client.session is None and client.user_id is None
        assert client.collection_stats() == []
