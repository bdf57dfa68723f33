"""The DDP message codec: one JSON object per frame, EJSON in ``fields``, ``params``, ``result``.

Used by the client core and by the server alike. This is the hot path, so a frame without a
``$`` costs one ``orjson.loads``, one substring test and one type check; only frames that hold
a ``$`` have their three EJSON fields walked (as Meteor's ``parseDDP``; ``error`` and
``details`` stay plain JSON). The client core passes its store's ``adopt_fields``, which
decodes the ``fields`` of data messages in the walk that turns them into stored documents,
so that ingest walks each document once.

A frame may nest arrays and objects at most :data:`ddp.ejson.MAX_DEPTH` (128) levels deep,
the frame's own object being level 1, both ways: a deeper frame received is refused with
:class:`ddp.ProtocolError` (the client ignores that one frame), and a message that would
make one is not written (:class:`ddp.EJSONError`). Counting the brackets of a frame decides
this for any ordinary frame; only a frame with more than 128 of them is scanned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, cast

import orjson

from ddp import ejson
from ddp.exceptions import EJSONError, ProtocolError

__all__ = ["EJSON_FIELDS", "encode_message", "parse_message"]

EJSON_FIELDS: Final = ("fields", "params", "result")
"""The message fields that carry EJSON; every other field is plain JSON."""

_SHALLOW_LENGTH: Final = 2 * ejson.MAX_DEPTH + 1  # a deeper text needs more characters


def parse_message(
    text: str | bytes, adopt_fields: Callable[[dict[str, Any]], Any] | None = None
) -> dict[str, Any]:
    """Parse one DDP frame into a message dict, decoding EJSON where the protocol has it.

    Args:
        text: The frame's text (a binary frame's bytes are read as UTF-8).
        adopt_fields: Decodes the ``fields`` object of an ``added``, ``changed`` or
            ``addedBefore`` message in place of :func:`ddp.ejson.from_parsed_json`, with the
            same result but in the form its store keeps (as
            :meth:`ddp.collection.CollectionRegistry.adopt_fields` does); it raises
            :class:`ddp.EJSONError` for a malformed value. Called for every such message
            whose ``fields`` is an object, ``$`` or not.

    Returns:
        The message, a dict as parsed (its EJSON fields replaced by decoded values).

    Raises:
        ProtocolError: the frame is not valid JSON (or UTF-8), is not a JSON object, is nested
            deeper than :data:`ddp.ejson.MAX_DEPTH`, or holds a malformed EJSON value.
    """
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"DDP frame is not valid JSON: {exc}") from None
    if type(msg) is not dict:
        raise ProtocolError(f"a DDP frame must be a JSON object, got {_describe(msg)}")
    # The length test first spares the call for short frames, which cannot be that deep.
    if len(text) > _SHALLOW_LENGTH and ejson.exceeds_max_depth(text):
        raise ProtocolError(f"DDP frame nested deeper than {ejson.MAX_DEPTH} levels")
    fields: tuple[str, ...] = EJSON_FIELDS
    # A tuple's `in` compares with ==, so a `msg` of any JSON type (a list...) is simply
    # not one of them: no test of its type first.
    if adopt_fields is not None and msg.get("msg") in _ADOPTED_KINDS:
        value = msg.get("fields")
        if type(value) is dict:
            try:
                msg["fields"] = adopt_fields(value)
            except EJSONError as exc:
                raise ProtocolError(f"malformed EJSON in DDP 'fields': {exc}") from exc
            fields = _NOT_FIELDS
    try:
        escaped = "$" in text
    except TypeError:  # a bytes frame (str, the usual, needs no isinstance() test)
        # bytes' `in` would raise and clear a TypeError of its own: find() does not.
        escaped = cast(bytes, text).find(b"$") >= 0
    if escaped:
        try:
            for field in fields:
                if field in msg:
                    msg[field] = ejson.from_parsed_json(msg[field])
        except EJSONError as exc:
            raise ProtocolError(f"malformed EJSON in DDP {field!r}: {exc}") from exc
    return msg


_ADOPTED_KINDS: Final = ("added", "changed", "addedBefore")

_NOT_FIELDS: Final = ("params", "result")


def encode_message(msg: dict[str, Any]) -> str:
    """Write a DDP message as compact JSON text, EJSON-encoding ``fields``/``params``/``result``.

    Other fields must be plain JSON (dates, bytes and other EJSON types found there are
    written in their EJSON form rather than refused).

    Raises:
        ProtocolError: ``msg`` is not a dict, or its ``id`` is present but not a string
            (DDP requires string ids; Meteor's server rejects the message otherwise).
        EJSONError: a value cannot be encoded, or the frame would nest deeper than
            :data:`ddp.ejson.MAX_DEPTH` levels.
    """
    if type(msg) is not dict:
        raise ProtocolError(f"a DDP message must be a dict, got {type(msg).__name__}")
    msg_id = msg.get("id")
    if msg_id is not None and not isinstance(msg_id, str):
        raise ProtocolError(f"DDP message ids must be strings, got {msg_id!r}")
    text = ejson.try_fast_dumps(msg)
    if text is None:
        copy = dict(msg)
        for field in EJSON_FIELDS:
            if field in copy:
                copy[field] = ejson.to_json_value(copy[field])
        text = ejson.serialize_json(copy, default=ejson.to_json_value)
    if len(text) > _SHALLOW_LENGTH and ejson.exceeds_max_depth(text):
        raise EJSONError(f"DDP message nested deeper than {ejson.MAX_DEPTH} levels")
    return text


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else type(value).__name__
