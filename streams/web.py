"""HTTP views served by the worker's web server (DESIGN §6): health, readiness and metrics; the
books (duty log and report, incoming items, ledger, work orders, reply tallies, alerts); the
dashboard. Views read the books; the figures are computed by the books' pure modules."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from midfield import metrics
from schemas.events.task import TaskStatus
from streams import (
    alerts,
    dashboard,
    duty_log,
    duty_report,
    items,
    ledger,
    replies,
    reporting,
    workorders,
)
from streams import ledger_sheet as ledger_sheet_
from streams.replay import books as replay_books

if TYPE_CHECKING:
    from streams.app import MidfieldApp

__all__ = ["readiness", "register_views"]


def readiness(app: MidfieldApp) -> tuple[bool, str]:
    """Ready = partitions assigned and every table recovered; else the reason why not.

    faust sets ``recovery.completed`` only after an assignment's changelogs are read to their
    high watermark (generation ids are no signal: Tansu hands out generation 0).
    """
    recovery = cast(Any, app.tables).recovery  # TableManager's, not in its typed interface
    if app.broker_watch.error:
        return False, f"broker unreachable: {app.broker_watch.error}"
    if app.rebalancing:
        return False, "rebalancing"
    if app.in_recovery:
        return False, "recovering tables from changelogs"
    if not recovery.completed.is_set():
        return False, "waiting for partition assignment"
    return True, "ready"


def _bad_request(web: Any, reason: str, message: str) -> Any:
    return web.json({"error": reason, "message": message}, status=400)


def register_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "app": app.conf.id})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        ok, reason = readiness(app)
        return web.json({"ready": ok, "reason": reason}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    @app.page("/duty-log")
    async def duty_log_view(web: Any, request: Any) -> Any:
        raw = request.query.get("date")
        try:
            day = date.fromisoformat(raw) if raw else datetime.now(zone).date()
        except ValueError:
            return _bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {raw!r}")
        books = [book for _, book in app.duty_log.items() if book]
        entries = duty_log.entries_on(books, day, zone)
        return web.json({"date": day.isoformat(), "count": len(entries), "entries": entries})

    @app.page("/alerts")
    async def alerts_view(web: Any, request: Any) -> Any:
        raw = request.query.get("open", "true").lower()
        if raw not in ("true", "false"):
            return _bad_request(web, "bad-filter", f"open must be true or false, got {raw!r}")
        books = [book for _, book in app.alerts.items() if book]
        shown = alerts.open_first(books, only_open=raw == "true")
        return web.json({"count": len(shown), "alerts": shown})

    @app.page("/reply-rate")
    async def reply_rate_view(web: Any, request: Any) -> Any:
        now = app.clock()
        text = request.query.get("period") or now.astimezone(zone).strftime("%Y-%m")
        try:
            period = replies.Period.parse(text, zone)
        except ValueError as exc:
            return _bad_request(web, "bad-period", str(exc))
        return web.json(reply_rates(app, period, request.query.get("department") or None, now))

    @app.page("/work-orders/{number}")
    async def work_order_view(web: Any, request: Any, number: str) -> Any:
        book = app.work_orders.get(number)
        if not workorders.is_order(book):
            return web.json({"error": "unknown-order", "message": f"no order {number}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused")}
        return web.json(shown | {"due_at": workorders.due_at(book, zone).isoformat()})

    @app.page("/items/{item_id}")
    async def item_view(web: Any, request: Any, item_id: str) -> Any:
        book = app.items.get(item_id)
        if not items.is_item(book):
            return web.json({"error": "unknown-item", "message": f"no item {item_id}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused", "held")}
        return web.json(shown | {"due_at": items.due_at(book, zone).isoformat()})

    @app.page("/work-order-rates")
    async def work_order_rates_view(web: Any, request: Any) -> Any:
        now = app.clock()
        text = request.query.get("period") or now.astimezone(zone).strftime("%Y-%m")
        try:
            period = replies.Period.parse(text, zone)
        except ValueError as exc:
            return _bad_request(web, "bad-period", str(exc))
        books = [b for _, b in app.work_orders.items() if workorders.is_order(b)]
        unit = request.query.get("department") or None
        units = [unit] if unit else sorted({u for b in books for u in b["dispatched_at"]})
        rows = [
            {"department": u, "name": app.directory.name_of(u)}
            | workorders.figures(
                books, period, unit=u, now=now, rules=app.settings.hotline, zone=zone
            )
            for u in units
        ]
        total = workorders.figures(
            books, period, unit=unit, now=now, rules=app.settings.hotline, zone=zone
        )
        return web.json({"period": period.label, "departments": rows, "total": total})

    @app.page("/duty-report")
    async def duty_report_view(web: Any, request: Any) -> Any:
        query, now = request.query, app.clock()
        try:
            day = (
                date.fromisoformat(query["date"])
                if query.get("date")
                else now.astimezone(zone).date()
            )
            win = duty_report.window(
                day, query.get("shift") or None, app.settings.duty.shifts, zone
            )
        except ValueError:
            return _bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {query['date']!r}")
        except KeyError:
            shifts = ", ".join(app.settings.duty.shifts)
            return _bad_request(web, "unknown-shift", f"shift must be one of: {shifts}")
        rep = reporting.report_for(app, win, now)
        if query.get("format") == "html":
            return web.html(duty_report.render_html(rep, app.directory.office_name))
        return web.json(rep)

    @app.page("/")
    async def dashboard_page(web: Any, request: Any) -> Any:
        return web.html(dashboard.PAGE)

    @app.page("/dashboard.json")
    async def dashboard_data(web: Any, request: Any) -> Any:
        return web.json(dashboard.snapshot(app, readiness(app)))

    @app.page("/replay/books")
    async def books_view(web: Any, request: Any) -> Any:
        raw = request.query.get("at")
        try:
            at = datetime.fromisoformat(raw) if raw else app.clock()
        except ValueError:
            return _bad_request(web, "bad-time", f"at must be an ISO time, got {raw!r}")
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        tables = {name: dict(getattr(app, name).items()) for name in replay_books.BOOKS}
        return web.json(replay_books.render(tables, at, app.settings))

    register_ledger_views(app)


def reply_rates(
    app: MidfieldApp, period: replies.Period, department: str | None, now: datetime
) -> dict[str, Any]:
    """The reply tallies of ``period``, per department (or the one asked for) and in total."""
    books = [b for _, b in app.messages.items() if replies.is_message(b)]
    return replies.by_department(
        books,
        period,
        department=department,
        now=now,
        rules=app.settings.replies,
        name_of=app.directory.name_of,
    )


_HIDDEN = ("applied", "refused", "history")
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _summary(app: MidfieldApp, book: dict[str, Any], now: datetime) -> dict[str, Any]:
    colour, reason = ledger.light(book, now, app.settings.supervision, app.settings.office.zone)
    shown = {k: v for k, v in book.items() if k not in _HIDDEN}
    return shown | {"light": colour.value, "light_reason": reason}


def register_ledger_views(app: MidfieldApp) -> None:
    rules, zone = app.settings.supervision, app.settings.office.zone

    @app.page("/ledger")
    async def ledger_view(web: Any, request: Any) -> Any:
        query = request.query
        try:
            light = ledger.Light(query["light"]) if query.get("light") else None
            status = TaskStatus(query["status"]).value if query.get("status") else None
        except ValueError as exc:
            return _bad_request(web, "bad-filter", str(exc))
        now = app.clock()
        books = [b for _, b in app.ledger.items() if ledger.is_task(b)]
        found = [
            _summary(app, b, now)
            for b in sorted(books, key=lambda b: b["task_id"])
            if ledger.matches(
                b,
                department=query.get("department"),
                light_=light,
                status=status,
                now=now,
                rules=rules,
                zone=zone,
            )
        ]
        counts = {c.value: sum(t["light"] == c.value for t in found) for c in ledger.Light}
        return web.json(
            {"now": now.isoformat(), "count": len(found), "lights": counts, "tasks": found}
        )

    @app.page("/ledger.xlsx")
    async def ledger_sheet(web: Any, request: Any) -> Any:
        now = app.clock()
        books = [b for _, b in app.ledger.items() if ledger.is_task(b)]
        names = {code: d.name for code, d in app.directory.departments.items()}
        body = ledger_sheet_.workbook(books, now, rules, zone, names)
        filename = f"ledger-{now.astimezone(zone).date().isoformat()}.xlsx"
        return web.bytes(
            body,
            content_type=_XLSX,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.page("/ledger/{task_id}")
    async def task_view(web: Any, request: Any, task_id: str) -> Any:
        book = app.ledger.get(task_id)
        if not ledger.is_task(book):
            return web.json({"error": "unknown-task", "message": f"no task {task_id}"}, status=404)
        return web.json(_summary(app, book, app.clock()) | {"history": book["history"]})
