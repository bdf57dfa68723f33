"""Mongo value semantics: type codes, type order, equality and comparison keys.

Minimongo compares values of different types by a fixed *type order* (null < numbers <
strings < objects < arrays < binary < ObjectId < booleans < dates < regular expressions), and
values of one type by their natural order. We turn every value into a *key*: a tuple whose
first item is the type rank, so plain tuple comparison gives Mongo's order and the sorter can
use ``sorted(key=...)`` and ``bisect`` instead of a comparison function.

``MISSING`` stands for JavaScript's ``undefined``: a path that leads nowhere. It is distinct
from ``None`` (null) in storage, but equality and comparisons treat the two alike, as
minimongo does.
"""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any, Final

from ddp import ejson
from ddp.exceptions import DocumentDepthError, InvalidSelectorError

__all__ = [
    "ARRAY_TYPES",
    "MAX_DEPTH",
    "MISSING",
    "NUMBER_TYPES",
    "TYPE_ALIASES",
    "DocumentDepthError",
    "clone_value",
    "decode_frozen",
    "exceeds_depth",
    "freeze_value",
    "mongo_equal",
    "sort_key",
    "type_code",
]


class _Missing:
    """The type of ``MISSING``: JavaScript's ``undefined``, a path that leads nowhere."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()

MAX_DEPTH: Final = 128
"""How deeply a stored document (or a stream event's arguments) may nest.

A document whose values are all scalars has depth 1; every object or array inside adds one.
A message carrying a deeper document is refused as a whole (a :class:`DocumentDepthError`,
logged and counted by the registry) and the rest of its batch is applied. MongoDB itself
stores no more than 100 levels, so a Meteor server never publishes deeper data; the limit
exists so that matching, sorting, projecting and copying (recursive, for speed) stay far
from Python's recursion limit whatever a server sends.
"""


# What counts as an array: stored arrays are tuples (see freeze_value), user values lists.
ARRAY_TYPES: Final = frozenset({tuple, list})

# bool is a subclass of int in Python but never a number in Mongo; test with ``type(v) in``.
NUMBER_TYPES: Final = frozenset({int, float, decimal.Decimal})

# Meteor's ``LocalCollection._f._type`` codes (BSON type numbers), used by ``$type``.
_NUMBER, _STRING, _OBJECT, _ARRAY, _BINARY, _OID, _BOOL, _DATE, _NULL, _REGEX, _FUNC = (
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    9,
    10,
    11,
    13,
)

# MongoDB's string aliases for ``$type`` (an extension: Meteor only takes the numbers).
TYPE_ALIASES: Final[dict[str, int]] = {
    "double": _NUMBER,
    "int": _NUMBER,
    "long": _NUMBER,
    "decimal": _NUMBER,
    "number": _NUMBER,
    "string": _STRING,
    "object": _OBJECT,
    "array": _ARRAY,
    "binData": _BINARY,
    "objectId": _OID,
    "bool": _BOOL,
    "date": _DATE,
    "null": _NULL,
    "regex": _REGEX,
    "javascript": _FUNC,
}

_TYPE_BY_CLASS: Final[dict[type, int]] = {
    int: _NUMBER,
    float: _NUMBER,
    decimal.Decimal: _NUMBER,
    str: _STRING,
    dict: _OBJECT,
    list: _ARRAY,
    tuple: _ARRAY,
    bytes: _BINARY,
    bytearray: _BINARY,
    memoryview: _BINARY,
    bool: _BOOL,
    datetime.datetime: _DATE,
    type(None): _NULL,
    re.Pattern: _REGEX,
    ejson.Regex: _REGEX,
    ejson.ObjectId: _OID,
}

# Sort rank of each type code (MongoDB's BSON comparison order as minimongo has it).
_RANK: Final[dict[int, int]] = {
    _NULL: 0,
    _NUMBER: 1,
    _STRING: 2,
    _OBJECT: 3,
    _ARRAY: 4,
    _BINARY: 5,
    _OID: 6,
    _BOOL: 7,
    _DATE: 8,
    _REGEX: 9,
    _FUNC: 100,
}


def type_code(value: Any) -> int:
    """Return minimongo's type code of ``value`` (``MISSING`` counts as null).

    Args:
        value: Any stored value.

    Returns:
        The BSON type number: 1 number, 2 string, 3 object, 4 array, 5 binary, 7 ObjectId,
        8 bool, 9 date, 10 null, 11 regex, 13 function.
    """
    code = _TYPE_BY_CLASS.get(type(value))
    if code is not None:
        return code
    if value is MISSING:
        return _NULL
    if isinstance(value, ejson.ObjectId):
        return _OID
    if callable(value):
        return _FUNC
    # Subclasses of the builtins (rare) and custom EJSON types: objects, like Meteor's
    # fallback; a datetime subclass stays a date.
    for cls, code in _TYPE_BY_CLASS.items():
        if cls is not bool and isinstance(value, cls):
            return code
    return _OBJECT


def mongo_equal(a: Any, b: Any) -> bool:
    """Minimongo equality: EJSON equality, key-order sensitive, with null == missing.

    Args:
        a: A value.
        b: Another value.

    Returns:
        Whether the two values are equal for a selector.
    """
    if a is MISSING:
        a = None
    if b is MISSING:
        b = None
    return ejson.equals(a, b, key_order_sensitive=True)


def _number_key(value: Any) -> tuple[Any, ...]:
    # NaN sorts before every other number in MongoDB, and Python's NaN compares false to
    # everything, so it gets its own sub-rank.
    if value != value:
        return (1, 0, 0)
    return (1, 1, value)


def sort_key(value: Any) -> tuple[Any, ...]:
    """Return a key for ``value`` such that keys compare as minimongo compares the values.

    Args:
        value: Any stored value (``MISSING`` sorts first, before null).

    Returns:
        A tuple whose first item is the type rank.

    Raises:
        InvalidSelectorError: For regular expressions and functions, which Mongo cannot sort.
    """
    cls = type(value)
    if cls is str:
        return (2, value)
    if cls is int or cls is float or cls is decimal.Decimal:
        return _number_key(value)
    if value is MISSING:
        return (-1,)
    code = type_code(value)
    if code == _NULL:
        return (0,)
    if code == _NUMBER:
        return _number_key(value)
    if code == _STRING:
        return (2, str(value))
    if code == _OBJECT:
        if not isinstance(value, dict):
            value = ejson.to_json_value(value)
            if not isinstance(value, dict):
                return sort_key(value)
        # Meteor compares objects as the flat array [k1, v1, k2, v2, ...].
        flat: list[tuple[Any, ...]] = []
        for k, v in value.items():
            flat.append((2, k))
            flat.append(sort_key(v))
        return (3, tuple(flat))
    if code == _ARRAY:
        return (4, tuple(sort_key(v) for v in value))
    if code == _BINARY:
        data = bytes(value)
        return (5, len(data), data)
    if code == _OID:
        return (6, value.hex)
    if code == _BOOL:
        return (7, bool(value))
    if code == _DATE:
        return (8, value.timestamp())
    if code == _REGEX:
        raise InvalidSelectorError("sorting is not supported on regular expressions")
    raise InvalidSelectorError("sorting is not supported on functions")


_IMMUTABLE: Final = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        decimal.Decimal,
        datetime.datetime,
        ejson.ObjectId,
        ejson.Regex,
        re.Pattern,
    }
)


def clone_value(value: Any) -> Any:
    """Return a copy of ``value`` that shares nothing mutable with it.

    Containers are copied recursively; immutable scalars are shared; anything else (custom
    EJSON types) goes through ``ejson.clone``. This is the copy every document handed to
    user code receives, so it is written for speed: most stored values are scalars.

    Args:
        value: A stored value.

    Returns:
        An independent copy.
    """
    cls = type(value)
    if cls is dict:
        return {k: v if type(v) in _IMMUTABLE else clone_value(v) for k, v in value.items()}
    if cls is tuple or cls is list:
        # A stored tuple is a frozen array (see freeze_value): users get a list back.
        return [v if type(v) in _IMMUTABLE else clone_value(v) for v in value]
    if cls in _IMMUTABLE or value is MISSING:
        return value
    return ejson.clone(value)


def freeze_value(value: Any, depth: int = 1) -> Any:
    """Return ``value`` with every list inside it (at any depth) turned into a tuple.

    The store keeps arrays frozen so that CPython's cyclic garbage collector can stop
    tracking documents: a dict or tuple holding only atomic values is untracked after its
    first collection, while a dict holding a list never is, and 100k tracked documents make
    every full collection walk them all. Dicts stay dicts; one is copied only when something
    inside it changes, so values without lists come back as they are (the same object).
    Every read path treats a tuple as an array, and :func:`clone_value` turns it back into
    a list, so user code never sees one (EJSON decoding never makes tuples).

    Args:
        value: A decoded field value, owned by the store.
        depth: The nesting level of ``value`` itself (a document's top-level fields are at
            level 2: the document is level 1).

    Returns:
        The frozen value.

    Raises:
        DocumentDepthError: If a container inside ``value`` sits deeper than
            :data:`MAX_DEPTH`; nothing of ``value`` was changed then.
    """
    cls = type(value)
    if cls is list:
        if depth > MAX_DEPTH:
            raise DocumentDepthError(f"a document nests deeper than {MAX_DEPTH} levels")
        for item in value:
            if type(item) in _CONTAINERS:
                break
        else:
            return tuple(value)  # the common case: an array of scalars, copied in C
        return tuple([freeze_value(v, depth + 1) for v in value])
    if cls is dict:
        if depth > MAX_DEPTH:
            raise DocumentDepthError(f"a document nests deeper than {MAX_DEPTH} levels")
        copy: dict[str, Any] | None = None
        for k, v in value.items():
            if type(v) in _CONTAINERS:
                frozen = freeze_value(v, depth + 1)
                if frozen is not v:
                    if copy is None:
                        copy = dict(value)
                    copy[k] = frozen
        return value if copy is None else copy
    return value


def decode_frozen(value: Any, depth: int = 1) -> Any:
    """EJSON-decode a value as parsed from JSON straight into the store's form, in one walk.

    The result is what ``freeze_value(ejson.from_json_value(value), depth)`` gives: typed
    values decoded (by :mod:`ddp.ejson`'s rules, exactly), every array a tuple. Its dicts
    and tuples are new (``value`` is left as it was), so a dict holding only atomic values
    is born untracked by CPython's cyclic garbage collector, which then never walks it (a
    dict a JSON parser made is tracked until a full collection).

    Args:
        value: A JSON value as parsed (dicts, lists, scalars), nothing decoded yet.
        depth: The nesting level of ``value`` itself (see :func:`freeze_value`).

    Returns:
        The decoded, frozen value.

    Raises:
        EJSONError: A malformed typed value (``{"$date": "x"}``, bad base64, ...).
        DocumentDepthError: A container inside ``value`` sits deeper than :data:`MAX_DEPTH`.
    """
    cls = type(value)
    if cls is dict:
        size = len(value)
        if size <= 2 and size:
            if size == 1 and "$date" in value:  # the typed value most documents carry
                return _decode_date(value["$date"])
            typed = ejson.decode_typed(value)
            if typed is not ejson.NOT_TYPED:
                # Depth counts decoded values: a typed value is a scalar, an $escape a dict.
                return freeze_value(typed, depth) if type(typed) is dict else typed
        if depth > MAX_DEPTH:
            raise DocumentDepthError(f"a document nests deeper than {MAX_DEPTH} levels")
        inner = depth + 1
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k] = decode_frozen(v, inner) if type(v) in _CONTAINERS else v
        return out
    if cls is list:
        if depth > MAX_DEPTH:
            raise DocumentDepthError(f"a document nests deeper than {MAX_DEPTH} levels")
        for item in value:
            if type(item) in _CONTAINERS:
                break
        else:
            return tuple(value)  # the common case: an array of scalars, copied in C
        inner = depth + 1
        return tuple([decode_frozen(v, inner) if type(v) in _CONTAINERS else v for v in value])
    return value


_decode_date: Final = ejson.decode_date


def exceeds_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Return whether ``value`` nests deeper than ``limit`` levels (counted as for documents).

    Iterative, so it answers for any depth without recursing (selectors and stream events
    are checked with it before anything recursive touches them).

    Args:
        value: A decoded value (dicts, lists and tuples are containers).
        limit: The deepest level allowed; a scalar is level 0, a container level 1.

    Returns:
        True if some container sits deeper than ``limit``.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        cls = type(item)
        if cls is dict:
            children: Any = item.values()
        elif cls is list or cls is tuple:
            children = item
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if type(child) in _WALKED:
                push((child, depth + 1))
    return False


_CONTAINERS: Final = frozenset({list, dict})
_WALKED: Final = frozenset({list, dict, tuple})
