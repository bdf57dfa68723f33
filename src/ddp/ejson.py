"""EJSON: Meteor's extended JSON, the value format of DDP's ``fields``, ``params`` and ``result``.

EJSON is JSON plus a few types, each written as a small object whose keys start with ``$``:

============================  ==========================================  ===================
Python value                  wire form                                   notes
============================  ==========================================  ===================
aware ``datetime`` (UTC)      ``{"$date": <ms since the epoch>}``         ms precision
``bytes``                     ``{"$binary": "<standard base64>"}``        bytearray and
                                                                          memoryview encode
``float`` inf, -inf, nan      ``{"$InfNaN": 1 | -1 | 0}``
:class:`Regex`                ``{"$regexp": source, "$flags": flags}``    ``re.Pattern`` too
:class:`ObjectId`             ``{"$type": "oid", "$value": "<hex>"}``
``decimal.Decimal``           ``{"$type": "Decimal", "$value": "<str>"}``
registered custom types       ``{"$type": name, "$value": <json>}``       :func:`register_type`
:class:`OpaqueCustomType`     an unregistered ``$type``, kept verbatim
a dict shaped like the above  ``{"$escape": {...}}``                      keys kept literal
============================  ==========================================  ===================

The rules follow Meteor's ``packages/ejson`` exactly: which objects are candidates for
decoding (at most two keys, all starting with ``$``), the order converters are tried in, the
escaping of user dicts that look like a converter's form, the flag filter on regular
expressions, and ``equals``/``clone``/canonical ``dumps``. Deliberate differences, all where
Python has no JavaScript equivalent, are listed on the functions concerned.

Decisions where Meteor is silent or JavaScript-specific:

* A naive ``datetime`` is taken to be UTC (never the machine's local time). Decoded dates are
  always aware, in UTC. Sub-millisecond digits are dropped (floored) on encoding.
* Tuples encode as arrays. ``enum.Enum`` members encode as their value and ``uuid.UUID`` as
  its string, which is what orjson does natively (so both encoding paths agree).
* Python ints encode exactly, whatever their size. A JavaScript peer reads any integer beyond
  2**53 as an approximate double; keep such numbers in strings (or ``Decimal``) if it matters.
* Anything else (sets, ``datetime.date``, arbitrary objects, non-string dict keys, cycles)
  raises :class:`ddp.EJSONError`.

Depth: a JSON text may nest arrays and objects at most :data:`MAX_DEPTH` (128) levels deep,
counting the outermost one. :func:`loads` refuses a deeper text and :func:`dumps` a value that
would make one, with :class:`ddp.EJSONError`; ``ddp.messages`` applies the same limit to every
DDP frame. MongoDB stores documents at most 100 levels deep, so nothing a Meteor server
publishes comes near it, and every part of ``ddp`` can walk a value within it without running
out of stack. The functions that walk Python values (:func:`to_json_value`,
:func:`from_json_value`, :func:`equals`, :func:`clone`) have no fixed limit, but raise
:class:`ddp.EJSONError` rather than ``RecursionError`` on a value too deep for the stack.

Speed: :func:`loads` never walks a value whose text holds no ``$``; :func:`dumps` first lets
orjson encode the value, converting dates, bytes and ObjectIds in a hook, and walks the value
only when the output shows something orjson cannot get right (a ``"$`` it did not write
itself, or a ``null`` that might have been a NaN).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol, Self, TypeVar, runtime_checkable

import orjson

from ddp.exceptions import EJSONError

__all__ = [
    "MAX_DEPTH",
    "NOT_TYPED",
    "CustomType",
    "ObjectId",
    "OpaqueCustomType",
    "Regex",
    "clone",
    "decode_date",
    "decode_typed",
    "dumps",
    "equals",
    "exceeds_max_depth",
    "from_json_value",
    "from_parsed_json",
    "loads",
    "register_type",
    "serialize_json",
    "to_json_value",
    "try_fast_dumps",
    "unregister_type",
]

T = TypeVar("T")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)
_FAST_MS_LIMIT: Final = 2**32 * 1000  # dates before 2106 decode through fromtimestamp
_fromtimestamp: Final = datetime.fromtimestamp
_ORJSON_OPTS: Final = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_HEX24: Final = re.compile(r"[0-9a-f]{24}")

MAX_DEPTH: Final = 128
"""The deepest nesting of arrays and objects a JSON text (an EJSON text, a DDP frame) may have.

