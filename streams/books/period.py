"""A period the office counts over — a day, an ISO week, a month, a quarter, a year or all
time — in its time zone.

``GET /reply-rate`` (streams/books/reply_tallies.py), ``GET /work-order-rates``
(streams/books/workorders.py) and ``GET /info-reports/tallies`` (streams/books/info_tallies.py)
take one as ``?period=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Period"]


@dataclass(frozen=True)
class Period:
    """A day, an ISO week, a month, a quarter, a year or all time, in the office's time zone."""

    label: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Period:
        """``YYYY-MM-DD``, ``YYYY-Www`` (ISO week, Monday first), ``YYYY-MM``, ``YYYY-Qn``,
        ``YYYY`` or ``all``; ``ValueError`` otherwise."""
        if text == "all":
            return cls("all", None, None)
        try:
            first, after = _bounds(text)
        except OverflowError as exc:  # the day after 9999-12-31
            raise ValueError(f"period {text!r} ends after the last date there is") from exc
        return cls(text, _midnight(first, zone), _midnight(after, zone))

    def holds(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _bounds(text: str) -> tuple[date, date]:
    """The first day of the period ``text`` names, and the first day after it."""
    if match := _WEEK_OR_QUARTER.fullmatch(text):
        return _week_or_quarter(int(match[1]), match[2], int(match[3]))
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        first = date(*parts)
        return first, first + timedelta(days=1)
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        return first, date(first.year + first.month // 12, first.month % 12 + 1, 1)
    if len(parts) == 1 and len(text) == 4:
        return date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)
    raise ValueError(
        f"period must be YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or all, got {text!r}"
    )


_WEEK_OR_QUARTER = re.compile(r"(\d{4})-(W|Q)(\d{1,2})")


def _week_or_quarter(year: int, unit: str, n: int) -> tuple[date, date]:
    """The first day of ISO week ``n`` (``W``) or quarter ``n`` (``Q``) of ``year``, and the
    first day after it; ``ValueError`` for a week or quarter the year does not have."""
    if unit == "W":
        first = date.fromisocalendar(year, n, 1)
        return first, first + timedelta(weeks=1)
    if not 1 <= n <= 4:
        raise ValueError(f"a year has quarters 1 to 4, not {n}")
    first = date(year, 3 * n - 2, 1)
    return first, date(year + n // 4, 3 * n % 12 + 1, 1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)
