"""Load-test a DDP server with `Locust <https://locust.io>`_.

Install the extra (``pip install 'ddp-client[locust]'``) and subclass :class:`DDPUser`::

    from locust import between, task
    from ddp.contrib.locust import DDPUser

    class ChatUser(DDPUser):
        host = "ws://127.0.0.1:3000/websocket"
        wait_time = between(0.5, 2)

        def on_start(self):
            self.login("alice", "secret")
            self.client.subscribe("messages", "general")

        @task
        def send(self):
            self.client.call("messages.send", "general", "hello")

Each simulated user owns one blocking :class:`ddp.Client`, connected before ``on_start``
and closed after ``on_stop``. Calls, subscriptions, logins and pings made through
``self.client`` appear in Locust's statistics:

* ``ddp:connect``, named by the URL: until the server's ``connected``;
* ``ddp:login``, named ``password``, ``resume`` or ``custom``: until the login's result;
* ``ddp:sub``, named by the publication: until ``ready`` (the initial documents are in);
* ``ddp:call``, named by the method: until the result (the method's writes may still be on
  their way, as in ``ddp.Client.call``);
* ``ddp:ping``, named ``ping``: until the ``pong``.

A failure is counted with the server's error as Locust's exception (a
:class:`ddp.MethodError` shows its ``error`` and ``reason``), then raised to the task as
``ddp.Client`` would raise it: Locust logs it and goes on with the next task, and a task
that expects an error can catch it. Locust's ``response_length`` is not measured (0):
DDP frames are not tied to one request.

Locust runs users as gevent greenlets and monkey-patches the standard library, so the
blocking client's threads become greenlets too; nothing else is needed. Locust's
distributed mode (``--master`` and ``--worker``) works as for any other user class.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from locust import User
from locust.env import Environment
from locust.exception import LocustError

from ddp.auth import LoginResult
from ddp.exceptions import DDPError
from ddp.sync import Client, Subscription

__all__ = ["DDPLocustClient", "DDPUser"]

logger = logging.getLogger("ddp.contrib.locust")

T = TypeVar("T")


class DDPLocustClient:
    """A :class:`ddp.Client` whose calls are reported to Locust's statistics.

    :meth:`call`, :meth:`subscribe`, :meth:`login`, :meth:`ping` and :meth:`connect` are
    timed and reported; every other attribute (``collection``, ``go``, ``logout``,
    ``stats``...) is the wrapped client's, unreported. The wrapped client is
    :attr:`ddp_client`.

    Args:
        url: The DDP server's URL (anything :class:`ddp.Client` accepts).
        environment: The Locust environment whose ``request`` event receives the reports.
        context: Returns the request context Locust attaches to each report (a user's
            ``context()``); ``None`` for none.
        **options: Passed to :class:`ddp.Client`.
    """

    def __init__(
        self,
        url: str,
        environment: Environment,
        *,
        context: Callable[[], dict[str, Any]] | None = None,
        **options: Any,
    ) -> None:
        self.ddp_client = Client(url, **options)
        self.url = url
        self._environment = environment
        self._context = context

    def __getattr__(self, name: str) -> Any:
        # Only reached for what this class does not define: the rest of ddp.Client.
        return getattr(self.ddp_client, name)

    def connect(self, timeout: float | None = None) -> None:
        """Connect (see :meth:`ddp.Client.connect`), reported as ``ddp:connect``."""
        self._timed("ddp:connect", self.url, lambda: self.ddp_client.connect(timeout))

    def call(self, method: str, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
        """Call a method (see :meth:`ddp.Client.call`), reported as ``ddp:call``.

        Args:
            method: The method.
            *args: Its arguments.
            name: The name in Locust's statistics (default: the method's), to group calls.
            **kwargs: ``timeout``, ``wait``, ``no_retry``, as for :meth:`ddp.Client.call`.
        """
        return self._timed(
            "ddp:call", name or method, lambda: self.ddp_client.call(method, *args, **kwargs)
        )

    def subscribe(
        self,
        publication: str,
        *args: Any,
        name: str | None = None,
        timeout: float | None = None,
    ) -> Subscription:
        """Subscribe and wait until ready (see :meth:`ddp.Client.subscribe`), reported as
        ``ddp:sub``.

        Args:
            publication: The publication.
            *args: Its arguments.
            name: The name in Locust's statistics (default: the publication's).
            timeout: Seconds to wait for ``ready``.
        """
        return self._timed(
            "ddp:sub",
            name or publication,
            lambda: self.ddp_client.subscribe(publication, *args, timeout=timeout),
        )

    def login(self, user: str | None = None, password: Any = None, **kwargs: Any) -> LoginResult:
        """Log in (see :meth:`ddp.Client.login`), reported as ``ddp:login``.

        The statistics' name is the kind of login (``password``, ``resume`` or ``custom``),
        never the user's name or secret.
        """
        kind = "resume" if kwargs.get("token") else "custom" if kwargs.get("params") else None
        return self._timed(
            "ddp:login",
            kind or "password",
            lambda: self.ddp_client.login(user, password, **kwargs),
        )

    def ping(self, timeout: float | None = None) -> float:
        """Send a DDP ``ping`` (see :meth:`ddp.Client.ping`), reported as ``ddp:ping``."""
        return self._timed("ddp:ping", "ping", lambda: self.ddp_client.ping(timeout))

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the client (see :meth:`ddp.Client.close`); not reported."""
        self.ddp_client.close(timeout)

    def _timed(self, request_type: str, name: str, action: Callable[[], T]) -> T:
        # Only results and DDP errors are reported: a kill (GreenletExit) or a bug in the
        # task (TypeError...) is not the server's doing, so not a request's outcome.
        started = time.perf_counter()
        try:
            result = action()
        except DDPError as exc:
            self._report(request_type, name, started, exc)
            raise
        self._report(request_type, name, started, None)
        return result

    def _report(self, request_type: str, name: str, started: float, error: DDPError | None) -> None:
        request: Any = self._environment.events.request  # Locust's EventHook is untyped
        request.fire(
            request_type=request_type,
            name=name,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=0,
            response=None,
            context=self._context() if self._context is not None else {},
            exception=error,
        )

    def __repr__(self) -> str:
        return f"<DDPLocustClient {self.ddp_client!r}>"


