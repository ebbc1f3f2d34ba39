"""The dashboard (``GET /``): one page for the duty officer and ops, and the JSON it shows.

The page (``streams/static/dashboard.html``) is one self-contained file: no CDN, no build step,
no fonts of its own; it works on an office network without the internet. Its script fetches
``GET /dashboard.json`` every ``refresh_s`` seconds and writes every value with ``textContent``,
so text from the public (a message, a title) can never become markup.

Every word the office reads comes from one table, streams/views/labels.py: light reasons and alerts
are worded here from their codes, and the page looks channels, kinds and statuses up in the
``labels`` this JSON carries. The colour thresholds of the reply rates come from settings.

What it shows depends on who asks: a department's principal sees its own tasks, reply tallies
and work orders at risk only (no alerts, duty log, dead letters, emergencies, sources or lag); a
reader whose role does not need citizens' personal data sees the duty log and the emergencies'
follow-ups masked (streams/views/masking.py). Only the office's readers see the messages and
work orders no department has, with suggested departments (streams/views/suggestions.py).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from midfield import metrics
from midfield.access import Policy, Principal
from midfield.access import Role as R
from streams.books import (
    alerts,
    duty_log,
    emergencies,
    ledger,
    lights,
    replies,
    task_book,
    waiting_letters,
    workorders,
)
from streams.books.period import Period
from streams.books.task_state import TaskState
from streams.views import labels, masking
from streams.views.ops import readiness
from streams.views.pages import OFFICE_READERS, office_json, page, principal_of, summary_of
from streams.views.public_requests import reply_rates
from streams.views.suggestions import unassigned

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["PAGE", "register_dashboard", "snapshot"]

PAGE = files("streams").joinpath("static/dashboard.html").read_text(encoding="utf-8")
"""The page, read once: it is static; the data comes from /dashboard.json."""

_LISTED = 20
"""Rows shown per list (red tasks, alerts, duty-log entries); the counts are always whole."""

_NEWEST_LETTERS = 5
"""Dead letters listed by name; the count and the tally by reason are whole."""


def register_dashboard(app: MidfieldApp) -> None:
    """``GET /`` (the page, for anyone signed in) and ``GET /dashboard.json`` (its data)."""
    zone = app.settings.office.zone

    @page(app, "/", Policy.authenticated())
    async def dashboard_page(web: Any, request: Any) -> Any:
        return web.html(PAGE)

    @page(app, "/dashboard.json", Policy.of(*OFFICE_READERS, R.ops, R.department))
    async def dashboard_data(web: Any, request: Any) -> Any:
        return office_json(web, snapshot(app, readiness(app), principal_of(request)), zone)


def snapshot(app: MidfieldApp, ready: tuple[bool, str], viewer: Principal) -> dict[str, Any]:
    """Everything the page shows ``viewer``, as of ``app.clock()``."""
    now = app.clock()
    own = viewer.department if viewer.scoped else None
    shown = {
        "now": now.isoformat(),
        "office": app.directory.office_name,
        "viewer": {"name": viewer.name, "roles": sorted(viewer.roles), "department": own},
        "ready": {"ok": ready[0], "reason": ready[1]},
        "labels": labels.for_page(),
        "supervision": _supervision(app, now, own),
        "replies": _replies(app, now, own),
        "work_orders": _work_orders_at_risk(app, now, own),
        "unassigned": unassigned(app, viewer),
        "alerts": {"open": 0, "items": []},
        "duty_log": {"date": "", "count": 0, "by_channel": {}, "latest": []},
        "dead_letters": {"waiting": 0, "by_reason": [], "latest": []},
        "emergencies": {"open": 0, "items": []},
        "sources": [],
        "lag": [],
    }
    if own is not None:
        return shown
    unmasked = not viewer.roles.isdisjoint(app.settings.access.unmasked_roles)
    return shown | {
        "alerts": _alerts(app),
        "duty_log": _duty_log(app, now, unmasked),
        "dead_letters": _dead_letters(app),
        "emergencies": _emergencies(app, unmasked),
        "sources": [
            {"source": s, "age_s": round(age, 1)} for s, age in metrics.source_ages().items()
        ],
        "lag": _lag(app),
    }


def _supervision(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """The lights counted and the red and yellow tasks nearest their deadline, from the
    ledger's summary: only the listed tasks' books are read."""
    rules, zone = app.settings.supervision, app.settings.office.zone
    table = app.table(ledger.BOOK)
    summary = summary_of(table).at(now)
    mine = summary.select(department=own)
    flagged: dict[str, list[dict[str, Any]]] = {}
    for colour in (lights.Light.red, lights.Light.yellow):
        keys = summary.select(light=colour, department=own)
        nearest = heapq.nsmallest(_LISTED, keys, key=lambda k: (summary.deadline(k), k))
        books = [b for b in map(table.get, nearest) if task_book.is_task(b)]
        flagged[colour.value] = [
            _task_row(app, b, lights.light_reason(b, now, rules, zone)[1]) for b in books
        ]
    return {"lights": summary.counts(mine), **flagged}


def _task_row(app: MidfieldApp, book: TaskState, reason: lights.Reason) -> dict[str, Any]:
    return {
        "task_id": book["task_id"],
        "title": book["title"],
        "lead": app.directory.name_of(book["lead_department"]),
        "deadline": book["deadline"],
        "status": book["status"],
        "percent": book["percent"],
        "reason": labels.light_reason(reason),
        "reason_code": reason.code,
        "focus": book["focus"],
    }


def _replies(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """This month's reply tallies per department (or ``own`` only), and the oldest message
    still unanswered (from the messages' summary: no message's book is read)."""
    zone, rules = app.settings.office.zone, app.settings.replies
    month = Period.parse(now.astimezone(zone).strftime("%Y-%m"), zone)
    figures = reply_rates(app, month, own, now)
    ever = summary_of(app.table(replies.BOOK)).tally(
        Period.parse("all", zone), department=own, now=now
    )
    return {
        "period": month.label,
        "departments": figures["departments"][:_LISTED],
        "total": figures["total"],
        "oldest_unanswered": ever["oldest_unanswered"],
        "unanswered": ever["unanswered"],
        "colours": {"red_below": rules.red_below, "yellow_below": rules.yellow_below},
    }


def _alerts(app: MidfieldApp) -> dict[str, Any]:
    shown = alerts.open_first([b for _, b in app.table(alerts.BOOK).items() if b], only_open=True)
    items = [a | {"text": labels.alert_text(a, app.directory.name_of)} for a in shown[:_LISTED]]
    return {"open": len(shown), "items": items}


def _dead_letters(app: MidfieldApp) -> dict[str, Any]:
    """Dead letters no re-drive has taken yet: their count, per reason, the newest."""
    books = (b for _, b in app.table(waiting_letters.INDEX).items())
    found = waiting_letters.waiting(books, _NEWEST_LETTERS)
    return {
        "waiting": found["waiting"],
        "by_reason": [
            {"reason": r, "label": labels.dead_letter_reason(r), "count": n}
            for r, n in found["by_reason"].items()
        ],
        "latest": [
            letter | {"label": labels.dead_letter_reason(letter["reason"])}
            for letter in found["latest"]
        ],
    }


def _emergencies(app: MidfieldApp, unmasked: bool) -> dict[str, Any]:
    """Open emergencies, the most recently followed up first, each with its last report."""
    rows = []
    for _, book in app.table(emergencies.BOOK).items():
        if not emergencies.is_open(book):
            continue
        content = book["reports"][-1]["content"]
        rows.append(
            emergencies.summary(book)
            | {"latest_content": content if unmasked else masking.text(content)}
        )
    rows.sort(key=lambda r: datetime.fromisoformat(r["latest_at"]), reverse=True)
    return {"open": len(rows), "items": rows[:_LISTED]}


def _work_orders_at_risk(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """Open hotline orders overdue or due within ``hotline.at_risk_hours`` (a department: the
    orders it leads or was dispatched), the soonest due first."""
    zone, rules = app.settings.office.zone, app.settings.hotline
    window = timedelta(hours=rules.at_risk_hours)
    rows = []
    for _, book in app.table(workorders.BOOK).items():
        if not workorders.is_order(book) or book["status"] == "closed":
            continue
        if own is not None and not workorders.involves(book, own):
            continue
        due = workorders.due_at(book, zone)
        if due - now <= window:
            rows.append(_order_row(app, book, due, now))
    rows.sort(key=lambda r: (r["hours_left"], r["order_number"]))
    return {"count": len(rows), "window_hours": rules.at_risk_hours, "items": rows[:_LISTED]}


def _order_row(
    app: MidfieldApp, book: dict[str, Any], due: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "order_number": book["order_number"],
        "category": book["category"],
        "status": book["status"],
        "units": [app.directory.name_of(u) for u in book["units"]],
        "deadline": book["deadline"],
        "hours_left": round((due - now).total_seconds() / 3600, 1),
        "overdue": now >= due,
    }


def _duty_log(app: MidfieldApp, now: datetime, unmasked: bool) -> dict[str, Any]:
    zone = app.settings.office.zone
    today = now.astimezone(zone).date()
    entries = duty_log.entries_on(
        [b for _, b in app.table(duty_log.BOOK).items() if b], today, zone
    )
    if not unmasked:
        entries = [masking.duty_entry(e) for e in entries]
    return {
        "date": today.isoformat(),
        "count": len(entries),
        "by_channel": dict(Counter(e["channel"] for e in entries)),
        "latest": entries[-_LISTED:][::-1],
    }


def _lag(app: MidfieldApp) -> list[dict[str, Any]]:
    """Lag per topic: records summed over partitions, seconds of the oldest partition."""
    per_topic: dict[str, dict[str, float]] = defaultdict(lambda: {"lag": 0, "lag_seconds": 0.0})
    for part in app.broker_watch.lags:
        total = per_topic[part.topic]
        total["lag"] += part.lag
        total["lag_seconds"] = max(total["lag_seconds"], part.lag_seconds)
    return [{"topic": t, **v} for t, v in sorted(per_topic.items())]
