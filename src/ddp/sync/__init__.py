"""The blocking DDP client: :class:`Client`, on ``websockets.sync`` and plain threads.

No asyncio underneath, so gevent can patch it (Locust does). The API is the same as
:class:`ddp.AsyncClient`'s, blocking instead of awaitable::

    import ddp

    with ddp.Client("ws://localhost:3000/websocket") as client:
        print(client.call("add", 2, 40))
        sub = client.subscribe("items")
        for doc in client.collection("items").find({}):
            print(doc)

Use ``with Client(...)`` or call :meth:`Client.close`: the client's threads are daemons, so a
script that returns without waiting for anything exits, callbacks and all.
"""

from ddp.sync._calls import MethodCall, Subscription
from ddp.sync._feeds import SyncFeed
from ddp.sync._streams import Stream
from ddp.sync.client import Client

__all__ = ["Client", "MethodCall", "Stream", "Subscription", "SyncFeed"]
