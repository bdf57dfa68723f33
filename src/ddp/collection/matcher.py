"""Selector compiler: a Mongo selector becomes nested closures, compiled once.

Semantics follow Meteor's minimongo (``packages/minimongo/common.js``), which is what a Meteor
client user expects from a local query:

* A *document selector* (``{"a": 1, "$or": [...]}``) ANDs its keys. ``$``-keys at this level are
  logical operators (``$and $or $nor $where $comment``); other keys are dotted paths.
* A path gives *branches* (see ``paths``); a *value selector* matches when some branch (or,
  for most operators, some element of an array branch) satisfies it.
* Element operators (``$lt $gt $lte $gte $mod $in $size $type $bits* $regex $elemMatch``)
  test one value at a time; value operators (``$eq $ne $nin $exists $not $all $options``) see
  all branches, so ``$ne``/``$nin``/``$not`` mean "no branch matches".
* Comparisons never cross types (``{"a": {"$gt": 1}}`` does not match ``"2"``), ``True`` is not
  ``1``, null matches a missing field, and equality of objects is key-order sensitive.

Stored arrays are tuples (frozen lists, see ``values.freeze_value``): every array test accepts
a tuple or a list, and equality goes through ``mongo_equal``, for which a tuple equals the list
of the same items, so a selector's lists match stored arrays as before.

Every malformed selector raises :class:`ddp.InvalidSelectorError` at compile time, never later;
so does a selector nested deeper than :data:`~ddp.collection.values.MAX_DEPTH`. A naive
``datetime`` in a selector is taken as UTC, as EJSON encodes it (stored dates are aware).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from ddp import ejson
from ddp.collection.paths import Branch, Lookup, make_lookup
from ddp.collection.values import (
    ARRAY_TYPES,
    MAX_DEPTH,
    MISSING,
    NUMBER_TYPES,
    TYPE_ALIASES,
    clone_value,
    exceeds_depth,
    mongo_equal,
    sort_key,
    type_code,
)
from ddp.exceptions import EJSONError, InvalidSelectorError

__all__ = ["DocMatcher", "compile_selector", "selector_is_id"]

DocMatcher: TypeAlias = Callable[[Any], bool]
_ElemMatcher: TypeAlias = Callable[[Any], bool]
_BranchedMatcher: TypeAlias = Callable[[list[Branch]], bool]

_LOGICAL = frozenset({"$and", "$or", "$nor", "$where", "$comment"})
_SCALAR_NUMBER = (int, float)


def selector_is_id(selector: Any) -> bool:
    """Return whether ``selector`` is a bare id (string, number or ObjectId) meaning ``{_id: x}``.

    Args:
        selector: A selector as given to ``find``.

    Returns:
        True for a string, an int or float (not a bool) or an ``ejson.ObjectId``.
    """
    return type(selector) in (str, int, float) or isinstance(selector, ejson.ObjectId)


def compile_selector(selector: Any) -> DocMatcher:
    """Compile ``selector`` into a function ``doc -> bool``.

    Args:
        selector: ``None`` or ``{}`` (everything), a bare id (``{"_id": id}``), a Python
            callable (as ``$where``) or a selector dict.

    Returns:
        The compiled matcher; call it with a stored document.

    Raises:
        InvalidSelectorError: If the selector is malformed.
    """
    if selector is None:
        return _everything
    if selector_is_id(selector):
        return _compile_document({"_id": selector}, in_elem_match=False)
    if callable(selector) and not isinstance(selector, Mapping):
        return _where(selector)
    if not isinstance(selector, Mapping):
        raise InvalidSelectorError(
            f"a selector must be a dict, an id or a callable, not {selector!r}"
        )
    # Meteor's safety net: a falsy _id (None, "", 0, False) matches nothing rather than
    # something unintended (a common bug: ``find({"_id": maybe_id})`` with ``maybe_id = None``).
    if "_id" in selector and not selector["_id"]:
        return _nothing
    if exceeds_depth(selector, MAX_DEPTH):
        raise InvalidSelectorError(f"a selector may not nest deeper than {MAX_DEPTH} levels")
    try:
        return _compile_document(_as_utc(selector), in_elem_match=False)
    except (TypeError, EJSONError, RecursionError) as exc:
        # A value of a type no selector can hold (a set, an object EJSON cannot write).
        raise InvalidSelectorError(f"bad selector: {exc}") from None


def _as_utc(value: Any) -> Any:
    """``value`` with every naive ``datetime`` inside it made UTC (copied only if need be).

    Stored dates are aware (EJSON decodes them in UTC), and Python refuses to compare an
    aware datetime with a naive one; EJSON itself writes a naive datetime as UTC.
    """
    cls = type(value)
    if cls is datetime.datetime:
        return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value
    if cls is dict:
        changed = {k: _as_utc(v) for k, v in value.items()}
        return changed if any(changed[k] is not v for k, v in value.items()) else value
    if cls is list:
        items = [_as_utc(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def _everything(_: Any) -> bool:
    return True


def _nothing(_: Any) -> bool:
    return False


def _where(fn: Callable[[Any], Any]) -> DocMatcher:
    def matcher(doc: Any) -> bool:
        # User code gets a copy: lists, not the store's frozen tuples, and nothing to mutate.
        return bool(fn(clone_value(doc)))

    return matcher


def _and(matchers: list[DocMatcher]) -> DocMatcher:
    if not matchers:
        return _everything
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers

        def both(doc: Any) -> bool:
            return first(doc) and second(doc)

        return both

    def all_of(doc: Any) -> bool:
        for matcher in matchers:
            if not matcher(doc):
                return False
        return True

    return all_of


def _and_branched(matchers: list[_BranchedMatcher]) -> _BranchedMatcher:
    if len(matchers) == 1:
        return matchers[0]

    def all_of(branches: list[Branch]) -> bool:
        for matcher in matchers:
            if not matcher(branches):
                return False
        return True

    return all_of


# -- document level -------------------------------------------------------------------------


def _compile_document(selector: Mapping[str, Any], *, in_elem_match: bool) -> DocMatcher:
    matchers: list[DocMatcher] = []
    for key, sub in selector.items():
        if not isinstance(key, str):
            raise InvalidSelectorError(f"selector keys must be strings, not {key!r}")
        if key.startswith("$"):
            matchers.append(_compile_logical(key, sub))
        else:
            matchers.append(_compile_path(key, sub))
    return _and(matchers)


def _compile_logical(operator: str, operand: Any) -> DocMatcher:
    if operator in ("$and", "$or", "$nor"):
        if not isinstance(operand, list) or not operand:
            raise InvalidSelectorError(f"{operator} must be a non-empty list of selectors")
        subs: list[DocMatcher] = []
        for sub in operand:
            if not isinstance(sub, Mapping):
                raise InvalidSelectorError(f"the entries of {operator} must be dicts, not {sub!r}")
            subs.append(_compile_document(sub, in_elem_match=False))
        if operator == "$and":
            return _and(subs)
        if operator == "$or":
            if len(subs) == 1:
                return subs[0]
            return lambda doc: any(m(doc) for m in subs)
        return lambda doc: not any(m(doc) for m in subs)
    if operator == "$where":
        if not callable(operand):
            raise InvalidSelectorError("$where must be a Python callable taking the document")
        return _where(operand)
    if operator == "$comment":
        return _everything
    raise InvalidSelectorError(f"unrecognized logical operator: {operator}")


def _single_field_lookup(key: str, general: Lookup) -> Lookup:
    def lookup(doc: Any) -> list[Branch]:
        if type(doc) is dict:
            return [(doc.get(key, MISSING), False)]
        return general(doc)

    return lookup


def _compile_path(path: str, value_selector: Any) -> DocMatcher:
    lookup = make_lookup(path)
    branched, element = _compile_value(value_selector)
    if "." in path:
        return lambda doc: branched(lookup(doc))
    if element is None:
        fast_lookup = _single_field_lookup(path, lookup)
        return lambda doc: branched(fast_lookup(doc))
    # The hot case: a top-level field and one element test. No branch list is built.
    test, expand, skip_arrays = element

    def matcher(doc: Any) -> bool:
        if type(doc) is not dict:
            return branched(lookup(doc))
        value = doc.get(path, MISSING)
        if expand and type(value) in ARRAY_TYPES:
            if not skip_arrays and test(value):
                return True
            for item in value:
                if test(item):
                    return True
            return False
        return test(value)

    return matcher


# -- value level ------------------------------------------------------------------------------

_Element: TypeAlias = tuple[_ElemMatcher, bool, bool]  # (test, expand arrays, skip the arrays)


def _branched(
    test: _ElemMatcher, expand: bool = True, skip_arrays: bool = False
) -> _BranchedMatcher:
    if not expand:
        return lambda branches: any(test(value) for value, _ in branches)

    def matcher(branches: list[Branch]) -> bool:
        for value, dont_iterate in branches:
            if type(value) in ARRAY_TYPES and not dont_iterate:
                if not skip_arrays and test(value):
                    return True
                for item in value:
                    if test(item):
                        return True
            elif test(value):
                return True
        return False

    return matcher


def _invert(matcher: _BranchedMatcher) -> _BranchedMatcher:
    return lambda branches: not matcher(branches)


def _is_operator_object(value: Any, inconsistent_ok: bool = False) -> bool:
    if not isinstance(value, Mapping) or not value:
        return False
    flags = {isinstance(k, str) and k.startswith("$") for k in value}
    if len(flags) > 1:
        if inconsistent_ok:
            return False
        raise InvalidSelectorError(
            f"inconsistent operator object (mixes $-keys and fields): {value!r}"
        )
    return flags.pop()


def _compile_value(value_selector: Any) -> tuple[_BranchedMatcher, _Element | None]:
    """Compile a value selector into a branched matcher, plus its element test if it is one."""
    if isinstance(value_selector, (re.Pattern, ejson.Regex)):
        test = _regex_test(_as_pattern(value_selector))
        return _branched(test), (test, True, False)
    if _is_operator_object(value_selector):
        return _compile_operators(value_selector)
    test = _equality_test(value_selector)
    return _branched(test), (test, True, False)


def _compile_operators(selector: Mapping[str, Any]) -> tuple[_BranchedMatcher, _Element | None]:
    matchers: list[_BranchedMatcher] = []
    elements: list[_Element] = []
    for operator, operand in selector.items():
        value_op = _VALUE_OPERATORS.get(operator)
        if value_op is not None:
            matchers.append(value_op(operand, selector))
            continue
        element_op = _ELEMENT_OPERATORS.get(operator)
        if element_op is None:
            raise InvalidSelectorError(f"unrecognized operator: {operator}")
        compile_test, expand, skip_arrays = element_op
        test = compile_test(operand, selector)
        matchers.append(_branched(test, expand, skip_arrays))
        elements.append((test, expand, skip_arrays))
    single = elements[0] if len(matchers) == 1 and len(elements) == 1 else None
    return _and_branched(matchers), single


# -- element tests ----------------------------------------------------------------------------


def _equality_test(expected: Any) -> _ElemMatcher:
    if _is_operator_object(expected):
        raise InvalidSelectorError(f"cannot use an operator object as a value: {expected!r}")
    if expected is None or expected is MISSING:
        return lambda v: v is None or v is MISSING
    cls = type(expected)
    if cls is str:
        return lambda v: type(v) is str and v == expected
    if cls is bool:
        return lambda v: v is expected
    if cls in _SCALAR_NUMBER and expected == expected:
        return lambda v: type(v) in _SCALAR_NUMBER and v == expected
    ejson.to_json_value(expected)  # a value no document can hold (a set...): EJSONError now
    return lambda v: mongo_equal(expected, v)


def _as_pattern(value: re.Pattern[str] | ejson.Regex) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    try:
        return value.compile()
    except EJSONError as exc:
        raise InvalidSelectorError(str(exc)) from None


def _same_regex(a: Any, b: re.Pattern[str]) -> bool:
    if isinstance(a, ejson.Regex):
        try:
            a = a.compile()
        except EJSONError:
            return False
    return bool(a.pattern == b.pattern and a.flags == b.flags)


def _regex_test(pattern: re.Pattern[str]) -> _ElemMatcher:
    search = pattern.search

    def test(value: Any) -> bool:
        if type(value) is str:
            return search(value) is not None
        if isinstance(value, (re.Pattern, ejson.Regex)):
            return _same_regex(value, pattern)
        return False

    return test


# Meteor accepts only the options JavaScript and MongoDB share ("g" has no effect).
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "g": 0}


def _compile_regex(operand: Any, selector: Mapping[str, Any]) -> _ElemMatcher:
    if isinstance(operand, (re.Pattern, ejson.Regex)):
        pattern = _as_pattern(operand)
        source, flags = pattern.pattern, pattern.flags
    elif isinstance(operand, str):
        source, flags = operand, 0
    else:
        raise InvalidSelectorError(
            f"$regex must be a string or a compiled pattern, not {operand!r}"
        )
    options = selector.get("$options")
    if options is not None:
        # Options given in $options (even "") replace those of a compiled pattern, as in Meteor.
        if not isinstance(options, str) or any(o not in _REGEX_FLAGS for o in options):
            raise InvalidSelectorError(f"$options may only hold i, m and g, not {options!r}")
        flags = 0
        for option in options:
            flags |= _REGEX_FLAGS[option]
    try:
        pattern = re.compile(source, flags)
    except re.error as exc:
        raise InvalidSelectorError(f"bad $regex {source!r}: {exc}") from None
    return _regex_test(pattern)


def _compile_inequality(accept: Callable[[int], bool]) -> Callable[[Any, Any], _ElemMatcher]:
    """Build the compiler of one of ``$lt $lte $gt $gte`` from a test on the comparison sign."""

    def compile_test(operand: Any, _: Any) -> _ElemMatcher:
        if isinstance(operand, list):
            # Arrays never compare with anything for an inequality (minimongo's rule).
            return lambda v: False
        if operand is MISSING:
            operand = None
        code = type_code(operand)
        operand_key = sort_key(operand)
        cls = type(operand)
        if cls in NUMBER_TYPES or cls is str or cls is datetime.datetime:
            # Same-type values compare natively (NaN compares false, as in JavaScript).
            same = tuple(NUMBER_TYPES) if cls in NUMBER_TYPES else (cls,)

            def native(v: Any) -> bool:
                if type(v) not in same:
                    return False
                if v < operand:
                    return accept(-1)
                if v > operand:
                    return accept(1)
                return v == operand and accept(0)

            return native

        def generic(v: Any) -> bool:
            if type_code(v) != code:
                return False
            key = sort_key(None if v is MISSING else v)
            return accept(-1 if key < operand_key else 1 if key > operand_key else 0)

        return generic

    return compile_test


def _compile_mod(operand: Any, _: Any) -> _ElemMatcher:
    if not (
        isinstance(operand, list)
        and len(operand) == 2
        and all(type(x) in _SCALAR_NUMBER for x in operand)
    ):
        raise InvalidSelectorError("$mod needs a list of two numbers [divisor, remainder]")
    divisor, remainder = operand
    if divisor == 0:
        return lambda v: False

    def test(value: Any) -> bool:
        # JavaScript's % keeps the dividend's sign, like math.fmod (Python's % does not).
        return type(value) in _SCALAR_NUMBER and math.fmod(value, divisor) == remainder

    return test


def _compile_in(operand: Any, _: Any = None) -> _ElemMatcher:
    if not isinstance(operand, list):
        raise InvalidSelectorError(f"$in and $nin need a list, not {operand!r}")
    strings: set[str] = set()
    numbers: set[float] = set()
    others: list[_ElemMatcher] = []
    for option in operand:
        if isinstance(option, (re.Pattern, ejson.Regex)):
            others.append(_regex_test(_as_pattern(option)))
        elif _is_operator_object(option):
            raise InvalidSelectorError("cannot nest $-operators under $in")
        elif type(option) is str:
            strings.add(option)
        elif type(option) in _SCALAR_NUMBER and option == option:
            numbers.add(option)
        else:
            others.append(_equality_test(option))

    def test(value: Any) -> bool:
        cls = type(value)
        if cls is str and value in strings:
            return True
        if cls in _SCALAR_NUMBER and value in numbers:
            return True
        for other in others:
            if other(value):
                return True
        return False

    return test


def _compile_size(operand: Any, _: Any) -> _ElemMatcher:
    if isinstance(operand, str):
        operand = 0  # what MongoDB (and so minimongo) does with a string
    elif type(operand) not in _SCALAR_NUMBER:
        raise InvalidSelectorError(f"$size needs a number, not {operand!r}")
    return lambda v: type(v) in ARRAY_TYPES and len(v) == operand


def _compile_type(operand: Any, _: Any) -> _ElemMatcher:
    if isinstance(operand, str):
        code = TYPE_ALIASES.get(operand)
        if code is None:
            raise InvalidSelectorError(f"unknown $type alias {operand!r}")
    elif type(operand) in _SCALAR_NUMBER and operand in _BSON_TYPE_CODES:
        code = int(operand)
    else:
        raise InvalidSelectorError(f"$type needs a number or a type name, not {operand!r}")
    return lambda v: v is not MISSING and type_code(v) == code


_BSON_TYPE_CODES = frozenset(range(1, 20))


def _operand_bitmask(operand: Any, operator: str) -> int:
    if type(operand) in _SCALAR_NUMBER and operand >= 0 and float(operand).is_integer():
        return int(operand)
    if isinstance(operand, (bytes, bytearray)):
        return int.from_bytes(operand, "little")
    if isinstance(operand, list) and all(type(p) is int and p >= 0 for p in operand):
        mask = 0
        for position in operand:
            mask |= 1 << position
        return mask
    raise InvalidSelectorError(
        f"{operator} needs a non-negative integer bitmask, binary data or a list of bit "
        f"positions, not {operand!r}"
    )


def _value_bits(value: Any) -> int | None:
    cls = type(value)
    if cls is int and -(2**63) <= value < 2**63:
        return int(value)  # Python ints are two's complement, infinitely sign-extended
    if cls is float and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "little")
    return None


def _bits_operator(
    operator: str, accept: Callable[[int, int], bool]
) -> Callable[[Any, Any], _ElemMatcher]:
    def compile_test(operand: Any, _: Any) -> _ElemMatcher:
        mask = _operand_bitmask(operand, operator)

        def test(value: Any) -> bool:
            bits = _value_bits(value)
            return bits is not None and accept(bits & mask, mask)

        return test

    return compile_test


def _compile_elem_match(operand: Any, _: Any) -> _ElemMatcher:
    if not isinstance(operand, Mapping):
        raise InvalidSelectorError(f"$elemMatch needs a dict, not {operand!r}")
    non_logical = {k: v for k, v in operand.items() if k not in _LOGICAL}
    if _is_operator_object(non_logical, inconsistent_ok=True):
        value_matcher, _element = _compile_value(operand)

        def on_values(value: Any) -> bool:
            if type(value) not in ARRAY_TYPES:
                return False
            # dont_iterate: {$elemMatch: {$gt: 5}} matches [8] but not [[8]].
            return any(value_matcher([(item, True)]) for item in value)

        return on_values
    doc_matcher = _compile_document(operand, in_elem_match=True)

    def on_documents(value: Any) -> bool:
        if type(value) not in ARRAY_TYPES:
            return False
        for item in value:
            # Only objects (or arrays, through numeric paths) can match a field selector.
            if type(item) is not dict and type(item) not in ARRAY_TYPES:
                return False
            if doc_matcher(item):
                return True
        return False

    return on_documents


_ELEMENT_OPERATORS: dict[str, tuple[Callable[[Any, Any], _ElemMatcher], bool, bool]] = {
    # operator: (compile(operand, whole value selector), expand arrays, skip the arrays)
    "$lt": (_compile_inequality(lambda c: c < 0), True, False),
    "$lte": (_compile_inequality(lambda c: c <= 0), True, False),
    "$gt": (_compile_inequality(lambda c: c > 0), True, False),
    "$gte": (_compile_inequality(lambda c: c >= 0), True, False),
    "$mod": (_compile_mod, True, False),
    "$in": (_compile_in, True, False),
    # {a: [[5, 5]]} matches {$size: 1}, not {$size: 2}: the leaf array is not expanded.
    "$size": (_compile_size, False, False),
    # {a: [5]} is not of type array but {a: [[5]]} is: expand, without the array itself.
    "$type": (_compile_type, True, True),
    "$bitsAllSet": (_bits_operator("$bitsAllSet", lambda hit, mask: hit == mask), True, False),
    "$bitsAnySet": (_bits_operator("$bitsAnySet", lambda hit, mask: hit != 0), True, False),
    "$bitsAllClear": (_bits_operator("$bitsAllClear", lambda hit, mask: hit == 0), True, False),
    "$bitsAnyClear": (_bits_operator("$bitsAnyClear", lambda hit, mask: hit != mask), True, False),
    "$regex": (_compile_regex, True, False),
    "$elemMatch": (_compile_elem_match, False, False),
}


def _op_eq(operand: Any, _: Any) -> _BranchedMatcher:
    return _branched(_equality_test(operand))


def _op_ne(operand: Any, _: Any) -> _BranchedMatcher:
    return _invert(_branched(_equality_test(operand)))


def _op_nin(operand: Any, _: Any) -> _BranchedMatcher:
    return _invert(_branched(_compile_in(operand)))


def _op_exists(operand: Any, _: Any) -> _BranchedMatcher:
    exists = _branched(lambda v: v is not MISSING)
    return exists if operand else _invert(exists)


def _op_not(operand: Any, _: Any) -> _BranchedMatcher:
    matcher, _element = _compile_value(operand)
    return _invert(matcher)


def _op_options(_: Any, selector: Mapping[str, Any]) -> _BranchedMatcher:
    if "$regex" not in selector:
        raise InvalidSelectorError("$options needs a $regex")
    return lambda branches: True


def _op_all(operand: Any, _: Any) -> _BranchedMatcher:
    if not isinstance(operand, list):
        raise InvalidSelectorError(f"$all needs a list, not {operand!r}")
    if not operand:
        return lambda branches: False  # what MongoDB does with $all: []
    matchers: list[_BranchedMatcher] = []
    for criterion in operand:
        if _is_operator_object(criterion):
            raise InvalidSelectorError("$all cannot hold $-operators")
        matcher, _element = _compile_value(criterion)
        matchers.append(matcher)
    # Each criterion may be satisfied by a different branch.
    return _and_branched(matchers)


_VALUE_OPERATORS: dict[str, Callable[[Any, Mapping[str, Any]], _BranchedMatcher]] = {
    "$eq": _op_eq,
    "$ne": _op_ne,
    "$nin": _op_nin,
    "$exists": _op_exists,
    "$not": _op_not,
    "$options": _op_options,
    "$all": _op_all,
}