The outermost array or object is level 1; scalars add none."""

# A JSON string (brackets inside one are not nesting); the text is known to be valid JSON.
_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")


# --------------------------------------------------------------------------------------------
# Value types


class ObjectId:
    """A MongoDB ObjectID (Meteor's ``Mongo.ObjectID``): 12 bytes written as 24 hex digits.

    Equal and hashing by value; ``str()`` gives the bare hex, as Meteor's ``valueOf()``.

    Args:
        hex: 24 hexadecimal digits (either case; kept in lowercase).

    Raises:
        EJSONError: ``hex`` is not 24 hexadecimal digits.
    """

    __slots__ = ("_hex",)

    def __init__(self, hex: str) -> None:
        text = hex.lower() if isinstance(hex, str) else hex
        if not isinstance(text, str) or not _HEX24.fullmatch(text):
            raise EJSONError(f"an ObjectId needs 24 hexadecimal digits, got {hex!r}")
        self._hex: str = text

    @classmethod
    def generate(cls) -> ObjectId:
        """Return a new random ObjectId, as Meteor's ``new Mongo.ObjectID()`` does."""
        return cls(secrets.token_hex(12))

    @property
    def hex(self) -> str:
        """The 24 lowercase hexadecimal digits."""
        return self._hex

    def to_json_value(self) -> str:
        """Return the EJSON ``$value``: the hex digits."""
        return self._hex

    @classmethod
    def from_json_value(cls, value: Any) -> ObjectId:
        """Build an ObjectId from its EJSON ``$value``."""
        if not isinstance(value, str):
            raise EJSONError(f"an ObjectId $value must be a string, got {value!r}")
        return cls(value)

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        return f"ObjectId({self._hex!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self._hex == other._hex
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("ObjectId", self._hex))

    def __lt__(self, other: ObjectId) -> bool:
        if isinstance(other, ObjectId):
            return self._hex < other._hex
        return NotImplemented


@dataclass(frozen=True, slots=True)
class Regex:
    """A JavaScript regular expression as EJSON carries it: source text and flags, verbatim.

    JavaScript's regex syntax is not Python's, so a decoded ``$regexp`` stays this value type
    (it round-trips exactly) rather than a compiled pattern; :meth:`compile` translates it
    when the pattern is also valid Python. ``re.Pattern`` is accepted when encoding.

    Attributes:
        source: The pattern text (JavaScript's ``RegExp.source``).
        flags: JavaScript flags such as ``"gi"``.
    """

    source: str
    flags: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not isinstance(self.flags, str):
            raise EJSONError(f"a Regex needs string source and flags, got {self!r}")

    def compile(self) -> re.Pattern[str]:
        """Compile to a Python pattern: ``i``, ``m`` and ``s`` map to their Python flags.

        ``g``, ``y`` and ``u`` have no Python meaning for a pattern and are ignored.

        Raises:
            EJSONError: the source is not a valid Python regular expression.
        """
        py_flags = 0
        for flag, py_flag in _JS_TO_PY_FLAGS.items():
            if flag in self.flags:
                py_flags |= py_flag
        try:
            return re.compile(self.source, py_flags)
        except re.error as exc:
            raise EJSONError(f"cannot compile {self.source!r} as a Python pattern: {exc}") from exc

    @classmethod
    def from_pattern(cls, pattern: re.Pattern[str]) -> Regex:
        """Convert a compiled Python pattern, with its flags in JavaScript's order (``ims``).

        Raises:
            EJSONError: a bytes pattern, or a flag JavaScript lacks (``re.VERBOSE``, ...).
        """
        if not isinstance(pattern.pattern, str):
            raise EJSONError("a bytes regular expression cannot be encoded as EJSON")
        if pattern.flags & _UNSUPPORTED_PY_FLAGS:
            raise EJSONError(
                f"regular expression flags {re.RegexFlag(pattern.flags & _UNSUPPORTED_PY_FLAGS)!r}"
                " have no JavaScript equivalent"
            )
        flags = "".join(js for js, py in _JS_TO_PY_FLAGS.items() if pattern.flags & py)
        return cls(pattern.pattern, flags)


_JS_TO_PY_FLAGS: Final = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_UNSUPPORTED_PY_FLAGS: Final = re.VERBOSE | re.LOCALE | re.DEBUG


@dataclass(frozen=True, slots=True)
class OpaqueCustomType:
    """A ``{"$type": name, "$value": value}`` whose type is not registered here.

    Meteor throws on such a value; we keep it so that it encodes back identically.

    Attributes:
        name: The ``$type`` name.
        value: The raw ``$value`` JSON, undecoded.
    """

    name: str
    value: Any


