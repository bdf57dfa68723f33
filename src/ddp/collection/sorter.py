"""Sort specifications: parsing and per-document sort keys with Mongo's ordering.

A sort spec may be a list of ``(path, direction)`` pairs (``[("a", 1), ("b", -1)]``), Meteor's
``[["a", "asc"], ["b", "desc"]]`` or bare paths (``["a"]``, ascending), or a dict
(``{"a": 1, "b": -1}``). A document's key for a path is the smallest of its values there when
ascending and the largest when descending (an array sorts by its elements; an empty array or
a missing field sorts as "undefined", before null). Each path is keyed independently (as
MongoDB does; minimongo pairs up keys from parallel arrays, a case we do not reproduce).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import total_ordering
from typing import Any, TypeAlias

from ddp.collection.paths import Lookup, expand_branches, make_lookup
from ddp.collection.values import ARRAY_TYPES, MISSING, sort_key
from ddp.exceptions import InvalidSelectorError

__all__ = ["SortKey", "compile_sort", "parse_sort", "plain_sort_path", "plain_sort_values"]

SortKey: TypeAlias = tuple[Any, ...]

_DIRECTIONS = {
    1: True,
    -1: False,
    "asc": True,
    "desc": False,
    "ascending": True,
    "descending": False,
}


@total_ordering
class _Descending:
    """Wraps a key so that it compares the other way round (for descending fields)."""

    __slots__ = ("key",)

    def __init__(self, key: SortKey) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.key == other.key

    def __lt__(self, other: _Descending) -> bool:
        return self.key > other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"_Descending({self.key!r})"


def _direction(value: Any, path: str) -> bool:
    if type(value) is float and value in (1.0, -1.0):
        value = int(value)
    ascending = _DIRECTIONS.get(value) if type(value) is not bool else None
    if ascending is None:
        raise InvalidSelectorError(
            f"bad sort direction {value!r} for {path!r}: use 1, -1, 'asc' or 'desc'"
        )
    return ascending


def parse_sort(spec: Any) -> list[tuple[str, bool]]:
    """Normalise a sort spec into ``[(path, ascending), ...]``.

    Args:
        spec: A list of pairs or paths, or a dict of path to direction.

    Returns:
        The paths in priority order with their direction.

    Raises:
        InvalidSelectorError: For any other shape or direction.
    """
    parts: list[tuple[str, bool]] = []
    if isinstance(spec, Mapping):
        items: list[Any] = [(k, v) for k, v in spec.items()]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        raise InvalidSelectorError(
            f"a sort must be a list of (path, direction) or a dict, not {spec!r}"
        )
    for item in items:
        if isinstance(item, str):
            path, ascending = item, True
        elif isinstance(item, (list, tuple)) and len(item) in (1, 2) and isinstance(item[0], str):
            path = item[0]
            ascending = True if len(item) == 1 else _direction(item[1], path)
        else:
            raise InvalidSelectorError(f"bad sort item {item!r}: use (path, direction)")
        if not path or path.startswith("$"):
            raise InvalidSelectorError(f"bad sort path {path!r}")
        parts.append((path, ascending))
    return parts


def _field_key(path: str, ascending: bool) -> Callable[[Any], Any]:
    lookup = make_lookup(path, for_sort=True)
    if "." not in path and ascending:
        general = _field_key_general(lookup, ascending)

        def top_level(doc: Any) -> Any:
            # The common case: a top-level scalar; no branch lists are built.
            value = doc.get(path, MISSING)
            return general(doc) if type(value) in ARRAY_TYPES else sort_key(value)

        return top_level
    return _field_key_general(lookup, ascending)


def _field_key_general(lookup: Lookup, ascending: bool) -> Callable[[Any], Any]:
    def key(doc: Any) -> Any:
        # Sort by an array's elements, never by the array itself.
        values = expand_branches(lookup(doc), skip_arrays=True) or [MISSING]
        if len(values) == 1:
            k = sort_key(values[0])
        elif ascending:
            k = min(sort_key(v) for v in values)
        else:
            k = max(sort_key(v) for v in values)
        return k if ascending else _Descending(k)

    return key


def compile_sort(spec: Any) -> Callable[[Any], SortKey] | None:
    """Compile a sort spec into a key function for ``sorted``/``bisect``.

    Args:
        spec: A sort spec (see :func:`parse_sort`), or ``None``/empty for no sort.

    Returns:
        A function from a stored document to its key, or ``None`` when there is no sort.

    Raises:
        InvalidSelectorError: If the spec is malformed.
    """
    if spec is None:
        return None
    parts = parse_sort(spec)
    if not parts:
        return None
    keys = [_field_key(path, ascending) for path, ascending in parts]
    if len(keys) == 1:
        only = keys[0]
        return lambda doc: (only(doc),)
    return lambda doc: tuple(k(doc) for k in keys)


def plain_sort_path(spec: Any) -> str | None:
    """The field of a sort on one top-level field, ascending; else ``None``.

    Such a sort may be done on the documents' raw values (:func:`plain_sort_values`).
    """
    if spec is None:
        return None
    parts = parse_sort(spec)
    if len(parts) != 1:
        return None
    path, ascending = parts[0]
    return path if ascending and "." not in path else None


def plain_sort_values(path: str, docs: list[dict[str, Any]]) -> list[Any] | None:
    """The values of ``path`` in ``docs`` when they sort as Mongo sorts them; else ``None``.

    When every document holds a string there, or every one a number other than NaN (not a
    bool), Python orders the raw values as :func:`ddp.collection.values.sort_key` orders
    them, without building a key tuple per document. That is the common sort (by a name, a
    date stamp, a counter), and on large results the key tuples were most of its cost.
    """
    values = [doc.get(path) for doc in docs]
    if not values:
        return None
    first = type(values[0])
    if first is str:
        if all(type(v) is str for v in values):
            return values
    elif first is int or first is float:
        if all((type(v) is int or type(v) is float) and v == v for v in values):
            return values
    return None
