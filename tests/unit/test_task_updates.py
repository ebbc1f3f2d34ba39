"""The memory bench's updates (bench/task_updates.py) are events the ledger applies: every task
assigned and signed by its lead, then the progress reports spread over the tasks as it says."""

from __future__ import annotations

from typing import Any

from bench import memory, task_updates
from midfield.clock import utc_now
from streams.books import task_book


def test_every_update_applies_to_the_bench_tasks_and_spreads_over_them() -> None:
    now = utc_now()
    books: dict[str, Any] = {}
    for envelope in memory.envelopes(23, now):
        outcome = task_book.apply(None, envelope)
        assert isinstance(outcome, task_book.Applied)
        books[envelope.subject] = outcome.book
    tasks = [(key, book["lead_department"]) for key, book in books.items()]
    sent = list(task_updates.lifecycle(tasks, 100, now, memory.PEOPLE))
    for envelope in sent:
        outcome = task_book.apply(books[envelope.subject], envelope)
        assert isinstance(outcome, task_book.Applied), outcome
        books[envelope.subject] = outcome.book
    assert len(sent) == task_updates.events(23, 100) == 146
    reports = {key: sum(h["kind"] == "progress" for h in b["history"]) for key, b in books.items()}
    assert sorted(set(reports.values())) == [4, 5]  # 100 over 23 tasks: 8 get a fifth
    assert sum(reports.values()) == 100
    assert {b["status"] for b in books.values()} == {"in_progress"}
    assert books[tasks[0][0]]["percent"] == 25 and books[tasks[-1][0]]["percent"] == 20
