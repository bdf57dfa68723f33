"""TLS for the client tests: a throw-away CA (``trustme``) and contexts for both ends."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import trustme


@dataclass(frozen=True)
class TLS:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def make_tls() -> TLS:
    """Issue a certificate for ``127.0.0.1`` and ``localhost`` from a fresh private CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client)
    return TLS(server=server, client=client)
