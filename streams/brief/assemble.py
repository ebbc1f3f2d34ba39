"""The brief of one week from the books: :func:`build`.

``books`` maps a book's name to its entities, as a view reads them from the worker's tables or
as a replay snapshot holds them (streams/books/snapshot.py): the messages, the work orders, the
ledger's tasks and the incoming items. Everything is judged at ``as_of``, the week's end or
``now`` if that comes first: a task's light, an item's or an order's time limit, a message's
wait. The books keep each entity as it is now, so the brief of a past week lists today's
statuses judged at that week's end (docs/brief.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from midfield.settings import Settings
from streams.books import items, ledger, office_time, replies, reply_tallies, workorders
from streams.books.period import Period
from streams.brief.focus import focus
from streams.brief.highlights import highlights
from streams.brief.hotspots import docs_of, hotspots
from streams.brief.model import Brief
from streams.brief.settings import BriefSettings
from streams.brief.terms import reader
from streams.brief.week import Week

__all__ = ["READS", "build"]

READS = (replies.BOOK.name, workorders.BOOK.name, ledger.BOOK.name, items.BOOK.name)
"""The books a brief reads."""


def build(books: Mapping[str, Iterable[dict[str, Any]]], week: Week, now: datetime,
          settings: Settings, name_of: Callable[[str], str]) -> Brief:  # fmt: skip
    """The brief of ``week`` as of ``now`` (or the week's end, if earlier)."""
    rules = settings.part(BriefSettings)
    as_of = min(now, week.end)
    messages = [m for m in books.get(replies.BOOK.name, ()) if replies.is_message(m)]
    orders = [o for o in books.get(workorders.BOOK.name, ()) if workorders.is_order(o)]
    tasks = list(books.get(ledger.BOOK.name, ()))
    incoming = list(books.get(items.BOOK.name, ()))
    since = week.before(rules.history_weeks).start
    docs = docs_of(messages, orders, since, week.end, reader(rules.places, rules.stopwords))
    concerns, counts = focus(tasks, incoming, orders, messages, as_of, settings, name_of)
    return Brief(
        week=week.label,
        start=week.start,
        end=week.end,
        as_of=as_of,
        issuer=rules.issuer,
        totals=_totals(messages, orders, week, as_of, settings) | counts,
        hotspots=hotspots(docs, week, rules),
        focus=concerns,
        highlights=highlights(tasks, orders, messages, week, as_of, settings, name_of),
    )


def _totals(messages: list[dict[str, Any]], orders: list[dict[str, Any]], week: Week,
            as_of: datetime, settings: Settings) -> dict[str, Any]:  # fmt: skip
    period = Period(week.label, week.start, week.end)
    tally = reply_tallies.tally(messages, period, department=None, now=as_of,
                                rules=settings.replies)  # fmt: skip
    accepted = [o for o in orders if week.holds(office_time.parse(o["accepted_at"]))]
    closed = [o for o in orders if o["closed_at"] and week.holds(office_time.parse(o["closed_at"]))]
    return {
        "messages": tally["received"],
        "messages_replied": tally["replied"],
        "messages_on_time_rate": tally["on_time_rate"],
        "work_orders": len(accepted),
        "work_orders_closed": len(closed),
    }
