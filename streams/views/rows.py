"""What a view made of each book it lists, remembered while the book stays as it was.

``/ledger`` lists up to a page of tasks, each its book decoded, its times put in the office's
zone and its light computed. Polled again, it shows mostly the same tasks, unchanged: at 100k
tasks and 1M messages, decoding and converting ~200 books was three quarters of a page's ~27 ms
(py-spy, bench/views.py). A book's *version* (streams/worker/table.py ``Table.version``: its
packed bytes, a new object at every write) says whether what was made of it still holds, so a
written book is made again at its next listing and nothing is shown stale. The newest
:data:`MOST` are kept; a store that cannot say (RocksDB) decodes every time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from streams.books.book import State

__all__ = ["MOST", "Rows"]

R = TypeVar("R")

MOST = 2048
"""Rows remembered per view: a few pages of the longest list."""


class Rows(Generic[R]):
    """``make`` of each listed book (``None``: the book shows no row), remembered by version."""

    def __init__(self, make: Callable[[State], R | None], most: int = MOST) -> None:
        self.make, self.most = make, most
        self._made: OrderedDict[Any, tuple[object, R | None]] = OrderedDict()

    def of(self, table: Any, key: Any) -> R | None:
        """The row of ``key``'s book in ``table`` as it is now."""
        version = table.version(key)
        if version is not None:
            made = self._made.get(key)
            if made is not None and made[0] is version:
                self._made.move_to_end(key)
                return made[1]
        book = table.get(key)
        row = None if book is None else self.make(book)
        if version is not None:
            self._made[key] = (version, row)
            self._made.move_to_end(key)
            if len(self._made) > self.most:
                self._made.popitem(last=False)
        return row
