"""The reply tallies' summary: per department, and per office day and month of receipt, the
messages received, those still open and the waits of those replied, kept up to date as messages
are written — so ``/reply-rate`` and the dashboard add up a period's days and months instead of
decoding every message's book (1M messages: seconds, on the loop that applies events).

Exact, not estimated: a period (streams/books/period.py) is whole office days, so its messages
are exactly those of its days (whole months, and the days of months it has only in part), and it
takes the same figures as :func:`reply_tallies.tally` over the books (a property test holds them
equal): each day's and month's waits are kept sorted as they are written, with their count and
their sum in microseconds, so the period's count, on-time count (a bisection per shelf), max and
mean (exact integers) add up, and its nearest-rank p50 and p90 are the k-th smallest of its
shelves' sorted lists (streams/books/kth_smallest.py): no request merges and sorts a period's
waits. The messages not answered yet are also kept per department, oldest first, for the
oldest unanswered message of a period and the dashboard's list of those no department has.
Pure: the worker feeds it every write of the messages' table and, after a recovery, every
message it holds; the views pass ``now``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from midfield.settings import RepliesSettings
from streams.books import office_time
from streams.books.book import Held, KeptSummary, State
from streams.books.kth_smallest import kth_smallest
from streams.books.period import Period
from streams.books.ranked import Entry, Ranked
from streams.books.replies import is_message
from streams.books.reply_tallies import aged, figures, mean, micros, nearest_rank

__all__ = ["ReplySummary", "message_row"]


_Row = tuple[date, str, str, float | None, str]
"""What the summary keeps of a message: the office day and department it counts under, its
receipt, receipt to first reply (``None``: not answered) and title. A plain tuple of dates,
strings and numbers, which the garbage collector stops tracking (a named tuple per message is
walked by every full collection: a stall on the loop that applies events)."""


_Key = TypeVar("_Key", date, int)


def message_row(book: State | None, zone: ZoneInfo) -> _Row | None:
    """What the summary keeps of a message's book (``None``: not a message)."""
    if not is_message(book):
        return None
    received = office_time.parse(book["received_at"])
    wait = (
        (office_time.parse(book["replied_at"]) - received).total_seconds()
        if book["replied_at"]
        else None
    )
    return (received.astimezone(zone).date(), book["department"], book["received_at"], wait,
            book["title"])  # fmt: skip


@dataclass(slots=True)
class _Shelf:
    """One department's messages received on one office day, or in one month."""

    received: int = 0
    unanswered: int = 0
    waits: list[float] = field(default_factory=list)
    """The waits of those replied, sorted."""
    micros: int = 0
    """The waits added up, in microseconds (:func:`reply_tallies.micros`): exact."""

    def count(self, wait: float | None, us: int, sign: int) -> None:
        """A message with ``wait`` (``None``: open; ``us`` its microseconds) comes (``sign``
        1) or goes (-1)."""
        self.received += sign
        if wait is None:
            self.unanswered += sign
        elif sign > 0:
            self.micros += us
            insort(self.waits, wait)
        else:
            self.micros -= us
            del self.waits[bisect_left(self.waits, wait)]


@dataclass(slots=True)
class _Shelves:
    """One department's shelves: by office day, and by month (its :func:`_month` number)."""

    days: dict[date, _Shelf] = field(default_factory=dict)
    months: dict[int, _Shelf] = field(default_factory=dict)

    def count(self, day: date, wait: float | None, sign: int) -> None:
        """A message received on ``day`` comes (``sign`` 1) or goes (-1)."""
        us = 0 if wait is None else micros(wait)
        _count_in(self.days, day, wait, us, sign)
        _count_in(self.months, _month(day), wait, us, sign)

    def of(self, first: date, after: date) -> Iterator[_Shelf]:
        """The shelves that hold exactly the messages of the days ``first`` to ``after``
        (excluded): those of its whole months, and the days of the others."""
        whole_from, whole_to = _month(first) + (first.day != 1), _month(after)
        if whole_from >= whole_to:  # no whole month: a day, a week
            yield from self._days(first, after)
            return
        if first.day != 1:
            yield from self._days(first, _first_day(whole_from))
        yield from (shelf for m, shelf in self.months.items() if whole_from <= m < whole_to)
        yield from self._days(_first_day(whole_to), after)

    def _days(self, first: date, after: date) -> Iterator[_Shelf]:
        span = (after - first).days
        if span > len(self.days):  # all time: fewer days held than in the span
            yield from (shelf for d, shelf in self.days.items() if first <= d < after)
            return
        for n in range(span):
            shelf = self.days.get(first + timedelta(days=n))
            if shelf is not None:
                yield shelf


