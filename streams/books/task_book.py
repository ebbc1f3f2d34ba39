"""One supervised task's book (督查事项) as the ledger keeps it, and how each event changes it.

Pure logic, no faust. A book is the JSON the ``ledger`` table holds for one task: its fields, its
status under the lifecycle of :mod:`schemas.events.task_lifecycle`, the history of every applied
event and the ids applied (a re-delivered event changes nothing); its shape is
streams/books/task_state.py. :func:`apply` is the whole
step; streams/books/ledger.py wraps it as the registry's book, with the notices and reminders it
sends, and streams/books/lights.py computes a book's traffic light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeGuard, cast

from schemas.envelope import Envelope
from schemas.events import task
from schemas.events.task_lifecycle import IllegalTransition, next_status
from streams.books.book import State, seen
from streams.books.task_state import TaskState

__all__ = ["Applied", "Refused", "apply", "departments_of", "is_task"]


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
    if seen(book, envelope):
        return None
    try:
        return _apply(book, envelope)
    except IllegalTransition as error:
        kept = _copy(book) if book else _stub(envelope.subject)
        kept["refused"].append(envelope.id)
        return Refused(kept, error)


def _apply(book: State | None, envelope: Envelope) -> Applied:
    event = envelope.data
    if not isinstance(event, task.TaskEvent):
        raise IllegalTransition("not-a-task-event", envelope.type)
    if event.task_id != envelope.subject:
        detail = f"subject {envelope.subject!r} carries task {event.task_id!r}"
        raise IllegalTransition("subject-mismatch", detail)
    status = task.TaskStatus(book["status"]) if book and book["status"] else None
    pending = bool(book and book.get("extension_request"))
    _check_actor(cast(TaskState, book) if status else None, event)  # a created task
    after = next_status(status, event, extension_pending=pending)
    new = _new_book(event, envelope.time, book) if status is None else _copy(book or {})
    outbox = _step(new, event, envelope.time)
    new["status"] = after.value
    new["history"].append(_history(envelope))
    new["applied"].append(envelope.id)
    return Applied(new, outbox)


def is_task(book: Mapping[str, Any] | None) -> TypeGuard[TaskState]:
    """A created task, not a stub that only remembers refused events: where a stored entity of
    the ledger becomes a typed :class:`TaskState`."""
    return bool(book and book["status"])


def _stub(task_id: str) -> State:
    return {"task_id": task_id, "status": None, "history": [], "applied": [], "refused": []}


def _copy(book: State) -> State:
    copied = {**book}
    for key, value in book.items():
        if isinstance(value, list | dict):
            copied[key] = type(value)(value)
    return copied


def _new_book(event: task.TaskEvent, at: datetime, stub: State | None) -> State:
    assert isinstance(event, task.TaskCreated)
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


def _check_actor(book: TaskState | None, event: task.TaskEvent) -> None:
    """Who may do what, checked before the lifecycle (the tasks API checks first, with a 403)."""
    if event.office_only and event.actor != task.OFFICE:
        raise IllegalTransition("office-only", f"{event.kind} is for the office, not {event.actor}")
    if book is not None and event.actor != task.OFFICE and event.actor not in departments_of(book):
        detail = f"{event.actor} is not a department of {event.task_id}"
        raise IllegalTransition("not-a-task-department", detail)


def departments_of(book: TaskState) -> list[str]:
    return [book["lead_department"], *book["assisting_departments"]]


def _step(book: State, event: task.TaskEvent, at: datetime) -> tuple[str, ...]:
    """Update ``book`` in place for ``event``; answer the departments to notify."""
    match event:
        case task.TaskAssigned():
            if event.lead_department is not None:
                book["lead_department"] = event.lead_department
            if event.assisting_departments is not None:
                book["assisting_departments"] = list(event.assisting_departments)
            book["assisting_departments"] = [
                d for d in book["assisting_departments"] if d != book["lead_department"]
            ]
            return tuple(departments_of(cast(TaskState, book)))  # assigned: a created task
        case task.TaskProgressReported():
            book["percent"], book["progress"] = event.percent, event.text
        case task.TaskCompletionReported():
            book["percent"], book["progress"] = 100, event.text
            book["completed_at"] = at.isoformat()
        case task.TaskReviewed() if not event.accepted:
            book["completed_at"] = None
            return (book["lead_department"],)
        case task.TaskExtensionRequested():
            book["extension_request"] = {
                "deadline": event.deadline.isoformat(),
                "reason": event.reason,
                "by": event.actor,
            }
        case task.TaskExtensionApproved():
            _extend(book, event.deadline)
            return (book["lead_department"],)
        case task.TaskExtensionRejected():
            book["extension_request"] = None
            return (book["lead_department"],)
        case task.TaskClosed():
            book["closed_at"] = at.isoformat()
        case task.TaskReminded():
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
    assert isinstance(event, task.TaskEvent)
    detail = event.model_dump(mode="json", exclude={"task_id", "actor", "person"})
    return {
        "id": envelope.id,
        "kind": event.kind,
        "at": envelope.time.isoformat(),
        "actor": event.actor,
        "person": event.person,
        "detail": detail,
    }
