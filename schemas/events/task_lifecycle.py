"""The supervised task's lifecycle as data: which step may follow which, and to what status.

:func:`next_status` reads :data:`TRANSITIONS`: the ledger applies it to a task's book
(streams/books/task_book.py), and the tasks API (connectors/sources/tasks.py) checks a request
against it before producing, so both agree by construction. The events themselves are in
:mod:`schemas.events.task`.
"""

from __future__ import annotations

from schemas.errors import RuleError
from schemas.events.task import TaskEvent, TaskReviewed, TaskStatus

__all__ = ["TERMINAL", "TRANSITIONS", "IllegalTransition", "next_status"]


class IllegalTransition(RuleError):
    """An event the task's current state does not allow."""


S = TaskStatus
_OPEN = tuple(s for s in S if s is not S.closed)
_WORKING = (S.signed, S.in_progress)

TRANSITIONS: dict[tuple[TaskStatus | None, str], TaskStatus | None] = {
    (None, "created"): S.created,
    (S.created, "assigned"): S.assigned,
    (S.assigned, "assigned"): S.assigned,  # re-assigned before anyone signed
    (S.assigned, "signed"): S.signed,
    **{(s, "signed"): s for s in _WORKING},  # each department signs for itself
    **{(s, "progress"): S.in_progress for s in _WORKING},
    **{(s, "completion"): S.completion_reported for s in _WORKING},
    (S.completion_reported, "reviewed"): None,  # accepted -> reviewed, sent back -> in_progress
    (S.reviewed, "closed"): S.closed,
    **{(s, kind): s for s in _OPEN for kind in ("extension-requested", "reminded")},
    **{(s, kind): s for s in _OPEN for kind in ("extension-approved", "extension-rejected")},
}
"""``(status before, event kind) -> status after``; a pair not listed is an illegal transition.
``None`` as the status before means "no such task yet"; ``None`` after means "decided by the
event" (see :func:`next_status`). Extension decisions also need a pending request."""

TERMINAL = frozenset({S.closed})


def next_status(
    status: TaskStatus | None, event: TaskEvent, *, extension_pending: bool = False
) -> TaskStatus:
    """The status after ``event``; :class:`IllegalTransition` when the lifecycle forbids it."""
    if (status, event.kind) not in TRANSITIONS:
        if status is None:
            raise IllegalTransition("unknown-task", f"{event.kind} on task {event.task_id} "
                                    "that was never created")  # fmt: skip
        if event.kind == "created":
            raise IllegalTransition("task-exists", f"task {event.task_id} was created already")
        if status in TERMINAL:
            raise IllegalTransition("task-closed", f"{event.kind} on closed task {event.task_id}")
        raise IllegalTransition("illegal-transition", f"{event.kind} not allowed when {status}")
    if event.kind in ("extension-approved", "extension-rejected") and not extension_pending:
        raise IllegalTransition("no-extension-pending", f"{event.kind} without a request")
    after = TRANSITIONS[(status, event.kind)]
    if after is None:  # a review decides where the task goes
        assert isinstance(event, TaskReviewed)
        return S.reviewed if event.accepted else S.in_progress
    return after
