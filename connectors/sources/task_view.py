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

from kafka import TopicPartition

from midfield.admin import client_config
from midfield.errors import BrokerError, map_kafka_errors
from midfield.logging import get_logger
from midfield.settings import KafkaSettings
from midfield.watermarks import probe_consumer, topic_end_offsets
from schemas.envelope import DecodeError, Envelope
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
        """Read ``topic`` from the beginning until ``stop``; retries while the broker is away."""
        while not stop.is_set():
            try:
                self._read(kafka, topic, stop)
            except BrokerError as exc:
                log.warning("task view: broker unavailable, retrying", error=str(exc))
                stop.wait(2.0)

    def _read(self, kafka: KafkaSettings, topic: str, stop: threading.Event) -> None:
        config = client_config(kafka)
        ends = topic_end_offsets(config, [topic])  # true ends: fetch high watermarks
        with map_kafka_errors(), probe_consumer(config, auto_offset_reset="earliest") as consumer:
            partitions = [TopicPartition(t, p) for t, p in ends]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            while not stop.is_set():
                for batch in consumer.poll(timeout_ms=500).values():
                    for record in batch:
                        self._take(record.headers, record.value)
                if not self.caught_up.is_set() and all(
                    consumer.position(TopicPartition(t, p)) >= end for (t, p), end in ends.items()
                ):
                    log.info("task view caught up", tasks=len(self._tasks))
                    self.caught_up.set()

    def _take(self, headers: list[tuple[str, bytes]] | None, value: bytes) -> None:
        with contextlib.suppress(DecodeError):  # the worker dead-letters it
            self.apply(Envelope.from_record(headers, value))


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
