"""The duty log's summary (streams/books/duty_log_summary.py): after any sequence of writes,
deletions and resets, each office day's entries, their counts by channel and every page of them
are those :func:`duty_log.entries_on` finds by reading every entry of every book."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.books import duty_log
from streams.books.book import State
from streams.books.duty_log_summary import DutyLogSummary

UTC, ZONE = ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2025, 3, 15, 0, 0, tzinfo=ZONE)
DAYS = [date(2025, 3, 14), date(2025, 3, 15), date(2025, 3, 16)]
SUBJECTS = ["fax-1", "call-2", "EM-3", "tg-4"]

# a step: add an entry to a subject, (minutes from midnight, in UTC?, channel); drop a subject's
# first entry (no book does, but the summary must follow any change); delete it; a reset
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(SUBJECTS), st.integers(-90, 90),
                  st.booleans(), st.sampled_from(["fax", "call", "emergency"])),
        st.tuples(st.just("drop"), st.sampled_from(SUBJECTS)),
        st.tuples(st.just("delete"), st.sampled_from(SUBJECTS)),
        st.just(("reset",)),
    ),
    max_size=40,
)  # fmt: skip


def _line(n: int, subject: str, minutes: int, utc: bool, channel: str) -> dict:
    at = MIDNIGHT + timedelta(minutes=minutes)
    at = at.astimezone(UTC) if utc else at
    return {"id": f"e{n:02d}", "subject": subject, "received_at": at.isoformat(),
            "channel": channel, "content": f"第{n}条"}  # fmt: skip


def _fed(steps: list) -> tuple[DutyLogSummary, dict[str, State]]:
    summary, stored = DutyLogSummary(ZONE), {}
    for n, (kind, *args) in enumerate(steps):
        if kind == "reset":
            summary.reset(list(stored.items()))
            continue
        subject = args[0]
        book = stored.get(subject) or {"entries": [], "applied": []}
        if kind == "add":
            book = {"entries": [*book["entries"], _line(n, subject, *args[1:])], "applied": []}
        elif kind == "drop":
            book = {"entries": book["entries"][1:], "applied": []}
        if kind == "delete" or not book["entries"]:
            stored.pop(subject, None)
            summary.put(subject, None)
        else:
            stored[subject] = book
            summary.put(subject, book)
    return summary, stored


@settings(max_examples=300, deadline=None)
@given(STEPS, st.integers(1, 4))
def test_each_day_s_entries_are_those_the_books_hold_in_order(steps: list, limit: int) -> None:
    summary, stored = _fed(steps)
    for day in DAYS:
        expected = duty_log.entries_on(list(stored.values()), day, ZONE)
        found = summary.on(day)
        assert len(found) == len(expected)
        assert summary.lines(stored.get, found.first(len(found))) == expected
        counted = Counter(e["channel"] for e in expected)  # in order of first appearance
        assert list(found.counts().items()) == list(counted.items())
        assert summary.lines(stored.get, found.last(limit)) == expected[-limit:][::-1]
        paged, after = [], None
        for _ in range(len(expected) // limit + 1):
            listed, last = found.page(after, limit)
            paged += summary.lines(stored.get, listed)
            if last is None:
                break
            after = found.entry(found.cursor(last))
        assert paged == expected


def test_an_entry_in_utc_counts_on_its_office_day() -> None:
    """16:30Z on the 14th is 00:30 on the 15th in Shanghai."""
    summary = DutyLogSummary(ZONE)
    line = _line(1, "tg-4", 30, True, "telegram")
    assert line["received_at"].startswith("2025-03-14T16:30")
    summary.put("tg-4", {"entries": [line], "applied": []})
    assert len(summary.on(date(2025, 3, 14))) == 0
    assert summary.lines({"tg-4": {"entries": [line]}}.get, summary.on(DAYS[1]).first(5)) == [line]
