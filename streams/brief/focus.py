"""重点: what needs a leader's attention as of the brief's moment.

Red and yellow supervised tasks (their light and its reason: streams/books/lights.py), incoming
items past their time limit, work orders past their last day or due within ``due_soon_days``,
and the departments whose public messages wait for a reply past the on-time limit
(``MIDFIELD_REPLIES_ON_TIME_DAYS``). Each kind is listed worst first, at most ``listed`` of it;
the totals count them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from midfield.settings import Settings
from streams.books import items, lights, office_time, task_book, workorders
from streams.brief.model import Entry
from streams.brief.settings import BriefSettings
from streams.views import labels

__all__ = ["focus"]

Books = Iterable[dict[str, Any]]
NameOf = Callable[[str], str]


def focus(tasks: Books, items_: Books, orders: Books, messages: Books, now: datetime,
          settings: Settings, name_of: NameOf) -> tuple[list[Entry], dict[str, int]]:  # fmt: skip
    """The 重点 entries (each kind worst first, ``listed`` at most) and how many of each."""
    rules = settings.part(BriefSettings)
    kinds = {
        **_tasks(tasks, now, settings, name_of),
        "overdue-item": _items(items_, now, settings),
        **_orders(orders, now, settings, name_of),
        "replies-behind": _replies(messages, now, settings, name_of),
    }
    entries = [e for found in kinds.values() for e in found[: rules.listed]]
    return entries, {kind: len(found) for kind, found in kinds.items()}


def _entry(kind: str, id_: str, label: str, department: str, name_of: NameOf,
           figures: dict[str, Any], reason: str) -> Entry:  # fmt: skip
    name = name_of(department) if department else ""
    return Entry(kind=kind, id=id_, label=label, department=department, department_name=name,
                 figures=figures, reason=reason)  # fmt: skip


def _tasks(tasks: Books, now: datetime, settings: Settings,
           name_of: NameOf) -> dict[str, list[Entry]]:  # fmt: skip
    rules, zone = settings.supervision, settings.office.zone
    found: dict[str, list[tuple[int, Entry]]] = {"red-task": [], "yellow-task": []}
    for book in tasks:
        if not task_book.is_task(book):
            continue
        colour, reason = lights.light_reason(book, now, rules, zone)
        if colour is lights.Light.green:
            continue
        figures = dict(reason.figures)
        due_in = (lights.due_at(book, zone) - now).days
        entry = _entry(f"{colour.value}-task", book["task_id"], book["title"],
                       book["lead_department"], name_of,
                       {"deadline": book["deadline"], "percent": book["percent"],
                        "focus": book["focus"], **figures},
                       labels.light_reason(reason))  # fmt: skip
        found[f"{colour.value}-task"].append((due_in, entry))
    return {kind: [e for _, e in sorted(rows, key=lambda r: (r[0], r[1].id))]
            for kind, rows in found.items()}  # fmt: skip


def _items(books: Books, now: datetime, settings: Settings) -> list[Entry]:
    zone = settings.office.zone
    rows = []
    for item in books:
        if not items.is_item(item) or item["status"] == "closed":
            continue
        due = items.due_at(item, zone)
        if now >= due:
            days = (now - due).days + 1
            entry = Entry(kind="overdue-item", id=item["item_id"], label=item["what"],
                          department="", department_name="",
                          figures={"urgency": item["urgency"], "deadline": item["deadline"],
                                   "days": days},
                          reason=f"{item['urgency']}，超过办理时限{days}天")  # fmt: skip
            rows.append((due, entry))
    return [e for _, e in sorted(rows, key=lambda r: (r[0], r[1].id))]


def _orders(books: Books, now: datetime, settings: Settings,
            name_of: NameOf) -> dict[str, list[Entry]]:  # fmt: skip
    zone = settings.office.zone
    soon = timedelta(days=settings.part(BriefSettings).due_soon_days)
    found: dict[str, list[tuple[datetime, Entry]]] = {"overdue-order": [], "order-due-soon": []}
    for order in books:
        if not workorders.is_order(order) or order["status"] == "closed":
            continue
        due = workorders.due_at(order, zone)
        if now >= due:
            kind, days = "overdue-order", (now - due).days + 1
            reason = f"超过办结时限{days}天"
        elif due - now <= soon:
            kind, days = "order-due-soon", (due - now).days
            reason = f"距办结时限不足{soon.days}天，尚未办结"
        else:
            continue
        lead = order["units"][0] if order["units"] else ""
        figures = {"deadline": order["deadline"], "status": order["status"], "days": days,
                   "returns": order["returns"], "reopened": order["reopened"]}  # fmt: skip
        label = f"热线工单{order['order_number']}"
        entry = _entry(kind, order["order_number"], label, lead, name_of, figures, reason)
        found[kind].append((due, entry))
    return {kind: [e for _, e in sorted(rows, key=lambda r: (r[0], r[1].id))]
            for kind, rows in found.items()}  # fmt: skip


def _replies(books: Books, now: datetime, settings: Settings, name_of: NameOf) -> list[Entry]:
    """Departments with messages unanswered past the on-time limit: most waiting first."""
    limit = timedelta(days=settings.replies.on_time_days)
    late: dict[str, list[int]] = {}
    for m in books:
        received = m.get("received_at")
        if not received or m.get("replied_at"):
            continue
        waited = now - office_time.parse(received)
        if waited > limit:
            late.setdefault(m.get("department", ""), []).append(waited.days)
    rows = sorted(late.items(), key=lambda r: (-len(r[1]), -max(r[1]), r[0]))
    # fmt: off
    return [
        _entry("replies-behind", code, name_of(code) if code else "（未分派）", code, name_of,
               {"late": len(days), "oldest_days": max(days)},
               f"{len(days)}条留言超过{settings.replies.on_time_days:g}天未答复，"
               f"最久{max(days)}天")
        for code, days in rows
    ]
    # fmt: on
