"""EJSON and DDP codec costs per message, as ratios to orjson and the stdlib json.

Run: ``python benchmarks/bench_ejson.py`` (with the package importable). Every figure is a
ratio to a baseline measured in the same run, on a ~150-byte ``added`` message with and
without a ``$date`` field; absolute times depend on the machine and are not the point.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from ddp import ejson
from ddp.messages import encode_message, parse_message

PLAIN = (
    '{"msg":"added","collection":"messages","id":"Hn7zkTbWYoEqP3FZx",'
    '"fields":{"rid":"GENERAL","msg":"hello there, how are you?","u":"alice","ts":1714564800123}}'
)
WITH_DATE = (
    '{"msg":"added","collection":"messages","id":"Hn7zkTbWYoEqP3FZx",'
    '"fields":{"rid":"GENERAL","msg":"hello there, how are you?","u":"alice",'
    '"ts":{"$date":1714564800123}}}'
)


def best_ns(func: Callable[[], Any], number: int = 20_000, repeat: int = 5) -> float:
    """The best of ``repeat`` runs, in nanoseconds per call."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e9


def row(name: str, ns: float, orjson_ns: float, json_ns: float) -> None:
    print(f"  {name:<34} x{ns / orjson_ns:5.2f} orjson   x{ns / json_ns:5.2f} json")


def main() -> None:
    for label, text in (("without $date", PLAIN), ("with $date", WITH_DATE)):
        value = parse_message(text)
        plain_json = orjson.loads(text)
        print(f"{label} ({len(text)} bytes)")
        base_loads = best_ns(lambda t=text: orjson.loads(t))
        base_json_loads = best_ns(lambda t=text: json.loads(t))
        row(
            "decode: parse_message",
            best_ns(lambda t=text: parse_message(t)),
            base_loads,
            base_json_loads,
        )
        row(
            "decode: ejson.loads",
            best_ns(lambda t=text: ejson.loads(t)),
            base_loads,
            base_json_loads,
        )
        base_dumps = best_ns(lambda v=plain_json: orjson.dumps(v))
        base_json_dumps = best_ns(lambda v=plain_json: json.dumps(v))
        row(
            "encode: encode_message",
            best_ns(lambda v=value: encode_message(v)),
            base_dumps,
            base_json_dumps,
        )
        row(
            "encode: ejson.dumps",
            best_ns(lambda v=value: ejson.dumps(v)),
            base_dumps,
            base_json_dumps,
        )
        row(
            "encode: walk + orjson (no fast path)",
            best_ns(lambda v=value: ejson.serialize_json(ejson.to_json_value(v))),
            base_dumps,
            base_json_dumps,
        )
    with_null = {"msg": "result", "id": "1", "result": None}
    print("encode of a message holding null (takes the walk)")
    row(
        "encode: encode_message",
        best_ns(lambda: encode_message(with_null)),
        best_ns(lambda: orjson.dumps(with_null)),
        best_ns(lambda: json.dumps(with_null)),
    )


if __name__ == "__main__":
    main()
