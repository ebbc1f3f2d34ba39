"""HTTP views served by the worker's web server (DESIGN §6): health, readiness and metrics; the
books (duty log and report, incoming items, ledger, work orders, reply tallies, alerts, the audit
trail); the dashboard. Views read the books; the figures are computed by the books' pure modules.

Every time a view shows is in the office's zone (:func:`_office_json`, streams/office_time.py),
whatever offset the event carried on the wire.

Each view names who may call it (:func:`streams.access.page`); a department's principal sees only
its own share (:func:`_own_department`), and citizens' personal data is masked for roles that do
not need it (streams/views/masking.py). docs/security.md has the whole table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from midfield import metrics
from midfield.access import Policy, Principal
from midfield.access import Role as R
from schemas.events.task import TaskStatus
from streams.books import (
    alerts,
    audit,
    duty_log,
    items,
    ledger,
    lights,
    office_time,
    replies,
    reply_tallies,
    snapshot,
    task_book,
    workorders,
)
from streams.books.period import Period
from streams.books.registry import NAMES
from streams.views import dashboard, duty_report, masking, reporting
from streams.views import ledger_sheet as ledger_sheet_
from streams.worker.access import page, principal_of, register_sign_in

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

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


class OtherDepartment(Exception):
    """A department's principal asked for another department's share."""


def _own_department(request: Any, asked: str | None) -> str | None:
    """The department whose share ``request`` may see: its own for a department's principal
    (asking for another raises :class:`OtherDepartment`), else what was asked (``None``: all)."""
    who: Principal = principal_of(request)
    if not who.scoped:
        return asked
    if asked and asked != who.department:
        raise OtherDepartment(asked)
    return who.department


def _forbidden_department(web: Any, request: Any) -> Any:
    who = principal_of(request)
    return web.json(
        {"error": "other-department", "message": f"{who.id} sees only {who.department}"},
        status=403,
    )


def _office_json(web: Any, payload: Any, zone: ZoneInfo) -> Any:
    """A book's view as JSON with every time in it in the office's zone: one rule for all views."""
    return web.json(office_time.shown(payload, zone))


OFFICE_READERS = (R.director, R.duty_officer, R.supervision)
"""The office's roles that read the office's books."""


def register_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone
    unmasked = frozenset(app.settings.access.unmasked_roles)
    register_sign_in(app)

    @page(app, "/health", Policy.anyone())
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "app": app.conf.id})

    @page(app, "/ready", Policy.anyone())
    async def ready(web: Any, request: Any) -> Any:
        ok, reason = readiness(app)
        return web.json({"ready": ok, "reason": reason}, status=200 if ok else 503)

    @page(app, "/metrics", Policy.telemetry(R.ops))
    async def metrics_view(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    @page(app, "/duty-log", Policy.of(*OFFICE_READERS))
    async def duty_log_view(web: Any, request: Any) -> Any:
        raw = request.query.get("date")
        try:
            day = date.fromisoformat(raw) if raw else datetime.now(zone).date()
        except ValueError:
            return _bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {raw!r}")
        books = [book for _, book in app.table(duty_log.BOOK).items() if book]
        entries = duty_log.entries_on(books, day, zone)
        if principal_of(request).roles.isdisjoint(unmasked):
            entries = [masking.duty_entry(e) for e in entries]
        return _office_json(
            web, {"date": day.isoformat(), "count": len(entries), "entries": entries}, zone
        )

    @page(app, "/alerts", Policy.of(*OFFICE_READERS, R.ops))
    async def alerts_view(web: Any, request: Any) -> Any:
        raw = request.query.get("open", "true").lower()
        if raw not in ("true", "false"):
            return _bad_request(web, "bad-filter", f"open must be true or false, got {raw!r}")
        books = [book for _, book in app.table(alerts.BOOK).items() if book]
        shown = alerts.open_first(books, only_open=raw == "true")
        return _office_json(web, {"count": len(shown), "alerts": shown}, zone)

    @page(app, "/reply-rate", Policy.of(*OFFICE_READERS, R.department))
    async def reply_rate_view(web: Any, request: Any) -> Any:
        now = app.clock()
        text = request.query.get("period") or now.astimezone(zone).strftime("%Y-%m")
        try:
            period = Period.parse(text, zone)
            department = _own_department(request, request.query.get("department") or None)
        except ValueError as exc:
            return _bad_request(web, "bad-period", str(exc))
        except OtherDepartment:
            return _forbidden_department(web, request)
        return _office_json(web, reply_rates(app, period, department, now), zone)

    @page(app, "/work-orders/{number}", Policy.of(*OFFICE_READERS, R.department))
    async def work_order_view(web: Any, request: Any, number: str) -> Any:
        book = app.table(workorders.BOOK).get(number)
        own = _own_department(request, None)
        if not workorders.is_order(book) or (own and not workorders.involves(book, own)):
            return web.json({"error": "unknown-order", "message": f"no order {number}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused")}
        return _office_json(
            web, shown | {"due_at": workorders.due_at(book, zone).isoformat()}, zone
        )

    @page(app, "/items/{item_id}", Policy.of(R.director, R.duty_officer))
    async def item_view(web: Any, request: Any, item_id: str) -> Any:
        book = app.table(items.BOOK).get(item_id)
        if not items.is_item(book):
            return web.json({"error": "unknown-item", "message": f"no item {item_id}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused", "held")}
        return _office_json(web, shown | {"due_at": items.due_at(book, zone).isoformat()}, zone)

    @page(app, "/work-order-rates", Policy.of(*OFFICE_READERS, R.department))
    async def work_order_rates_view(web: Any, request: Any) -> Any:
        now = app.clock()
        text = request.query.get("period") or now.astimezone(zone).strftime("%Y-%m")
        try:
            period = Period.parse(text, zone)
            unit = _own_department(request, request.query.get("department") or None)
        except ValueError as exc:
            return _bad_request(web, "bad-period", str(exc))
        except OtherDepartment:
            return _forbidden_department(web, request)
        books = [b for _, b in app.table(workorders.BOOK).items() if workorders.is_order(b)]
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
        return _office_json(
            web, {"period": period.label, "departments": rows, "total": total}, zone
        )

    @page(app, "/duty-report", Policy.of(R.director, R.duty_officer))
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
        rep = office_time.shown(reporting.report_for(app, win, now), zone)
        if query.get("format") == "html":
            return web.html(duty_report.render_html(rep, app.directory.office_name))
        return web.json(rep)

    @page(app, "/", Policy.authenticated())
    async def dashboard_page(web: Any, request: Any) -> Any:
        return web.html(dashboard.PAGE)

    @page(app, "/dashboard.json", Policy.of(*OFFICE_READERS, R.ops, R.department))
    async def dashboard_data(web: Any, request: Any) -> Any:
        return _office_json(
            web, dashboard.snapshot(app, readiness(app), principal_of(request)), zone
        )

    @page(app, "/audit", Policy.of(R.director))
    async def audit_view(web: Any, request: Any) -> Any:
        raw = request.query.get("date")
        try:
            day = date.fromisoformat(raw) if raw else app.clock().astimezone(zone).date()
        except ValueError:
            return _bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {raw!r}")
        found = audit.on_day(
            app.table(audit.BOOK).items(), day, request.query.get("principal") or None
        )
        denied = sum(b["denied"] for b in found)
        return _office_json(
            web,
            {"date": day.isoformat(), "principals": len(found), "denied": denied, "books": found},
            zone,
        )

    @page(app, "/replay/books", Policy.of(R.replay))
    async def books_view(web: Any, request: Any) -> Any:
        raw = request.query.get("at")
        try:
            at = datetime.fromisoformat(raw) if raw else app.clock()
        except ValueError:
            return _bad_request(web, "bad-time", f"at must be an ISO time, got {raw!r}")
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        tables = {name: dict(app.books[name].items()) for name in NAMES}
        return web.json(snapshot.render(tables, at, app.settings))

    register_ledger_views(app)


def reply_rates(
    app: MidfieldApp, period: Period, department: str | None, now: datetime
) -> dict[str, Any]:
    """The reply tallies of ``period``, per department (or the one asked for) and in total."""
    books = [b for _, b in app.table(replies.BOOK).items() if replies.is_message(b)]
    return reply_tallies.by_department(
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
    colour, reason = lights.light(book, now, app.settings.supervision, app.settings.office.zone)
    shown = {k: v for k, v in book.items() if k not in _HIDDEN}
    return shown | {"light": colour.value, "light_reason": reason}


def register_ledger_views(app: MidfieldApp) -> None:
    rules, zone = app.settings.supervision, app.settings.office.zone

    readers = Policy.of(R.director, R.supervision, R.department)

    @page(app, "/ledger", readers)
    async def ledger_view(web: Any, request: Any) -> Any:
        query = request.query
        try:
            light = lights.Light(query["light"]) if query.get("light") else None
            status = TaskStatus(query["status"]).value if query.get("status") else None
            department = _own_department(request, query.get("department") or None)
        except ValueError as exc:
            return _bad_request(web, "bad-filter", str(exc))
        except OtherDepartment:
            return _forbidden_department(web, request)
        now = app.clock()
        books = [b for _, b in app.table(ledger.BOOK).items() if task_book.is_task(b)]
        found = [
            _summary(app, b, now)
            for b in sorted(books, key=lambda b: b["task_id"])
            if ledger.matches(
                b,
                department=department,
                light_=light,
                status=status,
                now=now,
                rules=rules,
                zone=zone,
            )
        ]
        counts = {c.value: sum(t["light"] == c.value for t in found) for c in lights.Light}
        return _office_json(
            web,
            {"now": now.isoformat(), "count": len(found), "lights": counts, "tasks": found},
            zone,
        )

    @page(app, "/ledger.xlsx", readers)
    async def ledger_sheet(web: Any, request: Any) -> Any:
        now = app.clock()
        own = _own_department(request, None)
        books = [
            b
            for _, b in app.table(ledger.BOOK).items()
            if task_book.is_task(b) and (own is None or own in task_book.departments_of(b))
        ]
        names = {code: d.name for code, d in app.directory.departments.items()}
        body = ledger_sheet_.workbook(books, now, rules, zone, names)
        filename = f"ledger-{now.astimezone(zone).date().isoformat()}.xlsx"
        return web.bytes(
            body,
            content_type=_XLSX,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @page(app, "/ledger/{task_id}", readers)
    async def task_view(web: Any, request: Any, task_id: str) -> Any:
        book = app.table(ledger.BOOK).get(task_id)
        own = _own_department(request, None)
        if not task_book.is_task(book) or (own and own not in task_book.departments_of(book)):
            return web.json({"error": "unknown-task", "message": f"no task {task_id}"}, status=404)
        return _office_json(
            web, _summary(app, book, app.clock()) | {"history": book["history"]}, zone
        )
