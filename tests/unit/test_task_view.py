"""connectors.sources.task_view: how the tasks API tells a retry from a reused Idempotency-Key,
also after a restart, when all it has is what it reads back from the task topic."""

from __future__ import annotations

from datetime import UTC, date, datetime

from connectors.runtime.idempotency import Seen
from connectors.sources.task_view import TaskView
from schemas.envelope import Envelope
from schemas.events.task import (
    TaskAssigned,
    TaskCompletionReported,
    TaskCreated,
    TaskEvent,
    TaskProgressReported,
)

SOURCE = "midfield://tasks/t"
AT = datetime(2025, 6, 20, 2, tzinfo=UTC)


def _request(event: TaskEvent, key: str) -> Envelope:
    """The envelope the API makes of a request with ``Idempotency-Key: key``."""
    return Envelope.wrap(event, source=SOURCE, position=f"{event.actor}/{key}",
                         subject=event.task_id, time=AT)  # fmt: skip


def _from_the_topic(envelope: Envelope) -> Envelope:
    return Envelope.from_record(envelope.headers(), envelope.value())


def _restarted(*accepted: Envelope) -> TaskView:
    """A new view (a restarted API) that has read ``accepted`` back from the topic."""
    view = TaskView()
    created = TaskCreated(task_id="DC-1", actor="office", title="事项", deadline=date(2025, 9, 1),
                          lead_department="edu")  # fmt: skip
    assigned = TaskAssigned(task_id="DC-1", actor="office")
    for envelope in (_request(created, "c"), _request(assigned, "a"), *accepted):
        view.take(_from_the_topic(envelope))
    return view


PROGRESS = TaskProgressReported(task_id="DC-1", actor="edu", percent=40, text="过半")


def test_a_retry_read_back_from_the_topic_is_a_retry() -> None:
    view = _restarted(_request(PROGRESS, "k1"))

    assert view.claim(_request(PROGRESS, "k1")) is Seen.retry


def test_a_key_reused_for_another_step_after_a_restart_is_reused() -> None:
    view = _restarted(_request(PROGRESS, "k1"))
    completion = TaskCompletionReported(task_id="DC-1", actor="edu", text="已完工")

    assert view.claim(_request(completion, "k1")) is Seen.reused


def test_a_key_reused_with_another_body_is_reused() -> None:
    view = _restarted(_request(PROGRESS, "k1"))
    other = TaskProgressReported(task_id="DC-1", actor="edu", percent=41, text="过半")

    assert view.claim(_request(other, "k1")) is Seen.reused
