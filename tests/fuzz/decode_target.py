"""The frame decoder's fuzz target, shared by the atheris harness and the replay test.

:func:`check_input` feeds one input to every entry point that reads server text: the frame
decoder (:func:`ddp.messages.parse_message`), :func:`ddp.ejson.loads`, and a connected
:class:`ddp.protocol.ClientProtocol`. Each may refuse the input only with its own typed
error; anything else (``RecursionError``, ``KeyError``, a crash in the core) is a bug.
"""

from __future__ import annotations

from ddp import ejson
from ddp.exceptions import EJSONError, ProtocolError
from ddp.messages import parse_message
from ddp.protocol import ClientProtocol


class _Store:
    def apply_batch(self, messages: object, reset: bool) -> None:
        """Accept anything: the core's own checks are under test here, not a store's."""


def _connected_core() -> ClientProtocol:
    proto = ClientProtocol(store=_Store(), random=lambda: 0.5)
    proto.dialing(0.0)
    proto.connection_made(0.0)
    proto.receive_text('{"msg":"connected","session":"S"}', 0.0)
    proto.subscribe("items")
    proto.call("m")
    proto.data_to_send()
    proto.events_received()
    return proto


def check_input(data: bytes) -> None:
    """Run one fuzz input through every decoder; raise on anything but a typed refusal."""
    try:
        parse_message(data)
    except ProtocolError:
        pass
    try:
        value = ejson.loads(data)
    except EJSONError:
        pass
    else:
        try:
            ejson.dumps(value)
        except EJSONError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    proto = _connected_core()
    proto.receive_text(text, 1.0)  # never raises, whatever the text
    proto.flush_data()
    proto.events_received()
    proto.data_to_send()
