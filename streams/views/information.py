"""The information reports' views (信息): the reports (``/info-reports``, filtered by status,
source and period) and their tallies per period (``/info-reports/tallies``), computed by
streams/books/info_tallies.py.

The office's readers (director, duty officer — the information staff sign in with that role —
and supervision) see every report. A department's principal sees only the reports it proposed or
drafted itself (``seen_by``: a clerk the ones they wrote, a department's key the ones sent with
it), and the tallies of those only; docs/information.md says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from midfield.access import Policy
from midfield.access import Role as R
from schemas.events.info import InfoSource, InfoStatus
from streams.books import info_reports, info_tallies, office_time
from streams.books.info_reports import InfoReportState
from streams.books.period import Period
from streams.views.pages import OFFICE_READERS, bad_request, office_json, page, principal_of

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_information_views"]

_HIDDEN = ("applied", "refused")


def register_information_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone
    readers = Policy.of(*OFFICE_READERS, R.department)

    def visible(request: Any) -> list[InfoReportState]:
        """The reports the caller may see: all, or a department's own."""
        who = principal_of(request)
        books = [b for _, b in app.table(info_reports.BOOK).items() if info_reports.is_report(b)]
        return [b for b in books if not who.scoped or info_reports.seen_by(b, who.id)]

    def period_of(request: Any, default: str) -> Period:
        text = request.query.get("period") or default
        return Period.parse(text, zone)

    @page(app, "/info-reports/tallies", readers)
    async def tallies_view(web: Any, request: Any) -> Any:
        this_month = app.clock().astimezone(zone).strftime("%Y-%m")
        try:
            period = period_of(request, this_month)
        except ValueError as exc:
            return bad_request(web, "bad-period", str(exc))
        shown = info_tallies.by_drafter_and_department(
            visible(request), period, name_of=app.directory.name_of
        )
        return office_json(web, shown, zone)

    @page(app, "/info-reports", readers)
    async def reports_view(web: Any, request: Any) -> Any:
        query = request.query
        try:
            status = InfoStatus(query["status"]).value if query.get("status") else None
            source = InfoSource(query["source"]).value if query.get("source") else None
            period = period_of(request, "all")
        except ValueError as exc:
            return bad_request(web, "bad-filter", str(exc))
        found = [
            {k: v for k, v in b.items() if k not in _HIDDEN}
            for b in sorted(visible(request), key=lambda b: office_time.parse(b["proposed_at"]))
            if (status is None or b["status"] == status)
            and (source is None or b["source"] == source)
            and _active(b, period)
        ]
        counts = {s.value: sum(r["status"] == s.value for r in found) for s in InfoStatus}
        return office_json(
            web,
            {"period": period.label, "count": len(found), "statuses": counts, "reports": found},
            zone,
        )


def _active(book: InfoReportState, period: Period) -> bool:
    """A report belongs to a period when any of its steps is dated in it."""
    return any(period.holds(office_time.parse(line["at"])) for line in book["history"])
