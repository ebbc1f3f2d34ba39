"""The duty report from the app's books, for ``GET /duty-report`` and for the shift-end timer.

:func:`report_for` gathers what the report lists (duty log entries, overdue tasks, items and work
orders, alerts, open emergencies) and streams/views/duty_report.py shapes it; the worker's timer
(streams/worker/duty_reports.py) issues the same report as an event when a shift ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from streams.books import (
    alerts,
    duty_log,
    emergencies,
    items,
    ledger,
    lights,
    task_book,
    workorders,
)
from streams.books.book import Book
from streams.views import duty_report, labels
from streams.views.pages import summary_of

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["report_for"]


async def report_for(app: MidfieldApp, win: duty_report.Window, now: datetime) -> dict[str, Any]:
    """What the report for ``win`` lists as of ``now``. The books are read in chunks with the
    event loop running between them (``Table.chunks``, streams/worker/table.py): read at once,
    a shift's report held the worker's loop 660–810 ms at 100k tasks (bench/views.py's stall
    log). Of the supervised tasks only the red ones of the ledger's summary are read."""
    entries = [e async for b in _books(app, duty_log.BOOK) for e in b["entries"]]
    raised = [b async for b in _books(app, alerts.BOOK)]
    still_open = [
        emergencies.summary(b)
        async for b in _books(app, emergencies.BOOK)
        if emergencies.is_open(b)
    ]
    return duty_report.report(
        win,
        entries=entries,
        overdue=await _overdue(app, now),
        alerts=raised,
        emergencies=still_open,
        now=now,
    )


async def _books(
    app: MidfieldApp, book: Book, keys: Iterable[str] | None = None
) -> AsyncIterator[Any]:
    """Every book of ``book`` (of ``keys``), skipping none-books, the loop running between
    chunks."""
    async for chunk in app.table(book).chunks(keys=keys):
        for found in chunk:
            if found:
                yield found


async def _overdue(app: MidfieldApp, now: datetime) -> list[dict[str, Any]]:
    """Red supervised tasks and work orders past their last day, as the report lists them."""
    rules, zone = app.settings.supervision, app.settings.office.zone
    found = []
    tasks = app.table(ledger.BOOK)
    await tasks.settle()  # the lights made in steps, not all by the read below
    # read at the clock's time, not the report's: a read earlier than the last (a view's, while
    # the report read its books) relights every task, ~0.8 s at 100k. A task red at ``now`` is
    # red later too (only its due time turns it red), and each is checked at ``now`` below
    red = summary_of(tasks).at(app.clock()).select(light=lights.Light.red)
    async for book in _books(app, ledger.BOOK, keys=sorted(red)):
        if task_book.is_task(book):
            colour, reason = lights.light_reason(book, now, rules, zone)
            if colour is lights.Light.red:
                found.append(
                    {
                        "kind": "task",
                        "id": book["task_id"],
                        "what": f"督办事项 {book['task_id']}《{book['title']}》",
                        "reason": labels.light_reason(reason),
                    }
                )
    async for item in _books(app, items.BOOK):
        if items.is_item(item) and item["status"] != "closed":
            what = f"来件 {item['what']}（{item['urgency']}）"
            found += _late("item", item["item_id"], what, "办理时限", items.due_at(item, zone), now)
    async for order in _books(app, workorders.BOOK):
        if workorders.is_order(order) and order["status"] != "closed":
            number, due = order["order_number"], workorders.due_at(order, zone)
            found += _late("work_order", number, f"热线工单 {number}", "办结时限", due, now)
    return sorted(found, key=lambda o: (o["kind"], o["id"]))


def _late(
    kind: str, entity: str, what: str, limit: str, due: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The report's line of an item or work order past its ``limit`` (办理时限, 办结时限), with
    the days it is late counting the day it fell due; none before ``due``."""
    if now < due:
        return []
    reason = f"超过{limit} {(now - due).days + 1} 天"
    return [{"kind": kind, "id": entity, "what": what, "reason": reason}]
