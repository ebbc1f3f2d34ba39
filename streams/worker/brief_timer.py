"""The weekly brief to the leaders' outbox: once a week, at ``MIDFIELD_BRIEF_SEND_WEEKDAY`` and
``MIDFIELD_BRIEF_SEND_AT`` (office time), a :class:`~schemas.events.brief.BriefIssued` to the
outbox of ``MIDFIELD_BRIEF_OUTBOX`` (``leaders``), which the department sink delivers to the
leaders' system as it delivers task notices to a department's.

The event's id is fixed per week (not per worker or application), so a worker that restarts
before it remembers having sent it proposes the same event again, which the receiver's webhook-id
check drops. The leader worker sends it, from the books it holds (docs/brief.md). An outbox the
directory does not know gets nothing, and a warning once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from schemas.catalog import outbox
from schemas.envelope import Envelope
from streams.brief.issue import due, issued
from streams.brief.settings import BriefSettings
from streams.views.brief import brief_of
from streams.worker.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["add_brief_timer"]

log = structlog.get_logger(__name__)


def add_brief_timer(app: MidfieldApp) -> None:
    """The weekly timer; none when ``MIDFIELD_BRIEF_SEND_WEEKDAY`` is 0."""
    rules = app.settings.part(BriefSettings)
    if not rules.send_weekday:
        return
    zone = app.settings.office.zone
    sent: set[str] = set()

    @app.timer(interval=rules.check_interval_s, on_leader=True)  # type: ignore[untyped-decorator]
    async def send_brief() -> None:
        now = app.clock()
        week = due(now, rules, zone)
        if week is None or week.label in sent or not tables_settled(app):
            return
        sent.add(week.label)
        if not app.directory.delivers_to(rules.outbox):
            log.warning("brief-not-sent", week=week.label, outbox=rules.outbox,
                        reason="no such department in the directory")  # fmt: skip
            return
        event = issued(await brief_of(app, week, now))
        envelope = Envelope.wrap(event, source="midfield://office/brief", position=week.label,
                                 subject=week.label, time=now, ingested_at=now)  # fmt: skip
        await send(raw_topic(app, outbox(rules.outbox)), envelope)
        log.info("brief-sent", week=week.label, outbox=rules.outbox)
