"""The reply tallies' summary (streams/books/reply_summary.py) gives the very figures
:func:`reply_tallies.tally` computes from the books, for any period, department and sequence of
writes: counts, on-time count, and the mean, nearest-rank p50 and p90 and max of the waits, to
the last bit of the float."""

from __future__ import annotations

import gc
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.settings import RepliesSettings, Settings
from streams.books import replies, reply_tallies
from streams.books.period import Period
from streams.books.reply_summary import ReplySummary

ZONE = ZoneInfo("Asia/Shanghai")
RULES = RepliesSettings()
START = datetime(2025, 1, 30, 20, tzinfo=ZoneInfo("UTC"))  # late evening UTC: the next day here
NOW = START + timedelta(days=90)
PERIODS = ["all", "2025", "2025-Q1", "2025-01", "2025-02", "2025-03", "2025-W05", "2025-W06",
           "2025-01-31", "2025-02-01", "2024"]  # fmt: skip
"""Whole years, quarters and months, weeks across a month's end, days, and periods with none."""
DEPARTMENTS = (None, "", "jyj", "zjj")
HOUR_US, DAY_US = 3_600_000_000, 86_400_000_000


def _book(n: int, hours: int, department: str, wait_us: int | None, received: bool) -> dict:
    at = START + timedelta(hours=hours)
    replied = None if wait_us is None else at + timedelta(microseconds=wait_us)
    return {
        "message_id": f"M{n}",
        "channel": "board",
        "category": "consult",
        "title": f"留言{n}",
        "department": department,
        "received_at": at.isoformat() if received else None,
        "replied_at": None if replied is None else replied.isoformat(),
        "replied_by": "",
        "replies": 0 if replied is None else 1,
        "applied": [],
    }


waits_us = st.one_of(
    st.none(),
    st.integers(0, 24 * 20).map(lambda h: h * HOUR_US),  # ties
    st.sampled_from([5 * DAY_US - 1, 5 * DAY_US, 5 * DAY_US + 1]),  # the on-time limit's edge
    st.integers(-HOUR_US, 20 * DAY_US),  # to the microsecond; a reply logged before receipt
)


def _books(last: int, received: st.SearchStrategy[bool]) -> st.SearchStrategy[dict]:
    """Books of messages M0..M``last`` (:func:`_book`)."""
    hours, departments = st.integers(0, 24 * 40), st.sampled_from(["", "jyj", "zjj"])
    return st.builds(_book, st.integers(0, last), hours, departments, waits_us, received)


books = _books(12, st.booleans())
many_books = _books(60, st.just(True))


def _fed(writes: list) -> tuple[ReplySummary, dict[str, dict]]:
    """A summary told ``writes`` (a book, or the number of a message gone), and the books."""
    summary = ReplySummary(RULES, ZONE)
    stored: dict[str, dict] = {}
    for write in writes:
        if isinstance(write, int):  # gone
            stored.pop(f"M{write}", None)
            summary.put(f"M{write}", None)
        else:
            stored[write["message_id"]] = write
            summary.put(write["message_id"], write)
    return summary, stored


def _assert_tallies_equal(summary: ReplySummary, shelf: list[dict]) -> None:
    for text in PERIODS:
        period = Period.parse(text, ZONE)
        for department in DEPARTMENTS:
            expected = reply_tallies.tally(shelf, period, department=department, now=NOW,
                                           rules=RULES)  # fmt: skip
            assert summary.tally(period, department=department, now=NOW) == expected, (
                text, department)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(books, st.integers(0, 12)), max_size=40))
def test_the_summary_tallies_what_the_books_tally(writes: list) -> None:
    summary, stored = _fed(writes)
    shelf = list(stored.values())
    _assert_tallies_equal(summary, shelf)
    codes = sorted({b["department"] for b in shelf if b["received_at"]})
    assert summary.departments() == codes


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(many_books, st.integers(0, 60)), min_size=20, max_size=120))
def test_the_percentiles_of_many_messages_over_days_and_departments_are_the_books(
    writes: list,
) -> None:
    """Up to 61 messages at once, replied and rewritten, over six weeks and three departments."""
    summary, stored = _fed(writes)
    _assert_tallies_equal(summary, list(stored.values()))


def test_a_period_of_thousands_of_waits_has_the_books_percentiles() -> None:
    """Enough waits in a period for the k-th smallest to narrow in rounds (more than
    kth_smallest.MERGE_BELOW): 4,000 messages, seeded, some rewritten or gone."""
    rng = random.Random(22)
    writes: list = [
        _book(n, rng.randrange(24 * 40), rng.choice(["", "jyj", "zjj"]),
              rng.choice([None, rng.randrange(20) * HOUR_US, rng.randrange(20 * DAY_US)]), True)
        for n in range(4_000)
    ]  # fmt: skip
    writes += [rng.randrange(4_000) for _ in range(200)]
    summary, stored = _fed(writes)
    assert max(summary.tally(Period.parse("2025-02", ZONE), department=None, now=NOW)
               ["replied"], 0) > 1_024  # fmt: skip
    _assert_tallies_equal(summary, list(stored.values()))


