"""What the summaries' properties share: the writes and recoveries the worker tells a summary
(``Summary`` of streams/books/book.py), and the books they leave, which a scan must agree with."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from streams.books.book import State, Summary

__all__ = ["feed", "writes_and_resets"]


def writes_and_resets(
    keys: Sequence[str], books: st.SearchStrategy[State]
) -> st.SearchStrategy[list]:
    """Writes (a key and its book, or ``None``: deleted) and resets (the books kept then)."""
    write = st.tuples(st.sampled_from(keys), st.one_of(st.none(), books))
    return st.lists(st.one_of(write, st.just("reset")), max_size=40)


def feed(summary: Summary, steps: list, keyed: Callable[[str], State]) -> dict[str, State]:
    """The books after ``steps``, each told to ``summary`` as the worker tells it: a write stores
    the book with the fields its key gives it (``keyed``: the id a real book carries) or deletes
    it; a reset is a recovery, every book kept then told again."""
    stored: dict[str, State] = {}
    for step in steps:
        if step == "reset":
            summary.reset(list(stored.items()))
            continue
        key, book = step
        if book is None:
            stored.pop(key, None)
        else:
            stored[key] = book | keyed(key)
        summary.put(key, stored.get(key))
    return stored
