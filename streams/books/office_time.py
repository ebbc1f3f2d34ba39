"""Times in the books and their views: compared as aware datetimes, shown in the office's zone.

A book keeps an event's time as the envelope carried it on the wire: ISO 8601 with its own
offset, so a telegram's may be UTC (``…T02:30:04Z``) and a fax's ``+08:00``. Such strings do not
order as text (``"…T02:30Z" < "…T09:00+08:00"`` although 02:30Z is 10:30 in Shanghai), so books
sort, filter and pick the latest on :func:`parse`; and views pass their JSON through
:func:`shown`, so that a person reads every time in the office's zone
(``MIDFIELD_OFFICE_TIMEZONE``, Asia/Shanghai by default), the same instant either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["earliest", "instant", "instant_of", "latest", "parse", "shown"]

_AWARE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")
"""An ISO 8601 date-time with an offset: what ``datetime.isoformat()`` of an aware time writes."""


def parse(text: str) -> datetime:
    """The aware datetime ``text`` names; ``ValueError`` for a naive or malformed one."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: a book's times are aware")
    return when


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def instant(text: str) -> int:
    """The ISO time as microseconds since the epoch: an exact sort key that is a plain integer
    (a summary keeps one per entity, see streams/books/ranked.py)."""
    return instant_of(parse(text))


def instant_of(when: datetime) -> int:
    """:func:`instant` of an aware datetime."""
    return (when - _EPOCH) // _MICROSECOND


def latest(*texts: str) -> str:
    """Whichever of the ISO times is latest as an instant (not as text)."""
    return max(texts, key=parse)


def earliest(*texts: str) -> str:
    """Whichever of the ISO times is earliest as an instant (not as text)."""
    return min(texts, key=parse)


def shown(value: Any, zone: ZoneInfo) -> Any:
    """``value`` (a view's JSON) with every aware ISO date-time string in ``zone``.

    Dates (``2026-12-06``), naive times and other text stay as they are.
    """
    return _shown(value, _in_zone(zone))


def _shown(value: Any, convert: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        # most strings are no time: two cheap looks before the pattern
        return convert(value) if 16 < len(value) < 34 and value[10] == "T" else value
    if isinstance(value, dict):
        return {key: _shown(item, convert) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(item, convert) for item in value]
    return value


@lru_cache(maxsize=8)
def _in_zone(zone: ZoneInfo) -> Callable[[str], str]:
    """One string of :func:`shown` in ``zone``, remembered: a view polled again shows mostly the
    same times (a page of 200 ledger tasks walks ~6k values; bench/views.py polls it every
    200 ms). Keyed by the string alone, so the memory holds nothing the garbage collector must
    walk (a key of (text, zone) would be a tracked tuple, 65k of them)."""

    @lru_cache(maxsize=1 << 16)
    def convert(text: str) -> str:
        return parse(text).astimezone(zone).isoformat() if _AWARE.fullmatch(text) else text

    return convert
