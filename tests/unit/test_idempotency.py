"""connectors.runtime.idempotency: how an API that follows its own topic takes a request once —
a retry is the same event, a request being accepted holds its key, a key reused for another
request is refused, and a request refused or lost on the way leaves its key free."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.runtime.idempotency import RequestView, Seen, accept_once
from connectors.runtime.producer import OutRecord
from connectors.sources.tasks import TasksApi
from midfield.departments import Directory
from midfield.errors import BrokerUnavailable, Rejected
from schemas.envelope import Envelope
from schemas.events.info import InfoReportProposed
from schemas.events.task import TaskCreated, TaskEvent, TaskProgressReported
from tests.source_runs import RecordingIntake

AT = datetime(2025, 6, 20, 2, tzinfo=UTC)
CREATED = TaskCreated(task_id="DC-1", actor="office", title="事项", deadline=date(2025, 9, 1),
                      lead_department="edu")  # fmt: skip
PROGRESS = TaskProgressReported(task_id="DC-1", actor="edu", percent=40, text="过半")
REUSED = "used for another request"


class Taken(RequestView[TaskEvent, list[TaskEvent]]):
    """The smallest view: per task, the events it took, in order."""

    events = TaskEvent

    def _step(self, event: TaskEvent) -> None:
        self._known.setdefault(event.task_id, []).append(event)


def _request(event: TaskEvent, key: str) -> Envelope:
    return Envelope.wrap(event, source="midfield://tasks/t", position=f"{event.actor}/{key}",
                         subject=event.task_id, time=AT)  # fmt: skip


class BrokerDown(RecordingIntake):
    """An intake whose broker never takes a record."""

    async def send(self, records: list[OutRecord], *, within_s: float | None = None) -> None:
        raise BrokerUnavailable("the broker is away")


def _intake(kind: type[RecordingIntake] = RecordingIntake) -> RecordingIntake:
    return kind(TasksApi(directory=Directory([]), instance="t", zone=ZoneInfo("UTC")))


async def _nothing() -> None:
    return None


async def _refuse() -> None:
    raise Rejected("no such task", reason="unknown-task", status=404)


def test_an_event_is_taken_once_per_id() -> None:
    view = Taken()
    view.take(_request(CREATED, "c"))
    view.take(_request(CREATED, "c"))
    view.take(_request(PROGRESS, "p"))

    assert view.get("DC-1") == [CREATED, PROGRESS]


def test_an_event_of_another_type_is_not_taken_nor_its_id_kept() -> None:
    view = Taken()
    other = InfoReportProposed(report_id="XX-1", source="by_hand", title="线索", actor="edu",
                               by="department:edu")  # fmt: skip
    envelope = Envelope.wrap(other, source="midfield://info/t", position="p", subject="XX-1",
                             time=AT)  # fmt: skip
    view.take(envelope)

    assert (view.get("XX-1"), view.seen(envelope.id)) == (None, False)


def test_a_claimed_request_is_in_flight_until_taken_or_released() -> None:
    view = Taken()
    first = _request(PROGRESS, "k")
    assert view.claim(first) is Seen.new
    assert view.claim(_request(PROGRESS, "k")) is Seen.in_flight
    view.release(first)
    assert view.claim(first) is Seen.new
    view.take(first)

    assert view.claim(first) is Seen.retry


async def test_a_new_request_is_published_and_taken_and_its_retry_is_not_published() -> None:
    view, intake = Taken(), _intake()

    first = await accept_once(view, intake, _request(CREATED, "c"), _nothing, reused=REUSED)
    again = await accept_once(view, intake, _request(CREATED, "c"), _nothing, reused=REUSED)

    assert (first, again, len(intake.sent), view.get("DC-1")) == (False, True, 1, [CREATED])


async def test_a_request_being_accepted_answers_409_in_flight() -> None:
    view = Taken()
    view.claim(_request(CREATED, "c"))

    with pytest.raises(Rejected) as refused:
        await accept_once(view, _intake(), _request(CREATED, "c"), _nothing, reused=REUSED)

    assert (refused.value.status, refused.value.reason) == (409, "idempotency-key-in-flight")


async def test_a_key_reused_for_another_request_answers_422_with_the_message() -> None:
    view, intake = Taken(), _intake()
    view.take(_request(PROGRESS, "k"))
    other = PROGRESS.model_copy(update={"percent": 41})

    with pytest.raises(Rejected) as refused:
        await accept_once(view, intake, _request(other, "k"), _nothing, reused=REUSED)

    assert (refused.value.status, refused.value.reason) == (422, "idempotency-key-reused")
    assert (str(refused.value), intake.sent) == (REUSED, [])


async def test_a_request_its_check_refuses_is_not_published_and_leaves_its_key_free() -> None:
    view, intake = Taken(), _intake()

    with pytest.raises(Rejected):
        await accept_once(view, intake, _request(PROGRESS, "k"), _refuse, reused=REUSED)

    assert (intake.sent, view.claim(_request(PROGRESS, "k"))) == ([], Seen.new)


async def test_a_request_the_broker_did_not_take_leaves_its_key_free() -> None:
    view = Taken()

    with pytest.raises(BrokerUnavailable):
        await accept_once(view, _intake(BrokerDown), _request(PROGRESS, "k"), _nothing,
                          reused=REUSED)  # fmt: skip

    assert (view.get("DC-1"), view.claim(_request(PROGRESS, "k"))) == (None, Seen.new)
