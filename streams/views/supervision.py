"""The supervision ledger's views: the tasks with their lights (``/ledger``, filtered by
department, light and status), one task with its history (``/ledger/{task_id}``) and the ledger
as the office files it (``/ledger.xlsx``, made by streams/views/ledger_sheet.py).

A department's principal sees the tasks it leads or assists; another's task is 404 to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from midfield.access import Policy
from midfield.access import Role as R
from schemas.events.task import TaskStatus
from streams.books import ledger, lights, office_time, task_book
from streams.books.book import State
from streams.books.task_state import TaskState
from streams.views import ledger_sheet as ledger_sheet_
from streams.views import pages
from streams.views.rows import Rows

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_ledger_views"]


_HIDDEN = ("applied", "refused", "history")
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _fields(book: TaskState | State) -> dict[str, Any]:
    """A task's fields as the views show them (without the ids it applied, nor its history)."""
    return {k: v for k, v in book.items() if k not in _HIDDEN}


def _lit(app: MidfieldApp, task: TaskState | lights.Timing, now: datetime) -> dict[str, Any]:
    colour, reason = lights.light(task, now, app.settings.supervision, app.settings.office.zone)
    return {"light": colour.value, "light_reason": reason}


def _listed(zone: ZoneInfo) -> Rows[tuple[dict[str, Any], lights.Timing]]:
    """``/ledger``'s rows: each task's fields as shown (times in ``zone``) and what its light
    depends on, remembered while the task's book is unchanged (streams/views/rows.py)."""

    def make(book: State) -> tuple[dict[str, Any], lights.Timing] | None:
        if not task_book.is_task(book):
            return None
        return office_time.shown(_fields(book), zone), lights.timing(book)

    return Rows(make)


def register_ledger_views(app: MidfieldApp) -> None:
    rules, zone = app.settings.supervision, app.settings.office.zone

    readers = Policy.of(R.director, R.supervision, R.department)
    rows = _listed(zone)

    @pages.page(app, "/ledger", readers)
    async def ledger_view(web: Any, request: Any) -> Any:
        query = request.query
        try:
            light = lights.Light(query["light"]) if query.get("light") else None
            status = TaskStatus(query["status"]).value if query.get("status") else None
            department = pages.own_department(request, query.get("department") or None)
            after, limit = pages.cursor(query)
        except ValueError as exc:
            return pages.bad_request(web, "bad-filter", str(exc))
        except pages.OtherDepartment:
            return pages.forbidden_department(web, request)
        now = app.clock()
        table = app.table(ledger.BOOK)
        summary = pages.summary_of(table).at(now)
        found = summary.select(light=light, status=status, department=department)
        listed, following = pages.page_of(found, after, limit)
        made = filter(None, (rows.of(table, key) for key in listed))
        tasks = [shown | _lit(app, timing, now) for shown, timing in made]
        head = {"now": now.isoformat(), "count": len(found), "lights": summary.counts(found)}
        # the rows' times are in the office's zone already (and a light's reason has none)
        return web.json(office_time.shown(head, zone) | {"tasks": tasks, "next": following})

    @pages.page(app, "/ledger.xlsx", readers)
    async def ledger_sheet(web: Any, request: Any) -> Any:
        now = app.clock()
        own = pages.own_department(request, None)
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

    @pages.page(app, "/ledger/{task_id}", readers)
    async def task_view(web: Any, request: Any, task_id: str) -> Any:
        book = app.table(ledger.BOOK).get(task_id)
        own = pages.own_department(request, None)
        if not task_book.is_task(book) or (own and own not in task_book.departments_of(book)):
            return web.json({"error": "unknown-task", "message": f"no task {task_id}"}, status=404)
        return pages.office_json(
            web, _fields(book) | _lit(app, book, app.clock()) | {"history": book["history"]}, zone
        )
