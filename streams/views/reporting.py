"""The duty report from the app's books, for ``GET /duty-report`` and for the shift-end timer.

:func:`report_for` gathers what the report lists (duty log entries, overdue tasks, items and work
orders, alerts, open emergencies) and streams/views/duty_report.py shapes it; the worker's timer
(streams/worker/duty_reports.py) issues the same report as an event when a shift ends.
"""

from __future__ import annotations

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
from streams.views import duty_report, labels

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["report_for"]


def report_for(app: MidfieldApp, win: duty_report.Window, now: datetime) -> dict[str, Any]:
    entries = [e for _, b in app.table(duty_log.BOOK).items() if b for e in b["entries"]]
    raised = [b for _, b in app.table(alerts.BOOK).items() if b]
    still_open = [
        emergencies.summary(b)
        for _, b in app.table(emergencies.BOOK).items()
        if emergencies.is_open(b)
    ]
    return duty_report.report(
        win,
        entries=entries,
        overdue=_overdue(app, now),
        alerts=raised,
        emergencies=still_open,
        now=now,
    )


def _overdue(app: MidfieldApp, now: datetime) -> list[dict[str, Any]]:
    """Red supervised tasks and work orders past their last day, as the report lists them."""
    rules, zone = app.settings.supervision, app.settings.office.zone
    found = []
    for _, book in app.table(ledger.BOOK).items():
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
    for _, item in app.table(items.BOOK).items():
        if items.is_item(item) and item["status"] != "closed":
            what = f"来件 {item['what']}（{item['urgency']}）"
            found += _late("item", item["item_id"], what, "办理时限", items.due_at(item, zone), now)
    for _, order in app.table(workorders.BOOK).items():
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
