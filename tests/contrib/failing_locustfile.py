"""A Locust user whose requests fail on the server, to check that failures are reported."""

from __future__ import annotations

from locust import constant, task

from ddp import MethodError, SubscriptionError
from ddp.contrib.locust import DDPUser


class FailingUser(DDPUser):
    """Calls a method that raises and subscribes to a publication that does not exist."""

    wait_time = constant(0.05)

    @task
    def fail(self) -> None:
        try:
            self.client.call("boom")
        except MethodError:
            pass  # expected: the report is what the test checks
        try:
            self.client.subscribe("no-such-publication")
        except SubscriptionError:
            pass
        self.client.call("add", 1, 2)
