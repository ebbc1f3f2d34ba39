"""亮点: what went well this week.

Supervised tasks closed this week at least ``early_days`` before their deadline, never
extended; departments that received at least ``min_replies`` public messages this week and
answered every one on time (the reply tallies' on-time rate, streams/books/reply_tallies.py, at
100 %); and hotline satisfaction up: the share of this week's callbacks not 不满意 against the
share over the weeks before, for the county and for each lead unit with ``min_callbacks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from midfield.settings import Settings
from schemas.events.workorder import Satisfaction
from streams.books import office_time, reply_tallies, task_book, workorders
from streams.books.period import Period
from streams.brief.model import Entry
from streams.brief.settings import BriefSettings
from streams.brief.week import Week

__all__ = ["highlights"]

Books = Iterable[dict[str, Any]]
NameOf = Callable[[str], str]


def highlights(tasks: Books, orders: Books, messages: list[dict[str, Any]], week: Week,
               now: datetime, settings: Settings, name_of: NameOf) -> list[Entry]:  # fmt: skip
    rules = settings.part(BriefSettings)
    return [
        *_closed_early(tasks, week, settings, name_of)[: rules.listed],
        *_on_time(messages, week, now, settings, name_of)[: rules.listed],
        *_satisfaction(orders, week, rules, name_of),
    ]


def _closed_early(tasks: Books, week: Week, settings: Settings, name_of: NameOf) -> list[Entry]:
    early = settings.part(BriefSettings).early_days
    zone = settings.office.zone
    rows = []
    for book in tasks:
        if not task_book.is_task(book) or not book["closed_at"] or book["delay_count"]:
            continue
        closed = office_time.parse(book["closed_at"])
        deadline = date.fromisoformat(book["original_deadline"])
        days = (deadline - closed.astimezone(zone).date()).days
        if week.holds(closed) and days >= early:
            lead = book["lead_department"]
            rows.append(Entry(kind="closed-early", id=book["task_id"], label=book["title"],
                              department=lead, department_name=name_of(lead),
                              figures={"deadline": book["original_deadline"], "days_early": days,
                                       "closed_at": book["closed_at"]},
                              reason=f"提前{days}天办结销号"))  # fmt: skip
    return sorted(rows, key=lambda e: (-int(e.figures["days_early"] or 0), e.id))


def _on_time(messages: list[dict[str, Any]], week: Week, now: datetime, settings: Settings,
             name_of: NameOf) -> list[Entry]:  # fmt: skip
    period = Period(week.label, week.start, week.end)
    least = settings.part(BriefSettings).min_replies
    rows = []
    for code in sorted({m.get("department", "") for m in messages} - {""}):
        t = reply_tallies.tally(messages, period, department=code, now=now, rules=settings.replies)
        if t["received"] >= least and t["on_time_rate"] == 1.0:
            rows.append(Entry(kind="on-time-replies", id=code, label=name_of(code),
                              department=code, department_name=name_of(code),
                              figures={"received": t["received"], "on_time": t["on_time"]},
                              reason=f"本周{t['received']}条留言全部按时答复"))  # fmt: skip
    return sorted(rows, key=lambda e: (-int(e.figures["received"] or 0), e.id))


def _satisfaction(orders: Books, week: Week, rules: BriefSettings,
                  name_of: NameOf) -> list[Entry]:  # fmt: skip
    """The county's and each lead unit's satisfaction, where it rose enough."""
    since = week.before(rules.history_weeks).start
    now_: dict[str, list[bool]] = {}
    before: dict[str, list[bool]] = {}
    for order in orders:
        callback = order.get("callback") if workorders.is_order(order) else None
        if not callback:
            continue
        at = office_time.parse(callback["at"])
        into = now_ if week.holds(at) else before if since <= at < week.start else None
        if into is None:
            continue
        ok = callback["satisfaction"] != Satisfaction.dissatisfied
        lead = order["units"][0] if order["units"] else ""
        for key in ("", lead) if lead else ("",):
            into.setdefault(key, []).append(ok)
    rows = []
    for key in sorted(now_):
        this, earlier = now_[key], before.get(key, [])
        if len(this) < rules.min_callbacks or len(earlier) < rules.min_callbacks:
            continue
        rate, was = sum(this) / len(this), sum(earlier) / len(earlier)
        if rate - was >= rules.satisfaction_points:
            name = name_of(key) if key else "全县热线工单"
            reason = (f"回访满意率{rate:.0%}，前{rules.history_weeks}周{was:.0%}，"
                      f"上升{(rate - was) * 100:.0f}个百分点")  # fmt: skip
            rows.append(Entry(kind="satisfaction-up", id=key, label=name, department=key,
                              department_name=name_of(key) if key else "",
                              figures={"rate": round(rate, 4), "before": round(was, 4),
                                       "callbacks": len(this), "callbacks_before": len(earlier)},
                              reason=reason))  # fmt: skip
    return rows
