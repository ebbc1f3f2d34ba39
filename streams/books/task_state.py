"""One supervised task as the ledger stores it (streams/books/task_book.py): the shape of its JSON.

Beside the task's book, which would pass the module-size limit with it. A task is
:class:`TaskState` once created, and :class:`TaskStub` before: an id that only remembers the
events refused for it (a step for a task not created yet, an event that is no task event).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

__all__ = ["ExtensionRequest", "TaskHistoryLine", "TaskState", "TaskStub"]


class TaskHistoryLine(TypedDict, closed=True):
    """An applied event, in order."""

    id: str
    kind: str
    """The event's ``kind`` (``created``, ``signed``, ``progress``…)."""
    at: str
    actor: str
    person: str
    detail: dict[str, Any]
    """The event's own fields as JSON, without ``task_id``, ``actor`` and ``person``: one shape
    per kind, the event model's (schemas/events/task.py); the tests validate it against it."""


class ExtensionRequest(TypedDict, closed=True):
    """An extension asked for and not yet decided."""

    deadline: str
    reason: str
    by: str
    """The department that asked."""


class TaskState(TypedDict, closed=True):
    """One created task, as the ledger table holds it (times ISO 8601 text, days
    ``YYYY-MM-DD``): made by ``task_book._new_book``, changed by ``task_book._step``."""

    task_id: str
    title: str
    content: str
    goal: str
    category: str
    origin: str
    """:class:`~schemas.events.task.TaskOrigin`'s value."""
    lead_department: str
    assisting_departments: list[str]
    """Never the lead department."""
    focus: bool
    subtasks: list[str]
    created_at: str
    deadline: str
    """The last day on time, as extended."""
    original_deadline: str
    status: str
    """:class:`~schemas.events.task.TaskStatus`'s value."""
    percent: int
    progress: str
    """The latest progress (or completion) report's text."""
    signed_by: dict[str, str]
    """Department -> when it signed."""
    extension_request: ExtensionRequest | None
    delay_count: int
    extension_days: int
    """Days the approved extensions added, in all."""
    delay_reasons: list[str]
    completed_at: str | None
    """Completion reported, and not sent back by a review since."""
    closed_at: str | None
    last_reminded_at: str | None
    reminders: int
    history: list[TaskHistoryLine]
    applied: list[str]
    refused: list[str]
    """Event ids the lifecycle refused (a re-delivery is refused again)."""


class TaskStub(TypedDict, closed=True):
    """No task created yet: only the events refused for its id, remembered."""

    task_id: str
    status: None
    history: list[TaskHistoryLine]
    """Always empty."""
    applied: list[str]
    refused: list[str]