@runtime_checkable
class CustomType(Protocol):
    """What a class registered with :func:`register_type` without factories provides.

    ``from_json_value`` is a classmethod (or staticmethod) building an instance from the
    ``$value`` JSON; ``to_json_value`` returns that JSON. Like Meteor, the ``$value`` is passed
    raw: a type whose JSON holds EJSON values calls :func:`to_json_value` /
    :func:`from_json_value` itself. Optionally, ``clone()`` overrides the default clone (a
    round trip through the JSON value) and ``__eq__`` is used by :func:`equals`.
    """

    def to_json_value(self) -> Any:
        """Return this value as JSON (the ``$value``)."""
        ...

    @classmethod
    def from_json_value(cls, value: Any) -> Self:
        """Build an instance from its JSON (the ``$value``)."""
        ...


@dataclass(frozen=True, slots=True)
class _TypeEntry:
    name: str
    cls: type[Any]
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]


_types_by_name: dict[str, _TypeEntry] = {}
_types_by_class: dict[type[Any], _TypeEntry] = {}
_BUILTIN_TYPES: Final = frozenset({"oid", "Decimal"})


def register_type(
    name: str,
    cls: type[T],
    *,
    to_json: Callable[[T], Any] | None = None,
    from_json: Callable[[Any], T] | None = None,
) -> None:
    """Make ``cls`` an EJSON custom type, written as ``{"$type": name, "$value": ...}``.

    Args:
        name: The ``$type`` tag, unique (Meteor's ``EJSON.addType`` name).
        cls: The class. Instances of subclasses encode with the same name.
        to_json: Converts an instance to JSON; defaults to ``instance.to_json_value()``.
        from_json: Builds an instance from JSON; defaults to ``cls.from_json_value``.

    Raises:
        EJSONError: ``name`` or ``cls`` is already registered, or ``cls`` lacks the methods
            a missing factory needs.
    """
    if name in _types_by_name:
        raise EJSONError(f"EJSON type {name!r} is already registered")
    if cls in _types_by_class:
        raise EJSONError(f"{cls.__qualname__} is already registered as an EJSON type")
    if to_json is None:
        if not callable(getattr(cls, "to_json_value", None)):
            raise EJSONError(f"{cls.__qualname__} has no to_json_value(); pass to_json=")
        to_json = _call_to_json_value
    if from_json is None:
        factory = getattr(cls, "from_json_value", None)
        if not callable(factory):
            raise EJSONError(f"{cls.__qualname__} has no from_json_value(); pass from_json=")
        from_json = factory
    entry = _TypeEntry(name, cls, to_json, from_json)
    _types_by_name[name] = entry
    _types_by_class[cls] = entry


def unregister_type(name: str) -> None:
    """Forget the custom type ``name`` (mainly for tests). The built-ins stay.

    Raises:
        EJSONError: ``name`` is a built-in type or is not registered.
    """
    if name in _BUILTIN_TYPES:
        raise EJSONError(f"the built-in EJSON type {name!r} cannot be unregistered")
    entry = _types_by_name.pop(name, None)
    if entry is None:
        raise EJSONError(f"EJSON type {name!r} is not registered")
    del _types_by_class[entry.cls]


def _call_to_json_value(value: Any) -> Any:
    return value.to_json_value()


