"""The shift-end timer: the duty report of each shift and day that ended, as an event.

At the end of each shift and each day the timer produces a :class:`DutyReportIssued` to
``office.duty.report.v1``, with the figures of the report ``GET /duty-report`` shows
(streams/views/reporting.py); its id is fixed per date and shift, not per application, so a
worker that restarts, a second worker or a rebuild proposes the same event, not a second report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.catalog import topic
from schemas.envelope import Envelope
from schemas.events.duty import DutyReportIssued
from streams.views import duty_report
from streams.views.reporting import report_for
from streams.worker.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["add_duty_reports"]


def add_duty_reports(app: MidfieldApp) -> None:
    """The shift-end timer."""
    settings = app.settings
    # One report per date and shift for the office, whichever worker (or app) issues it: the id
    # must not depend on the application id.
    source = "midfield://office/duty-report"
    channel = raw_topic(app, topic(DutyReportIssued.topic).name)
    issued: set[str] = set()

    @app.timer(interval=settings.duty.report_check_interval_s)  # type: ignore[untyped-decorator]
    async def issue_reports() -> None:
        if not tables_settled(app):
            return
        now = app.clock()
        for win in duty_report.last_ended(now, settings.duty.shifts, settings.office.zone):
            position = f"{win.day.isoformat()}/{win.shift or 'day'}"
            if position in issued:
                continue
            rep = await report_for(app, win, now)
            event = DutyReportIssued(
                date=win.day,
                shift=win.shift,
                start=win.start,
                end=win.end,
                by_channel=rep["by_channel"],
                new_items=len(rep["new_items"]),
                overdue_items=len(rep["overdue_items"]),
                open_emergencies=len(rep["open_emergencies"]),
                alerts_raised=len(rep["alerts_raised"]),
            )
            await send(
                channel,
                Envelope.wrap(
                    event,
                    source=source,
                    position=position,
                    subject=position,
                    time=win.end,
                    ingested_at=now,
                ),
            )
            issued.add(position)
