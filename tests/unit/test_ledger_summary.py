"""The ledger's summary (streams/books/ledger_summary.py) agrees with computing every task's
light from its book, at any sequence of reads and writes."""

from __future__ import annotations

import gc
import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import memory
from midfield.settings import Settings, SupervisionSettings
from schemas.events.task import TaskStatus
from streams.books import ledger, task_book
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
        st.tuples(st.just("settle"), st.integers(1, 5)),  # a step of the lights after recovery
        st.tuples(st.just("recover"), st.just(0)),
    ),
    max_size=40,
)


def _remindable(book: dict, reminded_hours_before: int | None, now: datetime) -> dict:
    """A task's book with what :func:`ledger.due_reminders` reads besides its light."""
    last = None
    if reminded_hours_before is not None:
        last = (now - timedelta(hours=reminded_hours_before)).isoformat()
    return book | {"last_reminded_at": last}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(books, st.one_of(st.none(), st.integers(0, 48))), max_size=30),
    st.integers(0, 60 * 24 * 45),
)
def test_the_reminder_timer_reads_every_task_a_reminder_is_due_for_and_no_other(
    written: list, minutes: int
) -> None:
    """The timer decodes only the tasks the summary has yellow or red and not reminded within
    the window (``Timer.candidates``): it proposes what a scan of every book proposes."""
    now = START + timedelta(minutes=minutes)
    summary, stored = LedgerSummary(RULES, ZONE), {}
    for book, reminded in written:
        stored[book["task_id"]] = _remindable(book, reminded, now)
        summary.put(book["task_id"], stored[book["task_id"]])
    settings_ = Settings(supervision=RULES)
    candidates = ledger.BOOK.timers[0].candidates(summary, now, settings_)  # type: ignore[misc]
    every = ledger.due_reminders(stored.values(), now, RULES, ZONE, source="t")
    only = ledger.due_reminders([stored[k] for k in candidates], now, RULES, ZONE, source="t")
    assert sorted(e.id for e in only) == sorted(e.id for e in every)
    assert all(light_reason(stored[k], now, RULES, ZONE)[0] is not Light.green for k in candidates)
    window = timedelta(hours=RULES.reminder_window_hours)
    reminded = {
        k: datetime.fromisoformat(b["last_reminded_at"])
        for k, b in stored.items()
        if b["last_reminded_at"]
    }
    assert not [k for k in candidates if k in reminded and now - reminded[k] < window]


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
        elif kind == "settle":  # lights a few tasks at the last read's time
            summary.settle(START + timedelta(minutes=minutes), value)
            continue
        elif kind == "recover":  # the recovered books told again: every light to be made
            summary.reset(list(stored.items()))
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


@pytest.mark.parametrize("since", ["recovery", "read"])
def test_waiting_lights_are_made_in_steps_and_the_next_read_makes_none(
    monkeypatch, since: str
) -> None:
    """After a recovery every light waits; after a read, those whose moment has come since."""
    tasks = [
        _book(n, TaskStatus.in_progress, n % 40, n % 100, DEPARTMENTS[n % 3]) for n in range(50)
    ]
    summary, now = LedgerSummary(RULES, ZONE), START + timedelta(days=20)
    summary.reset((b["task_id"], b) for b in tasks)
    if since == "read":
        summary.at(START)
        turned = [b for b in tasks if light_reason(b, START, RULES, ZONE)[0]
                  is not light_reason(b, now, RULES, ZONE)[0]]  # fmt: skip
        assert len(turned) > 7  # more than one step's worth
    left = [summary.settle(now, 7)]
    while left[-1]:
        left.append(summary.settle(now, 7))
    if since == "recovery":
        assert left == [43, 36, 29, 22, 15, 8, 1, 0]
    assert left[0] > 0 and len(left) > 2, left
    relit: list[str] = []
    real = summary._relight
    monkeypatch.setattr(summary, "_relight", lambda key, at: (relit.append(key), real(key, at)))
    summary.at(now)
    assert relit == []  # all made in steps already
    for b in tasks:
        assert summary.light(b["task_id"]) is light_reason(b, now, RULES, ZONE)[0]


def test_a_read_relights_only_the_tasks_written_since_even_most_of_them(monkeypatch) -> None:
    """While tasks load, most of them are written between two reads: relighting every task at
    each read instead held the worker's loop 0.8–1.4 s at 100k tasks (bench/views.py)."""
    tasks = [
        _book(n, TaskStatus.in_progress, n % 40, n % 100, DEPARTMENTS[n % 3]) for n in range(50)
    ]
    summary = LedgerSummary(RULES, ZONE)
    summary.reset((b["task_id"], b) for b in tasks)
    summary.at(START)
    written = tasks[:40]
    for b in written:
        summary.put(b["task_id"], b | {"percent": 100 - b["percent"]})
    relit: list[str] = []
    real = summary._relight
    monkeypatch.setattr(summary, "_relight", lambda key, at: (relit.append(key), real(key, at)))
    summary.at(START)
    assert sorted(relit) == sorted(b["task_id"] for b in written)


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


