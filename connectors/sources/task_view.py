"""What the tasks API knows of each task: its departments, status and pending extension.

Built by reading ``office.supervision.task.v1`` from the beginning (every partition, no consumer
group) and following it, and updated at once by the API's own accepted requests. It lets the API
answer 404, 403 and 409 before producing; the ledger in the worker stays the authority and
checks everything again (a request that slips through a stale view is dead-lettered there).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace

from connectors.runtime.follow import follow_topic
from midfield.logging import get_logger
from midfield.settings import KafkaSettings
from schemas.envelope import Envelope
from schemas.events.task import (
    IllegalTransition,
    TaskAssigned,
    TaskCreated,
    TaskEvent,
    TaskExtensionApproved,
    TaskExtensionRejected,
    TaskExtensionRequested,
    TaskStatus,
    next_status,
)

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


class TaskView:
    def __init__(self) -> None:
        self._tasks: dict[str, KnownTask] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.caught_up = threading.Event()
        """Set once everything on the topic when we started has been read."""

    def get(self, task_id: str) -> KnownTask | None:
        with self._lock:
            return self._tasks.get(task_id)

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._seen

    def apply(self, envelope: Envelope) -> None:
        """Take ``envelope`` into the view (once per id; steps the lifecycle refuses are left
        out, as the ledger leaves them out)."""
        event = envelope.data
        if not isinstance(event, TaskEvent):
            return
        with self._lock:
            if envelope.id in self._seen:
                return
            self._seen.add(envelope.id)
            known = self._tasks.get(event.task_id)
            with contextlib.suppress(IllegalTransition):  # the ledger dead-letters it
                self._tasks[event.task_id] = _step(known, event)

    def follow(self, kafka: KafkaSettings, topic: str, stop: threading.Event) -> None:
        """Read ``topic`` from the beginning until ``stop`` (run it in a thread)."""
        follow_topic(kafka, topic, self.apply, self.caught_up, stop)


def _step(known: KnownTask | None, event: TaskEvent) -> KnownTask:
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
