"""The supervision ledger (督查台账): one book per task, its traffic light and its reminders.

Pure logic, no faust. A book is the JSON the ``ledger`` table holds for one task: its fields, its
status under the lifecycle of :mod:`schemas.events.task`, the history of every applied event and
the ids applied (a re-delivered event changes nothing). Lights are not stored: they depend on
the time, so :func:`light` computes them for a given ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from midfield.settings import Settings, SupervisionSettings
from schemas.catalog import topic
from schemas.envelope import Envelope, EventData
from schemas.events.task import (
    OFFICE,
    TaskAssigned,
    TaskClosed,
    TaskCompletionReported,
    TaskCreated,
    TaskEvent,
    TaskExtensionApproved,
    TaskExtensionRejected,
    TaskExtensionRequested,
    TaskNotice,
    TaskProgressReported,
    TaskReminded,
    TaskReviewed,
    TaskStatus,
)
from schemas.events.task_lifecycle import IllegalTransition, next_status
from streams.books.book import Book, Context, Decision, Refusal, State, Timer

__all__ = [
    "BOOK",
    "Applied",
    "Light",
    "Reason",
    "Refused",
    "apply",
    "decide",
    "due_reminders",
    "is_task",
    "light",
    "light_reason",
    "matches",
    "notices",
]

"""One task, as stored in the table (JSON). Fields: see :func:`_new_book` and :func:`_step`."""


class Light(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


@dataclass(frozen=True)
class Applied:
    """A book after one event, and the departments whose outbox gets the event."""

    book: State
    outbox: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """The lifecycle forbids the event: dead-letter it. ``book`` remembers the refusal, so a
    re-delivery of the same record is refused again even if the task has moved on since
    (the ledger is a function of the log, not of how often it was read)."""

    book: State
    error: IllegalTransition


def apply(book: State | None, envelope: Envelope) -> Applied | Refused | None:
    """The outcome of ``envelope`` on ``book``; ``None`` if this id was seen already."""
    if book is not None and (envelope.id in book["applied"] or envelope.id in book["refused"]):
        return None
    try:
        return _apply(book, envelope)
    except IllegalTransition as error:
        kept = _copy(book) if book else _stub(envelope.subject)
        kept["refused"].append(envelope.id)
        return Refused(kept, error)


def _apply(book: State | None, envelope: Envelope) -> Applied:
    event = envelope.data
    if not isinstance(event, TaskEvent):
        raise IllegalTransition("not-a-task-event", envelope.type)
    if event.task_id != envelope.subject:
        detail = f"subject {envelope.subject!r} carries task {event.task_id!r}"
        raise IllegalTransition("subject-mismatch", detail)
    status = TaskStatus(book["status"]) if book and book["status"] else None
    pending = bool(book and book.get("extension_request"))
    _check_actor(book if status else None, event)
    after = next_status(status, event, extension_pending=pending)
    new = _new_book(event, envelope.time, book) if status is None else _copy(book or {})
    outbox = _step(new, event, envelope.time)
    new["status"] = after.value
    new["history"].append(_history(envelope))
    new["applied"].append(envelope.id)
    return Applied(new, outbox)


def is_task(book: State | None) -> TypeGuard[State]:
    """A created task, not a stub that only remembers refused events."""
    return bool(book and book["status"])


def _stub(task_id: str) -> State:
    return {"task_id": task_id, "status": None, "history": [], "applied": [], "refused": []}


def _copy(book: State) -> State:
    copied = {**book}
    for key, value in book.items():
        if isinstance(value, list | dict):
            copied[key] = type(value)(value)
    return copied


def _new_book(event: TaskEvent, at: datetime, stub: State | None) -> State:
    assert isinstance(event, TaskCreated)
    return {
        "task_id": event.task_id,
        "title": event.title,
        "content": event.content,
        "goal": event.goal,
        "category": event.category,
        "origin": event.origin.value,
        "lead_department": event.lead_department,
        "assisting_departments": list(event.assisting_departments),
        "focus": event.focus,
        "subtasks": list(event.subtasks),
        "created_at": at.isoformat(),
        "deadline": event.deadline.isoformat(),
        "original_deadline": event.deadline.isoformat(),
        "status": None,
        "percent": 0,
        "progress": "",
        "signed_by": {},
        "extension_request": None,
        "delay_count": 0,
        "extension_days": 0,
        "delay_reasons": [],
        "completed_at": None,
        "closed_at": None,
        "last_reminded_at": None,
        "reminders": 0,
        "history": [],
        "applied": [],
        "refused": list(stub["refused"]) if stub else [],
    }


def _check_actor(book: State | None, event: TaskEvent) -> None:
    """Who may do what, checked before the lifecycle (the tasks API checks first, with a 403)."""
    if event.office_only and event.actor != OFFICE:
        raise IllegalTransition("office-only", f"{event.kind} is for the office, not {event.actor}")
    if book is not None and event.actor != OFFICE and event.actor not in departments_of(book):
        detail = f"{event.actor} is not a department of {event.task_id}"
        raise IllegalTransition("not-a-task-department", detail)


def departments_of(book: State) -> list[str]:
    return [book["lead_department"], *book["assisting_departments"]]


def _step(book: State, event: TaskEvent, at: datetime) -> tuple[str, ...]:
    """Update ``book`` in place for ``event``; answer the departments to notify."""
    match event:
        case TaskAssigned():
            if event.lead_department is not None:
                book["lead_department"] = event.lead_department
            if event.assisting_departments is not None:
                book["assisting_departments"] = list(event.assisting_departments)
            book["assisting_departments"] = [
                d for d in book["assisting_departments"] if d != book["lead_department"]
            ]
            return tuple(departments_of(book))
        case TaskProgressReported():
            book["percent"], book["progress"] = event.percent, event.text
        case TaskCompletionReported():
            book["percent"], book["progress"] = 100, event.text
            book["completed_at"] = at.isoformat()
        case TaskReviewed() if not event.accepted:
            book["completed_at"] = None
            return (book["lead_department"],)
        case TaskExtensionRequested():
            book["extension_request"] = {
                "deadline": event.deadline.isoformat(),
                "reason": event.reason,
                "by": event.actor,
            }
        case TaskExtensionApproved():
            _extend(book, event.deadline)
            return (book["lead_department"],)
        case TaskExtensionRejected():
            book["extension_request"] = None
            return (book["lead_department"],)
        case TaskClosed():
            book["closed_at"] = at.isoformat()
        case TaskReminded():
            book["last_reminded_at"] = at.isoformat()
            book["reminders"] += 1
            return event.departments
        case _ if event.kind == "signed":
            book["signed_by"][event.actor] = at.isoformat()
    return ()


def _extend(book: State, deadline: date) -> None:
    before = date.fromisoformat(book["deadline"])
    request = book["extension_request"]
    book["deadline"] = deadline.isoformat()
    book["delay_count"] += 1
    book["extension_days"] += max((deadline - before).days, 0)
    book["delay_reasons"].append(request["reason"])
    book["extension_request"] = None


def _history(envelope: Envelope) -> dict[str, Any]:
    event = envelope.data
    assert isinstance(event, TaskEvent)
    detail = event.model_dump(mode="json", exclude={"task_id", "actor", "person"})
    return {
        "id": envelope.id,
        "kind": event.kind,
        "at": envelope.time.isoformat(),
        "actor": event.actor,
        "person": event.person,
        "detail": detail,
    }


# -- traffic lights ----------------------------------------------------------------------------
def due_at(book: State, zone: ZoneInfo) -> datetime:
    """The moment a task becomes overdue: the end of its deadline day, office time."""
    last_day = date.fromisoformat(book["deadline"])
    return datetime.combine(last_day + timedelta(days=1), time(0), zone)


@dataclass(frozen=True)
class Reason:
    """Why a task has its light, as a code and its figures; :mod:`streams.labels` words it for
    the office, :attr:`english` keeps the text the JSON API has always answered."""

    code: str
    """``closed``, ``overdue`` (``days``), ``deadline-near`` (``days``), ``behind-schedule``
    (``percent``, ``behind``: percentage points) or ``on-track``."""
    figures: tuple[tuple[str, int], ...] = ()

    @property
    def english(self) -> str:
        f = dict(self.figures)
        match self.code:
            case "overdue":
                return f"overdue by {f['days']} day{'s' if f['days'] > 1 else ''}"
            case "deadline-near":
                return f"deadline in {f['days']} day{'s' if f['days'] != 1 else ''}"
            case "behind-schedule":
                return f"progress {f['percent']}% behind time elapsed by {f['behind']}%"
            case "on-track":
                return "on track"
        return self.code


def light(
    book: State, now: datetime, rules: SupervisionSettings, zone: ZoneInfo
) -> tuple[Light, str]:
    """The task's light at ``now`` and why, in English (:func:`light_reason` gives the code)."""
    colour, reason = light_reason(book, now, rules, zone)
    return colour, reason.english