class DDPUser(User):
    """A Locust user that speaks DDP through a blocking :class:`ddp.Client`.

    Set ``host`` (or pass ``--host``) to the server's DDP URL, e.g.
    ``ws://127.0.0.1:3000/websocket`` or ``https://app.example.com``. Before ``on_start``
    runs, the user connects (reported as ``ddp:connect``; a user that cannot connect logs the
    error and ends); after ``on_stop``, and when Locust stops the user, it closes the client.

    Attributes:
        client: The user's :class:`DDPLocustClient`: ``self.client.call(...)`` and
            ``self.client.subscribe(...)`` are reported to Locust.
        client_options: Keyword arguments for :class:`ddp.Client` (``heartbeat_interval``,
            ``sockjs``, ``headers``, ``token_store``...), set on the subclass.
        connect_timeout: Seconds to wait for the connection (``None``: the client's
            ``connect_timeout`` option).
    """

    abstract = True
    client_options: ClassVar[Mapping[str, Any]] = {}
    connect_timeout: ClassVar[float | None] = None

    def __init__(self, environment: Environment) -> None:
        """Create the user and its (not yet connected) client; Locust does this."""
        super().__init__(environment)
        if not self.host:
            raise LocustError(
                "You must specify the DDP server's URL, with --host or the 'host' attribute "
                f"of {type(self).__name__}, e.g. ws://127.0.0.1:3000/websocket"
            )
        self.client = DDPLocustClient(
            self.host, environment, context=self.context, **dict(self.client_options)
        )

    def login(self, user: str | None = None, password: Any = None, **kwargs: Any) -> LoginResult:
        """Log this user in (reported as ``ddp:login``); see :meth:`ddp.Client.login`."""
        return self.client.login(user, password, **kwargs)

    def start(self, group: Any) -> Any:
        """Spawn this user's greenlet in ``group`` (Locust does this).

        The greenlet connects, runs Locust's own loop (``on_start``, tasks, ``on_stop``),
        and closes the client whichever way that loop ends, so that no client outlives its
        user: an open client left to the interpreter's shutdown could still be reading its
        socket as the process exits.
        """
        # As Locust's own start() does, with our wrapper as the greenlet's function; Locust
        # finds the user as the greenlet's first argument.
        # (gevent's Group and Greenlet: gevent ships no type hints.)
        self._greenlet = group.spawn(_run_user, self)
        self._group = group
        return self._greenlet

    def _connect_and_run(self) -> None:
        try:
            try:
                self.client.connect(self.connect_timeout)
            except DDPError as exc:
                # Already counted as a failed ddp:connect; tasks could only fail the same way.
                logger.error("%s could not connect: %s", type(self).__name__, exc)
                user_error: Any = self.environment.events.user_error
                user_error.fire(user_instance=self, exception=exc, tb=exc.__traceback__)
                return
            run: Callable[[], None] = self.run  # untyped in Locust
            run()
        finally:
            self.client.close()


def _run_user(user: DDPUser) -> None:
    user._connect_and_run()
