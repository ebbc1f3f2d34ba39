"""The supervision processor: the ``ledger`` table, its agent, the reminder timer and outboxes.

The agent applies each event of ``office.supervision.task.v1`` with :func:`streams.books.ledger.apply`:
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

from midfield.logging import get_logger
from schemas.catalog import topic
from schemas.events.task import TaskEvent
from streams.books import ledger
from streams.emit import raw_topic, send, tables_settled
from streams.table import book_chunks

if TYPE_CHECKING:
    from streams.agents import Effects
    from streams.app import MidfieldApp

__all__ = ["add_supervision"]

log = get_logger(__name__)


def add_supervision(app: MidfieldApp, schema: faust.Schema[str, Any], effects: Effects) -> Any:
    """Add the ledger table, its agent and the reminder timer to ``app``; return the topic."""
    settings = app.settings
    app.ledger = app.Table("ledger", default=None, schema=schema)
    tasks = raw_topic(app, topic(TaskEvent.topic).name)

    @app.agent(tasks, name="ledger_tasks")
    async def ledger_tasks(stream: Any) -> None:
        await effects.consume(stream, tasks.get_topic_name())

    @app.timer(interval=settings.supervision.reminder_check_interval_s)  # type: ignore[untyped-decorator]
    async def remind() -> None:
        if not tables_settled(app):
            return
        now = app.clock()
        async for books in book_chunks(app.ledger):
            due = ledger.due_reminders(
                books, now, settings.supervision, settings.office.zone, source=effects.source
            )
            for reminder in due:
                log.info("reminding", task=reminder.subject, reason=reminder.data.reason)  # type: ignore[attr-defined]
                await send(tasks, reminder)

    return tasks
