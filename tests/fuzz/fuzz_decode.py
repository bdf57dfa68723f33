"""Coverage-guided fuzzing (atheris) of the frame decoder, ``ddp.ejson.loads`` and the core.

Run it with ``scripts/fuzz`` (bounded time); any input that makes :func:`check_input` raise
is written to ``tests/fuzz/crashes/`` and is replayed by ``test_decode_corpus.py`` from then
on, without atheris.
"""

from __future__ import annotations

import logging
import sys

import atheris

with atheris.instrument_imports(include=["ddp"]):
    from decode_target import check_input


def main() -> None:
    """Start the fuzzer with the command-line arguments (libFuzzer's options)."""
    # The core logs every frame it ignores: millions of lines that would drown the stats.
    logging.disable(logging.CRITICAL)
    atheris.Setup(sys.argv, check_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