def test_the_mean_is_exact_whichever_shelves_its_waits_are_added_from() -> None:
    """Four waits whose float sum, added as the two departments' pairs, rounds to 61254.1 s,
    and in sorted order to 61254.2 s; their exact mean is 61254.15 s, which rounds to 61254.2."""
    writes: list = [
        _book(1, 0, "jyj", 94_387_285_287, True),
        _book(2, 0, "jyj", 16_320_722_039, True),
        _book(3, 30, "zjj", 64_895_876_539, True),
        _book(4, 30, "zjj", 69_412_716_135, True),
    ]
    summary, stored = _fed(writes)
    found = summary.tally(Period.parse("all", ZONE), department=None, now=NOW)
    assert found["time_to_reply_s"]["mean"] == 61254.2
    _assert_tallies_equal(summary, list(stored.values()))


@given(st.integers(-(2**51) + 1, 2**51 - 1))
def test_a_wait_in_seconds_gives_back_its_microseconds(us: int) -> None:
    wait = timedelta(microseconds=us)
    assert reply_tallies.micros(wait.total_seconds()) == us


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(books, st.integers(0, 12)), max_size=40))
def test_the_unanswered_messages_of_a_department_are_those_of_the_books_oldest_first(
    writes: list,
) -> None:
    summary, stored = _fed(writes)
    for department in ("", "jyj"):
        expected = sorted(
            (b for b in stored.values()
             if b["received_at"] and not b["replied_at"] and b["department"] == department),
            key=lambda b: (datetime.fromisoformat(b["received_at"]), b["message_id"]),
        )  # fmt: skip
        found = summary.unanswered(department)
        assert [m["message_id"] for m in found] == [b["message_id"] for b in expected]
        assert [m["title"] for m in found] == [b["title"] for b in expected]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(books, st.integers(0, 12)), max_size=40),
    st.integers(0, 24 * 60),
    st.sampled_from([(1, 3), (2,), (5, 10)]),
)
def test_the_warning_timer_reads_every_message_a_warning_is_due_for(
    writes: list, hours: int, warning_days: tuple[int, ...]
) -> None:
    """The timer decodes only the unanswered messages the summary has received at least the
    first warning's days ago (``Timer.candidates``): it proposes what a scan of every book
    proposes, to the hour a threshold is passed."""
    rules = RepliesSettings(warning_days=warning_days, fail_days=12)
    summary, stored = _fed(writes)
    now = START + timedelta(hours=hours)  # whole hours after receipts on whole hours: edges
    candidates = replies.BOOK.timers[0].candidates(summary, now, Settings(replies=rules))  # type: ignore[misc]
    every = replies.due_warnings(list(stored.values()), now, rules, source="t")
    only = replies.due_warnings([stored[k] for k in candidates], now, rules, source="t")
    assert sorted(e.id for e in only) == sorted(e.id for e in every)
    first = timedelta(days=min(warning_days))
    assert all(now - datetime.fromisoformat(stored[k]["received_at"]) >= first for k in candidates)


def test_a_message_unanswered_to_the_microsecond_of_its_first_warning_is_read_by_the_timer() -> (
    None
):
    rules = RepliesSettings(warning_days=(1, 3), fail_days=12)
    summary, stored = _fed([_book(1, 0, "jyj", None, True), _book(2, 1, "jyj", None, True)])
    now = START + timedelta(days=1)
    candidates = replies.BOOK.timers[0].candidates(summary, now, Settings(replies=rules))  # type: ignore[misc]
    assert candidates == ["M1"]
    assert [
        e.subject for e in replies.due_warnings(list(stored.values()), now, rules, source="t")
    ] == ["unanswered/M1"]


def test_the_rows_are_nothing_the_garbage_collector_walks() -> None:
    """A million messages as objects the collector tracks would stall every full collection."""
    summary = ReplySummary(RULES, ZONE)
    summary.put("M1", _book(1, 3, "jyj", 5, True))
    gc.collect()
    assert not gc.is_tracked(summary.rows["M1"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(books, st.integers(0, 12)), max_size=40), st.integers(1, 4))
def test_what_waits_is_what_the_tally_of_every_period_says(writes: list, listed: int) -> None:
    """The dashboard's oldest unanswered message and count, without the waits of every day."""
    summary, stored = _fed(writes)
    for department in (None, "", "jyj"):
        expected = reply_tallies.tally(list(stored.values()), Period.parse("all", ZONE),
                                       department=department, now=NOW, rules=RULES)  # fmt: skip
        found = summary.waiting(department=department, now=NOW)
        assert found == {k: expected[k] for k in ("unanswered", "oldest_unanswered")}
    for department in ("", "zjj"):
        every = summary.unanswered(department)
        assert summary.unanswered(department, listed) == every[:listed]
        assert summary.open_count(department) == len(every)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(books, st.integers(0, 12)), max_size=40))
def test_rows_prepared_before_the_writes_between_count_as_the_writes_themselves(
    writes: list,
) -> None:
    """The worker prepares a batch's rows with the loop running, then counts them all at once
    (streams/worker/table.py ``write``): rows prepared before other writes are counted as the
    books would be."""
    told, stored = _fed(writes)
    ahead = ReplySummary(RULES, ZONE)
    tellings = [(f"M{w}", None) if isinstance(w, int) else (w["message_id"], w) for w in writes]
    rows = [ahead.prepare(key, book) for key, book in tellings]
    assert not ahead.rows  # preparing counts nothing
    for (key, book), row in zip(tellings, rows, strict=True):
        ahead.put_prepared(key, book, row)
    assert ahead.rows == told.rows and ahead.departments() == told.departments()
    _assert_tallies_equal(ahead, list(stored.values()))
