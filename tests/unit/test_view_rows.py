"""A view's rows are made again exactly when their book was written (streams/views/rows.py):
never stale, and not made again for a book that stayed as it was."""

from __future__ import annotations

from typing import Any

from streams.views.rows import Rows
from streams.worker.store import PackedBooks


class _Books:
    """The two calls :class:`Rows` makes of a table, over the memory store's packed books."""

    def __init__(self, versioned: bool = True) -> None:
        self.books, self.versioned = PackedBooks(), versioned

    def version(self, key: str) -> object | None:
        return self.books.packed(key) if self.versioned else None

    def get(self, key: str) -> Any:
        return self.books.get(key)


def _counting() -> tuple[Rows[str], list[str]]:
    made: list[str] = []

    def make(book: dict[str, Any]) -> str | None:
        made.append(book["id"])
        return None if book.get("stub") else f"{book['id']}:{book['n']}"

    return Rows(make, most=3), made


def test_a_row_is_made_once_while_its_book_is_unchanged_and_again_once_written() -> None:
    table, (rows, made) = _Books(), _counting()
    table.books["a"] = {"id": "a", "n": 1}
    assert [rows.of(table, "a") for _ in range(3)] == ["a:1"] * 3
    assert made == ["a"]
    table.books["a"] = {"id": "a", "n": 2}
    assert rows.of(table, "a") == "a:2" and made == ["a", "a"]
    table.books["a"] = {"id": "a", "n": 2}  # the same book written again: a new version
    assert rows.of(table, "a") == "a:2" and made == ["a", "a", "a"]


def test_a_book_gone_or_showing_no_row_gives_none() -> None:
    table, (rows, made) = _Books(), _counting()
    assert rows.of(table, "nope") is None
    table.books["s"] = {"id": "s", "n": 0, "stub": True}
    assert rows.of(table, "s") is None and rows.of(table, "s") is None
    assert made == ["s"]
    del table.books["s"]
    assert rows.of(table, "s") is None


def test_only_the_newest_rows_are_kept() -> None:
    table, (rows, made) = _Books(), _counting()
    for key in "abcd":
        table.books[key] = {"id": key, "n": 0}
        rows.of(table, key)
    rows.of(table, "d")
    rows.of(table, "a")  # the oldest: forgotten when the fourth came
    assert made == ["a", "b", "c", "d", "a"]


def test_a_store_that_cannot_say_makes_every_row_afresh() -> None:
    table, (rows, made) = _Books(versioned=False), _counting()
    table.books["a"] = {"id": "a", "n": 1}
    assert rows.of(table, "a") == rows.of(table, "a") == "a:1"
    assert made == ["a", "a"]
