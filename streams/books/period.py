"""A period the office counts over — a day, a month, a year or all time — in its time zone.

``GET /reply-rate`` (streams/books/reply_tallies.py) and ``GET /work-order-rates``
(streams/books/workorders.py) take one as ``?period=``; both count what was received in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Period"]


@dataclass(frozen=True)
class Period:
    """A day, a month, a year or all time, in the office's time zone."""

    label: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Period:
        """``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY`` or ``all``; ``ValueError`` otherwise."""
        if text == "all":
            return cls("all", None, None)
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 3:
            first = date(*parts)
            after = first + timedelta(days=1)
        elif len(parts) == 2:
            first = date(parts[0], parts[1], 1)
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        elif len(parts) == 1 and len(text) == 4:
            first, after = date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)
        else:
            raise ValueError(f"period must be YYYY-MM-DD, YYYY-MM, YYYY or all, got {text!r}")
        return cls(text, _midnight(first, zone), _midnight(after, zone))

    def holds(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)
