"""The views bench's workload (bench/office_books.py) makes the books it says it makes: the red
and yellow tasks, the signed ones and the answered messages it counts up front are what the
books hold once its events are applied, and no unanswered message is old enough for an alert."""

from __future__ import annotations

from typing import Any

from bench.memory import TASK_TOPIC
from bench.office_books import Workload
from midfield.clock import utc_now
from midfield.settings import OfficeSettings, RepliesSettings, SupervisionSettings
from streams.books import lights, replies, task_book


def _books(workload: Workload) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ledger's and the message book's entities after every event of ``workload``."""
    tasks: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for envelope in workload.envelopes():
        if envelope.topic == TASK_TOPIC:
            outcome = task_book.apply(tasks.get(envelope.subject), envelope)
            assert isinstance(outcome, task_book.Applied), outcome
            tasks[envelope.subject] = outcome.book
        else:
            messages[envelope.subject] = replies.apply(messages.get(envelope.subject), envelope)
    return tasks, messages


def test_the_tasks_have_the_lights_and_steps_the_workload_counts() -> None:
    workload = Workload(tasks=247, messages=0, now=utc_now())
    tasks, _ = _books(workload)
    rules, zone = SupervisionSettings(), OfficeSettings().zone
    colours = [lights.light(book, workload.now, rules, zone)[0] for book in tasks.values()]
    assert len(tasks) == 247
    assert colours.count(lights.Light.red) == workload.red == 13
    assert colours.count(lights.Light.yellow) == workload.yellow == 13
    signed = {task_id for task_id, book in tasks.items() if book["status"] == "signed"}
    assert signed == {task_id for task_id, _ in workload.signed} and len(signed) == 75


def test_the_messages_are_answered_as_counted_and_none_is_due_an_alert() -> None:
    workload = Workload(tasks=0, messages=1234, now=utc_now())
    _, messages = _books(workload)
    assert len(messages) == 1234 and all(replies.is_message(b) for b in messages.values())
    assert sum(bool(b["replied_at"]) for b in messages.values()) == workload.replied == 1078
    warnings = replies.due_warnings(
        list(messages.values()), workload.now, RepliesSettings(), source="midfield://test"
    )
    assert warnings == []


def test_the_event_count_is_the_events_made() -> None:
    workload = Workload(tasks=55, messages=101, now=utc_now())
    assert sum(1 for _ in workload.envelopes()) == workload.events == 55 + 2 * 18 + 101 + 88