def _decimal_from_json(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise EJSONError(f"a Decimal $value must be a string, got {value!r}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise EJSONError(f"invalid Decimal $value {value!r}") from None


register_type("oid", ObjectId)
register_type("Decimal", Decimal, to_json=str, from_json=_decimal_from_json)


def _custom_entry(value: Any) -> _TypeEntry | None:
    entry = _types_by_class.get(type(value))
    if entry is None:
        for base in type(value).__mro__[1:]:
            entry = _types_by_class.get(base)
            if entry is not None:
                break
    return entry


# --------------------------------------------------------------------------------------------
# Scalars


def _date_to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # Integer arithmetic: float timestamps lose microseconds far from 1970.
    return (value - _EPOCH) // _ONE_MS


def decode_date(ms: Any) -> datetime:
    """Decode the number of a ``{"$date": ms}``: an aware UTC ``datetime``, exact to the ms.

    A float is truncated toward zero, as JavaScript's ``TimeClip``.

    Raises:
        EJSONError: ``ms`` is not a finite number, or lies outside the years 1 to 9999.
    """
    if type(ms) is not int:  # the usual case skips these checks
        if isinstance(ms, bool) or not isinstance(ms, int | float):
            raise EJSONError(f"a $date must be a number of milliseconds, got {ms!r}")
        if isinstance(ms, float):
            if not math.isfinite(ms):
                raise EJSONError(f"a $date must be finite, got {ms!r}")
            ms = int(ms)  # JavaScript's TimeClip truncates toward zero
    if 0 <= ms < _FAST_MS_LIMIT:
        # Below 2**32 seconds a float's error on ms / 1000 stays under 0.25 us, so rounding
        # to microseconds (as fromtimestamp does) gives the exact millisecond, in half the
        # time of the timedelta sum. Negative times take the exact path: some platforms'
        # gmtime refuses them.
        try:
            return _fromtimestamp(ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):  # a platform with a 32-bit time_t
            pass
    try:
        # Positional (days, seconds, microseconds, milliseconds): exact for ints, and
        # about twice as fast as the keyword form.
        return _EPOCH + timedelta(0, 0, 0, ms)
    except OverflowError:
        raise EJSONError(f"$date {ms} is outside the years 1 to 9999") from None


_date_from_ms: Final = decode_date


def _binary_to_json(value: bytes | bytearray | memoryview) -> dict[str, Any]:
    return {"$binary": base64.b64encode(value).decode("ascii")}


def _binary_from_json(text: Any) -> bytes:
    if not isinstance(text, str):
        raise EJSONError(f"a $binary must be a base64 string, got {text!r}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EJSONError(f"invalid base64 in $binary: {exc}") from None


def _infnan_to_json(value: float) -> dict[str, Any]:
    return {"$InfNaN": 0 if value != value else (1 if value > 0 else -1)}


def _infnan_from_json(sign: Any) -> float:
    if isinstance(sign, bool) or not isinstance(sign, int | float) or sign != sign:
        raise EJSONError(f"$InfNaN must be 1, -1 or 0, got {sign!r}")
    # Meteor computes sign / 0: any positive number is +Infinity, any negative -Infinity.
    return math.inf if sign > 0 else -math.inf if sign < 0 else math.nan


def _regex_from_json(source: Any, flags: Any) -> Regex:
    if not isinstance(source, str) or not isinstance(flags, str):
        raise EJSONError(f"$regexp and $flags must be strings, got {source!r}, {flags!r}")
    # Meteor: at most 50 characters, only gimuy, each flag once (its last occurrence kept).
    kept = [c for c in flags[:50] if c in "gimuy"]
    unique = [c for i, c in enumerate(kept) if c not in kept[i + 1 :]]
    return Regex(source, "".join(unique))


# --------------------------------------------------------------------------------------------
# Encoding: Python value -> JSON value


def to_json_value(value: Any) -> Any:
    """Convert an EJSON value to plain JSON types (dict, list, str, int, float, bool, None).

    Unchanged containers may be shared with the input rather than copied.

    Raises:
        EJSONError: a value of an unsupported type, a non-string dict key, or a cycle.
    """
    try:
        return _enc(value)
    except RecursionError:
        raise EJSONError("value is nested too deeply (or contains a cycle)") from None


def _enc(value: Any) -> Any:
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is float:
        return value if value - value == 0.0 else _infnan_to_json(value)
    if cls is dict:
        return _enc_dict(value)
    if cls is list or cls is tuple:
        return _enc_list(value)
    return _enc_other(value)


def _enc_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for key, item in obj.items():
        if not isinstance(key, str):
            raise EJSONError(f"EJSON object keys must be strings, got {key!r}")
        new = _enc(item)
        if new is not item:
            if out is None:
                out = dict(obj)
            out[key] = new
    result = obj if out is None else out
    if 0 < len(result) <= 2 and _is_converter_shape(result):
        return {"$escape": result}
    return result


def _enc_list(seq: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] | None = None if type(seq) is list else list(seq)
    for i, item in enumerate(seq):
        new = _enc(item)
        if new is not item:
            if out is None:
                out = list(seq)
            out[i] = new
    return seq if out is None else out  # type: ignore[return-value]


def _enc_other(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": _date_to_ms(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return _binary_to_json(value)
    if isinstance(value, enum.Enum):
        return _enc(value.value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _infnan_to_json(value)
    if isinstance(value, str | int):
        return value
    if isinstance(value, dict):
        return _enc_dict(value)
    if isinstance(value, list | tuple):
        return _enc_list(value)
    if isinstance(value, Regex):
        return {"$regexp": value.source, "$flags": value.flags}
    if isinstance(value, re.Pattern):
        regex = Regex.from_pattern(value)
        return {"$regexp": regex.source, "$flags": regex.flags}
    if isinstance(value, OpaqueCustomType):
        return {"$type": value.name, "$value": value.value}
    entry = _custom_entry(value)
    if entry is not None:
        return {"$type": entry.name, "$value": entry.to_json(value)}
    if isinstance(value, uuid.UUID):
        return str(value)
    raise EJSONError(
        f"cannot encode a {type(value).__qualname__} as EJSON "
        "(register it with ddp.ejson.register_type)"
    )


def _is_converter_shape(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` has the JSON shape of one of Meteor's converters (so needs escaping)."""
    if len(obj) == 1:
        return "$date" in obj or "$InfNaN" in obj or "$binary" in obj or "$escape" in obj
    return ("$regexp" in obj and "$flags" in obj) or ("$type" in obj and "$value" in obj)


# --------------------------------------------------------------------------------------------
# Decoding: JSON value -> Python value


def from_json_value(value: Any) -> Any:
    """Convert plain JSON (as parsed) to EJSON values: dates, bytes, custom types, ...

    The input is not modified; unchanged containers may be shared with the result.

    Raises:
        EJSONError: a malformed typed value (e.g. ``{"$date": "x"}``, bad base64).
    """
    try:
        return _dec(value)
    except RecursionError:
        raise EJSONError("value is nested too deeply") from None


def from_parsed_json(value: Any) -> Any:
    """:func:`from_json_value` for a value the caller has just parsed and owns outright.

    Decodes in place: dicts and lists of ``value`` are modified and reused rather than
    copied (so ``value`` must not be shared). The result is the same as
    :func:`from_json_value`'s. ``ddp.messages`` decodes every frame with it.

    Raises:
        EJSONError: a malformed typed value (e.g. ``{"$date": "x"}``, bad base64).
    """
    try:
        return _own(value)
    except RecursionError:
        raise EJSONError("value is nested too deeply") from None


def _own(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return _own_dict(value)
    if cls is list:
        return _own_list(value)
    return value


def _own_dict(obj: dict[str, Any]) -> Any:
    size = len(obj)
    if size == 1 and "$date" in obj:  # the one typed value most documents carry
        return _date_from_ms(obj["$date"])
    if 0 < size <= 2:
        converted = _dec_typed(obj)
        if converted is not _NOT_TYPED:
            return converted
    for key, item in obj.items():
        cls = type(item)
        if cls is dict or cls is list:
            new = _own(item)
            if new is not item:
                obj[key] = new  # replacing a value (not adding a key) is safe mid-iteration
    return obj


def _own_list(seq: list[Any]) -> list[Any]:
    for i, item in enumerate(seq):
        cls = type(item)
        if cls is dict or cls is list:
            new = _own(item)
            if new is not item:
                seq[i] = new
    return seq


def _dec(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return _dec_dict(value)
    if cls is list:
        return _dec_list(value)
    return value


def _dec_dict(obj: dict[str, Any]) -> Any:
    if 0 < len(obj) <= 2:
        converted = _dec_typed(obj)
        if converted is not _NOT_TYPED:
            return converted
    out: dict[str, Any] | None = None
    for key, item in obj.items():
        cls = type(item)
        if cls is dict or cls is list:
            new = _dec(item)
            if new is not item:
                if out is None:
                    out = dict(obj)
                out[key] = new
    return obj if out is None else out


def _dec_list(seq: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for i, item in enumerate(seq):
        cls = type(item)
        if cls is dict or cls is list:
            new = _dec(item)
            if new is not item:
                if out is None:
                    out = list(seq)
                out[i] = new
    return seq if out is None else out


class _NotTyped:
    """The type of :data:`NOT_TYPED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_TYPED"


_NOT_TYPED: Final[Any] = _NotTyped()

NOT_TYPED: Final[Any] = _NOT_TYPED
"""What :func:`decode_typed` returns for an object that is not the wire form of a typed value."""


def decode_typed(obj: dict[str, Any]) -> Any:
    """Decode ``obj`` if it is the wire form of an EJSON typed value, else return ``NOT_TYPED``.

    For code that walks parsed JSON itself (the collection store decodes a document in the
    walk that stores it): an object with one or two keys, all starting with ``$``, is tried
    against Meteor's converters in their order (``$date``, ``$InfNaN``, ``$binary``,
    ``$escape``, ``$regexp``/``$flags``, ``$type``/``$value``). Any other object, and a
    candidate no converter claims, gives :data:`NOT_TYPED`: the caller decodes its values.
    An ``$escape``'s contents come back decoded (arrays as lists).

    Raises:
        EJSONError: a malformed typed value (e.g. ``{"$date": "x"}``, bad base64).
    """
    if not 0 < len(obj) <= 2:
        return _NOT_TYPED
    try:
        return _dec_typed(obj)
    except RecursionError:
        raise EJSONError("value is nested too deeply") from None


def _dec_typed(obj: dict[str, Any]) -> Any:
    """Decode a candidate object (<= 2 keys, all ``$``-prefixed) in Meteor's converter order."""
    for key in obj:
        if not isinstance(key, str) or not key.startswith("$"):
            return _NOT_TYPED
    if len(obj) == 1:
        if "$date" in obj:
            return _date_from_ms(obj["$date"])
        if "$InfNaN" in obj:
            return _infnan_from_json(obj["$InfNaN"])
        if "$binary" in obj:
            return _binary_from_json(obj["$binary"])
        if "$escape" in obj:
            inner = obj["$escape"]
            if not isinstance(inner, dict):
                raise EJSONError(f"$escape must hold an object, got {inner!r}")
            return {key: _dec(item) for key, item in inner.items()}
        return _NOT_TYPED
    if "$regexp" in obj and "$flags" in obj:
        return _regex_from_json(obj["$regexp"], obj["$flags"])
    if "$type" in obj and "$value" in obj:
        return _custom_from_json(obj["$type"], obj["$value"])
    return _NOT_TYPED


def _custom_from_json(name: Any, value: Any) -> Any:
    if not isinstance(name, str):
        raise EJSONError(f"$type must be a string, got {name!r}")
    entry = _types_by_name.get(name)
    if entry is None:
        return OpaqueCustomType(name, value)
    try:
        return entry.from_json(value)
    except EJSONError:
        raise
    except Exception as exc:
        raise EJSONError(f"cannot decode EJSON type {name!r} from {value!r}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Text


def exceeds_max_depth(text: str | bytes | bytearray, limit: int = MAX_DEPTH) -> bool:
    """Whether valid JSON ``text`` nests arrays and objects more than ``limit`` levels deep.

    Cheap for ordinary texts: a text shorter than ``2 * limit + 2`` characters, or holding no
    more than ``limit`` brackets in all, cannot be that deep. Only a text with more brackets
    is scanned. ``text`` must be valid JSON (this does not validate it).
    """
    if len(text) < 2 * limit + 2:
        return False
    if isinstance(text, str):
        if text.count("{") + text.count("[") <= limit:
            return False
        scan = text
    else:
        if text.count(b"{") + text.count(b"[") <= limit:
            return False
        scan = bytes(text).decode("utf-8", "surrogatepass")
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", scan))
    depth = 0
    for char in brackets:
        if char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str | bytes | bytearray) -> Any:
    """Parse EJSON text (Meteor's ``EJSON.parse``).

    Text without a ``$`` is plain JSON and is returned as orjson parsed it, without a walk.

    Raises:
        EJSONError: not a string, not valid JSON, nested deeper than :data:`MAX_DEPTH`, or a
            malformed typed value.
    """
    if isinstance(text, str):
        has_dollar = "$" in text
    elif isinstance(text, bytes | bytearray):
        has_dollar = text.find(b"$") >= 0  # bytes' `in` would raise and clear a TypeError
    else:
        raise EJSONError(f"EJSON text must be str or bytes, got {type(text).__qualname__}")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EJSONError(f"invalid JSON: {exc}") from None
    if exceeds_max_depth(text):
        raise EJSONError(f"EJSON text nested deeper than {MAX_DEPTH} levels")
    return from_parsed_json(value) if has_dollar else value


def dumps(value: Any, *, canonical: bool = False, indent: bool | int | str | None = None) -> str:
    """Serialise an EJSON value to text (Meteor's ``EJSON.stringify``).

    Args:
        value: Any EJSON value.
        canonical: Sort object keys recursively (for stable hashes and comparisons).
        indent: ``True`` for two spaces, a number of spaces, or an indent string. With
            ``canonical`` or ``indent``, numbers are written as JavaScript writes them (``1``
            for ``1.0``, ``1e+21``), exactly as Meteor's canonical stringify. Otherwise the
            output is compact orjson text (a float always keeps its ``.0``).

    Raises:
        EJSONError: the value cannot be encoded, or its text would nest deeper than
            :data:`MAX_DEPTH`.
    """
    if canonical or indent:
        unit = _indent_unit(indent)
        try:
            text = _stringify(to_json_value(value), unit, canonical)
        except RecursionError:
            raise EJSONError("value is nested too deeply (or contains a cycle)") from None
    else:
        fast = try_fast_dumps(value)
        text = fast if fast is not None else serialize_json(to_json_value(value))
    if exceeds_max_depth(text):
        raise EJSONError(f"value nested deeper than {MAX_DEPTH} levels")
    return text


class _NeedsWalk(Exception):
    """Raised from the orjson hook: this value needs the full EJSON walk."""


def try_fast_dumps(value: Any) -> str | None:
    """Encode with orjson alone when that is provably correct EJSON, else return ``None``.

    An orjson ``default=`` hook converts the common EJSON types (datetime, bytes, ObjectId)
    and counts the ``"$`` each adds to the output (one per date or binary, two per ObjectId).
    The result is ``None``, asking for the exact walk (:func:`to_json_value`), when the output
    holds more ``"$`` than counted (a user ``$`` key that may need escaping, or merely a string
    starting with ``$``), a ``null`` (orjson writes NaN and infinities as ``null``), or a value
    the hook does not convert.
    """
    dollars = 0

    def hook(item: Any) -> Any:
        # A closure rather than an object: the cheapest per-call counter.
        nonlocal dollars
        cls = type(item)
        if cls is datetime:
            dollars += 1
            return {"$date": _date_to_ms(item)}
        if cls is bytes:
            dollars += 1
            return _binary_to_json(item)
        if cls is ObjectId:
            dollars += 2
            return {"$type": "oid", "$value": item.hex}
        raise _NeedsWalk

    try:
        text = orjson.dumps(value, default=hook, option=_ORJSON_OPTS).decode()
    except orjson.JSONEncodeError:
        return None
    # Searching str for one character is far cheaper than any bytes search: test "$" first.
    if "$" in text and text.count('"$') != dollars:
        return None
    return None if "null" in text else text


def serialize_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Write JSON text compactly: orjson, or the stdlib for ints beyond 64 bits.

    Args:
        value: JSON values (the output of :func:`to_json_value`), or values that ``default``
            converts.
        default: Called for values that are not JSON types.

    Raises:
        EJSONError: the value cannot be written as JSON.
    """
    try:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTS).decode()
    except orjson.JSONEncodeError as exc:
        orjson_error = exc
    try:
        # orjson refuses ints beyond 64 bits and nesting beyond 254 levels; the stdlib does not.
        # It writes NaN and the infinities as null, as orjson does, so both paths agree.
        text = json.dumps(
            _nulled_non_finite(value),
            default=default,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
        text.encode()  # lone surrogates: refuse them here, as orjson does
        return text
    except EJSONError:
        raise
    except (ValueError, TypeError, RecursionError) as exc:
        raise EJSONError(f"cannot write JSON: {orjson_error}") from exc


def _nulled_non_finite(value: Any) -> Any:
    """``value`` with every NaN and infinity in its dicts and lists replaced by ``None``."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is dict:
        return {key: _nulled_non_finite(item) for key, item in value.items()}
    if type(value) is list or type(value) is tuple:
        return [_nulled_non_finite(item) for item in value]
    return value


def _indent_unit(indent: bool | int | str | None) -> str:
    if indent is True:
        return "  "
    if not indent:
        return ""
    if isinstance(indent, int):
        return " " * indent
    if isinstance(indent, str):
        return indent
    raise EJSONError(f"indent must be a bool, an int or a str, got {indent!r}")


def _stringify(value: Any, unit: str, canonical: bool, outer: str = "") -> str:
    """Meteor's ``canonicalStringify`` over a JSON value (its spacing and number format)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    inner = outer + unit
    if isinstance(value, list | tuple):
        parts = [_stringify(item, unit, canonical, inner) for item in value]
        open_, close = "[", "]"
    else:
        keys = sorted(value) if canonical else list(value)
        colon = ": " if inner else ":"
        parts = [
            orjson.dumps(key).decode() + colon + _stringify(value[key], unit, canonical, inner)
            for key in keys
        ]
        open_, close = "{", "}"
    if not parts:
        return open_ + close
    if inner:
        return f"{open_}\n{inner}" + f",\n{inner}".join(parts) + f"\n{outer}{close}"
    return open_ + ",".join(parts) + close


def _js_number(value: float) -> str:
    """Format a finite float as JavaScript's ``Number.prototype.toString`` does."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        exponent = n - 1
        exp_sign = "+" if exponent >= 0 else "-"
        head = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{head}e{exp_sign}{abs(exponent)}"
    return sign + text


# --------------------------------------------------------------------------------------------
# equals and clone

_PLAIN_TYPES: Final = (str, int, float, dict, list, tuple, datetime, bytes, bytearray, memoryview)


def equals(a: Any, b: Any, *, key_order_sensitive: bool = False) -> bool:
    """Deep EJSON equality (Meteor's ``EJSON.equals``).

    NaN equals NaN; ``True`` never equals ``1`` (JavaScript's ``===``); an int and a float
    compare as JavaScript doubles (Python ints compare exactly); dates compare by
    millisecond, binaries bytewise; a list never equals a dict; tuples count as lists. Dict key
    order matters only with ``key_order_sensitive``. Typed values (ObjectId, Decimal, custom
    types) of one class compare with that class's ``__eq__`` when it defines one, otherwise
    by their EJSON form (type name and JSON value). Regular expressions compare by source and
    flags (Meteor finds any two RegExps equal, an accident of its fallback).

    Raises:
        EJSONError: a value of a type EJSON does not know, or values too deep for the stack.
    """
    try:
        return _equals(a, b, key_order_sensitive)
    except RecursionError:
        raise EJSONError("values nested too deeply to compare (or containing a cycle)") from None


def _equals(a: Any, b: Any, key_order_sensitive: bool) -> bool:
    if a is b:
        return True
    if type(a) is bool or type(b) is bool or a is None or b is None:
        return False  # identity was the only way for these to be equal
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, int | float):
        return isinstance(b, int | float) and _numbers_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and _dict_equals(a, b, key_order_sensitive)
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(_equals(x, y, key_order_sensitive) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, datetime):
        return isinstance(b, datetime) and _date_to_ms(a) == _date_to_ms(b)
    if isinstance(a, bytes | bytearray | memoryview):
        return isinstance(b, bytes | bytearray | memoryview) and bytes(a) == bytes(b)
    if isinstance(b, _PLAIN_TYPES):
        return False
    if type(a) is type(b) and getattr(type(a), "__eq__", None) is not object.__eq__:
        if not isinstance(a, OpaqueCustomType):  # its value needs EJSON equality, not ==
            return bool(a == b)
    return _equals(_enc(a), _enc(b), False)


def _numbers_equal(a: int | float, b: int | float) -> bool:
    if type(a) is not type(b) and (isinstance(a, float) or isinstance(b, float)):
        # JavaScript has only doubles: an int equals a float when it is that double.
        try:
            a, b = float(a), float(b)
        except OverflowError:
            return False
    return a == b or (a != a and b != b)


def _dict_equals(a: dict[Any, Any], b: dict[Any, Any], key_order_sensitive: bool) -> bool:
    if len(a) != len(b):
        return False
    if key_order_sensitive:
        if list(a) != list(b):
            return False
    elif any(key not in b for key in a):
        return False
    return all(_equals(a[key], b[key], key_order_sensitive) for key in a)


_IMMUTABLE_TYPES: Final = (
    str,
    int,
    float,
    datetime,
    bytes,
    Regex,
    re.Pattern,
    ObjectId,
    Decimal,
    uuid.UUID,
    enum.Enum,
)


def clone(value: Any) -> Any:
    """Deep-copy an EJSON value (Meteor's ``EJSON.clone``).

    Immutable values (str, numbers, datetime, bytes, ObjectId, Decimal, Regex, patterns) are
    returned as they are; tuples stay tuples. A custom type's ``clone()`` method is used when
    it has one, otherwise a round trip through its JSON value.

    Raises:
        EJSONError: a value of a type EJSON does not know, or a value too deep for the stack.
    """
    try:
        return _clone(value)
    except RecursionError:
        raise EJSONError("value is nested too deeply to clone (or contains a cycle)") from None


def _clone(value: Any) -> Any:
    if value is None or isinstance(value, _IMMUTABLE_TYPES):
        return value
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_clone(item) for item in value)
    if isinstance(value, bytearray | memoryview):
        return bytearray(value)
    if isinstance(value, OpaqueCustomType):
        return OpaqueCustomType(value.name, _clone(value.value))
    entry = _custom_entry(value)
    if entry is None:
        raise EJSONError(f"cannot clone a {type(value).__qualname__} as EJSON")
    own_clone = getattr(value, "clone", None)
    if callable(own_clone):
        return own_clone()
    return entry.from_json(_clone(entry.to_json(value)))
