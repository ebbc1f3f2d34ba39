"""An ISO week (``2026-W49``) in the office's time zone: Monday 00:00 to the next Monday."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Week"]

_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Week:
    """One ISO week: ``label`` ``YYYY-Www``, from ``start`` (Monday 00:00) to ``end``."""

    year: int
    number: int
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Week:
        """``YYYY-Www``; ``ValueError`` for anything else or a week the year has not."""
        found = _ISO_WEEK.fullmatch(text.strip())
        if not found:
            raise ValueError(f"week must be YYYY-Www (2026-W49), got {text!r}")
        year, number = int(found[1]), int(found[2])
        date.fromisocalendar(year, number, 1)  # ValueError for W00, W54, W53 of a 52-week year
        return cls(year, number, zone)

    @classmethod
    def of(cls, when: datetime, zone: ZoneInfo) -> Week:
        """The week ``when`` falls in, office time."""
        year, number, _ = when.astimezone(zone).isocalendar()
        return cls(year, number, zone)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(0), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.monday + timedelta(days=7), time(0), self.zone)

    def before(self, weeks: int) -> Week:
        """The week ``weeks`` weeks earlier."""
        return Week.of(self.start - timedelta(weeks=weeks), self.zone)

    def index_of(self, when: datetime) -> int:
        """How many weeks before this one ``when`` falls: 0 in it, 1 the week before…; -1 after."""
        if when >= self.end:
            return -1
        return math.ceil((self.end - when) / timedelta(weeks=1)) - 1

    def holds(self, when: datetime) -> bool:
        return self.start <= when < self.end
