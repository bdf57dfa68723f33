"""Meteor-style ids: random 17-character ids and the method id counter."""

from __future__ import annotations

import random

import pytest

from ddp.ids import UNMISTAKABLE_CHARS, MethodIdCounter, random_id


def test_random_id_shape():
    ident = random_id()
    assert len(ident) == 17
    assert set(ident) <= set(UNMISTAKABLE_CHARS)
    assert random_id() != ident


def test_alphabet_has_no_lookalikes():
    assert len(UNMISTAKABLE_CHARS) == 55
    assert not set("01lIO") & set(UNMISTAKABLE_CHARS)


def test_injected_random_makes_ids_reproducible():
    a = random_id(random=random.Random(7).random)
    b = random_id(random=random.Random(7).random)
    assert a == b


def test_index_follows_the_fraction_and_a_sloppy_source_is_clamped():
    assert random_id(3, random=lambda: 0.0) == "222"
    assert random_id(2, random=lambda: 1.0) == "zz"
    assert random_id(1, random=lambda: 0.5) == UNMISTAKABLE_CHARS[27]


def test_length_must_be_positive():
    with pytest.raises(ValueError):
        random_id(0)


def test_method_ids_count_up_in_decimal():
    counter = MethodIdCounter()
    assert [counter.next() for _ in range(11)] == [str(n) for n in range(1, 12)]
    assert counter.last == 11
