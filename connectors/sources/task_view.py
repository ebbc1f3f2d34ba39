"""What the tasks API knows of each task: its departments, status and pending extension.

Built by reading ``office.supervision.task.v1`` from the beginning (every partition, no consumer
group) and following it, and updated at once by the API's own accepted requests. It lets the API
answer 404, 403 and 409 before producing; the ledger in the worker stays the authority and
checks everything again (a request that slips through a stale view is dead-lettered there).

It also keeps, per event id, a fingerprint of the request that made it (:func:`fingerprint`:
its type and data, so the task, the step and the body). An ``Idempotency-Key`` names the id, so
the API tells a retry (same fingerprint) from a key reused for another request (issue 18).
The fingerprint is computed from the event itself, so a restarted API finds it on the topic.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, replace
from enum import StrEnum

from midfield.logging import get_logger
from schemas.envelope import Envelope
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

__all__ = ["KnownTask", "Seen", "TaskView", "fingerprint"]

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


class Seen(StrEnum):
    """What the view makes of a request's event id (see :meth:`TaskView.claim`)."""

    new = "new"
    retry = "retry"
    """The same request was accepted before: the same event, applied once."""
    in_flight = "in-flight"
    """The same request is being accepted right now (a retry that did not wait)."""
    reused = "reused"
    """The id (its ``Idempotency-Key``) belongs to another request."""


def fingerprint(envelope: Envelope) -> bytes:
    """What makes two requests the same: the event's type and data (task, actor, body)."""
    data = envelope.data.model_dump_json().encode()
    return hashlib.sha256(envelope.type.encode() + b"\n" + data).digest()[:16]


class TaskView:
    def __init__(self) -> None:
        self._tasks: dict[str, KnownTask] = {}
        self._seen: dict[str, bytes] = {}
        """Event id -> the fingerprint of its request, for every event applied."""
        self._claimed: dict[str, bytes] = {}
        """Event id -> fingerprint, for requests being accepted now."""
        self._lock = threading.Lock()

    def get(self, task_id: str) -> KnownTask | None:
        with self._lock:
            return self._tasks.get(task_id)

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._seen

    def claim(self, envelope: Envelope) -> Seen:
        """Whether ``envelope``'s request is new, a retry, or reuses another request's id; a
        new one is claimed until :meth:`apply` or :meth:`release`, so that two requests
        racing with one key cannot both be accepted."""
        mine = fingerprint(envelope)
        with self._lock:
            known = self._seen.get(envelope.id)
            claimed = self._claimed.get(envelope.id) if known is None else None
            if known is None and claimed is None:
                self._claimed[envelope.id] = mine
                return Seen.new
        if (known or claimed) != mine:
            return Seen.reused
        return Seen.retry if known is not None else Seen.in_flight

    def release(self, envelope: Envelope) -> None:
        """Forget a claim whose request was not accepted (refused, or the broker was down)."""
        with self._lock:
            self._claimed.pop(envelope.id, None)

    def apply(self, envelope: Envelope) -> None:
        """Take ``envelope`` into the view (once per id; steps the lifecycle refuses are left
        out, as the ledger leaves them out)."""
        event = envelope.data
        if not isinstance(event, TaskEvent):
            return
        with self._lock:
            self._claimed.pop(envelope.id, None)
            if envelope.id in self._seen:
                return
            self._seen[envelope.id] = fingerprint(envelope)
            known = self._tasks.get(event.task_id)
            with contextlib.suppress(IllegalTransition):  # the ledger dead-letters it
                self._tasks[event.task_id] = _step(known, event)


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