def _count_in(
    shelves: dict[_Key, _Shelf], key: _Key, wait: float | None, us: int, sign: int
) -> None:
    """:meth:`_Shelf.count` on ``shelves[key]``, made when it comes and dropped when empty."""
    shelf = shelves.get(key)
    if shelf is None:
        shelf = shelves[key] = _Shelf()
    shelf.count(wait, us, sign)
    if not shelf.received:
        del shelves[key]


def _month(day: date) -> int:
    """The number of ``day``'s month, counted from January of year 0."""
    return day.year * 12 + day.month - 1


def _first_day(month: int) -> date:
    """The first day of the month :func:`_month` numbers ``month``."""
    return date(month // 12, month % 12 + 1, 1)


class ReplySummary(KeptSummary):
    """See the module's docstring."""

    def __init__(self, rules: RepliesSettings, zone: ZoneInfo) -> None:
        self.rules, self.zone = rules, zone
        self.rows: Held[str, _Row] = Held()
        self.shelves: dict[str, _Shelves] = {}
        """Department -> its messages by day and by month."""
        self.open: dict[str, Ranked] = {}
        """Department -> its messages not answered yet, by receipt (its instant), then id."""

    def put(self, key: str, book: State | None) -> None:
        """The messages' entity ``key`` is now ``book`` (``None``: gone; a stub: no message)."""
        self.put_prepared(key, book, self.prepare(key, book))

    def prepare(self, key: str, book: State | None) -> _Row | None:
        """The row of ``book`` (:func:`message_row`: its times parsed), before it is counted."""
        return message_row(book, self.zone)

    def put_prepared(self, key: str, book: State | None, prepared: object) -> None:
        """:meth:`put` with ``book``'s row made by :meth:`prepare`."""
        row = cast("_Row | None", prepared)
        old = self.rows.pop(key, None)
        if old is not None:
            old_day, old_department, _, old_wait, _ = old
            self._count(old_department, old_day, old_wait, -1)
            if old_wait is None:
                self._open_in(old_department, key, None)
        if row is None:
            return
        self.rows[key] = row
        day, department, received_at, wait, _ = row
        self._count(department, day, wait, 1)
        if wait is None:
            self._open_in(department, key, (office_time.instant(received_at),))

    def forget(self) -> None:
        self.rows.clear()
        self.shelves.clear()
        self.open.clear()

    def departments(self) -> list[str]:
        """Every department a message was assigned to (``""``: not assigned), in order."""
        return sorted(self.shelves)

    def unanswered(self, department: str, listed: int | None = None) -> list[dict[str, str]]:
        """The messages of ``department`` (``""``: not assigned) not answered yet, oldest
        first (the ``listed`` oldest, if given): each its ``message_id``, ``title`` and
        ``received_at``."""
        return [self.message(entry[-1]) for entry in self.oldest_open(department, listed)]

    def oldest_open(self, department: str, listed: int | None = None) -> list[Entry]:
        """:meth:`unanswered` as entries of a :class:`Ranked`: (receipt's instant, id)."""
        found = self.open.get(department)
        if found is None:
            return []
        return found.first(len(found) if listed is None else listed)

    def open_since(self, received_by: datetime) -> list[str]:
        """The messages of every department not answered yet that were received at or before
        ``received_by``, each department's oldest first."""
        bound = (office_time.instant_of(received_by) + 1,)
        return [e[-1] for found in self.open.values() for e in found.first(found.below(bound))]

    def open_count(self, department: str) -> int:
        """How many messages of ``department`` (``""``: not assigned) are not answered yet."""
        found = self.open.get(department)
        return 0 if found is None else len(found)

    def waiting(self, *, department: str | None, now: datetime) -> dict[str, Any]:
        """The ``unanswered`` and ``oldest_unanswered`` of :meth:`tally` over every period,
        from the messages not answered (no message's wait is read)."""
        shelves = [
            found for code, found in self.open.items() if department is None or code == department
        ]
        firsts = [found.first(1)[0] for found in shelves]
        return {
            "unanswered": sum(len(found) for found in shelves),
            "oldest_unanswered": aged(self.message(min(firsts)[-1]) if firsts else None, now),
        }

    def tally(self, period: Period, *, department: str | None, now: datetime) -> dict[str, Any]:
        """:func:`reply_tallies.tally`'s figures, from the summary."""
        first = period.start.astimezone(self.zone).date() if period.start else date.min
        after = period.end.astimezone(self.zone).date() if period.end else date.max
        codes = list(self.shelves) if department is None else [department]
        shelves = [
            shelf for code in codes if code in self.shelves
            for shelf in self.shelves[code].of(first, after)
        ]  # fmt: skip
        runs = [shelf.waits for shelf in shelves if shelf.waits]
        replied = sum(len(run) for run in runs)
        limit = self.rules.on_time_days * 86_400
        return figures(
            received=sum(shelf.received for shelf in shelves),
            replied=replied,
            on_time=sum(bisect_right(run, limit) for run in runs),
            time_to_reply=self._spread(runs, replied, sum(shelf.micros for shelf in shelves)),
            unanswered=sum(shelf.unanswered for shelf in shelves),
            oldest=self._oldest_open(department, period),
            now=now,
        )

    @staticmethod
    def _spread(runs: list[list[float]], n: int, total_micros: int) -> dict[str, float] | None:
        """:func:`reply_tallies.spread` of the ``n`` waits of the sorted lists ``runs``."""
        if not n:
            return None
        return {
            "mean": mean(total_micros, n),
            "p50": kth_smallest(runs, nearest_rank(0.5, n)),
            "p90": kth_smallest(runs, nearest_rank(0.9, n)),
            "max": max(run[-1] for run in runs),
        }

    def _oldest_open(self, department: str | None, period: Period) -> dict[str, Any] | None:
        """The oldest message of ``department`` (``None``: any) received in ``period`` and
        not answered yet: the first of each department's from the period's start."""
        start = None if period.start is None else (office_time.instant_of(period.start),)
        end = None if period.end is None else office_time.instant_of(period.end)
        shelves = [
            found for code, found in self.open.items() if department is None or code == department
        ]
        firsts = [entry for found in shelves for entry in found.first(1, after=start)]
        held = [entry for entry in firsts if end is None or entry[0] < end]
        return self.message(min(held)[-1]) if held else None

    def _count(self, department: str, day: date, wait: float | None, sign: int) -> None:
        shelves = self.shelves.setdefault(department, _Shelves())
        shelves.count(day, wait, sign)
        if not shelves.days:
            del self.shelves[department]

    def _open_in(self, department: str, key: str, rank: tuple[int] | None) -> None:
        found = self.open.setdefault(department, Ranked(1))
        found.put(key, rank)
        if not len(found):
            del self.open[department]

    def message(self, key: str) -> dict[str, Any]:
        """A message as the lists of unanswered ones show it: its id, title and receipt."""
        row = self.rows[key]
        _, _, received_at, _, title = row
        return {"message_id": key, "title": title, "received_at": received_at}
