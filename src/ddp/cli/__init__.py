"""The ``ddp`` command (click + rich): ``call``, ``sub``/``watch``, ``ping``, ``bench``,
``serve`` and ``demo``. Exit statuses are listed in :mod:`ddp.cli.errors`.

``import ddp`` never imports this package; it is loaded by the ``ddp`` script and by
``python -m ddp``.
"""

from __future__ import annotations

from ddp.cli.main import cli, main

__all__ = ["cli", "main"]
