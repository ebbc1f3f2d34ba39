"""The duty office's views: the duty log (``/duty-log``), an incoming item (``/items/{id}``),
the alerts (``/alerts``) and the duty report of a day or shift (``/duty-report``).

Citizens' personal data in the duty log is masked for roles that do not need it
(streams/views/masking.py); the report is built by streams/views/reporting.py. The duty log and
the alerts are long lists: they come a page at a time (``?limit=``, ``?after=`` the ``next`` of
the page before), from the books' summaries (streams/books/duty_log_summary.py, alerts.rank).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from midfield.access import Policy
from midfield.access import Role as R
from streams.books import alerts, duty_log, items, office_time
from streams.books.ranked import Entry, Ranked
from streams.books.ranked import keys as keys_of
from streams.views import duty_report, masking, reporting
from streams.views.pages import (
    OFFICE_READERS,
    bad_request,
    cursor,
    office_json,
    page,
    principal_of,
    summary_of,
)

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_duty_views"]


def register_duty_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone
    unmasked = frozenset(app.settings.access.unmasked_roles)

    @page(app, "/duty-log", Policy.of(*OFFICE_READERS))
    async def duty_log_view(web: Any, request: Any) -> Any:
        raw = request.query.get("date")
        try:
            day = date.fromisoformat(raw) if raw else datetime.now(zone).date()
        except ValueError:
            return bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {raw!r}")
        table = app.table(duty_log.BOOK)
        summary = summary_of(table)
        found = summary.on(day)
        try:
            listed, following = _page(found, request.query)
        except ValueError as exc:
            return bad_request(web, "bad-filter", str(exc))
        entries = summary.lines(table.get, listed)
        if principal_of(request).roles.isdisjoint(unmasked):
            entries = [masking.duty_entry(e) for e in entries]
        shown = {"date": day.isoformat(), "count": len(found), "entries": entries}
        return office_json(web, shown | {"next": following}, zone)

    @page(app, "/alerts", Policy.of(*OFFICE_READERS, R.ops))
    async def alerts_view(web: Any, request: Any) -> Any:
        raw = request.query.get("open", "true").lower()
        if raw not in ("true", "false"):
            return bad_request(web, "bad-filter", f"open must be true or false, got {raw!r}")
        table = app.table(alerts.BOOK)
        found = summary_of(table).ranked
        before = alerts.OPEN_BELOW if raw == "true" else None
        try:
            listed, following = _page(found, request.query, before)
        except ValueError as exc:
            return bad_request(web, "bad-filter", str(exc))
        shown = [alerts.listed(b) for b in map(table.get, keys_of(listed)) if alerts.is_alert(b)]
        count = len(found) if before is None else found.below(before)
        return office_json(web, {"count": count, "alerts": shown, "next": following}, zone)

    @page(app, "/items/{item_id}", Policy.of(R.director, R.duty_officer))
    async def item_view(web: Any, request: Any, item_id: str) -> Any:
        book = app.table(items.BOOK).get(item_id)
        if not items.is_item(book):
            return web.json({"error": "unknown-item", "message": f"no item {item_id}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused", "held")}
        return office_json(web, shown | {"due_at": items.due_at(book, zone).isoformat()}, zone)

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
            return bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {query['date']!r}")
        except KeyError:
            shifts = ", ".join(app.settings.duty.shifts)
            return bad_request(web, "unknown-shift", f"shift must be one of: {shifts}")
        rep = office_time.shown(await reporting.report_for(app, win, now), zone)
        if query.get("format") == "html":
            return web.html(duty_report.render_html(rep, app.directory.office_name))
        return web.json(rep)


def _page(
    found: Ranked, query: Mapping[str, str], before: Entry | None = None
) -> tuple[list[Entry], str | None]:
    """The page of ``found`` that ``?after=`` and ``?limit=`` ask for, and the cursor of the
    next (``None``: this is the last); ``ValueError`` for a bad limit or cursor."""
    after, limit = cursor(query)
    listed, last = found.page(found.entry(after) if after else None, limit, before)
    return listed, None if last is None else found.cursor(last)
