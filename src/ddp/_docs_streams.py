"""The documentation of the stream and iterator methods both clients share, written once.

Given to ``AsyncClient`` and ``Client`` by :func:`ddp._docs.document`, ``<name>`` markers
filled per driver (see :mod:`ddp._docs`).
"""

from __future__ import annotations

__all__ = ["STREAM_METHODS"]

STREAM_METHODS: dict[str, str] = {
    "stream": """\
Follow a Meteor stream (the streamer protocol Rocket.Chat uses) and return its ``Stream``.

Subscribes to the publication ``name`` (``"stream-room-messages"``) for the events called
``event_name`` (a room id, ``"ROOM/typing"``...), with params ``[event_name, false]``,
or ``[event_name, {"useCollection": false, "args": [...args]}]`` when ``args`` are given
or ``with_options=True``. Iterate the stream for every event, as ``(event_name, args)``,
in arrival order, never merged, never stored (the collection ``name`` stays empty; its
messages still reach :meth:`on_update` listeners). Use it as a context manager (it waits
for ``ready``, then unsubscribes at the end) or call ``stop()``. Streams of the same
publication and event name share one subscription, so each sees each event once (DDP's
data messages name no subscription, so a second one would deliver every event twice: a
stream of an event already followed with other params is refused).

It survives reconnects like any subscription; events sent while the client was
disconnected are not invented (a resumed session gets what the server queued for it).
Once a collection was followed as a stream, its messages never enter the store for the
life of this client.

Args:
    name: The stream's publication name.
    event_name: The event name to follow (the first ``sub`` param).
    *args: The ``args`` of the options form.
    with_options: Force the options form (``True``) or the ``false`` form (``False``).
    callback: ``callback(event_name, args)`` for each event instead of iterating, run
        <callbacks>; an exception is logged and ignored.
    max_queue: The events the stream buffers (default <queue>): a consumer that falls
        behind loses the oldest, counted in ``ClientStats.dropped_events`` and warned
        about once per overflow episode.

Raises:
    TypeError: ``name`` or ``event_name`` is not a non-empty string.
    ddp.InvalidStateError: The client was made with ``collections=False``, or the event
        is already followed with other params.
    ddp.ClientClosedError: The client is closed.""",
    "changes": """\
Return an iterator (a :class:`<feed>`) over the net changes of the cache, from now on.

Each item is a :class:`ddp.collection.CollectionChange` (what :meth:`on_collection_change`
listeners hear, one change at a time) of ``collection``, or of every collection when
``None``: the net effect of each applied batch, so a reconnect reports only what really
differs. For every message instead of net changes, use :meth:`updates`. The queue holds
``max_queue`` items (default <queue>); a consumer that falls behind loses the oldest,
counted in ``ClientStats.dropped_events`` and warned about once per overflow episode.
The iterator ends when it is closed (``close()``, or leaving its ``with`` block) or the
client is.

Raises:
    ddp.InvalidStateError: The client was made with ``collections=False``.
    ddp.ClientClosedError: The client is closed.""",
    "updates": """\
Return an iterator (a :class:`<feed>`) over every data message, from now on.

Each item is a :class:`ddp.collection.DataUpdate`, exactly as :meth:`on_update`
listeners hear it (one per message, in order, never merged; see there for reconnects),
of ``collection``, or of every collection when ``None``. The queue holds ``max_queue``
items (default <queue>); a consumer that falls behind loses the oldest, counted in
``ClientStats.dropped_events`` and warned about once per overflow episode. The iterator
ends when it is closed (``close()``, or leaving its ``with`` block) or the client is.

Raises:
    ddp.InvalidStateError: The client was made with ``collections=False``.
    ddp.ClientClosedError: The client is closed.""",
}
"""Docstrings of the stream and iterator methods (``<name>`` markers filled per driver)."""


STREAM_DOC = """\
A Meteor stream followed by <a_client> (``client.stream()``).

It yields every event of its event name as a :class:`ddp.StreamEvent`
``(event_name, args)``, in arrival order, never merged, and stores nothing. It survives
reconnects; events sent while the client was disconnected are not invented (a resumed
session gets what the server queued for it). Reading ends when the stream or the client
is closed, and raises the error when the server ends the subscription with one. A
consumer that falls behind loses the oldest events (counted in ``dropped`` and
``ClientStats.dropped_events``, one WARNING per overflow episode).

<usage>"""
"""The docstring of both clients' ``Stream`` (``<a_client>``, ``<usage>`` filled per driver)."""


STREAM_GET_DOC = """\
Return the next event, waiting up to ``timeout`` seconds (``None``: no limit).

Raises:
    ddp.DDPTimeoutError: Nothing arrived in time.
    ddp.InvalidStateError: The stream has ended and holds nothing more, or it
        delivers to its callback.
    ddp.SubscriptionError: The server ended the subscription with this error."""
"""The docstring of both ``Stream.get`` methods."""
