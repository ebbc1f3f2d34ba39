"""The reply tallies' summary: per department and day of receipt, the messages received, the
waits of those replied, and those still open, kept up to date as messages are written — so
``/reply-rate`` and the dashboard add up a period's days instead of decoding every message's
book (1M messages: seconds, on the loop that applies events).

Exact, not estimated: a period (streams/books/period.py) is whole office days, so its messages
are exactly those of its days, and the waits of its days, merged and sorted, give the same
percentiles as :func:`reply_tallies.tally` over the books (a property test holds them equal).
The messages not answered yet are also kept per department, oldest first, for the dashboard's
oldest unanswered message and its list of those no department has.
Pure: the worker feeds it every write of the messages' table and, after a recovery, every
message it holds; the views pass ``now``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from midfield.settings import RepliesSettings
from streams.books import office_time
from streams.books.book import KeptSummary, State
from streams.books.period import Period
from streams.books.ranked import Entry, Ranked
from streams.books.replies import is_message
from streams.books.reply_tallies import aged, figures

__all__ = ["ReplySummary"]


_Row = tuple[date, str, str, float | None, str]
"""What the summary keeps of a message: the office day and department it counts under, its
receipt, receipt to first reply (``None``: not answered) and title. A plain tuple of dates,
strings and numbers, which the garbage collector stops tracking (a named tuple per message is
walked by every full collection: a stall on the loop that applies events)."""


@dataclass(slots=True)
class _Day:
    """One department's messages received on one office day."""

    received: int = 0
    waits: list[float] = field(default_factory=list)
    open: set[str] = field(default_factory=set)
    """Messages not answered yet."""


class ReplySummary(KeptSummary):
    """See the module's docstring."""

    def __init__(self, rules: RepliesSettings, zone: ZoneInfo) -> None:
        self.rules, self.zone = rules, zone
        self.rows: dict[str, _Row] = {}
        self.days: dict[tuple[str, date], _Day] = {}
        self.open: dict[str, Ranked] = {}
        """Department -> its messages not answered yet, by receipt (its instant), then id."""

    def put(self, key: str, book: State | None) -> None:
        """The messages' entity ``key`` is now ``book`` (``None``: gone; a stub: no message)."""
        old = self.rows.pop(key, None)
        if old is not None:
            old_day, old_department, _, old_wait, _ = old
            day = self.days[(old_department, old_day)]
            day.received -= 1
            if old_wait is None:
                day.open.discard(key)
                self._open_in(old_department, key, None)
            else:
                day.waits.remove(old_wait)
            if not day.received:
                del self.days[(old_department, old_day)]
        if not is_message(book):
            return
        received = office_time.parse(book["received_at"])
        wait = (
            (office_time.parse(book["replied_at"]) - received).total_seconds()
            if book["replied_at"]
            else None
        )
        row: _Row = (received.astimezone(self.zone).date(), book["department"],
                   book["received_at"], wait, book["title"])  # fmt: skip
        self.rows[key] = row
        day = self.days.setdefault((book["department"], row[0]), _Day())
        day.received += 1
        if wait is None:
            day.open.add(key)
            self._open_in(book["department"], key, (office_time.instant(book["received_at"]),))
        else:
            day.waits.append(wait)

    def forget(self) -> None:
        self.rows.clear()
        self.days.clear()
        self.open.clear()

    def departments(self) -> list[str]:
        """Every department a message was assigned to (``""``: not assigned), in order."""
        return sorted({department for department, _ in self.days})

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
        days = sorted(
            (
                (d, found)
                for (code, d), found in self.days.items()
                if first <= d < after and (department is None or code == department)
            ),
            key=lambda entry: entry[0],
        )
        waits = sorted(chain.from_iterable(found.waits for _, found in days))
        on_time = bisect_right(waits, self.rules.on_time_days * 86_400)
        open_days = [d for d, found in days if found.open]
        oldest = None
        if open_days:  # the earliest day with a message open holds the oldest
            earliest = [k for d, found in days if d == open_days[0] for k in found.open]
            oldest = min(earliest, key=lambda k: (self._received(k), k))
        return figures(
            received=sum(found.received for _, found in days),
            waits=waits,
            on_time=on_time,
            unanswered=sum(len(found.open) for _, found in days),
            oldest=None if oldest is None else self.message(oldest),
            now=now,
        )

    def _open_in(self, department: str, key: str, rank: tuple[int] | None) -> None:
        found = self.open.setdefault(department, Ranked(1))
        found.put(key, rank)
        if not len(found):
            del self.open[department]

    def _received(self, key: str) -> datetime:
        return office_time.parse(self.rows[key][2])

    def message(self, key: str) -> dict[str, Any]:
        """A message as the lists of unanswered ones show it: its id, title and receipt."""
        row = self.rows[key]
        _, _, received_at, _, title = row
        return {"message_id": key, "title": title, "received_at": received_at}
