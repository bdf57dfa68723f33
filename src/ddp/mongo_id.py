"""Document ids in DDP's ``id`` field: Meteor's ``MongoID.idStringify`` / ``idParse`` rules.

A document's ``_id`` may be a string, an :class:`~ddp.ejson.ObjectId`, a number, ... but the
``id`` field of ``added``/``changed``/``removed`` is always a string:

=====================================================  ======================================
``_id`` value                                          ``id`` text
=====================================================  ======================================
ObjectId                                               its 24 hex digits
``""``                                                 ``""``
a string starting with ``-``, ``~`` or ``{``,          ``"-"`` + the string
or made of 24 lowercase hex digits
any other string                                       unchanged
``None`` (JavaScript's ``undefined``)                  ``"-"``
a number or bool                                       ``"~"`` + its JSON (``1.0`` as ``~1``)
=====================================================  ======================================

Beyond Meteor (which refuses them), other EJSON values (dicts, lists, dates, non-finite
floats) are written as ``"~"`` + canonical EJSON text, so that every id round-trips; and
``"~null"`` parses to ``None``, as Meteor parses it to ``null``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ddp import ejson
from ddp.exceptions import EJSONError

__all__ = ["id_parse", "id_stringify"]

_OBJECT_ID_TEXT: Final = re.compile(r"[0-9a-f]{24}")


def id_stringify(value: Any) -> str:
    """Write a document ``_id`` as the text of DDP's ``id`` field.

    Raises:
        EJSONError: the value cannot be written as EJSON.
    """
    if isinstance(value, str):
        if value and (value[0] in "-~{" or _OBJECT_ID_TEXT.fullmatch(value)):
            return "-" + value
        return value
    if isinstance(value, ejson.ObjectId):
        return value.hex
    if value is None:
        return "-"
    return "~" + ejson.dumps(value, canonical=True)


def id_parse(text: str) -> Any:
    """Read the text of DDP's ``id`` field back into the document's ``_id``.

    Raises:
        EJSONError: ``text`` is not a string, or is ``~`` followed by invalid EJSON.
    """
    if not isinstance(text, str):
        raise EJSONError(f"a document id on the wire must be a string, got {text!r}")
    if not text:
        return text
    first = text[0]
    if first == "-":
        return None if len(text) == 1 else text[1:]
    if first == "~":
        return ejson.loads(text[1:])
    if _OBJECT_ID_TEXT.fullmatch(text):
        return ejson.ObjectId(text)
    return text
