"""mkdocs hooks for the docs site (see mkdocs.yml).

The package's docstrings name other objects with Sphinx roles (:class:`ddp.Client`), which
read well in ``help()`` and in editors; Markdown shows the role's name as text. This hook
drops it from the rendered page, so ":class:`~ddp.auth.LoginResult`" reads as
``LoginResult`` and ":meth:`connect`" as ``connect``; and the "::" that opens a
reStructuredText code block reads as one colon.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>"
)


def _plain(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace each rendered Sphinx role with its target in code style."""
    return _ROLE.sub(_plain, html).replace("::</p>", ":</p>")
