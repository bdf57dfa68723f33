"""A griffe extension for the docs site (see mkdocs.yml): docstrings given at import time.

``AsyncClient`` and ``Client`` (and their handles) share their methods' docstrings, written
once in ``ddp._docs`` and attached when the module is imported, so ``help()`` shows them but
a static reading of the source does not. For the client packages only, this extension takes
each class's and method's docstring from the imported object wherever the imported one
differs, so the API reference shows what ``help()`` shows.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from griffe import Class, Docstring, Extension, Module

# Only these are imported: they have no import-time side effects (the CLI and the server's
# ``__main__`` modules do, so a whole-package inspection is out of the question).
_PACKAGES = ("ddp.asyncio", "ddp.sync")


class RuntimeDocstrings(Extension):
    """Fill in the docstrings that ``ddp._docs.document`` attaches at import time."""

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        """Walk the client packages once the ``ddp`` package is loaded."""
        if pkg.path != "ddp":
            return
        for name in _PACKAGES:
            package = pkg.get_member(name.removeprefix("ddp."))
            for module in _modules(package):
                try:
                    runtime = importlib.import_module(module.path)
                except ImportError:
                    continue  # an optional dependency (a transport) is not installed here
                for cls in module.classes.values():
                    if cls.is_alias:
                        continue
                    _fill(cls, getattr(runtime, cls.name, None))


def _modules(module: Module) -> list[Module]:
    found = [module]
    for sub in module.modules.values():
        found.extend(_modules(sub))
    return found


def _fill(cls: Class, runtime: object) -> None:
    if not inspect.isclass(runtime):
        return
    _set(cls, runtime.__doc__)
    for name, member in cls.members.items():
        if member.is_alias or not member.is_function:
            continue
        _set(member, getattr(runtime.__dict__.get(name), "__doc__", None))


def _set(obj: Any, text: str | None) -> None:
    if not text:
        return
    text = inspect.cleandoc(text)
    if obj.docstring is None:
        obj.docstring = Docstring(text, parent=obj)
    elif obj.docstring.value != text:
        obj.docstring = Docstring(text, lineno=obj.docstring.lineno, parent=obj)
