"""Dotted-path lookup through nested objects and arrays (minimongo's lookup functions).

A lookup turns a document into *branches*: every value that a dotted path may denote. With no
array on the way there is exactly one branch (``MISSING`` when the path leads nowhere). An
array in the middle of the path *branches*: ``"a.b"`` on ``{"a": [{"b": 1}, {"b": 2}]}`` gives
two branches. A numeric part both indexes an array and, for a query, branches into its
elements' fields of that name. An array at the end of the path is returned whole; the value
matchers decide whether to also try its elements.

Each branch is a pair ``(value, dont_iterate)``: ``dont_iterate`` is true when the value is an
array reached through an explicit numeric index, so ``{"a.0": 5}`` does not match
``{"a": [[5]]}``.

Stored arrays are tuples (frozen lists, see ``values.freeze_value``); every array test here
accepts both, so lookups work on stored documents and on plain ones alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from ddp.collection.values import ARRAY_TYPES, MISSING

__all__ = ["Branch", "Lookup", "expand_branches", "make_lookup"]

Branch: TypeAlias = tuple[Any, bool]
Lookup: TypeAlias = Callable[[Any], list[Branch]]


def _is_numeric(part: str) -> bool:
    return part.isascii() and part.isdigit()


def make_lookup(path: str, *, for_sort: bool = False) -> Lookup:
    """Compile a dotted ``path`` into a function from a document to its branches.

    Args:
        path: A dotted path such as ``"a.b.0.c"``.
        for_sort: Sort semantics: a numeric part after an array only indexes it and does
            not also branch into the array's elements.

    Returns:
        A function mapping a document (dict or list) to a list of ``(value, dont_iterate)``.
    """
    return _compile(path.split("."), for_sort)


def _compile(parts: list[str], for_sort: bool) -> Lookup:
    first = parts[0]
    numeric = _is_numeric(first)
    index = int(first) if numeric else -1
    rest = _compile(parts[1:], for_sort) if len(parts) > 1 else None
    branch_into_arrays = not (for_sort and len(parts) > 1 and _is_numeric(parts[1]))

    def lookup(doc: Any) -> list[Branch]:
        doc_type = type(doc)
        if doc_type is tuple or doc_type is list:
            # An invalid index into an array gives no branch at all (so it does not even
            # match null), unlike a missing field of an object.
            if not numeric or index >= len(doc):
                return []
            value = doc[index]
            explicit = True
        elif doc_type is dict:
            value = doc.get(first, MISSING)
            explicit = False
        else:
            return [(MISSING, False)]
        if rest is None:
            return [(value, explicit and type(value) in ARRAY_TYPES)]
        value_type = type(value)
        is_array = value_type is tuple or value_type is list
        if value_type is not dict and not is_array:
            return [] if explicit else [(MISSING, False)]
        result = rest(value)
        if is_array and branch_into_arrays:
            for element in value:
                if type(element) is dict:
                    result.extend(rest(element))
        return result

    return lookup


def expand_branches(branches: list[Branch], skip_arrays: bool = False) -> list[Any]:
    """Return the candidate values of ``branches``: each value, and the elements of arrays.

    Args:
        branches: Branches from a lookup.
        skip_arrays: Leave out the arrays themselves (their elements stay), as ``$type``
            needs; arrays reached by an explicit index are always kept.

    Returns:
        The flat list of values a value matcher should try.
    """
    out: list[Any] = []
    for value, dont_iterate in branches:
        if type(value) in ARRAY_TYPES and not dont_iterate:
            if not skip_arrays:
                out.append(value)
            out.extend(value)
        else:
            out.append(value)
    return out
