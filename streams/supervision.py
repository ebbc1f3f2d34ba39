"""The supervision processor: the ``ledger`` table, its agent, the reminder timer and outboxes.

The agent applies each event of ``office.supervision.task.v1`` with :func:`streams.ledger.apply`:
an applied event updates the book and sends a notice to each department concerned; a refused
one goes to the dead-letter topic with the lifecycle's reason (and is remembered, so a re-read
refuses it again); a repeated id changes nothing. Notices are sent before the book is written:
after a crash in between, the event is read again and its notices re-sent with the same ids
(the department sink delivers them with the same ``webhook-id``, so receivers de-duplicate).

The reminder timer proposes :class:`TaskReminded` events to the task topic itself, so a reminder
is a fact in the log like any other, applied once by id (DESIGN §5, "Reminders").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from midfield import metrics
from midfield.logging import get_logger
from schemas.catalog import outbox, topic
from schemas.events.task import TaskEvent, TaskReminded
from streams import ledger
from streams.dead_letters import dead_letter, decode_or_dead_letter
from streams.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from streams.app import MidfieldApp

__all__ = ["add_supervision"]

log = get_logger(__name__)


def add_supervision(app: MidfieldApp, schema: faust.Schema[str, Any], deadletters: Any) -> Any:
    """Add the ledger table, its agent and the reminder timer to ``app``; return the topic."""
    settings = app.settings
    source = f"midfield://worker/{app.conf.id}"
    app.ledger = app.Table("ledger", default=None, schema=schema)
    tasks = raw_topic(app, topic(TaskEvent.topic).name)
    outboxes: dict[str, Any] = {}

    def outbox_of(department: str) -> Any:
        if department not in outboxes:
            outboxes[department] = raw_topic(app, outbox(department))
        return outboxes[department]

    @app.agent(tasks, name="ledger_tasks")
    async def ledger_tasks(stream: Any) -> None:
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            outcome = ledger.apply(app.ledger.get(envelope.subject), envelope)
            if isinstance(outcome, ledger.Refused):
                await dead_letter(
                    event,
                    deadletters,
                    app.conf.id,
                    outcome.error.reason,
                    str(outcome.error),
                    connector="ledger",
                )
            elif outcome is not None:
                for department, notice in ledger.notices(outcome, envelope, source=source):
                    await send(outbox_of(department), notice)
                if isinstance(envelope.data, TaskReminded):
                    metrics.REMINDERS.labels(envelope.data.light).inc()
            if outcome is not None:
                app.ledger[envelope.subject] = outcome.book

    @app.timer(interval=settings.supervision.reminder_check_interval_s)  # type: ignore[untyped-decorator]
    async def remind() -> None:
        if not tables_settled(app):
            return
        books = [book for _, book in app.ledger.items()]
        due = ledger.due_reminders(
            books, app.clock(), settings.supervision, settings.office.zone, source=source
        )
        for reminder in due:
            log.info("reminding", task=reminder.subject, reason=reminder.data.reason)  # type: ignore[attr-defined]
            await send(tasks, reminder)

    return tasks
