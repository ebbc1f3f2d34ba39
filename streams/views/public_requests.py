"""How the county answers the public: the reply tallies of public messages (``/reply-rate``),
the 12345 hotline's work-order figures (``/work-order-rates``) and one work order
(``/work-orders/{number}``).

A department's principal sees its own figures and orders only; the figures themselves are
computed by streams/books/reply_tallies.py and streams/books/workorders.py.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from midfield.access import Policy
from midfield.access import Role as R
from streams.books import replies, reply_tallies, workorders
from streams.books.period import Period
from streams.views.pages import (
    OFFICE_READERS,
    OtherDepartment,
    bad_request,
    forbidden_department,
    office_json,
    own_department,
    page,
    summary_of,
)

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_public_request_views", "reply_rates"]


def register_public_request_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone

    @page(app, "/reply-rate", Policy.of(*OFFICE_READERS, R.department))
    @_of_period(app)
    async def reply_rate_view(
        web: Any, request: Any, now: datetime, period: Period, department: str | None
    ) -> Any:
        return office_json(web, reply_rates(app, period, department, now), zone)

    @page(app, "/work-orders/{number}", Policy.of(*OFFICE_READERS, R.department))
    async def work_order_view(web: Any, request: Any, number: str) -> Any:
        book = app.table(workorders.BOOK).get(number)
        own = own_department(request, None)
        if not workorders.is_order(book) or (own and not workorders.involves(book, own)):
            return web.json({"error": "unknown-order", "message": f"no order {number}"}, status=404)
        shown = {k: v for k, v in book.items() if k not in ("applied", "refused")}
        return office_json(web, shown | {"due_at": workorders.due_at(book, zone).isoformat()}, zone)

    @page(app, "/work-order-rates", Policy.of(*OFFICE_READERS, R.department))
    @_of_period(app)
    async def work_order_rates_view(
        web: Any, request: Any, now: datetime, period: Period, unit: str | None
    ) -> Any:
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
        return office_json(web, {"period": period.label, "departments": rows, "total": total}, zone)


FiguresView = Callable[[Any, Any, datetime, Period, str | None], Awaitable[Any]]
"""A view of one period's figures: ``(web, request, now, period, department)``."""


def _of_period(app: MidfieldApp) -> Callable[[FiguresView], Callable[[Any, Any], Awaitable[Any]]]:
    """A view of figures over ``?period=`` (default: this month, office time) for
    ``?department=`` (a department's principal: its own only). Both are read here, once for
    every such view: a bad period answers 400 ``bad-period``, another's department 403."""

    def decorate(view: FiguresView) -> Callable[[Any, Any], Awaitable[Any]]:
        @functools.wraps(view)
        async def parsed(web: Any, request: Any) -> Any:
            now, zone = app.clock(), app.settings.office.zone
            text = request.query.get("period") or now.astimezone(zone).strftime("%Y-%m")
            try:
                period = Period.parse(text, zone)
                department = own_department(request, request.query.get("department") or None)
            except ValueError as exc:
                return bad_request(web, "bad-period", str(exc))
            except OtherDepartment:
                return forbidden_department(web, request)
            return await view(web, request, now, period, department)

        return parsed

    return decorate


def reply_rates(
    app: MidfieldApp, period: Period, department: str | None, now: datetime
) -> dict[str, Any]:
    """The reply tallies of ``period``, per department (or the one asked for) and in total,
    added up from the messages' summary (streams/books/reply_summary.py), not their books."""
    summary = summary_of(app.table(replies.BOOK))
    return reply_tallies.report(
        period,
        [department] if department else summary.departments(),
        lambda code: summary.tally(period, department=code, now=now),
        total=department,
        name_of=app.directory.name_of,
    )
