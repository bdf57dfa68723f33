"""Replay every input the decoder fuzzer keeps: its seed corpus and every crash it found.

Runs without atheris. A crash found by ``scripts/fuzz`` lands in ``tests/fuzz/crashes/``;
once fixed, it stays there as a regression test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from decode_target import check_input

HERE = Path(__file__).parent
INPUTS = sorted(
    path
    for folder in (HERE / "corpus" / "decode", HERE / "crashes")
    for path in folder.iterdir()
    if path.is_file() and not path.name.startswith(".")
)


def test_the_corpus_is_not_empty():
    assert len(INPUTS) >= 10


@pytest.mark.parametrize("path", INPUTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_input_is_refused_only_with_typed_errors(path):
    check_input(path.read_bytes())
