"""Load-test the demo server with Locust and ``ddp.contrib.locust.DDPUser``.

Start the demo server, then Locust against it::

    ddp serve                     # listens on ws://127.0.0.1:3000/websocket
    locust -f examples/locustfile.py --host ws://127.0.0.1:3000/websocket

(``pip install 'ddp-client[locust]'`` first.) Open http://localhost:8089, or run headless:
``--headless -u 50 -r 10 -t 30s``. To spread the users over several machines, start one
``--master`` and any number of ``--worker --master-host HOST`` with the same file.

Each user logs in, subscribes to the ``items`` publication, then calls methods. Locust's
statistics show the connects (``ddp:connect``), logins (``ddp:login``), subscriptions
(``ddp:sub``, time to ``ready``), calls (``ddp:call``) and pings (``ddp:ping``).
"""

from __future__ import annotations

from locust import between, task

from ddp.contrib.locust import DDPUser
from ddp.sync import Subscription


class DemoUser(DDPUser):
    """A user of the demo server: logs in, follows the item list, calls methods."""

    wait_time = between(0.1, 0.5)

    items_sub: Subscription | None = None

    def on_start(self) -> None:
        """Log in (the demo server's user) and subscribe to the item list."""
        self.login("alice", "secret")
        self.items_sub = self.client.subscribe("items")

    @task(5)
    def add(self) -> None:
        """A cheap method call."""
        assert self.client.call("add", 2, 40) == 42

    @task(1)
    def complete_an_item(self) -> None:
        """A method that writes: the subscribed clients receive the change."""
        self.client.call("items.complete", "ship it")

    @task(1)
    def ping(self) -> None:
        """A DDP ping: the server's bare round trip."""
        self.client.ping()

    def on_stop(self) -> None:
        """Stop the subscription (the client is closed after this by ``DDPUser``)."""
        if self.items_sub is not None:  # None when on_start failed before subscribing
            self.items_sub.stop()
