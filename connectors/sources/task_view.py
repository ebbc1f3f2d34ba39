"""What the tasks API knows of each task: its departments, status and pending extension.

Built by reading ``office.supervision.task.v1`` from the beginning (every partition, no consumer
group) and following it, and updated at once by the API's own accepted requests. It lets the API
answer 404, 403 and 409 before producing; the ledger in the worker stays the authority and
checks everything again (a request that slips through a stale view is dead-lettered there).
Like every :class:`~connectors.runtime.idempotency.RequestView` it remembers the request behind
every event id, so that the API tells a retry from a key reused for another request (issue 18).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from connectors.runtime.idempotency import RequestView
from midfield.logging import get_logger
from schemas.events.task import (
    TaskAssigned,
    TaskCreated,
    TaskEvent,
    TaskExtensionApproved,
    TaskExtensionRejected,
    TaskExtensionRequested,
    TaskStatus,
)
from schemas.events.task_lifecycle import IllegalTransition, next_status

__all__ = ["KnownTask", "TaskView"]

log = get_logger(__name__)


@dataclass(frozen=True)
class KnownTask:
    task_id: str
    status: TaskStatus
    lead_department: str
    assisting_departments: tuple[str, ...]
    extension_pending: bool = False

    @property
    def departments(self) -> tuple[str, ...]:
        return (self.lead_department, *self.assisting_departments)


class TaskView(RequestView[TaskEvent, KnownTask]):
    events = TaskEvent

    def _step(self, event: TaskEvent) -> None:
        known = self._known.get(event.task_id)
        with contextlib.suppress(IllegalTransition):  # the ledger dead-letters it
            self._known[event.task_id] = _after(known, event)


def _after(known: KnownTask | None, event: TaskEvent) -> KnownTask:
    status = next_status(
        known.status if known else None,
        event,
        extension_pending=bool(known and known.extension_pending),
    )
    if known is None:
        assert isinstance(event, TaskCreated)
        return KnownTask(event.task_id, status, event.lead_department, event.assisting_departments)
    known = replace(known, status=status)
    match event:
        case TaskAssigned():
            lead = event.lead_department or known.lead_department
            assisting = event.assisting_departments
            if assisting is None:
                assisting = known.assisting_departments
            return replace(
                known,
                lead_department=lead,
                assisting_departments=tuple(d for d in assisting if d != lead),
            )
        case TaskExtensionRequested():
            return replace(known, extension_pending=True)
        case TaskExtensionApproved() | TaskExtensionRejected():
            return replace(known, extension_pending=False)
    return known
