"""The supervision ledger's pure core: applying events, lights over a set clock, reminders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.settings import SupervisionSettings
from schemas.envelope import Envelope
from schemas.events import task
from streams.books import ledger, lights, task_book
from streams.books.lights import Light
from streams.books.task_book import Applied, Refused
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")
RULES = SupervisionSettings(warning_days=3, progress_lag=0.25, reminder_window_hours=24)
CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=ZONE)  # deadline 2025-03-31: 30 days and a bit


def _wrap(event: task.TaskEvent, n: int, at: datetime = CREATED) -> Envelope:
    return nth_event(event, event.task_id, n, at, source="midfield://tasks/test", ingested_at=at)


def _created(task_id: str = "DC-1", deadline: date = date(2025, 3, 31)) -> task.TaskCreated:
    return task.TaskCreated(
        task_id=task_id,
        actor="office",
        title="城区学校扩容",
        deadline=deadline,
        lead_department="edu",
        assisting_departments=("fin",),
    )


def _run(*events: task.TaskEvent, at: datetime = CREATED) -> task_book.State:
    book = None
    for n, event in enumerate(events):
        outcome = task_book.apply(book, _wrap(event, n, at))
        assert isinstance(outcome, Applied), outcome
        book = outcome.book
    assert book is not None
    return book


def _signed_task(**created: object) -> task_book.State:
    return _run(
        _created(**created),
        task.TaskAssigned(task_id="DC-1", actor="office"),  # type: ignore[arg-type]
        task.TaskSigned(task_id="DC-1", actor="edu"),
    )


def _light(book: task_book.State, at: datetime) -> Light:
    return lights.light(book, at, RULES, ZONE)[0]


def test_new_task_is_green_on_its_first_day() -> None:
    assert _light(_signed_task(), CREATED + timedelta(hours=1)) is Light.green


def test_task_turns_yellow_when_the_deadline_is_within_the_warning_window() -> None:
    book = _run(
        _created(),
        task.TaskAssigned(task_id="DC-1", actor="office"),
        task.TaskSigned(task_id="DC-1", actor="edu"),
        task.TaskProgressReported(task_id="DC-1", actor="edu", percent=90, text="almost"),
    )
    assert _light(book, datetime(2025, 3, 27, 23, 59, tzinfo=ZONE)) is Light.green
    colour, reason = lights.light(book, datetime(2025, 3, 28, 0, 0, tzinfo=ZONE), RULES, ZONE)
    assert (colour, reason) == (Light.yellow, "deadline in 3 days")


def test_task_turns_yellow_when_progress_lags_time_elapsed() -> None:
    book = _signed_task()  # 0 % done; 25 % of ~30.6 days is ~7.6 days
    assert _light(book, CREATED + timedelta(days=7)) is Light.green
    colour, reason = lights.light(book, CREATED + timedelta(days=8), RULES, ZONE)
    assert colour is Light.yellow and reason.startswith("progress 0% behind")


def test_task_past_deadline_turns_red_at_midnight_office_time() -> None:
    book = _signed_task()
    assert _light(book, datetime(2025, 3, 31, 23, 59, 59, tzinfo=ZONE)) is Light.yellow
    colour, reason = lights.light(book, datetime(2025, 4, 1, 0, 0, tzinfo=ZONE), RULES, ZONE)
    assert (colour, reason) == (Light.red, "overdue by 1 day")


def test_approved_extension_turns_a_red_task_back_and_counts_the_delay() -> None:
    late = datetime(2025, 4, 2, 10, 0, tzinfo=ZONE)
    book = _signed_task()
    assert _light(book, late) is Light.red
    book = _run_on(
        book,
        task.TaskExtensionRequested(
            task_id="DC-1", actor="edu", deadline=date(2025, 5, 31), reason="雨季停工"
        ),
        task.TaskProgressReported(task_id="DC-1", actor="edu", percent=60, text="主体"),
        task.TaskExtensionApproved(task_id="DC-1", actor="office", deadline=date(2025, 5, 20)),
    )
    assert _light(book, late) is Light.green
    assert (book["deadline"], book["original_deadline"]) == ("2025-05-20", "2025-03-31")
    assert (book["delay_count"], book["extension_days"]) == (1, 50)
    assert book["delay_reasons"] == ["雨季停工"]


def _run_on(book: task_book.State, *events: task.TaskEvent) -> task_book.State:
    for n, event in enumerate(events, start=len(book["applied"])):
        outcome = task_book.apply(book, _wrap(event, n))
        assert isinstance(outcome, Applied), outcome
        book = outcome.book
    return book


def test_closed_task_is_green_even_after_its_deadline() -> None:
    book = _run_on(
        _signed_task(),
        task.TaskCompletionReported(task_id="DC-1", actor="edu", text="done"),
        task.TaskReviewed(task_id="DC-1", actor="office", accepted=True),
        task.TaskClosed(task_id="DC-1", actor="office"),
    )
    assert book["status"] == "closed"
    assert _light(book, datetime(2026, 1, 1, tzinfo=ZONE)) is Light.green


def test_redelivered_event_changes_nothing() -> None:
    book = _signed_task()
    again = _wrap(task.TaskSigned(task_id="DC-1", actor="edu"), 2)
    assert task_book.apply(book, again) is None


def test_department_of_another_task_is_refused_and_the_refusal_remembered() -> None:
    book = _signed_task()
    intruder = _wrap(
        task.TaskProgressReported(task_id="DC-1", actor="housing", percent=10, text="x"), 9
    )
    outcome = task_book.apply(book, intruder)
    assert isinstance(outcome, Refused)
    assert outcome.error.reason == "not-a-task-department"
    assert outcome.book["history"] == book["history"]
    assert task_book.apply(outcome.book, intruder) is None


def test_office_only_steps_are_refused_from_a_department() -> None:
    outcome = task_book.apply(
        _signed_task(), _wrap(task.TaskClosed(task_id="DC-1", actor="edu"), 9)
    )
    assert isinstance(outcome, Refused) and outcome.error.reason == "office-only"


def test_assignment_and_send_back_go_to_the_departments_outboxes() -> None:
    created = task_book.apply(None, _wrap(_created(), 0))
    assert isinstance(created, Applied) and created.outbox == ()
    assigned = task_book.apply(
        created.book, _wrap(task.TaskAssigned(task_id="DC-1", actor="office"), 1)
    )
    assert isinstance(assigned, Applied) and assigned.outbox == ("edu", "fin")


# -- reminders ---------------------------------------------------------------------------------
def _reminders(books: list[task_book.State], at: datetime) -> list[Envelope]:
    return ledger.due_reminders(books, at, RULES, ZONE, source="midfield://worker/test")


def test_red_task_reminds_lead_and_assisting_departments() -> None:
    [reminder] = _reminders([_signed_task()], datetime(2025, 4, 3, 9, 0, tzinfo=ZONE))
    assert reminder.data.departments == ("edu", "fin")  # type: ignore[attr-defined]
    assert reminder.data.light == "red"  # type: ignore[attr-defined]


def test_yellow_task_reminds_only_the_lead_department() -> None:
    [reminder] = _reminders([_signed_task()], datetime(2025, 3, 29, 9, 0, tzinfo=ZONE))
    assert reminder.data.departments == ("edu",)  # type: ignore[attr-defined]


def test_green_task_gets_no_reminder() -> None:
    assert _reminders([_signed_task()], CREATED + timedelta(days=1)) == []


def test_at_most_one_reminder_per_window() -> None:
    at = datetime(2025, 4, 3, 9, 0, tzinfo=ZONE)
    [reminder] = _reminders([_signed_task()], at)
    outcome = task_book.apply(_signed_task(), reminder)
    assert isinstance(outcome, Applied)
    assert _reminders([outcome.book], at + timedelta(hours=23, minutes=59)) == []
    assert len(_reminders([outcome.book], at + timedelta(hours=24))) == 1


def test_the_timer_firing_twice_proposes_the_same_reminder_id() -> None:
    at = datetime(2025, 4, 3, 9, 0, tzinfo=ZONE)
    first = _reminders([_signed_task()], at)
    again = _reminders([_signed_task()], at + timedelta(minutes=5))
    assert [e.id for e in first] == [e.id for e in again]


# -- redelivery property -----------------------------------------------------------------------
_POOL = [
    _created(),
    task.TaskAssigned(task_id="DC-1", actor="office"),
    task.TaskSigned(task_id="DC-1", actor="edu"),
    task.TaskSigned(task_id="DC-1", actor="fin"),
    task.TaskProgressReported(task_id="DC-1", actor="edu", percent=30, text="30"),
    task.TaskProgressReported(task_id="DC-1", actor="fin", percent=50, text="50"),
    task.TaskExtensionRequested(
        task_id="DC-1", actor="edu", deadline=date(2025, 4, 30), reason="r"
    ),
    task.TaskExtensionApproved(task_id="DC-1", actor="office", deadline=date(2025, 4, 20)),
    task.TaskCompletionReported(task_id="DC-1", actor="edu", text="done"),
    task.TaskReviewed(task_id="DC-1", actor="office", accepted=False, reason="again"),
    task.TaskReviewed(task_id="DC-1", actor="office", accepted=True),
    task.TaskClosed(task_id="DC-1", actor="office"),
    task.TaskProgressReported(task_id="DC-1", actor="housing", percent=10, text="intruder"),
]


@st.composite
def _deliveries(draw: st.DrawFn) -> tuple[list[Envelope], list[Envelope]]:
    """Distinct events in log order, and a delivery of them with duplicates and replays."""
    picks = draw(st.lists(st.sampled_from(range(len(_POOL))), min_size=1, max_size=14))
    log = [_wrap(_POOL[p], n, CREATED + timedelta(hours=n)) for n, p in enumerate(picks)]
    delivered: list[Envelope] = []
    for n, envelope in enumerate(log):
        delivered.append(envelope)
        if draw(st.booleans()):  # a crash: replay from an earlier uncommitted offset
            delivered.extend(log[draw(st.integers(0, n)) : n + 1])
    return log, delivered


def _fold(envelopes: list[Envelope]) -> task_book.State | None:
    book = None
    for envelope in envelopes:
        outcome = task_book.apply(book, envelope)
        if outcome is not None:
            book = outcome.book
    return book


@settings(max_examples=300, deadline=None)
@given(_deliveries())
def test_any_redelivery_yields_the_ledger_of_each_event_applied_once(
    case: tuple[list[Envelope], list[Envelope]],
) -> None:
    log, delivered = case
    assert _fold(delivered) == _fold(log)
