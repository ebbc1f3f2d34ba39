"""The reply tallies' summary (streams/books/reply_summary.py) gives the very figures
:func:`reply_tallies.tally` computes from the books, for any period, department and sequence of
writes."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.settings import RepliesSettings
from streams.books import reply_tallies
from streams.books.period import Period
from streams.books.reply_summary import ReplySummary

ZONE = ZoneInfo("Asia/Shanghai")
RULES = RepliesSettings()
START = datetime(2025, 1, 30, 20, tzinfo=ZoneInfo("UTC"))  # late evening UTC: the next day here
NOW = START + timedelta(days=90)
PERIODS = ["all", "2025", "2025-01", "2025-02", "2025-01-31", "2025-02-01", "2024"]


def _book(n: int, hours: int, department: str, wait_h: int | None, received: bool) -> dict:
    at = START + timedelta(hours=hours)
    return {
        "message_id": f"M{n}",
        "channel": "board",
        "category": "consult",
        "title": f"留言{n}",
        "department": department,
        "received_at": at.isoformat() if received else None,
        "replied_at": None if wait_h is None else (at + timedelta(hours=wait_h)).isoformat(),
        "replied_by": "",
        "replies": 0 if wait_h is None else 1,
        "applied": [],
    }


books = st.builds(
    _book,
    st.integers(0, 12),
    st.integers(0, 24 * 40),
    st.sampled_from(["", "jyj", "zjj"]),
    st.one_of(st.none(), st.integers(0, 24 * 20)),
    st.booleans(),
)


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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(books, st.integers(0, 12)), max_size=40))
def test_the_summary_tallies_what_the_books_tally(writes: list) -> None:
    summary, stored = _fed(writes)
    shelf = list(stored.values())
    for text in PERIODS:
        period = Period.parse(text, ZONE)
        for department in (None, "", "jyj"):
            expected = reply_tallies.tally(shelf, period, department=department, now=NOW,
                                           rules=RULES)  # fmt: skip
            assert summary.tally(period, department=department, now=NOW) == expected, (
                text, department)  # fmt: skip
    codes = sorted({b["department"] for b in shelf if b["received_at"]})
    assert summary.departments() == codes


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
