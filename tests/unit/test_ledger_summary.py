"""The ledger's summary (streams/books/ledger_summary.py) agrees with computing every task's
light from its book, at any sequence of reads and writes."""

from __future__ import annotations

import gc
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.settings import SupervisionSettings
from schemas.events.task import TaskStatus
from streams.books import ledger
from streams.books.ledger_summary import LedgerSummary
from streams.books.lights import Light, light_reason

ZONE = ZoneInfo("Asia/Shanghai")
RULES = SupervisionSettings()
START = datetime(2025, 3, 1, tzinfo=UTC)
DEPARTMENTS = ("jyj", "zjj", "jtj")


def _book(n: int, status: TaskStatus, days: int, percent: int, lead: str) -> dict:
    created = START + timedelta(hours=n)
    return {
        "task_id": f"DC-{n:03d}",
        "status": status.value,
        "deadline": (created.astimezone(ZONE).date() + timedelta(days=days)).isoformat(),
        "created_at": created.isoformat(),
        "percent": percent,
        "lead_department": lead,
        "assisting_departments": [d for d in DEPARTMENTS if d != lead][:1],
    }


books = st.builds(
    _book,
    st.integers(0, 20),
    st.sampled_from(list(TaskStatus)),
    st.integers(0, 40),
    st.integers(0, 100),
    st.sampled_from(DEPARTMENTS),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), books),
        st.tuples(st.just("stub"), st.integers(0, 20)),
        st.tuples(st.just("read"), st.integers(0, 60 * 24 * 45)),  # minutes after START
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_every_read_agrees_with_the_lights_computed_from_the_books(steps: list) -> None:
    summary = LedgerSummary(RULES, ZONE)
    stored: dict[str, dict] = {}
    minutes = 0
    for kind, value in steps:
        if kind == "write":
            stored[value["task_id"]] = value
            summary.put(value["task_id"], value)
        elif kind == "stub":  # a stub only remembers refused events: no task
            key = f"DC-{value:03d}"
            stored.pop(key, None)
            summary.put(key, {"status": "", "refused": []})
            continue
        else:
            minutes = max(minutes, value) if value % 7 else value  # now and then, back in time
        now = START + timedelta(minutes=minutes)
        summary.at(now)
        for light in (None, *Light):
            for status in (None, TaskStatus.in_progress.value):
                for department in (None, "jyj"):
                    expected = {
                        k for k, b in stored.items()
                        if ledger.matches(b, department=department, status=status)
                        and light in (None, light_reason(b, now, RULES, ZONE)[0])
                    }  # fmt: skip
                    found = summary.select(light=light, status=status, department=department)
                    assert found == expected, (light, status, department, now)
        for key, book in stored.items():
            assert summary.light(key) is light_reason(book, now, RULES, ZONE)[0]
        for light in (Light.red, Light.yellow):  # the dashboard's lists: nearest the deadline
            lit = [k for k, b in stored.items() if light_reason(b, now, RULES, ZONE)[0] is light]
            nearest = sorted(lit, key=lambda k: (stored[k]["deadline"], k))[:3]
            assert summary.nearest(light, 3) == nearest, (light, now)
        every = {c.value: 0 for c in Light} | Counter(
            light_reason(b, now, RULES, ZONE)[0].value for b in stored.values()
        )
        assert summary.counts() == summary.counts(summary.select()) == every


def test_a_task_turns_red_at_midnight_without_a_write() -> None:
    summary = LedgerSummary(RULES, ZONE)
    book = _book(0, TaskStatus.in_progress, 30, 100, "jyj")
    summary.put(book["task_id"], book)
    due = datetime.combine(date.fromisoformat(book["deadline"]) + timedelta(days=1),
                           datetime.min.time(), ZONE)  # fmt: skip
    assert summary.at(due - timedelta(seconds=1)).light("DC-000") is Light.yellow
    assert summary.at(due).light("DC-000") is Light.red
    assert summary.counts(summary.select()) == {"green": 0, "yellow": 0, "red": 1}


def test_reset_takes_the_books_a_recovery_left_and_forgets_the_rest() -> None:
    summary = LedgerSummary(RULES, ZONE)
    summary.put("DC-001", _book(1, TaskStatus.in_progress, 30, 0, "jyj"))
    kept = _book(2, TaskStatus.closed, 30, 100, "zjj")
    summary.reset([("DC-002", kept)])
    assert summary.at(START).select() == {"DC-002"}
    assert summary.select(department="jtj") == set()
    assert summary.select(department="jyj") == {"DC-002"}  # it assists


def test_the_rows_are_nothing_the_garbage_collector_walks() -> None:
    """100k tasks as objects the collector tracks made each full collection 85-95 ms."""
    summary = LedgerSummary(RULES, ZONE)
    summary.put("DC-001", _book(1, TaskStatus.in_progress, 30, 0, "jyj"))
    summary.at(START)
    gc.collect()  # the departments' tuple stops being tracked here, the row at the next one
    gc.collect()
    assert not gc.is_tracked(summary.rows["DC-001"])
