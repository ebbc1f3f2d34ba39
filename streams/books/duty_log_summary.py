"""The duty log as its views read it: each office day's entries in order, by channel, kept up to
date as the log is written — so ``/duty-log`` and the dashboard's 今日值班记录 find a day's
entries without reading every entry ever logged.

The book is kept per subject (streams/books/duty_log.py), each with its entries; the summary
keeps every entry under its office day (:func:`duty_log.entries_on`'s day, in the office's zone)
as an entry of a :class:`~streams.books.ranked.Ranked`: its instant and id, grouped by channel.
A view reads the entries it lists from their subjects' books. Pure: the worker feeds it every
write of the duty log's table and, after a recovery, every subject it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.books.book import KeptSummary, State
from streams.books.office_time import instant
from streams.books.ranked import Entry, Ranked

__all__ = ["DutyLogSummary"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DutyLogSummary(KeptSummary):
    """See the module's docstring."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.days: dict[int, Ranked] = {}
        """Office day (its ordinal) -> its entries: (instant, entry id), by channel."""
        self._ids: dict[str, tuple[str, ...]] = {}
        """Subject -> the ids of its entries."""
        self._placed: dict[str, tuple[int, str]] = {}
        """Entry id -> its day's ordinal and its subject."""

    def put(self, key: str, book: State | None) -> None:
        """The duty log's subject ``key`` is now ``book`` (``None``: gone). The log only grows,
        so a write places only the entries the summary does not have yet."""
        entries = book["entries"] if book else []
        ids = tuple(e["id"] for e in entries)
        gone = set(self._ids.pop(key, ())).difference(ids)
        for entry_id in gone:
            day, _ = self._placed.pop(entry_id)
            self._drop(day, entry_id)
        if ids:
            self._ids[key] = ids
        for entry in entries:
            if entry["id"] not in self._placed:
                self._place(key, entry)

    def forget(self) -> None:
        self.days.clear()
        self._ids.clear()
        self._placed.clear()

    def on(self, day: date) -> Ranked:
        """The entries of office day ``day`` (none: an empty list)."""
        return self.days.get(day.toordinal()) or Ranked(1)

    def lines(self, book_of: Callable[[str], State | None], listed: Iterable[Entry]) -> list[Any]:
        """The duty-log lines ``listed`` names, in that order, each read from its subject's
        book (``book_of``: the table's ``get``)."""
        found = []
        for entry in listed:
            entry_id = entry[-1]
            book = book_of(self._placed[entry_id][1])
            lines = book["entries"] if book else []
            found += [line for line in lines if line["id"] == entry_id][:1]
        return found

    def _place(self, key: str, entry: State) -> None:
        at = instant(entry["received_at"])
        day = (_EPOCH + timedelta(microseconds=at)).astimezone(self.zone).date().toordinal()
        self._placed[entry["id"]] = (day, key)
        self.days.setdefault(day, Ranked(1)).put(entry["id"], (at,), entry["channel"])

    def _drop(self, day: int, entry_id: str) -> None:
        found = self.days[day]
        found.put(entry_id, None)
        if not len(found):
            del self.days[day]
