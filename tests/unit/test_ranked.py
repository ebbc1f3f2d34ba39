"""The ordered lists the views' summaries are made of (streams/books/ranked.py): after any
sequence of puts, every read agrees with sorting what was put."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.books.ranked import Ranked

KEYS = st.sampled_from([f"k{n}" for n in range(12)])
RANKS = st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(-5, 5)))
GROUPS = st.sampled_from(["", "fax", "call"])
PUTS = st.lists(st.tuples(KEYS, RANKS, GROUPS), max_size=60)


def _fed(puts: list) -> tuple[Ranked, dict[str, tuple]]:
    """A list told ``puts``, and what it must hold: key -> (entry, group)."""
    ranked, held = Ranked(2), {}
    for key, rank, group in puts:
        ranked.put(key, rank, group)
        if rank is None:
            held.pop(key, None)
        else:
            held[key] = ((*rank, key), group)
    return ranked, held


@settings(max_examples=300, deadline=None)
@given(PUTS, st.integers(1, 5))
def test_pages_walk_every_entry_once_in_order(puts: list, limit: int) -> None:
    ranked, held = _fed(puts)
    expected = sorted(entry for entry, _ in held.values())
    walked, after = [], None
    for _ in range(len(held) // limit + 1):
        listed, last = ranked.page(after, limit)
        walked += listed
        if last is None:
            break
        assert last == listed[-1] and len(listed) == limit
        after = ranked.entry(ranked.cursor(last))  # through its text, as a client sends it
    assert last is None, "more pages than entries"
    assert walked == expected
    assert len(ranked) == len(held)
    assert ranked.last(limit) == expected[::-1][:limit]


@settings(max_examples=300, deadline=None)
@given(PUTS, st.tuples(st.integers(0, 4)))
def test_counts_and_bounds_agree_with_the_entries(puts: list, bound: tuple) -> None:
    ranked, held = _fed(puts)
    entries = sorted(held.values())
    assert ranked.below(bound) == sum(entry < bound for entry, _ in entries)
    assert ranked.below(bound[0], key=lambda e: e[0]) == sum(e[0] <= bound[0] for e, _ in entries)
    firsts: dict[str, int] = {}
    for _, group in entries:  # the groups as they first appear in order
        firsts[group] = firsts.get(group, 0) + 1
    assert ranked.counts() == firsts
    assert list(ranked.counts().items()) == list(firsts.items())
    lasts: dict[str, int] = {}
    for _, group in reversed(entries):
        lasts[group] = lasts.get(group, 0) + 1
    assert list(ranked.newest().items()) == list(lasts.items())
    listed, _ = ranked.page(None, 100, before=bound)
    assert listed == [e for e, _ in entries if e < bound]


def test_no_entry_is_the_last_zero() -> None:
    ranked = Ranked(1)
    ranked.put("k", (1,))
    assert ranked.last(0) == [] and ranked.first(0) == []


def test_a_cursor_keeps_a_key_that_holds_dots() -> None:
    ranked = Ranked(2)
    ranked.put("fax.2025.03", (1, -7))
    entry = ranked.first(1)[0]
    assert ranked.cursor(entry) == "1.-7.fax.2025.03"
    assert ranked.entry("1.-7.fax.2025.03") == entry


@pytest.mark.parametrize("text", ["", "1", "x.1.k", "1.y.k"])
def test_text_that_is_no_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        Ranked(2).entry(text)


def test_a_rank_of_another_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 integers"):
        Ranked(2).put("k", (1,))


def test_the_entries_are_nothing_the_garbage_collector_walks() -> None:
    ranked = Ranked(1)
    ranked.put("k", (10**15,), "fax")
    gc.collect()
    gc.collect()
    assert not gc.is_tracked(ranked.first(1)[0])
