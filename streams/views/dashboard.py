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

No panel decodes every book: each counts and picks what it lists from its book's summary (the
ledger's, the messages', the alerts', the duty log's…, streams/books/book.py ``Summary``) and
reads only the books of the rows it shows.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
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
from streams.books.book import State
from streams.books.period import Period
from streams.books.ranked import keys as keys_of
from streams.views import labels, masking
from streams.views.ops import readiness
from streams.views.pages import OFFICE_READERS, office_json, page, principal_of, summary_of
from streams.views.public_requests import reply_rates
from streams.views.rows import Rows
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
    zone, rows = app.settings.office.zone, _task_rows(app)

    @page(app, "/", Policy.authenticated())
    async def dashboard_page(web: Any, request: Any) -> Any:
        return web.html(PAGE)

    @page(app, "/dashboard.json", Policy.of(*OFFICE_READERS, R.ops, R.department))
    async def dashboard_data(web: Any, request: Any) -> Any:
        return office_json(web, snapshot(app, readiness(app), principal_of(request), rows), zone)


def snapshot(
    app: MidfieldApp,
    ready: tuple[bool, str],
    viewer: Principal,
    rows: Rows[tuple[dict[str, Any], lights.Timing]] | None = None,
) -> dict[str, Any]:
    """Everything the page shows ``viewer``, as of ``app.clock()`` (``rows``: the supervision
    panel's rows remembered from earlier refreshes)."""
    now = app.clock()
    own = viewer.department if viewer.scoped else None
    shown = {
        "now": now.isoformat(),
        "office": app.directory.office_name,
        "viewer": {"name": viewer.name, "roles": sorted(viewer.roles), "department": own},
        "ready": {"ok": ready[0], "reason": ready[1]},
        "labels": labels.for_page(),
        "supervision": _supervision(app, rows or _task_rows(app), now, own),
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


def _supervision(
    app: MidfieldApp,
    rows: Rows[tuple[dict[str, Any], lights.Timing]],
    now: datetime,
    own: str | None,
) -> dict[str, Any]:
    """The lights counted and the red and yellow tasks nearest their deadline, from the
    ledger's summary: only the listed tasks' books are read, and each only once it changed since
    the last refresh (``rows``; for a department, the keys of its red and yellow tasks sorted)."""
    rules, zone = app.settings.supervision, app.settings.office.zone
    table = app.table(ledger.BOOK)
    summary = summary_of(table).at(now)
    mine = summary.select(department=own) if own is not None else None
    flagged: dict[str, list[dict[str, Any]]] = {}
    for colour in (lights.Light.red, lights.Light.yellow):
        made = filter(None, (rows.of(table, key) for key in _nearest(summary, colour, own)))
        flagged[colour.value] = [
            shown | _reason(lights.light_reason(timing, now, rules, zone)[1])
            for shown, timing in made
        ]
    return {"lights": summary.counts(mine), **flagged}


def _nearest(summary: Any, colour: lights.Light, own: str | None) -> list[str]:
    """The :data:`_LISTED` tasks of ``colour`` (of department ``own``) nearest their deadline."""
    if own is None:
        listed: list[str] = summary.nearest(colour, _LISTED)
        return listed
    keys = summary.select(light=colour, department=own)
    return heapq.nsmallest(_LISTED, keys, key=lambda k: (summary.deadline(k), k))


def _task_rows(app: MidfieldApp) -> Rows[tuple[dict[str, Any], lights.Timing]]:
    """The supervision panel's rows without their light's reason, which is computed at every
    refresh from the remembered :class:`lights.Timing`."""

    def make(book: State) -> tuple[dict[str, Any], lights.Timing] | None:
        if not task_book.is_task(book):
            return None
        shown = {
            "task_id": book["task_id"],
            "title": book["title"],
            "lead": app.directory.name_of(book["lead_department"]),
            "deadline": book["deadline"],
            "status": book["status"],
            "percent": book["percent"],
            "focus": book["focus"],
        }
        return shown, lights.timing(book)

    return Rows(make)


def _reason(reason: lights.Reason) -> dict[str, Any]:
    return {"reason": labels.light_reason(reason), "reason_code": reason.code}


def _replies(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """This month's reply tallies per department (or ``own`` only), and the oldest message
    still unanswered (from the messages' summary: no message's book is read)."""
    zone, rules = app.settings.office.zone, app.settings.replies
    month = Period.parse(now.astimezone(zone).strftime("%Y-%m"), zone)
    figures = reply_rates(app, month, own, now)
    ever = summary_of(app.table(replies.BOOK)).waiting(department=own, now=now)
    return {
        "period": month.label,
        "departments": figures["departments"][:_LISTED],
        "total": figures["total"],
        "oldest_unanswered": ever["oldest_unanswered"],
        "unanswered": ever["unanswered"],
        "colours": {"red_below": rules.red_below, "yellow_below": rules.yellow_below},
    }


def _alerts(app: MidfieldApp) -> dict[str, Any]:
    """The open alerts, critical first then the last raised (from the alerts' summary: only
    the listed alerts' books are read)."""
    table = app.table(alerts.BOOK)
    ranked = summary_of(table).ranked
    listed, _ = ranked.page(None, _LISTED, before=alerts.OPEN_BELOW)
    books = [b for b in map(table.get, keys_of(listed)) if alerts.is_alert(b)]
    items = [
        alerts.listed(b) | {"text": labels.alert_text(b, app.directory.name_of)} for b in books
    ]
    return {"open": ranked.below(alerts.OPEN_BELOW), "items": items}


def _dead_letters(app: MidfieldApp) -> dict[str, Any]:
    """Dead letters no re-drive has taken yet: their count, per reason, the newest (from the
    index's summary: only the newest letters' books are read)."""
    table = app.table(waiting_letters.INDEX)
    found = waiting_letters.waiting_in(summary_of(table).ranked, _NEWEST_LETTERS)
    newest = [b for b in map(table.get, found["latest"]) if b]
    return {
        "waiting": found["waiting"],
        "by_reason": [
            {"reason": r, "label": labels.dead_letter_reason(r), "count": n}
            for r, n in found["by_reason"].items()
        ],
        "latest": [
            {k: b[k] for k in ("reason", "connector", "first_seen")}
            | {"label": labels.dead_letter_reason(b["reason"])}
            for b in newest
        ],
    }


def _emergencies(app: MidfieldApp, unmasked: bool) -> dict[str, Any]:
    """Open emergencies, the most recently followed up first, each with its last report (from
    the emergencies' summary: only the listed ones' books are read)."""
    table = app.table(emergencies.BOOK)
    ranked = summary_of(table).ranked
    rows = []
    for book in map(table.get, keys_of(ranked.last(_LISTED))):
        if not emergencies.is_open(book):
            continue
        content = book["reports"][-1]["content"]
        rows.append(
            emergencies.summary(book)
            | {"latest_content": content if unmasked else masking.text(content)}
        )
    return {"open": len(ranked), "items": rows}


def _work_orders_at_risk(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """Open hotline orders overdue or due within ``hotline.at_risk_hours`` (a department: the
    orders it leads or was dispatched), the soonest due first (from the orders' summary: only
    the listed orders' books are read)."""
    zone, rules = app.settings.office.zone, app.settings.hotline
    table = app.table(workorders.BOOK)
    window = timedelta(hours=rules.at_risk_hours)
    count, listed = summary_of(table).at_risk(now + window, own, _LISTED)
    rows = [
        _order_row(app, b, workorders.due_at(b, zone), now)
        for b in map(table.get, listed)
        if workorders.is_order(b)
    ]
    return {"count": count, "window_hours": rules.at_risk_hours, "items": rows}


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
    """Today's duty-log entries: counted by channel, the newest listed (from the duty log's
    summary: only the listed entries' books are read)."""
    zone = app.settings.office.zone
    today = now.astimezone(zone).date()
    table = app.table(duty_log.BOOK)
    summary = summary_of(table)
    ranked = summary.on(today)
    entries = summary.lines(table.get, ranked.last(_LISTED))
    if not unmasked:
        entries = [masking.duty_entry(e) for e in entries]
    return {
        "date": today.isoformat(),
        "count": len(ranked),
        "by_channel": ranked.counts(),
        "latest": entries,
    }


def _lag(app: MidfieldApp) -> list[dict[str, Any]]:
    """Lag per topic: records summed over partitions, seconds of the oldest partition."""
    per_topic: dict[str, dict[str, float]] = defaultdict(lambda: {"lag": 0, "lag_seconds": 0.0})
    for part in app.broker_watch.lags:
        total = per_topic[part.topic]
        total["lag"] += part.lag
        total["lag_seconds"] = max(total["lag_seconds"], part.lag_seconds)
    return [{"topic": t, **v} for t, v in sorted(per_topic.items())]
