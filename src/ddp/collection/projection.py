"""Field projections (``fields=``) with minimongo's rules.

``{"a": 1, "b.c": 1}`` keeps only those paths (and ``_id``); ``{"a": 0}`` drops them. Inclusion
and exclusion cannot be mixed, except that ``_id`` may always be excluded. Dotted rules apply
inside every element of an array. Overlapping rules (``"a"`` and ``"a.b"``) are an error, as
are ``$`` operators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from ddp.collection.values import ARRAY_TYPES
from ddp.exceptions import InvalidSelectorError

__all__ = ["Projection", "compile_projection"]

Projection: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
_Tree: TypeAlias = dict[str, Any]  # path part -> True (a leaf rule) or a sub-tree
_CONTAINERS = frozenset({dict, *ARRAY_TYPES})  # stored arrays are tuples (frozen lists)


def _check(fields: Any) -> None:
    if not isinstance(fields, Mapping):
        raise InvalidSelectorError(f"fields must be a dict of path to 1 or 0, not {fields!r}")
    for path, rule in fields.items():
        if not isinstance(path, str) or not path:
            raise InvalidSelectorError(f"bad projection path {path!r}")
        if "$" in path.split(".") or path.startswith("$"):
            raise InvalidSelectorError("the $ operator is not supported in projections")
        if isinstance(rule, Mapping):
            raise InvalidSelectorError(f"projection operators are not supported ({path!r})")
        if rule not in (0, 1) or type(rule) not in (int, bool, float):
            raise InvalidSelectorError(f"projection values must be 1, 0, True or False ({path!r})")


def _build_tree(paths: list[str]) -> _Tree:
    tree: _Tree = {}
    for path in sorted(paths):
        node = tree
        parts = path.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            existing = node.get(part)
            if existing is True or (last and existing is not None):
                other = ".".join(parts[: depth + 1])
                raise InvalidSelectorError(
                    f"both {path!r} and {other!r} are in the projection; use only one of them"
                )
            if last:
                node[part] = True
            else:
                node = node.setdefault(part, {})
    return tree


def _include(value: Any, tree: _Tree) -> Any:
    if type(value) in ARRAY_TYPES:
        return [_include(item, tree) for item in value]
    out: dict[str, Any] = {}
    if type(value) is not dict:
        return out
    for key, rule in tree.items():
        if key not in value:
            continue
        sub = value[key]
        if rule is True:
            out[key] = sub
        elif type(sub) is dict or type(sub) in ARRAY_TYPES:
            out[key] = _include(sub, rule)
    return out


def _exclude(value: Any, tree: _Tree) -> Any:
    if type(value) in ARRAY_TYPES:
        return [_exclude(item, tree) for item in value]
    if type(value) is not dict:
        return value
    out = {}
    for key, sub in value.items():
        rule = tree.get(key)
        if rule is None:
            out[key] = sub
        elif rule is not True:
            out[key] = _exclude(sub, rule) if type(sub) in _CONTAINERS else sub
    return out


def compile_projection(fields: Any) -> Projection | None:
    """Compile a ``fields`` spec into a function from a stored doc to its projection.

    The projection shares leaf values with the stored document; callers copy it.

    Args:
        fields: A dict of dotted path to 1/0 (or True/False), or ``None`` for no projection.

    Returns:
        The projection function, or ``None`` when ``fields`` selects everything.

    Raises:
        InvalidSelectorError: On mixed inclusion and exclusion, overlapping paths, operators
            or values other than 1/0.
    """
    if fields is None:
        return None
    _check(fields)
    keep_id = bool(fields.get("_id", True))
    paths = [p for p in fields if p != "_id"]
    if not paths:
        if keep_id:
            if "_id" not in fields:
                return None
            return lambda doc: {"_id": doc["_id"]} if "_id" in doc else {}
        return lambda doc: {k: v for k, v in doc.items() if k != "_id"}
    rules = {bool(fields[p]) for p in paths}
    if "_id" in fields and fields["_id"] and rules == {False}:
        raise InvalidSelectorError("you cannot mix including and excluding fields")
    if len(rules) > 1:
        raise InvalidSelectorError("you cannot mix including and excluding fields")
    tree = _build_tree(paths)
    if rules == {True}:

        def include(doc: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"_id": doc["_id"]} if keep_id and "_id" in doc else {}
            out.update(_include(doc, tree))
            return out

        return include

    if not keep_id:
        tree["_id"] = True
    return lambda doc: _exclude(doc, tree)
