"""The options every networked command shares, and opening a client with them.

``--user``/``--password``/``--token`` log in right after connecting; ``--sockjs``,
``--header`` and ``--insecure`` shape the connection; ``-v`` traces frames (redacted).
A password is never sent empty: it comes from ``--password``, ``$DDP_PASSWORD`` or a prompt
on a terminal, and anything else is a usage error before a socket is opened.
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.tracing import tracing
from ddp.exceptions import DDPTimeoutError

if TYPE_CHECKING:
    from ddp.asyncio import AsyncClient
    from ddp.sync import Client

__all__ = ["Connection", "connection_options", "open_async_client", "open_client"]

F = TypeVar("F", bound=Callable[..., Any])

PASSWORD_ENV = "DDP_PASSWORD"
TOKEN_ENV = "DDP_TOKEN"

_SCHEMES = ("http", "https", "ws", "wss", "ddp+sockjs", "ddpi+sockjs")
_SECURE_SCHEMES = ("https", "wss", "ddp+sockjs")


@dataclass(frozen=True)
class Connection:
    """Where and how to connect, and who to log in as, from the shared options."""

    url: str
    sockjs: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    insecure: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    verbose: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed (blanked in ``-v`` output)."""
        values = [self.password or "", self.token or ""]
        values += [value for _, value in self.headers if len(value) >= 4]
        return tuple(value for value in values if value)

    def client_options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``ddp.Client`` / ``ddp.AsyncClient``."""
        options: dict[str, Any] = {"sockjs": self.sockjs, **extra}
        if self.headers:
            options["headers"] = list(self.headers)
        if self.insecure and _scheme(self.url) in _SECURE_SCHEMES:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            options["ssl"] = context
        return options

    def login_kwargs(self) -> dict[str, Any] | None:
        """Arguments of ``client.login`` (``None``: no login)."""
        if self.token is not None:
            return {"token": self.token}
        if self.user is None:
            return None
        # Meteor's loginWithPassword reads a string with "@" as an email address.
        key = "email" if "@" in self.user else "user"
        return {key: self.user, "password": self.password}


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def check_url(url: str) -> str:
    """Reject what cannot be a DDP server URL before anything is dialled."""
    scheme = _scheme(url)
    if scheme and scheme not in _SCHEMES:
        raise CLIError(
            f"unsupported URL scheme {scheme + '://'!r} in {url!r} "
            "(use http, https, ws, wss, ddp+sockjs or a bare host:port)",
            ExitCode.USAGE,
        )
    try:
        parts = urlsplit(url if scheme else f"http://{url}")
        parts.port  # noqa: B018 -- urlsplit checks the port lazily
    except ValueError as exc:
        raise CLIError(f"bad URL {url!r}: {exc}", ExitCode.USAGE) from None
    if not parts.hostname:
        raise CLIError(f"no host in URL {url!r}", ExitCode.USAGE)
    return url


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise CLIError(f"--header {text!r} is not NAME:VALUE", ExitCode.USAGE)
    return name.strip(), value.strip()


def _password(user: str, given: str | None) -> str:
    password = given if given is not None else os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise CLIError(
                f"--user {user!r} needs a password: give --password, set ${PASSWORD_ENV}, "
                "or run on a terminal to be asked",
                ExitCode.USAGE,
            )
        password = click.prompt(f"Password for {user}", hide_input=True, err=True)
    if not password:
        raise CLIError("the password is empty; refusing to send it", ExitCode.USAGE)
    return password


def build_connection(
    url: str,
    *,
    user: str | None,
    password: str | None,
    token: str | None,
    sockjs: bool,
    headers: tuple[str, ...],
    insecure: bool,
    verbose: bool,
) -> Connection:
    """Check the shared options and resolve the credentials (prompting if needed)."""
    check_url(url)
    if token is not None and user is not None:
        raise CLIError("give --user or --token, not both", ExitCode.USAGE)
    if password is not None and user is None:
        raise CLIError("--password needs --user", ExitCode.USAGE)
    if user is not None:
        password = _password(user, password)
    elif token is None:
        token = os.environ.get(TOKEN_ENV) or None
    if token is not None and not token:
        raise CLIError("the token is empty", ExitCode.USAGE)
    return Connection(
        url=url,
        sockjs=sockjs,
        headers=tuple(_header(text) for text in headers),
        insecure=insecure,
        user=user,
        password=password,
        token=token,
        verbose=verbose,
    )


def connection_options(command: F) -> F:
    """Add the shared options to a command taking a ``URL`` argument; the command receives
    one ``connection`` keyword (a :class:`Connection`) instead of them."""
    options = [
        click.option("--user", "-u", help="Log in with this username (or email, with '@')."),
        click.option(
            "--password",
            "-p",
            help=f"The password for --user (default: ${PASSWORD_ENV}, or asked on a terminal).",
        ),
        click.option("--token", help=f"Log in with a resume token (default: ${TOKEN_ENV})."),
        click.option("--sockjs", is_flag=True, help="Use SockJS framing on a plain URL."),
        click.option(
            "--header",
            "-H",
            "headers",
            multiple=True,
            metavar="NAME:VALUE",
            help="An extra handshake header (repeatable).",
        ),
        click.option("--insecure", "-k", is_flag=True, help="Do not verify TLS certificates."),
        click.option(
            "--verbose", "-v", is_flag=True, help="Trace frames on stderr (secrets redacted)."
        ),
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        connection = build_connection(
            kwargs.pop("url"),
            user=kwargs.pop("user"),
            password=kwargs.pop("password"),
            token=kwargs.pop("token"),
            sockjs=kwargs.pop("sockjs"),
            headers=kwargs.pop("headers"),
            insecure=kwargs.pop("insecure"),
            verbose=kwargs.pop("verbose"),
        )
        return command(connection=connection, **kwargs)

    result: Any = wrapper
    for option in reversed(options):
        result = option(result)
    result = click.argument("url")(result)
    return result  # type: ignore[no-any-return]


def _bad_options(exc: Exception) -> CLIError:
    return CLIError(f"bad connection options: {exc}", ExitCode.USAGE)


@contextmanager
def open_client(
    connection: Connection, *, timeout: float, reconnect: bool = False
) -> Iterator[Client]:
    """Connect a blocking client (and log in), trace if asked; close it on the way out.

    A first connection that does not come up in ``timeout`` seconds is a connection failure
    (exit status 3), whatever the cause.
    """
    from ddp.sync import Client

    with ExitStack() as stack:
        stack.enter_context(tracing(connection.verbose, connection.secrets))
        try:
            client = Client(
                connection.url,
                **connection.client_options(connect_timeout=timeout, reconnect=reconnect),
            )
        except (ValueError, TypeError) as exc:
            raise _bad_options(exc) from None
        stack.callback(client.close)
        try:
            client.connect()
        except DDPTimeoutError as exc:
            raise CLIError(f"could not connect: {exc}", ExitCode.CONNECTION) from None
        login = connection.login_kwargs()
        if login is not None:
            client.login(**login, timeout=timeout)
        yield client


@asynccontextmanager
async def open_async_client(
    connection: Connection,
    *,
    timeout: float,  # noqa: ASYNC109 -- the client's connect_timeout, as in open_client
    reconnect: bool = False,
) -> AsyncIterator[AsyncClient]:
    """The asyncio twin of :func:`open_client`."""
    from ddp.asyncio import AsyncClient

    with tracing(connection.verbose, connection.secrets):
        try:
            client = AsyncClient(
                connection.url,
                **connection.client_options(connect_timeout=timeout, reconnect=reconnect),
            )
        except (ValueError, TypeError) as exc:
            raise _bad_options(exc) from None
        try:
            try:
                await client.connect()
            except DDPTimeoutError as exc:
                raise CLIError(f"could not connect: {exc}", ExitCode.CONNECTION) from None
            login = connection.login_kwargs()
            if login is not None:
                await client.login(**login, timeout=timeout)
            yield client
        finally:
            await client.close()
