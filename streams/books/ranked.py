"""Entities in the order a view lists them, kept as they are written: what the summaries of the
alerts, emergencies, duty log, work orders and dead letters are made of (streams/books/book.py
``Summary``), so a view finds its first page, its count and its tallies without decoding books.

An entity's place is its *entry*: its rank (integers, the view's order: ``(closed, severity,
-raised)`` for an alert) and its key last, so no two entries tie. Entries are plain tuples of
integers and strings, which the garbage collector stops tracking (an object per entity is walked
by every full collection: a stall on the loop that applies events). Each entity may be in one
*group* (a dead letter's reason, a duty-log entry's channel), counted apart.

A page's cursor is its last entry as text (``-1741923000000000.alert-id``): the next page is
the entries after it in the order, so entities added or removed between two pages neither repeat
nor drop the others. Pure.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from streams.books.book import Held, KeptSummary, State

__all__ = ["Entry", "Ranked", "Ranking", "keys"]

Entry = tuple[Any, ...]
"""An entity's rank (integers) and its key last."""


class Ranked:
    """Keys in the order of their ranks, by group; see the module's docstring."""

    __slots__ = ("_groups", "_where", "width")

    def __init__(self, width: int) -> None:
        self.width = width
        """How many integers a rank has."""
        self._groups: dict[str, list[Entry]] = {}
        """Group -> its entries, sorted."""
        self._where: Held[str, tuple[str, Entry]] = Held()
        """Key -> its group and entry."""

    # -- writes ------------------------------------------------------------------------------
    def put(self, key: str, rank: tuple[int, ...] | None, group: str = "") -> None:
        """``key`` now has ``rank`` in ``group`` (``None``: not listed)."""
        old = self._where.pop(key, None)
        if old is not None:
            entries = self._groups[old[0]]
            del entries[bisect_left(entries, old[1])]
            if not entries:
                del self._groups[old[0]]
        if rank is None:
            return
        if len(rank) != self.width:
            raise ValueError(f"a rank of {self.width} integers, not {rank!r}")
        entry = (*rank, key)
        self._where[key] = (group, entry)
        insort(self._groups.setdefault(group, []), entry)

    # -- reads -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def counts(self) -> dict[str, int]:
        """Entities per group, the group of the first entry first."""
        ordered = sorted(self._groups.items(), key=lambda item: item[1][0])
        return {group: len(entries) for group, entries in ordered}

    def newest(self) -> dict[str, int]:
        """Entities per group, the group of the last entry first."""
        ordered = sorted(self._groups.items(), key=lambda item: item[1][-1], reverse=True)
        return {group: len(entries) for group, entries in ordered}

    def below(self, bound: Any, key: Callable[[Entry], Any] | None = None) -> int:
        """How many entries come before ``bound`` (or whose ``key`` does not pass it)."""
        if key is None:
            return sum(bisect_left(e, bound) for e in self._groups.values())
        return sum(bisect_right(e, bound, key=key) for e in self._groups.values())

    def first(self, limit: int, after: Entry | None = None) -> list[Entry]:
        """The ``limit`` first entries (after ``after``), in order."""
        starts = [
            (entries, bisect_right(entries, after) if after is not None else 0)
            for entries in self._groups.values()
        ]
        # a slice, not islice: islice steps over the ``start`` entries before it one by one (a
        # month's oldest open message was ~9k steps into a department's list at 1M messages)
        runs = [entries[start : start + limit] for entries, start in starts]
        if len(runs) == 1:
            return runs[0]
        return list(islice(heapq.merge(*runs), limit))

    def last(self, limit: int) -> list[Entry]:
        """The ``limit`` last entries, the last first."""
        if limit <= 0:  # entries[-0:] would be every one
            return []
        runs: list[Iterator[Entry]] = [
            reversed(entries[-limit:]) for entries in self._groups.values()
        ]
        return list(islice(heapq.merge(*runs, reverse=True), limit))

    def page(
        self, after: Entry | None, limit: int, before: Entry | None = None
    ) -> tuple[list[Entry], Entry | None]:
        """The ``limit`` entries after ``after`` (and before ``before``), and the entry to
        continue after (``None``: this page is the last)."""
        found = self.first(limit + 1, after)
        if before is not None:
            found = [e for e in found if e < before]
        listed = found[:limit]
        return listed, (listed[-1] if len(found) > limit else None)

    # -- cursors -----------------------------------------------------------------------------
    def cursor(self, entry: Entry) -> str:
        """An entry as a page's cursor: its integers and key, with dots."""
        return ".".join(str(part) for part in entry)

    def entry(self, cursor: str) -> Entry:
        """The entry :meth:`cursor` wrote; ``ValueError`` for text that is none."""
        parts = cursor.split(".", self.width)
        if len(parts) != self.width + 1:
            raise ValueError(f"not a cursor of this list: {cursor!r}")
        try:
            return (*(int(p) for p in parts[: self.width]), parts[-1])
        except ValueError:
            raise ValueError(f"not a cursor of this list: {cursor!r}") from None


class Ranking(KeptSummary):
    """A book's summary that is one :class:`Ranked`: each entity where ``rank`` puts it
    (``None``: not listed), in the group ``group`` names (none: all in one)."""

    def __init__(
        self,
        width: int,
        rank: Callable[[State | None], tuple[int, ...] | None],
        group: Callable[[State], str] | None = None,
    ) -> None:
        self.width, self.rank, self.group = width, rank, group
        self.ranked = Ranked(width)

    def put(self, key: str, book: State | None) -> None:
        rank = self.rank(book)
        group = self.group(book) if self.group is not None and book is not None else ""
        self.ranked.put(key, rank, group)

    def forget(self) -> None:
        self.ranked = Ranked(self.width)


def keys(entries: Iterable[Entry]) -> list[str]:
    """The keys of ``entries``."""
    return [entry[-1] for entry in entries]
