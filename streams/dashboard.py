"""The dashboard (``GET /``): one page for the duty officer and ops, and the JSON it shows.

The page (``streams/static/dashboard.html``) is one self-contained file: no CDN, no build step,
no fonts of its own; it works on an office network without the internet. Its script fetches
``GET /dashboard.json`` every ``refresh_s`` seconds and writes every value with ``textContent``,
so text from the public (a message, a title) can never become markup.

What it shows depends on who asks: a department's principal sees its own tasks and reply
tallies only (no alerts, duty log, sources or lag); a reader whose role does not need citizens'
personal data sees the duty log masked (streams/masking.py).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from midfield import metrics
from midfield.access import Principal
from streams import alerts, duty_log, ledger, masking, replies

if TYPE_CHECKING:
    from streams.app import MidfieldApp

__all__ = ["PAGE", "in_chinese", "snapshot"]

PAGE = files("streams").joinpath("static/dashboard.html").read_text(encoding="utf-8")
"""The page, read once: it is static; the data comes from /dashboard.json."""

_LISTED = 20
"""Rows shown per list (red tasks, alerts, duty-log entries); the counts are always whole."""


def snapshot(app: MidfieldApp, ready: tuple[bool, str], viewer: Principal) -> dict[str, Any]:
    """Everything the page shows ``viewer``, as of ``app.clock()``."""
    now = app.clock()
    own = viewer.department if viewer.scoped else None
    shown = {
        "now": now.isoformat(),
        "office": app.directory.office_name,
        "viewer": {"name": viewer.name, "roles": sorted(viewer.roles), "department": own},
        "ready": {"ok": ready[0], "reason": ready[1]},
        "supervision": _supervision(app, now, own),
        "replies": _replies(app, now, own),
        "alerts": {"open": 0, "items": []},
        "duty_log": {"date": "", "count": 0, "by_channel": {}, "latest": []},
        "sources": [],
        "lag": [],
    }
    if own is not None:
        return shown
    unmasked = not viewer.roles.isdisjoint(app.settings.access.unmasked_roles)
    return shown | {
        "alerts": _alerts(app),
        "duty_log": _duty_log(app, now, unmasked),
        "sources": [
            {"source": s, "age_s": round(age, 1)} for s, age in metrics.source_ages().items()
        ],
        "lag": _lag(app),
    }


def _supervision(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    rules, zone = app.settings.supervision, app.settings.office.zone
    counts: Counter[str] = Counter()
    flagged: dict[str, list[dict[str, Any]]] = {"red": [], "yellow": []}
    for _, book in app.ledger.items():
        if not ledger.is_task(book) or (own and own not in ledger.departments_of(book)):
            continue
        colour, reason = ledger.light(book, now, rules, zone)
        counts[colour.value] += 1
        if colour.value in flagged:
            flagged[colour.value].append(_task_row(app, book, reason))
    for rows in flagged.values():
        rows.sort(key=lambda row: (row["deadline"], row["task_id"]))
    return {
        "lights": {c.value: counts[c.value] for c in ledger.Light},
        "red": flagged["red"][:_LISTED],
        "yellow": flagged["yellow"][:_LISTED],
    }


def _task_row(app: MidfieldApp, book: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "task_id": book["task_id"],
        "title": book["title"],
        "lead": app.directory.name_of(book["lead_department"]),
        "deadline": book["deadline"],
        "status": book["status"],
        "percent": book["percent"],
        "reason": in_chinese(reason),
        "focus": book["focus"],
    }


_REASONS = (
    (re.compile(r"overdue by (\d+) days?"), "逾期 {0} 天"),
    (re.compile(r"deadline in (\d+) days?"), "距完成时限 {0} 天"),
    (re.compile(r"progress (\d+)% behind time elapsed by (\d+)%"), "进度 {0}%，落后时间进度 {1}%"),
    (re.compile(r"on track"), "正常"),
    (re.compile(r"closed"), "已办结"),
)


def in_chinese(reason: str) -> str:
    """The light's reason (streams.ledger.light words it in English) for the office's page."""
    for pattern, text in _REASONS:
        if match := pattern.fullmatch(reason):
            return text.format(*match.groups())
    return reason


def _replies(app: MidfieldApp, now: datetime, own: str | None) -> dict[str, Any]:
    """This month's reply tallies per department (or ``own`` only), and the oldest message
    still unanswered."""
    zone, rules = app.settings.office.zone, app.settings.replies
    books = [b for _, b in app.messages.items() if replies.is_message(b)]
    month = replies.Period.parse(now.astimezone(zone).strftime("%Y-%m"), zone)
    figures = replies.by_department(
        books, month, department=own, now=now, rules=rules, name_of=app.directory.name_of
    )
    ever = replies.tally(
        books, replies.Period.parse("all", zone), department=own, now=now, rules=rules
    )
    return {
        "period": month.label,
        "departments": figures["departments"][:_LISTED],
        "total": figures["total"],
        "oldest_unanswered": ever["oldest_unanswered"],
        "unanswered": ever["unanswered"],
    }


def _alerts(app: MidfieldApp) -> dict[str, Any]:
    shown = alerts.open_first([b for _, b in app.alerts.items() if b], only_open=True)
    return {"open": len(shown), "items": shown[:_LISTED]}


def _duty_log(app: MidfieldApp, now: datetime, unmasked: bool) -> dict[str, Any]:
    zone = app.settings.office.zone
    today = now.astimezone(zone).date()
    entries = duty_log.entries_on([b for _, b in app.duty_log.items() if b], today, zone)
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
