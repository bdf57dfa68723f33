"""The small query language of the server's in-memory collections.

Deliberately much less than minimongo: a selector is an id, a dict of top-level (or dotted)
field equalities, or a predicate function; a modifier is a replacement document or uses
``$set``, ``$unset``, ``$inc`` and ``$push``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ddp import ejson
from ddp.exceptions import InvalidSelectorError

__all__ = [
    "Predicate",
    "Projection",
    "Selector",
    "apply_modifier",
    "compile_projection",
    "compile_selector",
]

Predicate = Callable[[Mapping[str, Any]], bool]
Selector = Mapping[str, Any] | Predicate | str | None

_MISSING = object()


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def compile_selector(selector: Any) -> Predicate:
    """Compile ``selector`` into a predicate over documents.

    Args:
        selector: ``None`` or ``{}`` (every document), a callable taking the document, a
            dict of ``field: value`` equalities (dotted paths allowed; ``None`` also matches a
            missing field, as in Mongo), or any other value, taken as an ``_id``.

    Raises:
        InvalidSelectorError: the dict uses an operator (``$...``), which is not supported.
    """
    if selector is None:
        return lambda doc: True
    if callable(selector):
        return selector  # type: ignore[no-any-return]
    if not isinstance(selector, Mapping):
        return compile_selector({"_id": selector})
    for key in selector:
        if not isinstance(key, str) or key.startswith("$"):
            raise InvalidSelectorError(f"unsupported selector key {key!r}: use a predicate")
    items = [(key, value) for key, value in selector.items()]

    def matches(doc: Mapping[str, Any]) -> bool:
        for key, expected in items:
            actual = _lookup(doc, key)
            if actual is _MISSING:
                if expected is not None:
                    return False
            elif not ejson.equals(actual, expected):
                return False
        return True

    return matches


Projection = Callable[[Mapping[str, Any]], dict[str, Any]]


def compile_projection(fields: Mapping[str, Any] | None) -> Projection:
    """Compile a top-level field projection into a function over a document's fields.

    Args:
        fields: ``None`` (every field), ``{"a": 1, "b": 1}`` (only those) or
            ``{"a": 0}`` (all but those); truthy values include, falsy ones exclude.

    Raises:
        InvalidSelectorError: inclusion and exclusion mixed, a dotted path, or ``_id``
            (a document's id is always kept, outside the projection).
    """
    if fields is None:
        return dict
    if not isinstance(fields, Mapping):
        raise InvalidSelectorError(f"a projection must be a dict, not {type(fields).__name__}")
    for key in fields:
        if not isinstance(key, str) or "." in key or key.startswith("$") or key == "_id":
            raise InvalidSelectorError(f"unsupported projection key {key!r}")
    modes = {bool(value) for value in fields.values()}
    if len(modes) > 1:
        raise InvalidSelectorError("a projection cannot mix inclusion and exclusion")
    names = frozenset(fields)
    if not names:
        return dict  # Mongo's empty projection: every field
    if modes == {False}:
        return lambda doc: {k: v for k, v in doc.items() if k not in names}
    return lambda doc: {k: v for k, v in doc.items() if k in names}


def _parent(doc: dict[str, Any], path: str, *, create: bool) -> tuple[dict[str, Any] | None, str]:
    parts = path.split(".")
    node: Any = doc
    for part in parts[:-1]:
        child = node.get(part)
        if child is None and create:
            child = node[part] = {}
        if not isinstance(child, dict):
            if create:
                raise InvalidSelectorError(f"cannot set {path!r}: {part!r} is not an object")
            return None, parts[-1]
        node = child
    return node, parts[-1]


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    node, key = _parent(doc, path, create=True)
    assert node is not None
    node[key] = ejson.clone(value)


def _unset(doc: dict[str, Any], path: str, _value: Any) -> None:
    node, key = _parent(doc, path, create=False)
    if node is not None:
        node.pop(key, None)


def _inc(doc: dict[str, Any], path: str, amount: Any) -> None:
    node, key = _parent(doc, path, create=True)
    assert node is not None
    current = node.get(key, 0)
    if not _is_number(amount) or not _is_number(current):
        raise InvalidSelectorError(f"$inc needs numbers at {path!r}")
    node[key] = current + amount


def _push(doc: dict[str, Any], path: str, value: Any) -> None:
    node, key = _parent(doc, path, create=True)
    assert node is not None
    current = node.setdefault(key, [])
    if not isinstance(current, list):
        raise InvalidSelectorError(f"$push needs an array at {path!r}")
    current.append(ejson.clone(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_OPERATORS: dict[str, Callable[[dict[str, Any], str, Any], None]] = {
    "$set": _set,
    "$unset": _unset,
    "$inc": _inc,
    "$push": _push,
}


def apply_modifier(doc: Mapping[str, Any], modifier: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new document: ``doc`` with ``modifier`` applied (``_id`` always kept).

    Raises:
        InvalidSelectorError: unknown operator, operators mixed with plain fields, or a
            value of the wrong type.
    """
    if not isinstance(modifier, Mapping):
        raise InvalidSelectorError(f"a modifier must be a dict, not {type(modifier).__name__}")
    operators = [key for key in modifier if isinstance(key, str) and key.startswith("$")]
    if not operators:
        result = {k: ejson.clone(v) for k, v in modifier.items() if k != "_id"}
        return {"_id": doc["_id"], **result}
    if len(operators) != len(modifier):
        raise InvalidSelectorError("a modifier cannot mix $operators and plain fields")
    result = ejson.clone(dict(doc))
    for op, spec in modifier.items():
        apply = _OPERATORS.get(op)
        if apply is None:
            raise InvalidSelectorError(f"unsupported modifier {op!r}")
        if not isinstance(spec, Mapping):
            raise InvalidSelectorError(f"{op} needs a dict of fields")
        for path, value in spec.items():
            if path == "_id" or path.startswith("_id."):
                raise InvalidSelectorError("the _id of a document cannot change")
            apply(result, path, value)
    return result  # type: ignore[no-any-return]
