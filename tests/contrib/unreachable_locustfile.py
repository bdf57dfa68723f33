"""A Locust user whose server is not there, to check that failed connects are reported."""

from __future__ import annotations

from locust import constant, task

from ddp.contrib.locust import DDPUser


class UnreachableUser(DDPUser):
    """Gives up on connecting quickly; its task must never run."""

    wait_time = constant(0.05)
    client_options = {"reconnect": False, "connect_timeout": 2.0}

    @task
    def never(self) -> None:
        self.client.call("add", 1, 2)