def _fresh(text: str) -> str:
    """An equal string that is another object, as each decoded record brings its own."""
    return "".join(list(text))


def _scan(stored: dict[str, dict], now: datetime) -> dict[str, tuple[Light, str, list[str]]]:
    """Every task's light, status and departments, computed from its book."""
    return {k: (light_reason(b, now, RULES, ZONE)[0], b["status"], task_book.departments_of(b))
            for k, b in stored.items()}  # fmt: skip


def _rewrite(book: dict, rng: random.Random, today: date) -> dict:
    """``book`` after a later event, as far as the summary reads it: a new status, progress, an
    extended deadline, another lead department; every string a new object."""
    new = json.loads(json.dumps(book))
    new["status"] = rng.choice(list(TaskStatus)).value
    new["percent"] = rng.randint(0, 100)
    if rng.random() < 0.3:
        new["deadline"] = (today + timedelta(days=rng.randint(-20, 60))).isoformat()
    if rng.random() < 0.2:
        new["lead_department"] = rng.choice(memory.DEPARTMENTS)
        new["assisting_departments"] = [
            d for d in new["assisting_departments"] if d != new["lead_department"]
        ]
    return new


def test_a_seeded_run_of_writes_and_reads_agrees_with_a_scan_of_the_books() -> None:
    """The bench's own task rows (bench/memory.py), created through the task book, then 3,000
    random rewrites, stubs and reads (now and then back in time); every read is checked against
    the lights, statuses and departments computed from every book."""
    rng, start = random.Random(2026), START
    summary, stored = LedgerSummary(RULES, ZONE), {}
    for envelope in memory.envelopes(300, start - timedelta(days=2), seed=5):
        outcome = task_book.apply(None, envelope)
        assert isinstance(outcome, task_book.Applied)
        stored[envelope.subject] = outcome.book
        summary.put(envelope.subject, outcome.book)
    now, reads = start, 0
    for step in range(3000):
        key = rng.choice(sorted(stored)) if stored else ""
        roll = rng.random()
        if roll < 0.7 and key:
            stored[key] = _rewrite(stored[key], rng, now.date())
            summary.put(_fresh(key), stored[key])
        elif roll < 0.75 and key:
            del stored[key]
            summary.put(_fresh(key), {"task_id": key, "status": None, "refused": []})
        elif roll < 0.98:
            now += timedelta(hours=rng.randint(0, 72))
        else:
            now -= timedelta(days=rng.randint(1, 10))
        if step % 7 == 0:
            reads += 1
            _check(summary.at(now), stored, now)
    assert reads > 400 and len(stored) > 100


def _check(summary: LedgerSummary, stored: dict[str, dict], now: datetime) -> None:
    scan = _scan(stored, now)
    assert summary.select() == set(scan)
    for key, (colour, _, _) in scan.items():
        assert summary.light(key) is colour
        assert summary.deadline(key) == stored[key]["deadline"]
    for department in memory.DEPARTMENTS[:3]:
        for status in ("in_progress", "closed"):
            for colour in Light:
                want = {k for k, (c, s, ds) in scan.items()
                        if c is colour and s == status and department in ds}  # fmt: skip
                got = summary.select(light=colour, status=status, department=department)
                assert got == want, (colour, status, department, now)
        mine = summary.select(department=department)
        assert mine == {k for k, (_, _, ds) in scan.items() if department in ds}
        assert summary.counts(mine) == {c.value: sum(scan[k][0] is c for k in mine) for c in Light}


def test_a_task_written_again_is_held_under_its_first_key_and_shared_strings() -> None:
    """A recovered task and each later write bring their own copies of the same strings: the
    summary keeps one key object per task, and one departments' tuple and deadline string for
    tasks that share them (bench/memory.py: 100k tasks)."""
    summary = LedgerSummary(RULES, ZONE)
    first, book = "DC-001", _book(1, TaskStatus.in_progress, 30, 10, "jyj")
    summary.put(first, book)
    summary.put(_fresh(first), json.loads(json.dumps(book | {"percent": 20})))
    summary.put("DC-002", json.loads(json.dumps(book | {"task_id": "DC-002"})))
    summary.at(START)
    (held,) = (k for k in summary.select(status="in_progress") if k == first)
    assert held is first
    one, two = summary.rows[first], summary.rows["DC-002"]
    assert one[2] is two[2] and one[3] is two[3] and one[1] is two[1]


def test_writes_between_reads_leave_no_pile_of_stale_moments() -> None:
    """Each read after a write pushes the task's next moment; the ones its later writes made
    stale are dropped once they outnumber the tasks (memory grew with every progress report)."""
    summary = LedgerSummary(RULES, ZONE)
    books = [_book(n, TaskStatus.in_progress, 40, 0, "jyj") for n in range(20)]
    for percent in range(50):
        for book in books:
            summary.put(book["task_id"], book | {"percent": percent})
        summary.at(START + timedelta(minutes=percent))
    assert len(summary._moments) <= 2 * len(books) + 64  # the heap the test is about
    assert summary.counts(summary.select()) == {"green": 20, "yellow": 0, "red": 0}
