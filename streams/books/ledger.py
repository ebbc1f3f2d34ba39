"""The supervision ledger (督查台账) as a book of the registry: one task book per task, the
notices it sends to the departments concerned and the reminders (催办) its timer proposes.

Pure logic, no faust. How one event changes a task's book is streams/books/task_book.py, its
traffic light streams/books/lights.py; this module puts them together as :data:`BOOK` and
answers what the ledger sends: a :class:`TaskNotice` per department for the department outboxes,
and a :class:`TaskReminded` for each yellow or red task due for a reminder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from midfield.settings import Settings, SupervisionSettings
from schemas.catalog import topic
from schemas.envelope import Envelope, EventData
from schemas.events.task import (
    OFFICE,
    TaskAssigned,
    TaskEvent,
    TaskExtensionApproved,
    TaskExtensionRejected,
    TaskNotice,
    TaskReminded,
    TaskReviewed,
    TaskStatus,
)
from streams.books.book import Book, Context, Decision, Refusal, State, Timer
from streams.books.ledger_summary import LedgerSummary
from streams.books.lights import Light, light
from streams.books.task_book import Applied, Refused, apply, departments_of, is_task
from streams.books.task_state import TaskState, TaskStub

__all__ = ["BOOK", "decide", "due_reminders", "matches", "notices"]


def matches(book: TaskState, *, department: str | None, status: str | None) -> bool:
    """Does the task pass the ``GET /ledger`` filters on its departments and status? (The view
    filters on the light it computes to show.)"""
    if department and department not in departments_of(book):
        return False
    return not status or book["status"] == status


# -- reminders (催办) --------------------------------------------------------------------------
def due_reminders(
    books: Iterable[State],
    now: datetime,
    rules: SupervisionSettings,
    zone: ZoneInfo,
    *,
    source: str,
) -> list[Envelope]:
    """A :class:`TaskReminded` for each open yellow or red task not reminded within the window.

    The id is deterministic per task and window, so a timer that fires twice (or again after a
    restart, before the first reminder was applied) proposes the same event, applied once.
    """
    window = timedelta(hours=rules.reminder_window_hours)
    out = []
    for book in books:
        if not is_task(book) or book["status"] == TaskStatus.closed:
            continue
        last = book["last_reminded_at"]
        if last is not None and now - datetime.fromisoformat(last) < window:
            continue
        colour, reason = light(book, now, rules, zone)
        if colour is Light.green:
            continue
        recipients = [book["lead_department"]]
        if colour is Light.red:
            recipients += book["assisting_departments"]
        event = TaskReminded(
            task_id=book["task_id"],
            actor=OFFICE,
            light=colour.value,
            reason=reason,
            departments=tuple(recipients),
        )
        slot = int(now.timestamp() // window.total_seconds())
        out.append(
            Envelope.wrap(
                event,
                source=source,
                position=f"{book['task_id']}@{slot}",
                subject=book["task_id"],
                time=now,
                ingested_at=now,
            )
        )
    return out


# -- outbox ------------------------------------------------------------------------------------
def notices(applied: Applied, envelope: Envelope, *, source: str) -> list[tuple[str, Envelope]]:
    """The outbox records ``applied`` sends: one :class:`TaskNotice` per department, with an id
    derived from the event's, so a re-sent notice keeps its ``webhook-id``."""
    event, book = envelope.data, applied.book
    assert isinstance(event, TaskEvent)
    notice = TaskNotice(
        task_id=book["task_id"],
        step=event.kind,
        title=book["title"],
        deadline=date.fromisoformat(book["deadline"]),
        status=TaskStatus(book["status"]),
        lead_department=book["lead_department"],
        assisting_departments=tuple(book["assisting_departments"]),
        light=event.light if isinstance(event, TaskReminded) else "",
        message=_message(event),
    )
    return [
        (
            department,
            Envelope.wrap(
                notice,
                source=source,
                position=f"{envelope.id}/{department}",
                subject=book["task_id"],
                time=envelope.time,
                ingested_at=envelope.ingested_at,
            ),
        )
        for department in applied.outbox
    ]


def _message(event: TaskEvent) -> str:
    match event:
        case TaskAssigned():
            return event.instruction
        case TaskReminded() | TaskReviewed() | TaskExtensionRejected():
            return event.reason
        case TaskExtensionApproved():
            return f"deadline moved to {event.deadline.isoformat()}"
    return ""


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    """The task after ``envelope``, with the notices for the departments concerned."""
    out = apply(book, envelope)
    if out is None:
        return Decision()
    if isinstance(out, Refused):
        return Decision(out.book, [Refusal(out.error.reason, str(out.error), "ledger")])
    data = envelope.data
    return Decision(
        out.book,
        notices=notices(out, envelope, source=context.source),
        reminded=data.light if isinstance(data, TaskReminded) else None,
    )


def _show(book: State, now: datetime, settings: Settings) -> dict[str, Any]:
    if not is_task(book):
        return {}
    colour, reason = light(book, now, settings.supervision, settings.office.zone)
    return {"light": colour.value, "light_reason": reason}


def _reminders(
    books: list[State], now: datetime, settings: Settings, source: str
) -> list[Envelope]:
    rules, zone = settings.supervision, settings.office.zone
    return due_reminders(books, now, rules, zone, source=source)


def _to_remind(summary: LedgerSummary, now: datetime, settings: Settings) -> list[str]:
    """The tasks a reminder may be due for (:meth:`LedgerSummary.to_remind`)."""
    return summary.to_remind(now, timedelta(hours=settings.supervision.reminder_window_hours))


_TASKS = topic(TaskEvent.topic).name

BOOK = Book(
    name="ledger",
    # every event of the task topic: the lifecycle refuses what is no task event, remembered
    reads={_TASKS: (EventData,)},
    apply=decide,
    state=TaskState | TaskStub,
    show=_show,
    summary=lambda settings: LedgerSummary(settings.supervision, settings.office.zone),
    # reminders are facts in the task log like any other, applied once by id (DESIGN §5)
    timers=(
        Timer(
            "reminders",
            interval=lambda settings: settings.supervision.reminder_check_interval_s,
            propose=_reminders,
            to=_TASKS,
            remember=False,
            candidates=_to_remind,
        ),
    ),
)
