"""When the week's brief goes to the leaders' outbox, and what it says there.

:func:`due` is the week whose brief is due at a moment: this week, from its
``MIDFIELD_BRIEF_SEND_WEEKDAY`` at ``MIDFIELD_BRIEF_SEND_AT`` (office time) to its end.
:func:`issued` is the :class:`~schemas.events.brief.BriefIssued` the worker's timer sends
(streams/worker/brief_timer.py), worded line by line as the document is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.events.brief import BriefIssued
from streams.brief.document import line, title
from streams.brief.model import Brief
from streams.brief.settings import BriefSettings
from streams.brief.week import Week

__all__ = ["due", "issued"]


def due(now: datetime, rules: BriefSettings, zone: ZoneInfo) -> Week | None:
    """This week once its send moment has passed; ``None`` before it, or when sending is off."""
    if not rules.send_weekday:
        return None
    week = Week.of(now, zone)
    day = week.monday + timedelta(days=rules.send_weekday - 1)
    return week if now >= datetime.combine(day, rules.send_at, zone) else None


def issued(brief: Brief) -> BriefIssued:
    totals = {k: v for k, v in brief.totals.items() if not isinstance(v, str | bool)}
    return BriefIssued(
        week=brief.week,
        title=title(brief),
        issuer=brief.issuer,
        start=brief.start,
        end=brief.end,
        totals=totals,
        hotspots=tuple(f"{h.label}：{h.reason}。" for h in brief.hotspots),
        focus=tuple(line(e) for e in brief.focus),
        highlights=tuple(line(e) for e in brief.highlights),
        document=f"/brief.docx?week={brief.week}",
    )