def light_reason(
    book: State, now: datetime, rules: SupervisionSettings, zone: ZoneInfo
) -> tuple[Light, Reason]:
    """The task's light at ``now`` and why: red overdue, yellow near the deadline or behind
    schedule, green otherwise (and once closed)."""
    if book["status"] == TaskStatus.closed:
        return Light.green, Reason("closed")
    due = due_at(book, zone)
    if now >= due:
        return Light.red, Reason("overdue", (("days", (now - due).days + 1),))
    days_left = (date.fromisoformat(book["deadline"]) - now.astimezone(zone).date()).days
    if days_left <= rules.warning_days:
        return Light.yellow, Reason("deadline-near", (("days", days_left),))
    behind = _behind_schedule(book, now, due)
    if behind > rules.progress_lag:
        points = int(format(behind * 100, ".0f"))  # as ``{behind:.0%}`` rounds it
        return Light.yellow, Reason(
            "behind-schedule", (("percent", book["percent"]), ("behind", points))
        )
    return Light.green, Reason("on-track")


def _behind_schedule(book: State, now: datetime, due: datetime) -> float:
    if book["status"] in (TaskStatus.completion_reported, TaskStatus.reviewed):
        return 0.0
    start = datetime.fromisoformat(book["created_at"])
    span = (due - start).total_seconds()
    if span <= 0:
        return 0.0
    elapsed = min(max((now - start).total_seconds() / span, 0.0), 1.0)
    done: float = book["percent"] / 100
    return elapsed - done


def matches(
    book: State,
    *,
    department: str | None,
    light_: Light | None,
    status: str | None,
    now: datetime,
    rules: SupervisionSettings,
    zone: ZoneInfo,
) -> bool:
    """Does the task pass the ``GET /ledger`` filters?"""
    if department and department not in departments_of(book):
        return False
    if status and book["status"] != status:
        return False
    return light_ is None or light(book, now, rules, zone)[0] is light_


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


_TASKS = topic(TaskEvent.topic).name

BOOK = Book(
    name="ledger",
    # every event of the task topic: the lifecycle refuses what is no task event, remembered
    reads={_TASKS: (EventData,)},
    apply=decide,
    connector="ledger",
    show=_show,
    # reminders are facts in the task log like any other, applied once by id (DESIGN §5)
    timers=(
        Timer(
            "reminders",
            interval=lambda settings: settings.supervision.reminder_check_interval_s,
            propose=_reminders,
            to=_TASKS,
            remember=False,
        ),
    ),
)
